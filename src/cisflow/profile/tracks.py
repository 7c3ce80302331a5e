"""Base-resolution count tracks from filtered reads, and count windows read back from them.

A tagAlign (the reads stage's output: one line per read end, ``chrom start end name score strand``)
gives one 5′ end per line: ``start`` on +, ``end − 1`` on −. ChIP tracks keep the strands apart (two
bigWigs, counts per base); ATAC / DNase tracks sum both strands' cut sites (one bigWig) after moving each
5′ end by a read-orientation shift, measured from the enzyme's own motif by default
(:func:`cisflow.profile.shift.detect_shift`). Memory grows with the reads, not with the genome.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cisflow.errors import CisflowError, require_file
from cisflow.genome import check_same_chroms
from cisflow.io import atomic_path
from cisflow.reads import _signal_chunks

log = logging.getLogger(__name__)

ASSAYS = ("chip", "atac", "dnase")
#: Track strands per assay: ChIP keeps + and − apart, ATAC / DNase sum them into one track (".").
TRACK_STRANDS = {"chip": ("+", "-"), "atac": (".",), "dnase": (".",)}


def read_five_prime_ends(tagalign: str | Path, sizes: Mapping[str, int]) -> dict[str, dict[str, np.ndarray]]:
    """5′ ends of every line of a tagAlign: ``{"+": {chrom: positions}, "-": {chrom: positions}}``.

    Positions are 0-based int64 in file order: ``start`` for + lines, ``end − 1`` for − lines.

    Raises
    ------
    CisflowError
        A file without a strand column, or chromosomes the genome lacks (naming both sides).
    """
    path = require_file(tagalign, "tagAlign file")
    parts: dict[str, dict[str, list[np.ndarray]]] = {"+": {}, "-": {}}
    for df in _signal_chunks(path):
        if 5 not in df.columns:
            raise CisflowError("no strand column (6th); base-resolution tracks need a tagAlign, not fragments", path)
        check_same_chroms(df[0].unique(), sizes, path, "<genome sizes>")
        minus = df[5].to_numpy() == "-"
        pos = np.where(minus, df[2].to_numpy() - 1, df[1].to_numpy()).astype(np.int64)
        chrom = df[0].to_numpy()
        for strand, mask in (("+", ~minus), ("-", minus)):
            for c in np.unique(chrom[mask]):
                parts[strand].setdefault(str(c), []).append(pos[mask & (chrom == c)])
    return {s: {c: np.concatenate(v) for c, v in by.items()} for s, by in parts.items()}


def shift_ends(
    ends: Mapping[str, Mapping[str, np.ndarray]], plus: int, minus: int, sizes: Mapping[str, int]
) -> dict[str, dict[str, np.ndarray]]:
    """Move 5′ ends by a read-orientation shift: + ends by ``+plus`` bp, − ends by ``−minus`` bp.

    Ends moved off their chromosome are dropped.
    """
    out: dict[str, dict[str, np.ndarray]] = {}
    for strand, by_chrom in ends.items():
        delta = plus if strand == "+" else -minus
        out[strand] = {}
        for chrom, pos in by_chrom.items():
            moved = np.asarray(pos, dtype=np.int64) + delta
            out[strand][chrom] = moved[(moved >= 0) & (moved < sizes[chrom])]
    return out


def track_positions(ends: Mapping[str, Mapping[str, np.ndarray]], assay: str) -> dict[str, dict[str, np.ndarray]]:
    """Positions per track strand: ChIP ``{"+": …, "-": …}``; ATAC / DNase ``{".": both strands}``."""
    if assay not in ASSAYS:
        raise CisflowError(f"unknown assay {assay!r}; valid assays: {', '.join(ASSAYS)}")
    if assay == "chip":
        return {s: dict(ends.get(s, {})) for s in ("+", "-")}
    merged: dict[str, list[np.ndarray]] = {}
    for by_chrom in ends.values():
        for chrom, pos in by_chrom.items():
            merged.setdefault(chrom, []).append(np.asarray(pos, dtype=np.int64))
    return {".": {c: np.concatenate(v) for c, v in merged.items()}}


def write_count_bigwig(path: str | Path, sizes: Mapping[str, int], positions: Mapping[str, np.ndarray]) -> int:
    """Write counts per base (how many positions fall on each base) as a bigWig, atomically.

    Only bases with a count are written (1-bp entries). Returns the number of positions counted.
    """
    import pyBigWig

    total = 0
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(n)) for c, n in sizes.items()])
            for chrom in sizes:
                pos = positions.get(chrom)
                if pos is None or len(pos) == 0:
                    continue
                where, counts = np.unique(np.asarray(pos, dtype=np.int64), return_counts=True)
                bw.addEntries(chrom, where.tolist(), values=counts.astype(float).tolist(), span=1)
                total += int(counts.sum())
        finally:
            bw.close()
    return total


def read_windows(bigwigs: Sequence[str | Path], chroms: Sequence[str], starts: np.ndarray, length: int) -> np.ndarray:
    """Counts per base of each bigWig in windows ``[start, start + length)``: float32 ``(N, len(bigwigs), length)``.

    Missing values (and bases past a chromosome end) read as 0.
    """
    import pyBigWig

    out = np.zeros((len(starts), len(bigwigs), length), dtype=np.float32)
    for j, path in enumerate(bigwigs):
        path = require_file(path, "bigWig file")
        bw = pyBigWig.open(str(path))
        if bw is None or not bw.isBigWig():
            raise CisflowError("not a bigWig file", path)
        try:
            have = bw.chroms()
            check_same_chroms(set(map(str, chroms)), have, path, "<regions>")
            for i, (chrom, start) in enumerate(zip(chroms, np.asarray(starts), strict=True)):
                lo, hi = max(int(start), 0), min(int(start) + length, have[chrom])
                if hi > lo:
                    vals = bw.values(chrom, lo, hi, numpy=True)
                    out[i, j, lo - int(start) : hi - int(start)] = np.nan_to_num(vals, nan=0.0)
        finally:
            bw.close()
    return out
