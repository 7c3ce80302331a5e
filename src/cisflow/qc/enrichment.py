"""Enrichment QC from filtered reads: FRiP for peak sets and ENCODE's TSS enrichment.

* FRiP (fraction of reads in peaks, ENCODE): reads (tagAlign lines; for ATAC the Tn5-shifted
  reads) overlapping at least one peak by 1 bp or more / all reads (``bedtools intersect -u``).
* TSS enrichment (ENCODE ATAC-seq pipeline, ``encode_task_tss_enrich.py``): reads are centred on
  their Tn5 cut site (5' end) and counted as ``read_length``-wide coverage around every TSS within
  ± ``flank`` bp (2,000), oriented by the TSS strand and summed over TSSs; the aggregate profile
  is averaged in ``bin_size`` bins (10 bp, 400 bins), divided by the mean of the outer
  ``edge`` bp (100 bp) at both ends, and the enrichment is the profile's maximum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, merged (overlapping or touching) half-open intervals of one chromosome."""
    order = np.argsort(starts, kind="mergesort")
    s, e = np.asarray(starts, dtype=np.int64)[order], np.asarray(ends, dtype=np.int64)[order]
    if not s.size:
        return s, e
    reach = np.maximum.accumulate(e)
    new = np.r_[True, s[1:] > reach[:-1]]
    first = np.flatnonzero(new)
    return s[first], np.maximum.reduceat(e, first)


def overlaps_any(starts: np.ndarray, ends: np.ndarray, merged: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Bool ``(n,)``: does ``[starts, ends)`` overlap a merged interval by at least 1 bp?"""
    m_start, m_end = merged
    idx = np.searchsorted(m_end, np.asarray(starts, dtype=np.int64), side="right")  # first interval ending after
    inside = idx < m_start.size
    hit = np.zeros(len(idx), dtype=bool)
    hit[inside] = m_start[idx[inside]] < np.asarray(ends, dtype=np.int64)[inside]
    return hit


class FRiP:
    """Reads in peaks for several peak sets at once, fed chunks of reads.

    Parameters
    ----------
    peak_sets
        ``{name: peak table}`` with ``chrom start end`` columns.
    """

    def __init__(self, peak_sets: Mapping[str, pd.DataFrame]) -> None:
        self.merged = {
            name: {c: merge_intervals(g["start"].to_numpy(), g["end"].to_numpy()) for c, g in df.groupby("chrom")}
            for name, df in peak_sets.items()
        }
        self.total = 0
        self.in_peaks = dict.fromkeys(peak_sets, 0)

    def add(self, chrom: str, starts: np.ndarray, ends: np.ndarray) -> None:
        """Add reads ``[starts, ends)`` ``(n,)`` on ``chrom``."""
        self.total += len(starts)
        for name, by_chrom in self.merged.items():
            if chrom in by_chrom:
                self.in_peaks[name] += int(overlaps_any(starts, ends, by_chrom[chrom]).sum())

    def metrics(self) -> dict[str, float]:
        """``{name: FRiP}`` (NaN without reads)."""
        return {n: k / self.total if self.total else math.nan for n, k in self.in_peaks.items()}


def tss_table(annotation: pd.DataFrame) -> pd.DataFrame:
    """TSS positions ``chrom pos strand`` from a BED6 table: ``start`` on +, ``end - 1`` on − (genes or points)."""
    bad = ~annotation["strand"].isin(["+", "-"])
    if bad.any():
        raise CisflowError(f"TSS annotation needs strand + or - in column 6; got {annotation['strand'][bad].iloc[0]!r}")
    pos = np.where(annotation["strand"] == "+", annotation["start"], annotation["end"] - 1)
    out = pd.DataFrame({"chrom": annotation["chrom"].astype(str), "pos": pos.astype(np.int64)})
    out["strand"] = annotation["strand"].to_numpy()
    return out.drop_duplicates().sort_values(["chrom", "pos"], kind="mergesort").reset_index(drop=True)


class TSSProfile:
    """Aggregate read-coverage profile around TSSs, fed read 5' cut sites per chromosome.

    Parameters
    ----------
    tss
        :func:`tss_table` output.
    flank
        Profile half-width in bp (ENCODE: 2,000).
    read_length
        Coverage width of each read, centred on its cut site (ENCODE: the reads' length).
    """

    def __init__(self, tss: pd.DataFrame, flank: int = 2000, read_length: int = 50) -> None:
        if flank < 1 or read_length < 1:
            raise CisflowError(f"TSS flank and read length must be ≥ 1; got {flank}, {read_length}")
        self.flank, self.read_length = int(flank), int(read_length)
        self.reach = self.flank + self.read_length // 2 + 1
        self.sites = {c: (g["pos"].to_numpy(), g["strand"].to_numpy() == "-") for c, g in tss.groupby("chrom")}
        self.n_tss = len(tss)
        self.cuts = np.zeros(2 * self.reach + 1, dtype=np.int64)

    def add(self, chrom: str, cut_sites: np.ndarray) -> None:
        """Add read cut sites ``(n,)`` (0-based) on ``chrom``."""
        if chrom not in self.sites or not len(cut_sites):
            return
        pos, minus = self.sites[chrom]
        cuts = np.sort(np.asarray(cut_sites, dtype=np.int64))
        lo = np.searchsorted(cuts, pos - self.reach, side="left")
        hi = np.searchsorted(cuts, pos + self.reach, side="right")
        n = hi - lo
        which = np.repeat(np.arange(len(pos)), n)
        idx = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())
        offset = cuts[idx] - pos[which]
        offset = np.where(minus[which], -offset, offset)
        self.cuts += np.bincount(offset + self.reach, minlength=self.cuts.size)

    def profile(self) -> np.ndarray:
        """Coverage ``(2 flank + 1,)`` at offsets −flank … flank: cut-site counts convolved with a read-wide box."""
        box = np.ones(self.read_length)
        full = np.convolve(self.cuts.astype(float), box, mode="full")
        centre = self.reach + (self.read_length - 1) // 2
        return full[centre - self.flank : centre + self.flank + 1]

    def metrics(self, bin_size: int = 10, edge: int = 100) -> dict[str, float | int]:
        """``tss_enrichment`` and ``tss_count`` (NaN enrichment when the flanks are empty)."""
        return {"tss_enrichment": tss_enrichment(self.profile(), bin_size, edge), "tss_count": self.n_tss}


def normalized_profile(coverage: np.ndarray, bin_size: int = 10, edge: int = 100) -> np.ndarray:
    """Mean coverage per ``bin_size`` bin divided by the mean of the outer ``edge`` bp at both ends ``(B,)``."""
    n_bins = len(coverage) // bin_size
    if n_bins < 2 or edge < bin_size:
        raise CisflowError(f"profile of {len(coverage)} bp is too short for {bin_size} bp bins and {edge} bp edges")
    bins = np.asarray(coverage[: n_bins * bin_size], dtype=float).reshape(n_bins, bin_size).mean(axis=1)
    k = edge // bin_size
    noise = (bins[:k].sum() + bins[-k:].sum()) / (2 * k)
    return bins / noise if noise > 0 else np.full(n_bins, math.nan)


def tss_enrichment(coverage: np.ndarray, bin_size: int = 10, edge: int = 100) -> float:
    """ENCODE's TSS enrichment: the maximum of :func:`normalized_profile` (NaN if the edges are empty)."""
    prof = normalized_profile(coverage, bin_size, edge)
    return float(np.max(prof)) if np.isfinite(prof).all() else math.nan
