"""Metrics of a denoised track against the clean one, and the equivalent sequencing depth.

Track metrics (Pearson, Spearman, MSE) compare per-base values; peak metrics (AUROC, AUPRC as
average precision) score per-base peak scores against the clean peaks' per-base labels, as
AtacWorks evaluates. Everything here is pure computation on arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from cisflow.errors import CisflowError
from cisflow.metrics import auprc, auroc

REGIONS = ("all", "in_peaks", "outside_peaks")


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two ``(N,)`` arrays (float64 sums); NaN if either is constant or empty."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise CisflowError(f"need two 1-D arrays of one length, got {x.shape} and {y.shape}")
    if x.size == 0:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / denom if denom > 0 else math.nan


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman correlation: Pearson of the ranks (ties get their average rank)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.ndim != 1:
        raise CisflowError(f"need two 1-D arrays of one length, got {x.shape} and {y.shape}")
    return pearson(rankdata(x), rankdata(y)) if x.size else math.nan


def mse(x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared difference of two ``(N,)`` arrays; NaN when empty."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise CisflowError(f"need two arrays of one shape, got {x.shape} and {y.shape}")
    return float(np.mean((x - y) ** 2)) if x.size else math.nan


def track_metrics(track: np.ndarray, clean: np.ndarray, in_peaks: np.ndarray) -> list[dict[str, float | str]]:
    """Pearson, Spearman and MSE of ``track`` against ``clean``: on all bases, in and outside the peaks.

    Parameters
    ----------
    track, clean
        Per-base values ``(N,)`` in one unit.
    in_peaks
        Bool ``(N,)``: bases in the clean peaks.

    Returns
    -------
    list of dict
        One row per region of :data:`REGIONS`: ``region``, ``n_bases``, ``pearson``, ``spearman``, ``mse``.
    """
    in_peaks = np.asarray(in_peaks, dtype=bool)
    if not (len(track) == len(clean) == len(in_peaks)):
        lengths = f"track ({len(track)}), clean ({len(clean)}) and peak mask ({len(in_peaks)})"
        raise CisflowError(f"{lengths} differ in length")
    rows = []
    for region, sel in zip(REGIONS, (slice(None), in_peaks, ~in_peaks), strict=True):
        x, y = np.asarray(track)[sel], np.asarray(clean)[sel]
        rows.append({"region": region, "n_bases": int(x.size), "pearson": pearson(x, y),
                     "spearman": spearman(x, y), "mse": mse(x, y)})  # fmt: skip
    return rows


def peak_metrics(scores: np.ndarray, in_peaks: np.ndarray) -> dict[str, float]:
    """Per-base AUROC and AUPRC (average precision) of peak ``scores`` ``(N,)`` against the clean peak mask."""
    labels = np.asarray(in_peaks, dtype=np.int8)
    return {"auroc": auroc(labels, scores), "auprc": auprc(labels, scores)}


def equivalent_depth(depths: Sequence[float], values: Sequence[float], target: float) -> float:
    """The depth at which ``values`` (e.g. MACS3's AUPRC per depth) first reaches ``target``.

    Linear interpolation between the two depths around the first crossing, the depths taken in
    increasing order. Returns ``nan`` when no depth reaches the target, and the smallest depth
    when it already does.

    Parameters
    ----------
    depths
        Depths ``(D,)`` (e.g. fractions of the full library), distinct.
    values
        The metric at each depth ``(D,)``.
    target
        The metric to reach.
    """
    d, v = np.asarray(depths, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if d.ndim != 1 or d.shape != v.shape or d.size == 0:
        raise CisflowError(f"need depths and values of one length, got {d.shape} and {v.shape}")
    if len(np.unique(d)) != len(d):
        raise CisflowError(f"depths must be distinct, got {d.tolist()}")
    order = np.argsort(d)
    d, v = d[order], v[order]
    reached = np.flatnonzero(v >= target)
    if reached.size == 0 or not math.isfinite(target):
        return math.nan
    i = int(reached[0])
    if i == 0:
        return float(d[0])
    return float(d[i - 1] + (target - v[i - 1]) * (d[i] - d[i - 1]) / (v[i] - v[i - 1]))
