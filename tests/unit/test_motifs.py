"""Tests for cisflow.motifs: modisco-lite run, TOMTOM matches, CWM hits, the stage call and its CLI."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import h5py
import numpy as np
import pandas as pd
import pytest

import cisflow.cli as cli
from cisflow.artifacts import SCORES, write
from cisflow.errors import CisflowError
from cisflow.genome import one_hot
from cisflow.io import save_npz
from cisflow.motifs import (
    benjamini_hochberg,
    call_hits,
    check_window,
    jaspar_matrices,
    load_scores,
    match_jaspar,
    match_motifs,
    motif_outputs,
    read_patterns,
    run_modisco,
    seqlet_recall,
    trim_bounds,
)
from cisflow.motifs.modisco import _crop, _to_pattern
from cisflow.pwm import load_motif, log_odds, sample_from_pwm

pytest.importorskip("modiscolite")
pytest.importorskip("memelite")

N, L, SCALE = 60, 200, 0.5
SMALL = {"min_metacluster_size": 10, "final_min_cluster_size": 10, "n_leiden_runs": 10}


def _planted(seed: int = 0) -> dict:
    """60 × 200 bp random sequences; TAL1_known4 instances (either strand) planted every ~70 bp in the even ones.

    hypothetical = noise everywhere + SCALE × the motif's log-odds at the planted positions; scores = hyp · x.
    """
    rng = np.random.default_rng(seed)
    _, pwm = load_motif("TAL1_known4")
    lo, width = log_odds(pwm), pwm.shape[1]
    codes = rng.integers(0, 4, (N, L)).astype(np.uint8)
    hyp = rng.normal(0, 0.05, (N, 4, L)).astype(np.float32)
    planted = []
    for i in range(0, N, 2):
        for p in range(10 + int(rng.integers(0, 30)), L - width - 10, 70):
            inst, mat = sample_from_pwm(pwm, rng, 1)[0], lo
            if rng.random() < 0.5:
                inst, mat = (3 - inst[::-1]).astype(np.uint8), lo[::-1, ::-1]
            codes[i, p : p + width] = inst
            hyp[i, :, p : p + width] += SCALE * mat
            planted.append((i, p))
    x = one_hot(codes)
    ids = np.array([f"r{i}" for i in range(N)])
    return {"x": x, "hyp": hyp, "scores": x * hyp, "ids": ids, "planted": planted, "pwm": pwm, "lo": lo}


@pytest.fixture(scope="module")
def data() -> dict:
    return _planted()


@pytest.fixture(scope="module")
def modisco_run(data, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("modisco")
    return run_modisco(data["x"], data["hyp"], motif_outputs(out), **SMALL), out


def _recovered(hits: pd.DataFrame, planted: list, width: int) -> float:
    """Fraction of planted instances overlapped by a hit in their region."""
    found = [((hits["region"] == f"r{i}") & (hits["start"] < p + width) & (hits["end"] > p)).any() for i, p in planted]
    return float(np.mean(found))


# ---------------------------------------------------------------- modisco


def test_modisco_finds_planted_motif(data, modisco_run):
    patterns, out = modisco_run
    assert len(patterns) >= 1
    assert all(p.n_seqlets >= 10 for p in patterns)
    matches = match_motifs({p.name: p.trimmed_pwm for p in patterns}, {"TAL1_known4": data["pwm"]})
    best = matches[matches["rank"] == 1]
    assert (best["qvalue"] < 0.05).any()
    assert set(matches.columns) >= {"pattern", "rank", "target_id", "pvalue", "evalue", "qvalue", "orientation"}
    # outputs: modisco-lite h5, JSON, MEME, logos; no temporary files left behind
    with h5py.File(out / "modisco.h5", "r") as h5:
        assert len(h5["pos_patterns"]) == sum(p.name.startswith("pos") for p in patterns)
        assert h5.attrs["window_size"] == L
    again = read_patterns(out / "patterns.json")
    assert [p.name for p in again] == [p.name for p in patterns]
    np.testing.assert_allclose(again[0].cwm, patterns[0].cwm)
    assert again[0].cwm.shape[0] == 4 and again[0].trim[1] > again[0].trim[0]
    assert "MOTIF pos_pattern_0" in (out / "patterns.meme").read_text()
    assert all((out / "logos" / f"{p.name}.png").read_bytes()[:4] == b"\x89PNG" for p in patterns)
    assert not [f for f in out.rglob(".*")]


def test_modisco_is_deterministic(data, modisco_run, tmp_path):
    _, out = modisco_run
    run_modisco(data["x"], data["hyp"], motif_outputs(tmp_path), **SMALL)
    assert (tmp_path / "patterns.json").read_text() == (out / "patterns.json").read_text()


def test_window_crop_offsets_seqlet_coordinates():
    x = np.arange(2 * 4 * 10, dtype=np.float32).reshape(2, 4, 10)
    cropped, offset = _crop(x, 6)
    assert offset == 2 and cropped.shape == (2, 6, 4)
    np.testing.assert_array_equal(cropped[1, :, 3], x[1, 3, 2:8])
    seqlet = SimpleNamespace(example_idx=1, start=0, end=4, is_revcomp=True)
    cwm = np.array([[0.0, 1.0, 0.2, 0.0]] * 4).T  # (W=4, 4) as modisco-lite stores it
    stub = SimpleNamespace(
        contrib_scores=cwm, sequence=np.full((4, 4), 0.25), hypothetical_contribs=cwm, seqlets=[seqlet]
    )
    pattern = _to_pattern(stub, "pos_pattern_0", offset, 0.3)
    assert pattern.seqlets == {"example_idx": [1], "start": [2], "end": [6], "is_revcomp": [True]}
    assert pattern.cwm.shape == (4, 4) and pattern.trim == (1, 2)


def test_check_window():
    assert check_window(200, 21, 10) == (200, 30)
    assert check_window(1000, 21, 10, window=400) == (400, 30)
    with pytest.raises(CisflowError, match="do not fit"):
        check_window(200, 21, 10, window=40)
    with pytest.raises(CisflowError, match="do not fit"):
        check_window(30, 21, 10)
    with pytest.raises(CisflowError, match=r"must be in 1\.\.200"):
        check_window(200, 21, 10, window=300)
    with pytest.raises(CisflowError, match="≥ 1 bp"):
        check_window(200, 21, 0)


def test_check_window_clips_trim_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert check_window(100, 11, 5, trim_to_window_size=30) == (100, 21)
    assert "trim_to_window_size" in caplog.text


def test_run_modisco_raises_on_too_long_window(data, tmp_path):
    with pytest.raises(CisflowError, match="do not fit"):
        run_modisco(data["x"][:4, :, :30], data["hyp"][:4, :, :30], motif_outputs(tmp_path))
    with pytest.raises(CisflowError, match=r"\(N, 4, L\)"):
        run_modisco(data["x"][:4], data["hyp"][:3], motif_outputs(tmp_path))
    assert not list(tmp_path.iterdir())


def test_trim_bounds():
    cwm = np.zeros((4, 10))
    cwm[0, 3], cwm[1, 4], cwm[2, 6], cwm[3, 8] = 1.0, -0.5, 0.4, 0.2
    assert trim_bounds(cwm) == (3, 7)
    assert trim_bounds(cwm, 0.1) == (3, 9)


# ---------------------------------------------------------------- matching


@pytest.mark.parametrize("taxon", ["fungi", None])
def test_match_jaspar_finds_reb1(taxon):
    _, reb1 = load_motif("jaspar:MA0363")
    table = match_jaspar({"reb1": reb1, "reb1_rc": reb1[::-1, ::-1]}, taxon=taxon, top=3)
    top = table[table["rank"] == 1].set_index("pattern")
    assert top.loc["reb1", "target_id"].startswith("MA0363")
    assert top.loc["reb1", "target_name"].upper() == "REB1"
    assert top.loc["reb1", "orientation"] == "+" and top.loc["reb1_rc", "orientation"] == "-"
    assert top.loc["reb1_rc", "target_id"].startswith("MA0363")
    assert top.loc["reb1", "qvalue"] < 1e-10
    assert len(table) == 6


def test_match_jaspar_bad_inputs():
    _, reb1 = load_motif("jaspar:MA0363")
    with pytest.raises(CisflowError, match=r"unknown JASPAR taxon 'mammals'.*fungi"):
        match_jaspar({"reb1": reb1}, taxon="mammals")
    with pytest.raises(CisflowError, match="unknown JASPAR release"):
        match_jaspar({"reb1": reb1}, release="JASPAR1999")
    with pytest.raises(CisflowError, match=r"\(4, W\) PWM"):
        match_jaspar({"bad": np.ones((3, 5))}, taxon="fungi")


def test_match_motifs_rejects_unrelated():
    _, tal1 = load_motif("TAL1_known4")
    _, reb1 = load_motif("jaspar:MA0363")
    fungi = jaspar_matrices(taxon="fungi")
    table = match_motifs({"reb1": reb1, "tal1": tal1}, {"TAL1_known4": tal1}, decoys=fungi).set_index("pattern")
    assert table.loc["tal1", "qvalue"] < 1e-6
    assert table.loc["reb1", "qvalue"] > 0.05
    assert len(fungi) > 100


def test_benjamini_hochberg_known_answer():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5])  # p·n/rank (0.04, 0.06, 0.0533, 0.5), running min
    rows = np.array([[0.01, 0.04, 0.03, 0.5], [0.2, 0.2, 0.9, 0.001]])  # along the last axis, ties equal
    np.testing.assert_allclose(benjamini_hochberg(rows)[0], q)
    np.testing.assert_allclose(benjamini_hochberg(rows)[1], [0.2 * 4 / 3, 0.2 * 4 / 3, 0.9, 0.004])


# ---------------------------------------------------------------- hits


def test_call_hits_with_modisco_patterns(data, modisco_run):
    patterns, _ = modisco_run
    hits, _ = call_hits(data["scores"], data["x"], patterns, data["ids"], seed=0, device="cpu")
    assert _recovered(hits, data["planted"], data["pwm"].shape[1]) >= 0.9
    unplanted = hits["region"].str[1:].astype(int) % 2 == 1
    assert unplanted.mean() <= 0.05
    recall = seqlet_recall(hits, patterns, data["ids"])
    assert (recall["recall"] >= 0.8).all(), recall


# ---------------------------------------------------------------- stage + CLI


def _save(data: dict, path) -> None:
    arrays = {"x": data["x"], "scores": data["scores"], "hypothetical": data["hyp"], "ids": data["ids"]}
    geometry = {"bin_size": 0, "stride": 0, "input_length": data["x"].shape[2]}
    write(path, SCORES, arrays | {"task": "t", "seed": 0} | geometry)


def _embeddings(data: dict, path) -> None:
    width = data["pwm"].shape[1]
    rows = [(f"r{i}", "TAL1_known4", p, p + width, "+") for i, p in data["planted"]]
    pd.DataFrame(rows, columns=["seq_id", "motif", "start", "end", "strand"]).to_csv(path, sep="\t", index=False)


def test_cli_motifs_end_to_end(data, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setattr(cli, "STAGES", [*dict.fromkeys([*cli.STAGES, "motifs"])])
    _save(data, tmp_path / "deepshap.npz")
    _embeddings(data, tmp_path / "embeddings.tsv")
    comparison = tmp_path / "comparison.tsv"  # the scored CNN lost to the PWM scan on task t
    comparison.write_text("model\ttask\tauroc\tauprc\ncnn\tt\t0.7\t0.02\npwm\tt\t0.9\t0.16\n")
    out = tmp_path / "motifs"
    argv = ["motifs", "--scores", str(tmp_path / "deepshap.npz"), "--out-dir", str(out), "--taxon", "fungi"]
    argv += ["--truth", "TAL1_known4", "--min-metacluster-size", "10", "--final-min-cluster-size", "10"]
    argv += ["--embeddings", str(tmp_path / "embeddings.tsv"), "--hit-fdr", "0.05", "--device", "cpu"]
    with caplog.at_level(logging.WARNING, logger="cisflow.verdict"):
        assert cli.main([*argv, "--n-leiden-runs", "10", "--comparison", str(comparison)]) == 0
    lost = [r.getMessage() for r in caplog.records if r.name == "cisflow.verdict"]
    assert lost == ["motifs come from a CNN that lost to a baseline: a baseline beats the CNN on the held-out data "
                    "(auPRC; t: pwm 0.160 > cnn 0.020)"]  # fmt: skip
    truth = pd.read_csv(out / "truth_matches.tsv", sep="\t")
    assert (truth.loc[truth["rank"] == 1, "qvalue"] < 0.05).any()
    assert len(pd.read_csv(out / "jaspar_matches.tsv", sep="\t")) > 0
    hits = pd.read_csv(out / "hits.tsv", sep="\t")
    assert _recovered(hits, data["planted"], data["pwm"].shape[1]) >= 0.9
    assert (hits["qvalue"] <= 0.05).all() and hits["center_offset"].abs().max() <= L / 2
    counts = pd.read_csv(out / "hits_per_region.tsv", sep="\t", index_col=0)
    assert len(counts) == N and counts["n_hits"].sum() == len(hits)
    checks = pd.read_csv(out / "hit_checks.tsv", sep="\t")
    planted = checks[checks["check"] == "planted_instances"].iloc[0]
    assert planted["subject"] == "TAL1_known4" and planted["fraction"] >= 0.9 and planted["precision"] >= 0.9
    assert (checks.loc[checks["check"] == "seqlet_recall", "fraction"] >= 0.8).all()
    distinct = checks[checks["check"] == "seqlet_recall_distinct"].set_index("subject")
    every = checks[checks["check"] == "seqlet_recall"].set_index("subject")
    assert list(distinct.index) == list(every.index) and (distinct["n"] <= every["n"]).all()
    assert (distinct["fraction"] >= 0.8).all()
    same = checks[checks["check"] == "seqlet_recall_equivalent"].set_index("subject")  # exact start or equivalent
    assert list(same.index) == list(every.index) and (same["n_found"] >= every["n_found"]).all()
    assert (same["n"] == every["n"]).all() and (same["lambda"] == every["lambda"]).all()
    summary = pd.read_csv(out / "patterns.tsv", sep="\t").set_index("pattern")
    assert list(summary.index) == list(every.index) and set(summary["merged_into"]) == set(hits["pattern"])
    merged = summary["merged_into"] != summary.index  # a merged pattern's seqlets are recalled by its motif's hits
    assert (summary.loc[merged, "merge_confusion"] >= summary.loc[merged, "merge_threshold"]).all()
    motif = checks[checks["check"] == "seqlet_recall_motif"].set_index("subject")  # per fitted motif
    assert set(motif.index) == set(hits["pattern"]) and (motif["fraction"] >= 0.8).all()
    assert set(hits["motif"]) <= set(hits["pattern"])
    compare = pd.read_csv(out / "pwm_comparison.tsv", sep="\t").iloc[0]
    assert compare["motif"] == "TAL1_known4" and compare["frac_hits"] == 0.5 and compare["frac_pwm"] >= 0.4
    assert len(pd.read_csv(out / "pwm_matches.tsv", sep="\t")) > 0
    page = (out / "motifs.html").read_text()
    assert page.startswith("<section") and "data:image/png;base64,iVBOR" in page and "TAL1_known4" in page
    assert "Planted instances" in page and "PWM (FIMO)" in page
    assert (out / "hits_summary.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "patterns.json").read_text())["patterns"]
    assert not list(out.rglob(".*"))


def test_cli_motifs_errors(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "STAGES", [*dict.fromkeys([*cli.STAGES, "motifs"])])
    out = tmp_path / "out"
    assert cli.main(["motifs", "--scores", str(tmp_path / "none.npz"), "--out-dir", str(out)]) == 2
    assert "contribution scores npz does not exist" in capsys.readouterr().err
    _save(data, tmp_path / "s.npz")
    argv = ["motifs", "--scores", str(tmp_path / "s.npz"), "--out-dir", str(out), "--truth", "NOPE_known1"]
    assert cli.main(argv) == 2
    assert "unknown ENCODE motif 'NOPE_known1'" in capsys.readouterr().err
    base = ["motifs", "--scores", str(tmp_path / "s.npz"), "--out-dir", str(out)]
    for extra, message in [
        (["--hit-fdr", "0"], "hit option fdr = 0.0 must be in (0, 1]"),
        (["--hit-lambda", "1.5"], "hit option lambda = 1.5 must be in (0, 1] or 'seqlets'"),
        (["--hit-shuffles", "0"], "hit option shuffles = 0 must be ≥ 1"),
        (["--seqlet-tolerance", "-2"], "hit option seqlet_tolerance = -2 must be ≥ 0 bp"),
        (["--pwm-threshold", "1"], "hit option pwm_threshold = 1.0 must be in (0, 1)"),
        (["--merge", "2"], "hit option merge = 2.0 must be auto, a seqlet confusion in (0, 1] or false"),
        (["--hit-window", "500"], f"hit window 500 bp must be in 1..{L}"),
        (["--embeddings", str(tmp_path / "none.tsv")], "cannot read embeddings table"),
        (["--peaks", str(tmp_path / "none.narrowPeak")], "narrowPeak file does not exist"),
        (["--comparison", str(tmp_path / "none.tsv")], "model comparison table does not exist"),
    ]:
        assert cli.main([*base, *extra]) == 2
        assert message in capsys.readouterr().err, extra
    assert not out.exists()  # fails before writing anything


def test_load_scores(data, tmp_path):
    _save(data, tmp_path / "ism.npz")
    loaded = load_scores(tmp_path / "ism.npz")
    np.testing.assert_array_equal(loaded["hypothetical"], data["hyp"])
    assert loaded["ids"].tolist() == [str(i) for i in data["ids"]] and int(loaded["input_length"]) == data["x"].shape[2]
    save_npz(tmp_path / "bad.npz", x=data["x"], format=np.array("cisflow-scores"), format_version=np.array(1))
    with pytest.raises(CisflowError, match=r"bad\.npz: contribution scores npz lacks scores, hypothetical"):
        load_scores(tmp_path / "bad.npz")
    save_npz(tmp_path / "old.npz", x=data["x"], scores=data["scores"])
    with pytest.raises(CisflowError, match=r"no format version .*rerun the interpret stage"):
        load_scores(tmp_path / "old.npz")
    arrays = {"x": data["x"], "scores": data["scores"][:, :, :10], "hypothetical": data["hyp"], "ids": data["ids"]}
    with pytest.raises(CisflowError, match=r"scores \(.*\) does not match L"):
        write(tmp_path / "bad2.npz", SCORES, arrays | {"task": "t", "seed": 0, "bin_size": 0, "stride": 0,
                                                     "input_length": 1})  # fmt: skip
