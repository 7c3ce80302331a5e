"""Tests for cisflow.dream (ENCODE-DREAM scorer) and the ``cisflow dream-score`` CLI."""

from __future__ import annotations

import gzip
import math
from fractions import Fraction
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import auc, precision_recall_curve, roc_auc_score

from cisflow import cli, dream, metrics
from cisflow.errors import CisflowError

# Hand example: P = 4, N = 4 after dropping the ambiguous (-1) entry.
LABELS = np.array([1, 1, -1, 0, 1, 0, 0, 1, 0])
PROBS = np.array([0.9, 0.8, 0.85, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])


@pytest.fixture
def with_stage(monkeypatch):
    """Make sure the CLI registers 'dream-score' (the lead adds 'baselines' to STAGES)."""
    if "baselines" not in cli.STAGES:
        monkeypatch.setattr(cli, "STAGES", [*cli.STAGES, "baselines"])


def _challenge_recall_at_fdr(y_true, y_score, fdr_cutoff):
    """The challenge's score.py recall_at_fdr, on scikit-learn's PR curve."""
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    return recall[next(i for i, x in enumerate(1 - precision) if x <= fdr_cutoff)]


def test_dream_score_hand_computed():
    s = dream.dream_score(LABELS, PROBS)
    # thresholds from the top: (TP, FP) = (1,0) (2,0) (2,1) (3,1) (3,2) (3,3) (4,3) (4,4)
    assert s["recall_at_5_fdr"] == pytest.approx(0.5)
    assert s["recall_at_10_fdr"] == pytest.approx(0.5)
    assert s["recall_at_25_fdr"] == pytest.approx(0.75)  # precision 3/4 at TP 3
    assert s["recall_at_50_fdr"] == pytest.approx(1.0)  # precision 4/7 at TP 4
    assert s["auroc"] == pytest.approx(12 / 16)
    # PRROC's Davis-Goadrich sum: no block adds more than one positive, so it is the trapezoid over the
    # points, block 1 at its own precision: 1/4·1 + 1/4·1 + 1/4·(2/3 + 3/4)/2 + 1/4·(3/6 + 4/7)/2
    assert s["auprc"] == pytest.approx(0.5 + 17 / 96 + 15 / 112, abs=1e-15)
    assert s["auprc_trapezoid"] == pytest.approx(0.5 + 17 / 96 + 15 / 112, abs=1e-12)
    assert (s["num_positives"], s["num_negatives"]) == (4, 4)


def _prroc_davis_goadrich(labels, scores) -> Fraction:
    """PRROC's auc.davis.goadrich written out block by block in exact fractions (the reference)."""
    order = sorted(set(scores.tolist()), reverse=True)
    n_pos, tp, fp, area = int(labels.sum()), 0, 0, Fraction(0)
    for k, value in enumerate(order):
        d_tp = int(labels[scores == value].sum())
        d_fp = int((scores == value).sum()) - d_tp
        new_tp, new_fp = tp + d_tp, fp + d_fp
        prec = Fraction(new_tp, new_tp + new_fp)
        if k == 0:
            area += Fraction(d_tp, n_pos) * prec
        elif d_tp > 1 and prec != Fraction(tp, tp + fp):
            points = [Fraction(tp + x) / (tp + x + fp + Fraction(d_fp, d_tp) * x) for x in range(d_tp + 1)]
            area += sum((a + b) / 2 for a, b in pairwise(points)) / n_pos
        else:
            area += Fraction(d_tp, n_pos) * (Fraction(tp, tp + fp) + prec) / 2
        tp, fp = new_tp, new_fp
    return area


def _random_tied_sets(count: int, seed: int):
    """Small label/score sets with heavy ties (a few score levels), both classes present."""
    rng = np.random.default_rng(seed)
    while count:
        n = int(rng.integers(5, 60))
        labels = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(int)
        if 0 < labels.sum() < n:
            count -= 1
            yield labels, np.round(rng.random(n) * 0.5 + 0.3 * labels, int(rng.integers(1, 3)))


def test_dream_score_agrees_with_the_challenge_code_on_random_ties():
    for labels, probs in _random_tied_sets(400, seed=3):
        s = dream.dream_score(labels, probs)
        precision, recall, _ = precision_recall_curve(labels, probs)
        assert s["auroc"] == pytest.approx(roc_auc_score(labels, probs), abs=1e-14)
        assert s["auprc_trapezoid"] == pytest.approx(auc(recall, precision), abs=1e-14)
        assert s["auprc"] == pytest.approx(float(_prroc_davis_goadrich(labels, probs)), abs=1e-14)
        for fdr in dream.DREAM_FDRS:
            assert s[metrics.fdr_key(fdr)] == _challenge_recall_at_fdr(labels, probs, fdr)  # exactly


def test_contiguous_subsamples_are_the_challenge_stratified_folds():
    # positives at 0 3 4 8 11 → blocks {0,3} {4,8} {11}; negatives at 1 2 5 6 7 10 12 → {1,2,5} {6,7} {10,12};
    # index 9 is ambiguous and never included. Subsample i leaves block i of each class out, in file order.
    labels = np.array([1, 0, 0, 1, 1, 0, 0, 0, 1, -1, 0, 1, 0])
    subs = dream.stratified_subsamples(labels, n=3)
    assert [s.tolist() for s in subs] == [
        [4, 6, 7, 8, 10, 11, 12],
        [0, 1, 2, 3, 5, 10, 11, 12],
        [0, 1, 2, 3, 4, 5, 6, 7, 8],
    ]
    # 23 positives in 10 folds: the first 3 folds hold 3 (contiguous), the rest 2; 3 negatives fill folds 0-2
    labels = np.r_[np.ones(23), np.zeros(3)].astype(int)
    subs = dream.stratified_subsamples(labels, seed=99)
    left_out = [np.setdiff1d(np.arange(26), s).tolist() for s in subs]
    assert left_out[0] == [0, 1, 2, 23] and left_out[2] == [6, 7, 8, 25] and left_out[3] == [9, 10]
    assert left_out[9] == [21, 22]
    assert all(np.array_equal(a, b) for a, b in zip(dream.stratified_subsamples(labels, seed=1), subs, strict=True))
    with pytest.raises(CisflowError, match="scheme"):
        dream.stratified_subsamples(labels, scheme="kfold")


def test_random_subsamples_keep_class_ratio_and_are_seeded():
    labels = np.r_[np.ones(50), np.zeros(150), -np.ones(13)].astype(int)
    subs = dream.stratified_subsamples(labels, n=10, fraction=0.9, seed=1, scheme="random")
    assert len(subs) == 10
    for idx in subs:
        assert np.unique(idx).size == idx.size == 180
        assert (labels[idx] == 1).sum() == 45 and (labels[idx] == 0).sum() == 135
    again = dream.stratified_subsamples(labels, n=10, fraction=0.9, seed=1, scheme="random")
    assert all(np.array_equal(a, b) for a, b in zip(subs, again, strict=True))
    other = dream.stratified_subsamples(labels, n=10, fraction=0.9, seed=2, scheme="random")
    assert not np.array_equal(subs[0], other[0])


def test_bootstrap_scores_table():
    rng = np.random.default_rng(0)
    labels = (rng.random(400) < 0.3).astype(int)
    probs = rng.random(400) + labels
    table = dream.bootstrap_scores(labels, probs, n=5, seed=0)
    assert list(table["subsample"]) == [0, 1, 2, 3, 4]
    assert {"auroc", "auprc", "recall_at_10_fdr", "recall_at_50_fdr"} <= set(table.columns)
    assert table["auroc"].between(0.9, 1.0).all()


def _scores(values: dict[str, list[float]]) -> pd.DataFrame:
    """A subsample table from per-measure lists (one entry per subsample)."""
    n = len(next(iter(values.values())))
    return pd.DataFrame({"subsample": range(n), **values})


def test_combined_rank_dominating_model_first():
    rng = np.random.default_rng(0)
    labels = (rng.random(600) < 0.25).astype(int)
    noise = rng.random(600)
    models = {
        "random": dream.bootstrap_scores(labels, noise, seed=4),
        "good": dream.bootstrap_scores(labels, labels + 0.5 * noise, seed=4),
        "fair": dream.bootstrap_scores(labels, labels + 2.0 * noise, seed=4),
    }
    ranking = dream.combined_rank(models)
    assert list(ranking["model"]) == ["good", "fair", "random"]
    assert list(ranking["order"]) == [1, 2, 3]
    assert ranking["final_rank"].iloc[0] == 1.0
    assert {f"rank_sub{i}" for i in range(10)} <= set(ranking.columns)


def test_combined_rank_log_rank_sum_and_second_best():
    keys = dream.RANK_MEASURES  # recall@10, recall@50, auPRC, auROC
    # per-measure ranks A (1,1,3,3), B (2,2,1,1), C (3,3,2,2): log sums favour B, then A, then C
    a = _scores(dict(zip(keys, [[0.9], [0.9], [0.1], [0.1]], strict=True)))
    b = _scores(dict(zip(keys, [[0.5], [0.5], [0.9], [0.9]], strict=True)))
    c = _scores(dict(zip(keys, [[0.1], [0.1], [0.5], [0.5]], strict=True)))
    ranking = dream.combined_rank({"A": a, "B": b, "C": c})
    assert list(ranking["model"]) == ["B", "A", "C"]
    # X is best in subsample 0 only: its final (second-best) rank is 2
    best, mid = [0.9, 0.5, 0.5], [0.7, 0.9, 0.9]
    x = _scores(dict.fromkeys(keys, best))
    y = _scores(dict.fromkeys(keys, mid))
    ranking = dream.combined_rank({"X": x, "Y": y})
    assert ranking.set_index("model")["final_rank"].to_dict() == {"Y": 1.0, "X": 2.0}
    assert list(ranking["model"]) == ["Y", "X"]


def test_combined_rank_bad_inputs():
    good = _scores({key: [0.5, 0.6] for key in dream.RANK_MEASURES})
    with pytest.raises(CisflowError, match="lack auroc"):
        dream.combined_rank({"a": good, "b": good.drop(columns="auroc")})
    with pytest.raises(CisflowError, match="subsamples"):
        dream.combined_rank({"a": good, "b": good.iloc[:1]})


def _write_labels(path, rows: list[tuple[str, int, int, str, str]]) -> None:
    """A DREAM label TSV with tasks TF1 and TF2."""
    lines = ["chr\tstart\tstop\tTF1\tTF2"] + ["\t".join(map(str, r)) for r in rows]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")


@pytest.fixture
def label_file(tmp_path):
    letters = "BUUBAUBUUUBU"
    rows = [("chr1" if i < 6 else "chr2", (i % 6) * 50, (i % 6) * 50 + 200, x, "U") for i, x in enumerate(letters)]
    path = tmp_path / "labels.tsv.gz"
    _write_labels(path, rows)
    return path, rows


def test_submission_round_trip(tmp_path, label_file):
    _, rows = label_file
    chroms = [r[0] for r in rows]
    starts, ends = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    probs = np.linspace(0, 1, len(rows)) ** 3
    path = tmp_path / "sub.tsv.gz"
    dream.write_submission(chroms, starts, ends, probs, path)
    with gzip.open(path, "rt") as handle:
        first = handle.readline()
    assert first == "chr1\t0\t200\t0\n"
    bins, read = dream.read_submission(path)
    assert list(bins["chr"]) == chroms and np.array_equal(bins["start"], starts) and np.array_equal(bins["stop"], ends)
    np.testing.assert_allclose(read, probs, rtol=1e-5, atol=1e-12)


def test_score_submission_held_out_chromosome_and_mismatch(tmp_path, label_file):
    labels_path, rows = label_file
    truth = np.array([{"B": 1, "U": 0, "A": -1}[r[3]] for r in rows])
    probs = np.where(truth == 1, 0.8, 0.2)
    probs[8] = 0.9  # a confident false positive on chr2
    sub = tmp_path / "sub.tsv.gz"
    dream.write_submission([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], probs, sub)
    result = dream.score_submission(labels_path, sub, "TF1", chroms=["chr1"], n_subsamples=0)
    assert result["full"]["auroc"] == 1.0 and result["full"]["num_positives"] == 2
    assert result["full"]["num_negatives"] == 3  # the ambiguous chr1 bin is dropped
    whole = dream.score_submission(labels_path, sub, "TF1", n_subsamples=3, out_tsv=tmp_path / "s.tsv")
    assert whole["full"]["auroc"] < 1.0 and len(whole["subsamples"]) == 3
    written = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    assert list(written["subsample"]) == ["all", "0", "1", "2"] and written["task"].eq("TF1").all()

    shifted = tmp_path / "shifted.tsv"
    starts = [r[1] for r in rows]
    starts[1] += 1
    dream.write_submission([r[0] for r in rows], starts, [r[2] for r in rows], probs, shifted)
    with pytest.raises(CisflowError, match=r"shifted.tsv: bin 2 is chr1:51-250 but the labels have chr1:50-250"):
        dream.score_submission(labels_path, shifted, "TF1")
    short = tmp_path / "short.tsv.gz"
    dream.write_submission([r[0] for r in rows[:-1]], starts[:-1], [r[2] for r in rows[:-1]], probs[:-1], short)
    with pytest.raises(CisflowError, match="11 bins scored but the labels have 12"):
        dream.score_submission(labels_path, short, "TF1")
    with pytest.raises(CisflowError, match="no task 'TF3'"):
        dream.score_submission(labels_path, sub, "TF3")


def test_read_submission_bad_files(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("chr1\t0\t200\t0.5\nchr1\t50\t250\thigh\n")
    with pytest.raises(CisflowError, match="line 2: probability 'high'"):
        dream.read_submission(bad)
    header = tmp_path / "header.tsv"
    header.write_text("chr\tstart\tstop\tprob\nchr1\t0\t200\t0.5\n")
    with pytest.raises(CisflowError, match="line 1"):
        dream.read_submission(header)
    three = tmp_path / "three.tsv"
    three.write_text("chr1\t0\t200\n")
    with pytest.raises(CisflowError, match="4 tab-separated columns"):
        dream.read_submission(three)
    with pytest.raises(CisflowError, match="NaN"):
        dream.write_submission(["chr1"], [0], [200], [float("nan")], tmp_path / "nan.tsv")


def test_cli_dream_score(tmp_path, label_file, capsys, with_stage):
    labels_path, rows = label_file
    sub = tmp_path / "sub.tsv.gz"
    probs = [0.9 if r[3] == "B" else 0.1 for r in rows]
    dream.write_submission([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], probs, sub)
    argv = ["dream-score", "--labels", str(labels_path), "--submission", str(sub), "--task", "TF1"]
    assert cli.main([*argv, "--subsamples", "2", "--chrom", "chr1", "--chrom", "chr2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("auroc=1\tauprc=1\t")
    other = tmp_path / "other.tsv"
    other.write_text("chr1\t0\t200\t0.5\n")
    assert cli.main([*argv[:3], "--submission", str(other), "--task", "TF1"]) == 2
    assert f"{other}: 1 bins scored but the labels have 12" in capsys.readouterr().err


def test_dream_score_one_class_is_nan():
    s = dream.dream_score(np.array([0, 0, -1]), np.array([0.1, 0.2, 0.3]))
    assert math.isnan(s["auroc"]) and math.isnan(s["auprc"]) and math.isnan(s["recall_at_10_fdr"])
    assert (s["num_positives"], s["num_negatives"]) == (0, 2)
