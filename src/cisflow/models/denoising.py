"""AtacWorks-style denoising ResNet: noisy base-resolution coverage → clean coverage and peak logits.

The design follows AtacWorks (Lal et al. 2021, Nature Communications): a stack of residual blocks
of dilated 1-D convolutions maps the noisy track to the clean one (regression head, non-negative);
a second, shorter stack reads the denoised track and scores every base for lying in a peak
(classification head). Every convolution keeps the length ("same" zero padding), so the model
takes windows of any length; outputs within :attr:`DenoisingResNet.receptive_radius` bases of a
window's edge see the zero padding, which is why windows are read with that much flank.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


class DilatedResBlock(nn.Module):
    """Three dilated convolutions (ReLU after the first two), plus the input, then ReLU.

    The input is projected by a 1×1 convolution when the channel counts differ (AtacWorks'
    ``conv_input``). Shapes: ``(N, in_channels, L)`` → ``(N, channels, L)``.
    """

    def __init__(self, in_channels: int, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(in_channels if i == 0 else channels, channels, kernel_size, dilation=dilation, padding="same")
            for i in range(3)
        )
        self.skip = nn.Conv1d(in_channels, channels, 1) if in_channels != channels else nn.Identity()
        self.radius = 3 * ((kernel_size - 1) * dilation - (kernel_size - 1) * dilation // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, L)`` → ``(N, C, L)``."""
        y = functional.relu(self.convs[0](x))
        y = functional.relu(self.convs[1](y))
        return functional.relu(self.convs[2](y) + self.skip(x))


def _stack(in_channels: int, channels: int, kernel_size: int, dilation: int, n_blocks: int) -> nn.Sequential:
    """``n_blocks`` residual blocks, the first taking ``in_channels``."""
    widths = [in_channels] + [channels] * (n_blocks - 1)
    return nn.Sequential(*(DilatedResBlock(w, channels, kernel_size, dilation) for w in widths))


class DenoisingResNet(nn.Module):
    """Dilated 1-D ResNet with a regression head (clean coverage) and a classification head (peaks).

    Parameters
    ----------
    n_tasks
        Output tracks; must be 1 (one clean track and one peak track per model).
    input_length
        Window length (bp) the model is trained on, flanks included; recorded, not a constraint
        (any length works).
    in_channels
        Input tracks C (1: the noisy coverage).
    channels, kernel_size, dilation, n_blocks
        Regression stack: filters, kernel width, dilation and residual blocks (AtacWorks: 15, 50,
        8, 5).
    class_channels, class_kernel_size, class_dilation, class_blocks
        Classification stack on the denoised track (AtacWorks: 15, 50, 10, 2).
    resolution
        Bases per model step (1: AtacWorks, every base). With r > 1 the input is averaged over
        r-bp bins, both stacks run on the bins (kernel widths and dilations count bins) and both
        outputs are linearly interpolated back to every base: about r times less computation, for
        tracks without detail below r bp (cut sites extended ±100 bp have little below 10 bp).

    Notes
    -----
    ``forward`` maps ``(N, C, L)`` to ``(track, logits)``, both ``(N, L)``: the denoised coverage
    (ReLU, same units as the training target) and per-base peak logits (sigmoid → probability).
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        in_channels: int = 1,
        channels: int = 15,
        kernel_size: int = 50,
        dilation: int = 8,
        n_blocks: int = 5,
        class_channels: int = 15,
        class_kernel_size: int = 50,
        class_dilation: int = 10,
        class_blocks: int = 2,
        resolution: int = 1,
    ) -> None:
        super().__init__()
        if n_tasks != 1:
            raise ValueError(f"the denoising ResNet predicts one track (n_tasks=1), got n_tasks={n_tasks}")
        sizes = {"in_channels": in_channels, "channels": channels, "kernel_size": kernel_size,
                 "dilation": dilation, "n_blocks": n_blocks, "class_channels": class_channels,
                 "class_kernel_size": class_kernel_size, "class_dilation": class_dilation,
                 "class_blocks": class_blocks, "resolution": resolution}  # fmt: skip
        bad = [f"{k}={v}" for k, v in sizes.items() if int(v) < 1]
        if bad:
            raise ValueError(f"need positive sizes, got {', '.join(bad)}")
        self.input_length, self.resolution = int(input_length), int(resolution)
        self.trunk = _stack(in_channels, channels, kernel_size, dilation, n_blocks)
        self.regressor = nn.Conv1d(channels, 1, 1)
        self.class_trunk = _stack(1, class_channels, class_kernel_size, class_dilation, class_blocks)
        self.classifier = nn.Conv1d(class_channels, 1, 1)

    @property
    def receptive_radius(self) -> int:
        """Bases on either side that one output depends on (the flank a window needs for exact outputs).

        A multiple of ``resolution``; windows whose start is a multiple of ``resolution`` bin alike.
        """
        steps = sum(block.radius for block in (*self.trunk, *self.class_trunk))
        return self.resolution * (steps + (2 if self.resolution > 1 else 0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, C, L)`` noisy coverage → denoised coverage ``(N, L)`` and peak logits ``(N, L)``."""
        length, r = x.shape[-1], self.resolution
        if r > 1:
            x = functional.avg_pool1d(functional.pad(x, (0, -length % r)), r)
        track = self.regressor(self.trunk(x))
        logits = self.classifier(self.class_trunk(functional.relu(track)))
        if r > 1:
            track, logits = (_upsample(t, r)[..., :length] for t in (track, logits))
        return functional.relu(track).squeeze(1), logits.squeeze(1)


def _upsample(x: torch.Tensor, r: int) -> torch.Tensor:
    """``(N, C, L)`` values at bin centres → ``(N, C, L * r)`` per base, linearly interpolated (edge bins held)."""
    return functional.interpolate(x, scale_factor=r, mode="linear", align_corners=False)
