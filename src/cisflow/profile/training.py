"""Training loop for profile models: Adam, early stopping on the validation loss, exact resume.

Each epoch trains on every peak plus fresh background (``background_ratio`` per peak) with jitter and
reverse-complement augmentation (:class:`cisflow.profile.data.ProfileBatches`), then scores the whole
validation set (central windows). Everything needed to continue is checkpointed to
``out_dir/checkpoint.pt`` after each epoch, so a rerun after a kill ends with the same weights. The
counts weight λ is fixed before epoch 1 from the training regions (:func:`counts_loss_weight`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from cisflow.errors import CisflowError
from cisflow.io import atomic_path
from cisflow.models import build_model, check_model_config, load_model, save_model
from cisflow.predict import autocast, resolve_device
from cisflow.profile.data import ProfileBatches, centered, epoch_rows, to_tensors
from cisflow.profile.io import write_table
from cisflow.profile.losses import counts_loss_weight, profile_loss
from cisflow.profile.metrics import counts_metrics, log_totals, median_or_nan, profile_jsd
from cisflow.profile.predict import predict_profile
from cisflow.train.checkpoint import read_checkpoint
from cisflow.train.loop import cpu_state_dict, deterministic, is_improvement, training_finished

log = logging.getLogger(__name__)

#: Defaults of every profile ``train`` key (chrombpnet's where it has one: Adam 1e-3, batch 64, 0.1 background).
PROFILE_TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 50,
    "min_epochs": 1,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "patience": 5,
    "reverse_complement": True,
    "background_ratio": 0.1,
    "counts_loss_weight": "auto",
}
CHECKPOINT_NAME = "checkpoint.pt"
_RESUMABLE_CHANGES = ("epochs", "min_epochs", "patience")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: Each key's test and what it must be.
_CHECKS = {
    "epochs": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a positive integer"),
    "learning_rate": (lambda v: _number(v) and v > 0, "a positive number"),
    "reverse_complement": (lambda v: isinstance(v, bool), "true or false"),
    "background_ratio": (lambda v: v is None or (_number(v) and v >= 0), "null or a non-negative number"),
    "counts_loss_weight": (lambda v: v == "auto" or (_number(v) and v >= 0), "'auto' or a non-negative number"),
}
_CHECKS |= {k: _CHECKS["epochs"] for k in ("min_epochs", "batch_size", "patience")}


def check_profile_train_config(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """The profile ``train`` config with defaults filled; unknown keys or bad values → CisflowError."""
    unknown = [k for k in dict(cfg or {}) if k not in PROFILE_TRAIN_DEFAULTS]
    if unknown:
        raise CisflowError(f"unknown profile train key {unknown[0]!r}; valid keys: {', '.join(PROFILE_TRAIN_DEFAULTS)}")
    out = {**PROFILE_TRAIN_DEFAULTS, **dict(cfg or {})}
    for key, (valid, what) in _CHECKS.items():
        if not valid(out[key]):
            raise CisflowError(f"train.{key} must be {what}; got {out[key]!r}")
    return out


def data_counts_weight(data: Mapping[str, np.ndarray], background_ratio: float | None, seed: int) -> float:
    """λ from the training mixture: peaks plus one epoch's share of background (chrombpnet's rule)."""
    rows = epoch_rows(data["is_peak"], background_ratio, np.random.default_rng([seed, 0]))
    counts = centered(data, rows)["counts"]
    return counts_loss_weight(counts.reshape(*counts.shape[:2], -1).sum(axis=-1))


def init_counts_bias(model: nn.Module, data: Mapping[str, np.ndarray]) -> None:
    """Start the counts head's bias at the mean log count per task of the training regions.

    (Of the TF model for a ChromBPNet.) The counts MSE then starts near the counts' variance
    instead of their squared mean, which shortens the first epochs; nothing else changes.
    """
    head = model.model.counts if hasattr(model, "bias") else model.counts
    mean = log_totals(centered(data)["counts"]).mean(axis=0)
    with torch.no_grad():
        head.bias.copy_(torch.as_tensor(mean, dtype=head.bias.dtype))


def evaluate_profile(
    model: nn.Module, data: Mapping[str, np.ndarray], weight: float, device: torch.device, batch_size: int = 128
) -> dict[str, float]:
    """Loss terms on central windows, plus counts Pearson and median JSD over the peaks (all tasks pooled)."""
    batch = centered(data)
    profile, log_counts = predict_profile(model, batch["codes"], batch.get("control"), batch_size, device)
    loss, nll, mse = profile_loss(
        torch.from_numpy(profile), torch.from_numpy(log_counts), torch.from_numpy(batch["counts"]), weight
    )
    peaks = np.asarray(data["is_peak"], bool)
    obs = log_totals(batch["counts"])
    rows = peaks if peaks.any() else np.ones(len(peaks), bool)
    pearson = counts_metrics(obs[rows].ravel(), log_counts[rows].ravel())["counts_pearson"]
    jsd = median_or_nan(profile_jsd(batch["counts"][rows], profile[rows]))
    return {"loss": float(loss), "profile_nll": float(nll), "counts_mse": float(mse),
            "counts_pearson": pearson, "median_jsd": jsd}  # fmt: skip


def _train_epoch(model: nn.Module, optimizer, batches: ProfileBatches, weight: float, st: dict) -> dict[str, float]:
    """One pass over the epoch's batches; returns the mean loss terms."""
    model.train()
    batches.set_epoch(st["epoch"] + 1)
    sums, n = np.zeros(3), 0
    for batch in tqdm(batches, desc=f"Epoch {st['epoch'] + 1}", leave=False, disable=st["progress"]):
        x, ctl, counts = to_tensors(batch, st["device"])
        with autocast(st["device"]):
            profile, log_counts = model(x, ctl)
        loss, nll, mse = profile_loss(profile, log_counts, counts, weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sums += np.array([float(loss.detach()), float(nll.detach()), float(mse.detach())]) * len(x)
        n += len(x)
    return {k: float(v) for k, v in zip(("loss", "profile_nll", "counts_mse"), sums / max(n, 1), strict=True)}


def _profile_params(model_cfg: Mapping[str, Any], data: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Model params with the geometry the data fixes (output length, strands, control tracks)."""
    params = dict(model_cfg.get("params") or {})
    fixed = {"output_length": int(data["output_length"])}
    if model_cfg["name"] == "bpnet":
        n_control = int(data["control"].shape[1]) if "control" in data else 0
        fixed |= {"n_strands": len(data["strands"]), "n_control": n_control}
    elif len(data["strands"]) != 1 or "control" in data:
        raise CisflowError("chrombpnet takes one unstranded track without control; use bpnet for stranded data")
    clash = [k for k, v in fixed.items() if k in params and params[k] != v]
    if clash:
        raise CisflowError(f"model param {clash[0]}={params[clash[0]]!r} contradicts the dataset ({fixed[clash[0]]!r})")
    return params | fixed


def _attach_bias(model: nn.Module, bias_dir: str | Path | None, device: torch.device) -> None:
    """Load a trained bias BPNet into a ChromBPNet's ``bias`` and freeze it."""
    if not hasattr(model, "bias"):
        if bias_dir is not None:
            raise CisflowError("a bias model was given but the model is not a chrombpnet")
        return
    if bias_dir is None:
        raise CisflowError("chrombpnet needs a trained bias model (train a bpnet on background regions first)")
    bias, _ = load_model(bias_dir, device)
    try:
        model.bias.load_state_dict(bias.state_dict())
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        message = f"bias model does not fit the chrombpnet's bias_filters / bias_layers ({first})"
        raise CisflowError(message, bias_dir) from exc
    model.freeze_bias()


def _save_checkpoint(path: Path, model: nn.Module, optimizer, st: Mapping[str, Any]) -> None:
    """Atomically write the loop state (loadable with ``weights_only=True``)."""
    keep = ("config", "epoch", "history", "best_state", "best_epoch", "best_value", "wait", "weight")
    ckpt = {k: st[k] for k in keep} | {"model": cpu_state_dict(model), "optimizer": optimizer.state_dict()}
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)


def _load_checkpoint(path: Path, model: nn.Module, optimizer, st: dict[str, Any]) -> None:
    """Restore model, optimizer and loop state from ``path`` (a checkpoint of another config starts over)."""
    ckpt = read_checkpoint(path, st["config"])
    if ckpt is None:
        return
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    for key in ("epoch", "history", "best_state", "best_epoch", "best_value", "wait", "weight"):
        st[key] = ckpt[key]
    log.info("resumed from %s after epoch %d", path, st["epoch"])


def _run_epoch(model: nn.Module, optimizer, data: Mapping, batches: ProfileBatches, st: dict) -> None:
    """Train one epoch, score the validation set, log, update the loop state."""
    start = time.perf_counter()
    train = _train_epoch(model, optimizer, batches, st["weight"], st)
    valid = evaluate_profile(model, data["valid"], st["weight"], st["device"])
    st["epoch"] += 1
    improved = is_improvement("loss", valid["loss"], st["best_value"])
    seconds = time.perf_counter() - start
    log.info(
        "epoch %d: train loss %.4f (NLL %.2f, counts MSE %.3f) | valid loss %.4f, counts Pearson %.3f, "
        "median JSD %.3f%s",
        st["epoch"], train["loss"], train["profile_nll"], train["counts_mse"], valid["loss"],
        valid["counts_pearson"], valid["median_jsd"], " *" if improved else "",
    )  # fmt: skip
    st["history"].append({"epoch": st["epoch"], "split": "train", **train, "seconds": seconds})
    st["history"].append({"epoch": st["epoch"], "split": "valid", **valid, "seconds": seconds})
    if improved:
        st.update(best_state=cpu_state_dict(model), best_epoch=st["epoch"], best_value=valid["loss"], wait=0)
    else:
        st["wait"] += 1


def train_profile_model(
    data: Mapping[str, Mapping[str, np.ndarray]],
    out_dir: str | Path,
    model_cfg: Mapping[str, Any],
    train_cfg: Mapping[str, Any] | None,
    seed: int,
    device: str | torch.device | None = None,
    *,
    bias_model: str | Path | None = None,
    stop_after_epoch: int | None = None,
    progress: bool | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Train a BPNet or ChromBPNet on profile datasets, early-stopped on the validation loss, resumable.

    Parameters
    ----------
    data
        ``{"train": dataset, "valid": dataset}`` (:mod:`cisflow.profile.data`; same geometry and tasks).
    out_dir
        Gets ``checkpoint.pt`` (every epoch), then ``model.safetensors``, ``model.json`` and ``history.tsv``.
    model_cfg
        ``{"name": "bpnet" | "chrombpnet", "params": {...}}``; output length, strands and control tracks
        come from the data.
    train_cfg
        Profile ``train`` config (:data:`PROFILE_TRAIN_DEFAULTS`).
    seed
        Seeds initialisation, sampling, jitter and flips.
    device
        ``None`` → CUDA if available (bf16 autocast), else CPU with deterministic algorithms.
    bias_model
        Directory of the trained bias BPNet (chrombpnet only); loaded and frozen.
    stop_after_epoch
        Stop once this epoch is checkpointed, without final outputs (as if killed); rerunning resumes.
    progress, threads
        Progress bar (None: on a terminal); torch CPU threads for the run.

    Returns
    -------
    dict
        ``completed``, ``epochs_run``, ``best_epoch``, ``best_valid`` (metrics at the best epoch),
        ``counts_loss_weight``, ``seconds_per_epoch``.
    """
    cfg = check_profile_train_config(train_cfg)
    check_model_config(model_cfg, family="profile")
    _check_pair(data)
    params = _profile_params(model_cfg, data["train"])
    device, out_dir, train = resolve_device(device), Path(out_dir), data["train"]
    weight = cfg["counts_loss_weight"]
    weight = float(data_counts_weight(train, cfg["background_ratio"], seed) if weight == "auto" else weight)
    config = json.loads(json.dumps({"model": {"name": model_cfg["name"], "params": params}, "seed": int(seed),
        "train": {k: v for k, v in cfg.items() if k not in _RESUMABLE_CHANGES}, "sizes": [len(train["codes"]),
        len(data["valid"]["codes"])], "tasks": train["tasks"].tolist(), "bias_model": str(bias_model)}))  # fmt: skip
    with deterministic(device, threads):
        torch.manual_seed(seed)
        model = build_model(model_cfg["name"], len(train["tasks"]), int(train["input_length"]), **params).to(device)
        _attach_bias(model, bias_model, device)
        init_counts_bias(model, train)
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg["learning_rate"])
        st = {"config": config, "epoch": 0, "history": [], "best_state": None, "best_epoch": None,
              "best_value": None, "wait": 0, "weight": weight, "device": device,
              "progress": None if progress is None else not progress}  # fmt: skip
        if (out_dir / CHECKPOINT_NAME).is_file():
            _load_checkpoint(out_dir / CHECKPOINT_NAME, model, optimizer, st)
        batches = ProfileBatches(train, cfg["batch_size"], cfg["reverse_complement"], cfg["background_ratio"], seed)
        log.info("training %s on %d regions (counts loss weight %.3g)", model_cfg["name"], len(train["codes"]), weight)
        seconds = []
        while not training_finished(st, cfg):
            start = time.perf_counter()
            _run_epoch(model, optimizer, data, batches, st)
            seconds.append(time.perf_counter() - start)
            _save_checkpoint(out_dir / CHECKPOINT_NAME, model, optimizer, st)
            if stop_after_epoch is not None and st["epoch"] >= stop_after_epoch and not training_finished(st, cfg):
                log.info("stopping after epoch %d as asked; rerun to resume", st["epoch"])
                return _summary(st, False, seconds)
    model.load_state_dict(st["best_state"])
    meta = {"tasks": train["tasks"].tolist(), "strands": train["strands"].tolist(), "seed": int(seed),
            "counts_loss_weight": weight, "best_epoch": st["best_epoch"], "epochs_run": st["epoch"],
            "train_config": dict(cfg), "bias_model": None if bias_model is None else str(bias_model)}  # fmt: skip
    save_model(out_dir, model, meta)
    write_table(pd.DataFrame(st["history"]), out_dir / "history.tsv")
    return _summary(st, True, seconds)


def _check_pair(data: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    """Training and validation sets must share tasks, strands and geometry."""
    train, valid = data["train"], data["valid"]
    for key in ("tasks", "strands", "input_length", "output_length"):
        if np.asarray(train[key]).tolist() != np.asarray(valid[key]).tolist():
            raise CisflowError(f"training and validation sets differ in {key}: {train[key]} vs {valid[key]}")
    if ("control" in train) != ("control" in valid):
        raise CisflowError("only one of the training and validation sets has control tracks")
    if not len(valid["codes"]) or not np.asarray(train["is_peak"]).any():
        raise CisflowError("profile training needs peaks in the training set and a non-empty validation set")


def _summary(st: Mapping[str, Any], completed: bool, seconds: list[float]) -> dict[str, Any]:
    """What :func:`train_profile_model` returns."""
    best = [r for r in st["history"] if r["epoch"] == st["best_epoch"] and r["split"] == "valid"]
    return {
        "completed": completed,
        "epochs_run": st["epoch"],
        "best_epoch": st["best_epoch"],
        "best_valid": best[0] if best else None,
        "counts_loss_weight": st["weight"],
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
    }
