"""BPNet's loss: multinomial NLL of the profile plus λ · MSE of the log counts, with λ from the data.

Shapes: profile logits and observed counts ``(N, T, S, L)`` (tasks, strands, positions); predicted
log counts ``(N, T)``. Each task's profile is one multinomial over its ``S · L`` entries (both strands
share one softmax), its total is ``log(1 + Σ counts)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional

from cisflow.errors import CisflowError


def multinomial_nll(logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the observed counts under the profile multinomial, per region and task.

    ``−log P(counts | n = Σ counts, p = softmax(logits))``
    ``= −[log n! − Σ log kᵢ! + Σ kᵢ log pᵢ]``, the softmax taken over strands and positions jointly.

    Parameters
    ----------
    logits
        ``(N, T, S, L)`` profile logits.
    counts
        ``(N, T, S, L)`` non-negative counts.

    Returns
    -------
    torch.Tensor
        ``(N, T)`` NLL in nats.
    """
    logp = functional.log_softmax(logits.flatten(2).float(), dim=-1)
    k = counts.flatten(2).float()
    n = k.sum(dim=-1)
    return -(torch.lgamma(n + 1) - torch.lgamma(k + 1).sum(dim=-1) + (k * logp).sum(dim=-1))


def log_total(counts: torch.Tensor) -> torch.Tensor:
    """``log(1 + Σ counts)`` per region and task: ``(N, T, S, L)`` → ``(N, T)``."""
    return torch.log1p(counts.flatten(2).float().sum(dim=-1))


def profile_loss(
    logits: torch.Tensor, log_counts: torch.Tensor, counts: torch.Tensor, counts_weight: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BPNet's objective: mean multinomial NLL + ``counts_weight`` · mean squared error of the log counts.

    Parameters
    ----------
    logits
        ``(N, T, S, L)`` predicted profile logits.
    log_counts
        ``(N, T)`` predicted ``log(1 + total)``.
    counts
        ``(N, T, S, L)`` observed counts.
    counts_weight
        λ (see :func:`counts_loss_weight`).

    Returns
    -------
    tuple of torch.Tensor
        Scalars ``(loss, profile NLL, counts MSE)``, each averaged over regions and tasks.
    """
    nll = multinomial_nll(logits, counts).mean()
    mse = (log_counts.float() - log_total(counts)).pow(2).mean()
    return nll + counts_weight * mse, nll, mse


def counts_loss_weight(totals: np.ndarray) -> float:
    """λ as chrombpnet sets it: the median total count of the training regions divided by 10.

    Parameters
    ----------
    totals
        Total counts per training region (and task), any shape.

    Raises
    ------
    CisflowError
        When there are no regions or the median is 0 (too few reads to weigh the counts).
    """
    totals = np.asarray(totals, dtype=np.float64).ravel()
    if totals.size == 0:
        raise CisflowError("no training regions to set the counts loss weight from")
    weight = float(np.median(totals)) / 10.0
    if weight <= 0:
        raise CisflowError("the median total count of the training regions is 0; too few reads for a profile model")
    return weight
