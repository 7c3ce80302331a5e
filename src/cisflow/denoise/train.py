"""Training of a denoising model on (noisy, clean, clean peaks) tracks, with held-out chromosomes.

The loss is AtacWorks': for the track ``mse_weight · MSE + pearson_weight · (1 − r)`` (r: Pearson
correlation over every base of the batch) and for the peaks ``bce_weight · BCE``. Training windows
tile the training chromosomes in cores of ``interval`` bp (a fresh random offset each epoch), each
read with ``pad`` bp of flank; the loss covers the cores' bases on the chromosome. After each
epoch the whole validation chromosomes are denoised (:mod:`cisflow.denoise.infer`) and scored, and
everything needed to continue is checkpointed, so a rerun after a kill resumes exactly.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from cisflow.denoise.coverage import DEFAULT_FLANK, interval_mask, tile_starts
from cisflow.denoise.infer import default_pad, predict_chromosome
from cisflow.denoise.io import TrackReader, write_table
from cisflow.denoise.metrics import peak_metrics, pearson
from cisflow.denoise.settings import TRAIN_DEFAULTS
from cisflow.errors import CisflowError, require_file
from cisflow.models import META_NAME, WEIGHTS_NAME, build_model, check_model_config, save_model_files
from cisflow.narrowpeak import read_narrowpeak
from cisflow.predict import resolve_device
from cisflow.train import deterministic, load_checkpoint, save_checkpoint, training_finished

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
#: The files of a denoiser training run (``outputs`` keys) and their names in a folder (:func:`denoiser_outputs`).
DENOISER_FILES = {"model": WEIGHTS_NAME, "meta": META_NAME, "history": "history.tsv", "checkpoint": CHECKPOINT_NAME}
MONITORS = {"loss": min, "pearson": max, "auprc": max}
_RESUMABLE = ("epochs", "min_epochs", "patience")


def check_denoise_train_config(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """The training settings with defaults filled; an unknown key or bad value → CisflowError."""
    out = {**TRAIN_DEFAULTS, **dict(cfg or {})}
    unknown = [k for k in out if k not in TRAIN_DEFAULTS]
    if unknown:
        raise CisflowError(f"unknown denoise training key {unknown[0]!r}; valid keys: {', '.join(TRAIN_DEFAULTS)}")
    for key in ("epochs", "min_epochs", "batch_size", "interval", "patience"):
        if not isinstance(out[key], int) or isinstance(out[key], bool) or out[key] < 1:
            raise CisflowError(f"denoise.{key} must be a positive integer; got {out[key]!r}")
    if out["pad"] is not None and (not isinstance(out["pad"], int) or out["pad"] < 0):
        raise CisflowError(f"denoise.pad must be null or a non-negative integer; got {out['pad']!r}")
    for key in ("learning_rate", "mse_weight", "pearson_weight", "bce_weight", "clip_grad"):
        if not isinstance(out[key], int | float) or isinstance(out[key], bool) or out[key] < 0:
            raise CisflowError(f"denoise.{key} must be a non-negative number; got {out[key]!r}")
    if out["monitor"] not in MONITORS:
        raise CisflowError(f"denoise.monitor must be one of {', '.join(MONITORS)}; got {out['monitor']!r}")
    return out


def pearson_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """``1 − r`` with r the Pearson correlation over every element (AtacWorks' ``PearsonLoss``)."""
    dp, dt = pred - pred.mean(), target - target.mean()
    return 1.0 - (dp * dt).sum() / (torch.sqrt((dp * dp).sum()) * torch.sqrt((dt * dt).sum()) + eps)


def denoising_loss(
    track: torch.Tensor,
    logits: torch.Tensor,
    clean: torch.Tensor,
    peaks: torch.Tensor,
    weights: Mapping[str, float],
) -> tuple[torch.Tensor, dict[str, float]]:
    """AtacWorks' loss on matching flat tensors ``(M,)``: track vs ``clean``, logits vs ``peaks`` (0/1).

    Returns
    -------
    tuple
        The weighted total (a scalar tensor) and its unweighted parts ``mse``, ``pearson_loss``, ``bce``.
    """
    parts = {
        "mse": functional.mse_loss(track, clean),
        "pearson_loss": pearson_loss(track, clean),
        "bce": functional.binary_cross_entropy_with_logits(logits, peaks),
    }
    total = (weights["mse_weight"] * parts["mse"] + weights["pearson_weight"] * parts["pearson_loss"]
             + weights["bce_weight"] * parts["bce"])  # fmt: skip
    return total, {k: float(v.detach()) for k, v in parts.items()}


class PeakIndex:
    """Per-base peak labels of any window from a peak table (intervals sorted per chromosome)."""

    def __init__(self, peaks: Any, chroms: Sequence[str]) -> None:
        self._by_chrom = {}
        for chrom in chroms:
            part = peaks[peaks["chrom"] == chrom].sort_values("start")
            starts, ends = part["start"].to_numpy(np.int64), part["end"].to_numpy(np.int64)
            width = int((ends - starts).max()) if len(starts) else 0
            self._by_chrom[chrom] = (starts, ends, width)

    def labels(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Bool ``(end - start,)``: bases of ``[start, end)`` inside a peak."""
        starts, ends, width = self._by_chrom[chrom]
        lo, hi = np.searchsorted(starts, start - width), np.searchsorted(starts, end)
        return interval_mask(starts[lo:hi] - start, ends[lo:hi] - start, end - start)


def _batch(
    reader: TrackReader, peaks: PeakIndex, windows: Sequence[tuple[str, int]], interval: int, pad: int
) -> dict[str, torch.Tensor]:
    """Inputs ``(B, 1, L + 2 pad)`` and the cores' clean track, peak labels and on-chromosome mask ``(B, L)``."""
    x, clean, labels, mask = [], [], [], []
    for chrom, start in windows:
        tracks = reader.window(chrom, start - pad, start + interval + pad)
        x.append(tracks[:1])
        clean.append(tracks[1, pad : pad + interval])
        labels.append(peaks.labels(chrom, start, start + interval))
        pos = np.arange(start, start + interval)
        mask.append((pos >= 0) & (pos < reader.sizes[chrom]))
    return {"x": torch.from_numpy(np.stack(x)), "clean": torch.from_numpy(np.stack(clean)),
            "peaks": torch.from_numpy(np.stack(labels).astype(np.float32)),
            "mask": torch.from_numpy(np.stack(mask))}  # fmt: skip


def _epoch_windows(sizes: Mapping[str, int], chroms: Sequence[str], interval: int, rng: np.random.Generator) -> list:
    """``(chrom, core start)`` tiling ``chroms`` with a random offset per chromosome, shuffled."""
    windows = [(c, int(s)) for c in chroms for s in tile_starts(sizes[c], interval, int(rng.integers(interval)))]
    return [windows[i] for i in rng.permutation(len(windows))]


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: dict, cfg: Mapping, st: dict) -> float:
    """One gradient step on a batch; returns its loss."""
    device, pad = st["device"], st["pad"]
    x = batch["x"].to(device)
    track, logits = model(x)
    core = slice(pad, pad + cfg["interval"])
    m = batch["mask"].to(device)
    loss, _ = denoising_loss(track[:, core][m], logits[:, core][m], batch["clean"].to(device)[m],
                             batch["peaks"].to(device)[m], cfg)  # fmt: skip
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if cfg["clip_grad"] > 0:
        nn.utils.clip_grad_norm_(model.parameters(), cfg["clip_grad"])
    optimizer.step()
    return float(loss.detach())


def _train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: dict, cfg: Mapping, st: dict) -> float:
    """One pass over the training windows (skipping windows without any input coverage); mean batch loss."""
    from tqdm.auto import tqdm

    model.train()
    windows = _epoch_windows(data["sizes"], data["train_chroms"], cfg["interval"], st["rng"])
    losses = []
    steps = range(0, len(windows), cfg["batch_size"])
    for i in tqdm(steps, desc=f"epoch {st['epoch'] + 1}", disable=st["progress"], leave=False):
        batch = _batch(data["reader"], data["peaks"], windows[i : i + cfg["batch_size"]], cfg["interval"], st["pad"])
        keep = batch["x"].flatten(1).amax(1) > 0
        if keep.any():
            losses.append(_train_step(model, optimizer, {k: v[keep] for k, v in batch.items()}, cfg, st))
    return float(np.mean(losses)) if losses else math.nan


def validation_scores(model: nn.Module, data: dict, cfg: Mapping, st: dict) -> dict[str, float]:
    """Loss (and its parts), track Pearson and per-base peak AUPRC on the whole validation chromosomes."""
    model.eval()
    reader, tracks, probs, cleans, labels = data["reader"], [], [], [], []
    for chrom in data["valid_chroms"]:
        size = data["sizes"][chrom]
        t, p = predict_chromosome(model, lambda c, s, e: reader.window(c, s, e)[:1], chrom, size,
                                  interval=cfg["interval"], pad=st["pad"], device=st["device"])  # fmt: skip
        tracks.append(t)
        probs.append(p)
        cleans.append(reader.window(chrom, 0, size)[1])
        labels.append(data["peaks"].labels(chrom, 0, size))
    track, prob, clean, label = (np.concatenate(a) for a in (tracks, probs, cleans, labels))
    logits = torch.logit(torch.from_numpy(prob), eps=1e-6)
    loss, parts = denoising_loss(torch.from_numpy(track), logits, torch.from_numpy(clean),
                                 torch.from_numpy(label.astype(np.float32)), cfg)  # fmt: skip
    return {"loss": float(loss), **parts, "pearson": pearson(track, clean), **peak_metrics(prob, label)}


def _improved(monitor: str, value: float, best: float | None) -> bool:
    """Whether ``value`` beats ``best`` (lower loss, higher Pearson / AUPRC); NaN never does."""
    if not math.isfinite(value):
        return False
    return best is None or MONITORS[monitor](value, best) != best


def _run_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: dict, cfg: Mapping, st: dict) -> None:
    """Train one epoch, score the validation chromosomes, keep the best weights, log one line."""
    start = time.perf_counter()
    train_loss = _train_epoch(model, optimizer, data, cfg, st)
    scores = validation_scores(model, data, cfg, st)
    st["epoch"] += 1
    value = scores[cfg["monitor"]]
    improved = _improved(cfg["monitor"], value, st["best_value"])
    if improved:
        st.update(best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
                  best_epoch=st["epoch"], best_value=float(value), wait=0)  # fmt: skip
    else:
        st["wait"] += 1
    row = {"epoch": st["epoch"], "train_loss": train_loss, **{f"valid_{k}": v for k, v in scores.items()},
           "seconds": time.perf_counter() - start}  # fmt: skip
    st["history"].append(row)
    log.info(
        "epoch %d: train loss %.4f; valid loss %.4f, Pearson %.4f, AUPRC %.4f (%.0f s)%s",
        st["epoch"],
        train_loss,
        scores["loss"],
        scores["pearson"],
        scores["auprc"],
        row["seconds"],
        " *" if improved else "",
    )


def _file_id(path: Path) -> list:
    """Name and size of an input file (a changed input invalidates a checkpoint)."""
    return [path.name, path.stat().st_size]


def _load_pair(
    noisy_bw: str | Path, clean_bw: str | Path, clean_peaks: str | Path, sizes: Mapping[str, int], splits: dict
) -> dict[str, Any]:
    """Open the tracks and index the clean peaks of the training and validation chromosomes."""
    peaks = read_narrowpeak(require_file(clean_peaks, "clean peaks"), sizes)
    chroms = [c for c, s in splits.items() if s in ("train", "valid")]
    return {
        "reader": TrackReader([noisy_bw, clean_bw], sizes),
        "peaks": PeakIndex(peaks, chroms),
        "sizes": dict(sizes),
        "train_chroms": [c for c, s in splits.items() if s == "train"],
        "valid_chroms": [c for c, s in splits.items() if s == "valid"],
    }


def _build(model_cfg: Mapping[str, Any], cfg: Mapping[str, Any]) -> tuple[nn.Module, int]:
    """The model (input length = interval + 2 pad) and the pad (default: its receptive radius).

    With a model of ``resolution`` r > 1, ``interval`` must be a multiple of r and ``pad`` is
    rounded up to one, so windows bin the genome alike wherever they start.
    """
    name, params = model_cfg["name"], dict(model_cfg.get("params") or {})
    with torch.device("meta"):
        probe = build_model(name, 1, cfg["interval"], 1, **params)
    radius, r = default_pad(probe), int(getattr(probe, "resolution", 1))
    if cfg["interval"] % r:
        raise CisflowError(f"denoise.interval ({cfg['interval']}) must be a multiple of the model's resolution ({r})")
    pad = radius if cfg["pad"] is None else -(-cfg["pad"] // r) * r
    if pad < radius:
        log.warning("pad %d bp is below the model's receptive radius %d bp: window edges differ from "
                    "whole-chromosome outputs", pad, radius)  # fmt: skip
    return build_model(name, 1, cfg["interval"] + 2 * pad, 1, **params), pad


def denoiser_outputs(out_dir: str | Path) -> dict[str, Path]:
    """The usual output paths of :func:`train_denoiser` in ``out_dir`` (:data:`DENOISER_FILES`)."""
    return {key: Path(out_dir) / name for key, name in DENOISER_FILES.items()}


def _check_outputs(outputs: Mapping[str, str | Path]) -> dict[str, Path]:
    """The four output paths of a denoiser training run; CisflowError for a missing key or weights not beside
    their metadata (checked before training, not after it)."""
    missing = [key for key in DENOISER_FILES if key not in outputs]
    if missing:
        raise CisflowError(f"denoiser outputs lack {', '.join(missing)} (need {', '.join(DENOISER_FILES)})")
    paths = {key: Path(outputs[key]) for key in DENOISER_FILES}
    if paths["model"].parent.resolve() != paths["meta"].parent.resolve():
        raise CisflowError(f"model weights must sit beside their metadata ({paths['meta'].parent})", paths["model"])
    return paths


def train_denoiser(
    noisy_bw: str | Path,
    clean_bw: str | Path,
    clean_peaks: str | Path,
    sizes: Mapping[str, int],
    outputs: Mapping[str, str | Path],
    *,
    valid_chroms: Sequence[str],
    test_chroms: Sequence[str] = (),
    model_cfg: Mapping[str, Any] | None = None,
    train_cfg: Mapping[str, Any] | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    threads: int | None = None,
    progress: bool | None = None,
    stop_after_epoch: int | None = None,
    flank: int = DEFAULT_FLANK,
) -> dict[str, Any]:
    """Train a denoising model, pick the epoch best on the validation chromosomes, resumable.

    Parameters
    ----------
    noisy_bw, clean_bw
        Low- and full-coverage tracks of one library, in one unit (:func:`~cisflow.denoise.pipeline.coverage_bigwig`).
    clean_peaks
        narrowPeak of the full library (the classification target).
    sizes
        ``{chrom: length}``; chromosomes not in ``valid_chroms`` / ``test_chroms`` are trained on.
    outputs
        ``checkpoint`` (written every epoch; an existing one is resumed), then ``model`` (safetensors
        weights), ``meta`` (their JSON in the same folder, with ``interval``, ``pad``, the splits and the
        settings) and ``history`` (TSV); :func:`denoiser_outputs` gives the usual names in a folder.
    valid_chroms, test_chroms
        Held-out chromosomes: validation picks the best epoch; test chromosomes are never read.
    model_cfg
        ``{"name": ..., "params": {...}}``; default the ``denoising_resnet`` with AtacWorks' sizes.
    train_cfg
        Settings (:data:`TRAIN_DEFAULTS`).
    seed
        Seeds initialisation, window offsets and order.
    device
        ``None`` → CUDA if available, else CPU (deterministic algorithms).
    threads, progress, stop_after_epoch
        torch CPU threads; a progress bar (``None``: on a terminal); stop after checkpointing this
        epoch without final outputs (as if killed; a rerun resumes).
    flank
        The cut-site extension the tracks were made with; recorded in ``model.json`` so that new
        samples get the same (:func:`~cisflow.denoise.pipeline.denoise_reads`).

    Returns
    -------
    dict
        ``completed``, ``epochs_run``, ``best_epoch``, ``monitor``, ``best_value``, ``pad``,
        ``valid`` (scores at the best epoch), ``seconds``.
    """
    from cisflow.splits import make_splits

    cfg = check_denoise_train_config(train_cfg)
    model_cfg = json.loads(json.dumps(dict(model_cfg or {"name": "denoising_resnet", "params": {}})))
    check_model_config(model_cfg, family="denoise")
    splits = make_splits(list(sizes), valid_chroms, test_chroms)
    if not valid_chroms:
        raise CisflowError("denoising needs at least one validation chromosome (valid_chroms)")
    outputs = _check_outputs(outputs)
    device, started = resolve_device(device), time.perf_counter()
    data = _load_pair(noisy_bw, clean_bw, clean_peaks, sizes, splits)
    config = {"model": model_cfg, "train": {k: v for k, v in cfg.items() if k not in _RESUMABLE}, "seed": int(seed),
              "splits": splits, "data": [_file_id(Path(p)) for p in (noisy_bw, clean_bw, clean_peaks)]}  # fmt: skip
    with deterministic(device, threads), data["reader"]:
        torch.manual_seed(seed)
        model, pad = _build(model_cfg, cfg)
        model = model.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"])
        st = {"config": config, "epoch": 0, "history": [], "best_state": None, "best_epoch": None,
              "best_value": None, "wait": 0, "rng": np.random.default_rng(seed), "device": device, "pad": pad,
              "progress": None if progress is None else not progress}  # fmt: skip
        if outputs["checkpoint"].is_file():
            load_checkpoint(outputs["checkpoint"], model, optimizer, st, cfg)
        while not training_finished(st, cfg):
            _run_epoch(model, optimizer, data, cfg, st)
            state = {k: v for k, v in st.items() if k not in ("device", "progress", "finished")}
            save_checkpoint(outputs["checkpoint"], model, optimizer, state)
            if stop_after_epoch is not None and st["epoch"] >= stop_after_epoch and not training_finished(st, cfg):
                log.info("stopping after epoch %d as asked; rerun to resume", st["epoch"])
                return _summary(st, cfg, started, completed=False)
    _write_outputs(outputs, model, st, cfg, {"seed": int(seed), "splits": splits, "flank": int(flank)})
    return _summary(st, cfg, started, completed=True)


def _write_outputs(outputs: Mapping[str, Path], model: nn.Module, st: Mapping, cfg: Mapping, meta: dict) -> None:
    """Best weights + their JSON (settings, pad, splits) and the history TSV."""
    if st["best_state"] is None:
        raise CisflowError("no epoch gave a finite validation score (empty validation chromosomes?)", outputs["model"])
    model.load_state_dict(st["best_state"])
    meta = {**meta, "interval": cfg["interval"], "pad": st["pad"], "best_epoch": st["best_epoch"],
            "monitor": cfg["monitor"], "best_value": st["best_value"], "epochs_run": st["epoch"],
            "train_config": dict(cfg)}  # fmt: skip
    save_model_files(outputs["model"], outputs["meta"], model, meta)
    write_table(outputs["history"], st["history"])
    log.info("best epoch %s (%s %.4f); model %s", st["best_epoch"], cfg["monitor"], st["best_value"], outputs["model"])


def _summary(st: Mapping, cfg: Mapping, started: float, completed: bool) -> dict[str, Any]:
    best = next((r for r in st["history"] if r["epoch"] == st["best_epoch"]), None)
    return {"completed": completed, "epochs_run": st["epoch"], "best_epoch": st["best_epoch"],
            "monitor": cfg["monitor"], "best_value": st["best_value"], "pad": st["pad"], "valid": best,
            "seconds": time.perf_counter() - started}  # fmt: skip
