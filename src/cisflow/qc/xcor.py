"""Strand cross-correlation of single-end reads: NSC, RSC and the fragment length (ENCODE / phantompeakqualtools).

The 5' ends of + and − strand reads are counted in bins of ``bin_size`` bp along each chromosome
(vectors p and m). At a shift of k bins the Pearson correlation r(k) of p_i and m_{i+k} is taken
as SPP's ``tag.scc`` does (see :func:`chromosome_correlation`), and the genome-wide profile is the
mean of the chromosomes' r(k) weighted by their read counts (SPP's ``get.binding.characteristics``).
From the profile CC over shifts 0 … ``max_shift`` bp:

* fragment length = the shift of the highest CC beyond the phantom peak (shifts > read length + 10,
  run_spp.R's default exclusion),
* NSC = CC(fragment length) / min CC,
* RSC = (CC(fragment length) − min CC) / (CC(read length) − min CC), CC(read length) being the
  phantom peak.

The sum Σ p_i m_{i+k} is computed block by block with FFT cross-correlation, so memory is bounded
by the block size, not the chromosome.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy.signal import correlate

from cisflow.errors import CisflowError

_BLOCK = 1 << 18  # bins per FFT block


def _dense(bins: np.ndarray, counts: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Counts of ``bins`` in ``[lo, hi)`` as a dense float64 vector of length ``hi - lo``."""
    a, b = np.searchsorted(bins, [lo, hi])
    out = np.zeros(hi - lo)
    out[bins[a:b] - lo] = counts[a:b]
    return out


def lagged_products(plus: np.ndarray, minus: np.ndarray, n_bins: int, max_lag: int) -> np.ndarray:
    """``Σ_i p_i m_{i+k}`` for k = 0 … ``max_lag`` ``(max_lag + 1,)`` from 5' bins of each strand.

    Parameters
    ----------
    plus, minus
        Bin indices ``(n_+,)`` and ``(n_-,)`` of + and − read 5' ends (any order, repeats = counts).
    n_bins
        Bins on the chromosome; shifts past its end contribute nothing.
    max_lag
        Largest shift in bins.
    """
    return _lagged_counts(*np.unique(plus, return_counts=True), *np.unique(minus, return_counts=True), n_bins, max_lag)


def _lagged_counts(
    pb: np.ndarray, pc: np.ndarray, mb: np.ndarray, mc: np.ndarray, n_bins: int, max_lag: int
) -> np.ndarray:
    """:func:`lagged_products` of occupied bins ``pb``/``mb`` (sorted, distinct) holding ``pc``/``mc`` reads."""
    out = np.zeros(max_lag + 1)
    if not pb.size or not mb.size:
        return out
    for lo in range(int(pb[0]) // _BLOCK * _BLOCK, int(pb[-1]) + 1, _BLOCK):
        hi = min(lo + _BLOCK, n_bins)
        p = _dense(pb, pc, lo, hi)
        if not p.any():
            continue
        m = _dense(mb, mc, lo, min(hi + max_lag, n_bins))
        m = np.pad(m, (0, hi - lo + max_lag - m.size))
        out += correlate(m, p, mode="valid", method="fft")
    return np.rint(out)


class StrandCrossCorrelation:
    """Genome-wide strand cross-correlation profile, fed the 5' ends of single-end reads per chromosome.

    Parameters
    ----------
    chrom_sizes
        ``{chrom: length}``.
    max_shift, bin_size
        Shifts 0 … ``max_shift`` bp in steps of ``bin_size`` bp (ENCODE: up to 1,500 bp in 5 bp steps).
    """

    def __init__(self, chrom_sizes: Mapping[str, int], max_shift: int = 1500, bin_size: int = 5) -> None:
        if bin_size < 1 or max_shift < bin_size:
            raise CisflowError(f"need 1 ≤ bin_size ≤ max_shift; got bin_size={bin_size}, max_shift={max_shift}")
        self.sizes, self.bin_size, self.max_lag = dict(chrom_sizes), int(bin_size), int(max_shift) // int(bin_size)
        self.weighted = np.zeros(self.max_lag + 1)
        self.weight = 0.0
        self.length_counts = np.zeros(0, np.int64)  # reads of each aligned length (first 1,000 of each add)
        self._chrom: str | None = None
        self._plus: list[np.ndarray] = []
        self._minus: list[np.ndarray] = []

    @property
    def shifts(self) -> np.ndarray:
        """Shifts in bp ``(K,)``."""
        return np.arange(self.max_lag + 1) * self.bin_size

    def add(self, chrom: str, five_prime: np.ndarray, minus: np.ndarray, read_length: np.ndarray) -> None:
        """Add reads ``(n,)`` on ``chrom``: 5' ends (0-based), strand (``minus`` bool) and aligned lengths."""
        if chrom not in self.sizes:
            raise CisflowError(f"chromosome {chrom!r} is not in the genome sizes")
        if chrom != self._chrom:
            self._close_chrom()
            self._chrom = chrom
        bins = (np.asarray(five_prime, dtype=np.int64) // self.bin_size).astype(self._bin_dtype(chrom))
        minus = np.asarray(minus, dtype=bool)
        self._plus.append(bins[~minus])
        self._minus.append(bins[minus])
        counts = np.bincount(np.asarray(read_length, dtype=np.int64)[:1000])
        if counts.size > self.length_counts.size:
            self.length_counts = np.pad(self.length_counts, (0, counts.size - self.length_counts.size))
        self.length_counts[: counts.size] += counts

    def _bin_dtype(self, chrom: str) -> type:
        """int32 bins where the chromosome's bins fit (4 bytes a read held until the chromosome closes)."""
        return np.int32 if self.sizes[chrom] // self.bin_size < 2**31 - 1 else np.int64

    def _close_chrom(self) -> None:
        if self._chrom is None:
            return
        dtype = self._bin_dtype(self._chrom)
        plus = np.concatenate([np.zeros(0, dtype), *self._plus])
        self._plus = []
        minus = np.concatenate([np.zeros(0, dtype), *self._minus])
        self._minus = []
        n_reads = plus.size + minus.size
        r = chromosome_correlation(plus, minus, self.max_lag)
        if r is not None:
            self.weighted += r * n_reads
            self.weight += n_reads

    def profile(self) -> np.ndarray:
        """Read-weighted mean correlation ``(K,)`` over the chromosomes seen (NaN if none had both strands)."""
        self._close_chrom()
        self._chrom = None
        return self.weighted / self.weight if self.weight else np.full(self.max_lag + 1, np.nan)

    def metrics(self) -> dict[str, float]:
        """``fragment_length nsc rsc read_length cc_fragment cc_read_length cc_min`` (NaN without data)."""
        return summarize_profile(self.shifts, self.profile(), median_of_counts(self.length_counts))


def median_of_counts(counts: np.ndarray) -> float:
    """The median (``np.median``'s) of values ``0 … V - 1`` held ``counts`` ``(V,)`` times; NaN if none."""
    total = int(counts.sum())
    if not total:
        return math.nan
    cum = np.cumsum(counts)
    lo, hi = np.searchsorted(cum, [(total - 1) // 2 + 1, total // 2 + 1])
    return (float(lo) + float(hi)) / 2


def chromosome_correlation(plus: np.ndarray, minus: np.ndarray, max_lag: int, outlier: float = 10.0):
    """Pearson correlation ``r(k)`` ``(max_lag + 1,)`` of one chromosome's strand bins, after SPP's ``tag.scc``.

    Bins holding ``outlier`` times the mean count of occupied bins or more are dropped first
    (SPP's ``llim = 10``), and the moments run over the span of the remaining tags (first to last
    bin): with n bins in that span, P and M tags and ``S(k) = Σ p_i m_{i+k}``,
    ``r(k) = (S(k) − P M / n) / sqrt((Σ p² − P² / n)(Σ m² − M² / n))``. This is SPP's correlation
    up to its boundary terms (of order k / n). None without both strands.
    """
    pb, pc = np.unique(plus, return_counts=True)
    mb, mc = np.unique(minus, return_counts=True)
    if not pb.size or not mb.size:
        return None
    limit = outlier * (pc.sum() + mc.sum()) / (pb.size + mb.size)
    pb, pc, mb, mc = pb[pc < limit], pc[pc < limit], mb[mc < limit], mc[mc < limit]
    if not pb.size or not mb.size:
        return None
    lo, n = min(pb[0], mb[0]), int(max(pb[-1], mb[-1]) - min(pb[0], mb[0]) + 1)
    n_p, n_m = float(pc.sum()), float(mc.sum())
    var = (float((pc.astype(float) ** 2).sum()) - n_p**2 / n) * (float((mc.astype(float) ** 2).sum()) - n_m**2 / n)
    if var <= 0:
        return None
    products = _lagged_counts(pb.astype(np.int64) - lo, pc, mb.astype(np.int64) - lo, mc, n, max_lag)
    return (products - n_p * n_m / n) / math.sqrt(var)


def summarize_profile(shifts: np.ndarray, cc: np.ndarray, read_length: float) -> dict[str, float]:
    """Fragment length, NSC and RSC from a cross-correlation profile (see the module docstring)."""
    nan = math.nan
    out = dict.fromkeys(("fragment_length", "nsc", "rsc", "cc_fragment", "cc_read_length", "cc_min"), nan)
    out["read_length"] = read_length
    beyond = shifts > (read_length + 10 if math.isfinite(read_length) else 0)
    if not np.isfinite(cc).any() or not beyond.any():
        return out
    k = int(np.flatnonzero(beyond)[np.nanargmax(cc[beyond])])
    phantom = int(np.argmin(np.abs(shifts - read_length))) if math.isfinite(read_length) else 0
    low = float(np.nanmin(cc))
    out |= {"fragment_length": float(shifts[k]), "cc_fragment": float(cc[k]), "cc_read_length": float(cc[phantom])}
    out["cc_min"] = low
    out["nsc"] = float(cc[k] / low) if low > 0 else nan
    denominator = float(cc[phantom]) - low
    out["rsc"] = (float(cc[k]) - low) / denominator if denominator > 0 else nan
    return out
