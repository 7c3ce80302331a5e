"""DeepSEA (Zhou & Troyanskaya 2015): three convolutions with max-pooling, one dense layer."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cisflow.errors import CisflowError


def deepsea_flat_size(input_length: int, conv_width: Sequence[int], pool_width: Sequence[int], filters: int) -> int:
    """Flattened features: per block ``L = (L − w + 1) // p`` (the last block unpooled: ``p = 1``), times filters."""
    length = input_length
    for width, pool in zip(conv_width, pool_width, strict=True):
        length = (length - width + 1) // pool
        if length <= 0:
            return 0
    return filters * length


class DeepSEA(nn.Module):
    """DeepSEA as published: per block ``Conv1d`` (valid) → ReLU → ``MaxPool1d`` → Dropout, the last block
    without pooling; then flatten → ``Linear(·, 925)`` → ReLU → ``Linear(925, T)``.

    Published sizes: filters (320, 480, 960), widths (8, 8, 8), pools (4, 4) (none after the third),
    dropout (0.2, 0.2, 0.5), 925 hidden units; 53 positions remain of 1000 bp.

    Parameters
    ----------
    n_tasks
        Number of output tasks T.
    input_length
        Sequence length L (bp).
    in_channels
        Input channels C.
    num_filters, conv_width
        Per convolution (same length, at least 1).
    pool_width
        Max-pool width (= stride) after each convolution but the last (one fewer entry).
    dropout
        Dropout after each block (same length as ``num_filters``).
    hidden
        Dense layer units.
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        in_channels: int = 4,
        num_filters: Sequence[int] = (320, 480, 960),
        conv_width: Sequence[int] = (8, 8, 8),
        pool_width: Sequence[int] = (4, 4),
        dropout: Sequence[float] = (0.2, 0.2, 0.5),
        hidden: int = 925,
    ) -> None:
        super().__init__()
        n = len(num_filters)
        if not n or len(conv_width) != n or len(dropout) != n or len(pool_width) != n - 1:
            raise CisflowError(
                "deepsea: num_filters, conv_width and dropout need one entry per convolution, pool_width one fewer"
            )
        pools = [int(p) for p in pool_width] + [1]
        flat = deepsea_flat_size(input_length, conv_width, pools, int(num_filters[-1]))
        if flat <= 0:
            raise CisflowError(f"deepsea: input_length {input_length} is too short for its conv and pool widths")
        layers: list[nn.Module] = []
        channels = in_channels
        for filters, width, pool, rate in zip(num_filters, conv_width, pools, dropout, strict=True):
            layers += [nn.Conv1d(channels, int(filters), int(width)), nn.ReLU()]
            layers += [nn.MaxPool1d(pool)] if pool > 1 else []
            layers.append(nn.Dropout(float(rate)))
            channels = int(filters)
        self.convs = nn.Sequential(*layers)
        self.dense = nn.Linear(flat, int(hidden))
        self.out = nn.Linear(int(hidden), n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` from input ``(N, C, L)``."""
        return self.out(torch.relu(self.dense(self.convs(x).flatten(1))))
