"""Held-out-chromosome splits and held-out cell types."""

from __future__ import annotations

import pytest

from cisflow.errors import CisflowError
from cisflow.splits import PRESETS, cell_type_of, make_splits, split_tasks

CHROMS = [f"chr{i}" for i in range(1, 23)] + ["chrX"]


def test_splits_partition_chromosomes():
    splits = make_splits(CHROMS, ["chr2", "chr3"], ["chr4"])
    assert list(splits) == CHROMS
    groups = {s: {c for c, v in splits.items() if v == s} for s in ("train", "valid", "test")}
    assert groups["valid"] == {"chr2", "chr3"} and groups["test"] == {"chr4"}
    assert not (groups["train"] & groups["valid"]) and not (groups["train"] & groups["test"])
    assert set().union(*groups.values()) == set(CHROMS)


def test_dream_preset():
    splits = make_splits(CHROMS, preset="dream")
    assert sorted(c for c, s in splits.items() if s == "test") == ["chr1", "chr21", "chr8"]
    assert [c for c, s in splits.items() if s == "valid"] == ["chr11"]
    assert PRESETS["dream"]["test"] == ["chr1", "chr8", "chr21"]
    # the preset overrides explicit lists
    assert make_splits(CHROMS, ["chr5"], ["chr6"], preset="dream")["chr5"] == "train"


def test_split_errors():
    with pytest.raises(CisflowError, match="both the valid and the test split: chr2"):
        make_splits(CHROMS, ["chr2"], ["chr2", "chr3"])
    with pytest.raises(CisflowError, match=r"not in the labels: 1 \(the labels have chr1, chr2"):
        make_splits(CHROMS, ["1"], [])
    with pytest.raises(CisflowError, match="no chromosome left for training"):
        make_splits(["chr1", "chr2"], ["chr1"], ["chr2"])
    with pytest.raises(CisflowError, match="unknown split preset"):
        make_splits(CHROMS, preset="factornet")
    with pytest.raises(CisflowError, match=r"chr11, chr1, chr8, chr21 \(the labels have 1, 2"):
        make_splits(["1", "2", "3"], preset="dream")


def test_heldout_cell_types():
    tasks = ["CTCF.K562", "CTCF.HepG2", "MAX.K562"]
    assert cell_type_of("CTCF.HepG2") == "HepG2" and cell_type_of("CTCF") is None
    cols = split_tasks(tasks, ["HepG2"])
    assert cols == {"train": [0, 2], "valid": [0, 2], "test": [0, 1, 2]}
    assert split_tasks(tasks) == {"train": [0, 1, 2], "valid": [0, 1, 2], "test": [0, 1, 2]}
    with pytest.raises(CisflowError, match=r"not in the task names: GM12878 \(cell types: HepG2, K562\)"):
        split_tasks(tasks, ["GM12878"])
    with pytest.raises(CisflowError, match="no task left"):
        split_tasks(tasks, ["HepG2", "K562"])
