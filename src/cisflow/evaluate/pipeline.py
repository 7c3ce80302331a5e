"""Evaluate a trained model (or any scores) on a held-out dataset npz: the ``evaluate`` stage entry.

``evaluate_model`` loads the model, predicts the test set and hands the arrays to
``evaluate_predictions``, which computes per-task metrics (``cisflow.metrics``) and writes the
metrics JSON and TSV, the predictions npz and the curves PNG to the paths it is given, atomically. The
array-level ``evaluate_predictions`` serves baselines too.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cisflow import artifacts, metrics
from cisflow.artifacts import check_signal_names, read_dataset, write_predictions
from cisflow.cellsignal import SignalSpec, cell_type_passes, tracks_by_cell_type
from cisflow.errors import CisflowError
from cisflow.evaluate.plots import plot_curves
from cisflow.io import atomic_open, format_cell, write_json
from cisflow.params import StageParams, log_params
from cisflow.splits import cell_type_of, map_outputs, task_sources

log = logging.getLogger(__name__)


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


def _predict_windows(
    model: Any, data: dict[str, np.ndarray], genome: str | Path, opts: Mapping[str, Any], probs_path: Path
) -> np.ndarray:
    """Probabilities ``(N, T)`` of a coordinate dataset's tasks, its windows made batch by batch from ``genome``,
    each batch's model outputs mapped to the tasks (``opts["sources"]``, :func:`cisflow.splits.task_sources`) and
    written to a memory-mapped ``probs_path`` as they come (nothing genome-wide held in memory). With signal
    bigWigs per cell type, one pass per cell type: its tasks' columns from windows carrying its tracks
    (:func:`cisflow.cellsignal.cell_type_passes`)."""
    from cisflow.genome import Genome
    from cisflow.loader import dataset_windows
    from cisflow.predict import predict_batches

    genome_, tasks = Genome.open(genome), [str(t) for t in data["tasks"]]
    probs = np.lib.format.open_memmap(probs_path, mode="w+", dtype=np.float32, shape=data["labels"].shape)
    for tracks, cols in cell_type_passes(tasks, opts["signal_bigwigs"]):
        windows = dataset_windows(data, genome_, None, opts["batch_size"], tracks)
        sources, at = [opts["sources"][j] for j in cols], 0
        for part in predict_batches(model, windows, opts["device"], opts["reverse_complement_average"]):
            probs[at : at + len(part), cols] = map_outputs(part, sources)
            at += len(part)
        log.info("scored %d windows made from %s (tasks %s)", at, genome, ", ".join(tasks[j] for j in cols))
    return probs


def _check_model_matches(meta: dict, data: dict[str, np.ndarray], test_npz: str | Path) -> list[list[int]]:
    """The model outputs predicting each dataset task (:func:`cisflow.splits.task_sources`: a held-out cell type's
    task by its factor's trained outputs); CisflowError if a task has none or the input length or signal differ."""
    tasks = [str(t) for t in data["tasks"]]
    model_tasks = tasks if meta.get("tasks") is None else [str(t) for t in meta["tasks"]]
    try:
        sources = task_sources(tasks, model_tasks)
    except CisflowError as exc:
        message = f"dataset tasks {tasks} differ from the model's tasks {model_tasks}: {exc}"
        raise CisflowError(message, test_npz) from exc
    length, have = meta.get("input_length"), int(data["input_length"])
    if length is not None and int(length) != have:
        raise CisflowError(f"sequences are {have} bp but the model expects {length} bp", test_npz)
    check_signal_names(data, meta.get("signal_names", []), test_npz, "model")
    return sources


#: The files of one evaluation (``outputs`` keys) and their names in an output folder (:func:`evaluation_outputs`).
EVALUATION_FILES = {
    "metrics": "metrics.json",
    "table": "metrics.tsv",
    "predictions": "predictions.npz",
    "curves": "curves.png",
}


def check_both_classes(data: Mapping[str, np.ndarray], test_npz: str | Path) -> None:
    """Warn for each task with no bound or no unbound bin in the test set (its auROC and auPRC are NaN); when no
    task has both, nothing could be scored: a CisflowError naming ``test_npz``, not a table of NaN."""
    labels, tasks = np.asarray(data["labels"]), np.asarray(data["tasks"]).tolist()
    missing = {}
    for j, task in enumerate(tasks):
        absent = [what for value, what in ((1, "bound"), (0, "unbound")) if not (labels[:, j] == value).any()]
        if absent:
            missing[task] = " or ".join(absent)
            log.warning("%s: task %s has no %s bin: its auROC and auPRC are undefined (NaN)", test_npz, task,
                        missing[task])  # fmt: skip
    if tasks and len(missing) == len(tasks):
        shown = ", ".join(f"{t} (no {w} bin)" for t, w in missing.items())
        raise CisflowError(f"no task can be scored on this test set: {shown}", test_npz)


def evaluation_outputs(out_dir: str | Path) -> dict[str, Path]:
    """The default output paths of one evaluation in ``out_dir`` (:data:`EVALUATION_FILES`)."""
    return {key: Path(out_dir) / name for key, name in EVALUATION_FILES.items()}


def _check_outputs(outputs: Mapping[str, str | Path]) -> dict[str, Path]:
    """The four output paths of an evaluation; CisflowError naming any missing key."""
    missing = [k for k in EVALUATION_FILES if k not in outputs]
    if missing:
        raise CisflowError(f"evaluation outputs lack {', '.join(missing)} (need {', '.join(EVALUATION_FILES)})")
    return {k: Path(outputs[k]) for k in EVALUATION_FILES}


@dataclasses.dataclass(frozen=True)
class EvaluateParams(StageParams):
    """The config's ``evaluate`` section: :func:`evaluate_model`'s settings and the submissions' round letter."""

    SECTION: ClassVar[str] = "evaluate"
    fdrs: tuple[float, ...] = metrics.DEFAULT_FDRS
    batch_size: int = 256
    submission_round: str = "F"
    reverse_complement_average: bool = True


def evaluate_model(
    model_path: str | Path,
    test_npz: str | Path,
    outputs: Mapping[str, str | Path],
    fdrs: Sequence[float] = EvaluateParams.fdrs,
    batch_size: int = EvaluateParams.batch_size,
    device: str | None = None,
    reverse_complement_average: bool = EvaluateParams.reverse_complement_average,
    genome: str | Path | None = None,
    signal_bigwigs: SignalSpec = (),
) -> list[dict[str, Any]]:
    """Predict a test set with a saved model and write its evaluation.

    A test task the model was not trained on (a held-out cell type's, :func:`cisflow.splits.split_tasks`) is
    predicted by the model's output(s) of the same factor (:func:`cisflow.splits.task_sources`) and scored on
    its own labels; ``metrics.json`` names each task's cell type and the outputs that predicted it.

    Parameters
    ----------
    model_path
        Model directory or its ``model.json`` (see ``cisflow.models.load_model``).
    test_npz
        Dataset npz (``codes`` ``(N, L)`` or the windows' coordinates, ``labels`` ``(N, T)``, ``tasks``, and
        ``ids`` or the bins' ``chrom`` / ``bin_start``).
    outputs
        ``metrics`` (JSON), ``table`` (TSV), ``predictions`` (npz) and ``curves`` (PNG) paths
        (:func:`evaluation_outputs` gives the usual names in a folder).
    fdrs
        FDRs for the recall-at-FDR metrics.
    batch_size, device
        Passed to ``cisflow.predict.predict``; ``device=None`` picks CUDA if present.
    reverse_complement_average
        Score each window as the mean probability of its two strands (signal reversed with it); on by
        default, as in the config's ``evaluate`` section (:class:`EvaluateParams`).
    genome, signal_bigwigs
        For a coordinate dataset (no ``codes``): the genome (code cache or FASTA) its windows are made
        from, a batch at a time, and the bigWigs of its signal channels: one list, or ``{cell_type:
        [bigWig, ...]}`` (each task predicted with its cell type's tracks, :mod:`cisflow.cellsignal`;
        ``metrics.json`` records each cell type's tracks as ``signal_tracks``).

    Returns
    -------
    list of dict
        Per-task metrics (``cisflow.metrics.multitask_metrics``).
    """
    import tempfile

    log_params("evaluate", {"fdrs": list(fdrs), "batch_size": batch_size,
                            "reverse_complement_average": reverse_complement_average})  # fmt: skip
    outputs = _check_outputs(outputs)
    data = read_dataset(test_npz, "test dataset")
    check_both_classes(data, test_npz)
    model, meta = _load_model(model_path)
    sources = _check_model_matches(meta, data, test_npz)
    info = {
        "model_path": str(model_path),
        "test": str(test_npz),
        "model": meta,
        "reverse_complement_average": bool(reverse_complement_average),
    } | _cell_type_info(data["tasks"], meta.get("tasks") or data["tasks"], sources)
    if signal_bigwigs and "codes" not in data:
        try:
            info["signal_tracks"] = tracks_by_cell_type([str(t) for t in data["tasks"]], signal_bigwigs)
        except CisflowError as exc:
            raise CisflowError(str(exc), test_npz) from exc

    def finish(probs: np.ndarray) -> list[dict[str, Any]]:
        geometry = artifacts.geometry(data)
        return evaluate_predictions(
            data["labels"], probs, data["tasks"], artifacts.row_keys(data), outputs, fdrs, info, geometry=geometry
        )

    if "codes" in data:
        return finish(map_outputs(_predict(model, data, batch_size, device, reverse_complement_average), sources))
    if genome is None:
        raise CisflowError("the test set holds coordinates only: give the genome to make its windows", test_npz)
    opts = {"batch_size": batch_size, "device": device, "reverse_complement_average": reverse_complement_average,
            "signal_bigwigs": signal_bigwigs, "sources": sources}  # fmt: skip
    Path(outputs["predictions"]).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(outputs["predictions"]).parent, prefix=".probs.") as tmp:
        return finish(_predict_windows(model, data, genome, opts, Path(tmp) / "probs.npy"))


def _cell_type_info(tasks: Sequence[str], model_tasks: Sequence[str], sources: Sequence[Sequence[int]]) -> dict:
    """What ``metrics.json`` records of cell types: each task's ``cell_types`` (``TASK.CELLTYPE``), the
    ``heldout_tasks`` the model was not trained on and ``predicted_from``, the model tasks predicting each."""
    tasks, model_tasks = [str(t) for t in tasks], [str(t) for t in model_tasks]
    return {
        "cell_types": {t: cell_type_of(t) for t in tasks},
        "heldout_tasks": [t for t in tasks if t not in model_tasks],
        "predicted_from": {t: [model_tasks[m] for m in cols] for t, cols in zip(tasks, sources, strict=True)},
    }


def evaluate_predictions(
    labels: np.ndarray,
    probs: np.ndarray,
    tasks: Sequence[str],
    ids: np.ndarray | Mapping[str, np.ndarray],
    outputs: Mapping[str, str | Path],
    fdrs: Sequence[float] = metrics.DEFAULT_FDRS,
    info: dict[str, Any] | None = None,
    *,
    geometry: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Compute per-task metrics of ``probs`` ``(N, T)`` against ``labels`` ``(N, T)`` and write all outputs.

    ``ids`` names the rows: ids ``(N,)``, or the dataset's :func:`cisflow.artifacts.row_keys` (genome bins'
    ``chrom`` and ``bin_start``, stored in ``predictions.npz`` as they are); ``outputs`` are the ``metrics``,
    ``table``, ``predictions`` and ``curves`` paths (:data:`EVALUATION_FILES`);
    ``info`` (e.g. model meta, input paths) is stored in ``metrics.json`` beside the metrics;
    ``geometry`` (``bin_size``, ``stride``, ``input_length`` of the dataset the rows come from,
    :func:`cisflow.artifacts.geometry`) is stored in ``predictions.npz``. Returns the per-task metric dicts.
    """
    outputs = _check_outputs(outputs)
    tasks = [str(t) for t in tasks]
    rows = metrics.multitask_metrics(labels, probs, tasks, fdrs)
    mean = metrics.mean_metrics(rows)
    for row in rows:
        log.info(
            "%s: auROC %.4f auPRC %.4f (%d+/%d-)",
            *(row[k] for k in ("task", "auroc", "auprc", "num_positives", "num_negatives")),
        )
    summary = {**(info or {}), "fdrs": [float(f) for f in fdrs], "tasks": rows, "mean": mean}
    write_json(outputs["metrics"], _json_safe(summary))
    write_metrics_tsv(rows, outputs["table"])
    write_predictions(outputs["predictions"], ids, labels, probs, tasks, geometry)
    plot_curves(labels, probs, tasks, outputs["curves"])
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
            handle.write("\t".join(format_cell(row[c]) for c in columns) + "\n")
