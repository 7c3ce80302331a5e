"""Contribution scores as bigWig tracks for genome browsers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyBigWig

from cisflow.errors import CisflowError
from cisflow.io import atomic_path

log = logging.getLogger(__name__)


def _covered_runs(count: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` runs where ``count > 0``."""
    covered = np.concatenate([[False], count > 0, [False]])
    edges = np.flatnonzero(np.diff(covered.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _chrom_track(per_base: np.ndarray, starts: np.ndarray, size: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Mean score per base over the windows of one chromosome, clipped to ``[0, size)``.

    Returns the offset of the arrays on the chromosome, the summed scores and the window counts.
    """
    length = per_base.shape[1]
    lo, hi = max(int(starts.min()), 0), min(int(starts.max()) + length, size)
    total, count = np.zeros(hi - lo), np.zeros(hi - lo, dtype=np.int32)
    for row, start in zip(per_base, starts, strict=True):
        a, b = max(int(start), lo), min(int(start) + length, hi)
        if b > a:
            total[a - lo : b - lo] += row[a - int(start) : b - int(start)]
            count[a - lo : b - lo] += 1
    return lo, total, count


def contribution_bigwig(
    scores: np.ndarray,
    x: np.ndarray,
    chrom: np.ndarray,
    start: np.ndarray,
    sizes: Mapping[str, int],
    out_bw: str | Path,
) -> Path:
    """Write the actual-base contribution (``sum_b scores * x``) of genomic windows as a bigWig.

    Parameters
    ----------
    scores, x
        ``(N, 4, L)`` contribution scores and the one-hot inputs they explain.
    chrom, start
        ``(N,)`` chromosome and 0-based start of each window; windows may overlap (their scores are
        averaged per base) or run past a chromosome end (clipped).
    sizes
        Chromosome sizes for the bigWig header.
    """
    missing = sorted(set(map(str, chrom)) - set(sizes))
    if missing:
        raise CisflowError(f"windows on chromosomes without a size: {', '.join(missing[:3])}", out_bw)
    per_base = (np.asarray(scores, dtype=np.float64) * np.asarray(x)).sum(axis=1)
    chrom, start = np.asarray(chrom).astype(str), np.asarray(start, dtype=np.int64)
    with atomic_path(out_bw) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        bw.addHeader([(c, int(n)) for c, n in sizes.items()])
        for c in sizes:
            rows = np.flatnonzero(chrom == c)
            if not rows.size:
                continue
            lo, total, count = _chrom_track(per_base[rows], start[rows], int(sizes[c]))
            for a, b in _covered_runs(count):
                values = (total[a:b] / count[a:b]).astype(float).tolist()
                bw.addEntries(c, lo + a, values=values, span=1, step=1)
        bw.close()
    log.info("wrote contribution track %s (%d windows)", out_bw, len(chrom))
    return Path(out_bw)
