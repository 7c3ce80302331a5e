"""Shared helpers for the contribution-score methods: input checks, batched task outputs (and ``resolve_device``)."""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.predict import fold_batchnorm, resolve_device  # noqa: F401 - fold_batchnorm: the interpreters'

log = logging.getLogger(__name__)


def as_onehot(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Check and convert a one-hot batch to a float32 CPU tensor ``(N, 4, L)``."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach().to("cpu", torch.float32)
    if t.ndim != 3 or t.shape[1] != 4:
        raise CisflowError(f"expected one-hot sequences of shape (N, 4, L), got {tuple(t.shape)}")
    return t


def check_task(model: nn.Module, x: torch.Tensor, task: int, device: torch.device) -> None:
    """Raise CisflowError unless ``model(x[:1])`` gives ``(1, T)`` logits with ``0 <= task < T``."""
    with torch.no_grad():
        out = model(x[:1].to(device))
    if out.ndim != 2:
        raise CisflowError(f"model must return logits of shape (N, T), got {tuple(out.shape)}")
    if not 0 <= task < out.shape[1]:
        raise CisflowError(f"task {task} out of range: the model has {out.shape[1]} task(s)")


@torch.no_grad()
def task_logits(
    model: nn.Module, x: torch.Tensor, task: int, batch_size: int = 256, device: torch.device | None = None
) -> torch.Tensor:
    """Logit of ``task`` for every sequence, float64 CPU ``(N,)``; ``x`` stays on CPU, moved per batch."""
    device = resolve_device(device)
    out = [model(x[i : i + batch_size].to(device))[:, task].double().cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


def center(scores: np.ndarray) -> np.ndarray:
    """Subtract the per-position mean over the 4 bases: ``(N, 4, L)`` → ``(N, 4, L)``."""
    return scores - scores.mean(axis=1, keepdims=True)


def eval_mode(model: nn.Module, device: torch.device) -> nn.Module:
    """Move ``model`` to ``device`` and put it in eval mode (dropout off, batch-norm running stats)."""
    return model.to(device).eval()
