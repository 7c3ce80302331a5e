"""Gradient-based scores: the input gradient, gradient × input, and hypothetical (centred) gradients."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cisflow.interpret._common import as_onehot, center, check_task, eval_mode, resolve_device


def input_gradients(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    task: int = 0,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Gradient of the ``task`` logit with respect to the one-hot input.

    Parameters
    ----------
    model
        Module mapping one-hot ``(N, 4, L)`` to logits ``(N, T)``; put in eval mode.
    x
        One-hot sequences ``(N, 4, L)``.
    task
        Output column.
    batch_size
        Sequences per backward pass.
    device
        ``None`` → CUDA if available, else CPU.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 4, L)``: ``∂ f_task / ∂ x[n, b, i]``.
    """
    device = resolve_device(device)
    model = eval_mode(model, device)
    x = as_onehot(x)
    check_task(model, x, task, device)
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size].to(device).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(xb)[:, task].sum(), xb)
        out.append(grad.detach().cpu())
    return torch.cat(out).numpy().astype(np.float32) if out else np.zeros(x.shape, np.float32)


def gradient_x_input(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    task: int = 0,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Gradient × input, float32 ``(N, 4, L)``: non-zero only at the sequence's own bases.

    For a model linear in ``x`` (``f = Σ w·x + c``) this is exactly ``w · x``.
    """
    grads = input_gradients(model, x, task, batch_size, device)
    return grads * as_onehot(x).numpy()


def hypothetical_gradients(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    task: int = 0,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Input gradient minus its per-position mean over the 4 bases, float32 ``(N, 4, L)``.

    The one-hot input lies on the simplex ``Σ_b x[b, i] = 1``, so only gradient differences between
    bases are meaningful; centring removes the off-simplex component (Majdandzic et al. 2023). These
    are the "hypothetical" scores modisco-lite takes beside the actual-base scores.
    """
    return center(input_gradients(model, x, task, batch_size, device))
