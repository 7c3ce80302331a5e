"""An honest word on the held-out comparison: the best model per task, and whether a baseline beat the CNN.

The comparison table (:func:`cisflow.baselines.compare_models`: one row per model × task, columns
``model``, ``task``, ``auroc``, ``auprc``, ...) holds the CNN beside the baselines that need no deep
learning (PWM scan, k-mer regression, gapped k-mer SVM) on the same held-out bins. With a few hundred
training positives a CNN can lose to a PWM scan of the factor's known motif; the workflow then says so
in one log line (:func:`log_verdict`), marks the best model of each task in the table's ``best`` column
(:func:`mark_best`), and the motif stage repeats the warning (:func:`warn_motifs`), since motifs read
from a model that lost to a baseline deserve less trust.

Models whose name starts with ``cnn`` are CNNs (``cnn``, ``cnn_finetuned`` ...); every other model is a
baseline. Ranking is by held-out auPRC (the DREAM challenge's primary metric for imbalanced bins);
a task whose auPRC is NaN (one class only) is left out, and ties go to the CNN.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file

log = logging.getLogger(__name__)

#: Metric that ranks the models (held-out auPRC).
METRIC = "auprc"
#: Prefix of the models that are CNNs; every other model in a comparison is a baseline.
CNN_PREFIX = "cnn"


def is_cnn(model: str) -> bool:
    """Whether a comparison row's model is a CNN (its name starts with ``cnn``)."""
    return str(model).startswith(CNN_PREFIX)


def _check_table(table: pd.DataFrame, metric: str) -> None:
    """CisflowError unless ``table`` has the ``model``, ``task`` and ``metric`` columns."""
    missing = [c for c in ("model", "task", metric) if c not in table.columns]
    if missing:
        raise CisflowError(f"comparison table lacks column(s) {', '.join(missing)}")


def _ranked(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows with a finite ``metric``, ranked per task: higher first, CNNs before baselines on ties, then table order."""
    values = pd.to_numeric(table[metric], errors="coerce")
    rows = table.assign(_order=range(len(table)), _cnn=[is_cnn(m) for m in table["model"]], **{metric: values})
    rows = rows[np.isfinite(values.to_numpy(dtype=float))]
    return rows.sort_values([metric, "_cnn", "_order"], ascending=[False, False, True], kind="stable")


def mark_best(table: pd.DataFrame, metric: str = METRIC) -> pd.DataFrame:
    """``table`` with a ``best`` column: ``yes`` on the row of each task's best model by ``metric``, else ``no``.

    Parameters
    ----------
    table
        One row per model × task (``model``, ``task``, ``metric`` ...); an existing ``best`` column is replaced.
    metric
        Column to rank by (higher is better); NaN rows are never best.

    Returns
    -------
    pandas.DataFrame
        A copy, ``best`` right after ``task``.
    """
    _check_table(table, metric)
    out = table.drop(columns=["best"], errors="ignore").reset_index(drop=True)
    ranked = _ranked(out, metric)
    winners = set(ranked.groupby("task", sort=False).head(1).index)
    out.insert(out.columns.get_loc("task") + 1, "best", ["yes" if i in winners else "no" for i in out.index])
    return out


def baseline_wins(table: pd.DataFrame, metric: str = METRIC) -> list[dict[str, Any]]:
    """The tasks where a baseline's ``metric`` beats every CNN's.

    Returns
    -------
    list of dict
        Per such task (table order): ``task``, ``cnn`` (the best CNN's name), ``cnn_value``, ``baseline``
        (the best baseline's name) and ``baseline_value``. Tasks without a CNN or a baseline row are skipped.
    """
    _check_table(table, metric)
    ranked = _ranked(table.reset_index(drop=True), metric)
    wins = []
    for task in dict.fromkeys(table["task"]):
        rows = ranked[ranked["task"] == task]
        cnns, baselines = rows[rows["_cnn"]], rows[~rows["_cnn"]]
        if cnns.empty or baselines.empty:
            continue
        cnn, base = cnns.iloc[0], baselines.iloc[0]
        if base[metric] > cnn[metric]:
            wins.append({
                "task": str(task), "cnn": str(cnn["model"]), "cnn_value": float(cnn[metric]),
                "baseline": str(base["model"]), "baseline_value": float(base[metric]),
            })  # fmt: skip
    return wins


def verdict_line(wins: Sequence[dict[str, Any]], metric: str = METRIC) -> str | None:
    """One line saying which baselines beat the CNN on which tasks, or None when none did."""
    if not wins:
        return None
    name = {"auprc": "auPRC", "auroc": "auROC"}.get(metric, metric)
    parts = [f"{w['task']}: {w['baseline']} {w['baseline_value']:.3f} > {w['cnn']} {w['cnn_value']:.3f}" for w in wins]
    return f"a baseline beats the CNN on the held-out data ({name}; {'; '.join(parts)})"


def log_verdict(table: pd.DataFrame, metric: str = METRIC) -> list[dict[str, Any]]:
    """Log one warning line when a baseline beats the CNN on a task (else one info line); returns the wins."""
    wins = baseline_wins(table, metric)
    line = verdict_line(wins, metric)
    if line is None:
        log.info("the CNN is at least as good as every baseline on the held-out data (%s)", metric)
    else:
        log.warning(line)
    return wins


def _read_table(comparison_tsv: str | Path, metric: str) -> pd.DataFrame:
    """A comparison TSV (the ``compare_models`` output) with its ``model``, ``task`` and ``metric`` columns;
    CisflowError naming a missing or bad file."""
    path = require_file(comparison_tsv, "model comparison table")
    try:
        table = pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CisflowError(f"not a readable TSV ({exc.__class__.__name__})", path) from exc
    try:
        _check_table(table, metric)
    except CisflowError as exc:
        raise CisflowError(str(exc), path) from exc
    return table


def read_verdict(comparison_tsv: str | Path, metric: str = METRIC, cnn: str | None = None) -> list[dict[str, Any]]:
    """:func:`baseline_wins` of a comparison TSV; CisflowError naming a bad file.

    ``cnn``: judge only this CNN row (the other CNNs left out); default every CNN (the best one counts).
    """
    return baseline_wins(_judging(_read_table(comparison_tsv, metric), cnn), metric)


def _judging(table: pd.DataFrame, cnn: str | None) -> pd.DataFrame:
    """``table`` without the CNN rows other than ``cnn`` (all rows when None)."""
    return table if cnn is None else table[[not is_cnn(m) or m == cnn for m in table["model"]]]


#: The comparison row of the motif model (``motif_model.enabled``): the CNN the motifs are read from.
MOTIF_MODEL_ROW = "cnn_motifs"


def warn_motifs(comparison_tsv: str | Path, metric: str = METRIC) -> list[dict[str, Any]]:
    """Log one warning line when the motifs are read from a CNN that lost to a baseline (:func:`read_verdict`).

    The CNN judged is the motif model's row (:data:`MOTIF_MODEL_ROW`) when the table has one, else the best
    CNN. Returns the wins (empty when that CNN was at least as good as every baseline on every task).
    """
    table = _read_table(comparison_tsv, metric)
    judged = MOTIF_MODEL_ROW if MOTIF_MODEL_ROW in set(table["model"]) else None
    wins = baseline_wins(_judging(table, judged), metric)
    line = verdict_line(wins, metric)
    if line is not None:
        log.warning("motifs come from a CNN that lost to a baseline: %s", line)
    return wins
