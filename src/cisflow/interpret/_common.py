"""Shared helpers for the contribution-score methods: input checks, batched task outputs (and ``resolve_device``)."""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from cisflow.errors import CisflowError
from cisflow.predict import resolve_device

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


def fold_batchnorm(model: nn.Module) -> fx.GraphModule:
    """``model`` traced with ``torch.fx``, each eval-mode BatchNorm1d folded into the Conv1d / Linear before it.

    The folded layer computes ``bn(layer(x))`` as one affine map (same function, float rounding aside),
    so interpretation passes skip the batch-norm. The model is copied; tracing errors propagate.
    """
    gm = fx.symbolic_trace(copy.deepcopy(model).eval())
    modules = dict(gm.named_modules())
    for node in list(gm.graph.nodes):
        prev = node.args[0] if node.op == "call_module" and node.args else None
        if not isinstance(modules.get(node.target), nn.BatchNorm1d) or not isinstance(prev, fx.Node):
            continue
        layer, bn = modules.get(prev.target) if prev.op == "call_module" else None, modules[node.target]
        if len(prev.users) != 1 or not bn.track_running_stats or not isinstance(layer, nn.Conv1d | nn.Linear):
            continue
        fold = fuse_conv_bn_eval if isinstance(layer, nn.Conv1d) else fuse_linear_bn_eval
        parent, _, name = prev.target.rpartition(".")
        setattr(gm.get_submodule(parent) if parent else gm, name, fold(layer, bn))
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm
