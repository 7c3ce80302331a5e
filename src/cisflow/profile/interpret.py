"""DeepSHAP of a profile model's two heads, in the form the modisco-lite / JASPAR stage reads.

- counts head: the predicted log counts of one task;
- profile head: BPNet's "softmax-weighted logits", ``Σᵢ wᵢ (yᵢ − ȳ)`` over the task's strands and
  positions, with ``w = softmax(y)`` held constant (no gradient through it, as chrombpnet and
  bpnet-lite explain the profile).

DeepSHAP (:func:`cisflow.interpret.deepshap.deepshap_scores`) runs each input beside its references as
one batch ``[x; r]``; :class:`HeadTarget` applies an input's softmax weights to its own reference too,
so the profile target is linear in the logits with the same weights on both sides and DeepSHAP's
summation-to-delta holds exactly. Control tracks, when the model takes them, are zero (the DNA is
explained as bpnet-lite's ``ControlWrapper`` does).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.genome import one_hot
from cisflow.interpret.deepshap import deepshap_scores

log = logging.getLogger(__name__)

TARGETS = ("counts", "profile")


class HeadTarget(nn.Module):
    """One scalar per sequence from a profile model, for DeepSHAP: ``(B, 4, L)`` → ``(B, 1)``.

    Parameters
    ----------
    model
        A BPNet or ChromBPNet.
    target
        ``counts`` (log counts of ``task``) or ``profile`` (softmax-weighted, mean-centred logits).
    task
        Task index.
    head
        ``full``, ``corrected`` (a ChromBPNet's TF model) or ``bias`` (its bias model).

    Notes
    -----
    For ``profile``, row ``i`` uses the softmax weights of row ``i mod ⌈B / 2⌉``: in DeepSHAP's batch
    ``[x; r]`` each reference is weighted like its input; a lone sequence uses its own weights.
    """

    def __init__(self, model: nn.Module, target: str, task: int = 0, head: str = "full") -> None:
        super().__init__()
        if target not in TARGETS:
            raise CisflowError(f"unknown target {target!r}; valid targets: {', '.join(TARGETS)}")
        if head != "full" and not hasattr(model, "bias"):
            raise CisflowError(f"head {head!r} needs a ChromBPNet; this is a {type(model).__name__}")
        self.part = {"full": model, "corrected": getattr(model, "model", None), "bias": getattr(model, "bias", None)}[
            head
        ]
        if not 0 <= task < self.part.n_tasks:
            raise CisflowError(f"task {task} out of range: the model has {self.part.n_tasks} task(s)")
        self.target, self.task, self.n_control = target, int(task), int(getattr(self.part, "n_control", 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1)``: the chosen head's scalar for each one-hot sequence ``(B, 4, L)``."""
        control = x.new_zeros(x.shape[0], self.n_control, x.shape[2]) if self.n_control else None
        profile, log_counts = self.part(x, control)
        if self.target == "counts":
            return log_counts[:, self.task : self.task + 1]
        logits = profile[:, self.task].flatten(1)
        logits = logits - logits.mean(dim=1, keepdim=True)
        weights = torch.softmax(logits, dim=1).detach()
        pairs = torch.arange(logits.shape[0], device=logits.device) % ((logits.shape[0] + 1) // 2)
        return (weights[pairs] * logits).sum(dim=1, keepdim=True)


def profile_contributions(
    model: nn.Module,
    codes: np.ndarray,
    target: str,
    task: int = 0,
    head: str = "full",
    n_references: int = 20,
    seed: int = 0,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict[str, np.ndarray]:
    """DeepSHAP of one head for codes ``(N, L_in)``: ``x``, ``hypothetical``, ``scores`` (``(N, 4, L_in)``) and
    ``summation_error`` ``(N,)``.

    ``dtype``: float32 (summation errors around 1e-6 of the output) or float64 (about 1e-12, several times
    slower on a CPU). The profile target runs inputs and references as one batch (``joint``), since each
    reference takes its input's softmax weights.
    """
    x = one_hot(np.asarray(codes))
    hyp, err = deepshap_scores(
        HeadTarget(model, target, task, head),
        x,
        0,
        n_references,
        seed,
        batch_size=batch_size,
        device=device,
        joint=target == "profile",
        dtype=dtype,
    )
    return {"x": x, "hypothetical": hyp, "scores": hyp * x, "summation_error": err}
