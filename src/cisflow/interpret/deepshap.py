"""DeepLIFT (rescale rule) averaged over dinucleotide-shuffled references: DeepSHAP for genomics.

For a reference ``r``, DeepLIFT's multipliers ``m`` satisfy summation-to-delta,
``Σ m · (x − r) = f(x) − f(r)``. Linear layers (Conv1d, Linear, eval-mode batch-norm and dropout,
flatten, average pooling) keep their gradients; non-linearities get the rescale rule:

- element-wise activations (ReLU, sigmoid, tanh, GELU, ...): ``m = Δout / Δin``, or the ordinary
  gradient where ``|Δin| < eps`` (shap's DeepExplainer ``nonlinearity_1d``);
- max pooling (MaxPool1d, adaptive max pool, ``amax``): shap's ``maxpool`` rule — with
  ``c = max(y_x, y_r)``, the part ``c − y_r`` is routed to the input's arg-max positions and
  ``y_x − c`` to the reference's, each divided by the input difference there.

The model is traced with ``torch.fx`` so functional calls (``torch.relu``, ``.amax``) are handled
too; an untraceable model falls back to forward hooks on modules. Two passes per batch of
(input, reference) pairs: the references without autograd, recording each non-linearity's input
and output, then the inputs with autograd, each non-linearity's backward rescaled against that
record; so the backward runs over the inputs only, and element-wise layers keep one multiplier
tensor. float32 by default (``dtype=torch.float64`` for summation errors near 1e-12).

Hypothetical contributions follow shap's ``combine_mult_and_diffref`` for one-hot DNA: for each
reference, ``h[b, i] = Σ_c m[c, i] (δ_bc − r[c, i]) = m[b, i] − Σ_c m[c, i] r[c, i]``, averaged over
references; the actual contributions are ``h · x`` (so at each non-N position they equal the mean
of ``m · (x − r)``, and they sum to ``f(x) − mean_r f(r)``).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention
from torch import fx, nn

from cisflow.errors import CisflowError
from cisflow.genome import one_hot, one_hot_to_codes
from cisflow.interpret._chain import chain_explainer, chain_layers
from cisflow.interpret._common import as_onehot, check_task, fold_batchnorm, resolve_device
from cisflow.interpret._rescale import JointRescale, Rescale, maxpool_fn
from cisflow.models.pooling import last_dim_max
from cisflow.simulate import dinucleotide_shuffle

log = logging.getLogger(__name__)

_ELEMENTWISE_MODULES = (
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Mish, nn.ReLU6,
    nn.Hardtanh, nn.Softsign,
)  # fmt: skip
_MAX_MODULES = (nn.MaxPool1d, nn.AdaptiveMaxPool1d, nn.MaxPool2d)
_ELEMENTWISE_FUNCTIONS = {
    torch.relu, F.relu, torch.sigmoid, torch.tanh, F.gelu, F.elu, F.leaky_relu, F.silu, F.softplus, F.mish,
    torch.exp,
}  # fmt: skip
_MAX_FUNCTIONS = {F.max_pool1d, F.adaptive_max_pool1d, torch.amax}
_ELEMENTWISE_METHODS = {"relu", "sigmoid", "tanh", "exp"}
_MAX_METHODS = {"amax"}


def _module_rule(m: nn.Module) -> tuple[str, Callable] | None:
    """``(kind, fn)`` of a non-linear module (see :class:`Rescale`), else None."""
    if isinstance(m, nn.ReLU):
        return "relu", m.forward
    if isinstance(m, _ELEMENTWISE_MODULES):
        return "elementwise", m.forward
    if isinstance(m, nn.MaxPool1d) and not m.return_indices:
        return "maxpool", maxpool_fn(m)
    if isinstance(m, _MAX_MODULES) and not getattr(m, "return_indices", False):
        return "max", m.forward
    return None


def _nonlinear(interp: fx.Interpreter, op: str, target, args, kwargs) -> tuple[str, Callable] | None:
    """``(kind, fn)`` when the node applies a supported non-linearity to ``args[0]``, else None."""
    if not args or not isinstance(args[0], torch.Tensor):
        return None
    if op == "call_module":
        return _module_rule(interp.fetch_attr(target)) if len(args) == 1 and not kwargs else None
    plain = len(args) == 1 and not kwargs
    if op == "call_function":
        kind = "elementwise" if target in _ELEMENTWISE_FUNCTIONS else "max" if target in _MAX_FUNCTIONS else None
        if kind is None:
            return None
        if target is torch.amax and _is_last_dim_max(args, kwargs):
            return "globalmax", last_dim_max
        kind = "relu" if plain and target in (torch.relu, F.relu) else kind
        return kind, (target if plain else lambda t: target(t, *args[1:], **kwargs))
    kind = "elementwise" if target in _ELEMENTWISE_METHODS else "max" if target in _MAX_METHODS else None
    if kind is None:
        return None
    if kind == "max" and _is_last_dim_max(args, kwargs):
        return "globalmax", last_dim_max
    return ("relu" if plain and target == "relu" else kind), lambda t: getattr(t, target)(*args[1:], **kwargs)


def _is_last_dim_max(args: tuple, kwargs: dict) -> bool:
    """Whether ``amax(t, *args[1:], **kwargs)`` (method or function) is a max over ``t``'s last dimension only."""
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
    dim = dim[0] if isinstance(dim, list | tuple) and len(dim) == 1 else dim
    return isinstance(dim, int) and dim in (-1, args[0].ndim - 1) and not keepdim and set(kwargs) <= {"dim", "keepdim"}


class _JointPass(fx.Interpreter):
    """Runs a traced model on a joint batch ``[x; r]``, each non-linearity wrapped in :class:`JointRescale`."""

    def run_node(self, n: fx.Node):
        if n.op not in ("call_module", "call_function", "call_method"):
            return super().run_node(n)
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        found = _nonlinear(self, n.op, n.target, args, kwargs)
        if found is None:
            return getattr(self, n.op)(n.target, args, kwargs)
        kind, fn = found
        if kind in ("maxpool", "globalmax"):  # the joint rule takes the pool's values, not (values, indices)
            kind, fn = "max", lambda t, node=n: getattr(self, node.op)(node.target, (t, *args[1:]), kwargs)
        return JointRescale.apply(args[0], fn, kind)


def _joint_forward(gm: fx.GraphModule) -> Callable:
    """``(xs_rep, refs) -> (out, ref_out)`` from one pass over ``[xs_rep; refs]`` (rows ``i`` and ``B + i`` paired)."""

    def forward(xs_rep: torch.Tensor, refs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = _JointPass(gm).run(torch.cat([xs_rep, refs]))
        return out[: len(xs_rep)], out[len(xs_rep) :]

    return forward


class _TwoPass(fx.Interpreter):
    """Runs a traced model; with ``saved`` None it records each non-linearity's input and output
    (the reference pass), otherwise it wraps each one in :class:`Rescale` against the recorded ones."""

    def __init__(self, gm: fx.GraphModule, saved: dict | None = None) -> None:
        super().__init__(gm)
        self.saved = saved
        self.record: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def run_node(self, n: fx.Node):
        if n.op not in ("call_module", "call_function", "call_method"):
            return super().run_node(n)
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        found = _nonlinear(self, n.op, n.target, args, kwargs)
        if found is None or self.saved is None:
            out = getattr(self, n.op)(n.target, args, kwargs)
            if found is not None:
                self.record[n.name] = (args[0], out)
            return out
        kind, fn = found
        ri, ro = self.saved[n.name]
        return Rescale.apply(args[0], ri, ro, fn, kind)


def _hooked_passes(model: nn.Module, xs: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
    """The two passes through forward hooks on non-linear modules (models ``torch.fx`` cannot trace)."""
    record: list[tuple[torch.Tensor, torch.Tensor]] = []
    state = {"replay": False, "i": 0}

    def hook(mod, inp, out, rule):
        if not state["replay"]:
            record.append((inp[0], out))
            return None
        if state["i"] >= len(record) or record[state["i"]][0].shape != inp[0].shape:
            raise CisflowError("DeepSHAP: untraceable model whose control flow differs between inputs and references")
        ri, ro = record[state["i"]]
        state["i"] += 1
        return Rescale.apply(inp[0], ri, ro, rule[1], rule[0])

    rules = {m: _module_rule(m) for m in model.modules()}
    handles = [
        m.register_forward_hook(lambda mod, inp, out: hook(mod, inp, out, rules[mod]))
        for m, rule in rules.items()
        if rule
    ]
    try:
        with torch.no_grad():
            ref_out = model(refs)
        state["replay"] = True
        return model(xs), ref_out
    finally:
        for h in handles:
            h.remove()


def _autograd_multipliers(forward: Callable, xs: torch.Tensor, refs: torch.Tensor, task: int):
    """Multipliers and ``f(x) − f(r)`` through autograd; ``forward(xs_rep, refs) -> (out, ref_out)``."""
    xs_rep = xs.repeat_interleave(refs.shape[0] // xs.shape[0], dim=0).requires_grad_(True)
    out, ref_out = forward(xs_rep, refs)
    (mult,) = torch.autograd.grad(out[:, task].sum(), xs_rep)
    return mult, (out[:, task] - ref_out[:, task]).detach()


def _explainer(
    model: nn.Module, joint: bool = False
) -> Callable[[torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]:
    """``(xs (S, 4, L), refs (S·R, 4, L), task) -> (multipliers (S·R, 4, L), f(x) − f(r) (S·R,))``.

    Reference ``k`` belongs to sequence ``k // R``. A chain-shaped model gets the hand-written backward
    pass of :mod:`._chain`; any other traceable model runs the references first without autograd,
    recording every non-linearity's input and output, then the inputs (repeated per reference) with
    autograd, each non-linearity's backward rescaled against the record; an untraceable one does the
    same through module hooks. With ``joint``, every input runs beside its references as one batch
    ``[x; r]`` (for models that pair row ``i`` with row ``B + i``, e.g. to share an input's weights).
    """
    try:
        gm = fold_batchnorm(model)
    except Exception as exc:
        if joint:
            raise CisflowError(f"DeepSHAP with joint [x; r] batches needs a model torch.fx can trace ({exc})") from exc
        log.warning("DeepSHAP: model not traceable (%s); rescaling module non-linearities only", exc)
        return lambda xs, refs, task: _autograd_multipliers(lambda a, b: _hooked_passes(model, a, b), xs, refs, task)
    if joint:
        return lambda xs, refs, task: _autograd_multipliers(_joint_forward(gm), xs, refs, task)
    layers = chain_layers(gm)
    if layers is not None:
        return chain_explainer(layers)

    def forward(xs_rep: torch.Tensor, refs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        recorder = _TwoPass(gm)
        with torch.no_grad():
            ref_out = recorder.run(refs)
        return _TwoPass(gm, recorder.record).run(xs_rep), ref_out

    return lambda xs, refs, task: _autograd_multipliers(forward, xs, refs, task)


def shuffled_references(x: np.ndarray | torch.Tensor, n_references: int, seed: int) -> np.ndarray:
    """Dinucleotide-shuffled references of each sequence, float32 one-hot ``(N, R, 4, L)``."""
    codes = one_hot_to_codes(as_onehot(x).numpy())
    rng = np.random.default_rng(seed)
    shuffled = np.stack([dinucleotide_shuffle(c, rng, n_references) for c in codes]) if len(codes) else codes
    return one_hot(shuffled.reshape(-1, codes.shape[-1])).reshape(len(codes), n_references, 4, -1)


def _check_references(refs: np.ndarray | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """References as ``(N, R, 4, L)``: shared ``(R, 4, L)`` ones are broadcast to every sequence."""
    refs = torch.as_tensor(np.asarray(refs), dtype=torch.float32)
    if refs.ndim == 3:
        refs = refs.expand(len(x), *refs.shape)
    if refs.ndim != 4 or refs.shape[0] != len(x) or refs.shape[2:] != x.shape[1:]:
        raise CisflowError(
            f"references must be (R, 4, L) or (N, R, 4, L) matching x {tuple(x.shape)}, got {tuple(refs.shape)}"
        )
    return refs


def _deepshap_chunk(
    explain: Callable, xs: torch.Tensor, refs: torch.Tensor, task: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hypothetical contributions ``(S, 4, L)`` and summation errors ``(S,)`` for ``S`` sequences.

    ``refs`` is ``(S, R, 4, L)``; DeepLIFT multipliers ``m`` of all ``S · R`` (sequence, reference)
    pairs come from one call of ``explain`` (see :func:`_explainer`).
    """
    s, r = refs.shape[:2]
    refs_flat = refs.reshape(s * r, *refs.shape[2:]).to(xs.device, dtype)
    mult, delta = explain(xs.to(dtype), refs_flat, task)
    hyp = mult - (mult * refs_flat).sum(dim=1, keepdim=True)
    total = (mult * (xs.to(dtype).repeat_interleave(r, dim=0) - refs_flat)).sum(dim=(1, 2))
    err = (total - delta).reshape(s, r).mean(dim=1).abs()
    return hyp.reshape(s, r, *hyp.shape[1:]).mean(dim=1), err


def deepshap_scores(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    task: int = 0,
    n_references: int = 20,
    seed: int = 0,
    references: np.ndarray | None = None,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    joint: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """DeepSHAP hypothetical contributions and per-sequence summation-to-delta errors.

    Parameters
    ----------
    model
        Module mapping one-hot ``(N, 4, L)`` to logits ``(N, T)``; a copy runs in eval mode, in ``dtype``.
    x
        One-hot sequences ``(N, 4, L)``.
    task
        Output column explained.
    n_references, seed
        Dinucleotide shuffles of each sequence used as references (ignored if ``references`` is given).
    references
        Explicit references, ``(R, 4, L)`` shared or ``(N, R, 4, L)`` per sequence.
    batch_size
        Sequences per pass (each pass runs ``2 · batch_size · R`` inputs).
    device
        ``None`` → CUDA if available, else CPU.
    dtype
        Compute precision: float32 (default; summation errors typically 1e-7 to 1e-5 of the logit) or
        float64 (about 4x slower on CPU; errors near 1e-12).
    joint
        Run each pass's inputs and references as one batch ``[x; r]`` (row ``i`` of ``x`` paired with row
        ``B + i``), for models whose output for a reference uses its input (e.g. an input's softmax
        weights applied to its references); slower than the default passes.

    Returns
    -------
    tuple of numpy.ndarray
        Hypothetical contributions float32 ``(N, 4, L)`` (multiply by ``x`` for the actual ones) and
        ``|Σ contributions − (f(x) − mean_r f(r))|`` float64 ``(N,)`` (averaged over references).
    """
    device = resolve_device(device)
    x = as_onehot(x)
    model = copy.deepcopy(model).to(device=device, dtype=dtype).eval().requires_grad_(False)
    check_task(model, x.to(dtype), task, device)
    refs = shuffled_references(x, n_references, seed) if references is None else references
    refs = _check_references(refs, x)
    explain = _explainer(model, joint)
    hyps, errs = [], []
    for i in range(0, len(x), batch_size):
        hyp, err = _deepshap_chunk(explain, x[i : i + batch_size].to(device), refs[i : i + batch_size], task, dtype)
        hyps.append(hyp.cpu())
        errs.append(err.cpu())
    if not hyps:
        return np.zeros(x.shape, np.float32), np.zeros(0)
    errors = torch.cat(errs).numpy()
    log.info("DeepSHAP summation-to-delta: max error %.3g over %d sequences", errors.max(), len(errors))
    if errors.max() > 1e-3:
        log.warning("DeepSHAP summation-to-delta error up to %.3g (> 1e-3): unsupported non-linearity?", errors.max())
    return torch.cat(hyps).numpy().astype(np.float32), errors


def deepshap(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    task: int = 0,
    n_references: int = 20,
    seed: int = 0,
    references: np.ndarray | None = None,
    hypothetical: bool = False,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """DeepSHAP contributions, float32 ``(N, 4, L)``: actual (``hypothetical · x``) or hypothetical.

    See :func:`deepshap_scores` for the parameters; the summation error is logged.
    """
    hyp, _ = deepshap_scores(model, x, task, n_references, seed, references, batch_size, device, dtype)
    return hyp if hypothetical else hyp * as_onehot(x).numpy()
