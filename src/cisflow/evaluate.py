"""Evaluate a trained model (or any scores) on a held-out dataset npz.

``evaluate_model`` loads the model, predicts the test set and hands the arrays to
``evaluate_predictions``, which computes per-task metrics (``cisflow.metrics``) and writes
``metrics.json``, ``metrics.tsv``, ``predictions.npz`` and ``curves.png`` atomically. The
array-level functions (``evaluate_predictions``, ``plot_curves``) serve baselines too;
``plot_model_comparison`` overlays the ROC and PR curves of several models' predictions per task.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cisflow import metrics
from cisflow.data import check_signal_names, load_dataset
from cisflow.errors import CisflowError
from cisflow.io import atomic_open, atomic_path, save_npz, write_json

log = logging.getLogger(__name__)

_MAX_LEGEND_TASKS = 12


def _load_model(model_path: str | Path) -> tuple[Any, dict]:
    """Load a saved model (``cisflow.models.load_model``); returns (module, meta)."""
    from cisflow.models import load_model

    return load_model(model_path)


def _predict(
    model: Any, data: dict[str, np.ndarray], batch_size: int, device: str | None, rc_average: bool = False
) -> np.ndarray:
    """Probabilities ``(N, T)`` float32 for a dataset's ``codes`` ``(N, L)`` [+ ``signal``] (``cisflow.predict``)."""
    from cisflow.predict import predict

    probs = predict(
        model,
        data["codes"],
        batch_size=batch_size,
        device=device,
        reverse_complement_average=rc_average,
        signal=data.get("signal"),
    )
    return np.asarray(probs, dtype=np.float32)


def _check_model_matches(meta: dict, data: dict[str, np.ndarray], test_npz: str | Path) -> None:
    """CisflowError if the model's tasks or input length differ from the dataset's."""
    tasks = [str(t) for t in data["tasks"]]
    if meta.get("tasks") is not None and list(meta["tasks"]) != tasks:
        raise CisflowError(f"dataset tasks {tasks} differ from the model's tasks {list(meta['tasks'])}", test_npz)
    length = meta.get("input_length")
    if length is not None and int(length) != data["codes"].shape[1]:
        raise CisflowError(f"sequences are {data['codes'].shape[1]} bp but the model expects {length} bp", test_npz)
    check_signal_names(data, meta.get("signal_names", []), test_npz, "model")


def evaluate_model(
    model_path: str | Path,
    test_npz: str | Path,
    out_dir: str | Path,
    fdrs: Sequence[float] = metrics.DEFAULT_FDRS,
    batch_size: int = 256,
    device: str | None = None,
    reverse_complement_average: bool = False,
) -> list[dict[str, Any]]:
    """Predict a test set with a saved model and write its evaluation.

    Parameters
    ----------
    model_path
        Model directory or its ``model.json`` (see ``cisflow.models.load_model``).
    test_npz
        Dataset npz (``codes`` ``(N, L)``, ``labels`` ``(N, T)``, ``tasks``, ``ids``).
    out_dir
        Receives ``metrics.json``, ``metrics.tsv``, ``predictions.npz``, ``curves.png``.
    fdrs
        FDRs for the recall-at-FDR metrics.
    batch_size, device
        Passed to ``cisflow.predict.predict``; ``device=None`` picks CUDA if present.
    reverse_complement_average
        Score each window as the mean probability of its two strands (signal reversed with it).

    Returns
    -------
    list of dict
        Per-task metrics (``cisflow.metrics.multitask_metrics``).
    """
    data = load_dataset(test_npz, "test dataset")
    model, meta = _load_model(model_path)
    _check_model_matches(meta, data, test_npz)
    probs = _predict(model, data, batch_size, device, reverse_complement_average)
    info = {
        "model_path": str(model_path),
        "test": str(test_npz),
        "model": meta,
        "reverse_complement_average": bool(reverse_complement_average),
    }
    return evaluate_predictions(data["labels"], probs, data["tasks"], data["ids"], out_dir, fdrs, info)


def evaluate_predictions(
    labels: np.ndarray,
    probs: np.ndarray,
    tasks: Sequence[str],
    ids: np.ndarray,
    out_dir: str | Path,
    fdrs: Sequence[float] = metrics.DEFAULT_FDRS,
    info: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Compute per-task metrics of ``probs`` ``(N, T)`` against ``labels`` ``(N, T)`` and write all outputs.

    ``info`` (e.g. model meta, input paths) is stored in ``metrics.json`` beside the metrics.
    Returns the per-task metric dicts.
    """
    out_dir = Path(out_dir)
    tasks = [str(t) for t in tasks]
    rows = metrics.multitask_metrics(labels, probs, tasks, fdrs)
    mean = metrics.mean_metrics(rows)
    for row in rows:
        log.info(
            "%s: auROC %.4f auPRC %.4f (%d+/%d-)",
            *(row[k] for k in ("task", "auroc", "auprc", "num_positives", "num_negatives")),
        )
    summary = {**(info or {}), "fdrs": [float(f) for f in fdrs], "tasks": rows, "mean": mean}
    write_json(out_dir / "metrics.json", _json_safe(summary))
    write_metrics_tsv(rows, out_dir / "metrics.tsv")
    save_npz(
        out_dir / "predictions.npz",
        ids=np.asarray(ids).astype(str),
        labels=np.asarray(labels, dtype=np.int8),
        probs=np.asarray(probs, dtype=np.float32),
        tasks=np.asarray(tasks, dtype=str),
    )
    plot_curves(labels, probs, tasks, out_dir / "curves.png")
    return rows


def _json_safe(obj: Any) -> Any:
    """Replace NaN / inf floats (not valid JSON) by None, recursively; numpy scalars to Python."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_metrics_tsv(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Write one row per task (columns ``task`` then every metric; NaN written as ``nan``), atomically."""
    if not rows:
        raise CisflowError("no tasks to write", path)
    columns = list(rows[0])
    with atomic_open(path) as handle:
        handle.write("\t".join(columns) + "\n")
        for row in rows:
            handle.write("\t".join(_format_cell(row[c]) for c in columns) + "\n")


def _format_cell(value: Any) -> str:
    """A TSV cell: floats to 6 significant digits, NaN as ``nan``."""
    if isinstance(value, float | np.floating):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


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
        show = i < _MAX_LEGEND_TASKS
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


def plot_model_comparison(predictions: Mapping[str, str | Path], path: str | Path) -> None:
    """ROC and PR curves of several models on the same test set, overlaid, one row per task (PNG, atomic).

    Parameters
    ----------
    predictions
        ``{model name: predictions npz}`` (:func:`evaluate_predictions` outputs on one test set; rows
        are matched by ``ids``). Tasks are the first model's; a model lacking a task is left out of
        that row. At most 12 tasks are drawn.
    path
        Output PNG. Each legend entry carries the model's auROC or auPRC; the PR panel marks the
        positive fraction (a random model's precision).
    """
    from cisflow.submissions import load_predictions, read_npz_keys

    if not predictions:
        raise CisflowError("no predictions to compare")
    first = read_npz_keys(next(iter(predictions.values())), ("ids", "labels", "tasks"), "predictions npz")
    aligned = {name: load_predictions(p, first) for name, p in predictions.items()}  # (probs, tasks)
    tasks = first["tasks"].tolist()[:_MAX_LEGEND_TASKS]
    fig = Figure(figsize=(10, 4.2 * len(tasks)))
    FigureCanvasAgg(fig)
    axes = np.atleast_2d(fig.subplots(len(tasks), 2))
    for (ax_roc, ax_pr), task in zip(axes, tasks, strict=True):
        y = first["labels"][:, first["tasks"].tolist().index(task)]
        kept = y[y != -1]
        if kept.size == 0 or kept.min() == kept.max():
            ax_roc.set_title(f"{task}: one class only, not scored")
            continue
        for name, (probs, model_tasks) in aligned.items():
            if task not in model_tasks:
                continue
            scores = probs[:, model_tasks.index(task)]
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
