"""Genome-wide prediction exports: one DREAM submission file per task.

Inputs are the predictions npz of :mod:`cisflow.evaluate` (``chrom bin_start`` or ``ids``, ``labels probs
tasks``) and the test dataset npz of :mod:`cisflow.data` (``chrom bin_start``, one row per held-out bin), both
read through :mod:`cisflow.artifacts`. Rows are matched by ``(chrom, bin_start)`` (or by ids,
:func:`cisflow.artifacts.load_predictions`); every test bin must have exactly one prediction. The held-out
comparison of several models is :func:`cisflow.evaluate.compare.compare_on_heldout`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cisflow.artifacts import DATASET, load_predictions, read
from cisflow.dream import write_submission
from cisflow.errors import CisflowError

log = logging.getLogger(__name__)


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


def submission_paths(tasks: Sequence[str], out_dir: str | Path, round: str | None = None) -> dict[str, Path]:
    """The usual submission file of each task in ``out_dir``: ``<task>.tab.gz`` (unsafe characters as ``_``),
    or with a challenge ``round`` (``F``, ``L`` or ``B``) the challenge's ``<round>.<TF>.<CELL>.tab.gz``
    for tasks ``<TF>.<CELL>`` (:func:`cisflow.dream_files.submission_name`)."""
    names = {t: f"{_safe_name(t)}.tab.gz" if round is None else _challenge_name(t, round) for t in tasks}
    return {task: Path(out_dir) / name for task, name in names.items()}


def export_submissions(
    predictions_npz: str | Path, test_npz: str | Path, outputs: Mapping[str, str | Path]
) -> dict[str, Path]:
    """Write one DREAM submission per predicted task (``chr start stop prob``, gzipped, no header).

    Parameters
    ----------
    predictions_npz
        :mod:`cisflow.evaluate` predictions (:data:`cisflow.artifacts.PREDICTIONS`).
    test_npz
        The test dataset npz (``chrom``, ``bin_start`` for every row, and its ``bin_size``:
        ``stop = bin_start + bin_size``).
    outputs
        ``{task: submission path}`` for exactly the predicted tasks (:func:`submission_paths` gives the
        usual or the challenge's names in a folder).

    Returns
    -------
    dict
        ``{task: path}``. Rows are in genome order (chromosomes as they first appear in the test npz,
        then by start), written atomically through :func:`cisflow.dream.write_submission`.
    """
    test = read(test_npz, DATASET, ("chrom", "bin_start"), "test dataset", optional=("ids",))
    bin_size = int(test["bin_size"])
    if bin_size < 1:
        raise CisflowError("the test set's rows are not genome bins (bin_size 0): no DREAM submission", test_npz)
    probs, tasks = load_predictions(predictions_npz, test)
    if sorted(outputs) != sorted(tasks):
        raise CisflowError(f"submission paths are for {sorted(outputs)} but the tasks are {tasks}", predictions_npz)
    chrom, start = test["chrom"], test["bin_start"].astype(np.int64)
    order = _genome_order(chrom, start)
    paths = {task: Path(outputs[task]) for task in tasks}
    for j, task in enumerate(tasks):
        write_submission(chrom[order], start[order], start[order] + bin_size, probs[order, j], paths[task])
        log.info("wrote %d bins of task %s to %s", order.size, task, paths[task])
    return paths
