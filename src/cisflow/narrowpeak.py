"""narrowPeak tables: read, write, sort, cap and overlap (the primitives under ``peaks`` and ``idr``).

Peaks are held as a :class:`pandas.DataFrame` with the ten narrowPeak columns
(``chrom start end name score strand signal pvalue qvalue summit``), 0-based half-open, with
``summit`` an offset from ``start`` (-1 when the caller gave none).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.genome import Genome, check_same_chroms
from cisflow.io import atomic_open, read_text_lines

log = logging.getLogger(__name__)

COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal", "pvalue", "qvalue", "summit"]
_INT_COLUMNS = ["start", "end", "score", "summit"]
_FLOAT_COLUMNS = ["signal", "pvalue", "qvalue"]
PeaksLike = pd.DataFrame | str | Path

# ----------------------------------------------------------------------------------------------
# narrowPeak IO
# ----------------------------------------------------------------------------------------------


def empty_peaks() -> pd.DataFrame:
    """An empty peak table with the narrowPeak columns and dtypes."""
    return make_peaks([], [], [])


def make_peaks(
    chrom: Sequence[str],
    start: Sequence[int],
    end: Sequence[int],
    *,
    signal: Sequence[float] | None = None,
    pvalue: Sequence[float] | None = None,
    summit: Sequence[int] | None = None,
    name: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Build a peak table from coordinates; missing columns get narrowPeak defaults.

    Parameters
    ----------
    chrom, start, end
        Coordinates, 0-based half-open, length ``n`` each.
    signal, pvalue
        Signal value and -log10 p-value ``(n,)``; default -1 (unknown).
    summit
        Summit offsets from ``start`` ``(n,)``; default the midpoint.
    name
        Peak names; default ``peak_1 ... peak_n``.
    """
    start_a, end_a = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
    n = len(start_a)
    df = pd.DataFrame(
        {
            "chrom": pd.Series(list(chrom), dtype=object),
            "start": start_a,
            "end": end_a,
            "name": list(name) if name is not None else [f"peak_{i + 1}" for i in range(n)],
            "score": np.zeros(n, dtype=np.int64),
            "strand": ["."] * n,
            "signal": np.full(n, -1.0) if signal is None else np.asarray(signal, dtype=float),
            "pvalue": np.full(n, -1.0) if pvalue is None else np.asarray(pvalue, dtype=float),
            "qvalue": np.full(n, -1.0),
            "summit": (end_a - start_a) // 2 if summit is None else np.asarray(summit, dtype=np.int64),
        }
    )
    return df[COLUMNS]


def _split_records(path: Path) -> tuple[list[int], list[list[str]]]:
    """Data lines of a BED-like file as (line numbers, fields), skipping track/browser/# lines."""
    numbers, rows = [], []
    for i, line in enumerate(read_text_lines(path), 1):
        if not line.strip() or line.startswith(("track", "browser", "#")):
            continue
        numbers.append(i)
        rows.append(line.split("\t") if "\t" in line else line.split())
    return numbers, rows


def _numeric(df: pd.DataFrame, column: str, numbers: np.ndarray, path: Path, integer: bool) -> None:
    """Convert ``df[column]`` in place to int64/float64, or raise naming the first bad line."""
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna().to_numpy().copy()
    if integer and not bad.all():
        bad |= values.fillna(0).to_numpy() % 1 != 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "an integer" if integer else "a number"
        raise CisflowError(f"line {numbers[i]}: {column} must be {kind}, got {df[column].iloc[i]!r}", path)
    df[column] = values.astype(np.int64 if integer else np.float64)


def _fail_first(mask: np.ndarray, numbers: np.ndarray, message: str, path: Path) -> None:
    """Raise CisflowError naming the first line where ``mask`` is true."""
    if mask.any():
        raise CisflowError(f"line {numbers[int(np.flatnonzero(mask)[0])]}: {message}", path)


def sizes_of(genome_sizes: Mapping[str, int] | Genome) -> tuple[Mapping[str, int], str]:
    """Chromosome sizes and a label for messages from a sizes mapping or a Genome."""
    if isinstance(genome_sizes, Genome):
        return genome_sizes.sizes, genome_sizes.path
    return genome_sizes, "chromosome sizes"


def _validate(df: pd.DataFrame, numbers: np.ndarray, path: Path, genome_sizes: Mapping[str, int] | Genome | None):
    """Check coordinates, summits, strands and (optionally) chromosomes against the genome."""
    start, end, summit = df["start"].to_numpy(), df["end"].to_numpy(), df["summit"].to_numpy()
    _fail_first(start < 0, numbers, "start must be >= 0", path)
    _fail_first(start >= end, numbers, "start must be < end", path)
    _fail_first((summit != -1) & ((summit < 0) | (summit >= end - start)), numbers, "summit outside the peak", path)
    _fail_first(~df["strand"].isin(["+", "-", "."]).to_numpy(), numbers, "strand must be +, - or .", path)
    if genome_sizes is None:
        return
    sizes, label = sizes_of(genome_sizes)
    check_same_chroms(df["chrom"], sizes, path, label)
    limit = df["chrom"].map(sizes).to_numpy(dtype=np.int64)
    _fail_first(end > limit, numbers, "end beyond the chromosome size", path)


def read_narrowpeak(
    path: str | Path, genome_sizes: Mapping[str, int] | Genome | None = None, *, allow_empty: bool = False
) -> pd.DataFrame:
    """Read and validate a narrowPeak file (plain or gzipped).

    Parameters
    ----------
    path
        The narrowPeak file; ``track``, ``browser`` and ``#`` lines are skipped.
    genome_sizes
        ``{chrom: length}`` or a :class:`~cisflow.genome.Genome`; when given, chromosome names must
        be known and ``end`` must not pass the chromosome's end.
    allow_empty
        Return an empty table for a file without peaks instead of raising.

    Returns
    -------
    pandas.DataFrame
        ``(n_peaks, 10)`` with :data:`COLUMNS`, in file order.
    """
    path = require_file(path, "narrowPeak file")
    numbers, rows = _split_records(path)
    if not rows:
        if allow_empty:
            return empty_peaks()
        raise CisflowError("no peaks in the narrowPeak file", path)
    lines = np.asarray(numbers)
    widths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    bad = widths != 10
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CisflowError(f"line {numbers[i]}: expected 10 columns (narrowPeak), found {widths[i]}", path)
    df = pd.DataFrame(rows, columns=COLUMNS)
    for column in _INT_COLUMNS:
        _numeric(df, column, lines, path, integer=column != "score")
    for column in _FLOAT_COLUMNS:
        _numeric(df, column, lines, path, integer=False)
    df["score"] = df["score"].round().astype(np.int64)
    _validate(df, lines, path, genome_sizes)
    return df


def sort_peaks(df: pd.DataFrame) -> pd.DataFrame:
    """Peaks sorted by chromosome name, start, end (like ``sort -k1,1 -k2,2n -k3,3n``)."""
    return df.sort_values(["chrom", "start", "end"], kind="mergesort").reset_index(drop=True)


def write_narrowpeak(df: pd.DataFrame, path: str | Path) -> None:
    """Write peaks as narrowPeak (gzip if ``path`` ends in .gz), sorted by coordinates, atomically.

    Parameters
    ----------
    df
        A peak table with at least :data:`COLUMNS`; other columns are not written.
    path
        Output file.
    """
    out = sort_peaks(df[COLUMNS])
    with atomic_open(path) as handle:
        out.to_csv(handle, sep="\t", header=False, index=False, float_format="%.5f")
    log.info("wrote %d peaks to %s", len(out), path)


def as_peaks(peaks: PeaksLike, genome_sizes: Mapping[str, int] | Genome | None = None) -> pd.DataFrame:
    """A peak table from a DataFrame (returned as is) or a narrowPeak path (read, may be empty)."""
    if isinstance(peaks, pd.DataFrame):
        return peaks
    return read_narrowpeak(peaks, genome_sizes, allow_empty=True)


def cap_peaks(df: pd.DataFrame, max_peaks: int) -> pd.DataFrame:
    """The top ``max_peaks`` peaks by -log10 p-value (ties: signal, then file order)."""
    ordered = df.sort_values(["pvalue", "signal"], ascending=False, kind="mergesort")
    return ordered.head(max_peaks).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# interval overlaps
# ----------------------------------------------------------------------------------------------


def overlap_pairs(a: pd.DataFrame, b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs of overlapping intervals between two tables (like ``bedtools intersect -wo``).

    Intervals overlap when they share at least one base (half-open coordinates).

    Returns
    -------
    ia, ib, overlap
        Row positions into ``a`` and ``b`` and the overlap in bp, each ``(n_pairs,)`` int64.
    """
    out_a, out_b = [], []
    b_by_chrom = {c: np.flatnonzero(m) for c, m in _chrom_masks(b).items()}
    for chrom, a_idx in ((c, np.flatnonzero(m)) for c, m in _chrom_masks(a).items()):
        if chrom not in b_by_chrom:
            continue
        ia, ib = _pairs_one_chrom(a, a_idx, b, b_by_chrom[chrom])
        out_a.append(ia)
        out_b.append(ib)
    if not out_a:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    ia, ib = np.concatenate(out_a), np.concatenate(out_b)
    a_s, a_e = a["start"].to_numpy(np.int64), a["end"].to_numpy(np.int64)
    b_s, b_e = b["start"].to_numpy(np.int64), b["end"].to_numpy(np.int64)
    overlap = np.minimum(a_e[ia], b_e[ib]) - np.maximum(a_s[ia], b_s[ib])
    return ia, ib, overlap


def _chrom_masks(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean row masks per chromosome."""
    chrom = df["chrom"].to_numpy()
    return {c: chrom == c for c in pd.unique(chrom)}


def _pairs_one_chrom(a: pd.DataFrame, a_idx: np.ndarray, b: pd.DataFrame, b_idx: np.ndarray):
    """Overlapping (a row, b row) pairs on one chromosome; candidates found by a sorted sweep."""
    a_s, a_e = a["start"].to_numpy(np.int64)[a_idx], a["end"].to_numpy(np.int64)[a_idx]
    order = np.argsort(b["start"].to_numpy(np.int64)[b_idx], kind="mergesort")
    b_idx = b_idx[order]
    b_s, b_e = b["start"].to_numpy(np.int64)[b_idx], b["end"].to_numpy(np.int64)[b_idx]
    longest = int((b_e - b_s).max())
    lo = np.searchsorted(b_s, a_s - longest, side="left")
    hi = np.searchsorted(b_s, a_e, side="left")
    counts = hi - lo
    rep_a = np.repeat(np.arange(len(a_idx)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cand_b = np.repeat(lo, counts) + offsets
    keep = b_e[cand_b] > a_s[rep_a]
    return a_idx[rep_a[keep]], b_idx[cand_b[keep]]
