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
    activation
        The detectors' activation: ``"relu"`` or ``"exp"`` (Koo & Ploenzke 2021: an exponential first-layer
        activation makes detectors learn whole motifs rather than parts of them and composition).
    crop
        Scan only the central ``crop`` bp of the input (None: all of it): a global pool over a long input
        counts motifs far from the labelled bin as much as those in it.
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
        activation: str = "relu",
        crop: int | None = None,
    ) -> None:
        super().__init__()
        if crop is not None and not conv_width <= int(crop) <= input_length:
            raise CisflowError(
                f"deepbind: crop {crop} must lie between conv_width {conv_width} and input_length {input_length}"
            )
        if input_length < conv_width:
            raise CisflowError(f"deepbind: input_length {input_length} is shorter than conv_width {conv_width}")
        start = None if crop is None else (input_length - int(crop)) // 2
        self.window = None if crop is None else (start, start + int(crop))  # the scanned columns [start, end)
        if pooling not in ("max", "max_avg"):
            raise CisflowError(f"deepbind: pooling must be 'max' or 'max_avg'; got {pooling!r}")
        if activation not in ("relu", "exp"):
            raise CisflowError(f"deepbind: activation must be 'relu' or 'exp'; got {activation!r}")
        self.max_avg = pooling == "max_avg"
        self.exp = activation == "exp"
        self.conv = nn.Conv1d(in_channels, int(num_filters), int(conv_width))
        self.hidden = nn.Linear(int(num_filters) * (2 if self.max_avg else 1), int(hidden))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(int(hidden), n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` from input ``(N, C, L)``."""
        if self.window is not None:
            x = x[:, :, self.window[0] : self.window[1]]
        if self.training and not self.exp:  # the fused pooling; eval mode keeps the plain ops interpretation traces
            x = ReluGlobalPool.apply(self.conv(x), self.max_avg)
            return self.out(self.dropout(torch.relu(self.hidden(x))))
        h = torch.exp(self.conv(x)) if self.exp else torch.relu(self.conv(x))
        x = torch.cat([h.amax(dim=-1), h.mean(dim=-1)], dim=1) if self.max_avg else h.amax(dim=-1)
        x = self.dropout(torch.relu(self.hidden(x)))
        return self.out(x)
