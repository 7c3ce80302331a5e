"""Training checkpoints: everything needed to continue a loop (weights, optimizer, RNGs, history), written
atomically every epoch and resumed only for the same model, settings, seed and data (:func:`data_fingerprint`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.io import array_digest, atomic_path, file_digest
from cisflow.train.loop import cpu_state_dict, training_finished

log = logging.getLogger(__name__)


CHECKPOINT_NAME = "checkpoint.pt"


# keys whose change does not invalidate a checkpoint (training may be extended or cut short)
_RESUMABLE_CHANGES = ("epochs", "min_epochs", "patience", "chance_auroc")


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
    ckpt.update(model=cpu_state_dict(model), optimizer=optimizer.state_dict(), rng=_rng_states(st["rng"]))
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


def _checkpointable(st: Mapping[str, Any]) -> dict[str, Any]:
    """The loop state minus what is rebuilt each run (device, progress, class weights, initialisation)."""
    return {k: v for k, v in st.items() if k not in ("device", "progress", "pos_weight", "init")}
