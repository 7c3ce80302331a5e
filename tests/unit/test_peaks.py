"""Tests for cisflow.peaks: naive overlap, reproducible and relaxed sets, reference overlap, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.narrowpeak import cap_peaks, make_peaks, read_narrowpeak, write_narrowpeak
from cisflow.peaks import naive_overlap, reference_overlap, reference_recall, relaxed_peaks, reproducible_peaks

SIZES = {"chr1": 10_000, "chr2": 5_000}
GOOD = "chr1\t100\t200\tp1\t50\t.\t5.5\t10.2\t8.1\t40\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# overlaps
# ---------------------------------------------------------------------------------------------


def _hand_sets():
    """Pooled P1..P6 and two replicates; by hand, naive overlap keeps P1, P3, P6 (see comments)."""
    pooled = make_peaks(
        ["chr1", "chr1", "chr1", "chr2", "chr1", "chr1"],
        [100, 1000, 2000, 0, 5000, 3000],
        [200, 1100, 2400, 100, 5100, 3100],
        name=["P1", "P2", "P3", "P4", "P5", "P6"],
    )
    rep1 = make_peaks(
        ["chr1", "chr1", "chr1", "chr2", "chr1", "chr1"],
        # P1: 50/100 = 0.5 of pooled -> kept; P2: 49/100 of both -> not; P3: 40/40 of rep peak -> kept;
        # P4: full; P5: adjacent (no shared base); P6: 50/100 of pooled (0.25 of rep) -> kept
        [150, 1051, 2100, 0, 5100, 3050],
        [250, 1151, 2140, 100, 5200, 3250],
    )
    rep2 = make_peaks(
        ["chr1", "chr1", "chr1", "chr1", "chr1", "chr1", "chr1"],
        # P1 full, P2 full, P3: 10/400 and 10/110 fail but 2300-2340 is inside; P4 only on chr1;
        # P5 full; P6: 50/100 of both
        [100, 1000, 2390, 2300, 0, 5000, 2950],
        [200, 1100, 2500, 2340, 100, 5100, 3050],
    )
    return pooled, rep1, rep2


def test_naive_overlap_hand_counted():
    pooled, rep1, rep2 = _hand_sets()
    assert list(naive_overlap(pooled, rep1, rep2)["name"]) == ["P1", "P3", "P6"]
    assert list(naive_overlap(pooled, rep1, rep2, min_fraction=0.6)["name"]) == ["P3"]
    assert list(naive_overlap(pooled, rep1, rep2, min_fraction=0.49)["name"]) == ["P1", "P2", "P3", "P6"]


def test_reference_overlap_counts():
    peaks = make_peaks(["chr1", "chr1", "chr2"], [0, 500, 0], [100, 600, 50])
    ref = make_peaks(["chr1", "chr1", "chr1", "chr2"], [50, 90, 1000, 50], [60, 120, 1100, 70])
    result = reference_overlap(peaks, ref)
    assert result["recall"] == 0.5 and result["precision"] == 1 / 3
    assert (result["reference_hit"], result["peaks_hit"]) == (2, 1)
    assert reference_recall(peaks, ref) == 0.5


def test_reproducible_overlap_takes_largest_pair_and_pseudoreps():
    pooled, rep1, rep2 = _hand_sets()
    rep3 = pooled.copy()
    # pairs: (1,2) -> 3 peaks, (1,3) -> P1 P3 P4 P6 (P2 fails on rep1, P5 adjacent), (2,3) -> P1 P2 P3 P5 P6
    out = reproducible_peaks("overlap", [rep1, rep2, rep3], None, pooled)
    assert list(out["name"]) == ["P1", "P2", "P3", "P6", "P5"]  # coordinate order
    single = reproducible_peaks("overlap", [rep3], (rep1, rep2), pooled)
    assert list(single["name"]) == ["P1", "P3", "P6"]
    with pytest.raises(CisflowError, match="two replicates"):
        reproducible_peaks("overlap", [rep1], None, pooled)
    with pytest.raises(CisflowError, match="unknown reproducibility method"):
        reproducible_peaks("vote", [rep1, rep2], None, pooled)


def test_reproducible_idr_uses_pooled_coordinates():
    rng = np.random.default_rng(0)
    n = 300
    z = rng.standard_normal((n, 2))
    z[:150] = rng.multivariate_normal([3, 3], [[1, 0.8], [0.8, 1]], 150)
    start = np.arange(n) * 1000
    rep1 = make_peaks(["chr1"] * n, start, start + 200, pvalue=np.exp(z[:, 0]))
    rep2 = make_peaks(["chr1"] * n, start + 10, start + 210, pvalue=np.exp(z[:, 1]))
    pooled = make_peaks(["chr1"] * n, start + 5, start + 105, signal=np.ones(n))
    out = reproducible_peaks("idr", [rep1, rep2], None, pooled, threshold=0.05)
    assert 120 < len(out) < 175
    assert ((out["start"] - 5) % 1000 == 0).all() and ((out["end"] - out["start"]) == 100).all()


def test_relaxed_peaks_caps_by_pvalue():
    df = make_peaks(["chr1"] * 4, [0, 100, 200, 300], [50, 150, 250, 350], pvalue=[3.0, 9.0, 1.0, 5.0])
    assert list(relaxed_peaks(df, 2)["start"]) == [100, 300]
    assert list(cap_peaks(df, 3)["pvalue"]) == [9.0, 5.0, 3.0]


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def test_cli_overlap_and_recall(tmp_path, capsys):
    pooled, rep1, rep2 = _hand_sets()
    paths = {}
    for name, df in {"pooled": pooled, "rep1": rep1, "rep2": rep2}.items():
        paths[name] = tmp_path / f"{name}.narrowPeak"
        write_narrowpeak(df, paths[name])
    out = tmp_path / "overlap.narrowPeak"
    argv = ["peaks", "overlap", "--pooled", str(paths["pooled"]), "--rep1", str(paths["rep1"])]
    assert main([*argv, "--rep2", str(paths["rep2"]), "--out", str(out)]) == 0
    assert list(read_narrowpeak(out)["name"]) == ["P1", "P3", "P6"]
    assert main(["peaks", "recall", "--peaks", str(out), "--reference", str(paths["pooled"])]) == 0
    assert '"recall": 0.5' in capsys.readouterr().out
    bad = _write(tmp_path / "bad.narrowPeak", "chr1\t5\t1\n")
    assert main(["peaks", "recall", "--peaks", str(bad), "--reference", str(paths["pooled"])]) == 2
    err = capsys.readouterr().err
    assert "cisflow peaks: error:" in err and "bad.narrowPeak" in err and "expected 10 columns" in err
