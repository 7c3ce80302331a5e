"""Training loop: masked BCE, Adam, early stopping, per-epoch checkpoints with exact resume.

Inputs are the dataset npz files (``codes`` uint8 ``(N, L)``, ``labels`` int8 ``(N, T)`` with -1
ambiguous, ``tasks`` ``(T,)``; optionally ``signal`` ``(N, S, L)`` and ``signal_names``, extra input
channels after the DNA, so the model is built with ``in_channels = 4 + S``). Codes stay on the CPU and
are one-hot encoded a batch at a time.
Each epoch the model is scored on the whole training and validation sets (DragoNN's per-epoch
report) and everything needed to continue is checkpointed (the ``checkpoint`` output); a rerun
after a kill continues from there and ends with bit-identical weights and metrics.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from tqdm.auto import tqdm

from cisflow.artifacts import check_signal_names, read_dataset, signal_names
from cisflow.autosize import count_positives, is_auto, model_is_auto, resolve_auto
from cisflow.errors import CisflowError, require_file
from cisflow.genome import reverse_complement_codes
from cisflow.io import array_digest, atomic_open, atomic_path, file_digest
from cisflow.metrics import DEFAULT_FDRS, mean_metrics, multitask_metrics
from cisflow.models import build_model, check_model_config, save_model_files
from cisflow.predict import autocast, codes_to_tensor, predict_batches, predict_logits, resolve_device
from cisflow.transfer import (
    InitParams,
    check_model_section,
    initialise,
    make_optimizer,
    read_source,
    set_trainable,
    source_model_config,
    split_model_config,
)

log = logging.getLogger(__name__)
_OR_AUTO = {k: " or 'auto'" for k in ("epochs", "patience", "positive_repeats")}

#: Defaults of every ``train`` config key (DragoNN's where it has one: Adam 1e-3, batch 128, patience 5). Keys
#: marked in :data:`cisflow.autosize.AUTO_TRAIN_KEYS` also take ``auto``: chosen from the number of training
#: positives (:mod:`cisflow.autosize`).
TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 100,
    "min_epochs": 1,
    "batch_size": 128,
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "patience": 5,
    "monitor": "auprc",
    "class_weights": None,
    "reverse_complement": False,
    "jitter": 0,  # bp; used by the streaming genome loader (cisflow.loader), not by npz datasets
    "precise_bn_batches": 50,  # models with BatchNorm: re-estimate its statistics on this many batches per epoch
    "positive_repeats": 1,  # draws of each positive per epoch (each with its own jitter and strand)
    "chance_auroc": 0.55,  # patience counts once the best validation auROC exceeds this (null: from epoch 1)
}
MONITORS = ("auroc", "auprc", "loss")
CHECKPOINT_NAME = "checkpoint.pt"
#: The files of a training run (``outputs`` keys) and their names in an output folder (:func:`train_outputs`).
TRAIN_FILES = {
    "model": "model.safetensors",
    "meta": "model.json",
    "history": "history.tsv",
    "curve": "learning_curve.png",
    "checkpoint": CHECKPOINT_NAME,
}
# keys whose change does not invalidate a checkpoint (training may be extended or cut short)
_RESUMABLE_CHANGES = ("epochs", "min_epochs", "patience", "chance_auroc")


def check_train_config(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the ``train`` config with defaults filled; unknown keys or bad values → CisflowError."""
    cfg = dict(cfg or {})
    unknown = [k for k in cfg if k not in TRAIN_DEFAULTS]
    if unknown:
        raise CisflowError(f"unknown train key {unknown[0]!r}; valid keys: {', '.join(TRAIN_DEFAULTS)}")
    out = {**TRAIN_DEFAULTS, **cfg}
    for key in ("epochs", "min_epochs", "batch_size", "patience", "positive_repeats"):
        if not is_auto(out[key]) and (not isinstance(out[key], int) or isinstance(out[key], bool) or out[key] < 1):
            raise CisflowError(f"train.{key} must be a positive integer{_OR_AUTO.get(key, '')}; got {out[key]!r}")
    for key in ("learning_rate", "weight_decay"):
        if not is_auto(out[key]) and (
            not isinstance(out[key], int | float) or isinstance(out[key], bool) or out[key] < 0
        ):
            raise CisflowError(f"train.{key} must be a non-negative number or 'auto'; got {out[key]!r}")
    if not is_auto(out["jitter"]) and (
        not isinstance(out["jitter"], int) or isinstance(out["jitter"], bool) or out["jitter"] < 0
    ):
        raise CisflowError(f"train.jitter must be a non-negative integer or 'auto'; got {out['jitter']!r}")
    chance = out["chance_auroc"]
    if chance is not None and (isinstance(chance, bool) or not isinstance(chance, int | float) or not 0 <= chance < 1):
        raise CisflowError(f"train.chance_auroc must be a number in [0, 1) or null; got {chance!r}")
    if out["monitor"] not in MONITORS:
        raise CisflowError(f"train.monitor must be one of {', '.join(MONITORS)}; got {out['monitor']!r}")
    if out["class_weights"] not in (None, "auto"):
        raise CisflowError(f"train.class_weights must be null or 'auto'; got {out['class_weights']!r}")
    if not isinstance(out["precise_bn_batches"], int) or out["precise_bn_batches"] < 0:
        raise CisflowError(
            f"train.precise_bn_batches must be a non-negative integer; got {out['precise_bn_batches']!r}"
        )
    if not is_auto(out["reverse_complement"]) and not isinstance(out["reverse_complement"], bool):
        raise CisflowError(f"train.reverse_complement must be true, false or 'auto'; got {out['reverse_complement']!r}")
    return out


def masked_bce_loss(logits: torch.Tensor, labels: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy over the entries whose label is not -1.

    Parameters
    ----------
    logits
        ``(N, T)`` float.
    labels
        ``(N, T)`` with 1, 0 or -1 (ignored).
    pos_weight
        ``(T,)`` multiplier of the positive term per task, or None.

    Returns
    -------
    Scalar: ``sum(bce * mask) / max(sum(mask), 1)`` (0 when every label is -1).
    """
    mask = (labels >= 0).to(logits.dtype)
    target = labels.clamp(min=0).to(logits.dtype)
    bce = functional.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight, reduction="none")
    return (bce * mask).sum() / mask.sum().clamp(min=1.0)


def class_pos_weight(labels: np.ndarray, mode: str | None) -> torch.Tensor | None:
    """Per-task positive weights ``(T,)`` = n_neg / n_pos (``mode='auto'``; -1 ignored), or None."""
    if mode is None:
        return None
    n_pos = (labels == 1).sum(axis=0).astype(np.float64)
    n_neg = (labels == 0).sum(axis=0).astype(np.float64)
    weight = np.where(n_pos > 0, n_neg / np.maximum(n_pos, 1), 1.0)
    log.info("class weights (positive weight per task): %s", np.round(weight, 3).tolist())
    return torch.tensor(weight, dtype=torch.float32)


def _epoch_rows(n: int, repeats: int) -> int | np.ndarray:
    """An epoch's rows of an npz training set of ``n`` rows: ``n``, or every row ``repeats`` times (each draw
    on its own random strand; negatives are repeated with the positives, keeping the class balance)."""
    return n if repeats <= 1 else np.tile(np.arange(n), repeats)


def _batches(rows: int | np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A shuffled partition of ``range(rows)`` (or of the array ``rows``) into batches (the last may be short)."""
    order = rng.permutation(rows)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Mapping[str, np.ndarray],
    cfg: Mapping[str, Any],
    state: Mapping[str, Any],
) -> float:
    """One pass over the shuffled training set; returns the mean objective (loss + regularization)."""
    if "batches" in data:
        return _train_epoch_batches(model, optimizer, data["batches"], state)
    device, rng, pos_weight = state["device"], state["rng"], state["pos_weight"]
    model.train()
    set_trainable(model, state["init"], len(data["tasks"]), state["epoch"])
    batches = _batches(_epoch_rows(len(data["codes"]), cfg["positive_repeats"]), cfg["batch_size"], rng)
    total = 0.0
    for idx in tqdm(batches, desc=f"Epoch {state['epoch']}", leave=False, disable=state["progress"]):
        codes = data["codes"][idx]
        signal = data["signal"][idx] if "signal" in data else None
        if cfg["reverse_complement"]:
            flip = rng.random(len(codes)) < 0.5
            codes[flip] = reverse_complement_codes(codes[flip])
            if signal is not None:
                signal[flip] = signal[flip][:, :, ::-1]
        x = codes_to_tensor(codes, device, signal)
        y = torch.from_numpy(data["labels"][idx]).to(device, non_blocking=True)
        with autocast(device):
            logits = model(x)
        loss = masked_bce_loss(logits.float(), y, pos_weight)
        if hasattr(model, "regularization"):
            loss = loss + model.regularization()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(idx)
    return total / sum(len(b) for b in batches)


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, state) -> float:
    """One optimizer step on a batch already on the device; returns the batch objective."""
    with autocast(state["device"]):
        logits = model(x)
    loss = masked_bce_loss(logits.float(), y, state["pos_weight"])
    if hasattr(model, "regularization"):
        loss = loss + model.regularization()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _train_epoch_batches(model: nn.Module, optimizer: torch.optim.Optimizer, batches, state) -> float:
    """One epoch from a streaming loader (:class:`cisflow.loader.GenomeBatches`, epoch-seeded sampling)."""
    device, total, n = state["device"], 0.0, 0
    model.train()
    set_trainable(model, state["init"], len(batches.tasks), state["epoch"])
    batches.set_epoch(state["epoch"])
    pin = device.type == "cuda"
    for x, y in tqdm(batches, desc=f"Epoch {state['epoch']}", leave=False, disable=state["progress"]):
        x = (x.pin_memory() if pin else x).to(device, non_blocking=True)
        total += _train_step(model, optimizer, x, y.to(device, non_blocking=True), state) * len(y)
        n += len(y)
    return total / max(n, 1)


@torch.no_grad()
def recompute_bn_stats(model: nn.Module, batches: Iterable[torch.Tensor], device: torch.device) -> int:
    """Replace every BatchNorm's running mean/variance by their plain average over ``batches`` (precise BN).

    The running statistics PyTorch keeps during training are an exponential average over the last few
    batches, computed with older weights; when the weights move quickly the eval-mode model sees
    stale statistics (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm"). Here each BatchNorm's
    statistics become the mean over ``batches`` (inputs ``(B, C, L)``; equal sizes give the
    population mean) of its per-batch statistics under the current weights. Nothing else changes
    (forward passes in train mode without gradients; dropout draws use torch's RNG).

    BatchNorms whose parameters are frozen (``requires_grad`` off, :func:`cisflow.transfer.set_trainable`)
    keep their statistics and run in evaluation mode.

    Returns the number of batches used (0 when the model has no trainable BatchNorm).
    """
    every = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    frozen = [m for m in every if m.weight is not None and not m.weight.requires_grad]
    norms = [m for m in every if all(m is not f for f in frozen)]
    if not norms:
        return 0
    was_training, momenta = model.training, [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for m in frozen:
        m.eval()
    n = 0
    try:
        with autocast(device):
            for x in batches:
                model(x.to(device))
                n += 1
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.train(was_training)
    return n


def _bn_batches(data: Mapping[str, Any], cfg: Mapping[str, Any], st: Mapping[str, Any], epoch: int) -> Iterator:
    """Up to ``precise_bn_batches`` training inputs for :func:`recompute_bn_stats`, fixed by (seed, epoch).

    Drawn from their own generator (the training RNG is untouched, so resumes stay exact): the loader's
    batches of this epoch, or batches of a permutation of the npz training set.
    """
    limit = cfg["precise_bn_batches"]
    if "batches" in data:
        loader = data["batches"]
        loader.set_epoch(epoch)
        for k, (x, _) in enumerate(loader):
            if k >= limit:
                return
            yield x
        return
    order = np.random.default_rng([st["config"]["seed"], epoch, 2]).permutation(len(data["codes"]))
    size = cfg["batch_size"]
    for k in range(min(limit, len(order) // size)):
        idx = np.sort(order[k * size : (k + 1) * size])
        yield codes_to_tensor(
            data["codes"][idx], torch.device("cpu"), data["signal"][idx] if "signal" in data else None
        )


def evaluate_split(
    model: nn.Module, data: Mapping[str, np.ndarray], batch_size: int, device: torch.device
) -> dict[str, float]:
    """Unweighted masked BCE and the metrics (mean over tasks, counts summed) of ``model`` on ``data``.

    ``data`` holds ``codes`` (and ``signal``), or ``windows``: a :class:`cisflow.loader.BinWindows` of a
    coordinate dataset, whose windows are made batch by batch. Non-finite predictions (diverged weights)
    give only ``{"loss": nan}``.
    """
    if "windows" in data:
        logits = np.concatenate(list(predict_batches(model, data["windows"], device, logits=True)))
    else:
        logits = predict_logits(model, data["codes"], batch_size=batch_size, device=device, signal=data.get("signal"))
    if not np.isfinite(logits).all():  # diverged weights: only the loss, which says so (_check_finite)
        return {"loss": math.nan}
    loss = float(masked_bce_loss(torch.from_numpy(logits), torch.from_numpy(data["labels"])))
    probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    rows = multitask_metrics(data["labels"], probs, list(data["tasks"]), DEFAULT_FDRS)
    return {"loss": loss, **mean_metrics(rows)}


def format_metrics_line(epoch: int, split: str, m: Mapping[str, float]) -> str:
    """DragoNN's per-epoch line, e.g. ``Epoch 3: Train Loss: 0.2214\\tBalanced Accuracy: 91.23%\\t auROC: ...``."""

    def pct(key: str) -> str:
        return f"{100 * m[key]:.1f}%"

    return (
        f"Epoch {epoch}: {split} Loss: {m['loss']:.4f}\tBalanced Accuracy: {100 * m['balanced_accuracy']:.2f}%\t "
        f"auROC: {m['auroc']:.3f}\t auPRC: {m['auprc']:.3f}\t Recall at 5%|10%|20% FDR: "
        f"{pct('recall_at_5_fdr')}|{pct('recall_at_10_fdr')}|{pct('recall_at_20_fdr')}\t "
        f"Num Positives: {int(m['num_positives'])}\t Num Negatives: {int(m['num_negatives'])}"
    )


def _improved(monitor: str, value: float, best: float | None) -> bool:
    """Whether ``value`` beats ``best`` (lower loss, higher auROC/auPRC); NaN never improves on a number."""
    if best is None:
        return True
    if math.isnan(value):
        return False
    if math.isnan(best):
        return True
    return value < best if monitor == "loss" else value > best


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's state_dict."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _rng_states(rng: np.random.Generator) -> dict[str, Any]:
    """numpy (shuffling, RC flips) and torch (dropout) RNG states, as plain types and tensors."""
    states: dict[str, Any] = {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(rng: np.random.Generator, states: Mapping[str, Any]) -> None:
    """Restore what :func:`_rng_states` saved."""
    rng.bit_generator.state = states["numpy"]
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, st: Mapping[str, Any]) -> None:
    """Atomically write everything needed to continue a training loop (loadable with ``weights_only=True``).

    Parameters
    ----------
    path
        The checkpoint file (written under a temporary name, then renamed).
    model, optimizer
        Their state dicts are saved (the model's as CPU tensors).
    st
        The loop state: ``rng`` (a numpy Generator; saved with torch's RNG states), ``config`` (what
        makes a checkpoint reusable), ``epoch``, ``history``, ``best_state``, ``best_epoch``,
        ``best_value``, ``wait``; other plain entries are saved as they are.
    """
    ckpt = {k: v for k, v in st.items() if k != "rng"}
    ckpt.update(model=_cpu_state(model), optimizer=optimizer.state_dict(), rng=_rng_states(st["rng"]))
    with atomic_path(path) as tmp:
        torch.save(ckpt, tmp)


def read_checkpoint(path: Path, config: Any) -> dict[str, Any] | None:
    """A checkpoint's contents (loaded with ``weights_only=True``), or None (logged, saying what changed) when
    it was written with another ``config`` (model, training settings, seed, or data: the ``data`` entry holds
    the training inputs' content digests); an unreadable file is a CisflowError."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CisflowError(f"cannot read checkpoint ({exc.__class__.__name__}); delete it to start over", path) from exc
    old = ckpt.get("config")
    if old != config:
        changed = [k for k in config if not isinstance(old, dict) or old.get(k) != config[k]]
        changed += [k for k in (old if isinstance(old, dict) else {}) if k not in config]
        what = ", ".join(_CHANGE_NAMES.get(k, k) for k in changed) or "its format"
        log.warning("%s was written for other training (changed: %s); starting over", path, what)
        return None
    return ckpt


_CHANGE_NAMES = {"data": "the training data's content", "train": "train settings", "model": "the model"}


def data_fingerprint(data: Mapping[str, Mapping[str, Any]], files: Iterable[str | Path] = ()) -> dict[str, Any]:
    """Content digests of the training inputs, stored in the checkpoint so that changed data starts over.

    ``data`` holds the loaded ``train`` and ``valid`` datasets (their arrays are hashed, not their files:
    what the data is, not how it was stored); ``files`` are further inputs hashed by their bytes (the
    streaming loader's labels, genome code cache, splits and signal bigWigs).
    """
    arrays = {split: {k: v for k, v in data[split].items() if isinstance(v, np.ndarray)} for split in data}
    return {
        **{split: array_digest(a) for split, a in arrays.items()},
        "files": [file_digest(f) for f in files],
    }


def load_checkpoint(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, st: dict[str, Any], cfg: Mapping[str, Any]
) -> None:
    """Restore model, optimizer, RNGs and loop state from ``path`` into ``st`` (in place).

    A checkpoint written with another ``st["config"]`` is ignored (logged): training starts over.
    ``st["finished"]`` is set with :func:`training_finished` under ``cfg`` (``epochs``, ``min_epochs``,
    ``patience``: they may differ from the run that wrote the checkpoint).
    """
    ckpt = read_checkpoint(path, st["config"])
    if ckpt is None:
        return
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    _set_rng_states(st["rng"], ckpt["rng"])
    for key in ("epoch", "history", "best_state", "best_epoch", "best_value", "wait"):
        st[key] = ckpt[key]
    st["finished"] = training_finished(st, cfg)
    log.info("resumed from %s after epoch %d (best epoch %s)", path, st["epoch"], st["best_epoch"])


def training_finished(st: Mapping[str, Any], cfg: Mapping[str, Any]) -> bool:
    """Whether a training loop is done: ``cfg["epochs"]`` reached, or ``st["wait"]`` epochs without
    improvement reached ``cfg["patience"]`` after ``cfg["min_epochs"]``."""
    patience_out = st["wait"] >= cfg["patience"] and st["epoch"] >= cfg["min_epochs"]
    return st["epoch"] >= cfg["epochs"] or patience_out


def _run_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Mapping[str, Mapping[str, np.ndarray]],
    cfg: Mapping[str, Any],
    st: dict[str, Any],
) -> None:
    """Train one epoch, score train and valid, log DragoNN's lines, update the loop state ``st``."""
    epoch, start = st["epoch"] + 1, time.perf_counter()
    objective = _train_epoch(model, optimizer, data["train"], cfg, {**st, "epoch": epoch})
    if cfg["precise_bn_batches"] and recompute_bn_stats(
        model, _bn_batches(data["train"], cfg, st, epoch), st["device"]
    ):
        log.debug("epoch %d: BatchNorm statistics re-estimated on training batches", epoch)
    eval_batch = max(cfg["batch_size"], 256)
    scores = {split: evaluate_split(model, data[split], eval_batch, st["device"]) for split in ("train", "valid")}
    seconds = time.perf_counter() - start
    _check_finite(epoch, objective, scores, cfg)
    value = scores["valid"][cfg["monitor"]]
    improved = _improved(cfg["monitor"], value, st["best_value"])
    log.debug("epoch %d: training objective %.4f", epoch, objective)
    log.info(format_metrics_line(epoch, "Train", scores["train"]))
    log.info(format_metrics_line(epoch, "Valid", scores["valid"]) + (" *" if improved else ""))
    for split, m in scores.items():
        st["history"].append({"epoch": epoch, "split": split, **m, "seconds": seconds})
    if improved:
        st.update(best_state=_cpu_state(model), best_epoch=epoch, best_value=float(value), wait=0)
    elif _still_at_chance(st["history"], cfg["chance_auroc"]):
        log.info("epoch %d: validation auROC still at chance (<= %g); patience not counted", epoch, cfg["chance_auroc"])
    else:
        st["wait"] += 1
    st["epoch"] = epoch
    st["finished"] = training_finished(st, cfg)


def _still_at_chance(history: list[Mapping[str, Any]], chance: float | None) -> bool:
    """Whether no validation auROC so far exceeds ``chance`` (None: never at chance)."""
    if chance is None:
        return False
    scores = [r["auroc"] for r in history if r["split"] == "valid" and not math.isnan(r["auroc"])]
    return not scores or max(scores) <= chance


def _check_finite(epoch: int, objective: float, scores: Mapping[str, Mapping[str, float]], cfg: Mapping) -> None:
    """A non-finite training objective or loss means training diverged: an error (nothing is saved)."""
    losses = {"training objective": objective, **{f"{split} loss": m["loss"] for split, m in scores.items()}}
    bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
    if bad:
        what = ", ".join(f"{k} {v}" for k, v in bad.items())
        raise CisflowError(
            f"training diverged at epoch {epoch} ({what}); lower train.learning_rate (now {cfg['learning_rate']:g}) "
            "or check the inputs for extreme values"
        )


def _check_learned(st: Mapping[str, Any]) -> None:
    """A finished run whose best validation auROC is no better than chance (0.5) is an error saying so."""
    aurocs = [r["auroc"] for r in st["history"] if r["split"] == "valid" and math.isfinite(r["auroc"])]
    if not aurocs:
        raise CisflowError(
            "the validation set has no auROC (no bound or no unbound bin in it): nothing to select the model on"
        )
    if max(aurocs) <= 0.5:
        raise CisflowError(
            f"training did not learn: the best validation auROC in {st['epoch']} epochs is {max(aurocs):.3f} "
            "(chance is 0.5); check the labels (bound bins per task), train.learning_rate, or train longer "
            "(train.min_epochs)"
        )


def write_history(path: str | Path, history: list[Mapping[str, Any]]) -> None:
    """Write the per-epoch rows (epoch, split, loss, every metric, seconds) as a TSV, atomically."""
    columns = list(history[0]) if history else ["epoch", "split", "loss"]
    with atomic_open(path) as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for row in history:
            writer.writerow([f"{row[c]:.6g}" if isinstance(row[c], float) else row[c] for c in columns])


def plot_learning_curve(
    path: str | Path, history: list[Mapping[str, Any]], monitor: str, best_epoch: int | None = None
) -> None:
    """PNG of loss and the monitored metric (auPRC if monitoring loss) per epoch, train and valid."""
    from matplotlib.figure import Figure

    metric = "auprc" if monitor == "loss" else monitor
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    for ax, key in zip(fig.subplots(1, 2), ("loss", metric), strict=True):
        for split in ("train", "valid"):
            rows = [r for r in history if r["split"] == split]
            ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], marker="o", ms=3, label=split)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", ls="--", lw=1, label=f"best epoch {best_epoch}")
        ax.set(xlabel="epoch", ylabel=key, title=key)
        ax.legend(frameon=False)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)


@contextlib.contextmanager
def deterministic(device: torch.device, threads: int | None = None) -> Iterator[None]:
    """Deterministic algorithms on CPU and ``threads`` torch threads for the duration (restored after)."""
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    previous_threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=warn_only)
        torch.set_num_threads(previous_threads)


def select_tasks(data: dict[str, Any], tasks: Sequence[str] | None, path: str | Path | None = None) -> dict[str, Any]:
    """A dataset with only the label columns of ``tasks`` (in that order; None: all).

    A task the dataset lacks is a CisflowError naming ``path``.
    """
    if tasks is None:
        return data
    have = [str(t) for t in data["tasks"]]
    missing = [t for t in tasks if t not in have]
    if missing or not tasks:
        raise CisflowError(f"no task {missing[0] if missing else '(none given)'!r}; tasks are {', '.join(have)}", path)
    cols = [have.index(t) for t in tasks]
    return {**data, "labels": data["labels"][:, cols], "tasks": np.asarray(data["tasks"])[cols]}


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


def _initial_state(seed: int, device: torch.device, config: dict, progress: bool | None) -> dict[str, Any]:
    """Loop state before epoch 1."""
    return {
        "config": config,
        "epoch": 0,
        "history": [],
        "best_state": None,
        "best_epoch": None,
        "best_value": None,
        "wait": 0,
        "finished": False,
        "rng": np.random.default_rng(seed),
        "device": device,
        "progress": None if progress is None else not progress,
    }


def _summary(st: Mapping[str, Any], cfg: Mapping[str, Any], seconds: list[float]) -> dict[str, Any]:
    """What :func:`train_model` returns."""
    best = st["best_epoch"]
    rows = {r["split"]: r for r in st["history"] if r["epoch"] == best}
    return {
        "completed": bool(st["finished"]),
        "epochs_run": st["epoch"],
        "best_epoch": best,
        "monitor": cfg["monitor"],
        "best_value": st["best_value"],
        "stopped_early": bool(st["finished"] and st["epoch"] < cfg["epochs"]),
        "train": rows.get("train"),
        "valid": rows.get("valid"),
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
    }


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
    if source is not None:
        model_cfg = source_model_config(model_cfg, source[1], init.init_from)
    if not model_is_auto(model_cfg):
        check_model_config(model_cfg)
    if train_batches is None:
        data = _load_data(train_npz, valid_npz, tasks)
    else:
        data = _load_loader_data(train_batches, valid_npz, tasks)
    model_cfg, cfg, auto = _resolve_auto(model_cfg, check_train_config(train_cfg), data, train_batches)
    device, outputs = resolve_device(device), _check_outputs(outputs)
    tasks, length = data["train"]["tasks"].tolist(), int(data["train"]["codes"].shape[1])
    signals = signal_names(data["train"])
    config = {
        "model": model_cfg,
        "signal_names": signals,
        "train": {k: v for k, v in cfg.items() if k not in _RESUMABLE_CHANGES},
        "seed": int(seed),
        "tasks": tasks,
        "input_length": length,
        "sizes": [len(data["train"]["labels"]), len(data["valid"]["labels"])],
        "data": data_fingerprint(data, data_files),
    }
    if train_batches is not None:
        config["loader"] = json.loads(json.dumps(train_batches.describe()))
    with deterministic(device, threads):
        torch.manual_seed(seed)
        in_channels = 4 + len(signals)
        model = build_model(model_cfg["name"], len(tasks), length, in_channels, **model_cfg["params"]).to(device)
        record = initialise(model, init, tasks, length, signals, source)
        if init.active:
            config["init"] = record
        optimizer = make_optimizer(model, init, len(tasks), cfg["learning_rate"], cfg["weight_decay"])
        st = _initial_state(seed, device, config, progress)
        st["init"] = init
        st["pos_weight"] = class_pos_weight(data["train"]["labels"], cfg["class_weights"])
        if st["pos_weight"] is not None:
            st["pos_weight"] = st["pos_weight"].to(device)
        if outputs["checkpoint"].is_file():
            load_checkpoint(outputs["checkpoint"], model, optimizer, st, cfg)
        seconds: list[float] = []
        while not st["finished"]:
            start = time.perf_counter()
            _run_epoch(model, optimizer, data, cfg, st)
            seconds.append(time.perf_counter() - start)
            save_checkpoint(outputs["checkpoint"], model, optimizer, _checkpointable(st))
            if stop_after_epoch is not None and st["epoch"] >= stop_after_epoch and not st["finished"]:
                log.info("stopping after epoch %d as asked; rerun to resume", st["epoch"])
                return _summary(st, cfg, seconds)
    _check_learned(st)
    meta = {"tasks": tasks, "seed": int(seed), "signal_names": signals} | ({"init": record} if init.active else {})
    meta |= {"auto": auto} if auto else {}
    _write_outputs(outputs, model, st, cfg, meta)
    summary = _summary(st, cfg, seconds)
    log.info("best epoch %s (%s %.4f); model %s", st["best_epoch"], cfg["monitor"], st["best_value"], outputs["model"])
    return summary


def _resolve_auto(model_cfg, train_cfg, data, batches) -> tuple[dict, dict[str, Any], dict | None]:
    """Model and train configs with every ``auto`` resolved from the training positives (:mod:`cisflow.autosize`),
    checked; and the record of what was chosen (None when nothing was ``auto``)."""
    if batches is not None:
        n_positives, bin_size = batches.n_positives, batches.bin_size
    else:
        n_positives, bin_size = count_positives(data["train"]["labels"]), None
    model_cfg, train_cfg, auto = resolve_auto(model_cfg, train_cfg, n_positives, bin_size)
    check_model_config(model_cfg)
    model_cfg = json.loads(json.dumps({"name": model_cfg["name"], "params": dict(model_cfg.get("params") or {})}))
    return model_cfg, check_train_config(train_cfg), auto


def _checkpointable(st: Mapping[str, Any]) -> dict[str, Any]:
    """The loop state minus what is rebuilt each run (device, progress, class weights, initialisation)."""
    return {k: v for k, v in st.items() if k not in ("device", "progress", "pos_weight", "init")}


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
    if not isinstance(config, dict) or "model" not in config:
        raise CisflowError("config needs a 'model' section (name, params)", path)
    seed = config.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise CisflowError(f"seed must be an integer; got {seed!r}", path)
    try:
        check_model_section(config["model"])
        train_cfg = check_train_config(config.get("train"))
    except CisflowError as exc:
        raise CisflowError(str(exc), path) from exc
    return dict(config["model"]), train_cfg, seed


def train_from_config(
    train_npz: str | Path,
    valid_npz: str | Path,
    config_path: str | Path,
    outputs: Mapping[str, str | Path],
    seed: int | None = None,
    device: str | None = None,
    threads: int | None = None,
    init: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`train_model` with ``model``/``train``/``seed`` read from a YAML config (``seed`` overrides; default 0;
    ``init`` keys override the config's ``model`` initialisation keys)."""
    model_cfg, train_cfg, config_seed = read_training_config(config_path)
    seed = seed if seed is not None else (config_seed if config_seed is not None else 0)
    return train_model(
        train_npz, valid_npz, outputs, model_cfg, train_cfg, seed, device=device, threads=threads, init=init
    )
