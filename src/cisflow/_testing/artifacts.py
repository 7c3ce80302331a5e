"""Small artifact files for tests: datasets written through :mod:`cisflow.artifacts` with default geometry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cisflow.artifacts import DATASET, write


def write_dataset(
    path: str | Path,
    codes: np.ndarray,
    labels: np.ndarray,
    tasks: Sequence[str],
    ids: Sequence[str] | None = None,
    **extra: np.ndarray,
) -> Path:
    """Write a :data:`~cisflow.artifacts.DATASET` npz; ``ids`` default to row numbers, ``bin_size`` and
    ``stride`` to 0 (not genome bins) and ``input_length`` to the codes' width unless ``extra`` gives them."""
    codes = np.asarray(codes)
    arrays = {
        "codes": codes,
        "labels": labels,
        "tasks": np.asarray(tasks, dtype=str),
        "ids": np.arange(len(codes)).astype(str) if ids is None else np.asarray(ids, dtype=str),
        "bin_size": 0,
        "stride": 0,
        "input_length": codes.shape[1],
    }
    write(path, DATASET, arrays | extra)
    return Path(path)
