"""Signal bigWigs per cell type (``inputs.signal_bigwigs: {cell_type: [bigWig, ...]}``): parsing, training on the
training cell type's tracks only, and each task's windows carrying its own cell type's tracks when scored."""

from __future__ import annotations

import json

import numpy as np
import pyBigWig
import pytest
import torch
from torch import nn

from cisflow import cellsignal
from cisflow.errors import CisflowError

BIN, HIGH = 50, 50.0
MODEL = {"name": "sequence_dnn", "params": {"num_filters": [4], "conv_width": [6], "pool_width": 9}}
TRAIN = {"epochs": 1, "batch_size": 16, "positive_repeats": 1, "jitter": 0}  # not auto: each positive once


def test_signal_spec_known_answers():
    listed, per_cell = ["a/dnase.bw", "b/atac.bw"], {"A": ["A/x.bw", "A/y.bw"], "B": ["B/x.bw", "B/y.bw"]}
    assert cellsignal.channel_names(listed) == ["dnase.bw", "atac.bw"]
    assert cellsignal.channel_names(per_cell) == ["signal_1", "signal_2"]
    assert cellsignal.tracks_for(listed, "B") == listed and cellsignal.tracks_for(per_cell, "B") == per_cell["B"]
    assert cellsignal.signal_files(per_cell, ["B"]) == per_cell["A"]
    assert cellsignal.signal_files({"A": ["s.bw"], "B": ["s.bw"]}) == ["s.bw"]
    tasks = ["tf.A", "tf.B", "tf2.A"]
    assert cellsignal.cell_type_passes(tasks, per_cell) == [(per_cell["A"], [0, 2]), (per_cell["B"], [1])]
    assert cellsignal.cell_type_passes(tasks, listed) == [(listed, [0, 1, 2])]
    assert cellsignal.cell_type_passes(tasks, []) == [([], [0, 1, 2])]
    assert cellsignal.training_tracks(["tf.A", "tf2.A"], per_cell) == per_cell["A"]
    assert cellsignal.training_tracks(["tf.A", "tf.B"], {"A": ["s.bw"], "B": ["s.bw"]}) == ["s.bw"]  # shared
    assert cellsignal.tracks_by_cell_type(tasks, per_cell) == per_cell
    with pytest.raises(CisflowError, match="cell types A, B with different tracks"):
        cellsignal.training_tracks(["tf.A", "tf.B"], per_cell)
    with pytest.raises(CisflowError, match=r"task tf.C: no signal bigWigs for cell type 'C' \(they are given for A, B"):
        cellsignal.cell_type_passes(["tf.C"], per_cell)
    for bad, needle in (({"A": ["x.bw"], "B": ["x.bw", "y.bw"]}, "got A: 1, B: 2"), ({}, "no cell type"),
                        ({"A": []}, "got A: 0"), (["a/x.bw", "b/x.bw"], "distinct file names")):  # fmt: skip
        with pytest.raises(CisflowError, match=needle):
            cellsignal.channel_names(bad)


def _write_bigwig(path, sizes: dict[str, int], bound: dict[str, np.ndarray]) -> str:
    """``HIGH`` over the bound bins of each chromosome, 0 elsewhere."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, n in sizes.items():
        values = np.zeros(n)
        for i in np.flatnonzero(bound[chrom]):
            values[i * BIN : (i + 1) * BIN] = HIGH
        bw.addEntries(chrom, 0, values=values.tolist(), span=1, step=1)
    bw.close()
    return str(path)


def _project(tmp_path, heldout=("B",)):
    """A 3-chromosome genome (chrT / chrV / chrE), tasks gata.A and gata.B bound at different bins (GATAAG at A's
    and B's), each cell type's bigWig ``HIGH`` over its own bound bins; coordinate datasets with ``heldout``."""
    from cisflow.data import datasets_from_files
    from cisflow.genome import decode, encode, write_fasta
    from cisflow.labels import Labels, save_labels

    rng = np.random.default_rng(0)
    chroms, labels, keep = {}, {}, {}
    for name, n_bins in (("chrT", 120), ("chrV", 60), ("chrE", 60)):
        codes = rng.integers(0, 4, n_bins * BIN).astype(np.uint8)
        mat = (rng.random((n_bins, 2)) < 0.3).astype(np.int8)
        for i in np.flatnonzero(mat.any(axis=1)):
            codes[i * BIN + 22 : i * BIN + 28] = encode("GATAAG")
        chroms[name], labels[name], keep[name] = codes, mat, np.ones(n_bins, bool)
    lab = Labels(["gata.A", "gata.B"], BIN, BIN, {c: v.size for c, v in chroms.items()}, labels, keep)
    save_labels(lab, tmp_path / "labels.npz")
    write_fasta(tmp_path / "g.fa", [(c, decode(v)) for c, v in chroms.items()])
    sizes = {c: v.size for c, v in chroms.items()}
    signal = {cell: [_write_bigwig(tmp_path / f"{cell}.dnase.bw", sizes, {c: m[:, j] == 1 for c, m in labels.items()})]
              for j, cell in enumerate(("A", "B"))}  # fmt: skip
    outputs = {s: tmp_path / f"{s}.npz" for s in ("train", "valid", "test")}
    datasets_from_files(tmp_path / "labels.npz", tmp_path / "g.fa", outputs, valid_chroms=["chrV"],
                        test_chroms=["chrE"], splits_json=tmp_path / "splits.json", heldout_cell_types=list(heldout),
                        input_length=BIN, eval_negative_ratio=None, with_codes=False,
                        signal_bigwigs=signal)  # fmt: skip
    return lab, outputs, signal


class _SignalMean(nn.Module):
    """One output: logit = mean of the first signal channel over the window - 2 (a known answer)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 4].mean(dim=1, keepdim=True) - 2.0


def test_each_task_scored_with_its_cell_types_tracks(tmp_path, monkeypatch):
    from cisflow.evaluate import pipeline
    from cisflow.evaluate.pipeline import evaluate_model, evaluation_outputs

    lab, outputs, signal = _project(tmp_path)
    with np.load(outputs["test"]) as test:
        assert list(test["signal_names"]) == ["signal_1"] and list(test["tasks"]) == ["gata.A", "gata.B"]
        truth = lab.labels["chrE"][test["bin_start"] // BIN]
    meta = {"tasks": ["gata.A"], "signal_names": ["signal_1"], "input_length": BIN}
    monkeypatch.setattr(pipeline, "_load_model", lambda path: (_SignalMean(), meta))
    out = evaluation_outputs(tmp_path / "eval")
    evaluate_model("m", outputs["test"], out, genome=tmp_path / "g.fa", signal_bigwigs=signal, device="cpu")
    with np.load(out["predictions"]) as pred:
        probs = pred["probs"]
    # window = bin: each column's probability comes from its own cell type's track over the bin
    want = 1 / (1 + np.exp(-(np.log1p(HIGH * truth) - 2.0)))
    np.testing.assert_allclose(probs, want, rtol=1e-3)
    only_b = (truth[:, 1] == 1) & (truth[:, 0] == 0)
    assert only_b.any() and (probs[only_b, 1] > probs[only_b, 0] + 0.5).all()
    summary = json.loads(out["metrics"].read_text())
    assert summary["signal_tracks"] == signal and summary["predicted_from"]["gata.B"] == ["gata.A"]
    with pytest.raises(CisflowError, match=r"test.npz: task gata.B: no signal bigWigs for cell type 'B'"):
        evaluate_model("m", outputs["test"], out, genome=tmp_path / "g.fa", signal_bigwigs={"A": signal["A"]})


def test_training_reads_only_the_training_cell_types_tracks(tmp_path, monkeypatch):
    from cisflow import train
    from cisflow.loader import train_from_genome
    from cisflow.train import train_outputs

    _, outputs, signal = _project(tmp_path)
    never = {"A": signal["A"], "B": [str(tmp_path / "absent" / "B.dnase.bw")]}  # B's track is never opened
    inputs = (tmp_path / "labels.npz", tmp_path / "g.fa", tmp_path / "splits.json", outputs["valid"])
    summary = train_from_genome(*inputs, train_outputs(tmp_path / "m"), MODEL, TRAIN, 1, signal_bigwigs=never)
    assert summary["epochs_run"] == 1
    meta = json.loads((tmp_path / "m/model.json").read_text())
    assert meta["tasks"] == ["gata.A"] and meta["signal_names"] == ["signal_1"]
    seen = []
    monkeypatch.setattr(train, "train_model", lambda *a, train_batches, **kw: seen.append(kw) or train_batches)
    batches = train_from_genome(*inputs, train_outputs(tmp_path / "m2"), MODEL, TRAIN, 1, signal_bigwigs=never)
    assert batches.signal_bigwigs == signal["A"] and batches.signal_names == ["signal_1"]
    assert [str(p) for p in seen[0]["data_files"]][-1] == signal["A"][0]
    plan = batches.epoch_plan()
    x, y = batches.make_batch(plan["rows"], np.zeros(plan["rows"].size, np.int64), np.zeros(plan["rows"].size, bool))
    np.testing.assert_allclose(x[:, 4].mean(dim=1).numpy(), np.log1p(HIGH) * y[:, 0].numpy(), rtol=1e-3)


def test_per_cell_type_signal_refusals(tmp_path):
    from cisflow.data import build_datasets
    from cisflow.genome import Genome
    from cisflow.labels import load_labels
    from cisflow.loader import train_from_genome
    from cisflow.train import train_outputs

    _, outputs, signal = _project(tmp_path, heldout=())
    inputs = (tmp_path / "labels.npz", tmp_path / "g.fa", tmp_path / "splits.json", outputs["valid"])
    with pytest.raises(CisflowError, match=r"splits.json: per-cell-type signal bigWigs: the training tasks are of "
                                           r"cell types A, B with different tracks"):  # fmt: skip
        train_from_genome(*inputs, train_outputs(tmp_path / "m"), MODEL, TRAIN, 1, signal_bigwigs=signal)
    with pytest.raises(CisflowError, match="per cell type need coordinate datasets"):
        build_datasets(load_labels(tmp_path / "labels.npz"), Genome.open(tmp_path / "g.fa"), {"chrT": "train"},
                       BIN, signal_bigwigs=signal)  # fmt: skip
