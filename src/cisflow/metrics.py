"""Classification metrics for binding / accessibility predictions, in plain numpy.

Every function takes ``labels`` (int, 1 bound, 0 unbound, -1 ambiguous) and ``scores`` (float,
higher = more likely bound) of shape ``(N,)``. Ambiguous labels (-1) are dropped first, everywhere.
Tied scores are never split: a threshold sits between distinct score values, so a block of
tied examples enters the curves as one point (see ``docs/metrics.md``).

Estimators (all explicit, no scikit-learn):

* ``auroc``: Mann–Whitney U / (P·N) with tied scores given the average rank; equals the trapezoid
  area under the ROC curve and scikit-learn's ``roc_auc_score``.
* ``auprc``: default ``"average_precision"`` (step estimator, scikit-learn's
  ``average_precision_score``); ``"trapezoid"`` (DragoNN: linear interpolation of the PR curve
  with the (recall 0, precision 1) point prepended); ``"davis_goadrich"`` (R PRROC's
  ``auc.davis.goadrich``, the ENCODE-DREAM challenge's auPRC: Davis & Goadrich's interpolation
  summed as trapezoids over unit true-positive steps).
* ``recall_at_fdr``: max recall over thresholds with ``1 − precision ≤ fdr`` in float64, the
  comparison of the challenge's ``score.py`` (so precision exactly 0.95 fails at 5 % FDR, because
  1 − 0.95 is 0.050000000000000044 in binary).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from cisflow.errors import CisflowError

log = logging.getLogger(__name__)

DEFAULT_FDRS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5)
AUPRC_METHODS = ("average_precision", "trapezoid", "davis_goadrich")


def _prepare(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate, drop ambiguous (-1) labels; return bool labels ``(M,)`` and float64 scores ``(M,)``."""
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or scores.shape != labels.shape:
        raise CisflowError(f"labels {labels.shape} and scores {scores.shape} must be 1-D of the same length")
    if labels.size and not np.isin(labels, (-1, 0, 1)).all():
        raise CisflowError(f"labels must be 1, 0 or -1 (ambiguous); got values {np.unique(labels)[:10].tolist()}")
    keep = labels != -1
    labels, scores = labels[keep] == 1, scores[keep]
    if not np.isfinite(scores).all():
        raise CisflowError(f"scores contain {int((~np.isfinite(scores)).sum())} NaN or infinite values")
    return labels, scores


def _counts(labels: np.ndarray) -> tuple[int, int]:
    """Number of positives and negatives in a bool label array."""
    n_pos = int(labels.sum())
    return n_pos, int(labels.size - n_pos)


def _both_classes(labels: np.ndarray, what: str) -> bool:
    """True if both classes are present; otherwise log why ``what`` is NaN."""
    n_pos, n_neg = _counts(labels)
    if n_pos == 0 or n_neg == 0:
        log.warning("%s is undefined with %d positives and %d negatives; returning NaN", what, n_pos, n_neg)
        return False
    return True


def _binary_clf_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct threshold, from the highest score down.

    Parameters
    ----------
    labels, scores
        Bool ``(M,)`` and float ``(M,)`` (already cleaned).

    Returns
    -------
    tps, fps, thresholds
        ``(K,)`` each, K = number of distinct scores; point k counts examples with score ≥ thresholds[k].
    """
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last_of_block = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(y, dtype=np.int64)[last_of_block]
    fps = (last_of_block + 1) - tps
    return tps, fps, s[last_of_block]


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve: false- and true-positive rates at every distinct threshold.

    Returns
    -------
    fpr, tpr, thresholds
        ``(K + 1,)`` each, thresholds decreasing; the first point is (0, 0) at threshold +inf.
        Rates are NaN when the class they divide by is absent.
    """
    y, s = _prepare(labels, scores)
    tps, fps, thr = _binary_clf_curve(y, s)
    n_pos, n_neg = _counts(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.r_[0, tps] / n_pos if n_pos else np.full(tps.size + 1, np.nan)
        fpr = np.r_[0, fps] / n_neg if n_neg else np.full(fps.size + 1, np.nan)
    return fpr.astype(np.float64), tpr.astype(np.float64), np.r_[np.inf, thr]


def precision_recall_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at every distinct threshold (predict bound when score ≥ threshold).

    Returns
    -------
    precision, recall, thresholds
        ``(K,)`` each, thresholds decreasing (so recall is non-decreasing). No artificial
        (recall 0, precision 1) point is added (scikit-learn appends one; ``auprc`` trapezoid adds it).
        Recall is NaN when there are no positives.
    """
    y, s = _prepare(labels, scores)
    tps, fps, thr = _binary_clf_curve(y, s)
    n_pos = int(y.sum())
    precision = tps / (tps + fps)
    recall = tps / n_pos if n_pos else np.full(tps.size, np.nan)
    return precision.astype(np.float64), recall.astype(np.float64), thr


def _auroc_from_curve(tps: np.ndarray, fps: np.ndarray) -> float:
    """Mann–Whitney U / (P·N) from cumulative counts per tied-score block (``_binary_clf_curve``).

    A positive in block k beats the ``N − FP_k`` negatives scored lower and ties the ``ΔFP_k``
    negatives in its own block (each tie counts 1/2): ``U = Σ_k ΔTP_k (N − FP_k + ΔFP_k / 2)``.
    This equals the rank-sum form ``R_pos − P(P+1)/2`` with average ranks for ties.
    """
    n_pos, n_neg = int(tps[-1]), int(fps[-1])
    d_tp, d_fp = np.diff(tps, prepend=0), np.diff(fps, prepend=0)
    u = np.sum(d_tp * (n_neg - fps + d_fp / 2.0))
    return float(u / (n_pos * n_neg))


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by the Mann–Whitney statistic, ties averaged.

    ``auROC = U / (P·N)``: the probability that a random positive outscores a random negative,
    a tie counting 1/2 (= the trapezoid area under the ROC curve). NaN if either class is absent.
    """
    y, s = _prepare(labels, scores)
    if not _both_classes(y, "auROC"):
        return math.nan
    tps, fps, _ = _binary_clf_curve(y, s)
    return _auroc_from_curve(tps, fps)


def _davis_goadrich_area(tps: np.ndarray, fps: np.ndarray) -> float:
    """PRROC's ``auc.davis.goadrich``: trapezoids over unit true-positive steps of the interpolated curve.

    A port of the summation in R ``PRROC::pr.curve`` (Keilwagen, Grosse & Grau 2014), the
    challenge's auPRC. Block k adds ``ΔTP_k = TP_k − TP_{k−1}`` positives and ``ΔFP_k`` negatives.

    * Block 1, and every block with ``ΔTP_k ≤ 1`` or the same precision as block k − 1: one
      trapezoid ``ΔTP_k / P · (prec_{k−1} + prec_k) / 2`` (block 1: ``ΔTP_1 / P · prec_1``).
    * Every other block: Davis & Goadrich's intermediate points at x = 0 … ΔTP_k extra true
      positives, ``prec(x) = (TP_{k−1} + x) / (TP_{k−1} + x + FP_{k−1} + x · ΔFP_k / ΔTP_k)``,
      joined by trapezoids of width 1 / P.

    Parameters
    ----------
    tps, fps
        int ``(K,)`` cumulative counts per tied-score block (``_binary_clf_curve``), P = tps[-1] > 0.
    """
    tps, fps = tps.astype(np.float64), fps.astype(np.float64)
    tp_prev, fp_prev = np.r_[0.0, tps[:-1]], np.r_[0.0, fps[:-1]]
    d_tp, d_fp = tps - tp_prev, fps - fp_prev
    prec = tps / (tps + fps)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec_prev = tp_prev / (tp_prev + fp_prev)  # NaN before block 1, as in R (0/0)
    unit = (d_tp > 1) & (prec != prec_prev)
    unit[0] = False  # R: NaN != x is NA, and which() drops it
    n_pos = tps[-1]
    plain = d_tp[~unit] / n_pos * (prec_prev[~unit] + prec[~unit]) / 2.0  # R's order of operations
    plain[0] = d_tp[0] / n_pos * prec[0]
    steps = d_tp[unit].astype(np.int64)
    block = np.repeat(np.flatnonzero(unit), steps)  # one entry per unit step
    x = np.arange(steps.sum()) - np.repeat(np.cumsum(steps) - steps, steps)  # 0 … ΔTP − 1 within a block
    slope = d_fp[block] / d_tp[block]

    def at(xs: np.ndarray) -> np.ndarray:
        return (tp_prev[block] + xs) / (tp_prev[block] + xs + fp_prev[block] + slope * xs)

    stepped = 1.0 / n_pos * (at(x) + at(x + 1.0)) / 2.0
    return math.fsum(np.r_[plain, stepped])


def _auprc_from_curve(tps: np.ndarray, fps: np.ndarray, method: str) -> float:
    """auPRC by ``method`` from cumulative counts per tied-score block; both classes present."""
    precision, recall = tps / (tps + fps), tps / tps[-1]
    if method == "average_precision":
        return float(np.sum(np.diff(recall, prepend=0.0) * precision))
    if method == "trapezoid":
        return float(np.trapezoid(np.r_[1.0, precision], np.r_[0.0, recall]))
    return _davis_goadrich_area(tps, fps)


def auprc(labels: np.ndarray, scores: np.ndarray, method: str = "average_precision") -> float:
    """Area under the precision–recall curve; NaN if either class is absent.

    Parameters
    ----------
    labels, scores
        ``(N,)``; -1 labels dropped.
    method
        ``"average_precision"`` (default): ``AP = Σ_k (R_k − R_{k−1}) P_k`` over distinct thresholds,
        R_0 = 0 (scikit-learn's ``average_precision_score``; no interpolation, so never optimistic).
        ``"trapezoid"``: trapezoid rule over (recall, precision) with (0, 1) prepended (DragoNN's
        ``auc(recall, precision)``; linear interpolation in PR space overestimates).
        ``"davis_goadrich"``: R PRROC's ``auc.davis.goadrich`` (see ``_davis_goadrich_area``).
    """
    if method not in AUPRC_METHODS:
        raise CisflowError(f"unknown auPRC method {method!r}; choose one of {', '.join(AUPRC_METHODS)}")
    y, s = _prepare(labels, scores)
    if not _both_classes(y, "auPRC"):
        return math.nan
    tps, fps, _ = _binary_clf_curve(y, s)
    return _auprc_from_curve(tps, fps, method)


def _check_fdr(fdr: float) -> None:
    """CisflowError unless 0 ≤ fdr < 1."""
    if not 0.0 <= fdr < 1.0:
        raise CisflowError(f"fdr must be in [0, 1); got {fdr}")


def _recall_at_fdr_from_curve(tps: np.ndarray, fps: np.ndarray, fdr: float) -> float:
    """Max recall over tied-score blocks with ``1 − TP/(TP+FP) ≤ fdr`` in float64 (0 if none).

    The comparison of the challenge's ``score.py`` (``1 - precision`` from scikit-learn's PR curve,
    ``x <= fdr_cutoff``), with no tolerance: 19/20 = 0.95 fails at fdr 0.05, 9/10 passes at 0.1.
    """
    ok = (1.0 - tps / (tps + fps)) <= fdr
    return float(tps[ok].max() / tps[-1]) if ok.any() else 0.0


def recall_at_fdr(labels: np.ndarray, scores: np.ndarray, fdr: float) -> float:
    """Highest recall over thresholds whose false-discovery rate ``1 − precision`` is at most ``fdr``.

    Thresholds lie only between distinct scores (a tied block is all in or all out). The FDR is
    ``1.0 - TP / (TP + FP)`` in float64 compared with ``fdr`` exactly, as the challenge's
    ``score.py``. If no threshold qualifies the answer is 0 (the empty prediction set). NaN if
    either class is absent. Returned as a fraction in [0, 1] (DragoNN reports percent).
    """
    _check_fdr(fdr)
    y, s = _prepare(labels, scores)
    if not _both_classes(y, f"recall at {fdr:g} FDR"):
        return math.nan
    tps, fps, _ = _binary_clf_curve(y, s)
    return _recall_at_fdr_from_curve(tps, fps, fdr)


def _balanced_accuracy(y: np.ndarray, s: np.ndarray, threshold: float) -> float:
    """Mean of sensitivity and specificity of ``s > threshold`` on bool labels ``y`` (both classes present)."""
    pred = s > threshold
    return float((pred[y].mean() + (~pred[~y]).mean()) / 2.0)


def balanced_accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """Mean of sensitivity and specificity when predicting bound for ``score > threshold``.

    NaN if either class is absent. A fraction in [0, 1].
    """
    y, s = _prepare(labels, scores)
    if not _both_classes(y, "balanced accuracy"):
        return math.nan
    return _balanced_accuracy(y, s, threshold)


def fdr_key(fdr: float) -> str:
    """Metric name for recall at ``fdr``: 0.05 → ``recall_at_5_fdr``."""
    return f"recall_at_{round(100 * fdr)}_fdr"


def task_metrics(
    labels: np.ndarray, scores: np.ndarray, fdrs: Sequence[float] = DEFAULT_FDRS, threshold: float = 0.5
) -> dict[str, float | int]:
    """All metrics of one task.

    Parameters
    ----------
    labels
        int ``(N,)``, 1 / 0 / -1 (ambiguous, dropped).
    scores
        float ``(N,)``, e.g. probabilities.
    fdrs
        FDRs for ``recall_at_{round(100*f)}_fdr`` keys.
    threshold
        Decision threshold for balanced accuracy.

    Returns
    -------
    dict
        ``auroc auprc balanced_accuracy recall_at_*_fdr`` (float, NaN when a class is absent),
        ``num_positives num_negatives`` (int, after dropping -1).
    """
    for fdr in fdrs:
        _check_fdr(fdr)
    y, s = _prepare(labels, scores)
    n_pos, n_neg = _counts(y)
    if n_pos == 0 or n_neg == 0:
        log.warning("only one class (%d positives, %d negatives): metrics are NaN", n_pos, n_neg)
        nan_keys = ["auroc", "auprc", "balanced_accuracy", *(fdr_key(f) for f in fdrs)]
        return {**dict.fromkeys(nan_keys, math.nan), "num_positives": n_pos, "num_negatives": n_neg}
    tps, fps, _ = _binary_clf_curve(y, s)
    out: dict[str, float | int] = {
        "auroc": _auroc_from_curve(tps, fps),
        "auprc": _auprc_from_curve(tps, fps, "average_precision"),
        "balanced_accuracy": _balanced_accuracy(y, s, threshold),
    }
    for fdr in fdrs:
        out[fdr_key(fdr)] = _recall_at_fdr_from_curve(tps, fps, fdr)
    out["num_positives"], out["num_negatives"] = n_pos, n_neg
    return out


def multitask_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    tasks: Sequence[str] | None = None,
    fdrs: Sequence[float] = DEFAULT_FDRS,
    threshold: float = 0.5,
) -> list[dict[str, float | int | str]]:
    """``task_metrics`` for each column of ``labels`` / ``scores`` ``(N, T)``; each dict starts with ``"task"``."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    if labels.ndim != 2 or labels.shape != scores.shape:
        raise CisflowError(f"labels {labels.shape} and scores {scores.shape} must be (N, T) of the same shape")
    tasks = [f"task{i}" for i in range(labels.shape[1])] if tasks is None else [str(t) for t in tasks]
    if len(tasks) != labels.shape[1]:
        raise CisflowError(f"{len(tasks)} task names for {labels.shape[1]} label columns")
    rows = []
    for i, task in enumerate(tasks):
        rows.append({"task": task, **task_metrics(labels[:, i], scores[:, i], fdrs, threshold)})
    return rows


def mean_metrics(rows: Sequence[dict]) -> dict[str, float]:
    """Mean over tasks of every numeric metric (NaN tasks ignored; NaN if all are NaN); counts are summed."""
    out: dict[str, float] = {}
    for key in rows[0] if rows else []:
        if key == "task":
            continue
        values = np.array([row[key] for row in rows], dtype=np.float64)
        if key.startswith("num_"):
            out[key] = int(values.sum())
        else:
            out[key] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
    return out
