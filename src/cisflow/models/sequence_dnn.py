"""DragoNN's ``SequenceDNN``: stacked valid convolutions, one max-pool, one dense layer."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cisflow.errors import CisflowError

#: DragoNN tutorial presets (``seq_length`` aside); pass one as ``**params`` to :func:`build_model`.
PRESETS: dict[str, dict] = {
    "one_filter": {"num_filters": [1], "conv_width": [10], "pool_width": 35, "dropout": 0.0, "l1": 0.0},
    "multi_filter": {"num_filters": [15], "conv_width": [10], "pool_width": 35, "dropout": 0.0, "l1": 0.0},
    "regularized_multi_filter": {
        "num_filters": [15],
        "conv_width": [10],
        "pool_width": 35,
        "dropout": 0.2,
        "l1": 0.0,
    },
    "multilayer": {
        "num_filters": [15, 15, 15],
        "conv_width": [10, 10, 10],
        "pool_width": 35,
        "dropout": 0.2,
        "l1": 0.0,
    },
}


def sequence_dnn_flat_size(
    input_length: int, num_filters: Sequence[int], conv_width: Sequence[int], pool_width: int
) -> int:
    """Length of the flattened features: ``num_filters[-1] * ((L - sum(w - 1)) // pool_width)``."""
    conv_length = input_length - sum(w - 1 for w in conv_width)
    return num_filters[-1] * (conv_length // pool_width)


class RandDropout(nn.Dropout):
    """``nn.Dropout`` whose CPU mask comes from ``torch.rand`` (about 2x faster than ``bernoulli_``); same law.

    Element-wise: in training, ``x * (u >= p) / (1 - p)`` with ``u ~ U[0, 1)``; identity in eval mode.
    On CUDA it defers to the fused ``F.dropout`` kernel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply dropout to ``x`` (any shape)."""
        if not self.training or self.p == 0.0 or x.is_cuda or self.p >= 1.0:
            return super().forward(x)
        return x * torch.rand_like(x).ge_(self.p).mul_(1.0 / (1.0 - self.p))


class SequenceDNN(nn.Module):
    """DragoNN's SequenceDNN (Keras version, without the RNN option) as a plain module.

    Each layer: ``Conv1d`` (valid padding, He-normal weights, zero bias) → ReLU → Dropout; then
    ``MaxPool1d(pool_width)`` (stride = kernel, floor), flatten, and a dense layer (Glorot-uniform)
    to the tasks. Keras' initialisers, as in DragoNN.

    Parameters
    ----------
    n_tasks
        Number of output tasks T.
    input_length
        Sequence length L (bp).
    in_channels
        Input channels C (4 for one-hot DNA).
    num_filters, conv_width
        Filters and widths (bp) per convolution layer; same length. DragoNN default ``(15, 15, 15)`` each.
    pool_width
        Max-pool kernel and stride (bp) after the last convolution. DragoNN default 35.
    dropout
        Dropout rate after each convolution. DragoNN default 0.
    l1
        L1 penalty on the final dense weights, returned by :meth:`regularization`. Default 0.
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        in_channels: int = 4,
        num_filters: Sequence[int] = (15, 15, 15),
        conv_width: Sequence[int] = (15, 15, 15),
        pool_width: int = 35,
        dropout: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        super().__init__()
        if len(num_filters) != len(conv_width) or not num_filters:
            raise CisflowError(
                f"sequence_dnn: num_filters {list(num_filters)} and conv_width {list(conv_width)} "
                "must be non-empty lists of the same length"
            )
        flat = sequence_dnn_flat_size(input_length, num_filters, conv_width, pool_width)
        if flat <= 0:
            raise CisflowError(
                f"sequence_dnn: input_length {input_length} is too short for conv_width {list(conv_width)} "
                f"and pool_width {pool_width}"
            )
        self.l1 = float(l1)
        layers: list[nn.Module] = []
        channels = in_channels
        for filters, width in zip(num_filters, conv_width, strict=True):
            conv = nn.Conv1d(channels, int(filters), int(width))
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU(), RandDropout(dropout)]
            channels = int(filters)
        self.convs = nn.Sequential(*layers)
        self.pool = nn.MaxPool1d(int(pool_width))
        self.dense = nn.Linear(flat, n_tasks)
        nn.init.xavier_uniform_(self.dense.weight)  # Keras Dense default (glorot_uniform), zero bias
        nn.init.zeros_(self.dense.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` from input ``(N, C, L)``."""
        x = self.pool(self.convs(x))
        return self.dense(x.flatten(1))

    def regularization(self) -> torch.Tensor:
        """``l1 * sum(|dense weights|)``, a scalar to add to the loss (0 when ``l1 == 0``)."""
        return self.l1 * self.dense.weight.abs().sum()
