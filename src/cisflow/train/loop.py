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
import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from tqdm.auto import tqdm

from cisflow.errors import CisflowError
from cisflow.genome import reverse_complement_codes
from cisflow.metrics import DEFAULT_FDRS, mean_metrics, multitask_metrics
from cisflow.predict import autocast, codes_to_tensor, predict_batches, predict_logits
from cisflow.transfer import (
    set_trainable,
)

log = logging.getLogger(__name__)


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


def is_improvement(monitor: str, value: float, best: float | None) -> bool:
    """Whether ``value`` beats ``best`` (lower loss, higher auROC/auPRC); NaN never improves on a number."""
    if best is None:
        return True
    if math.isnan(value):
        return False
    if math.isnan(best):
        return True
    return value < best if monitor == "loss" else value > best


def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's state_dict."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


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
    improved = is_improvement(cfg["monitor"], value, st["best_value"])
    log.debug("epoch %d: training objective %.4f", epoch, objective)
    log.info(format_metrics_line(epoch, "Train", scores["train"]))
    log.info(format_metrics_line(epoch, "Valid", scores["valid"]) + (" *" if improved else ""))
    for split, m in scores.items():
        st["history"].append({"epoch": epoch, "split": split, **m, "seconds": seconds})
    if improved:
        st.update(best_state=cpu_state_dict(model), best_epoch=epoch, best_value=float(value), wait=0)
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


@contextlib.contextmanager
def deterministic(device: torch.device, threads: int | None = None) -> Iterator[None]:
    """Deterministic algorithms on CPU and ``threads`` torch threads for the duration (restored after)."""
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    previous_threads = torch.get_num_threads()
    if threads is not None and int(threads) < 1:
        raise CisflowError(f"threads (--threads) must be at least 1, got {threads}")
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=warn_only)
        torch.set_num_threads(previous_threads)


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
