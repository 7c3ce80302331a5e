"""Genome-wide prediction exports: DREAM submission files per task and held-out model comparisons.

Inputs are the predictions npz of :mod:`cisflow.evaluate` (``ids labels probs tasks``) and the test
dataset npz of :mod:`cisflow.data` (``ids chrom bin_start labels tasks``, one row per held-out bin).
Rows are matched by ``ids``; every test bin must have exactly one prediction.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.dream import bootstrap_scores, combined_rank, dream_score, write_submission
from cisflow.errors import CisflowError, require_file

log = logging.getLogger(__name__)

_PRED_KEYS = ("ids", "probs", "tasks")
_TEST_KEYS = ("ids", "chrom", "bin_start", "labels", "tasks")


def read_npz_keys(path: str | Path, keys: Sequence[str], what: str) -> dict[str, np.ndarray]:
    """Read ``keys`` of an npz (only those are decompressed); CisflowError naming the file otherwise."""
    path = require_file(path, what)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise CisflowError(f"{what} lacks {', '.join(missing)}", path)
            data = {k: npz[k] for k in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, CisflowError):
            raise
        raise CisflowError(f"cannot read {what} ({exc.__class__.__name__}: {exc})", path) from exc
    for key in ("ids", "tasks", "chrom"):
        if key in data:
            data[key] = data[key].astype(str)
    return data


def _match_rows(test_ids: np.ndarray, pred_ids: np.ndarray, pred_path: str | Path) -> np.ndarray:
    """Index into the predictions of each test id ``(N,)``; every test id predicted once, nothing extra."""
    pred_index = pd.Index(pred_ids)
    if not pred_index.is_unique:
        dup = pred_index[pred_index.duplicated()][0]
        raise CisflowError(f"duplicate prediction id {dup!r}", pred_path)
    idx = pred_index.get_indexer(test_ids)
    if (idx < 0).any():
        missing = test_ids[idx < 0]
        raise CisflowError(f"{missing.size} test bins have no prediction (first: {missing[0]})", pred_path)
    if pred_ids.size != test_ids.size:
        raise CisflowError(f"{pred_ids.size - test_ids.size} predictions are for ids not in the test set", pred_path)
    return idx


def load_predictions(path: str | Path, test: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Probabilities ``(N, T_pred)`` float64 aligned to ``test``'s ``ids`` rows, and their task names."""
    pred = read_npz_keys(path, _PRED_KEYS, "predictions npz")
    probs = np.asarray(pred["probs"], dtype=np.float64)
    if probs.shape != (pred["ids"].size, pred["tasks"].size):
        raise CisflowError(
            f"probs {probs.shape} do not match {pred['ids'].size} ids x {pred['tasks'].size} tasks", path
        )
    return probs[_match_rows(test["ids"], pred["ids"], path)], pred["tasks"].tolist()


def _genome_order(chrom: np.ndarray, bin_start: np.ndarray) -> np.ndarray:
    """Row order: chromosomes in order of first appearance, then bin start."""
    names, first = np.unique(chrom, return_index=True)
    rank = np.empty(names.size, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(names.size)
    return np.lexsort((bin_start, rank[np.searchsorted(names, chrom)]))


def _safe_name(task: str) -> str:
    """A file-name-safe version of a task name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", task) or "task"


def _challenge_name(task: str, round: str) -> str:
    """``<round>.<TF>.<CELL>.tab.gz`` of a task ``<TF>.<CELL>``; CisflowError for another task name."""
    from cisflow.dream_files import submission_name

    tf, sep, cell = task.partition(".")
    if not sep:
        raise CisflowError(f"task {task!r} is not <TF>.<CELL>; the challenge's submission names need both")
    return submission_name(tf, cell, round)


def export_submissions(
    predictions_npz: str | Path, test_npz: str | Path, out_dir: str | Path, bin_size: int, round: str | None = None
) -> dict[str, Path]:
    """Write one DREAM submission per task: ``out_dir/<task>.tab.gz`` (``chr start stop prob``, no header).

    Parameters
    ----------
    predictions_npz
        :mod:`cisflow.evaluate` predictions (``ids`` ``(N,)``, ``probs`` ``(N, T)``, ``tasks`` ``(T,)``).
    test_npz
        The test dataset npz (``ids``, ``chrom``, ``bin_start`` for every row).
    out_dir
        Output folder (created).
    bin_size
        Bin width (bp); ``stop = bin_start + bin_size``.
    round
        A challenge round (``F``, ``L`` or ``B``): name the files as the challenge did,
        ``<round>.<TF>.<CELL>.tab.gz`` for tasks ``<TF>.<CELL>``
        (:func:`cisflow.dream_files.submission_name`).

    Returns
    -------
    dict
        ``{task: path}``. Rows are in genome order (chromosomes as they first appear in the test npz,
        then by start), written atomically through :func:`cisflow.dream.write_submission`.
    """
    if bin_size < 1:
        raise CisflowError(f"bin_size must be a positive integer, got {bin_size}")
    test = read_npz_keys(test_npz, ("ids", "chrom", "bin_start"), "test dataset")
    probs, tasks = load_predictions(predictions_npz, test)
    chrom, start = test["chrom"].astype(str), test["bin_start"].astype(np.int64)
    order = _genome_order(chrom, start)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [f"{_safe_name(t)}.tab.gz" if round is None else _challenge_name(t, round) for t in tasks]
    paths = {}
    for j, task in enumerate(tasks):
        paths[task] = out_dir / names[j]
        write_submission(chrom[order], start[order], start[order] + bin_size, probs[order, j], paths[task])
        log.info("wrote %d bins of task %s to %s", order.size, task, paths[task])
    return paths


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
    from cisflow.baselines import write_comparison_tsv

    if not pred_npzs:
        raise CisflowError("no models to compare")
    if n_subsamples < 1:
        raise CisflowError(f"n_subsamples must be >= 1, got {n_subsamples}")
    test = read_npz_keys(test_npz, ("ids", "labels", "tasks"), "test dataset")
    labels = np.asarray(test["labels"])
    if labels.shape != (test["ids"].size, test["tasks"].size):
        raise CisflowError(f"labels {labels.shape} do not match ids and tasks", test_npz)
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
    write_comparison_tsv(table, out_tsv)
    log.info("compared %d models on %d tasks; wrote %s", len(preds), len(frames), out_tsv)
    return table
