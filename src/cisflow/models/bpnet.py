"""Base-resolution profile models: BPNet (Avsec et al. 2021) and ChromBPNet (Pampari et al. 2024).

Both map one-hot DNA ``(N, 4, L_in)`` (plus, for BPNet, optional control tracks ``(N, C, L_in)``) to

- profile logits ``(N, T, S, L_out)``: one softmax per task over its S strands × L_out positions jointly
  (S = 2 for stranded ChIP 5′ ends, 1 for ATAC / DNase cut sites);
- log counts ``(N, T)``: ``log(1 + total counts)`` of each task over the output window (all strands).

Convolutions are "valid" as in chrombpnet: the first convolution and each dilated residual layer
shorten the track, and the residual input is cropped to match. The default geometry (first kernel 21,
8 dilated layers of kernel 3 with dilations 2, 4, …, 256, profile kernel 75) turns 2,114 bp into 1,000.
"""

from __future__ import annotations

import torch
from torch import nn

from cisflow.errors import CisflowError


def trunk_shrink(n_layers: int, conv1_kernel: int = 21, kernel_size: int = 3) -> int:
    """Positions lost by the first convolution and the dilated stack (dilations ``2**1 … 2**n_layers``)."""
    return (conv1_kernel - 1) + sum(2**i * (kernel_size - 1) for i in range(1, n_layers + 1))


def required_input_length(
    output_length: int, n_layers: int, conv1_kernel: int = 21, profile_kernel: int = 75, kernel_size: int = 3
) -> int:
    """Smallest input length (bp) giving ``output_length`` profile positions (2,114 for the defaults)."""
    return output_length + trunk_shrink(n_layers, conv1_kernel, kernel_size) + profile_kernel - 1


class BPNet(nn.Module):
    """BPNet: a wide first convolution, a dilated residual stack, a profile head and a counts head.

    ``h = ReLU(Conv(x, conv1_kernel))``; for ``i = 1 … n_layers``:
    ``h = crop(h) + ReLU(Conv(h, kernel_size, dilation = 2**i))``. Profile head: the trunk (cropped to
    what the output needs), with the control tracks cropped alike appended as channels, through one
    ``Conv1d(filters + C, T·S, profile_kernel)`` and a central crop to ``output_length``. Counts head:
    the trunk averaged over its length (chrombpnet's global average pool), with
    ``log(1 + control counts over the output window)`` appended when there is a control, through
    ``Linear(filters [+ 1], T)``.

    Parameters
    ----------
    n_tasks
        Tasks T (each with its own profile softmax and counts output).
    input_length
        Input length L_in in bp; at least :func:`required_input_length` of the other parameters.
    in_channels
        DNA channels (4).
    output_length
        Profile positions L_out (the central window of the input).
    n_strands
        Profile outputs per task S (2: + and − strand 5′ ends; 1: unstranded cut sites).
    n_control
        Control tracks C given to ``forward`` (0: none).
    filters
        Channels of every convolution.
    n_layers
        Dilated residual layers.
    conv1_kernel, kernel_size, profile_kernel
        First convolution width, dilated convolution width, profile convolution width.
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        in_channels: int = 4,
        output_length: int = 1000,
        n_strands: int = 2,
        n_control: int = 0,
        filters: int = 64,
        n_layers: int = 8,
        conv1_kernel: int = 21,
        kernel_size: int = 3,
        profile_kernel: int = 75,
    ) -> None:
        super().__init__()
        _check_geometry(input_length, output_length, n_layers, conv1_kernel, profile_kernel, kernel_size)
        if n_strands < 1 or n_control < 0 or filters < 1 or n_tasks < 1:
            raise CisflowError("bpnet: n_tasks, n_strands and filters must be positive, n_control non-negative")
        self.n_tasks, self.n_strands, self.n_control = int(n_tasks), int(n_strands), int(n_control)
        self.input_length, self.output_length = int(input_length), int(output_length)
        self.conv1 = nn.Conv1d(in_channels, filters, conv1_kernel)
        self.convs = nn.ModuleList(
            nn.Conv1d(filters, filters, kernel_size, dilation=2**i) for i in range(1, n_layers + 1)
        )
        self.relus = nn.ModuleList(nn.ReLU() for _ in range(n_layers + 1))
        self._crops = [2**i * (kernel_size - 1) // 2 for i in range(1, n_layers + 1)]
        trunk = input_length - trunk_shrink(n_layers, conv1_kernel, kernel_size)
        head = output_length + profile_kernel - 1
        self._trunk_crop = (trunk - head) // 2  # trunk positions dropped on each side before the profile conv
        self._control_crop = (input_length - head) // 2
        self._control_out = (input_length - output_length) // 2
        self.profile = nn.Conv1d(filters + n_control, n_tasks * n_strands, profile_kernel)
        self.counts = nn.Linear(filters + (1 if n_control else 0), n_tasks)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk features ``(N, filters, L_in − shrink)`` of one-hot ``x`` ``(N, 4, L_in)``."""
        h = self.relus[0](self.conv1(x))
        for conv, relu, crop in zip(self.convs, self.relus[1:], self._crops, strict=True):
            h = h[:, :, crop:-crop] + relu(conv(h))
        return h

    def forward(self, x: torch.Tensor, control: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Profile logits ``(N, T, S, L_out)`` and log counts ``(N, T)`` of ``x`` ``(N, 4, L_in)``.

        ``control`` ``(N, C, L_in)`` (counts per base) is required when the model has control tracks.
        """
        h = self.trunk(x)
        pooled = h.mean(dim=2)
        length = h.shape[2] - 2 * self._trunk_crop
        head_in = h[:, :, self._trunk_crop : self._trunk_crop + length]
        if self.n_control:
            if control is None:
                raise CisflowError(f"this BPNet takes {self.n_control} control track(s); none given")
            ctl = control[:, :, self._control_crop : self._control_crop + length]
            head_in = torch.cat([head_in, ctl.to(h.dtype)], dim=1)
            window = control[:, :, self._control_out : self._control_out + self.output_length]
            pooled = torch.cat([pooled, torch.log1p(window.sum(dim=(1, 2)))[:, None].to(h.dtype)], dim=1)
        profile = self.profile(head_in)
        profile = profile.reshape(profile.shape[0], self.n_tasks, self.n_strands, profile.shape[2])
        return profile, self.counts(pooled)


def _check_geometry(
    input_length: int, output_length: int, n_layers: int, conv1_kernel: int, profile_kernel: int, kernel_size: int
) -> None:
    """CisflowError when the input is too short for the output, or the crops cannot be central."""
    if output_length < 1 or n_layers < 0 or kernel_size < 3 or kernel_size % 2 == 0:
        raise CisflowError("bpnet: output_length must be positive, n_layers non-negative, kernel_size odd and >= 3")
    need = required_input_length(output_length, n_layers, conv1_kernel, profile_kernel, kernel_size)
    if input_length < need:
        raise CisflowError(
            f"bpnet: input_length {input_length} is too short for output_length {output_length} "
            f"with {n_layers} dilated layers (needs at least {need})"
        )
    if (input_length - need) % 2 or (input_length - output_length) % 2:
        raise CisflowError(
            f"bpnet: input_length {input_length} and output_length {output_length} must differ by an even number "
            f"and leave an even margin (input_length {need} + 2k)"
        )


class ChromBPNet(nn.Module):
    """ChromBPNet: a frozen bias BPNet plus a TF BPNet whose outputs are combined with it.

    ``profile = tf.profile + bias.profile`` (logits add, so the probabilities multiply) and
    ``log_counts = logaddexp(tf.log_counts, bias.log_counts)`` (the counts add). The bias model is
    trained first on low-count background (see :mod:`cisflow.profile.bias`), loaded into ``bias`` and
    frozen (:meth:`freeze_bias`: no gradients, always in eval mode). :meth:`corrected` is the TF model
    alone: the bias-corrected prediction. Both are unstranded (S = 1) and without control tracks.

    Parameters
    ----------
    n_tasks, input_length, in_channels, output_length
        As for :class:`BPNet`.
    filters, n_layers
        The TF model's width and depth (chrombpnet: 512, 8).
    bias_filters, bias_layers
        The bias model's width and depth (chrombpnet: 128, 4).
    conv1_kernel, kernel_size, profile_kernel
        As for :class:`BPNet`, shared by both models.
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        in_channels: int = 4,
        output_length: int = 1000,
        filters: int = 512,
        n_layers: int = 8,
        bias_filters: int = 128,
        bias_layers: int = 4,
        conv1_kernel: int = 21,
        kernel_size: int = 3,
        profile_kernel: int = 75,
    ) -> None:
        super().__init__()
        shared = {"in_channels": in_channels, "output_length": output_length, "n_strands": 1, "n_control": 0}
        shared |= {"conv1_kernel": conv1_kernel, "kernel_size": kernel_size, "profile_kernel": profile_kernel}
        self.bias = BPNet(n_tasks, input_length, filters=bias_filters, n_layers=bias_layers, **shared)
        self.model = BPNet(n_tasks, input_length, filters=filters, n_layers=n_layers, **shared)
        self.n_tasks, self.n_strands, self.n_control = int(n_tasks), 1, 0
        self.input_length, self.output_length = int(input_length), int(output_length)

    def freeze_bias(self) -> None:
        """Stop gradients into the bias model and keep it in eval mode from now on."""
        for p in self.bias.parameters():
            p.requires_grad_(False)
        self.bias.eval()

    def train(self, mode: bool = True) -> ChromBPNet:
        """Set training mode on the TF model; a frozen bias model stays in eval mode."""
        super().train(mode)
        if not any(p.requires_grad for p in self.bias.parameters()):
            self.bias.eval()
        return self

    def corrected(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The bias-corrected prediction: the TF model's profile logits and log counts alone."""
        return self.model(x)

    def forward(self, x: torch.Tensor, control: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Combined profile logits ``(N, T, 1, L_out)`` and log counts ``(N, T)``; ``control`` is ignored."""
        tf_profile, tf_counts = self.model(x)
        bias_profile, bias_counts = self.bias(x)
        return tf_profile + bias_profile, torch.logaddexp(tf_counts, bias_counts)
