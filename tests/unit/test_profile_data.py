"""Tests for cisflow.profile.regions, .data and .io: regions, GC matching, crops, strand swaps, npz files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cisflow.artifacts import PROFILE_DATASET
from cisflow.errors import CisflowError
from cisflow.genome import Genome, encode
from cisflow.narrowpeak import make_peaks
from cisflow.profile.data import ProfileBatches, centered, crop, epoch_rows, reverse_complement_batch, subset
from cisflow.profile.io import load_dataset, load_predictions, save_dataset, save_predictions
from cisflow.profile.regions import assign_splits, background_candidates, gc_matched, make_regions, peak_regions


def _dataset(n: int = 6, jitter: int = 2, n_in: int = 8, n_out: int = 4, strands=("+", "-")) -> dict:
    rng = np.random.default_rng(0)
    return {
        "codes": rng.integers(0, 4, (n, n_in + 2 * jitter)).astype(np.uint8),
        "counts": rng.integers(0, 5, (n, 1, len(strands), n_out + 2 * jitter)).astype(np.float32),
        "control": rng.random((n, 2, n_in + 2 * jitter)).astype(np.float32),
        "chrom": np.array(["c1"] * n),
        "center": np.arange(n, dtype=np.int64) * 100 + 50,
        "is_peak": np.arange(n) < n // 2,
        "tasks": np.array(["TF"]),
        "strands": np.array(list(strands)),
        "input_length": np.int64(n_in),
        "output_length": np.int64(n_out),
        "jitter": np.int64(jitter),
    }


def test_peak_regions_centre_on_summits_and_drop_edges() -> None:
    peaks = make_peaks(["c1", "c1", "c1", "c2"], [100, 100, 10, 500], [300, 300, 60, 700], summit=[50, 50, -1, 100])
    regions = peak_regions(peaks, {"c1": 1000, "c2": 1000}, window=100)
    # duplicate summit merged; the peak at 10-60 (midpoint 35) is within 50 bp of the start: dropped
    assert regions[["chrom", "center"]].values.tolist() == [["c1", 150], ["c2", 600]]


def test_background_avoids_peaks_and_n_and_matches_gc() -> None:
    codes = np.array([0, 3] * 500 + [1, 2] * 500, dtype=np.uint8)  # AT-only first half, GC-only second half
    codes[100:110] = 4
    genome = Genome({"c1": codes})
    peaks = make_peaks(["c1"], [700], [720])
    cands = background_candidates(genome, peaks, window=40, output_length=20, stride=10)
    centres = cands["center"].to_numpy()
    assert not ((centres > 80) & (centres < 130)).any()  # windows with N
    assert not ((centres + 10 > 700) & (centres - 10 < 720)).any()  # output windows on the peak
    picked = gc_matched(cands, np.array([1.0, 1.0, 1.0]), 3, seed=0)
    assert (picked["gc"] == 1.0).all() and len(picked) == 3
    with pytest.raises(CisflowError, match="only"):
        gc_matched(cands, np.array([0.5]), len(cands) + 1, seed=0)


def test_background_gc_and_n_counted_in_blocks_equal_every_window(monkeypatch) -> None:
    from cisflow.profile import regions

    rng = np.random.default_rng(3)
    codes = rng.choice(5, 3000, p=[0.24, 0.24, 0.24, 0.24, 0.04]).astype(np.uint8)
    starts = np.arange(0, 3000 - 40 + 1, 7, dtype=np.int64)
    want_gc = np.array([np.isin(codes[s : s + 40], (1, 2)).mean() for s in starts])
    want_n = np.array([(codes[s : s + 40] == 4).sum() for s in starts])
    for block in (1, 50, 333, 1 << 22):  # one window per block, several, one block for the chromosome
        monkeypatch.setattr(regions, "_SCAN_BLOCK", block)
        gc, n = regions._gc_and_n(codes, starts, 40)
        np.testing.assert_array_equal(n, want_n)
        np.testing.assert_allclose(gc, want_gc, rtol=0, atol=1e-12)


def test_make_regions_and_splits() -> None:
    rng = np.random.default_rng(0)
    genome = Genome({"c1": rng.integers(0, 4, 5000).astype(np.uint8), "c2": rng.integers(0, 4, 5000).astype(np.uint8)})
    peaks = make_peaks(["c1", "c1", "c2"], [1000, 3000, 2000], [1100, 3100, 2100], summit=[50, 50, 50])
    regions = make_regions(genome, peaks, 200, 100, 10, background_ratio=2.0, seed=1)
    assert regions["is_peak"].sum() == 3 and (~regions["is_peak"]).sum() == 6
    split = assign_splits(regions, valid_chroms=[], test_chroms=["c2"])
    assert set(split.loc[split["chrom"] == "c2", "split"]) == {"test"}
    with pytest.raises(CisflowError, match="both"):
        assign_splits(regions, ["c2"], ["c2"])
    again = make_regions(genome, peaks, 200, 100, 10, background_ratio=2.0, seed=1)
    pd.testing.assert_frame_equal(regions, again)


def test_splits_by_held_out_regions() -> None:
    regions = pd.DataFrame({"chrom": ["c1"] * 5 + ["c2"], "center": [100, 500, 940, 1500, 2600, 500],
                            "is_peak": [True] * 6})  # fmt: skip
    split = assign_splits(regions, [], ["c2"], valid_regions=["c1:2000-3000"], test_regions=["c1:400-1_000"],
                          window=120)  # fmt: skip
    # 500 lies inside the test region with its whole window; 940's window [880, 1000) too; 2600 valid;
    # none crosses an edge here, so nothing is dropped
    assert split["split"].tolist() == ["train", "test", "test", "train", "valid", "test"]
    crossing = assign_splits(regions, [], [], test_regions=["c1:450-1000"], window=120)
    # 500's window [440, 560) crosses 450: dropped, so no training input holds held-out bases
    assert crossing["center"].tolist() == [100, 940, 1500, 2600, 500]
    assert crossing["split"].tolist() == ["train", "test", "train", "train", "train"]
    with pytest.raises(CisflowError, match="overlap"):
        assign_splits(regions, [], [], valid_regions=["c1:0-600"], test_regions=["c1:500-900"])
    with pytest.raises(CisflowError, match="not chrom:start-end"):
        assign_splits(regions, [], [], test_regions=["c1-500"])


def test_crop_and_centre() -> None:
    data = _dataset()
    out = crop(data, np.array([1, 2]), np.array([0, 4]))
    assert np.array_equal(out["codes"][0], data["codes"][1, :8]) and np.array_equal(
        out["codes"][1], data["codes"][2, 4:]
    )
    assert np.array_equal(out["counts"][1], data["counts"][2, :, :, 4:8])
    assert np.array_equal(centered(data)["control"], data["control"][:, :, 2:10])


def test_reverse_complement_swaps_strands() -> None:
    batch = {
        "codes": encode("AACG")[None],
        "counts": np.array([[[[1, 2, 3, 4], [10, 20, 30, 40]]]], dtype=np.float32),
        "control": np.array([[[1, 0, 0, 0], [0, 0, 0, 5]]], dtype=np.float32),
    }
    rc = reverse_complement_batch(batch)
    assert rc["codes"][0].tolist() == encode("CGTT").tolist()
    # the + strand of the reverse complement is the - strand read backwards, and vice versa
    assert rc["counts"][0, 0].tolist() == [[40, 30, 20, 10], [4, 3, 2, 1]]
    assert rc["control"][0].tolist() == [[5, 0, 0, 0], [0, 0, 0, 1]]


def test_batches_are_seeded_per_epoch_and_sample_background() -> None:
    data = _dataset(n=10)
    rows = epoch_rows(data["is_peak"], 0.4, np.random.default_rng(0))
    assert len(rows) == 5 + 2 and set(range(5)) <= set(rows.tolist())
    batches = ProfileBatches(data, 3, True, None, seed=4)
    batches.set_epoch(2)
    first = [b["codes"].copy() for b in batches]
    second = [b["codes"].copy() for b in batches]
    batches.set_epoch(3)
    third = [b["codes"].copy() for b in batches]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, third, strict=True))
    assert sum(len(b) for b in first) == 10


def test_subset_keeps_metadata() -> None:
    part = subset(_dataset(), np.array([0, 5]))
    assert part["codes"].shape[0] == 2 and part["center"].tolist() == [50, 550] and part["tasks"].tolist() == ["TF"]


def test_dataset_and_predictions_npz(tmp_path) -> None:
    data = _dataset()
    save_dataset(tmp_path / "d.npz", data)
    back = load_dataset(tmp_path / "d.npz")
    assert np.array_equal(back["counts"], data["counts"]) and int(back["jitter"]) == 2
    broken = dict(data, counts=data["counts"][:, :, :, :5])
    with pytest.raises(CisflowError, match="do not match the geometry"):
        save_dataset(tmp_path / "bad.npz", broken)
    assert not (tmp_path / "bad.npz").exists()
    head = {"format": np.array(PROFILE_DATASET.name), "format_version": np.array(PROFILE_DATASET.version)}
    np.savez(tmp_path / "bad.npz", **head, **broken)  # written by something else
    with pytest.raises(CisflowError, match="do not match the geometry"):
        load_dataset(tmp_path / "bad.npz")
    preds = {k: data[k] for k in ("chrom", "center", "is_peak", "tasks", "strands", "input_length", "output_length")}
    save_predictions(
        tmp_path / "p.npz", preds | {"profile_logits": np.zeros((6, 1, 2, 4)), "log_counts": np.zeros((6, 1))}
    )
    assert load_predictions(tmp_path / "p.npz")["log_counts"].shape == (6, 1)
    with pytest.raises(CisflowError, match="is a cisflow-profile-predictions file, not cisflow-profile-dataset"):
        load_dataset(tmp_path / "p.npz")
    with pytest.raises(CisflowError, match=r"log_counts \(6, 2\) does not match T = 1"):
        save_predictions(
            tmp_path / "q.npz", preds | {"profile_logits": np.zeros((6, 1, 2, 4)), "log_counts": np.zeros((6, 2))}
        )
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    with pytest.raises(CisflowError, match=r"has no format version .* rerun the profile evaluate stage"):
        load_predictions(tmp_path / "plain.npz")
