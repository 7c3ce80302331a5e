"""Profile artifacts on disk: dataset and prediction npz files, region BEDs, tables.

The npz files are declared in :mod:`cisflow.artifacts` (:data:`~cisflow.artifacts.PROFILE_DATASET`,
:data:`~cisflow.artifacts.PROFILE_PREDICTIONS`) and read through its one checked reader: each carries its
format, version and the geometry it was made with (``input_length``, ``output_length``, ``jitter``), so later
steps never re-read geometry from config.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.artifacts import PROFILE_DATASET, PROFILE_PREDICTIONS, read, write
from cisflow.errors import require_file
from cisflow.io import atomic_open


def save_dataset(path: str | Path, data: Mapping[str, np.ndarray]) -> None:
    """Write a profile dataset (:mod:`cisflow.profile.data`, :data:`cisflow.artifacts.PROFILE_DATASET`) atomically."""
    write(path, PROFILE_DATASET, data)


def load_dataset(path: str | Path) -> dict[str, np.ndarray]:
    """Read and check a profile dataset npz (keys, dtypes, format, version and the geometry agree)."""
    return read(path, PROFILE_DATASET, what="profile dataset")


def save_predictions(path: str | Path, predictions: Mapping[str, np.ndarray]) -> None:
    """Write profile predictions (``profile_logits`` ``(N, T, S, L_out)``, ``log_counts`` ``(N, T)``, regions)."""
    write(path, PROFILE_PREDICTIONS, predictions)


def load_predictions(path: str | Path) -> dict[str, np.ndarray]:
    """Read and check a profile predictions npz (:data:`cisflow.artifacts.PROFILE_PREDICTIONS`)."""
    return read(path, PROFILE_PREDICTIONS, what="profile predictions")


def write_regions_bed(path: str | Path, regions: pd.DataFrame, width: int) -> None:
    """Regions as BED ``chrom start end name score strand`` (``width`` bp around each centre, name = kind:split)."""
    start = regions["center"].to_numpy() - width // 2
    kind = np.where(regions["is_peak"], "peak", "background")
    split = regions["split"].to_numpy() if "split" in regions else np.full(len(regions), ".")
    with atomic_open(path) as handle:
        for c, s, k, sp in zip(regions["chrom"], start, kind, split, strict=True):
            handle.write(f"{c}\t{s}\t{s + width}\t{k}:{sp}\t0\t.\n")


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """A table as TSV (6 significant digits), atomically."""
    with atomic_open(path) as handle:
        df.to_csv(handle, sep="\t", index=False, float_format="%.6g")


def read_history(path: str | Path) -> pd.DataFrame:
    """The per-epoch rows written by profile training (``history.tsv``)."""
    return pd.read_csv(require_file(path, "training history"), sep="\t")
