"""Binned labels (:class:`Labels`) and the interval → bin-range arithmetic they are computed with.

Bins are implicit per chromosome: bin ``i`` is ``[i * stride, i * stride + bin_size)``; a chromosome of ``size`` bp
has ``n_bins = (size - bin_size) // stride + 1`` bins, or none when ``size < bin_size``. For a peak and an overlap
threshold ``t`` the bins overlapping it by at least ``t`` bp are a contiguous index range, accumulated in a
difference array, so every count here costs ``O(n_peaks + n_bins)`` per chromosome (no per-base array).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cisflow.errors import CisflowError
from cisflow.genome import N_CODE

_N_CHUNK = 1 << 24


@dataclass
class Labels:
    """Binned labels of a genome for several tasks.

    Attributes
    ----------
    tasks
        Task names ``(T,)``, the label columns.
    bin_size, stride
        Bin width and step in bp; bin ``i`` is ``[i * stride, i * stride + bin_size)``.
    chrom_sizes
        ``{chrom: length}`` in genome order; every chromosome has an entry in ``labels`` and ``keep``.
    labels
        ``{chrom: int8 (n_bins, T)}`` with 1 bound, 0 unbound, -1 ambiguous.
    keep
        ``{chrom: bool (n_bins,)}``; False for bins excluded (blacklist, too many N).
    mode
        The labelling rule used (one of :data:`cisflow.labels.MODES`).
    """

    tasks: list[str]
    bin_size: int
    stride: int
    chrom_sizes: dict[str, int]
    labels: dict[str, np.ndarray]
    keep: dict[str, np.ndarray]
    mode: str = "dream"
    params: dict = field(default_factory=dict)

    @property
    def chroms(self) -> list[str]:
        """Chromosome names in genome order."""
        return list(self.chrom_sizes)

    def bin_starts(self, chrom: str) -> np.ndarray:
        """Bin start coordinates ``(n_bins,)`` int64 of ``chrom``."""
        return np.arange(self.labels[chrom].shape[0], dtype=np.int64) * self.stride

    @property
    def n_bins_total(self) -> int:
        """Number of bins over all chromosomes."""
        return sum(a.shape[0] for a in self.labels.values())


def n_bins(size: int, bin_size: int, stride: int) -> int:
    """Number of bins ``[i * stride, i * stride + bin_size)`` inside a chromosome of ``size`` bp (0 if too short)."""
    return 0 if size < bin_size else (size - bin_size) // stride + 1


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge overlapping or book-ended half-open intervals (like ``bedtools merge``).

    Parameters
    ----------
    starts, ends
        ``(n,)`` int coordinates of one chromosome, any order.

    Returns
    -------
    tuple of numpy.ndarray
        Sorted, disjoint, non-touching ``(m,)`` starts and ends (int64).
    """
    order = np.argsort(starts, kind="stable")
    s, e = np.asarray(starts, np.int64)[order], np.asarray(ends, np.int64)[order]
    if s.size == 0:
        return s, e
    run_end = np.maximum.accumulate(e)
    new = np.ones(s.size, dtype=bool)
    new[1:] = s[1:] > run_end[:-1]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, s.size - 1]
    return s[first], run_end[last]


def _bin_range(lo_pos: np.ndarray, hi_pos: np.ndarray, stride: int, nb: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin index ranges ``[ceil(lo_pos / stride), floor(hi_pos / stride)]`` clipped to ``[0, nb - 1]``."""
    lo = np.maximum(-(-lo_pos // stride), 0)
    hi = np.minimum(hi_pos // stride, nb - 1)
    return lo, hi


def _range_counts(lo: np.ndarray, hi: np.ndarray, nb: int) -> np.ndarray:
    """Per-bin number of ranges ``[lo, hi]`` covering it ``(nb,)`` int32, via a difference array."""
    ok = lo <= hi
    lo, hi = lo[ok], hi[ok]
    diff = np.bincount(lo, minlength=nb + 1)[: nb + 1] - np.bincount(hi + 1, minlength=nb + 1)[: nb + 1]
    return np.cumsum(diff[:nb], dtype=np.int32)


def overlap_counts(
    starts: np.ndarray, ends: np.ndarray, thresholds: np.ndarray | int, bin_size: int, stride: int, nb: int
) -> np.ndarray:
    """Per bin, how many intervals overlap it by at least ``thresholds`` bp.

    Parameters
    ----------
    starts, ends
        ``(n,)`` intervals, 0-based half-open.
    thresholds
        Minimum overlap in bp, scalar or ``(n,)``; values are clipped to ``[1, min(bin_size, length)]``.
    bin_size, stride, nb
        The bin grid and its number of bins.

    Returns
    -------
    numpy.ndarray
        ``(nb,)`` int32 counts.
    """
    starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
    t = np.broadcast_to(np.asarray(thresholds, np.int64), starts.shape)
    t = np.clip(t, 1, np.minimum(bin_size, ends - starts))
    lo, hi = _bin_range(starts - bin_size + t, ends - t, stride, nb)
    return _range_counts(lo, hi, nb)


def summit_counts(summits: np.ndarray, flank: int, bin_size: int, stride: int, nb: int) -> np.ndarray:
    """Per bin, how many summits lie with ``summit ± flank`` inside it ``(nb,)`` int32.

    A bin ``[b, b + bin_size)`` holds ``summit ± flank`` when ``b <= summit - flank`` and
    ``summit + flank <= b + bin_size - 1``.
    """
    s = np.asarray(summits, np.int64)
    lo, hi = _bin_range(s + flank - bin_size + 1, s - flank, stride, nb)
    return _range_counts(lo, hi, nb)


def covered_bases(starts: np.ndarray, ends: np.ndarray, bin_size: int, stride: int, nb: int) -> np.ndarray:
    """Bases of each bin covered by the union of intervals ``(nb,)`` int64.

    The merged intervals' coverage is accumulated per block of ``g = gcd(bin_size, stride)`` bp (full
    blocks through a difference array, the partial first and last block of each interval through
    ``np.bincount`` weights); a bin's coverage is a difference of the blocks' prefix sum.
    """
    if nb == 0:
        return np.zeros(0, np.int64)
    g = math.gcd(bin_size, stride)
    n_blocks = ((nb - 1) * stride + bin_size) // g
    s, e = merge_intervals(starts, ends)
    keep = s < n_blocks * g
    s, e = s[keep], np.minimum(e[keep], n_blocks * g)
    first, last = s // g, (e - 1) // g
    same = first == last
    part = np.zeros(n_blocks, np.float64)
    part += np.bincount(first[same], weights=(e - s)[same], minlength=n_blocks)[:n_blocks]
    f, la, sd, ed = first[~same], last[~same], s[~same], e[~same]
    part += np.bincount(f, weights=(f + 1) * g - sd, minlength=n_blocks)[:n_blocks]
    part += np.bincount(la, weights=ed - la * g, minlength=n_blocks)[:n_blocks]
    inner = f + 1 <= la - 1
    full = _range_counts(f[inner] + 1, la[inner] - 1, n_blocks).astype(np.int64) * g
    prefix = np.r_[0, np.cumsum(part.astype(np.int64) + full)]
    lo = np.arange(nb, dtype=np.int64) * (stride // g)
    return prefix[lo + bin_size // g] - prefix[lo]


def n_counts_per_bin(codes: np.ndarray, bin_size: int, stride: int) -> np.ndarray:
    """Number of N (code 4) bases in each bin of one chromosome ``(n_bins,)`` int64.

    N bases are counted per block of ``g = gcd(bin_size, stride)`` bp (in chunks, so no per-base
    integer array is made), then summed over each bin's blocks with a prefix sum.
    """
    nb = n_bins(codes.shape[0], bin_size, stride)
    if nb == 0:
        return np.zeros(0, np.int64)
    g = math.gcd(bin_size, stride)
    n_blocks = ((nb - 1) * stride + bin_size) // g
    chunk = max(_N_CHUNK // g, 1) * g
    blocks = np.empty(n_blocks, np.int64)
    for lo in range(0, n_blocks * g, chunk):
        hi = min(lo + chunk, n_blocks * g)
        blocks[lo // g : hi // g] = (codes[lo:hi] == N_CODE).reshape(-1, g).sum(axis=1)
    prefix = np.r_[0, np.cumsum(blocks)]
    first = np.arange(nb, dtype=np.int64) * (stride // g)
    return prefix[first + bin_size // g] - prefix[first]


def check_input_length(input_length: int, bin_size: int) -> None:
    """CisflowError unless windows of ``input_length`` bp can hold the ``bin_size``-bp bins they are centred on."""
    if input_length < bin_size:
        raise CisflowError(
            f"input_length (splits.input_length, --input-length) {input_length} is smaller than the labels' "
            f"bin_size (labels.bin_size, --bin-size) {bin_size}: a window would not hold the bin it is labelled "
            "for; use an input length of at least the bin size"
        )
