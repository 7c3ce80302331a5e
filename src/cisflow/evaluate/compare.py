"""Models side by side on one test set: metric tables, overlaid ROC/PR curves, the held-out DREAM ranking.

A model here is anything :func:`cisflow.evaluate.evaluate_predictions` evaluated (the trained network
or a baseline): its ``metrics.json`` feeds the tables and its predictions npz
(:mod:`cisflow.artifacts`) the curves and the ENCODE-DREAM comparison, rows matched by their names
(:func:`cisflow.artifacts.load_predictions`: a genome bin's chromosome and start, or an id).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cisflow.artifacts import DATASET, PREDICTIONS, ROW_KEYS, load_predictions, read
from cisflow.dream import bootstrap_scores, combined_rank, dream_score
from cisflow.errors import CisflowError
from cisflow.evaluate.plots import plot_overlaid_curves
from cisflow.io import write_tsv
from cisflow.verdict import log_verdict, mark_best

log = logging.getLogger(__name__)

_COMPARE_FIRST = ("auroc", "auprc")


def compare_models(rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> pd.DataFrame:
    """One line per model × task from per-task metric dicts.

    Parameters
    ----------
    rows
        ``{model name: [metric dict per task]}``, each dict with ``task`` and metrics as returned by
        :func:`cisflow.metrics.multitask_metrics` (or the ``tasks`` list of a ``metrics.json``).

    Returns
    -------
    pandas.DataFrame
        Columns ``model task auroc auprc`` then the other metrics (recall at FDRs, counts …) in
        first-seen order; models in the given order, tasks in each model's order.
    """
    records = [{"model": str(name), **dict(r)} for name, task_rows in rows.items() for r in task_rows]
    if not records:
        raise CisflowError("no model metrics to compare")
    if any("task" not in r for r in records):
        raise CisflowError("every metric dict needs a 'task' key")
    table = pd.DataFrame.from_records(records)
    first = ["model", "task", *(c for c in _COMPARE_FIRST if c in table.columns)]
    return table[first + [c for c in table.columns if c not in first]]


def compare_metrics_files(metrics_files: Mapping[str, str | Path], out_tsv: str | Path) -> pd.DataFrame:
    """Write the one-line-per-model×task comparison of several ``metrics.json`` files.

    ``metrics_files`` maps a model name (e.g. ``cnn``, ``pwm``, ``kmer``) to the ``metrics.json``
    that :func:`cisflow.evaluate.evaluate_predictions` wrote for it; a missing file is skipped with a
    logged warning (e.g. no PWM baseline configured). The table's ``best`` column marks each task's best
    model by held-out auPRC, and one warning line says when a baseline beats the CNN
    (:mod:`cisflow.verdict`).
    """
    rows = {}
    for name, path in metrics_files.items():
        if not Path(path).is_file():
            log.warning("no metrics for %s (%s); left out of the comparison", name, path)
            continue
        with open(path, encoding="utf-8") as handle:
            rows[name] = json.load(handle)["tasks"]
    table = mark_best(compare_models(rows))
    write_tsv(table, out_tsv)
    log_verdict(table)
    return table


def plot_model_comparison(predictions: Mapping[str, str | Path], path: str | Path) -> None:
    """ROC and PR curves of several models on the same test set, overlaid, one row per task (PNG, atomic).

    Parameters
    ----------
    predictions
        ``{model name: predictions npz}`` (:func:`cisflow.evaluate.evaluate_predictions` outputs on one
        test set; rows are matched by their names, :data:`cisflow.artifacts.ROW_KEYS`). Tasks are the first
        model's; a model lacking a task is left out of that row. At most 12 tasks are drawn
        (:func:`cisflow.evaluate.plots.plot_overlaid_curves`).
    path
        Output PNG.
    """
    if not predictions:
        raise CisflowError("no predictions to compare")
    first = read(
        next(iter(predictions.values())), PREDICTIONS, ("labels", "tasks"), "predictions npz", optional=ROW_KEYS
    )
    aligned = {name: load_predictions(p, first) for name, p in predictions.items()}  # (probs, tasks)
    plot_overlaid_curves(first["labels"], first["tasks"].tolist(), aligned, path)


def _common_tasks(test_tasks: list[str], model_tasks: Mapping[str, list[str]]) -> list[str]:
    """Test tasks that every model predicts (others are skipped with a warning); CisflowError if none."""
    common = [t for t in test_tasks if all(t in ts for ts in model_tasks.values())]
    skipped = [t for t in test_tasks if t not in common]
    if skipped:
        log.warning("tasks not predicted by every model are skipped: %s", ", ".join(skipped))
    if not common:
        raise CisflowError(f"no test task ({', '.join(test_tasks)}) is predicted by every model")
    return common


def compare_on_heldout(
    pred_npzs: Mapping[str, str | Path],
    test_npz: str | Path,
    out_tsv: str | Path,
    n_subsamples: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Score several models' held-out predictions as ENCODE-DREAM did and rank them per task.

    Parameters
    ----------
    pred_npzs
        ``{model name: predictions npz}`` (all on the same test set).
    test_npz
        The test dataset npz (its ``labels`` are the truth; -1 ambiguous is dropped).
    out_tsv
        Table written atomically (TSV with a header).
    n_subsamples, seed
        The challenge's stratified subsamples for the combined rank (the same ones for every model).

    Returns
    -------
    pandas.DataFrame
        One row per task and model, best model first within a task: ``task model order final_rank
        mean_rank`` (:func:`cisflow.dream.combined_rank`) then the full-set :func:`cisflow.dream.dream_score`
        keys (``auroc auprc auprc_trapezoid recall_at_*_fdr num_positives num_negatives``).
    """
    if not pred_npzs:
        raise CisflowError("no models to compare")
    if n_subsamples < 1:
        raise CisflowError(f"n_subsamples must be >= 1, got {n_subsamples}")
    test = read(test_npz, DATASET, ("labels", "tasks"), "test dataset", optional=ROW_KEYS)
    labels = test["labels"]
    preds = {str(m): load_predictions(p, test) for m, p in pred_npzs.items()}
    frames = []
    for task in _common_tasks(test["tasks"].tolist(), {m: ts for m, (_, ts) in preds.items()}):
        y = labels[:, test["tasks"].tolist().index(task)]
        probs = {m: p[:, ts.index(task)] for m, (p, ts) in preds.items()}
        subs = {m: bootstrap_scores(y, s, n_subsamples, 0.9, seed) for m, s in probs.items()}
        ranks = combined_rank(subs)[["order", "model", "final_rank", "mean_rank"]]
        full = pd.DataFrame([{"model": m, **dream_score(y, s)} for m, s in probs.items()])
        frames.append(ranks.merge(full, on="model", how="left").assign(task=task))
    table = pd.concat(frames, ignore_index=True)
    table = table[["task", "model", *[c for c in table.columns if c not in ("task", "model")]]]
    write_tsv(table, out_tsv)
    log.info("compared %d models on %d tasks; wrote %s", len(preds), len(frames), out_tsv)
    return table
