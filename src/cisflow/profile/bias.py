"""ChromBPNet's bias model rules: which background regions train it, and its counts rescaled to the data.

chrombpnet trains the bias model on background regions whose total counts stay below
``bias_threshold_factor`` (0.5) × the 1 % quantile of the peaks' totals (so the bias model sees the
enzyme's preference, not TF footprints), after dropping outliers beyond the 0.9999 quantile. The
trained bias model's log counts are then shifted so that they match the observed background on average
(:func:`counts_offset`), as chrombpnet's ``adjust_bias_model_logcounts`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.profile.data import centered, region_totals, subset
from cisflow.profile.predict import predict_profile

log = logging.getLogger(__name__)

THRESHOLD_FACTOR = 0.5
PEAK_QUANTILE = 0.01
OUTLIER_QUANTILE = 0.9999


def bias_threshold(peak_totals: np.ndarray, factor: float = THRESHOLD_FACTOR, quantile: float = PEAK_QUANTILE) -> float:
    """Counts ceiling of a bias-training region: ``factor`` × the ``quantile`` of the peaks' totals.

    Raises
    ------
    CisflowError
        No peaks, or a ceiling of 0 (every background region would be excluded).
    """
    peak_totals = np.asarray(peak_totals, dtype=np.float64).ravel()
    if peak_totals.size == 0:
        raise CisflowError("no peaks to set the bias model's counts ceiling from")
    threshold = float(np.quantile(peak_totals, quantile)) * factor
    if threshold <= 0:
        raise CisflowError(
            f"the bias model's counts ceiling is 0 (the {quantile:.0%} quantile of peak counts is 0); too few reads"
        )
    return threshold


def low_count_background(
    totals: np.ndarray, is_peak: np.ndarray, threshold: float, outlier: float = OUTLIER_QUANTILE
) -> np.ndarray:
    """Mask of background regions below ``threshold`` and inside the outlier quantiles of those.

    Parameters
    ----------
    totals
        ``(N,)`` total counts per region.
    is_peak
        ``(N,)`` peak flags; peaks are never selected.
    threshold
        :func:`bias_threshold`.
    outlier
        Keep totals strictly between the ``1 − outlier`` and ``outlier`` quantiles of the selected ones.
    """
    totals, is_peak = np.asarray(totals, np.float64), np.asarray(is_peak, bool)
    low = ~is_peak & (totals < threshold)
    if not low.any():
        raise CisflowError(f"no background region has fewer than {threshold:.3g} counts to train the bias model")
    upper, lower = np.quantile(totals[low], outlier), np.quantile(totals[low], 1 - outlier)
    keep = low & (totals < upper) & (totals > lower) if upper > lower else low
    return keep


def bias_datasets(
    data: Mapping[str, Mapping[str, np.ndarray]], factor: float = THRESHOLD_FACTOR
) -> tuple[dict[str, dict[str, np.ndarray]], float]:
    """The training and validation sets of the bias model: their low-count background regions.

    The ceiling comes from the peaks of both sets (chrombpnet uses train + valid). The selected
    regions are flagged ``is_peak`` so that every one of them is used in each epoch.
    """
    peaks = np.concatenate([region_totals(d)[np.asarray(d["is_peak"], bool)].ravel() for d in data.values()])
    threshold = bias_threshold(peaks, factor)
    out = {}
    for split, d in data.items():
        rows = np.flatnonzero(low_count_background(region_totals(d).sum(axis=1), d["is_peak"], threshold))
        out[split] = subset(d, rows) | {"is_peak": np.ones(len(rows), dtype=bool)}
        log.info("bias model %s set: %d background regions below %.3g counts", split, len(rows), threshold)
    return out, threshold


@torch.no_grad()
def counts_offset(model: nn.Module, data: Mapping[str, np.ndarray], device=None) -> float:
    """Mean of ``log(1 + observed total) − predicted log counts`` over ``data`` (central windows)."""
    batch = centered(data)
    _, log_counts = predict_profile(model, batch["codes"], batch.get("control"), device=device)
    return float(np.mean(np.log1p(region_totals(data)) - log_counts))


def shift_counts_bias(model: nn.Module, delta: float) -> None:
    """Add ``delta`` to the bias of a BPNet's counts layer (its log counts all move by ``delta``)."""
    with torch.no_grad():
        model.counts.bias += delta
