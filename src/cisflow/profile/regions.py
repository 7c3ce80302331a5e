"""Training regions for profile models: summit-centred peaks, GC-matched background, held-out chromosomes.

A region table is a DataFrame with ``chrom``, ``center`` (0-based base at the window's middle: the input
window is ``[center − L_in // 2, center − L_in // 2 + L_in)``), ``is_peak`` and ``split``. Background
windows are drawn from a tiling of the genome away from every peak (their output windows do not meet a
peak), free of N, and matched to the peaks' GC content in bins of 0.02 as chrombpnet matches its
negatives.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.genome import N_CODE, release_pages
from cisflow.splits import parse_regions

log = logging.getLogger(__name__)

GC_BIN = 0.02
_SCAN_BLOCK = 1 << 22  # bases of a chromosome counted at a time by _gc_and_n (int32 sums: 32 MB)


def peak_regions(peaks: pd.DataFrame, sizes: Mapping[str, int], window: int) -> pd.DataFrame:
    """Summit-centred regions of narrowPeak rows whose ``window`` bp around the summit lie on the chromosome.

    Parameters
    ----------
    peaks
        narrowPeak table (``chrom start end … summit``; summit −1 → the peak's midpoint).
    sizes
        ``{chrom: length}``.
    window
        Bases needed around each summit (the input length plus twice the largest jitter).

    Returns
    -------
    pandas.DataFrame
        ``chrom``, ``center``, ``is_peak`` (True), ``name``, ``start``, ``end`` (the peak), one row per
        distinct summit, in genome order.
    """
    summit = np.where(peaks["summit"] >= 0, peaks["start"] + peaks["summit"], (peaks["start"] + peaks["end"]) // 2)
    df = pd.DataFrame(
        {"chrom": peaks["chrom"].astype(str).to_numpy(), "center": summit.astype(np.int64), "is_peak": True,
         "name": peaks["name"].astype(str).to_numpy(), "start": peaks["start"].to_numpy(),
         "end": peaks["end"].to_numpy()}
    )  # fmt: skip
    df = df.drop_duplicates(["chrom", "center"])
    size = df["chrom"].map(sizes).to_numpy()
    ok = (df["center"] - window // 2 >= 0) & (df["center"] - window // 2 + window <= size)
    if (~ok).any():
        log.info("dropped %d peaks whose %d bp window passes a chromosome end", int((~ok).sum()), window)
    order = {c: i for i, c in enumerate(sizes)}
    df = df[ok.to_numpy()].assign(_o=lambda d: d["chrom"].map(order)).sort_values(["_o", "center"])
    return df.drop(columns="_o").reset_index(drop=True)


def _gc_and_n(codes: np.ndarray, starts: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """GC fraction ``(n,)`` float64 and N count ``(n,)`` int64 of windows ``[s, s + window)`` of one chromosome
    (``starts`` ascending), from int32 cumulative sums over about :data:`_SCAN_BLOCK` bases at a time.

    Sums over a whole chromosome took 16 bytes a base (4 GB for hg38's chr1); a memory-mapped chromosome's
    pages are released after each block (:func:`cisflow.genome.release_pages`), so a scan of every
    chromosome holds one block.
    """
    gc, n = np.empty(starts.size, np.float64), np.empty(starts.size, np.int64)
    lo = 0
    while lo < starts.size:
        hi = max(int(np.searchsorted(starts, starts[lo] + _SCAN_BLOCK, side="right")), lo + 1)
        first = int(starts[lo])
        seg = np.asarray(codes[first : int(starts[hi - 1]) + window])
        gc_sum = np.concatenate([[0], np.cumsum((seg == 1) | (seg == 2), dtype=np.int32)])
        n_sum = np.concatenate([[0], np.cumsum(seg == N_CODE, dtype=np.int32)])
        rel = starts[lo:hi] - first
        gc[lo:hi] = (gc_sum[rel + window] - gc_sum[rel]) / window
        n[lo:hi] = n_sum[rel + window] - n_sum[rel]
        release_pages(codes)
        lo = hi
    return gc, n


def _far_from_peaks(centers: np.ndarray, peaks: pd.DataFrame, margin: int) -> np.ndarray:
    """Mask of candidate centres whose ``±margin`` window meets no peak interval of this chromosome."""
    if peaks.empty:
        return np.ones(len(centers), dtype=bool)
    order = np.argsort(peaks["start"].to_numpy())
    starts, ends = peaks["start"].to_numpy()[order], np.maximum.accumulate(peaks["end"].to_numpy()[order])
    lo, hi = centers - margin, centers + margin
    k = np.searchsorted(starts, hi, side="left")  # peaks starting before hi
    return (k == 0) | (ends[np.maximum(k - 1, 0)] <= lo)


def background_candidates(
    genome, peaks: pd.DataFrame, window: int, output_length: int, stride: int | None = None
) -> pd.DataFrame:
    """Tiled background windows: N-free over ``window``, their output windows away from every peak.

    Parameters
    ----------
    genome
        A :class:`cisflow.genome.Genome` (``chroms`` codes, ``sizes``).
    peaks
        The peak table (``chrom start end``) to stay away from.
    window
        Bases that must lie on the chromosome, N-free (input length plus twice the jitter).
    output_length
        The output window, kept off every peak interval.
    stride
        Tiling step (default ``output_length // 2``).

    Returns
    -------
    pandas.DataFrame
        ``chrom``, ``center``, ``gc`` (of the ``window``).
    """
    stride = stride or max(output_length // 2, 1)
    parts = []
    by_chrom = dict(tuple(peaks.groupby("chrom"))) if len(peaks) else {}
    for chrom, codes in genome.chroms.items():
        starts = np.arange(0, len(codes) - window + 1, stride, dtype=np.int64)
        if len(starts) == 0:
            continue
        gc, n = _gc_and_n(codes, starts, window)
        centers = starts + window // 2
        keep = (n == 0) & _far_from_peaks(centers, by_chrom.get(chrom, pd.DataFrame()), output_length // 2)
        parts.append(pd.DataFrame({"chrom": chrom, "center": centers[keep], "gc": gc[keep]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["chrom", "center", "gc"])


def region_gc(genome, regions: pd.DataFrame, window: int) -> np.ndarray:
    """GC fraction of each region's ``window`` bp around its centre (N bases count as not GC)."""
    codes = genome.fetch_many(regions["chrom"].to_numpy(), regions["center"].to_numpy() - window // 2, window)
    return ((codes == 1) | (codes == 2)).mean(axis=1)


def gc_matched(candidates: pd.DataFrame, target_gc: np.ndarray, n: int, seed: int) -> pd.DataFrame:
    """``n`` candidates whose GC distribution follows ``target_gc`` (bins of 0.02, nearest bin when short).

    Draws, without replacement, for each of ``n`` GC values resampled from ``target_gc``, a candidate
    from the same GC bin, or from the nearest bin that still has candidates.
    """
    if n > len(candidates):
        raise CisflowError(f"asked for {n} background regions but only {len(candidates)} candidates exist")
    rng = np.random.default_rng(seed)
    bins = np.floor(candidates["gc"].to_numpy() / GC_BIN).astype(np.int64)
    pools = {b: list(rng.permutation(np.flatnonzero(bins == b))) for b in np.unique(bins)}
    wanted = np.floor(rng.choice(np.asarray(target_gc), size=n, replace=True) / GC_BIN).astype(np.int64)
    chosen = []
    for b in wanted:
        open_bins = np.array([k for k, v in pools.items() if v])
        nearest = int(open_bins[np.argmin(np.abs(open_bins - b))])
        chosen.append(pools[nearest].pop())
    return candidates.iloc[np.sort(chosen)].reset_index(drop=True)


def assign_splits(
    regions: pd.DataFrame,
    valid_chroms: Sequence[str],
    test_chroms: Sequence[str],
    valid_regions: Sequence[str] = (),
    test_regions: Sequence[str] = (),
    window: int = 0,
) -> pd.DataFrame:
    """Add ``split``: ``valid`` / ``test`` on those chromosomes or inside those regions, ``train`` elsewhere.

    ``valid_regions`` / ``test_regions`` are ``chrom:start-end`` (0-based half-open, as the splits stage
    reads them): a region whose ``window`` bp around its centre lie inside one takes its split, and one whose
    window crosses a held-out region's edge is dropped, so no training input overlaps held-out sequence.
    """
    both = set(valid_chroms) & set(test_chroms)
    if both:
        raise CisflowError(f"chromosomes in both the valid and the test split: {', '.join(sorted(both))}")
    split = np.where(regions["chrom"].isin(list(test_chroms)), "test", "train")
    split = np.where(regions["chrom"].isin(list(valid_chroms)), "valid", split).astype(object)
    dropped = ""
    lo = regions["center"].to_numpy() - window // 2
    hi = lo + window
    for region, name in parse_regions(valid_regions, test_regions):
        on = regions["chrom"].to_numpy() == region.chrom
        inside = on & (lo >= region.start) & (hi <= region.end)
        crossing = on & ~inside & (lo < region.end) & (hi > region.start)
        split[inside], split[crossing] = name, dropped
    kept = split != dropped
    if (~kept).any():
        log.info("%d regions dropped: their windows cross a held-out region's edge", int((~kept).sum()))
    return regions.assign(split=split)[kept].reset_index(drop=True)


def make_regions(
    genome,
    peaks: pd.DataFrame,
    input_length: int,
    output_length: int,
    max_jitter: int,
    background_ratio: float,
    seed: int,
) -> pd.DataFrame:
    """Peak regions plus ``background_ratio`` × as many GC-matched background regions.

    Returns
    -------
    pandas.DataFrame
        ``chrom``, ``center``, ``is_peak``, ``gc`` (over the input window plus the jitter on both sides);
        peaks first, then background.
    """
    window = input_length + 2 * max_jitter
    peak_df = peak_regions(peaks, genome.sizes, window)
    if peak_df.empty:
        raise CisflowError("no peak lies far enough from a chromosome end for the input window")
    peak_df["gc"] = region_gc(genome, peak_df, window)
    n_bg = round(background_ratio * len(peak_df))
    if n_bg == 0:
        return peak_df[["chrom", "center", "is_peak", "gc"]]
    cands = background_candidates(genome, peaks, window, output_length)
    background = gc_matched(cands, peak_df["gc"].to_numpy(), min(n_bg, len(cands)), seed).assign(is_peak=False)
    log.info("%d peak and %d GC-matched background regions", len(peak_df), len(background))
    return pd.concat([peak_df[["chrom", "center", "is_peak", "gc"]], background], ignore_index=True)
