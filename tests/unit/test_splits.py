"""Held-out-chromosome splits and held-out cell types."""

from __future__ import annotations

import numpy as np
import pytest

from cisflow.errors import CisflowError
from cisflow.splits import PRESETS, cell_type_of, factor_of, make_splits, map_outputs, split_tasks, task_sources

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
    with pytest.raises(CisflowError, match=r"held-out tasks MAX.K562 have no task of their factor in a training cell"):
        split_tasks(tasks, ["K562"])  # MAX is bound in K562 alone: nothing trained could stand in for it


def test_task_sources_map_held_out_cell_types_to_their_factor():
    tasks = ["CTCF.K562", "CTCF.HepG2", "MAX.K562", "CTCF.GM12878", "MAX.HepG2"]
    assert factor_of("CTCF.HepG2") == "CTCF" and factor_of("ATAC") == "ATAC"
    cols = split_tasks(tasks, ["HepG2"])
    model = [tasks[j] for j in cols["train"]]
    assert model == ["CTCF.K562", "MAX.K562", "CTCF.GM12878"]
    # a trained task keeps its own output; a held-out one takes its factor's outputs in every training cell type
    assert task_sources(tasks, model) == [[0], [0, 2], [1], [2], [1]]
    assert task_sources(model, model) == [[0], [1], [2]]
    with pytest.raises(CisflowError, match=r"task REST.HepG2 is neither a model task nor of a factor"):
        task_sources(["REST.HepG2"], model)
    with pytest.raises(CisflowError, match="task CTCF is neither"):  # no cell type: only an exact match
        task_sources(["CTCF"], model)


def test_map_outputs_known_answer():
    probs = np.array([[0.1, 0.5, 0.9], [0.3, 0.2, 0.7]], np.float32)
    out = map_outputs(probs, [[0], [0, 2], [1], [2], [1]])
    expected = [[0.1, 0.5, 0.5, 0.9, 0.5], [0.3, 0.5, 0.2, 0.7, 0.2]]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32
    assert map_outputs(probs, [[0], [1], [2]]) is probs  # the identity map copies nothing


# ---------------------------------------------------------------------------------------------- regions


def test_parse_regions():
    from cisflow.splits import Region, parse_region, parse_regions

    assert parse_region("chr22:19,000,000-22_000_000") == Region("chr22", 19_000_000, 22_000_000)
    assert str(parse_region(" chrIV:5-10 ")) == "chrIV:5-10"
    for bad, message in (("chr1:10", "not chrom:start-end"), ("chr1:10-5", "start >= end"), ("chr1", "not chrom")):
        with pytest.raises(CisflowError, match=message):
            parse_region(bad)
    with pytest.raises(CisflowError, match="regions overlap: chr1:0-100 and chr1:99-200"):
        parse_regions(["chr1:0-100"], ["chr2:0-50", "chr1:99-200"])
    assert len(parse_regions(["chr1:0-100"], ["chr1:100-200"])) == 2  # book-ended is fine


def _brute_codes(size, w, st, whole, regions, flank):
    """Per-bin split by hand: region membership, then any boundary within flank of the bin drops it."""
    codes = []
    for i in range((size - w) // st + 1):
        s, e = i * st, i * st + w
        code = whole
        for chrom_region, split in regions:
            a, b = chrom_region
            if a <= s and e <= b:
                code = {"valid": 1, "test": 2}[split]
            for x in (a, b):
                if 0 < x < size and s - flank < x < e + flank:
                    code = -1
                    break
            if code == -1:
                break
        codes.append(code)
    return codes


def test_bin_splits_match_brute_force_and_keep_windows_apart():
    from cisflow.splits import bin_splits

    size, w, st, flank = 10_000, 200, 50, 1000
    regions = [((2000, 4000), "valid"), ((6000, 10_000), "test")]
    codes = bin_splits({"chr1": size, "chr2": 3000}, w, st, {"chr1": "train", "chr2": "valid"},
                       ["chr1:2000-4000"], ["chr1:6000-10000"], flank=flank)  # fmt: skip
    assert codes["chr1"].tolist() == _brute_codes(size, w, st, 0, regions, flank)
    assert set(codes["chr2"].tolist()) == {1}
    # no kept window (input_length = flank, centred on its bin) of one split overlaps another split's bins
    starts = np.arange(codes["chr1"].size) * st
    for split in (0, 1, 2):
        lo = starts[codes["chr1"] == split] + w // 2 - flank // 2
        others = starts[(codes["chr1"] != split) & (codes["chr1"] >= 0)]
        for a in lo:
            assert not ((others < a + flank) & (others + w > a)).any()
    assert (codes["chr1"] == 0).sum() > 0 and (codes["chr1"] == 2).sum() > 0


def test_bin_splits_errors_and_a_single_chromosome():
    from cisflow.splits import bin_splits

    one = make_splits(["chr1"], valid_regions=["chr1:0-3000"], test_regions=["chr1:7000-10000"])
    assert one == {"chr1": "train"}
    codes = bin_splits({"chr1": 10_000}, 200, 50, one, ["chr1:0-3000"], ["chr1:7000-10000"], 400, require_train=True)
    assert {int(c) for c in codes["chr1"]} == {-1, 0, 1, 2}
    with pytest.raises(CisflowError, match="no training bins left"):
        bin_splits({"chr1": 10_000}, 200, 50, one, ["chr1:0-4500"], ["chr1:5500-10000"], 600, require_train=True)
    with pytest.raises(CisflowError, match=r"region chr1:9000-12000 ends past chr1 \(10000 bp\)"):
        bin_splits({"chr1": 10_000}, 200, 50, one, [], ["chr1:9000-12000"])
    with pytest.raises(CisflowError, match="not in the labels: chr9"):
        make_splits(["chr1"], test_regions=["chr9:0-10"])


def test_config_time_split_check():
    from cisflow.splits import check_split_config

    sizes = {"chr1": 50_000, "chr1_KI270706v1_random": 5000, "chrM": 16_000}
    labels = {"bin_size": 200, "stride": 50}
    base = {"preset": None, "valid_chroms": [], "test_chroms": [], "input_length": 1000}
    ok = check_split_config(
        sizes, labels, base | {"valid_regions": ["chr1:0-10000"], "test_regions": ["chr1:40000-50000"]}
    )
    assert ok == {"chr1": "train"}  # the alt contig and chrM are not among the labels' chromosomes
    with pytest.raises(CisflowError, match="no chromosome left for training"):
        check_split_config(sizes, labels, base | {"test_chroms": ["chr1"]})
    with pytest.raises(CisflowError, match="no training bins left"):
        check_split_config(
            sizes, labels, base | {"valid_regions": ["chr1:0-25000"], "test_regions": ["chr1:25000-50000"]}
        )
    with pytest.raises(CisflowError, match=r"not in the labels: chrM"):
        check_split_config(sizes, labels, base | {"test_chroms": ["chrM"]})
    assert check_split_config(sizes, labels, base | {"test_chroms": ["chrM"]}, chroms="chr1|chrM")["chrM"] == "test"
