"""DanQ (Quang & Xie 2016): one convolution, max-pool, a bidirectional LSTM over the pooled motifs, dense layers."""

from __future__ import annotations

import torch
from torch import nn

from cisflow.errors import CisflowError


class DanQ(nn.Module):
    """DanQ as published: ``Conv1d(C, 320, 26)`` (valid) → ReLU → ``MaxPool1d(13)`` → Dropout(0.2) →
    BiLSTM(320 per direction, over the pooled positions) → Dropout(0.5) → flatten → ``Linear(·, 925)`` →
    ReLU → ``Linear(925, T)``.

    With 919 tasks at 1000 bp it has 46,929,039 parameters (Keras' 46,926,479 plus PyTorch's second
    LSTM bias per gate). DeepSHAP rescales the convolution's ReLU and pool but not the LSTM's gates
    (they keep their gradients), so its summation-to-delta errors are larger than for pure CNNs;
    ISM is exact.

    Parameters
    ----------
    n_tasks
        Number of output tasks T.
    input_length
        Sequence length L (bp).
    in_channels
        Input channels C.
    num_filters, conv_width, pool_width
        Convolution filters and width, max-pool width (= stride); DanQ: 320, 26, 13.
    lstm_hidden
        LSTM units per direction; DanQ: 320.
    hidden
        Dense layer units; DanQ: 925.
    dropout_conv, dropout_lstm
        Dropout after the pool and after the LSTM; DanQ: 0.2, 0.5.
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        in_channels: int = 4,
        num_filters: int = 320,
        conv_width: int = 26,
        pool_width: int = 13,
        lstm_hidden: int = 320,
        hidden: int = 925,
        dropout_conv: float = 0.2,
        dropout_lstm: float = 0.5,
    ) -> None:
        super().__init__()
        steps = (input_length - conv_width + 1) // pool_width
        if steps <= 0:
            raise CisflowError(f"danq: input_length {input_length} is too short for conv_width {conv_width} and pool")
        self.conv = nn.Conv1d(in_channels, int(num_filters), int(conv_width))
        self.pool = nn.MaxPool1d(int(pool_width))
        self.dropout_conv = nn.Dropout(dropout_conv)
        self.lstm = nn.LSTM(int(num_filters), int(lstm_hidden), batch_first=True, bidirectional=True)
        self.dropout_lstm = nn.Dropout(dropout_lstm)
        self.dense = nn.Linear(steps * 2 * int(lstm_hidden), int(hidden))
        self.out = nn.Linear(int(hidden), n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` from input ``(N, C, L)``."""
        h = self.dropout_conv(self.pool(torch.relu(self.conv(x))))
        h, _ = self.lstm(h.transpose(1, 2))  # (N, steps, 2 · lstm_hidden)
        h = self.dropout_lstm(h).flatten(1)
        return self.out(torch.relu(self.dense(h)))
