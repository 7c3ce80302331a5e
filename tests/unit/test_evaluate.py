"""Tests for cisflow.evaluate and the ``cisflow evaluate`` CLI (tiny data, tiny models)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cisflow import evaluate, metrics
from cisflow._testing.artifacts import write_dataset
from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.evaluate import evaluation_outputs
from cisflow.evaluate import pipeline as evaluate_pipeline

L = 40


def _dataset(tmp_path, n=60, seed=0, name="test.npz"):
    """A dataset npz whose task 'gc' is bound when GC > 0.5 and task 'flat' has only negatives (plus -1)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, L), dtype=np.uint8)
    gc = np.isin(codes, (1, 2)).mean(axis=1)
    labels = np.zeros((n, 2), dtype=np.int8)
    labels[:, 0] = gc > 0.5
    labels[::7, 0] = -1
    labels[::5, 1] = -1
    path = write_dataset(tmp_path / name, codes, labels, ["gc", "flat"], [f"seq{i}" for i in range(n)])
    return path, codes, labels, gc


@pytest.fixture
def fake_model(monkeypatch):
    """Replace model loading/prediction by a 'model' whose probability is the GC fraction (both tasks)."""
    meta = {"name": "fake", "params": {}, "n_tasks": 2, "input_length": L, "tasks": ["gc", "flat"], "seed": 1}

    def fake_predict(model, data, batch_size, device, rc_average=False):
        gc = np.isin(data["codes"], (1, 2)).mean(axis=1).astype(np.float32)
        return np.stack([gc, gc], axis=1)

    monkeypatch.setattr(evaluate_pipeline, "_load_model", lambda path: (object(), dict(meta)))
    monkeypatch.setattr(evaluate_pipeline, "_predict", fake_predict)
    return meta


def test_evaluate_model_outputs(tmp_path, fake_model):
    test_npz, _, labels, gc = _dataset(tmp_path)
    out = tmp_path / "eval"
    rows = evaluate.evaluate_model("model_dir", test_npz, evaluation_outputs(out), fdrs=(0.1, 0.5))
    assert [r["task"] for r in rows] == ["gc", "flat"]
    # The GC-fraction "model" separates task gc perfectly; task flat has one class → NaN.
    assert rows[0]["auroc"] == pytest.approx(1.0) and rows[0]["recall_at_10_fdr"] == pytest.approx(1.0)
    assert math.isnan(rows[1]["auroc"])
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "metrics.json", "metrics.tsv", "predictions.npz"]
    summary = json.loads((out / "metrics.json").read_text())  # strict JSON: NaN written as null
    assert summary["model"]["name"] == "fake" and summary["fdrs"] == [0.1, 0.5]
    assert summary["tasks"][1]["auroc"] is None
    assert summary["mean"]["auroc"] == pytest.approx(1.0)
    tsv = (out / "metrics.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:3] == ["task", "auroc", "auprc"] and len(tsv) == 3
    assert tsv[2].split("\t")[1] == "nan"
    with np.load(out / "predictions.npz") as pred:
        np.testing.assert_array_equal(pred["labels"], labels)
        np.testing.assert_allclose(pred["probs"][:, 0], gc, rtol=1e-6)
        assert pred["ids"][3] == "seq3" and list(pred["tasks"]) == ["gc", "flat"]
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob(".*"))  # no temporary files left behind


def test_evaluate_model_task_mismatch(tmp_path, fake_model):
    test_npz, *_ = _dataset(tmp_path)
    fake_model["tasks"] = ["CTCF", "flat"]
    with pytest.raises(CisflowError, match=r"test.npz: dataset tasks .* differ from the model's tasks"):
        evaluate.evaluate_model("m", test_npz, evaluation_outputs(tmp_path / "eval"))
    fake_model["tasks"] = ["gc", "flat"]
    fake_model["input_length"] = L + 1
    with pytest.raises(CisflowError, match="expects 41 bp"):
        evaluate.evaluate_model("m", test_npz, evaluation_outputs(tmp_path / "eval"))


def test_plot_curves_many_and_single_class_tasks(tmp_path):
    rng = np.random.default_rng(3)
    labels = (rng.random((50, 15)) < 0.3).astype(np.int8)
    labels[:, 4] = 0
    evaluate.plot_curves(labels, rng.random((50, 15)), [f"t{i}" for i in range(15)], tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_cli_evaluate(tmp_path, fake_model, capsys):
    test_npz, *_ = _dataset(tmp_path)
    out = tmp_path / "cli"
    code = main(["evaluate", "--model", "m", "--test", str(test_npz), "--out-dir", str(out), "--fdr", "0.25"])
    assert code == 0
    header = (out / "metrics.tsv").read_text().splitlines()[0].split("\t")
    assert "recall_at_25_fdr" in header and "recall_at_5_fdr" not in header


def test_cli_evaluate_missing_test(tmp_path, capsys):
    code = main(["evaluate", "--model", "m", "--test", str(tmp_path / "nope.npz"), "--out-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "cisflow evaluate: error:" in err and "nope.npz: test dataset does not exist" in err


def test_cli_evaluate_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--help"])
    assert exc.value.code == 0
    assert "--fdr" in capsys.readouterr().out


def test_evaluate_real_model_end_to_end(tmp_path):
    """A tiny SequenceDNN saved with cisflow.models.save_model, loaded and predicted for real."""
    import torch

    from cisflow import models
    from cisflow import predict as predict_mod

    torch.manual_seed(0)
    test_npz, codes, labels, _ = _dataset(tmp_path)
    params = {"num_filters": [3], "conv_width": [5], "pool_width": 4, "dropout": 0.0, "l1": 0.0}
    model = models.build_model("sequence_dnn", 2, L, **params)
    models.save_model(tmp_path / "model", model, {"tasks": ["gc", "flat"], "seed": 0})
    rows = evaluate.evaluate_model(
        tmp_path / "model" / "model.json",
        test_npz,
        evaluation_outputs(tmp_path / "eval"),
        batch_size=16,
        reverse_complement_average=False,
    )
    probs = predict_mod.predict(model.eval(), codes, batch_size=7, device="cpu")
    expected = metrics.multitask_metrics(labels, probs, ["gc", "flat"])
    assert rows[0] == pytest.approx(expected[0])
    summary = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert summary["model"]["name"] == "sequence_dnn" and summary["model"]["tasks"] == ["gc", "flat"]
    with np.load(tmp_path / "eval" / "predictions.npz") as pred:
        np.testing.assert_allclose(pred["probs"], probs, rtol=1e-5, atol=1e-6)
    # both strands: the mean of the forward and the reverse-complement probabilities
    from cisflow.genome import reverse_complement_codes

    evaluate.evaluate_model(
        tmp_path / "model", test_npz, evaluation_outputs(tmp_path / "rc"), reverse_complement_average=True
    )
    rc = predict_mod.predict(model.eval(), reverse_complement_codes(codes), device="cpu")
    with np.load(tmp_path / "rc" / "predictions.npz") as pred:
        np.testing.assert_allclose(pred["probs"], (probs + rc) / 2, rtol=1e-5, atol=1e-6)
        assert not np.allclose(pred["probs"], probs)
    assert json.loads((tmp_path / "rc" / "metrics.json").read_text())["reverse_complement_average"] is True


def test_compare_models_table_and_overlaid_curves(tmp_path, capsys):
    """Two evaluations of one test set (rows in different orders) → one table row per model and task, one PNG."""
    _, codes, labels, gc = _dataset(tmp_path)
    ids = np.array([f"seq{i}" for i in range(len(codes))])
    perfect = np.stack([gc, gc], axis=1).astype(np.float32)
    geometry = {"bin_size": 0, "stride": 0, "input_length": L}
    evaluate.evaluate_predictions(
        labels, perfect, ["gc", "flat"], ids, evaluation_outputs(tmp_path / "cnn"), geometry=geometry
    )
    order = np.random.default_rng(1).permutation(len(ids))
    noise = np.random.default_rng(2).random(perfect.shape).astype(np.float32)
    evaluate.evaluate_predictions(
        labels[order],
        noise[order],
        ["gc", "flat"],
        ids[order],
        evaluation_outputs(tmp_path / "kmer"),
        geometry=geometry,
    )
    from cisflow.artifacts import load_predictions

    aligned, _ = load_predictions(tmp_path / "kmer/predictions.npz", {"ids": ids})
    np.testing.assert_array_equal(aligned, noise)
    table, png = tmp_path / "comparison.tsv", tmp_path / "curves.png"
    args = ["compare-models", "--model", f"cnn={tmp_path / 'cnn'}", "--model", f"kmer={tmp_path / 'kmer'}"]
    assert main([*args, "--table", str(table), "--curves", str(png)]) == 0
    lines = [line.split("\t") for line in table.read_text().splitlines()]
    header = lines[0]
    got = {(r[header.index("model")], r[header.index("task")]): r for r in lines[1:]}
    assert float(got[("cnn", "gc")][header.index("auroc")]) == pytest.approx(1.0)
    kmer_auroc = float(got[("kmer", "gc")][header.index("auroc")])
    kept = labels[:, 0] != -1
    assert kmer_auroc == pytest.approx(metrics.auroc(labels[kept, 0], noise[kept, 0]))
    assert png.read_bytes()[:4] == b"\x89PNG"
    # predictions on other bins are refused
    evaluate.evaluate_predictions(
        labels[:-1], noise[:-1], ["gc", "flat"], ids[:-1], evaluation_outputs(tmp_path / "short"), geometry=geometry
    )
    with pytest.raises(CisflowError, match="1 test bins have no prediction"):
        evaluate.plot_model_comparison(
            {"cnn": tmp_path / "cnn/predictions.npz", "short": tmp_path / "short/predictions.npz"}, png
        )
    assert main(["compare-models", "--model", "cnn", "--table", str(table)]) != 0
    assert "NAME=DIR" in capsys.readouterr().err


def test_evaluate_held_out_cell_type_on_its_own_labels(tmp_path, fake_model):
    """A model trained on TF.A scores TF.B (held-out cell type) with its TF.A output, against TF.B's labels."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    codes = rng.integers(0, 4, size=(80, L), dtype=np.uint8)
    gc = np.isin(codes, (1, 2)).mean(axis=1)
    labels = np.stack([gc > 0.5, (gc > 0.5) & (np.arange(80) % 2 == 0)], axis=1).astype(np.int8)
    labels[::9, 1] = -1
    test_npz = write_dataset(tmp_path / "test.npz", codes, labels, ["TF.A", "TF.B"], [f"s{i}" for i in range(80)])
    fake_model["tasks"] = ["TF.A"]
    out = tmp_path / "eval"
    rows = evaluate.evaluate_model("m", test_npz, evaluation_outputs(out))
    with np.load(out / "predictions.npz") as pred:
        assert list(pred["tasks"]) == ["TF.A", "TF.B"]
        np.testing.assert_array_equal(pred["probs"][:, 1], pred["probs"][:, 0])  # the trained output stands in
        np.testing.assert_array_equal(pred["labels"][:, 1], labels[:, 1])  # B's own labels, not A's
    keep = labels[:, 1] >= 0
    assert rows[1]["task"] == "TF.B" and rows[1]["num_positives"] == int((labels[:, 1] == 1).sum())
    assert rows[1]["auroc"] == pytest.approx(roc_auc_score(labels[keep, 1], gc[keep]))
    assert rows[1]["auroc"] < rows[0]["auroc"] == pytest.approx(1.0)  # B binds half of A's sites
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["cell_types"] == {"TF.A": "A", "TF.B": "B"} and summary["heldout_tasks"] == ["TF.B"]
    assert summary["predicted_from"] == {"TF.A": ["TF.A"], "TF.B": ["TF.A"]}
    fake_model["tasks"] = ["OTHER.A"]
    with pytest.raises(CisflowError, match=r"test.npz: dataset tasks .* TF.A is neither a model task"):
        evaluate.evaluate_model("m", test_npz, evaluation_outputs(tmp_path / "eval2"))
