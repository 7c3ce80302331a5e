"""fastISM machinery: split a model into a position-local trunk and a tail, patch mutation windows.

The trunk is the longest chain of layers from the input whose output at a position depends only
on a window of its input: ``Conv1d`` (zero padding), ``MaxPool1d`` / ``AvgPool1d`` (floor mode) and
point-wise layers (activations, eval-mode batch-norm and dropout). Mutations at a block of positions
``[first, first + P)`` change each window layer's outputs in a range computed from its kernel, stride,
dilation and padding; all the block's mutants (across a batch of sequences) share that range, so each
layer recomputes one slice of the cached reference activations: the first convolution as a product with
its taps, a stride-1 convolution as its cached output plus the transposed convolution of its input's
change, other window layers from their cached (padded) input with the patch written in. The tail
(everything after the trunk) runs on the reference trunk output with the changed range patched in, or,
when it opens with ``flatten`` and a dense layer, as that layer's reference output plus the changed
columns times their weights.

A trunk of :class:`Stage` s (convolution, ReLU, tiled max-pool) under a dense layer has a second, fused CPU
path, :func:`patch_block_staged`: channels-last changes, transposed convolutions as one product per tap,
one numba pass per stage for everything after the convolution, blocks aligned to the first pool
(:func:`block_starts`). A :class:`Chain` (convolutions with ReLUs, one closing tiled max-pool, a dense layer) has
a third, :func:`chain_dense_change`: each mutant's own window of each convolution's change, channels last, so a
pass takes mutants of any positions; numba passes for the ReLUs' changes and for the pool with the dense layer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention
from torch import fx, nn

from cisflow._numba import LazyKernels
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
    tiled_max: bool = False  # a max-pool whose windows tile its input (stride = kernel, dilation 1)
    cover: Local | None = None  # a convolution's next window layer that recomputes its windows from a copy
    delta_weight: torch.Tensor | None = None  # stride-1 convolutions: flipped, transposed weight (C, C', K)
    identity: bool = False  # the identity here: nn.Identity, dropout in eval mode (module or F.dropout)


@dataclass
class DenseHead:
    """A tail that opens with ``flatten(1)`` and a ``Linear``: its weight as ``(H, C, L')`` over the trunk
    output's channels and columns, and ``rest`` from the dense layer's output ``(N, H)`` to logits."""

    weight: torch.Tensor
    bias: torch.Tensor | None
    rest: Callable[[torch.Tensor], torch.Tensor]
    weight_cl: torch.Tensor | None = None  # ``weight`` as ``(H, L', C)``, made on first use

    def reference(self, trunk_out: torch.Tensor) -> torch.Tensor:
        """The dense layer's output ``(S, H)`` on the references' trunk outputs ``(S, C, L')``."""
        return F.linear(trunk_out.flatten(1), self.weight.flatten(1), self.bias)

    def logits(self, ref: torch.Tensor, trunk_out: torch.Tensor, rows: Rows, start: int, patch: torch.Tensor):
        """Mutants' logits: the dense layer's reference output plus the patched columns' change times their weights."""
        change = rows.minus(patch, trunk_out[:, :, start : start + patch.shape[-1]])
        return self.logits_from_change(ref, rows, start, change)

    def logits_from_change(
        self, ref: torch.Tensor, rows: Rows, start: int, change: torch.Tensor, channels_last: bool = False
    ) -> torch.Tensor:
        """Mutants' logits from the change ``(M, C, w)`` (``(M, w, C)`` with ``channels_last``) of the trunk
        output's columns ``[start, start + w)``."""
        if channels_last:
            if self.weight_cl is None:
                self.weight_cl = self.weight.permute(0, 2, 1).contiguous()  # (H, L', C)
            weight = self.weight_cl[:, start : start + change.shape[1]].reshape(len(self.weight), -1)  # (H, w · C)
        else:
            weight = self.weight[:, :, start : start + change.shape[-1]].reshape(len(self.weight), -1)  # (H, C · w)
        return self.rest(torch.addmm(ref.index_select(0, rows.seq), change.flatten(1), weight.T))


@dataclass
class GlobalPoolHead:
    """A tail whose input ``(N, C, L')`` is only pooled over positions (``amax`` / ``mean`` of the last
    dimension, DeepBind-style): ``kinds`` in the order ``rest`` takes the pooled ``(N, C)`` tensors."""

    kinds: list[str]
    rest: Callable[..., torch.Tensor]

    def reference(self, trunk_out: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per reference: the max of columns ``[0, j)`` and of ``[j, L')`` ``(S, C, L' + 1)`` (−inf when empty),
        and the mean ``(S, C)``."""
        edge = torch.full_like(trunk_out[:, :, :1], float("-inf"))
        before = torch.cat([edge, trunk_out.cummax(-1).values], -1)
        after = torch.cat([trunk_out.flip(-1).cummax(-1).values.flip(-1), edge], -1)
        return {"before": before, "after": after, "mean": trunk_out.mean(-1)}

    def logits(self, ref: dict, trunk_out: torch.Tensor, rows: Rows, start: int, patch: torch.Tensor):
        """Mutants' logits: each pooled value from the patch and the reference's columns outside it."""
        end, seq = start + patch.shape[-1], rows.seq
        pooled = []
        for kind in self.kinds:
            if kind == "amax":
                outside = torch.maximum(ref["before"][:, :, start], ref["after"][:, :, end])
                pooled.append(torch.maximum(outside.index_select(0, seq), patch.amax(-1)))
            else:  # the mean: the reference's plus the patch's change in sum over the length
                removed = trunk_out[:, :, start:end].sum(-1)
                changed = patch.sum(-1) - removed.index_select(0, seq)
                pooled.append(ref["mean"].index_select(0, seq) + changed / trunk_out.shape[-1])
        return self.rest(*pooled)


@dataclass
class Stage:
    """A run of trunk layers that :func:`patch_block_staged` updates in one fused pass after the convolution:
    the convolution at trunk index ``conv`` (the first one by its taps, later ones stride-1 by their transposed
    convolution), then ReLU (``relu``) or nothing (eval-mode dropout, identities), then a max-pool whose windows
    tile the convolution's output without padding (``pool`` its width). ``next_pad``: where
    the pooled output starts in the next stage's padded input (its convolution's left padding; 0 for the last
    stage, whose pooled output is the trunk output). ``taps``: a later stage's transposed-convolution weight as
    ``(K, C, C')``, one matrix per tap."""

    conv: int
    relu: bool
    pool: int
    next_pad: int = 0
    taps: torch.Tensor | None = None


@dataclass
class Chain:
    """A trunk that :func:`chain_dense_change` updates mutant by mutant: convolutions at trunk indices ``convs``
    (the first one over the one-hot input, later ones stride-1), each followed by a ReLU (``relu``) or nothing
    (eval-mode dropout, identities), no pool between them, and one max-pool of width ``pool`` tiling the last one's
    output without padding, under a dense layer (DragoNN's SequenceDNN).

    A mutation at position ``i`` changes convolution ``l``'s output columns ``i + offsets[l] ... i + offsets[l] +
    widths[l] − 1`` (before clipping to the output), the same window for every mutant but shifted by ``i``.
    ``first_table`` ``(4, K · C')``: the first convolution's change over its window, channels last, is the one-hot
    change ``(M, 4)`` times it; ``weights``: later convolutions' transposed-convolution weights as channels-last 2-d
    ones ``(C, C', K, 1)`` (None for the first)."""

    convs: list[int]
    relu: list[bool]
    pool: int
    offsets: list[int]
    widths: list[int]
    first_table: torch.Tensor = field(repr=False)
    weights: list[torch.Tensor | None] = field(repr=False)


@dataclass
class FastPlan:
    """The trunk layers and the tail (a callable from the trunk output to logits ``(N, T)``).

    ``first_taps`` ``(K · 4, C_out)``: when the trunk opens with a plain ``Conv1d`` over the one-hot
    input (stride, dilation and groups 1), row ``t · 4 + b`` holds its weights for base ``b`` at tap
    ``t``; a mutation then changes that layer's outputs by a product with these rows, with no convolution.
    ``head``: the tail's leading dense layer (:class:`DenseHead`) or global pooling (:class:`GlobalPoolHead`),
    when it opens with one.
    """

    trunk: list[Local]
    tail: Callable[[torch.Tensor], torch.Tensor]
    first_taps: torch.Tensor | None = None
    head: DenseHead | GlobalPoolHead | None = None
    stages: list[Stage] | None = None
    chain: Chain | None = None
    tables: dict = field(default_factory=dict)  # the first step's tap tables by block geometry


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
        tiled = s == k and d == 1
        return Local(lambda t: F.max_pool1d(t, k, s, 0, d), True, k, s, d, p, p, float("-inf"), tiled_max=tiled)
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
        if isinstance(m, nn.Identity) or (isinstance(m, nn.Dropout) and not m.training):
            return Local(m, identity=True)
        return Local(m) if isinstance(m, _POINTWISE_MODULES) else None
    rest, kwargs = node.args[1:], dict(node.kwargs)
    plain_relu = (node.op == "call_function" and node.target in (torch.relu, F.relu)) or (
        node.op == "call_method" and node.target == "relu"
    )
    if plain_relu and not rest and kwargs in ({}, {"inplace": False}):
        return Local(torch.relu, patch_fn=torch.relu_)
    if node.op == "call_function" and node.target in _POINTWISE_FUNCTIONS:
        training = rest[1] if len(rest) > 1 else kwargs.get("training", True)
        identity = node.target is F.dropout and training is False  # as traced through an eval-mode nn.Dropout
        return Local(lambda t, f=node.target: f(t, *rest, **kwargs), identity=identity)
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


def _tail(gm: fx.GraphModule, end: fx.Node | list[fx.Node], trunk_nodes: list[fx.Node]) -> fx.GraphModule | None:
    """A GraphModule computing ``gm``'s output from node ``end`` (or nodes, one input each), without the nodes
    ``trunk_nodes`` (the ends among them); None if a later node reads one of them other than an end."""
    graph, env = fx.Graph(), {}
    ends = end if isinstance(end, list) else [end]
    for i, node in enumerate(ends):
        env[node] = graph.placeholder(f"h{i}")
    inside = set(trunk_nodes)
    for node in gm.graph.nodes:
        if node in inside:
            continue
        if any(a in inside and a not in env for a in node.all_input_nodes):
            return None
        env[node] = graph.node_copy(node, lambda a: env[a])
    return fx.GraphModule(gm, graph)


def _flatten_input(node: fx.Node) -> fx.Node | None:
    """The tensor ``node`` flattens from dimension 1 on (``x.flatten(1)`` / ``torch.flatten(x, 1)``), else None."""
    is_flatten = (node.op == "call_method" and node.target == "flatten") or (
        node.op == "call_function" and node.target is torch.flatten
    )
    if not is_flatten or not node.args:
        return None
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    return node.args[0] if (start, end) == (1, -1) and isinstance(node.args[0], fx.Node) else None


def _dense_head(tail: fx.GraphModule, trunk_shape: tuple[int, int]) -> DenseHead | None:
    """:class:`DenseHead` of ``tail`` when its input's only use is ``flatten(1)`` into a ``Linear``."""
    h = next(n for n in tail.graph.nodes if n.op == "placeholder")
    if len(h.users) != 1:
        return None
    flat = next(iter(h.users))
    if _flatten_input(flat) is not h or len(flat.users) != 1:
        return None
    dense = next(iter(flat.users))
    if dense.op != "call_module" or dense.args[0] is not flat or len(dense.args) != 1 or dense.kwargs:
        return None
    m = tail.get_submodule(dense.target)
    if not isinstance(m, nn.Linear) or m.in_features != trunk_shape[0] * trunk_shape[1]:
        return None
    rest = _tail(tail, dense, [h, flat, dense])
    if rest is None:
        return None
    weight = m.weight.detach().view(m.out_features, *trunk_shape)
    bias = None if m.bias is None else m.bias.detach()
    return DenseHead(weight, bias, rest)


def _global_pool_kind(node: fx.Node) -> str | None:
    """``"amax"`` / ``"mean"`` when ``node`` reduces its input over the last of 3 dimensions, without keepdim."""
    if node.op == "call_method" and node.target in ("amax", "mean"):
        kind = node.target
    elif node.op == "call_function" and node.target in (torch.amax, torch.mean):
        kind = node.target.__name__
    else:
        return None
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    keepdim = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
    dims = dim if isinstance(dim, list | tuple) else [dim]
    return kind if len(dims) == 1 and dims[0] in (-1, 2) and keepdim is False else None


def _global_pool_head(tail: fx.GraphModule) -> GlobalPoolHead | None:
    """:class:`GlobalPoolHead` of ``tail`` when every use of its input is a global max or mean over positions."""
    h = next(n for n in tail.graph.nodes if n.op == "placeholder")
    pools = list(h.users)
    kinds = [_global_pool_kind(n) for n in pools]
    if not pools or None in kinds or any(n.args[0] is not h for n in pools):
        return None
    rest = _tail(tail, pools, [h, *pools])
    return None if rest is None else GlobalPoolHead(kinds, rest)


def _first_taps(gm: fx.GraphModule, nodes: list[fx.Node]) -> torch.Tensor | None:
    """:attr:`FastPlan.first_taps` when the trunk's first layer is a plain Conv1d over 4 channels."""
    if len(nodes) < 2 or nodes[1].op != "call_module":
        return None
    m = gm.get_submodule(nodes[1].target)
    if not isinstance(m, nn.Conv1d) or m.in_channels != 4 or (_one(m.stride), _one(m.dilation), m.groups) != (1, 1, 1):
        return None
    return m.weight.detach().permute(2, 1, 0).reshape(-1, m.out_channels).contiguous()


def _link_covers(layers: list[Local]) -> None:
    """Point each convolution at the next window layer when only point-wise layers lie between and that layer
    recomputes from a copy of its input window (a pool, a strided or dilated convolution): the convolution then
    recomputes every column of the windows it reaches, and the window layer uses its patch as it is."""
    for i, layer in enumerate(layers):
        if layer.delta_weight is None:
            continue
        nxt = next((la for la in layers[i + 1 :] if la.window), None)
        if nxt is not None and nxt.delta_weight is None:
            layer.cover = nxt


def _stages(plan: FastPlan) -> list[Stage] | None:
    """The trunk as :class:`Stage` s when it is made of them only, each with a pool, opens with the taps'
    convolution and the tail with a dense layer; else None. Convolutions without a pool between them (DragoNN's
    SequenceDNN) are not staged (its ISM took ~10 % longer so than on the layer path, 1 thread): see :func:`_chain`."""
    trunk = plan.trunk
    if plan.first_taps is None or not isinstance(plan.head, DenseHead):
        return None
    stages, i = [], 0
    while i < len(trunk):
        if i and trunk[i].delta_weight is None:
            return None  # not a stride-1 convolution
        relu, j = False, i + 1
        while j < len(trunk) and not trunk[j].window:
            if trunk[j].patch_fn is torch.relu_:
                relu = True
            elif not isinstance(trunk[j].fn, nn.Dropout | nn.Identity):  # eval mode: dropout is the identity
                return None
            j += 1
        if j == len(trunk) or not trunk[j].tiled_max or trunk[j].pad_left or trunk[j].pad_right:
            return None
        pool, j = trunk[j].kernel, j + 1
        next_pad = trunk[j].pad_left if j < len(trunk) else 0
        taps = trunk[i].delta_weight.permute(2, 0, 1).contiguous() if i else None
        stages.append(Stage(i, relu, pool, next_pad, taps))
        i = j
    return stages


def _chain(plan: FastPlan) -> Chain | None:
    """The trunk as a :class:`Chain` when it is one (convolutions, ReLUs or identities, one closing tiled
    max-pool), opens with the taps' convolution and the tail with a dense layer; else None."""
    trunk = plan.trunk
    if plan.first_taps is None or not isinstance(plan.head, DenseHead) or len(trunk) < 2:
        return None
    pool = trunk[-1]
    if not pool.tiled_max or pool.pad_left or pool.pad_right:
        return None
    convs, relu = [], []
    for i, layer in enumerate(trunk[:-1]):
        if i == 0 or layer.delta_weight is not None:
            convs.append(i)
            relu.append(False)
        elif layer.patch_fn is torch.relu_ and not relu[-1]:
            relu[-1] = True
        elif layer.window or not layer.identity:
            return None
    offsets, widths = [], []
    for i in convs:  # output j of a convolution sees input j − pad_left + t, 0 ≤ t < K
        k, pad = trunk[i].kernel, trunk[i].pad_left
        offsets.append((offsets[-1] if offsets else 0) + pad - k + 1)
        widths.append((widths[-1] if widths else 1) + k - 1)
    k = trunk[0].kernel
    table = plan.first_taps.view(k, 4, -1).flip(0).permute(1, 0, 2).reshape(4, -1).contiguous()
    weights = [None] + [
        trunk[i].delta_weight.unsqueeze(-1).contiguous(memory_format=torch.channels_last) for i in convs[1:]
    ]
    return Chain(convs, relu, pool.kernel, offsets, widths, table, weights)


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
    _link_covers(layers)
    plan = FastPlan(layers, tail, _first_taps(gm, nodes))
    with torch.no_grad():
        trunk_shape = reference_forward(plan, torch.zeros(1, 4, input_length))[1].shape[1:]
    plan.head = _dense_head(tail, tuple(trunk_shape)) or _global_pool_head(tail)
    plan.stages = _stages(plan)
    plan.chain = _chain(plan) if plan.stages is None else None
    heads = {DenseHead: ", dense layer updated by its changed columns", GlobalPoolHead: ", global pooling updated"}
    log.info(
        "fast ISM: trunk of %d layers (%d windowed)%s",
        len(layers),
        sum(la.window for la in layers),
        heads.get(type(plan.head), ""),
    )
    return plan


def _pad(layer: Local, h: torch.Tensor) -> torch.Tensor:
    if not (layer.pad_left or layer.pad_right):
        return h
    return F.pad(h, (layer.pad_left, layer.pad_right), value=layer.pad_value)


Cache = list[torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None]


def reference_forward(plan: FastPlan, x: torch.Tensor) -> tuple[Cache, torch.Tensor]:
    """Run the trunk on the references ``(S, 4, L)``; return the per-layer cache and the trunk output.

    Cached per layer: the first layer's output when :attr:`FastPlan.first_taps` is set; a window layer's
    padded input (and, for a delta convolution, its output too); nothing for a point-wise layer.
    """
    cache: Cache = []
    h = x
    for i, layer in enumerate(plan.trunk):
        if i == 0 and plan.first_taps is not None:
            h = layer.fn(_pad(layer, h))
            cache.append(h)
        elif layer.window:
            padded = _pad(layer, h)
            h = layer.fn(padded)
            cache.append((padded, h) if layer.delta_weight is not None else padded)
        else:
            cache.append(None)
            h = layer.fn(h)
    return cache, h


@dataclass
class Rows:
    """Which cached reference each of ``M`` mutants is: row ``seq[m]`` of ``n_refs``.

    When every reference has the same number ``reps`` of consecutive mutants (``seq`` sorted, no N in the
    block), per-mutant copies of a cached slice are replaced by broadcasting over a ``(S, reps, ...)`` view.
    """

    seq: torch.Tensor
    n_refs: int
    reps: int | None

    @classmethod
    def of(cls, seq: torch.Tensor, n_refs: int, per_ref: int) -> Rows:
        """``seq`` sorted; ``per_ref`` the mutants each reference has when none has an N."""
        return cls(seq, n_refs, per_ref if len(seq) == n_refs * per_ref else None)

    def take(self, ref: torch.Tensor) -> torch.Tensor:
        """``ref[seq]`` for a slice ``ref`` ``(S, C, w)``, a new ``(M, C, w)`` tensor (copied contiguous first:
        ``index_select`` on a strided slice is 2–3× slower)."""
        return ref.contiguous().index_select(0, self.seq)

    def minus(self, values: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """``values − ref[seq]`` for ``values`` ``(M, C, w)`` and a slice ``ref`` ``(S, C, w)``."""
        if self.reps is None:
            return values - self.take(ref)
        return (values.view(self.n_refs, self.reps, *values.shape[1:]) - ref.contiguous()[:, None]).view(values.shape)

    def plus(self, ref: torch.Tensor, values: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``ref[seq]`` ``(M, C, w)`` for a slice ``ref`` ``(S, C, w)`` with ``values`` ``(M, C, v)`` added on
        columns ``[offset, offset + v)``, as a new tensor."""
        if self.reps is None:
            out = self.take(ref)
            out[:, :, offset : offset + values.shape[-1]] += values
            return out
        end, ref = offset + values.shape[-1], ref.contiguous()[:, None]  # (S, 1, C, w)
        out = values.new_empty(len(self.seq), *ref.shape[2:])
        grouped = out.view(self.n_refs, self.reps, *out.shape[1:])
        grouped_values = values.view(self.n_refs, self.reps, *values.shape[1:])
        torch.add(grouped_values, ref[..., offset:end], out=grouped[..., offset:end])
        if offset:
            grouped[..., :offset] = ref[..., :offset]
        if end < grouped.shape[-1]:
            grouped[..., end:] = ref[..., end:]
        return out


def _covering(nxt: Local, lo: int, hi: int, length: int) -> tuple[int, int]:
    """Widen the changed columns ``[lo, hi)`` of an output of ``length`` columns to all the columns of the windows
    of ``nxt`` (the next window layer) they reach, so that layer finds its whole input windows in the patch."""
    s, span = nxt.stride, nxt.dilation * (nxt.kernel - 1)
    a = lo + nxt.pad_left
    length_out = (length + nxt.pad_left + nxt.pad_right - span - 1) // s + 1
    first, last = max(0, -((span - a) // s)), min(length_out, (a + hi - lo - 1) // s + 1)
    if last <= first:
        return lo, hi
    return max(0, min(lo, first * s - nxt.pad_left)), min(length, max(hi, (last - 1) * s + span + 1 - nxt.pad_left))


def _add_rows(
    layer: Local, ref: torch.Tensor, rows: Rows, lo: int, hi: int, delta: torch.Tensor
) -> tuple[int, torch.Tensor]:
    """``ref[seq]`` over columns ``[lo, hi)`` (widened by :func:`_covering` when ``layer.cover`` is set) plus
    ``delta`` ``(M, C, hi − lo)`` on ``[lo, hi)``: the layer's changed outputs and where they start."""
    lo_out, hi_out = (lo, hi) if layer.cover is None else _covering(layer.cover, lo, hi, ref.shape[-1])
    return lo_out, rows.plus(ref[:, :, lo_out:hi_out], delta, lo - lo_out)


def _first_delta(
    plan: FastPlan,
    length: int,
    first: int,
    offset: torch.Tensor,
    change: torch.Tensor,
    positions: int,
    channels_last: bool = False,
) -> tuple[int, torch.Tensor]:
    """The change of the first convolution's outputs (``length`` columns) that mutations at ``first ... first +
    positions − 1`` make: the first changed column and ``(M, C', w)`` (``(M, w, C')`` with ``channels_last``).

    Mutant ``m`` changes column ``first + offset[m]`` by ``change[m]`` ``(M, 4)`` (new one-hot minus old;
    an N's column is zeros). Output ``j`` sees column ``i`` through tap ``t = i + pad_left − j``, so its
    change is ``change · taps[t]`` (0 outside ``0 ≤ t < K``): one ``(M, 4 P) @ (4 P, C' · w)`` product over
    the block's ``P`` offsets, no convolution. The tables are kept on the plan by block geometry.
    """
    layer, k = plan.trunk[0], plan.trunk[0].kernel
    a = first + layer.pad_left
    lo, hi = max(a - k + 1, 0), min(a + positions, length)
    if hi <= lo:
        return lo, change.new_empty(len(change), plan.first_taps.shape[1], 0)
    width, key = hi - lo, (positions, hi - lo, a - lo, channels_last)
    table = plan.tables.get(key)
    if table is None:
        taps = plan.first_taps.view(k, 4, -1)
        flipped = F.pad(taps.flip(0).permute(1, 2, 0), (positions, positions))  # (4, C', K + 2P): zeros outside
        # offset r, output lo + jj: flipped tap k − 1 − (a + r − lo − jj), shifted by the padding P
        steps = torch.arange(max(positions, width), device=change.device)
        index = positions + k - 1 - a + lo - steps[:positions, None] + steps[:width]
        table = flipped[:, :, index].permute(2, 0, 3, 1) if channels_last else flipped[:, :, index].permute(2, 0, 1, 3)
        table = table.reshape(positions * 4, -1)  # (P · 4, C' · w) or (P · 4, w · C')
        plan.tables[key] = table
    spread = change.new_zeros(len(change), positions, 4)
    spread[torch.arange(len(change), device=change.device), offset] = change
    delta = spread.view(len(change), -1) @ table
    return lo, delta.view(len(change), width, -1) if channels_last else delta.view(len(change), -1, width)


def _first_step(
    plan: FastPlan,
    out0: torch.Tensor,
    first: int,
    offset: torch.Tensor,
    change: torch.Tensor,
    rows: Rows,
    positions: int,
) -> tuple[int, torch.Tensor]:
    """The first convolution's outputs that mutations at ``first ... first + positions − 1`` change
    (:func:`_first_delta` added to the cached output ``out0``): the first output and ``(M, C', w)``."""
    lo, delta = _first_delta(plan, out0.shape[-1], first, offset, change, positions)
    if delta.shape[-1] == 0:
        return lo, delta
    return _add_rows(plan.trunk[0], out0, rows, lo, lo + delta.shape[-1], delta)


def _window_step(
    layer: Local, padded: torch.Tensor, rows: Rows, start: int, patch: torch.Tensor
) -> tuple[int, torch.Tensor]:
    """Recompute the outputs of a window layer that ``patch`` ``(M, C, w)`` (its input from ``start``) reaches.

    ``padded`` is the layer's padded reference input ``(S, C, Lp)``. Returns the first output and the
    recomputed outputs ``(M, C', w')`` (``w'`` 0 when the patch feeds no output, e.g. a pool's dropped tail).
    """
    s, span, width = layer.stride, layer.dilation * (layer.kernel - 1), patch.shape[-1]
    length_out = (padded.shape[-1] - span - 1) // s + 1
    a = start + layer.pad_left  # the patch's first column in padded coordinates
    lo, hi = max(0, -((span - a) // s)), min(length_out, (a + width - 1) // s + 1)
    if hi <= lo:
        return lo, patch.new_empty(len(patch), patch.shape[1], 0)
    i0, i1 = lo * s, (hi - 1) * s + span + 1
    if a <= i0 and i1 <= a + width:  # the patch holds the whole windows (see _covering)
        window = patch[:, :, i0 - a : i1 - a]
    else:
        window = rows.take(padded[:, :, i0:i1])
        p0, p1 = max(a, i0), min(a + width, i1)
        window[:, :, p0 - i0 : p1 - i0] = patch[:, :, p0 - a : p1 - a]
    if layer.tiled_max and layer.kernel >= hi - lo:  # few wide windows: a max over a reshape is several times faster
        return lo, window.view(len(window), window.shape[1], hi - lo, layer.kernel).amax(-1)
    return lo, layer.fn(window)


def _delta_conv_step(
    layer: Local, cache: tuple[torch.Tensor, torch.Tensor], rows: Rows, start: int, patch: torch.Tensor
) -> tuple[int, torch.Tensor]:
    """A stride-1 convolution's changed outputs: its cached output plus the transposed convolution of the
    input's change (``w · K · C · C'`` products per mutant instead of ``(w + K − 1) · K · C · C'``).

    The change ``Δ = patch − input[start, start + w)`` moves outputs ``[a − K + 1, a + w)`` (``a`` the
    patch's first column in padded coordinates), clipped to the layer's output.
    """
    ref_in, ref_out = cache
    k, width = layer.kernel, patch.shape[-1]
    a = start + layer.pad_left
    change = rows.minus(patch, ref_in[:, :, a : a + width])
    delta = F.conv_transpose1d(change, layer.delta_weight)  # (M, C', w + K − 1): outputs a − K + 1 ...
    lo, hi = max(0, a - k + 1), min(ref_out.shape[-1], a + width)
    return _add_rows(layer, ref_out, rows, lo, hi, delta[:, :, lo - (a - k + 1) : hi - (a - k + 1)])


def patch_block(
    plan: FastPlan,
    cache: Cache,
    x: torch.Tensor,
    first: int,
    positions: int,
    rows: Rows,
    offset: torch.Tensor,
    new: torch.Tensor,
) -> tuple[int, torch.Tensor]:
    """Trunk outputs that mutations in the block of columns ``first ... first + positions − 1`` change.

    Mutant ``m`` is reference ``x[rows.seq[m]]`` ``(S, 4, L)`` with column ``first + offset[m]`` set to the
    one-hot ``new[m]`` ``(M, 4)``. Every layer recomputes one window shared by all mutants (the union of
    their windows): one slice of the cached reference activations. Returns the first column and
    ``(M, C', w)`` (``w`` 0 when no output changes).
    """
    old = x[rows.seq, :, first + offset]
    start, patch = first, None
    for i, (layer, ref) in enumerate(zip(plan.trunk, cache, strict=True)):
        if i == 0 and plan.first_taps is not None:
            start, patch = _first_step(plan, ref, first, offset, new - old, rows, positions)
        else:
            if patch is None:  # the input block with each mutant's column set
                patch = rows.take(x[:, :, first : first + positions])
                patch[torch.arange(len(patch), device=x.device), :, offset] = new
            if layer.delta_weight is not None:
                start, patch = _delta_conv_step(layer, ref, rows, start, patch)
            elif layer.window:
                start, patch = _window_step(layer, ref, rows, start, patch)
            else:
                patch = (layer.patch_fn or layer.fn)(patch)
        if patch.shape[-1] == 0:
            break
    return start, patch


def _build_kernels() -> dict[str, Callable]:
    """The numba kernel of :func:`patch_block_staged`; ImportError without numba."""
    import numba

    @numba.njit(nogil=True, cache=True)
    def pooled_change(ref_out, delta, by_position, delta_col, lo, hi, seq, relu, pool, first_window, ref_pooled, out):
        # out[j, m] = maxpool(act(ref_out[s] + delta of m))[first_window + j] − ref_pooled[s, first_window + j],
        # s = seq[m], channels last, out position-major; delta[i, m] (by_position) or delta[m, i] changes column
        # delta_col + i, used on [lo, hi) only. Every value stays in the tensors' dtype (the zero and −inf are of
        # it), so the sums are torch's; NaN propagates through the ReLU and the max as in torch.
        zero, lowest, channels = out.dtype.type(0.0), out.dtype.type(-np.inf), out.shape[2]
        for m in range(out.shape[1]):  # pragma: no cover - compiled
            s = seq[m]
            for j in range(out.shape[0]):
                best = out[j, m]
                best[:] = lowest
                col0 = (first_window + j) * pool
                for col in range(col0, col0 + pool):
                    ref, changed = ref_out[s, col], lo <= col < hi
                    i = col - delta_col if changed else 0
                    d = delta[i, m] if by_position else delta[m, i]
                    for c in range(channels):
                        v = ref[c] + d[c] if changed else ref[c]
                        if relu:
                            v = zero if v < zero else v
                        best[c] = v if (v > best[c] or v != v) else best[c]
                pooled = ref_pooled[s, first_window + j]
                for c in range(channels):
                    best[c] = best[c] - pooled[c]

    @numba.njit(nogil=True, cache=True)
    def relu_change(delta, seq, pos, offset, ref, channels, out):
        # out[m, u] = relu(ref[s, c] + delta[m, u]) − relu(ref[s, c]) for column c = pos[m] + offset + u of the
        # reference's columns, 0 where c is outside them; s = seq[m]. Channels last and flattened (delta, out
        # (M, w · C), ref (S, L · C)), so that a mutant's columns are one contiguous run. NaN propagates as in torch.
        zero, width, length = out.dtype.type(0.0), out.shape[1] // channels, ref.shape[1] // channels
        for m in range(out.shape[0]):  # pragma: no cover - compiled
            start = pos[m] + offset
            u0 = min(width, max(0, -start))
            u1 = max(u0, min(width, length - start))
            o, d = out[m], delta[m]
            z = ref[seq[m], (start + u0) * channels : (start + u1) * channels]
            o[: u0 * channels] = zero
            o[u1 * channels :] = zero
            o, d = o[u0 * channels : u1 * channels], d[u0 * channels : u1 * channels]
            for k in range(z.shape[0]):
                v, r = z[k] + d[k], z[k]
                v = zero if v < zero else v
                r = zero if r < zero else r
                o[k] = v - r

    @numba.njit(nogil=True, cache=True)
    def window_dense(delta, seq, pos, offset, length, ref_out, relu, pool, before, after, ref_pooled, weight, out):
        # out[m] = the dense layer's change: its weight (H, L_p, C) times the change of the pooled columns, each the
        # max of act(ref_out[s] + delta of m) over its window minus ref_pooled[s]; delta[m, u] changes column
        # pos[m] + offset + u, used on [0, length) only; a window's other columns enter through the reference's max
        # over those before (before[s, c]) and from (after[s, c]) column c. Channels last, values in the tensors'
        # dtype. The max runs unordered (vectorised); a window with a NaN value is redone in order, so that NaN
        # propagates through the ReLU and the max as in torch.
        zero, width, channels = out.dtype.type(0.0), delta.shape[1], delta.shape[2]
        best = np.empty(channels, out.dtype)
        for m in range(out.shape[0]):  # pragma: no cover - compiled
            s, start = seq[m], pos[m] + offset
            out[m] = zero
            lo, hi = max(0, start), min(length, start + width)
            if hi <= lo:
                continue
            for window in range(lo // pool, (hi - 1) // pool + 1):
                w0 = window * pool
                c0, c1 = max(lo, w0), min(hi, w0 + pool)  # the window's changed columns
                nan, ref, d = False, ref_out[s, c0], delta[m, c0 - start]
                for c in range(channels):
                    v = ref[c] + d[c]
                    nan |= v != v
                    best[c] = max(v, zero) if relu else v
                for col in range(c0 + 1, c1):
                    ref, d = ref_out[s, col], delta[m, col - start]
                    for c in range(channels):
                        v = ref[c] + d[c]
                        nan |= v != v
                        if relu:
                            v = max(v, zero)
                        best[c] = max(best[c], v)
                if nan:
                    for col in range(c0, c1):
                        ref, d = ref_out[s, col], delta[m, col - start]
                        for c in range(channels):
                            v = ref[c] + d[c]
                            if relu:
                                v = zero if v < zero else v
                            best[c] = v if (col == c0 or v > best[c] or v != v) else best[c]
                rest = before[s, c0]
                for c in range(channels):
                    best[c] = rest[c] if (rest[c] > best[c] or rest[c] != rest[c]) else best[c]
                if c1 < w0 + pool:
                    rest = after[s, c1]
                    for c in range(channels):
                        best[c] = rest[c] if (rest[c] > best[c] or rest[c] != rest[c]) else best[c]
                pooled = ref_pooled[s, window]
                for h in range(out.shape[1]):
                    w, total = weight[h, window], zero
                    for c in range(channels):
                        total += (best[c] - pooled[c]) * w[c]
                    out[m, h] += total

    return {"pooled_change": pooled_change, "relu_change": relu_change, "window_dense": window_dense}


_KERNELS = LazyKernels(_build_kernels)


def staged(plan: FastPlan, device: torch.device) -> bool:
    """Whether :func:`patch_block_staged` applies: the plan has stages, on the CPU, with numba installed."""
    return plan.stages is not None and device.type == "cpu" and _KERNELS.kernels() is not None


def block_starts(plan: FastPlan | None, length: int, positions: int) -> list[tuple[int, int]]:
    """Blocks ``(first, width)`` covering ``[0, length)``: ``positions`` wide, or, for a staged plan whose first
    stage pools over ``p`` columns, the nearest multiple of ``p`` wide and aligned so that a block's mutants reach
    the fewest pooled columns (its first changed convolution output is a window's first column)."""
    align = plan.stages[0].pool if plan is not None and plan.stages else 1
    if align == 1:
        return [(f, min(positions, length - f)) for f in range(0, length, positions)]
    layer = plan.trunk[0]
    positions = align * max(1, round(positions / align))
    phase = (layer.kernel - 1 - layer.pad_left) % align
    firsts = ([0] if phase else []) + list(range(phase, length, positions))
    ends = [*firsts[1:], length]
    return [(f, e - f) for f, e in zip(firsts, ends, strict=True)]


def staged_reference(plan: FastPlan, cache: Cache, trunk_out: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per stage, channels last: the references' convolution output ``(S, L, C)`` and its pooled output
    ``(S, L_p, C)`` (the next stage's input without its padding, or the trunk output)."""
    out = []
    for i, stage in enumerate(plan.stages):
        conv_out = cache[0] if i == 0 else cache[stage.conv][1]
        if i + 1 < len(plan.stages):
            padded = cache[plan.stages[i + 1].conv][0]
            pooled = padded[:, :, stage.next_pad : stage.next_pad + conv_out.shape[-1] // stage.pool]
        else:
            pooled = trunk_out
        out.append((conv_out.transpose(1, 2).contiguous(), pooled.transpose(1, 2).contiguous()))
    return out


def patch_block_staged(
    plan: FastPlan,
    refs: list[tuple[torch.Tensor, torch.Tensor]],
    x: torch.Tensor,
    first: int,
    positions: int,
    rows: Rows,
    offset: torch.Tensor,
    new: torch.Tensor,
) -> tuple[int, torch.Tensor]:
    """The change of the trunk output that mutations in the block of columns ``first ... first + positions − 1``
    make (arguments as :func:`patch_block`, ``refs`` from :func:`staged_reference`): its first column and
    ``(M, w, C)`` (channels last, a view of position-major memory), stage by stage (:attr:`FastPlan.stages`,
    CPU float tensors).

    Each stage's convolution gives the change of its outputs (the first by its taps, later ones by the
    transposed convolution of their input's change: position-major ``(w, M, C)``, so each tap is one matrix
    product added to a slice, ~20 % faster than ``conv_transpose`` here); one kernel pass then adds it to the
    cached outputs, applies the ReLU, max-pools the windows it reaches and subtracts the cached pooled reference:
    the next convolution's input change, with no full-size intermediates.
    """
    kernel, seq = _KERNELS.kernels()["pooled_change"], rows.seq.numpy()
    old = x[rows.seq, :, first + offset]
    length = refs[0][0].shape[1]
    lo, delta = _first_delta(plan, length, first, offset, new - old, positions, channels_last=True)  # (M, w, C')
    delta_col, hi, by_position, change = lo, lo + delta.shape[1], False, delta
    for i, (stage, (ref_out, ref_pooled)) in enumerate(zip(plan.stages, refs, strict=True)):
        if i:  # the transposed convolution, position-major: a product per tap added to a shifted slice
            k, width, m = len(stage.taps), change.shape[0], change.shape[1]
            a = lo + plan.trunk[stage.conv].pad_left  # lo: the input change's first column
            delta = change.new_zeros(width + k - 1, m, stage.taps.shape[2])
            flat = change.view(width * m, -1)
            for t in range(k):
                delta[t : t + width].view(width * m, -1).addmm_(flat, stage.taps[t])
            delta_col, length, by_position = a - k + 1, ref_out.shape[1], True  # delta's first column: a − K + 1
            lo, hi = max(0, delta_col), min(length, a + width)
        first_window, end_window = lo // stage.pool, min(ref_pooled.shape[1], (hi - 1) // stage.pool + 1)
        if hi <= lo or end_window <= first_window:
            return first_window, delta.new_empty(len(seq), 0, delta.shape[-1])
        change = delta.new_empty(end_window - first_window, len(seq), delta.shape[-1])
        kernel(
            ref_out.numpy(), delta.numpy(), by_position, delta_col, lo, hi, seq, stage.relu, stage.pool,
            first_window, ref_pooled.numpy(), change.numpy(),
        )  # fmt: skip
        lo = first_window
    return lo, change.transpose(0, 1)


def chained(plan: FastPlan, device: torch.device) -> bool:
    """Whether :func:`chain_dense_change` applies: the plan is a :class:`Chain`, on the CPU, with numba installed."""
    return plan.chain is not None and device.type == "cpu" and _KERNELS.kernels() is not None


@dataclass
class ChainReference:
    """What :func:`chain_dense_change` needs of a batch of references ``(S, 4, L)``, channels last: each
    convolution's output ``(S, L_i, C)``; per column ``j`` of the pool's input the max of its window's columns
    before ``j`` (``before``) and from ``j`` on (``after``); the pooled output ``(S, L_p, C)``."""

    conv_out: list[torch.Tensor]
    before: torch.Tensor
    after: torch.Tensor
    pooled: torch.Tensor


def chain_reference(plan: FastPlan, cache: Cache, trunk_out: torch.Tensor) -> ChainReference:
    """:class:`ChainReference` from :func:`reference_forward`'s cache and trunk output ``(S, C, L_p)``."""
    chain = plan.chain
    outs = [(cache[0] if i == 0 else cache[i][1]).transpose(1, 2).contiguous() for i in chain.convs]
    pool, windows = chain.pool, trunk_out.shape[-1]
    values = (outs[-1].relu() if chain.relu[-1] else outs[-1])[:, : windows * pool].unflatten(1, (windows, pool))
    before, after = torch.empty_like(values), torch.empty_like(values)
    before[:, :, 0], after[:, :, -1] = float("-inf"), values[:, :, -1]
    for j in range(1, pool):  # running maxima within each window, forwards and backwards
        torch.maximum(before[:, :, j - 1], values[:, :, j - 1], out=before[:, :, j])
        torch.maximum(after[:, :, -j], values[:, :, -j - 1], out=after[:, :, -j - 1])
    pooled = trunk_out.transpose(1, 2).contiguous()
    return ChainReference(outs, before.flatten(1, 2), after.flatten(1, 2), pooled)


def chain_dense_change(
    plan: FastPlan, ref: ChainReference, x: torch.Tensor, seq: torch.Tensor, base: torch.Tensor, pos: torch.Tensor
) -> torch.Tensor:
    """The change of the dense layer's output ``(M, H)`` when reference ``x[seq[m]]`` ``(S, 4, L)`` gets base
    ``base[m]`` at position ``pos[m]``, for a :class:`Chain` trunk (``ref`` from :func:`chain_reference`; CPU).

    Each mutant carries only its own window of each convolution's output change (:attr:`Chain.offsets`, the same
    width for all, so the mutants of any positions batch together with no wasted columns), channels last: the
    first convolution's change is the one-hot change times :attr:`Chain.first_table`, a later one's the transposed
    convolution of its input's change (as a channels-last 2-d one: ~1.3× the 1-d one's speed on 15 channels
    here); between them one kernel pass gives the ReLU's change ``relu(z + d) − relu(z)`` from the cached ``z``,
    0 outside the output. After the last convolution one pass takes each pooled column the mutant reaches (the max
    of its changed columns and the reference's max over the rest of its window, cached per column) and the dense
    layer's change from it.
    """
    chain, kernels, n = plan.chain, _KERNELS.kernels(), len(seq)
    seq_np, pos_np = seq.numpy(), pos.numpy()
    change = torch.eye(4, dtype=x.dtype)[base] - x[seq, :, pos]
    delta = (change @ chain.first_table).view(n, chain.widths[0], -1)  # (M, w, C), channels last
    for i in range(len(chain.convs)):
        if i:  # the transposed convolution of the input's change: outputs from the window's first column − K + 1
            full = F.conv_transpose2d(change.transpose(1, 2).unsqueeze(-1), chain.weights[i])
            delta = full.squeeze(-1).transpose(1, 2)
        if i + 1 < len(chain.convs):  # the next convolution's input change
            z = ref.conv_out[i]
            if chain.relu[i]:
                change = delta.new_empty(delta.shape)
                kernels["relu_change"](
                    delta.reshape(n, -1).numpy(), seq_np, pos_np, chain.offsets[i], z.flatten(1).numpy(),
                    delta.shape[2], change.view(n, -1).numpy(),
                )  # fmt: skip
            else:  # the change itself, 0 outside the output
                col = pos[:, None] + chain.offsets[i] + torch.arange(delta.shape[1])
                change = delta * ((col >= 0) & (col < z.shape[1])).unsqueeze(-1)
            continue
        head = plan.head
        if head.weight_cl is None:
            head.weight_cl = head.weight.permute(0, 2, 1).contiguous()  # (H, L', C)
        out = delta.new_empty(n, len(head.weight))
        length = min(ref.conv_out[i].shape[1], ref.pooled.shape[1] * chain.pool)  # the pool drops the tail
        kernels["window_dense"](
            delta.numpy(), seq_np, pos_np, chain.offsets[i], length, ref.conv_out[i].numpy(), chain.relu[i],
            chain.pool, ref.before.numpy(), ref.after.numpy(), ref.pooled.numpy(), head.weight_cl.numpy(), out.numpy(),
        )  # fmt: skip
        return out
    raise AssertionError("unreachable")  # pragma: no cover


def head_reference(plan: FastPlan, trunk_out: torch.Tensor) -> torch.Tensor | dict | None:
    """What the plan's head needs of the references' trunk outputs ``(S, C, L')`` (None without a head)."""
    return None if plan.head is None else plan.head.reference(trunk_out)


def tail_logits(
    plan: FastPlan,
    trunk_out: torch.Tensor,
    head_ref: torch.Tensor | dict | None,
    rows: Rows,
    start: int,
    patch: torch.Tensor,
) -> torch.Tensor:
    """Logits ``(M, T)`` of mutants whose trunk output is the reference's ``trunk_out[rows.seq]`` with
    ``patch`` ``(M, C, w)`` from column ``start``: through the plan's head from ``head_ref``
    (:func:`head_reference`), else the whole tail on the patched trunk outputs."""
    if plan.head is not None:
        return plan.head.logits(head_ref, trunk_out, rows, start, patch)
    full = trunk_out.index_select(0, rows.seq)
    full[:, :, start : start + patch.shape[-1]] = patch
    return plan.tail(full)
