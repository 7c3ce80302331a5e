"""Tests for cisflow.narrowpeak: narrowPeak IO, peak tables and interval overlaps."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cisflow.errors import CisflowError
from cisflow.narrowpeak import COLUMNS, make_peaks, overlap_pairs, read_narrowpeak, write_narrowpeak

SIZES = {"chr1": 10_000, "chr2": 5_000}
GOOD = "chr1\t100\t200\tp1\t50\t.\t5.5\t10.2\t8.1\t40\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# narrowPeak IO
# ---------------------------------------------------------------------------------------------


def test_read_skips_headers_and_parses_types(tmp_path):
    path = _write(tmp_path / "a.narrowPeak", 'track type=narrowPeak name="x"\nbrowser position chr1\n# c\n' + GOOD)
    df = read_narrowpeak(path, SIZES)
    assert list(df.columns) == COLUMNS
    row = df.iloc[0]
    assert (row.chrom, row.start, row.end, row.summit, row.pvalue) == ("chr1", 100, 200, 40, 10.2)
    assert df["start"].dtype == np.int64 and df["signal"].dtype == np.float64


def test_write_is_sorted_and_roundtrips_gzip(tmp_path):
    df = make_peaks(["chr2", "chr1", "chr1"], [50, 300, 10], [90, 400, 20], signal=[1.0, 2.0, 3.0])
    out = tmp_path / "x.narrowPeak.gz"
    write_narrowpeak(df, out)
    back = read_narrowpeak(out, SIZES)
    assert list(zip(back.chrom, back.start, strict=True)) == [("chr1", 10), ("chr1", 300), ("chr2", 50)]
    assert gzip.open(out, "rt").readline().count("\t") == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chr1\t100\t200\tp\t0\t.\t1\t1\t1\n", "line 1: expected 10 columns"),
        ("chr1\tabc\t200\tp\t0\t.\t1\t1\t1\t5\n", "line 1: start must be an integer"),
        ("chr1\t1.5\t200\tp\t0\t.\t1\t1\t1\t5\n", "start must be an integer"),
        ("chr1\t100\t200\tp\t0\t.\tx\t1\t1\t5\n", "signal must be a number"),
        (GOOD + "chr1\t-5\t200\tp\t0\t.\t1\t1\t1\t5\n", "line 2: start must be >= 0"),
        ("chr1\t200\t200\tp\t0\t.\t1\t1\t1\t0\n", "start must be < end"),
        ("chr1\t9000\t10001\tp\t0\t.\t1\t1\t1\t5\n", "end beyond the chromosome size"),
        ("1\t100\t200\tp\t0\t.\t1\t1\t1\t5\n", "chromosome names not in the genome"),
        ("chr1\t100\t200\tp\t0\t.\t1\t1\t1\t100\n", "summit outside the peak"),
        ("chr1\t100\t200\tp\t0\t*\t1\t1\t1\t10\n", "strand must be"),
    ],
)
def test_read_rejects_bad_lines(tmp_path, text, message):
    path = _write(tmp_path / "bad.narrowPeak", text)
    with pytest.raises(CisflowError, match=message) as info:
        read_narrowpeak(path, SIZES)
    assert "bad.narrowPeak" in str(info.value)


def test_empty_file_is_an_error_unless_allowed(tmp_path):
    path = _write(tmp_path / "empty.narrowPeak", "track type=narrowPeak\n")
    with pytest.raises(CisflowError, match="no peaks"):
        read_narrowpeak(path)
    assert read_narrowpeak(path, allow_empty=True).empty
    with pytest.raises(CisflowError, match="does not exist"):
        read_narrowpeak(tmp_path / "nope.narrowPeak")


def test_summit_minus_one_is_allowed(tmp_path):
    path = _write(tmp_path / "a.narrowPeak", "chr1\t100\t200\tp\t0\t.\t1\t1\t1\t-1\n")
    assert read_narrowpeak(path, SIZES)["summit"].item() == -1


# ---------------------------------------------------------------------------------------------
# overlaps
# ---------------------------------------------------------------------------------------------


def test_overlap_pairs_matches_brute_force():
    rng = np.random.default_rng(0)
    starts_a, starts_b = rng.integers(0, 5000, 80), rng.integers(0, 5000, 120)
    a = make_peaks(rng.choice(["c1", "c2"], 80), starts_a, starts_a + rng.integers(1, 300, 80))
    b = make_peaks(rng.choice(["c1", "c3", "c2"], 120), starts_b, starts_b + rng.integers(1, 600, 120))
    ia, ib, bp = overlap_pairs(a, b)
    got = {(int(i), int(j), int(o)) for i, j, o in zip(ia, ib, bp, strict=True)}
    want = set()
    for i, ra in a.iterrows():
        for j, rb in b.iterrows():
            o = min(ra.end, rb.end) - max(ra.start, rb.start)
            if ra.chrom == rb.chrom and o > 0:
                want.add((i, j, o))
    assert got == want


def test_peak_table_helpers_make_valid_frames():
    df = make_peaks(["chr1"], [10], [30])
    assert df["summit"].item() == 10 and df["name"].item() == "peak_1"
    assert isinstance(df, pd.DataFrame) and list(df.columns) == COLUMNS
