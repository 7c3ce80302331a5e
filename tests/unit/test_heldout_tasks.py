"""Held-out cell types on the genome track: the held-out columns reach only the test split and scoring."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cisflow.errors import CisflowError
from cisflow.genome import encode

BIN = 50
MODEL = {"name": "sequence_dnn", "params": {"num_filters": [4], "conv_width": [6], "pool_width": 9}}
TRAIN = {"epochs": 1, "batch_size": 16, "positive_repeats": 1, "jitter": 0}  # not auto: each positive once


def _project(tmp_path):
    """Random 3-chromosome genome, GATAAG planted in ~30 % of 50 bp bins: bound in cell type A at every site,
    in B at every other one. Datasets split chrT / chrV / chrE with B held out; returns the paths."""
    from cisflow.data import datasets_from_files
    from cisflow.genome import decode, write_fasta
    from cisflow.labels import Labels, save_labels

    rng = np.random.default_rng(0)
    chroms, labels, keep = {}, {}, {}
    for name, n_bins in (("chrT", 120), ("chrV", 60), ("chrE", 60)):
        codes = rng.integers(0, 4, n_bins * BIN).astype(np.uint8)
        sites = np.flatnonzero(rng.random(n_bins) < 0.3)
        for i in sites:
            codes[i * BIN + 22 : i * BIN + 28] = encode("GATAAG")
        mat = np.zeros((n_bins, 2), np.int8)
        mat[sites, 0] = 1
        mat[sites[::2], 1] = 1
        chroms[name], labels[name], keep[name] = codes, mat, np.ones(n_bins, bool)
    lab = Labels(["gata.A", "gata.B"], BIN, BIN, {c: v.size for c, v in chroms.items()}, labels, keep)
    save_labels(lab, tmp_path / "labels.npz")
    write_fasta(tmp_path / "g.fa", [(c, decode(v)) for c, v in chroms.items()])
    outputs = {s: tmp_path / f"{s}.npz" for s in ("train", "valid", "test")}
    datasets_from_files(tmp_path / "labels.npz", tmp_path / "g.fa", outputs, valid_chroms=["chrV"],
                        test_chroms=["chrE"], splits_json=tmp_path / "splits.json", heldout_cell_types=["B"],
                        input_length=BIN, eval_negative_ratio=None, with_codes=False)  # fmt: skip
    return lab, outputs, tmp_path / "splits.json"


def test_genome_training_never_reads_held_out_labels(tmp_path, monkeypatch):
    from cisflow import train
    from cisflow.loader import train_from_genome
    from cisflow.train import train_outputs

    lab, outputs, splits = _project(tmp_path)
    assert json.loads(splits.read_text())["heldout_cell_types"] == ["B"]
    with np.load(outputs["valid"]) as valid, np.load(outputs["test"]) as test:
        assert list(valid["tasks"]) == ["gata.A"] and list(test["tasks"]) == ["gata.A", "gata.B"]
        bins = test["bin_start"] // BIN
        np.testing.assert_array_equal(test["labels"][:, 1], lab.labels["chrE"][bins, 1])  # B's own labels
        assert (test["labels"][:, 0] != test["labels"][:, 1]).any()
    seen = []
    monkeypatch.setattr(train, "train_model", lambda *a, train_batches, **kw: seen.append(train_batches) or {})
    inputs = (tmp_path / "labels.npz", tmp_path / "g.fa", splits, outputs["valid"], train_outputs(tmp_path / "m"))
    train_from_genome(*inputs, MODEL, TRAIN, 1)
    batches = seen[0]
    assert batches.tasks == ["gata.A"] and batches.chroms == ["chrT"]
    ys = np.concatenate([y.numpy() for _, y in batches])
    rows = batches.epoch_plan()["rows"]
    truth = lab.labels["chrT"][batches.epoch_plan()["bin_start"] // BIN]
    assert ys.shape == (rows.size, 1)
    np.testing.assert_array_equal(ys[:, 0], truth[:, 0])  # A's column, every positive of A drawn
    assert ys.sum() == lab.labels["chrT"][:, 0].sum() > lab.labels["chrT"][:, 1].sum()
    with pytest.raises(CisflowError, match=r"labels.npz: task gata.B is of a held-out cell type \(B\)"):
        train_from_genome(*inputs, MODEL, TRAIN, 1, tasks=["gata.B"])


def _planted_split(path, seed: int, tasks: list[str], n: int = 160):
    """A dataset npz: task 0 (cell type A) bound where TTGACA is planted, a held-out task 1 at every other one."""
    from cisflow._testing.artifacts import write_dataset

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, 60)).astype(np.uint8)
    bound = rng.random(n) < 0.4
    codes[bound, 27:33] = encode("TTGACA")
    labels = np.stack([bound, bound & (np.arange(n) % 2 == 0)], axis=1).astype(np.int8)[:, : len(tasks)]
    write_dataset(path, codes, labels, tasks, np.array([f"s{seed}_{i}" for i in range(n)]))
    return labels


def test_baselines_score_a_held_out_cell_type_with_its_factor_models(tmp_path):
    from sklearn.metrics import roc_auc_score

    from cisflow import baselines

    paths = {s: tmp_path / f"{s}.npz" for s in ("train", "valid", "test")}
    for seed, split in enumerate(("train", "valid")):
        _planted_split(paths[split], seed, ["k.A"])
    labels = _planted_split(paths["test"], 2, ["k.A", "k.B"])
    table = baselines.run_baselines(*paths.values(), baselines.baseline_outputs(tmp_path / "out"), k=6, C=[1.0])
    assert list(table["task"]) == ["k.A", "k.B"]
    with np.load(tmp_path / "out/kmer/predictions.npz") as pred:
        np.testing.assert_array_equal(pred["probs"][:, 1], pred["probs"][:, 0])  # A's model predicts B
        np.testing.assert_array_equal(pred["labels"], labels)
        assert table["auroc"].iloc[1] == pytest.approx(roc_auc_score(labels[:, 1], pred["probs"][:, 1]))
    assert table["auroc"].iloc[0] > 0.9 > table["auroc"].iloc[1]  # B binds half of A's sites: scored on its own
    _planted_split(paths["test"], 2, ["k.A", "other.B"])
    with pytest.raises(CisflowError, match=r"test.npz: tasks .* other.B is neither a model task"):
        baselines.run_baselines(*paths.values(), baselines.baseline_outputs(tmp_path / "out2"), k=6, C=[1.0])
