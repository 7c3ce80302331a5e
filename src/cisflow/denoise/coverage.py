"""Pure computations on base-resolution tracks: cut-site coverage, peak masks, windows, peak calls.

Coordinates are 0-based half-open. A track is a float32 array ``(size,)`` over one chromosome.
"""

from __future__ import annotations

import hashlib

import numpy as np

from cisflow.errors import CisflowError

#: AtacWorks' smoothing: every Tn5 cut site counts on the bases within ±100 bp of it.
DEFAULT_FLANK = 100


def extended_coverage(sites: np.ndarray, size: int, flank: int = DEFAULT_FLANK, scale: float = 1.0) -> np.ndarray:
    """Coverage of cut sites extended ±``flank`` bp: each site ``p`` adds ``scale`` to ``[p - flank, p + flank]``.

    Parameters
    ----------
    sites
        Cut-site positions ``(M,)`` (0-based), each in ``[0, size)``.
    size
        Chromosome length (bp).
    flank
        Bases counted on each side of a site (the window is ``2 * flank + 1`` bp, clipped at the
        chromosome ends).
    scale
        Weight of one site (e.g. :func:`fold_scale`).

    Returns
    -------
    numpy.ndarray
        float32 ``(size,)``.
    """
    sites = np.asarray(sites, dtype=np.int64)
    if flank < 0:
        raise CisflowError(f"flank must be >= 0, got {flank}")
    if sites.size and (sites.min() < 0 or sites.max() >= size):
        raise CisflowError(f"cut sites outside [0, {size}): {int(sites.min())}..{int(sites.max())}")
    diff = np.bincount((sites - flank).clip(0), minlength=size + 1)[: size + 1].astype(np.int64)
    diff -= np.bincount((sites + flank + 1).clip(max=size), minlength=size + 1)[: size + 1]
    return (np.cumsum(diff[:size]) * scale).astype(np.float32)


def fold_scale(n_sites: int, genome_length: int, flank: int = DEFAULT_FLANK) -> float:
    """Weight of one cut site that puts the genome-wide mean of the extended coverage at 1.

    ``genome_length / (n_sites * (2 * flank + 1))``: tracks in these units ("fold over the mean")
    compare across depths, so a model trained at one depth reads another.
    """
    if n_sites <= 0:
        raise CisflowError("no cut sites: cannot scale the coverage")
    return genome_length / (n_sites * (2 * flank + 1))


def interval_mask(starts: np.ndarray, ends: np.ndarray, size: int) -> np.ndarray:
    """Bool ``(size,)``: True on every base covered by at least one interval ``[start, end)`` (clipped)."""
    starts = np.clip(np.asarray(starts, dtype=np.int64), 0, size)
    ends = np.clip(np.asarray(ends, dtype=np.int64), 0, size)
    keep = ends > starts
    diff = np.bincount(starts[keep], minlength=size + 1) - np.bincount(ends[keep], minlength=size + 1)
    return np.cumsum(diff[:size]) > 0


def interval_scores(starts: np.ndarray, ends: np.ndarray, scores: np.ndarray, size: int) -> np.ndarray:
    """float32 ``(size,)``: the highest score of the intervals covering each base, 0 elsewhere."""
    out = np.zeros(size, dtype=np.float32)
    order = np.argsort(np.asarray(scores), kind="stable")  # lower scores first, higher ones overwrite
    for i in order:
        s, e = max(int(starts[i]), 0), min(int(ends[i]), size)
        if e > s:
            out[s:e] = np.maximum(out[s:e], scores[i])
    return out


def runs_above(values: np.ndarray, threshold: float, min_length: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of bases with ``values >= threshold`` at least ``min_length`` long.

    Returns
    -------
    tuple of numpy.ndarray
        ``starts`` and ``ends`` (int64, half-open), in order.
    """
    above = np.concatenate([[False], np.asarray(values) >= threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    keep = ends - starts >= max(int(min_length), 1)
    return starts[keep].astype(np.int64), ends[keep].astype(np.int64)


def tile_starts(size: int, interval: int, offset: int = 0) -> np.ndarray:
    """Starts of ``interval``-bp cores tiling ``[0, size)``, shifted left by ``offset`` (0 ≤ offset < interval).

    The first core starts at ``-offset`` (its part before 0 lies off the chromosome); the last one
    may run past ``size``. Every base of ``[0, size)`` is in exactly one core.
    """
    if interval < 1:
        raise CisflowError(f"interval must be >= 1 bp, got {interval}")
    return np.arange(-(offset % interval), size, interval, dtype=np.int64)


def window(track: np.ndarray, start: int, end: int) -> np.ndarray:
    """``track[start:end]`` with zeros where ``[start, end)`` runs off ``[0, len(track))``."""
    out = np.zeros(end - start, dtype=np.float32)
    s, e = max(start, 0), min(end, len(track))
    if e > s:
        out[s - start : e - start] = track[s:e]
    return out


def keep_by_name(names: list[str], fraction: float, seed: int) -> np.ndarray:
    """Bool ``(len(names),)``: a seeded random ``fraction`` of the distinct names (same name, same answer).

    Each name gets a keyed 64-bit BLAKE2b hash; it is kept when the hash falls below
    ``fraction * 2**64``. Subsamples with one seed are nested: a smaller fraction keeps a subset
    of what a larger one keeps.
    """
    if not 0.0 < fraction <= 1.0:
        raise CisflowError(f"subsample fraction must be in (0, 1], got {fraction}")
    key = int(seed).to_bytes(8, "little", signed=True)
    limit = int(fraction * 2.0**64)
    hashes = (int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8, key=key).digest(), "little") for n in names)
    return np.fromiter((h < limit for h in hashes), dtype=bool, count=len(names))
