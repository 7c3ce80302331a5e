"""fastISM machinery: split a model into a position-local trunk and a tail, patch mutation windows.

The trunk is the longest chain of layers from the input whose output at a position depends only
on a window of its input: ``Conv1d`` (zero padding), ``MaxPool1d`` / ``AvgPool1d`` (floor mode) and
point-wise layers (activations, eval-mode batch-norm and dropout). For a mutation at position
``i`` each window layer's changed outputs lie in a range computed from its kernel, stride,
dilation and padding; only that range is recomputed, from the cached (padded) reference input
with the previous layer's changed range patched in. The tail (everything after the trunk) runs
in full on the reference trunk output with the changed range patched in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention
from torch import fx, nn

from cisflow.interpret._common import fold_batchnorm

log = logging.getLogger(__name__)

_POINTWISE_MODULES = (
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Identity,
    nn.Dropout, nn.BatchNorm1d, nn.Mish, nn.Softsign, nn.Hardtanh, nn.ReLU6, nn.PReLU,
)  # fmt: skip
_POINTWISE_FUNCTIONS = {
    torch.relu, F.relu, torch.sigmoid, torch.tanh, F.gelu, F.elu, F.leaky_relu, F.silu, F.softplus, F.dropout,
    torch.exp, F.mish,
}  # fmt: skip
_POINTWISE_METHODS = {"relu", "sigmoid", "tanh", "exp"}


@dataclass
class Local:
    """One trunk layer: ``fn`` applied with no padding; window geometry for window layers."""

    fn: Callable[[torch.Tensor], torch.Tensor]
    window: bool = False
    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    pad_left: int = 0
    pad_right: int = 0
    pad_value: float = 0.0
    patch_fn: Callable[[torch.Tensor], torch.Tensor] | None = None  # in place on freshly made patches
    delta_weight: torch.Tensor | None = None  # stride-1 convolutions: flipped, transposed weight (C, C', K)


@dataclass
class FastPlan:
    """The trunk layers and the tail (a callable from the trunk output to logits ``(N, T)``).

    ``first_taps`` ``(K · 4, C_out)``: when the trunk opens with a plain ``Conv1d`` over the one-hot
    input (stride, dilation and groups 1), row ``t · 4 + b`` holds its weights for base ``b`` at tap
    ``t``; a mutation then changes that layer's outputs by a difference of two rows, with no convolution.
    """

    trunk: list[Local]
    tail: Callable[[torch.Tensor], torch.Tensor]
    first_taps: torch.Tensor | None = None


def _one(v: int | tuple[int, ...]) -> int:
    return int(v[0]) if isinstance(v, tuple) else int(v)


def _conv_local(m: nn.Conv1d) -> Local | None:
    """A Conv1d as a window layer (zero padding only)."""
    if m.padding_mode != "zeros":
        return None
    k, s, d = _one(m.kernel_size), _one(m.stride), _one(m.dilation)
    if isinstance(m.padding, str):
        total = d * (k - 1) if m.padding == "same" else 0
        left, right = total // 2, total - total // 2
    else:
        left = right = _one(m.padding)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return F.conv1d(t, m.weight, m.bias, stride=s, padding=0, dilation=d, groups=m.groups)

    plain = (s, d, m.groups) == (1, 1, 1)
    delta = m.weight.detach().flip(-1).transpose(0, 1).contiguous() if plain else None
    return Local(fn, True, k, s, d, left, right, 0.0, delta_weight=delta)


def _pool_local(m: nn.Module) -> Local | None:
    """MaxPool1d / AvgPool1d (floor mode) as a window layer."""
    if getattr(m, "ceil_mode", False) or getattr(m, "return_indices", False):
        return None
    k, p = _one(m.kernel_size), _one(m.padding)
    s = _one(m.stride) if m.stride is not None else k
    if isinstance(m, nn.MaxPool1d):
        d = _one(m.dilation)
        return Local(lambda t: F.max_pool1d(t, k, s, 0, d), True, k, s, d, p, p, float("-inf"))
    if p and not m.count_include_pad:
        return None
    return Local(lambda t: F.avg_pool1d(t, k, s, 0), True, k, s, 1, p, p, 0.0)


def _node_local(gm: fx.GraphModule, node: fx.Node, prev: fx.Node) -> Local | None:
    """The Local for ``node`` if it is a supported position-local op whose only tensor input is ``prev``."""
    others = [a for a in (*node.args[1:], *node.kwargs.values()) if isinstance(a, fx.Node)]
    if not node.args or node.args[0] is not prev or others:
        return None
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        if isinstance(m, nn.Conv1d):
            return _conv_local(m)
        if isinstance(m, nn.MaxPool1d | nn.AvgPool1d):
            return _pool_local(m)
        if isinstance(m, nn.ReLU):
            return Local(m, patch_fn=torch.relu_)
        return Local(m) if isinstance(m, _POINTWISE_MODULES) else None
    rest, kwargs = node.args[1:], dict(node.kwargs)
    if node.op == "call_function" and node.target in _POINTWISE_FUNCTIONS:
        return Local(lambda t, f=node.target: f(t, *rest, **kwargs))
    if node.op == "call_method" and node.target in _POINTWISE_METHODS:
        return Local(lambda t, name=node.target: getattr(t, name)(*rest, **kwargs))
    return None


def _trunk(gm: fx.GraphModule) -> tuple[list[Local], fx.Node, list[fx.Node]]:
    """Walk the chain from the input; return its Locals, the last trunk node, and all trunk nodes."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    cur, layers, nodes = placeholders[0], [], [placeholders[0]]
    while len(cur.users) == 1:
        nxt = next(iter(cur.users))
        local = _node_local(gm, nxt, cur)
        if local is None:
            break
        layers.append(local)
        nodes.append(nxt)
        cur = nxt
    return layers, cur, nodes


def _tail(gm: fx.GraphModule, end: fx.Node, trunk_nodes: list[fx.Node]) -> fx.GraphModule | None:
    """A GraphModule computing the model from the trunk output ``end``; None if not separable."""
    graph, env = fx.Graph(), {}
    env[end] = graph.placeholder("h")
    inside = set(trunk_nodes)
    for node in gm.graph.nodes:
        if node in inside:
            continue
        if any(a in inside and a is not end for a in node.all_input_nodes):
            return None
        env[node] = graph.node_copy(node, lambda a: env[a])
    return fx.GraphModule(gm, graph)


def _first_taps(gm: fx.GraphModule, nodes: list[fx.Node]) -> torch.Tensor | None:
    """:attr:`FastPlan.first_taps` when the trunk's first layer is a plain Conv1d over 4 channels."""
    if len(nodes) < 2 or nodes[1].op != "call_module":
        return None
    m = gm.get_submodule(nodes[1].target)
    if not isinstance(m, nn.Conv1d) or m.in_channels != 4 or (_one(m.stride), _one(m.dilation), m.groups) != (1, 1, 1):
        return None
    return m.weight.detach().permute(2, 1, 0).reshape(-1, m.out_channels).contiguous()


def plan_fast_ism(model: nn.Module, input_length: int) -> FastPlan | None:
    """Trace ``model`` (in eval mode, batch-norm folded) and split it; None when fast patching does not apply."""
    try:
        gm = fold_batchnorm(model)
    except Exception as exc:
        log.info("fast ISM: model not traceable (%s); using whole forwards on the 3 mutants", exc)
        return None
    if len([n for n in gm.graph.nodes if n.op == "placeholder"]) != 1:
        return None
    layers, end, nodes = _trunk(gm)
    tail = _tail(gm, end, nodes) if any(layer.window for layer in layers) else None
    if tail is None:
        log.info("fast ISM: no separable convolutional trunk; using whole forwards on the 3 mutants")
        return None
    log.info("fast ISM: trunk of %d layers (%d windowed)", len(layers), sum(la.window for la in layers))
    return FastPlan(layers, tail, _first_taps(gm, nodes))


def _pad(layer: Local, h: torch.Tensor) -> torch.Tensor:
    if not (layer.pad_left or layer.pad_right):
        return h
    return F.pad(h, (layer.pad_left, layer.pad_right), value=layer.pad_value)


def reference_forward(plan: FastPlan, x: torch.Tensor) -> tuple[list[torch.Tensor | None], torch.Tensor]:
    """Run the trunk on the references; cache each window layer's padded input plus one spare column
    on the right (the first layer's output when :attr:`FastPlan.first_taps` is set)."""
    cache, h = [], x
    for i, layer in enumerate(plan.trunk):
        if i == 0 and plan.first_taps is not None:
            h = layer.fn(_pad(layer, h))
            cache.append(h)
        elif layer.window:
            padded = _pad(layer, h)
            cache.append(F.pad(padded, (0, 1), value=layer.pad_value))
            h = layer.fn(padded)
            if layer.delta_weight is not None:  # also its output, with a spare column on each side
                cache[-1] = (cache[-1], F.pad(h, (1, 1)))
        else:
            cache.append(None)
            h = layer.fn(h)
    return cache, h


def _windows(ref: torch.Tensor, seq: torch.Tensor, start: torch.Tensor, width: int) -> torch.Tensor:
    """``ref[seq[m], :, start[m] : start[m] + width]`` for every ``m``, as one ``(M, C, width)`` tensor.

    Each (sequence, channel) window is a contiguous run of ``ref``'s memory, so all of them come out
    of one ``index_select`` on an overlapping strided view (much faster than advanced indexing).
    """
    ref = ref.contiguous()
    _, c, length = ref.shape
    flat = ref.view(-1)
    rows = flat.as_strided((flat.numel() - width + 1, width), (1, 1))
    first = ((seq * c)[:, None] + torch.arange(c, device=ref.device)) * length + start[:, None]
    return rows.index_select(0, first.view(-1)).view(len(seq), c, width)


def _window_step(
    layer: Local, ref: torch.Tensor, seq: torch.Tensor, start: torch.Tensor, patch: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Recompute a window layer's outputs that the patch ``[start, start + w)`` can change.

    ``ref`` is the padded reference input ``(S, C, Lp + 1)`` (with a spare last column); ``patch`` is
    ``(M, C, w)``. Returns the new start (output coordinates) and the recomputed outputs ``(M, C', w')``
    (a fixed-width superset of the changed range, clamped to the output length).
    """
    s, span = layer.stride, layer.dilation * (layer.kernel - 1)
    width, length_out = patch.shape[-1], (ref.shape[-1] - 1 - span - 1) // s + 1
    w_out = min((width - 1 + span) // s + 1, length_out)
    a = start + layer.pad_left  # patch start in padded coordinates
    lo = torch.clamp(-torch.div(span - a, s, rounding_mode="floor"), 0, length_out - w_out)
    need = (w_out - 1) * s + span + 1
    offset = a - lo * s  # where the patch starts inside the window (>= 0; it may overhang the end)
    idx = offset[:, None] + torch.arange(width, device=ref.device)
    # padded input [lo * s, lo * s + need + 1): the spare last column takes the columns of patches that
    # overhang the window's end (they feed no output we keep) and feeds only outputs past w_out, cut off
    window = _windows(ref, seq, lo * s, need + 1)
    window.scatter_(2, idx.clamp(max=need)[:, None, :].expand(-1, patch.shape[1], -1), patch)
    return lo, layer.fn(window)[:, :, :w_out]


def _delta_conv_step(
    layer: Local, cache: tuple[torch.Tensor, torch.Tensor], seq: torch.Tensor, start: torch.Tensor, patch: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """A stride-1 convolution's changed outputs as its cached output plus the transposed convolution of the
    input's change (``w · K · C · C'`` products per mutant instead of ``(w + K − 1) · K · C · C'``).

    The change ``Δ = patch − input[start, start + w)`` moves outputs ``[a − K + 1, a + w)`` (``a`` the
    patch start in padded coordinates); those outside the kept window (past either end of the layer's
    output) go to a spare column on either side and are cut off.
    """
    ref_in, ref_out = cache
    k, width = layer.kernel, patch.shape[-1]
    length_out = ref_out.shape[-1] - 2
    w_out = min(width + k - 1, length_out)
    a = start + layer.pad_left
    lo = torch.clamp(a - (k - 1), 0, length_out - w_out)
    delta = F.conv_transpose1d(patch - _windows(ref_in, seq, a, width), layer.delta_weight)  # (M, C', w + K − 1)
    window = _windows(ref_out, seq, lo, w_out + 2)  # output [lo − 1, lo + w_out + 1): spares at both ends
    idx = (a - (k - 1) - lo + 1)[:, None] + torch.arange(delta.shape[-1], device=patch.device)
    window.scatter_add_(2, idx.clamp(0, w_out + 1)[:, None, :].expand(-1, delta.shape[1], -1), delta)
    return lo, window[:, :, 1 : 1 + w_out]


def _first_step(
    plan: FastPlan, out0: torch.Tensor, x: torch.Tensor, seq: torch.Tensor, pos: torch.Tensor, base: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first convolution's changed outputs ``(M, C', K)`` from its cached output ``out0`` ``(S, C', L')``.

    Output ``j`` sees the mutated input column through tap ``t = pos + pad_left − j``; its change is
    ``taps[t, new base] − taps[t, old base]`` (no old base at an N).
    """
    layer, taps = plan.trunk[0], plan.first_taps
    k, length_out = layer.kernel, out0.shape[-1]
    w_out = min(k, length_out)
    a = pos + layer.pad_left
    lo = torch.clamp(a - (k - 1), 0, length_out - w_out)
    tap = a[:, None] - lo[:, None] - torch.arange(w_out, device=out0.device)  # (M, w_out)
    valid = ((tap >= 0) & (tap < k))[:, :, None]
    tap = tap.clamp(0, k - 1) * 4
    old = x[seq, :, pos]  # (M, 4): one-hot, or zeros at an N
    delta = taps[tap + base[:, None]] - taps[tap + old.argmax(1)[:, None]] * old.amax(1)[:, None, None]
    window = _windows(out0, seq, lo, w_out)  # (M, C', w_out)
    return lo, window + delta.masked_fill_(~valid, 0.0).transpose(1, 2)


def patch_forward(
    plan: FastPlan,
    cache: list[torch.Tensor | None],
    trunk_out: torch.Tensor,
    x: torch.Tensor,
    seq: torch.Tensor,
    pos: torch.Tensor,
    base: torch.Tensor,
) -> torch.Tensor:
    """Trunk outputs ``(M, C', L')`` of mutants: sequence ``x[seq[m]]`` with base ``base[m]`` at ``pos[m]``.

    Only the windows each mutation reaches are recomputed.
    """
    start, patch = pos, torch.eye(4, dtype=x.dtype, device=x.device)[base][:, :, None]
    for i, (layer, ref) in enumerate(zip(plan.trunk, cache, strict=True)):
        if i == 0 and plan.first_taps is not None:
            start, patch = _first_step(plan, ref, x, seq, pos, base)
        elif layer.delta_weight is not None:
            start, patch = _delta_conv_step(layer, ref, seq, start, patch)
        elif layer.window:
            start, patch = _window_step(layer, ref, seq, start, patch)
        else:
            patch = (layer.patch_fn or layer.fn)(patch)
    full = trunk_out.index_select(0, seq)
    idx = (start[:, None] + torch.arange(patch.shape[-1], device=full.device))[:, None, :]
    full.scatter_(2, idx.expand(-1, full.shape[1], -1), patch)
    return full
