"""The training stage: dataset npz files (or a streaming genome loader) in, model files, history TSV,
learning curve and checkpoint out (:func:`train_model`); the same from a YAML config (:func:`train_from_config`).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cisflow.artifacts import check_signal_names, read_dataset, select_tasks, signal_names
from cisflow.autosize import count_positives, model_is_auto, resolve_auto
from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_open
from cisflow.models import build_model, check_model_config, save_model_files
from cisflow.predict import resolve_device
from cisflow.train.checkpoint import (
    _RESUMABLE_CHANGES,
    CHECKPOINT_NAME,
    _checkpointable,
    data_fingerprint,
    load_checkpoint,
    save_checkpoint,
)
from cisflow.train.loop import _check_learned, _initial_state, _run_epoch, _summary, class_pos_weight, deterministic
from cisflow.train.plots import plot_learning_curve
from cisflow.train.settings import check_train_config
from cisflow.transfer import (
    InitParams,
    check_model_section,
    initialise,
    make_optimizer,
    read_source,
    resolve_motif_filters,
    source_model_config,
    split_model_config,
)

log = logging.getLogger(__name__)


#: The files of a training run (``outputs`` keys) and their names in an output folder (:func:`train_outputs`).
TRAIN_FILES = {
    "model": "model.safetensors",
    "meta": "model.json",
    "history": "history.tsv",
    "curve": "learning_curve.png",
    "checkpoint": CHECKPOINT_NAME,
}


def write_history(path: str | Path, history: list[Mapping[str, Any]]) -> None:
    """Write the per-epoch rows (epoch, split, loss, every metric, seconds) as a TSV, atomically."""
    columns = list(history[0]) if history else ["epoch", "split", "loss"]
    with atomic_open(path) as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for row in history:
            writer.writerow([f"{row[c]:.6g}" if isinstance(row[c], float) else row[c] for c in columns])


def _load_data(
    train_npz: str | Path, valid_npz: str | Path, tasks: Sequence[str] | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """Load both splits (their ``tasks`` columns) and check they share tasks, sequence length and signal channels."""
    train = select_tasks(read_dataset(train_npz), tasks, train_npz)
    valid = select_tasks(read_dataset(valid_npz), tasks, valid_npz)
    check_signal_names(valid, signal_names(train), valid_npz, "training set")
    if train["tasks"].tolist() != valid["tasks"].tolist():
        raise CisflowError(
            f"tasks {valid['tasks'].tolist()} differ from training tasks {train['tasks'].tolist()}", valid_npz
        )
    if train["codes"].shape[1] != valid["codes"].shape[1]:
        raise CisflowError(
            f"sequence length {valid['codes'].shape[1]} differs from training length {train['codes'].shape[1]}",
            valid_npz,
        )
    return {"train": train, "valid": valid}


def _load_loader_data(batches: Any, valid_npz: str | Path, tasks: Sequence[str] | None = None) -> dict[str, dict]:
    """Training from a streaming loader: its fixed scoring sample as ``train`` (plus ``batches``), valid from npz."""
    valid = select_tasks(read_dataset(valid_npz), tasks, valid_npz)
    check_signal_names(valid, batches.signal_names, valid_npz, "genome loader")
    if list(batches.tasks) != valid["tasks"].tolist():
        raise CisflowError(f"tasks {valid['tasks'].tolist()} differ from the loader's tasks {batches.tasks}", valid_npz)
    if batches.input_length != int(valid["input_length"]):
        raise CisflowError(
            f"sequence length {int(valid['input_length'])} differs from the loader's {batches.input_length}", valid_npz
        )
    if batches.n_samples == 0:
        raise CisflowError("the genome loader has no positive bins to train on")
    if "codes" not in valid:  # a coordinate dataset: its windows made from the loader's genome each epoch
        valid["windows"] = batches.dataset_windows(valid)
    return {"train": {**batches.eval_sample(), "batches": batches}, "valid": valid}


def train_outputs(out_dir: str | Path) -> dict[str, Path]:
    """The default output paths of a training run in ``out_dir`` (:data:`TRAIN_FILES`)."""
    return {key: Path(out_dir) / name for key, name in TRAIN_FILES.items()}


def _check_outputs(outputs: Mapping[str, str | Path]) -> dict[str, Path]:
    """The five output paths of a training run; CisflowError naming any missing key."""
    missing = [k for k in TRAIN_FILES if k not in outputs]
    if missing:
        raise CisflowError(f"training outputs lack {', '.join(missing)} (need {', '.join(TRAIN_FILES)})")
    return {k: Path(outputs[k]) for k in TRAIN_FILES}


def _write_outputs(outputs: Mapping[str, Path], model: nn.Module, st: Mapping[str, Any], cfg: Mapping[str, Any], meta):
    """Best weights + metadata JSON, history TSV and learning-curve PNG."""
    model.load_state_dict(st["best_state"])
    meta = {**meta, "best_epoch": st["best_epoch"], "monitor": cfg["monitor"], "best_value": st["best_value"]}
    meta |= {"epochs_run": st["epoch"], "train_config": dict(cfg)}
    save_model_files(outputs["model"], outputs["meta"], model, meta)
    write_history(outputs["history"], st["history"])
    plot_learning_curve(outputs["curve"], st["history"], cfg["monitor"], st["best_epoch"])


def train_model(
    train_npz: str | Path,
    valid_npz: str | Path,
    outputs: Mapping[str, str | Path],
    model_cfg: Mapping[str, Any],
    train_cfg: Mapping[str, Any] | None,
    seed: int,
    device: str | torch.device | None = None,
    *,
    stop_after_epoch: int | None = None,
    progress: bool | None = None,
    threads: int | None = None,
    train_batches: Any = None,
    init: InitParams | Mapping[str, Any] | None = None,
    tasks: Sequence[str] | None = None,
    data_files: Sequence[str | Path] = (),
) -> dict[str, Any]:
    """Train a model on a dataset npz, early-stopped on the validation set, resumable.

    Parameters
    ----------
    train_npz, valid_npz
        Dataset npz files (``codes`` ``(N, L)`` uint8, ``labels`` ``(N, T)`` int8, ``tasks`` ``(T,)``).
    outputs
        ``checkpoint`` (written every epoch; an existing one is resumed), then ``model`` (safetensors
        weights) and ``meta`` (their JSON, in the same folder), ``history`` (TSV) and ``curve`` (PNG)
        (:func:`train_outputs` gives the usual names in a folder).
    model_cfg
        ``{"name": ..., "params": {...}}`` (see :func:`cisflow.models.build_model`), ``name: auto`` (or None)
        for the data-size default (:mod:`cisflow.autosize`); it may carry the ``init`` keys too (the workflow's
        ``model`` section, :func:`cisflow.transfer.split_model_config`).
    train_cfg
        ``train`` config (see :data:`TRAIN_DEFAULTS` and :func:`check_train_config`).
    seed
        Seeds model initialisation, dropout, shuffling and reverse-complement flips.
    device
        ``None`` → CUDA if available (bf16 autocast, pinned batches), else CPU (deterministic algorithms).
    stop_after_epoch
        Stop once this epoch is checkpointed, without writing the final outputs (as if killed);
        rerunning resumes. For tests and time-boxed jobs.
    progress
        Show a progress bar per epoch; ``None`` → only on a terminal.
    threads
        torch CPU threads for the run (e.g. the rule's ``threads``); ``None`` keeps torch's setting.
        On a busy machine fewer threads can be much faster (oversubscribed OpenMP stalls).
    train_batches
        A streaming loader (:class:`cisflow.loader.GenomeBatches`) to train on instead of ``train_npz``
        (pass None there): it draws fresh negatives per epoch and does its own shuffling, jitter and
        reverse complement (``train.batch_size`` and ``train.reverse_complement`` then apply to scoring
        only); the per-epoch train scores use its fixed :meth:`eval_sample`. Epoch ``e`` is seeded by
        ``(loader seed, e)``, so resume stays exact.
    init
        Initialisation and fine-tuning (:class:`cisflow.transfer.InitParams`: ``init_from`` a trained model,
        ``finetune``, ``trunk_lr_scale``, ``unfreeze_epoch``, ``motif_filters``); None: random. With
        ``init_from``, ``model_cfg`` None or named ``auto`` takes the trained model's architecture. Given here,
        it overrides the same keys of ``model_cfg``. What was done is recorded in ``model.json`` (``init``)
        and in the checkpoint's identity.
    tasks
        Train on these tasks (label columns, in this order) only; None: every task of the datasets.
    data_files
        Further files the training data comes from (the loader's labels, genome, splits, signal bigWigs),
        hashed with the datasets' arrays into the checkpoint (:func:`data_fingerprint`): a checkpoint of
        other data is not resumed.

    Returns
    -------
    dict
        ``completed``, ``epochs_run``, ``best_epoch``, ``monitor``, ``best_value``, ``stopped_early``,
        ``train``/``valid`` (metrics at the best epoch), ``seconds_per_epoch`` (this run).
    """
    model_cfg, init = split_model_config(model_cfg, init)
    check_train_config(train_cfg)
    source = read_source(init.init_from) if init.init_from is not None else None
    from_source = source is not None and model_is_auto(model_cfg)  # its architecture and its tier's optimiser
    if source is not None:
        model_cfg = source_model_config(model_cfg, source[1], init.init_from)
    if not model_is_auto(model_cfg):
        check_model_config(model_cfg)
    if train_batches is None:
        data = _load_data(train_npz, valid_npz, tasks)
    else:
        data = _load_loader_data(train_batches, valid_npz, tasks)
    model_cfg, cfg, auto = _resolve_auto(model_cfg, check_train_config(train_cfg), data, train_batches, from_source)
    device, outputs = resolve_device(device), _check_outputs(outputs)
    config = _run_identity(model_cfg, cfg, seed, data, data_files, train_batches)
    tasks, length, signals = config["tasks"], config["input_length"], config["signal_names"]
    init, auto = resolve_motif_filters(init, tasks, auto)
    with deterministic(device, threads):
        torch.manual_seed(seed)
        model = build_model(model_cfg["name"], len(tasks), length, 4 + len(signals), **model_cfg["params"]).to(device)
        record = initialise(model, init, tasks, length, signals, source)
        if init.active:
            config["init"] = record
        optimizer = make_optimizer(model, init, len(tasks), cfg["learning_rate"], cfg["weight_decay"])
        st = _initial_state(seed, device, config, progress)
        st["init"] = init
        st["pos_weight"] = class_pos_weight(data["train"]["labels"], cfg["class_weights"])
        if st["pos_weight"] is not None:
            st["pos_weight"] = st["pos_weight"].to(device)
        seconds = _epochs(model, optimizer, data, cfg, st, outputs["checkpoint"], stop_after_epoch)
    if not st["finished"]:
        return _summary(st, cfg, seconds)
    _check_learned(st)
    meta = {"tasks": tasks, "seed": int(seed), "signal_names": signals} | ({"init": record} if init.active else {})
    meta |= {"auto": auto} if auto else {}
    _write_outputs(outputs, model, st, cfg, meta)
    summary = _summary(st, cfg, seconds)
    log.info("best epoch %s (%s %.4f); model %s", st["best_epoch"], cfg["monitor"], st["best_value"], outputs["model"])
    return summary


def _run_identity(
    model_cfg: Mapping[str, Any],
    cfg: Mapping[str, Any],
    seed: int,
    data: Mapping[str, Mapping[str, Any]],
    data_files: Sequence[str | Path],
    train_batches: Any,
) -> dict[str, Any]:
    """What makes a checkpoint reusable: model, settings that cannot change mid-run, seed, tasks, input length,
    signal channels, dataset sizes, the data's content digests and (streaming) the loader's description."""
    config = {
        "model": model_cfg,
        "signal_names": signal_names(data["train"]),
        "train": {k: v for k, v in cfg.items() if k not in _RESUMABLE_CHANGES},
        "seed": int(seed),
        "tasks": data["train"]["tasks"].tolist(),
        "input_length": int(data["train"]["codes"].shape[1]),
        "sizes": [len(data["train"]["labels"]), len(data["valid"]["labels"])],
        "data": data_fingerprint(data, data_files),
    }
    if train_batches is not None:
        config["loader"] = json.loads(json.dumps(train_batches.describe()))
    return config


def _epochs(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Mapping[str, Mapping[str, Any]],
    cfg: Mapping[str, Any],
    st: dict[str, Any],
    checkpoint: Path,
    stop_after_epoch: int | None,
) -> list[float]:
    """Resume from ``checkpoint`` if it is this run's, then train epochs (checkpointed after each) until the loop
    finishes or ``stop_after_epoch`` is checkpointed; the seconds of each epoch run here."""
    if checkpoint.is_file():
        load_checkpoint(checkpoint, model, optimizer, st, cfg)
    seconds: list[float] = []
    while not st["finished"]:
        start = time.perf_counter()
        _run_epoch(model, optimizer, data, cfg, st)
        seconds.append(time.perf_counter() - start)
        save_checkpoint(checkpoint, model, optimizer, _checkpointable(st))
        if stop_after_epoch is not None and st["epoch"] >= stop_after_epoch and not st["finished"]:
            log.info("stopping after epoch %d as asked; rerun to resume", st["epoch"])
            break
    return seconds


def _resolve_auto(model_cfg, train_cfg, data, batches, from_source=False) -> tuple[dict, dict[str, Any], dict | None]:
    """Model and train configs with every ``auto`` resolved from the training positives (:mod:`cisflow.autosize`),
    checked; and the record of what was chosen (None when nothing was ``auto``). ``from_source``: the model is an
    ``init_from`` model's architecture taken with ``name: auto`` (:func:`cisflow.autosize.resolve_auto`)."""
    if batches is not None:
        n_positives, bin_size = batches.n_positives, batches.bin_size
    else:
        n_positives, bin_size = count_positives(data["train"]["labels"]), None
    model_cfg, train_cfg, auto = resolve_auto(model_cfg, train_cfg, n_positives, bin_size, from_source)
    check_model_config(model_cfg)
    model_cfg = json.loads(json.dumps({"name": model_cfg["name"], "params": dict(model_cfg.get("params") or {})}))
    return model_cfg, check_train_config(train_cfg), auto


def read_training_config(path: str | Path) -> tuple[dict, dict, int | None]:
    """Read the ``model``, ``train`` and ``seed`` entries of a (workflow) YAML config.

    Returns
    -------
    model_cfg, train_cfg, seed
        ``train_cfg`` has defaults filled; ``seed`` is None when the file has none.
    """
    import yaml

    path = require_file(path, "config file")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CisflowError(f"not valid YAML ({str(exc).splitlines()[0]})", path) from exc
    if not isinstance(config, dict):
        raise CisflowError("config must be a mapping with 'model' and 'train' sections", path)
    if config.get("model") is None:  # no model section: the data-size default (name auto)
        config["model"] = {}
    if not isinstance(config["model"], dict):
        raise CisflowError(f"model must be a mapping (name, params); got {config['model']!r}", path)
    seed = config.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise CisflowError(f"seed must be an integer; got {seed!r}", path)
    try:
        check_model_section(config["model"])
        train_cfg = check_train_config(config.get("train"))
    except CisflowError as exc:
        raise CisflowError(str(exc), path) from exc
    return _with_known_motifs(dict(config["model"]), config), train_cfg, seed


def _with_known_motifs(model_cfg: dict, config: Mapping[str, Any]) -> dict:
    """``model_cfg`` plus the run's known motifs (``baselines.motifs``) when ``name`` and ``motif_filters`` are
    ``auto``: what the workflow's train rule passes, so that the compact model is seeded the same way."""
    if model_cfg.get("name", "auto") == "auto" and model_cfg.get("motif_filters", "auto") == "auto":
        motifs = (config.get("baselines") or {}).get("motifs")
        if motifs:
            model_cfg["known_motifs"] = motifs
    return model_cfg


def train_from_config(
    train_npz: str | Path,
    valid_npz: str | Path,
    config_path: str | Path,
    outputs: Mapping[str, str | Path],
    seed: int | None = None,
    device: str | None = None,
    threads: int | None = None,
    init: Mapping[str, Any] | None = None,
    tasks: Sequence[str] | None = None,
) -> dict[str, Any]:
    """:func:`train_model` with ``model``/``train``/``seed`` read from a YAML config (``seed`` overrides; default 0;
    ``init`` keys override the config's ``model`` initialisation keys; ``tasks``: train on these only)."""
    model_cfg, train_cfg, config_seed = read_training_config(config_path)
    seed = seed if seed is not None else (config_seed if config_seed is not None else 0)
    return train_model(
        train_npz,
        valid_npz,
        outputs,
        model_cfg,
        train_cfg,
        seed,
        device=device,
        threads=threads,
        init=init,
        tasks=tasks,
    )
