"""Batched, gradient-free predictions of profile models (BPNet, ChromBPNet and its parts)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.predict import autocast, resolve_device
from cisflow.profile.data import to_tensors

#: What a ChromBPNet can predict: the combined model, the TF model alone (bias-corrected), the bias alone.
HEADS = ("full", "corrected", "bias")


def head_forward(model: nn.Module, head: str = "full") -> Callable:
    """``f(x, control) → (profile logits, log counts)`` for ``head`` of ``model`` (see :data:`HEADS`).

    A model with control tracks called without them gets zero control (synthetic sequences have none;
    bpnet-lite's ``ControlWrapper`` does the same).
    """
    if head not in HEADS:
        raise CisflowError(f"unknown head {head!r}; valid heads: {', '.join(HEADS)}")
    if head == "full":
        n_control = int(getattr(model, "n_control", 0))

        def forward(x: torch.Tensor, control: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
            if control is None and n_control:
                control = x.new_zeros(x.shape[0], n_control, x.shape[2])
            return model(x, control)

        return forward
    if not hasattr(model, "bias"):
        raise CisflowError(f"head {head!r} needs a ChromBPNet (a bias model inside); this is a {type(model).__name__}")
    part = model.model if head == "corrected" else model.bias
    return lambda x, control=None: part(x)


@torch.no_grad()
def predict_profile(
    model: nn.Module,
    codes: np.ndarray,
    control: np.ndarray | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    head: str = "full",
) -> tuple[np.ndarray, np.ndarray]:
    """Profile logits ``(N, T, S, L_out)`` and log counts ``(N, T)`` (float32) of codes ``(N, L_in)``.

    Parameters
    ----------
    model
        A profile model; put in eval mode for the call.
    codes
        uint8 genome codes, one-hot encoded a batch at a time.
    control
        ``(N, C, L_in)`` control tracks for a model that takes them (None: zero control).
    batch_size, device
        Regions per forward pass; ``None`` → CUDA if available (bf16 autocast), else CPU.
    head
        ``full``, ``corrected`` or ``bias`` (the last two for a ChromBPNet).
    """
    device = resolve_device(device)
    forward = head_forward(model, head)
    was_training = model.training
    model.eval().to(device)
    profiles, counts = [], []
    try:
        for start in range(0, len(codes), batch_size):
            batch = {"codes": codes[start : start + batch_size], "counts": np.zeros((0,), np.float32)}
            if control is not None:
                batch["control"] = control[start : start + batch_size]
            x, ctl, _ = to_tensors(batch, device)
            with autocast(device):
                profile, log_counts = forward(x, ctl)
            profiles.append(profile.float().cpu().numpy())
            counts.append(log_counts.float().cpu().numpy())
    finally:
        model.train(was_training)
    if not profiles:
        raise CisflowError("no regions to predict")
    return np.concatenate(profiles), np.concatenate(counts)


def expected_counts(profile_logits: np.ndarray, log_counts: np.ndarray) -> np.ndarray:
    """Predicted counts per base: ``softmax(profile over strands × positions) · (exp(log counts) − 1)``.

    ``(N, T, S, L)`` and ``(N, T)`` → ``(N, T, S, L)`` float64.
    """
    logits = profile_logits.astype(np.float64)
    flat = logits.reshape(*logits.shape[:2], -1)
    probs = np.exp(flat - flat.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    return (probs * np.expm1(log_counts.astype(np.float64))[:, :, None]).reshape(logits.shape)
