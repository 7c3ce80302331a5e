"""Plots of an evaluation: ROC and precision–recall curves per task (one model or several overlaid)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cisflow import metrics
from cisflow.io import atomic_path

MAX_LEGEND_TASKS = 12


def plot_curves(labels: np.ndarray, scores: np.ndarray, tasks: Sequence[str], path: str | Path) -> None:
    """Save ROC (left) and precision–recall (right) curves, one line per task, to a PNG (atomic).

    Parameters
    ----------
    labels
        int ``(N, T)``, -1 ambiguous (dropped per task).
    scores
        float ``(N, T)``.
    tasks
        ``T`` names; tasks with a single class are listed as skipped in the legend title.
    """
    labels, scores = np.asarray(labels), np.asarray(scores)
    fig = Figure(figsize=(10, 4.6))
    FigureCanvasAgg(fig)
    ax_roc, ax_pr = fig.subplots(1, 2)
    skipped = []
    for i, task in enumerate(tasks):
        y = labels[:, i]
        kept = y[y != -1]
        if kept.size == 0 or kept.min() == kept.max():
            skipped.append(str(task))
            continue
        show = i < MAX_LEGEND_TASKS
        _plot_roc(ax_roc, y, scores[:, i], str(task) if show else None)
        _plot_pr(ax_pr, y, scores[:, i], str(task) if show else None)
    _style_axes(ax_roc, ax_pr, skipped)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")


def _plot_roc(ax: Any, labels: np.ndarray, scores: np.ndarray, name: str | None) -> None:
    """One task's ROC curve, labelled with its auROC."""
    fpr, tpr, _ = metrics.roc_curve(labels, scores)
    label = None if name is None else f"{name} ({metrics.auroc(labels, scores):.3f})"
    ax.plot(fpr, tpr, lw=1.2, label=label)


def _plot_pr(ax: Any, labels: np.ndarray, scores: np.ndarray, name: str | None) -> None:
    """One task's PR curve as a step plot (matching average precision), labelled with its auPRC."""
    precision, recall, _ = metrics.precision_recall_curve(labels, scores)
    label = None if name is None else f"{name} ({metrics.auprc(labels, scores):.3f})"
    ax.step(np.r_[0.0, recall], np.r_[precision[0], precision], where="pre", lw=1.2, label=label)


def _style_axes(ax_roc: Any, ax_pr: Any, skipped: list[str]) -> None:
    """Axis labels, limits, the chance diagonal and legends."""
    ax_roc.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax_roc.set(
        xlabel="false positive rate", ylabel="true positive rate", title="ROC (auROC)", xlim=(0, 1), ylim=(0, 1.02)
    )
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision–recall (auPRC = AP)", xlim=(0, 1), ylim=(0, 1.02))
    title = f"skipped (one class): {', '.join(skipped[:5])}" if skipped else None
    for ax in (ax_roc, ax_pr):
        if ax.get_legend_handles_labels()[0] or title:
            ax.legend(loc="lower right" if ax is ax_roc else "lower left", fontsize=7, title=title, title_fontsize=7)


def plot_overlaid_curves(
    labels: np.ndarray,
    tasks: Sequence[str],
    model_scores: Mapping[str, tuple[np.ndarray, Sequence[str]]],
    path: str | Path,
) -> None:
    """ROC and PR curves of several models on the same rows, overlaid, one row of panels per task (PNG, atomic).

    Parameters
    ----------
    labels
        int ``(N, T)`` truth of ``tasks`` (-1 ambiguous, dropped).
    tasks
        ``T`` task names; at most :data:`MAX_LEGEND_TASKS` are drawn.
    model_scores
        ``{model name: (scores (N, T_m), the model's T_m task names)}``, rows aligned with ``labels``;
        a model lacking a task is left out of that task's panels.
    path
        Output PNG. Each legend entry carries the model's auROC or auPRC; the PR panel marks the
        positive fraction (a random model's precision).
    """
    tasks = list(tasks)
    shown = tasks[:MAX_LEGEND_TASKS]
    fig = Figure(figsize=(10, 4.2 * len(shown)))
    FigureCanvasAgg(fig)
    axes = np.atleast_2d(fig.subplots(len(shown), 2))
    for (ax_roc, ax_pr), task in zip(axes, shown, strict=True):
        y = labels[:, tasks.index(task)]
        kept = y[y != -1]
        if kept.size == 0 or kept.min() == kept.max():
            ax_roc.set_title(f"{task}: one class only, not scored")
            continue
        for name, (probs, model_tasks) in model_scores.items():
            if task not in model_tasks:
                continue
            scores = probs[:, list(model_tasks).index(task)]
            _plot_roc(ax_roc, y, scores, name)
            _plot_pr(ax_pr, y, scores, name)
        prevalence = float((kept == 1).mean())
        ax_pr.axhline(prevalence, ls=":", c="grey", lw=0.8, label=f"positive fraction ({prevalence:.3f})")
        _style_axes(ax_roc, ax_pr, [])
        ax_roc.set_title(f"{task}: ROC (auROC)")
        ax_pr.set_title(f"{task}: precision–recall (auPRC)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
