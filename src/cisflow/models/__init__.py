"""Models built from config by name, and their safetensors + JSON persistence.

Every sequence model is a plain ``nn.Module`` mapping input ``(N, C, L)`` (C = 4 for one-hot DNA)
to logits ``(N, T)``; the denoising ResNet (:data:`DENOISE_MODELS`) maps coverage
``(N, C, L)`` to a denoised track and peak logits, both ``(N, L)``; the base-resolution models in
:data:`PROFILE_MODELS` (BPNet, ChromBPNet) map one-hot DNA to profile logits ``(N, T, S, L_out)`` and log
counts ``(N, T)`` (:mod:`cisflow.profile`). A saved model is ``model.safetensors`` (the state_dict)
beside ``model.json`` (``name``, ``params``, ``n_tasks``, ``input_length``, ``in_channels``, ``tasks``, ``seed``, ...).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from cisflow.errors import CisflowError
from cisflow.io import atomic_path, write_json
from cisflow.models.basset import Basset
from cisflow.models.bpnet import BPNet, ChromBPNet
from cisflow.models.danq import DanQ
from cisflow.models.deepbind import DeepBind
from cisflow.models.deepsea import DeepSEA
from cisflow.models.denoising import DenoisingResNet
from cisflow.models.sequence_dnn import PRESETS as SEQUENCE_DNN_PRESETS
from cisflow.models.sequence_dnn import SequenceDNN

log = logging.getLogger(__name__)

MODELS: dict[str, type[nn.Module]] = {
    "sequence_dnn": SequenceDNN,
    "deepbind": DeepBind,
    "basset": Basset,
    "danq": DanQ,
    "deepsea": DeepSEA,
}
PROFILE_MODELS: dict[str, type[nn.Module]] = {"bpnet": BPNet, "chrombpnet": ChromBPNet}
DENOISE_MODELS: dict[str, type[nn.Module]] = {"denoising_resnet": DenoisingResNet}
_FAMILIES = {"classifier": MODELS, "profile": PROFILE_MODELS, "denoise": DENOISE_MODELS}
_ALL_MODELS = {**MODELS, **PROFILE_MODELS, **DENOISE_MODELS}
_FIXED = ("self", "n_tasks", "input_length", "in_channels")
WEIGHTS_NAME = "model.safetensors"
META_NAME = "model.json"

__all__ = [
    "DENOISE_MODELS",
    "MODELS",
    "PROFILE_MODELS",
    "SEQUENCE_DNN_PRESETS",
    "BPNet",
    "Basset",
    "ChromBPNet",
    "DanQ",
    "DeepBind",
    "DeepSEA",
    "DenoisingResNet",
    "SequenceDNN",
    "build_model",
    "check_model_config",
    "load_model",
    "model_params",
    "save_model",
    "save_model_files",
]


def model_params(name: str) -> dict[str, Any]:
    """Hyperparameters of model ``name`` with defaults (besides n_tasks, input_length, in_channels)."""
    if name not in _ALL_MODELS:
        raise CisflowError(f"unknown model {name!r}; valid models: {', '.join(_ALL_MODELS)}")
    sig = inspect.signature(_ALL_MODELS[name].__init__)
    return {k: p.default for k, p in sig.parameters.items() if k not in _FIXED}


def _check_params(name: str, params: Mapping[str, Any]) -> None:
    """Raise CisflowError for a parameter that model ``name`` does not take."""
    valid = model_params(name)
    unknown = [k for k in params if k not in valid]
    if unknown:
        raise CisflowError(f"unknown parameter {unknown[0]!r} for model {name!r}; valid parameters: {', '.join(valid)}")


def build_model(name: str, n_tasks: int, input_length: int, in_channels: int = 4, **params: Any) -> nn.Module:
    """Build model ``name`` with explicit hyperparameters.

    Parameters
    ----------
    name
        One of ``sequence_dnn``, ``deepbind``, ``basset``, ``danq``, ``deepsea`` (sequence models; DanQ's and
        DeepSEA's defaults are the published sizes), ``denoising_resnet``, or a profile model (``bpnet``,
        ``chrombpnet``).
    n_tasks
        Outputs T; the model maps ``(N, in_channels, input_length)`` → logits ``(N, T)`` (profile models:
        profile logits and log counts per task).
    input_length
        Sequence length L in bp.
    in_channels
        Input channels C (4 for one-hot DNA; more for extra signal tracks).
    **params
        The model's hyperparameters (see :func:`model_params`); missing ones take their defaults.

    Raises
    ------
    CisflowError
        Unknown name or parameter (listing the valid ones), or values the model cannot take.
    """
    _check_params(name, params)
    try:
        model = _ALL_MODELS[name](
            n_tasks=int(n_tasks), input_length=int(input_length), in_channels=int(in_channels), **params
        )
    except (TypeError, ValueError, RuntimeError) as exc:
        if isinstance(exc, CisflowError):
            raise
        raise CisflowError(f"model {name!r}: bad parameters {dict(params)} ({exc})") from exc
    model.spec = {  # type: ignore[assignment]
        "name": name,
        "params": dict(params),
        "n_tasks": int(n_tasks),
        "input_length": int(input_length),
        "in_channels": int(in_channels),
    }
    return model


def check_model_config(cfg: Any, input_length: int | None = None, n_tasks: int = 1, family: str = "classifier") -> None:
    """Validate a model config ``{"name": ..., "params": {...}}`` before any job runs.

    Names and parameter names are always checked; when ``input_length`` is given the model is
    also built (on the meta device, no memory) so values that do not fit the length fail here.
    ``family`` is ``classifier`` (:data:`MODELS`), ``profile`` (:data:`PROFILE_MODELS`) or ``denoise``
    (:data:`DENOISE_MODELS`); a model of another family is an error.
    """
    if not isinstance(cfg, Mapping) or "name" not in cfg:
        raise CisflowError("model config must be a mapping with 'name' (and optional 'params')")
    names = _FAMILIES[family]
    if str(cfg["name"]) in _ALL_MODELS and str(cfg["name"]) not in names:
        raise CisflowError(f"model {cfg['name']!r} is not a {family} model; valid models: {', '.join(names)}")
    params = cfg.get("params") or {}
    if not isinstance(params, Mapping):
        raise CisflowError(f"model params must be a mapping, got {type(params).__name__}")
    _check_params(str(cfg["name"]), params)
    if input_length is not None:
        with torch.device("meta"):
            build_model(str(cfg["name"]), n_tasks, input_length, **params)


def save_model(out_dir: str | Path, model: nn.Module, meta: Mapping[str, Any] | None = None) -> None:
    """Write ``out_dir/model.safetensors`` (state_dict) and ``out_dir/model.json`` (:func:`save_model_files`)."""
    out_dir = Path(out_dir)
    save_model_files(out_dir / WEIGHTS_NAME, out_dir / META_NAME, model, meta)


def save_model_files(
    weights: str | Path, meta_path: str | Path, model: nn.Module, meta: Mapping[str, Any] | None = None
) -> None:
    """Write the state_dict to ``weights`` (safetensors) and the metadata JSON to ``meta_path``, atomically.

    ``meta`` is merged over ``model.spec`` (set by :func:`build_model`); it must end up holding
    ``name``, ``params``, ``n_tasks`` and ``input_length`` (plus e.g. ``tasks``, ``seed``). The two files
    share a folder; the JSON records the weights' file name (``weights``) for :func:`load_model`.
    """
    weights, meta_path = Path(weights), Path(meta_path)
    if weights.parent.resolve() != meta_path.parent.resolve():
        raise CisflowError(f"model weights must sit beside their metadata ({meta_path.parent})", weights)
    full = {**getattr(model, "spec", {}), **(meta or {}), "weights": weights.name}
    missing = [k for k in ("name", "params", "n_tasks", "input_length") if k not in full]
    if missing:
        raise CisflowError(f"model metadata lacks {', '.join(missing)}", meta_path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={"name": str(full["name"])})
    write_json(meta_path, full)


def _read_meta(path: Path) -> dict:
    """Read and check ``model.json``."""
    if not path.is_file():
        raise CisflowError("model metadata does not exist", path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CisflowError(f"not valid JSON ({exc})", path) from exc
    missing = [k for k in ("name", "params", "n_tasks", "input_length") if k not in meta]
    if missing:
        raise CisflowError(f"model metadata lacks {', '.join(missing)}", path)
    return meta


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Load a saved model from its directory or its ``model.json``; returns ``(model in eval mode, meta)``."""
    path = Path(path)
    meta_path = path / META_NAME if path.is_dir() else path
    meta = _read_meta(meta_path)
    weights = meta_path.parent / meta.get("weights", WEIGHTS_NAME)
    if not weights.is_file():
        raise CisflowError("model weights do not exist", weights)
    model = build_model(
        meta["name"], meta["n_tasks"], meta["input_length"], in_channels=meta.get("in_channels", 4), **meta["params"]
    )
    try:
        state = load_file(str(weights), device=str(device))
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise CisflowError(f"cannot load weights ({str(exc).splitlines()[0]})", weights) from exc
    return model.to(device).eval(), meta
