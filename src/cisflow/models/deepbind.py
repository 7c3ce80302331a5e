"""A DeepBind-like model: one convolution, global max (or max and average) pool, a small hidden layer."""

from __future__ import annotations

import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.models.pooling import ReluGlobalPool


class DeepBind(nn.Module):
    """DeepBind-like (Alipanahi et al. 2015): motif scanners, global max pool, hidden layer.

    ``Conv1d(C, num_filters, conv_width)`` (valid) → ReLU → global max over positions (``pooling="max"``)
    or max and mean side by side (``"max_avg"``, DeepBind's other pooling choice: the mean counts how
    much of the window a detector covers) → ``Linear(F or 2F, hidden)`` → ReLU → Dropout → ``Linear(hidden, T)``.

    Parameters
    ----------
    n_tasks
        Number of output tasks T.
    input_length
        Sequence length L (bp); must be at least ``conv_width``.
    in_channels
        Input channels C.
    num_filters
        Motif detectors (DeepBind: 16).
    conv_width
        Detector width in bp (DeepBind: 24).
    hidden
        Hidden units (DeepBind: 32).
    dropout
        Dropout before the output layer (DeepBind: 0.5).
    pooling
        ``"max"`` or ``"max_avg"``.
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        in_channels: int = 4,
        num_filters: int = 16,
        conv_width: int = 24,
        hidden: int = 32,
        dropout: float = 0.5,
        pooling: str = "max",
    ) -> None:
        super().__init__()
        if input_length < conv_width:
            raise CisflowError(f"deepbind: input_length {input_length} is shorter than conv_width {conv_width}")
        if pooling not in ("max", "max_avg"):
            raise CisflowError(f"deepbind: pooling must be 'max' or 'max_avg'; got {pooling!r}")
        self.max_avg = pooling == "max_avg"
        self.conv = nn.Conv1d(in_channels, int(num_filters), int(conv_width))
        self.hidden = nn.Linear(int(num_filters) * (2 if self.max_avg else 1), int(hidden))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(int(hidden), n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` from input ``(N, C, L)``."""
        if self.training:  # the fused pooling; eval mode keeps the plain ops that interpretation traces
            x = ReluGlobalPool.apply(self.conv(x), self.max_avg)
            return self.out(self.dropout(torch.relu(self.hidden(x))))
        h = torch.relu(self.conv(x))
        x = torch.cat([h.amax(dim=-1), h.mean(dim=-1)], dim=1) if self.max_avg else h.amax(dim=-1)
        x = self.dropout(torch.relu(self.hidden(x)))
        return self.out(x)
