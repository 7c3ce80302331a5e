"""The npz artifacts that stages hand to each other: one writer and one checked reader each.

``predictions``
    ``ids`` str ``(N,)``, ``labels`` int8 ``(N, T)`` (1 / 0 / -1), ``probs`` float32 ``(N, T)``,
    ``tasks`` str ``(T,)``; written by :func:`cisflow.evaluate.evaluate_predictions` for a model or a
    baseline, read by the DREAM exports and the model comparisons (rows matched by ``ids``).
``datasets``
    One npz per split (see :mod:`cisflow.data` for the arrays); written by :func:`write_datasets`.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.io import save_npz

log = logging.getLogger(__name__)

PREDICTION_KEYS = ("ids", "probs", "tasks")


def read_npz_keys(path: str | Path, keys: Sequence[str], what: str) -> dict[str, np.ndarray]:
    """Read ``keys`` of an npz (only those are decompressed); CisflowError naming the file otherwise.

    ``ids``, ``tasks`` and ``chrom`` come back as str arrays.
    """
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


# --------------------------------------------------------------------------- predictions


def write_predictions(
    path: str | Path, ids: np.ndarray, labels: np.ndarray, probs: np.ndarray, tasks: Sequence[str]
) -> None:
    """Write a predictions npz: ``ids`` ``(N,)``, ``labels`` int8 and ``probs`` float32 ``(N, T)``, ``tasks``."""
    save_npz(
        path,
        ids=np.asarray(ids).astype(str),
        labels=np.asarray(labels, dtype=np.int8),
        probs=np.asarray(probs, dtype=np.float32),
        tasks=np.asarray(tasks, dtype=str),
    )


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
    pred = read_npz_keys(path, PREDICTION_KEYS, "predictions npz")
    probs = np.asarray(pred["probs"], dtype=np.float64)
    if probs.shape != (pred["ids"].size, pred["tasks"].size):
        raise CisflowError(
            f"probs {probs.shape} do not match {pred['ids'].size} ids x {pred['tasks'].size} tasks", path
        )
    return probs[_match_rows(test["ids"], pred["ids"], path)], pred["tasks"].tolist()


# --------------------------------------------------------------------------- datasets


def write_datasets(datasets: Mapping[str, Mapping[str, np.ndarray]], paths: Mapping[str, str | Path]) -> None:
    """Write each split's dataset to its npz path (``{split: path}``), atomically."""
    missing = [s for s in paths if s not in datasets]
    if missing:
        raise CisflowError(f"no dataset for split(s) {', '.join(missing)}; have {', '.join(datasets)}")
    for split, path in paths.items():
        save_npz(path, **datasets[split])
        log.info("wrote %s (%d windows) to %s", split, len(datasets[split]["ids"]), path)
