"""Tests for cisflow.baselines and the ``cisflow baselines`` CLI (tiny synthetic data)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from cisflow import baselines, cli, metrics
from cisflow._testing.artifacts import write_dataset
from cisflow.baselines import kmer
from cisflow.errors import CisflowError
from cisflow.evaluate import compare
from cisflow.genome import decode, encode, reverse_complement_codes
from cisflow.io import write_tsv
from cisflow.pwm import consensus_codes, load_motif

MOTIF = "jaspar:MA0363.2"
KMER = "TTGACA"


@pytest.fixture
def with_stage(monkeypatch):
    """Make sure the CLI registers this module's subcommands (the lead adds 'baselines' to STAGES)."""
    if "baselines" not in cli.STAGES:
        monkeypatch.setattr(cli, "STAGES", [*cli.STAGES, "baselines"])


def _brute_counts(seq: str, k: int, canonical: bool) -> dict[str, int]:
    """k-mer counts by a Python loop over windows (N windows skipped)."""
    comp = str.maketrans("ACGT", "TGCA")
    out: dict[str, int] = {}
    for i in range(len(seq) - k + 1):
        kmer = seq[i : i + k]
        if "N" in kmer:
            continue
        if canonical:
            kmer = min(kmer, kmer.translate(comp)[::-1])
        out[kmer] = out.get(kmer, 0) + 1
    return out


def _as_dict(matrix, names, row=0) -> dict[str, int]:
    """Non-zero counts of one row of a sparse count matrix, keyed by k-mer name."""
    r = matrix.getrow(row)
    return {names[j]: int(v) for j, v in zip(r.indices, r.data, strict=True)}


def test_kmer_counts_known_answer():
    codes = encode("ACGTNACGTT")[None]
    plain = baselines.kmer_counts(codes, k=2, canonical=False)
    assert plain.shape == (1, 16)
    assert _as_dict(plain, baselines.kmer_names(2, False)) == {"AC": 2, "CG": 2, "GT": 2, "TT": 1}
    canon = baselines.kmer_counts(codes, k=2, canonical=True)
    assert canon.shape == (1, 10)
    assert _as_dict(canon, baselines.kmer_names(2, True)) == {"AA": 1, "AC": 4, "CG": 2}


def test_kmer_feature_counts_and_names():
    assert baselines.kmer_names(1) == ["A", "C"]
    assert len(baselines.kmer_names(6)) == 2080 and len(baselines.kmer_names(5)) == 512
    assert baselines.kmer_names(2, canonical=False) == ["".join(p) for p in itertools.product("ACGT", repeat=2)]


@pytest.mark.parametrize("canonical", [True, False])
def test_kmer_counts_match_brute_force_across_chunks(monkeypatch, canonical):
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, size=(7, 30), dtype=np.uint8)
    codes[2, 5:8] = 4
    codes[4, :] = 4
    monkeypatch.setattr(baselines.kmer, "_CHUNK_CELLS", 60)  # two rows per chunk
    counts = baselines.kmer_counts(codes, k=3, canonical=canonical)
    names = baselines.kmer_names(3, canonical)
    for i in range(codes.shape[0]):
        assert _as_dict(counts, names, i) == _brute_counts(decode(codes[i]), 3, canonical)
    assert counts.getrow(4).nnz == 0


def test_kmer_counts_short_and_bad_inputs():
    assert baselines.kmer_counts(encode("ACG")[None], k=6).nnz == 0
    with pytest.raises(CisflowError, match="k must be"):
        baselines.kmer_counts(encode("ACGT")[None], k=0)
    with pytest.raises(CisflowError, match=r"\(N, L\)"):
        baselines.kmer_counts(encode("ACGT"), k=2)


def test_pwm_baseline_ranks_planted_consensus_first():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(20, 80), dtype=np.uint8)
    site = consensus_codes(load_motif(MOTIF)[1])
    for i in range(10):
        planted = site if i % 2 else reverse_complement_codes(site)
        codes[i, 10 + 3 * i : 10 + 3 * i + site.size] = planted
    scores = baselines.pwm_baseline_scores(codes, MOTIF)
    assert scores.shape == (20,)
    assert scores[:10].min() > scores[10:].max()
    np.testing.assert_allclose(scores[:10], scores[:10].max(), rtol=1e-6)


def _planted(n: int, length: int, seed: int, kmer: str = KMER) -> tuple[np.ndarray, np.ndarray]:
    """Random sequences; label 1 where ``kmer`` (or its reverse complement) was planted."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length), dtype=np.uint8)
    labels = (rng.random(n) < 0.5).astype(np.int8)
    site = encode(kmer)
    for i in np.flatnonzero(labels):
        pos = rng.integers(0, length - site.size)
        codes[i, pos : pos + site.size] = site if rng.random() < 0.5 else reverse_complement_codes(site)
    return codes, labels


def test_kmer_logistic_regression_learns_planted_kmer():
    train_codes, train_labels = _planted(400, 100, seed=0)
    train_labels[:20] = -1  # ambiguous, dropped
    test_codes, test_labels = _planted(200, 100, seed=1)
    model = baselines.fit_kmer_baseline(train_codes, train_labels, k=6, C=1.0, seed=0)
    probs = baselines.predict_kmer_baseline(model, test_codes, k=6)
    assert probs.shape == (200,) and probs.dtype == np.float32
    assert metrics.auroc(test_labels, probs) > 0.9
    top = np.argmax(model.coef_[0])
    assert baselines.kmer_names(6)[top] in (KMER, decode(reverse_complement_codes(encode(KMER))))
    with pytest.raises(CisflowError, match="expects 2080 features"):
        baselines.predict_kmer_baseline(model, test_codes, k=5)


def test_fit_kmer_baseline_needs_both_classes():
    codes = np.zeros((6, 20), dtype=np.uint8)
    with pytest.raises(CisflowError, match="0 positives"):
        baselines.fit_kmer_baseline(codes, np.array([0, 0, 0, -1, 0, 0]), k=2)
    with pytest.raises(CisflowError, match="labels"):
        baselines.fit_kmer_baseline(codes, np.array([0, 1]), k=2)


def _fit_on_whole_split_features(train, valid, k, cs, seed):
    """Reference: features of every row of each split built once, each task fitted on its labelled rows
    of them, C chosen on the whole validation features (as the k-mer models were fitted before)."""
    x, xv = (kmer._features(kmer.kmer_counts(d["codes"], k)) for d in (train, valid))
    out = []
    for i in range(train["labels"].shape[1]):
        keep = train["labels"][:, i] != -1
        fits = [LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=seed).fit(
            x[keep], train["labels"][keep, i] == 1) for c in cs]  # fmt: skip
        scores = [metrics.auprc(valid["labels"][:, i], m.predict_proba(xv)[:, 1].astype(np.float32)) for m in fits]
        out.append((fits[int(np.argmax(scores))], cs[int(np.argmax(scores))]))
    return out


def test_kmer_models_fitted_task_by_task_equal_whole_split_features(monkeypatch):
    """Per-task features and validation scored in chunks give the very models of whole-split features."""
    codes, reb = _planted(300, 80, seed=3)
    other = (np.random.default_rng(4).random(300) < 0.3).astype(np.int8)
    labels = np.stack([reb, other], axis=1)
    labels[::7, 0], labels[::5, 1] = -1, -1
    train, valid = {"codes": codes[:200], "labels": labels[:200]}, {"codes": codes[200:], "labels": labels[200:]}
    monkeypatch.setattr(kmer, "_PREDICT_ROWS", 30)
    cs = [0.01, 0.1, 1.0]
    models, chosen = kmer.fit_kmer_models(train, valid, k=4, cs=cs, seed=0)
    want = _fit_on_whole_split_features(train, valid, 4, cs, 0)
    assert chosen == [c for _, c in want] and chosen[0] != chosen[1]
    for model, (ref, _) in zip(models, want, strict=True):
        np.testing.assert_array_equal(model.coef_, ref.coef_)
        np.testing.assert_array_equal(model.intercept_, ref.intercept_)
    probs = kmer.predict_kmer_models(models, valid["codes"], k=4)
    xv = kmer._features(kmer.kmer_counts(valid["codes"], 4))
    np.testing.assert_array_equal(probs[:, 1], want[1][0].predict_proba(xv)[:, 1].astype(np.float32))
    with pytest.raises(CisflowError, match="one entry per sequence"):
        kmer.fit_kmer_models({"codes": codes[:10], "labels": labels[:9]}, valid, k=4)


def _write_split(path, seed: int, n: int = 160) -> None:
    """A 2-task dataset npz: 'reb1' bound where the REB1 consensus is planted, 'kmer' where TTGACA is."""
    codes, kmer_labels = _planted(n, 60, seed)
    rng = np.random.default_rng(seed + 100)
    reb1 = (rng.random(n) < 0.5).astype(np.int8)
    site = consensus_codes(load_motif(MOTIF)[1])
    codes[reb1 == 1, 40 : 40 + site.size] = site
    labels = np.stack([reb1, kmer_labels], axis=1)
    labels[::9, 0] = -1
    ids = np.array([f"s{seed}_{i}" for i in range(n)])
    write_dataset(path, codes, labels, ["reb1", "kmer"], ids)


@pytest.fixture
def splits(tmp_path):
    paths = {name: tmp_path / f"{name}.npz" for name in ("train", "valid", "test")}
    for seed, path in enumerate(paths.values()):
        _write_split(path, seed)
    return paths


def test_run_baselines_writes_outputs(splits, tmp_path):
    out = tmp_path / "out"
    table = baselines.run_baselines(
        splits["train"],
        splits["valid"],
        splits["test"],
        baselines.baseline_outputs(out),
        motif_specs={"reb1": MOTIF},
        k=6,
        C=[0.1, 1.0],
    )
    assert list(zip(table["baseline"], table["task"], strict=True)) == [
        ("pwm", "reb1"),
        ("kmer", "reb1"),
        ("kmer", "kmer"),
    ]
    for sub in ("pwm", "kmer"):
        for name in ("metrics.json", "metrics.tsv", "predictions.npz", "curves.png"):
            assert (out / sub / name).is_file()
    pwm_reb1 = table.query("baseline == 'pwm'")["auroc"].iloc[0]
    kmer_kmer = table.query("baseline == 'kmer' and task == 'kmer'")["auroc"].iloc[0]
    assert pwm_reb1 == pytest.approx(1.0) and kmer_kmer > 0.85
    written = pd.read_csv(out / "baselines.tsv", sep="\t")
    assert list(written.columns[:5]) == ["baseline", "params", "task", "auroc", "auprc"]
    assert len(written) == 3


def test_run_baselines_bad_motif_task(splits, tmp_path):
    inputs = (splits["train"], splits["valid"], splits["test"])
    with pytest.raises(CisflowError, match="unknown task 'nope'"):
        baselines.run_baselines(*inputs, baselines.baseline_outputs(tmp_path), motif_specs={"nope": MOTIF})
    with pytest.raises(CisflowError, match="no baseline"):
        baselines.run_baselines(*inputs, baselines.baseline_outputs(tmp_path), kmer=False)
    with pytest.raises(CisflowError, match="baseline outputs lack kmer"):
        baselines.run_baselines(*inputs, baselines.baseline_outputs(tmp_path, ["pwm"]))


def test_compare_models_and_tsv(tmp_path):
    rows = {
        "cnn": [{"task": "a", "auprc": 0.9, "auroc": 0.95, "recall_at_10_fdr": 0.5}],
        "kmer": [{"task": "a", "auprc": float("nan"), "auroc": 0.8, "recall_at_10_fdr": 0.1}],
    }
    table = compare.compare_models(rows)
    assert list(table.columns) == ["model", "task", "auroc", "auprc", "recall_at_10_fdr"]
    assert list(table["model"]) == ["cnn", "kmer"]
    write_tsv(table, tmp_path / "cmp.tsv")
    lines = (tmp_path / "cmp.tsv").read_text().splitlines()
    assert lines[0] == "model\ttask\tauroc\tauprc\trecall_at_10_fdr"
    assert lines[2] == "kmer\ta\t0.8\tnan\t0.1"
    with pytest.raises(CisflowError, match="no model metrics"):
        compare.compare_models({})


def test_cli_baselines(splits, tmp_path, capsys, with_stage):
    out = tmp_path / "cli"
    argv = ["baselines", "--train", str(splits["train"]), "--valid", str(splits["valid"])]
    argv += ["--test", str(splits["test"]), "--motif", f"reb1={MOTIF}", "--out-dir", str(out), "--k", "4"]
    assert cli.main(argv) == 0
    assert (out / "baselines.tsv").is_file() and (out / "pwm" / "metrics.json").is_file()
    missing = tmp_path / "missing.npz"
    assert cli.main([*argv[:2], str(missing), *argv[3:]]) == 2
    assert f"{missing}: train dataset does not exist" in capsys.readouterr().err
