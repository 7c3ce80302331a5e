"""DeepLIFT multipliers of a chain-shaped model with a hand-written backward pass (used by :mod:`.deepshap`).

For models whose traced graph is a plain chain of ``Conv1d``, ``Linear``, ``ReLU``, ``MaxPool1d``,
dropout / identity and ``flatten`` (SequenceDNN, Basset and DeepSEA, with batch-norm folded), the
input's forward pass is run once per *sequence* (not once per sequence × reference, as autograd would
need), the references' forward pass without autograd, and the multipliers are carried backwards layer by
layer: transposed convolutions and matrix products for the linear layers, the rescale and max rules of
:mod:`._rescale` for the non-linear ones. The arithmetic is that of the autograd path.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention
from torch import fx, nn

from cisflow.interpret._rescale import maxpool_backward, relu_backward


def _layer(gm: fx.GraphModule, node: fx.Node) -> tuple[str, nn.Module | None] | None:
    """``(kind, module)`` of a supported chain node, else None."""
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        if isinstance(m, nn.Conv1d) and m.padding_mode == "zeros" and not isinstance(m.padding, str):
            return "conv", m
        if isinstance(m, nn.MaxPool1d) and not m.return_indices:
            return "maxpool", m
        for kind, types in (("linear", nn.Linear), ("relu", nn.ReLU), ("pass", (nn.Dropout, nn.Identity))):
            if isinstance(m, types):
                return kind, m
        return None
    if node.op == "call_function" and node.target is F.dropout:  # eval-mode dropout traced through a subclass
        training = node.kwargs.get("training", node.args[2] if len(node.args) > 2 else True)
        return ("pass", None) if training is False else None
    method = node.op == "call_method" and node.target == "flatten"
    flat = method or (node.op == "call_function" and node.target is torch.flatten)
    if flat and tuple(node.args[1:]) in ((1,), (1, -1)) and not node.kwargs:
        return "flatten", None
    return None


def chain_layers(gm: fx.GraphModule) -> list[tuple[str, nn.Module | None]] | None:
    """The layers of ``gm`` from its input to its output when it is a supported chain, else None."""
    nodes = [n for n in gm.graph.nodes if n.op not in ("placeholder", "output")]
    inputs = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        return None
    layers, prev = [], inputs[0]
    for node in nodes:
        others = [a for a in (*node.args[1:], *node.kwargs.values()) if isinstance(a, fx.Node)]
        layer = _layer(gm, node)
        if layer is None or not node.args or node.args[0] is not prev or others or len(prev.users) != 1:
            return None
        layers.append(layer)
        prev = node
    output = next(n for n in gm.graph.nodes if n.op == "output")
    return layers if output.args[0] is prev and layers else None


def _forward(layer: tuple[str, nn.Module | None], h: torch.Tensor) -> torch.Tensor:
    kind, m = layer
    if kind == "flatten":
        return h.flatten(1)
    return h if m is None else m(h)


def _conv_input_grad(m: nn.Conv1d, g: torch.Tensor, length: int) -> torch.Tensor:
    """``g`` ``(N, C', L')`` carried back through ``m`` to its input ``(N, C, length)``: the transposed convolution
    (faster on the CPU than ``torch.nn.grad.conv1d_input``, which a length it cannot reach falls back to)."""
    (k,), (s,), (p,), (d,) = m.kernel_size, m.stride, m.padding, m.dilation
    extra = length - ((g.shape[-1] - 1) * s - 2 * p + d * (k - 1) + 1)
    if 0 <= extra < max(s, d):
        return F.conv_transpose1d(g, m.weight, None, s, p, extra, m.groups, d)
    shape = (g.shape[0], m.in_channels, length)
    return torch.nn.grad.conv1d_input(shape, m.weight, g, m.stride, m.padding, m.dilation, m.groups)


def _backward(layer, g, xi, ri) -> torch.Tensor:
    """Multipliers at a layer's input ``(B·R, ...)`` from those at its output; ``xi`` is the input's ``(B, ...)``."""
    kind, m = layer
    if kind == "linear":
        return g @ m.weight
    if kind == "flatten":
        return g.reshape(g.shape[0], *xi.shape[1:])
    if kind == "pass":
        return g
    if kind == "conv":
        return _conv_input_grad(m, g, xi.shape[-1])
    if kind == "relu":
        return relu_backward(g, xi, ri)
    return maxpool_backward(g, xi, ri, m)


def chain_explainer(layers: list) -> Callable:
    """``(xs (B, 4, L), refs (B·R, 4, L), task) -> (multipliers (B·R, 4, L), f(x) − f(r) (B·R,))``.

    Reference ``k`` of the flattened refs belongs to sequence ``k // R``.
    """

    @torch.no_grad()
    def explain(xs: torch.Tensor, refs: torch.Tensor, task: int) -> tuple[torch.Tensor, torch.Tensor]:
        repeats = refs.shape[0] // xs.shape[0]
        x_in, r_in, h, r = [], [], xs, refs
        for layer in layers:
            x_in.append(h)
            r_in.append(r)
            h, r = _forward(layer, h), _forward(layer, r)
        g = torch.zeros_like(r)
        g[:, task] = 1.0
        for i in range(len(layers) - 1, -1, -1):
            g = _backward(layers[i], g, x_in[i], r_in[i])
        return g, h[:, task].repeat_interleave(repeats) - r[:, task]

    return explain
