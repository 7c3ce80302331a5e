"""Tests for cisflow.bigwig: per-base signal channels read from bigWigs (known values, every bad input)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from cisflow import bigwig
from cisflow.bigwig import SignalWindows, read_bigwig_tracks, signal_track_names
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


def test_signal_windows_equal_the_tracks_read_in_blocks(tmp_path, monkeypatch):
    """Windows of read_bigwig_tracks' values (0 off the ends), whatever the block size; no file left behind."""
    rng = np.random.default_rng(3)
    entries = [("chrA", 1, rng.random(20) * 9), ("chrB", 3, rng.random(6) * 9)]
    path = _bigwig(tmp_path / "s.bw", [("chrA", 23), ("chrB", 11)], entries)
    a, b = read_bigwig_tracks(path, ["chrA", "chrB"], [23, 11])
    monkeypatch.setattr(bigwig, "_BLOCK", 4)
    (tmp_path / "tmp").mkdir()
    windows = SignalWindows(path, ["chrB", "chrA"], [11, 23], 6, 5, tmp_path / "tmp")
    assert not list((tmp_path / "tmp").iterdir())
    got = windows.gather(np.array([1, 0, 0, 1, 1]), np.array([-5, 8, 0, 20, 0]))
    padded = {"A": np.concatenate([np.zeros(5), a, np.zeros(5)]), "B": np.concatenate([np.zeros(5), b, np.zeros(5)])}
    brute = [padded[c][s + 5 : s + 11] for c, s in (("A", -5), ("B", 8), ("B", 0), ("A", 20), ("A", 0))]
    np.testing.assert_array_equal(got, np.array(brute, np.float16))
    assert windows.gather(np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0, 6)
    with pytest.raises(CisflowError, match="within 5 bp"):
        windows.gather(np.array([0]), np.array([-6]))
    with pytest.raises(CisflowError, match="within 5 bp"):
        windows.gather(np.array([0]), np.array([11]))


def _resident_kb() -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_signal_windows_hold_nothing_resident(tmp_path, monkeypatch):
    """A 6 Mb track (12 MB of values) read in blocks of 256 kb: building the windows and reading 1,500 from all
    over it leaves the resident set within a block's buffers of where it was (the track in memory: 12 MB)."""
    monkeypatch.setattr(bigwig, "_BLOCK", 1 << 18)
    size, step = 6_000_000, 100
    path = tmp_path / "big.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chrA", size)])
    bw.addEntries("chrA", 0, values=(np.random.default_rng(4).random(size // step) * 50).tolist(), span=step, step=step)
    bw.close()
    starts = np.arange(1500) * 4000 - 50
    out = np.zeros((1500, 300), np.float16)  # the result's own memory, touched before measuring
    before = _resident_kb()
    windows = SignalWindows(path, ["chrA"], [size], 300, 300)
    out[:] = windows.gather(np.zeros(1500, np.int64), starts)
    grown = _resident_kb() - before
    (track,) = read_bigwig_tracks(path, ["chrA"], [size])
    padded = np.concatenate([np.zeros(300, np.float16), track, np.zeros(300, np.float16)])
    np.testing.assert_array_equal(out, np.lib.stride_tricks.sliding_window_view(padded, 300)[starts + 300])
    assert grown < 6_000, f"{grown} kB more resident"
