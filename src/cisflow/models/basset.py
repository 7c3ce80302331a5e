"""A Basset-like model: three conv/batch-norm/pool blocks and two dense layers."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cisflow.errors import CisflowError


def basset_flat_size(input_length: int, conv_width: Sequence[int], pool_width: Sequence[int], last_filters: int) -> int:
    """Flattened features after the conv blocks: per block ``L = (L - w + 1) // p``; times the last filters."""
    length = input_length
    for width, pool in zip(conv_width, pool_width, strict=True):
        length = (length - width + 1) // pool
        if length <= 0:
            return 0
    return last_filters * length


class Basset(nn.Module):
    """Basset-like (Kelley et al. 2016), as in its PyTorch ports.

    Per block: ``Conv1d`` (valid) → BatchNorm → ReLU → ``MaxPool1d(p)``; then per hidden layer:
    ``Linear`` → BatchNorm → ReLU → Dropout; then ``Linear`` → T logits.

    Parameters
    ----------
    n_tasks
        Number of output tasks T.
    input_length
        Sequence length L (bp).
    in_channels
        Input channels C.
    num_filters, conv_width, pool_width
        Per block (same length); Basset: (300, 200, 200), (19, 11, 7), (3, 4, 4).
    hidden
        Dense layer sizes; Basset: (1000, 1000).
    dropout
        Dropout after each dense layer; Basset: 0.3.
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        in_channels: int = 4,
        num_filters: Sequence[int] = (300, 200, 200),
        conv_width: Sequence[int] = (19, 11, 7),
        pool_width: Sequence[int] = (3, 4, 4),
        hidden: Sequence[int] = (1000, 1000),
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if not num_filters or not (len(num_filters) == len(conv_width) == len(pool_width)):
            raise CisflowError("basset: num_filters, conv_width and pool_width must be non-empty, of the same length")
        flat = basset_flat_size(input_length, conv_width, pool_width, num_filters[-1])
        if flat <= 0:
            raise CisflowError(f"basset: input_length {input_length} is too short for its conv and pool widths")
        blocks: list[nn.Module] = []
        channels = in_channels
        for filters, width, pool in zip(num_filters, conv_width, pool_width, strict=True):
            blocks += [nn.Conv1d(channels, int(filters), int(width)), nn.BatchNorm1d(int(filters)), nn.ReLU()]
            blocks.append(nn.MaxPool1d(int(pool)))
            channels = int(filters)
        self.convs = nn.Sequential(*blocks)
        dense: list[nn.Module] = []
        size = flat
        for units in hidden:
            dense += [nn.Linear(size, int(units)), nn.BatchNorm1d(int(units)), nn.ReLU(), nn.Dropout(dropout)]
            size = int(units)
        self.dense = nn.Sequential(*dense)
        self.out = nn.Linear(size, n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` from input ``(N, C, L)``."""
        return self.out(self.dense(self.convs(x).flatten(1)))
