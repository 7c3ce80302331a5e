"""Tests for cisflow.bigwig: per-base signal channels read from bigWigs (known values, every bad input)."""

from __future__ import annotations

import numpy as np
import pyBigWig
import pytest

from cisflow.bigwig import read_bigwig_tracks, signal_track_names
from cisflow.errors import CisflowError


def _bigwig(path, header, entries):
    """Write a bigWig with ``header`` [(chrom, size)] and ``entries`` [(chrom, start, values)] at 1-bp steps."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(header)
    for chrom, start, values in entries:
        bw.addEntries(chrom, start, values=[float(v) for v in values], span=1, step=1)
    bw.close()
    return path


def test_values_are_log1p_with_missing_as_zero(tmp_path):
    path = _bigwig(tmp_path / "s.bw", [("chrA", 8), ("chrB", 4)], [("chrA", 2, [0, 1, 3, 7]), ("chrB", 0, [15])])
    a, b = read_bigwig_tracks(path, ["chrA", "chrB"], [8, 4])
    assert a.dtype == np.float16 and a.shape == (8,) and b.shape == (4,)
    np.testing.assert_allclose(a, np.log1p([0, 0, 0, 1, 3, 7, 0, 0]), rtol=1e-3)
    np.testing.assert_allclose(b, [np.log(16), 0, 0, 0], rtol=1e-3)
    (only_b,) = read_bigwig_tracks(path, ["chrB"], [4])  # any subset, in the order asked
    np.testing.assert_array_equal(only_b, b)


def test_bigwig_errors(tmp_path):
    path = _bigwig(tmp_path / "sig.bw", [("chrA", 1000)], [("chrA", 0, np.ones(1000))])
    with pytest.raises(CisflowError, match="not in the bigWig: chrB"):
        read_bigwig_tracks(path, ["chrA", "chrB"], [1000, 730])
    with pytest.raises(CisflowError, match="999 bp in the genome"):
        read_bigwig_tracks(path, ["chrA"], [999])
    neg = _bigwig(tmp_path / "neg.bw", [("chrA", 100)], [("chrA", 0, -np.ones(100))])
    with pytest.raises(CisflowError, match="negative values on chrA"):
        read_bigwig_tracks(neg, ["chrA"], [100])
    (tmp_path / "bad.bw").write_text("nope")
    with pytest.raises(CisflowError, match=r"bad\.bw: .*bigWig"):
        read_bigwig_tracks(tmp_path / "bad.bw", ["chrA"], [1000])
    with pytest.raises(CisflowError, match="bigWig file does not exist"):
        read_bigwig_tracks(tmp_path / "none.bw", ["chrA"], [1000])


def test_signal_track_names():
    assert signal_track_names(["a/dnase.bw", "b/atac.bw"]) == ["dnase.bw", "atac.bw"]
    assert signal_track_names([]) == []
    with pytest.raises(CisflowError, match="distinct file names"):
        signal_track_names(["a/x.bw", "b/x.bw"])
