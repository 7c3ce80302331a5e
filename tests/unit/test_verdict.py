"""Tests for cisflow.verdict: the best model per task and the warning when a baseline beats the CNN."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest

from cisflow.errors import CisflowError
from cisflow.verdict import (
    baseline_wins,
    is_cnn,
    log_verdict,
    mark_best,
    read_verdict,
    verdict_line,
    warn_motifs,
)


def _table() -> pd.DataFrame:
    """Task A: pwm beats the CNN; task B: the CNN wins; task C: a tie (the CNN is best); D: one class."""
    rows = [
        ("cnn", "A", 0.70, 0.016),
        ("pwm", "A", 0.886, 0.162),
        ("kmer", "A", 0.753, 0.023),
        ("cnn", "B", 0.95, 0.60),
        ("kmer", "B", 0.90, 0.45),
        ("kmer", "C", 0.80, 0.30),
        ("cnn", "C", 0.80, 0.30),
        ("cnn", "D", math.nan, math.nan),
        ("pwm", "D", math.nan, math.nan),
    ]
    return pd.DataFrame(rows, columns=["model", "task", "auroc", "auprc"])


def test_is_cnn() -> None:
    assert is_cnn("cnn") and is_cnn("cnn_finetuned")
    assert not is_cnn("pwm") and not is_cnn("kmer") and not is_cnn("gkm")


def test_mark_best_known_answer() -> None:
    marked = mark_best(_table())
    assert list(marked.columns) == ["model", "task", "best", "auroc", "auprc"]
    best = marked[marked["best"] == "yes"][["task", "model"]].values.tolist()
    assert best == [["A", "pwm"], ["B", "cnn"], ["C", "cnn"]]  # C: a tie goes to the CNN; D: no finite value
    assert (marked["best"] == "no").sum() == len(marked) - 3
    assert mark_best(marked)["best"].tolist() == marked["best"].tolist()  # idempotent


def test_baseline_wins_known_answer() -> None:
    wins = baseline_wins(_table())
    assert wins == [{"task": "A", "cnn": "cnn", "cnn_value": 0.016, "baseline": "pwm", "baseline_value": 0.162}]
    line = verdict_line(wins)
    assert line == "a baseline beats the CNN on the held-out data (auPRC; A: pwm 0.162 > cnn 0.016)"
    assert verdict_line([]) is None
    # by auROC the CNN loses on A and C is a tie
    assert [w["task"] for w in baseline_wins(_table(), "auroc")] == ["A"]


def test_best_cnn_counts() -> None:
    table = pd.DataFrame(
        [("cnn", "A", 0.1), ("cnn_finetuned", "A", 0.3), ("pwm", "A", 0.2)], columns=["model", "task", "auprc"]
    )
    assert baseline_wins(table) == []
    assert mark_best(table)["best"].tolist() == ["no", "yes", "no"]


def test_log_verdict_one_warning_line(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="cisflow.verdict"):
        log_verdict(_table())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    assert "pwm 0.162 > cnn 0.016" in warnings[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cisflow.verdict"):
        assert log_verdict(_table()[_table()["task"] == "B"]) == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "at least as good" in caplog.text


def test_read_verdict(tmp_path) -> None:
    path = tmp_path / "comparison.tsv"
    mark_best(_table()).to_csv(path, sep="\t", index=False, na_rep="nan")
    assert [w["task"] for w in read_verdict(path)] == ["A"]
    with pytest.raises(CisflowError, match="model comparison table"):
        read_verdict(tmp_path / "missing.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("model\ttask\tauroc\ncnn\tA\t0.5\n")
    with pytest.raises(CisflowError, match=r"lacks column\(s\) auprc") as err:
        read_verdict(bad)
    assert str(bad) in str(err.value)
    with pytest.raises(CisflowError, match="lacks column"):
        mark_best(pd.DataFrame({"model": ["cnn"]}))


def _evaluate(tmp_path, name: str, labels, probs) -> None:
    """An evaluation folder for ``name`` (metrics.json, predictions ...) as the evaluate stage writes it."""
    from cisflow.evaluate import evaluate_predictions, evaluation_outputs

    ids = np.array([f"bin{i}" for i in range(len(labels))])
    geometry = {"bin_size": 0, "stride": 0, "input_length": 100}
    evaluate_predictions(labels, probs, ["A", "B"], ids, evaluation_outputs(tmp_path / name), geometry=geometry)


def test_compare_stage_warns_when_the_cnn_loses(tmp_path, caplog) -> None:
    """The CNN is made to lose on task A (noise) and win on B: one warning line naming A, best column marked."""
    from cisflow.cli import main
    from cisflow.metrics import auprc

    rng = np.random.default_rng(0)
    labels = (rng.random((300, 2)) < 0.1).astype(np.int8)
    noise = rng.random((300, 2)).astype(np.float32)
    informed = (labels + 0.8 * noise).astype(np.float32)  # ranks every positive above most negatives
    cnn = np.stack([noise[:, 0], informed[:, 1]], axis=1)
    pwm = np.stack([informed[:, 0], noise[:, 1]], axis=1)
    _evaluate(tmp_path, "cnn", labels, cnn)
    _evaluate(tmp_path, "pwm", labels, pwm)
    table = tmp_path / "comparison.tsv"
    argv = ["compare-models", "--model", f"cnn={tmp_path / 'cnn'}", "--model", f"pwm={tmp_path / 'pwm'}"]
    with caplog.at_level(logging.INFO, logger="cisflow.verdict"):
        assert main([*argv, "--table", str(table), "--curves", str(tmp_path / "curves.png")]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "cisflow.verdict"]
    cnn_a, pwm_a = auprc(labels[:, 0], cnn[:, 0]), auprc(labels[:, 0], pwm[:, 0])
    assert cnn_a < 0.3 < 0.9 < pwm_a
    assert warnings == [f"a baseline beats the CNN on the held-out data (auPRC; A: pwm {pwm_a:.3f} > cnn {cnn_a:.3f})"]
    marked = pd.read_csv(table, sep="\t")
    assert sorted(marked[marked["best"] == "yes"][["task", "model"]].values.tolist()) == [["A", "pwm"], ["B", "cnn"]]
    # the motif stage reads the same table and says so again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cisflow.verdict"):
        assert [w["task"] for w in warn_motifs(table)] == ["A"]
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("motifs come from a CNN that lost to a baseline: a baseline beats")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cisflow.verdict"):
        assert warn_motifs(_cnn_wins(tmp_path)) == []
    assert not caplog.records


def _cnn_wins(tmp_path):
    """A comparison table where the CNN beats every baseline."""
    path = tmp_path / "cnn_wins.tsv"
    mark_best(_table()[_table()["task"] == "B"]).to_csv(path, sep="\t", index=False)
    return path


def test_motif_warning_judges_the_motif_model(tmp_path, caplog) -> None:
    """With a motif model (row cnn_motifs) the motif stage's warning judges it, not the best CNN: the model wins
    task B, the motif model loses it to the k-mer baseline; the run's verdict still counts the best CNN."""
    rows = [("cnn", "B", 0.95, 0.60), ("cnn_motifs", "B", 0.90, 0.40), ("kmer", "B", 0.90, 0.45)]
    table = pd.DataFrame(rows, columns=["model", "task", "auroc", "auprc"])
    path = tmp_path / "comparison.tsv"
    mark_best(table).to_csv(path, sep="\t", index=False)
    assert read_verdict(path) == []
    with caplog.at_level(logging.WARNING, logger="cisflow.verdict"):
        wins = warn_motifs(path)
    assert wins == [{"task": "B", "cnn": "cnn_motifs", "cnn_value": 0.40, "baseline": "kmer", "baseline_value": 0.45}]
    assert [r.getMessage() for r in caplog.records] == [
        "motifs come from a CNN that lost to a baseline: a baseline beats the CNN on the held-out data "
        "(auPRC; B: kmer 0.450 > cnn_motifs 0.400)"
    ]
    table.loc[1, "auprc"] = 0.50  # the motif model beats the baseline: no warning
    mark_best(table).to_csv(path, sep="\t", index=False)
    assert warn_motifs(path) == []
