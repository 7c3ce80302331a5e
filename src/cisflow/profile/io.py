"""Profile artifacts on disk: dataset and prediction npz files (format name, version, geometry), region BEDs.

Every npz carries ``format`` and ``version`` and the geometry it was made with (``input_length``,
``output_length``, ``jitter``), checked on reading, so later steps never re-read geometry from config.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_open, save_npz

DATASET_FORMAT = "cisflow.profile.dataset"
PREDICTIONS_FORMAT = "cisflow.profile.predictions"
VERSION = 1
_DATASET_KEYS = ("codes", "counts", "chrom", "center", "is_peak", "tasks", "strands", "input_length",
                 "output_length", "jitter")  # fmt: skip
_PREDICTION_KEYS = ("profile_logits", "log_counts", "chrom", "center", "is_peak", "tasks", "strands",
                    "input_length", "output_length")  # fmt: skip


def _save(path: str | Path, fmt: str, arrays: Mapping[str, np.ndarray]) -> None:
    save_npz(path, format=np.array(fmt), version=np.int64(VERSION), **arrays)


def _load(path: str | Path, fmt: str, keys: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    path = require_file(path, what)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise CisflowError(f"cannot read npz ({exc.__class__.__name__}: {exc})", path) from exc
    if str(data.get("format", "")) != fmt:
        raise CisflowError(f"not a {what} (format {str(data.get('format', 'missing'))!r}, expected {fmt!r})", path)
    if int(data["version"]) != VERSION:
        raise CisflowError(f"{what} version {int(data['version'])} is not {VERSION}; rerun the step", path)
    missing = [k for k in keys if k not in data]
    if missing:
        raise CisflowError(f"missing array(s) {', '.join(missing)}", path)
    return data


def save_dataset(path: str | Path, data: Mapping[str, np.ndarray]) -> None:
    """Write a profile dataset (:mod:`cisflow.profile.data`) atomically."""
    _save(path, DATASET_FORMAT, data)


def load_dataset(path: str | Path) -> dict[str, np.ndarray]:
    """Read and check a profile dataset npz (keys, format, version and shapes agree)."""
    data = _load(path, DATASET_FORMAT, _DATASET_KEYS, "profile dataset")
    n, t, s = len(data["codes"]), len(data["tasks"]), len(data["strands"])
    j, n_in, n_out = int(data["jitter"]), int(data["input_length"]), int(data["output_length"])
    if data["codes"].shape != (n, n_in + 2 * j) or data["counts"].shape != (n, t, s, n_out + 2 * j):
        raise CisflowError(
            f"codes {data['codes'].shape} / counts {data['counts'].shape} do not match the geometry "
            f"(input {n_in}, output {n_out}, jitter {j}, {t} task(s), {s} strand(s))",
            path,
        )
    if "control" in data and data["control"].shape[::2] != (n, n_in + 2 * j):
        raise CisflowError(f"control {data['control'].shape} does not match codes {data['codes'].shape}", path)
    return data


def save_predictions(path: str | Path, predictions: Mapping[str, np.ndarray]) -> None:
    """Write profile predictions (``profile_logits`` ``(N, T, S, L_out)``, ``log_counts`` ``(N, T)``, regions)."""
    _save(path, PREDICTIONS_FORMAT, predictions)


def load_predictions(path: str | Path) -> dict[str, np.ndarray]:
    """Read and check a profile predictions npz."""
    data = _load(path, PREDICTIONS_FORMAT, _PREDICTION_KEYS, "profile predictions")
    n = len(data["chrom"])
    t = len(data["tasks"])
    if data["profile_logits"].shape[:2] != (n, t) or data["log_counts"].shape != (n, t):
        raise CisflowError(
            f"profile_logits {data['profile_logits'].shape} / log_counts {data['log_counts'].shape} "
            f"do not match {n} regions and {len(data['tasks'])} task(s)",
            path,
        )
    return data


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
