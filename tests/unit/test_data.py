"""Genome datasets: positives/negatives, centred windows, GC matching, determinism, files and CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cisflow import artifacts
from cisflow.artifacts import read_dataset, row_ids, write_datasets
from cisflow.cli import main
from cisflow.data import build_datasets, gc_matched_sample
from cisflow.errors import CisflowError
from cisflow.genome import N_CODE, Genome, decode, gc_fraction, write_fasta
from cisflow.labels import make_labels, save_labels

SIZE = 12_000


def _seq(rng, n, gc):
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return rng.choice(4, size=n, p=p).astype(np.uint8)


@pytest.fixture(scope="module")
def world():
    """AT-rich genome with GC-rich islands; T1 peaks (K562 or HepG2) on half the islands, one at a chromosome start."""
    rng = np.random.default_rng(3)
    chroms, rows = {}, []
    for k in range(4):
        name = f"c{k + 1}"
        codes = _seq(rng, SIZE, 0.3)
        for j, start in enumerate(range(500, SIZE - 600, 700)):
            codes[start : start + 400] = _seq(rng, 400, 0.75)
            if j % 2 == 0:
                rows.append((name, start + 100, start + 300, "T1.K562" if j % 4 == 0 else "T1.HepG2"))
        chroms[name] = codes
    rows.append(("c1", 0, 200, "T1.K562"))
    chroms["c2"][6000:6100] = N_CODE
    genome = Genome(chroms)
    peaks = pd.DataFrame(rows, columns=["chrom", "start", "end", "task"]).assign(summit=-1)
    cons = {t: peaks[peaks.task == t] for t in ("T1.K562", "T1.HepG2")}
    labels = make_labels(cons, None, genome.sizes, genome=genome, max_n_fraction=0.0)
    splits = {"c1": "train", "c2": "train", "c3": "valid", "c4": "test"}
    return genome, labels, splits


def test_train_positives_and_unbound_negatives(world):
    genome, labels, splits = world
    ds = build_datasets(labels, genome, splits, input_length=600, negative_ratio=2.0, seed=1)["train"]
    assert set(ds) >= {"codes", "labels", "tasks", "chrom", "start", "bin_start"} and "ids" not in ds
    assert ds["codes"].dtype == np.uint8 and ds["codes"].shape == (len(ds["labels"]), 600)
    assert ds["labels"].dtype == np.int8 and ds["start"].dtype == np.int64
    assert set(ds["chrom"]) == {"c1", "c2"}
    pos = (ds["labels"] == 1).any(axis=1)
    n_pos_all = sum(int(((labels.labels[c] == 1).any(axis=1) & labels.keep[c]).sum()) for c in ("c1", "c2"))
    assert pos.sum() == n_pos_all and (~pos).sum() == 2 * n_pos_all
    assert (ds["labels"][~pos] == 0).all()  # negatives are unbound in every task
    for c, b, row in zip(ds["chrom"], ds["bin_start"], ds["labels"], strict=True):
        i = b // labels.stride
        assert labels.keep[c][i]
        np.testing.assert_array_equal(labels.labels[c][i], row)
    assert not any(
        (ds["chrom"] == "c2") & (ds["bin_start"] > 6100 - labels.bin_size) & (ds["bin_start"] < 6100)
    )  # N-run bins excluded


def test_windows_centred_and_padded(world):
    genome, labels, splits = world
    ds = build_datasets(labels, genome, splits, input_length=601, negative_ratio=1.0, seed=0)["train"]
    np.testing.assert_array_equal(ds["start"] + 601 // 2, ds["bin_start"] + labels.bin_size // 2)
    for c, s, codes in zip(ds["chrom"], ds["start"], ds["codes"], strict=True):
        np.testing.assert_array_equal(codes, genome.fetch(c, int(s), int(s) + 601))
    first = np.flatnonzero((ds["chrom"] == "c1") & (ds["bin_start"] == 0))
    assert first.size == 1 and ds["start"][first[0]] == 100 - 300
    assert (ds["codes"][first[0], :200] == N_CODE).all() and (ds["codes"][first[0], 200:] < N_CODE).all()
    assert row_ids(ds, first).tolist() == ["c1:0-200"]  # made from chrom and bin_start, not stored


def test_eval_splits_all_bins_or_sampled(world):
    genome, labels, splits = world
    out = build_datasets(labels, genome, splits, input_length=300, seed=0)
    assert len(out["valid"]["labels"]) == int(labels.keep["c3"].sum())
    assert len(out["test"]["labels"]) == int(labels.keep["c4"].sum())
    assert (out["valid"]["labels"] == -1).any()  # ambiguous bins kept, labelled -1
    sampled = build_datasets(labels, genome, splits, input_length=300, eval_negative_ratio=1.0, seed=0)["test"]
    pos = (sampled["labels"] == 1).any(axis=1)
    assert (~pos).sum() == pos.sum() and (sampled["labels"][~pos] == 0).all()


def test_determinism(world):
    genome, labels, splits = world
    a = build_datasets(labels, genome, splits, input_length=200, seed=5)["train"]
    b = build_datasets(labels, genome, splits, input_length=200, seed=5)["train"]
    c = build_datasets(labels, genome, splits, input_length=200, seed=6)["train"]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["bin_start"], c["bin_start"])


def test_gc_matching_moves_negatives_towards_positives(world):
    genome, labels, splits = world
    gaps = []
    for gc_match in (False, True):
        ds = build_datasets(labels, genome, splits, input_length=400, gc_match=gc_match, seed=2)["train"]
        gc = gc_fraction(ds["codes"])
        pos = (ds["labels"] == 1).any(axis=1)
        gaps.append(abs(np.nanmean(gc[pos]) - np.nanmean(gc[~pos])))
    assert gaps[1] < 0.5 * gaps[0]


def test_gc_matched_sample_known_answer():
    rng = np.random.default_rng(0)
    pool = np.r_[np.full(50, 0.2), np.full(50, 0.8)]
    idx = gc_matched_sample(pool, np.full(10, 0.81), 10, rng)
    assert len(set(idx)) == 10 and (pool[idx] == 0.8).all()
    idx = gc_matched_sample(pool, np.r_[np.full(5, 0.2), np.full(15, 0.8)], 8, rng)
    assert (pool[idx] == 0.2).sum() == 2 and (pool[idx] == 0.8).sum() == 6


def test_heldout_cell_type_columns(world):
    genome, labels, splits = world
    out = build_datasets(labels, genome, splits, input_length=200, heldout_cell_types=["HepG2"], seed=0)
    assert list(out["train"]["tasks"]) == ["T1.K562"] and list(out["valid"]["tasks"]) == ["T1.K562"]
    assert list(out["test"]["tasks"]) == ["T1.K562", "T1.HepG2"]
    n_t1 = sum(int(((labels.labels[c][:, 0] == 1) & labels.keep[c]).sum()) for c in ("c1", "c2"))
    assert out["train"]["labels"].shape[1] == 1 and int((out["train"]["labels"][:, 0] == 1).sum()) == n_t1


def test_bad_arguments(world):
    genome, labels, splits = world
    with pytest.raises(CisflowError, match="input_length"):
        build_datasets(labels, genome, splits, input_length=0)
    with pytest.raises(CisflowError, match="unknown split names"):
        build_datasets(labels, genome, {"c1": "training"})
    with pytest.raises(CisflowError, match="not in the genome"):
        build_datasets(labels, Genome({"c1": genome.chroms["c1"]}), splits)


def test_write_and_cli(world, tmp_path, capsys):
    genome, labels, splits = world
    ds = build_datasets(labels, genome, splits, input_length=200, seed=0)
    write_datasets(ds, {s: tmp_path / f"{s}.npz" for s in ds})
    with np.load(tmp_path / "train.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["codes"], ds["train"]["codes"])
    save_labels(labels, tmp_path / "labels.npz")
    write_fasta(tmp_path / "g.fa", [(c, decode(v)) for c, v in genome.chroms.items()])
    argv = ["splits", "--labels", str(tmp_path / "labels.npz"), "--genome", str(tmp_path / "g.fa")]
    argv += ["--valid", "c3", "--test", "c4", "--input-length", "200", "--gc-match", "--seed", "1"]
    assert main([*argv, "--out-dir", str(tmp_path / "d")]) == 0
    for s in ("train", "valid", "test"):
        with np.load(tmp_path / "d" / f"{s}.npz", allow_pickle=False) as z:
            assert z["codes"].shape[1] == 200
    recorded = json.loads((tmp_path / "d" / "splits.json").read_text())
    assert recorded["splits"] == {"c1": "train", "c2": "train", "c3": "valid", "c4": "test"}
    assert recorded["negative_ratio"] == 1.0 and recorded["input_length"] == 200 and recorded["gc_match"] is True
    test = read_dataset(tmp_path / "d" / "test.npz")
    assert artifacts.geometry(test) == {"bin_size": labels.bin_size, "stride": labels.stride, "input_length": 200}
    assert main([*argv[:5], "--valid", "c3", "--test", "c3", "--out-dir", str(tmp_path / "e")]) == 2
    assert "both the valid and the test split: c3" in capsys.readouterr().err
    assert not (tmp_path / "e" / "train.npz").exists()
    regions = ["--valid-region", "c1:0-3000", "--test-region", "c1:6000-12000", "--input-length", "200"]
    assert main([*argv[:5], *regions, "--out-dir", str(tmp_path / "r")]) == 0
    with np.load(tmp_path / "r" / "test.npz", allow_pickle=False) as z:
        assert set(z["chrom"]) == {"c1"} and (z["bin_start"] >= 6000).all()
    assert main([*argv[:5], "--test-region", "c1:0-12000", "--test", "c2", "--test", "c3", "--test", "c4",
                 "--out-dir", str(tmp_path / "f")]) == 2  # fmt: skip
    assert "no training bins" in capsys.readouterr().err


def test_region_splits_share_no_sequence(world):
    genome, labels, _ = world
    held = {"valid_regions": ["c1:2000-5000"], "test_regions": ["c1:7000-12000"]}
    sets = build_datasets(labels, genome, {"c1": "train"}, input_length=600, eval_negative_ratio=None, **held)
    windows = {s: d["start"] for s, d in sets.items()}
    bins = {s: d["bin_start"] for s, d in sets.items()}
    assert all(len(windows[s]) for s in windows) and set(sets["train"]["chrom"]) == {"c1"}
    assert ((bins["valid"] >= 2000) & (bins["valid"] + 200 <= 5000)).all()
    assert ((bins["test"] >= 7000) & (bins["test"] + 200 <= 12000)).all()
    for split in windows:  # no window of one split reaches a bin of another
        others = np.concatenate([bins[o] for o in bins if o != split])
        for a in windows[split]:
            assert not ((a < others + 200) & (others < a + 600)).any()
    assert sum(len(v) for v in bins.values()) < int(labels.keep["c1"].sum())  # boundary flanks left out


def test_valid_negative_ratio_samples_valid_only(world):
    genome, labels, splits = world
    sets = build_datasets(labels, genome, splits, input_length=200, valid_negative_ratio=1.0, seed=0)
    valid_pos = (sets["valid"]["labels"] == 1).any(axis=1)
    assert (~valid_pos).sum() == valid_pos.sum()  # one negative per positive
    assert len(sets["test"]["labels"]) == int(labels.keep["c4"].sum())  # test: every kept bin
    with pytest.raises(CisflowError, match="valid_negative_ratio must be >= 0"):
        build_datasets(labels, genome, splits, valid_negative_ratio=-1)


def test_bin_ids_equal_formatted_strings_across_chunks():
    from cisflow.artifacts import bin_ids

    chrom = np.array(["chr1", "chr1", "chr21", "chrUn_KI270302v1", "chr8", "chr8", "chr21"])
    start = np.array([0, 50, 46_699_800, 150, 9_950, 10_000, 5])
    want = [f"{c}:{s}-{s + 200}" for c, s in zip(chrom.tolist(), start.tolist(), strict=True)]
    for chunk in (1, 3, 1 << 16):
        assert bin_ids(chrom, start, 200, chunk).tolist() == want
    assert bin_ids(np.zeros(0, str), np.zeros(0, np.int64), 200).shape == (0,)
