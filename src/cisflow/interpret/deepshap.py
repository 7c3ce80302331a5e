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
too; an untraceable model falls back to forward hooks on modules. Inputs and references run as
one batch ``[x; r]``, in float64 by default.

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
from cisflow.interpret._common import as_onehot, check_task, resolve_device
from cisflow.simulate import dinucleotide_shuffle

log = logging.getLogger(__name__)

EPS = 1e-7
_ELEMENTWISE_MODULES = (
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Mish, nn.ReLU6,
    nn.Hardtanh, nn.Softsign,
)  # fmt: skip
_MAX_MODULES = (nn.MaxPool1d, nn.AdaptiveMaxPool1d, nn.MaxPool2d)
_ELEMENTWISE_FUNCTIONS = {
    torch.relu, F.relu, torch.sigmoid, torch.tanh, F.gelu, F.elu, F.leaky_relu, F.silu, F.softplus, F.mish,
}  # fmt: skip
_MAX_FUNCTIONS = {F.max_pool1d, F.adaptive_max_pool1d, torch.amax}
_ELEMENTWISE_METHODS = {"relu", "sigmoid", "tanh"}
_MAX_METHODS = {"amax"}


def _vjp(fn: Callable, inp: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``grad``ᵀ · ∂fn/∂inp at ``inp``."""
    with torch.enable_grad():
        t = inp.detach().requires_grad_(True)
        (out,) = torch.autograd.grad(fn(t), t, grad)
    return out


class _Rescale(torch.autograd.Function):
    """Identity-valued op whose backward applies DeepLIFT's rescale rule to the batch ``[x; r]``."""

    @staticmethod
    def forward(ctx, inp: torch.Tensor, fn: Callable, kind: str) -> torch.Tensor:
        out = fn(inp)
        ctx.save_for_backward(inp, out)
        ctx.fn, ctx.kind = fn, kind
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        inp, out = ctx.saved_tensors
        half = inp.shape[0] // 2
        xi, ri, xo, ro, g = inp[:half], inp[half:], out[:half], out[half:], grad[:half]
        din = xi - ri
        small = din.abs() < EPS
        safe = torch.where(small, torch.ones_like(din), din)
        if ctx.kind == "elementwise":
            local = _vjp(ctx.fn, inp, grad)[:half]
            gin = torch.where(small, local, g * (xo - ro) / safe)
        else:
            cross = torch.maximum(xo, ro)
            routed = _vjp(ctx.fn, xi, g * (cross - ro)) + _vjp(ctx.fn, ri, g * (xo - cross))
            gin = torch.where(small, torch.zeros_like(din), routed / safe)
        return torch.cat([gin, torch.zeros_like(gin)]), None, None


def _kind_of_module(m: nn.Module) -> str | None:
    if isinstance(m, _ELEMENTWISE_MODULES):
        return "elementwise"
    if isinstance(m, _MAX_MODULES) and not getattr(m, "return_indices", False):
        return "max"
    return None


class _DeepLiftInterpreter(fx.Interpreter):
    """Runs a traced model, wrapping every non-linearity in :class:`_Rescale`."""

    def call_module(self, target, args, kwargs):
        m = self.fetch_attr(target)
        kind = _kind_of_module(m)
        if kind and len(args) == 1 and not kwargs:
            return _Rescale.apply(args[0], m.forward, kind)
        return super().call_module(target, args, kwargs)

    def call_function(self, target, args, kwargs):
        kind = "elementwise" if target in _ELEMENTWISE_FUNCTIONS else "max" if target in _MAX_FUNCTIONS else None
        if kind and args and isinstance(args[0], torch.Tensor):
            return _Rescale.apply(args[0], lambda t: target(t, *args[1:], **kwargs), kind)
        return super().call_function(target, args, kwargs)

    def call_method(self, target, args, kwargs):
        kind = "elementwise" if target in _ELEMENTWISE_METHODS else "max" if target in _MAX_METHODS else None
        if kind and isinstance(args[0], torch.Tensor):
            return _Rescale.apply(args[0], lambda t: getattr(t, target)(*args[1:], **kwargs), kind)
        return super().call_method(target, args, kwargs)


def _deeplift_forward(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """A forward function with the rescale rule in its backward (fx; module hooks as a fallback)."""
    try:
        gm = fx.symbolic_trace(model)
        return lambda t: _DeepLiftInterpreter(gm).run(t)
    except Exception as exc:
        log.warning("DeepSHAP: model not traceable (%s); rescaling module non-linearities only", exc)
    for m in model.modules():
        kind = _kind_of_module(m)
        if kind:
            m.register_forward_hook(lambda mod, inp, out, k=kind: _Rescale.apply(inp[0], mod.forward, k))
    return model


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


def _multipliers(
    forward: Callable, xs: torch.Tensor, refs: torch.Tensor, task: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """DeepLIFT multipliers ``(B, 4, L)`` and ``f(x) − f(r)`` ``(B,)`` for pairs ``(xs[k], refs[k])``."""
    batch = torch.cat([xs, refs]).to(dtype).requires_grad_(True)
    out = forward(batch)[:, task]
    (grad,) = torch.autograd.grad(out[: len(xs)].sum(), batch)
    return grad[: len(xs)], (out[: len(xs)] - out[len(xs) :]).detach()


def _deepshap_chunk(
    forward: Callable, xs: torch.Tensor, refs: torch.Tensor, task: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hypothetical contributions ``(S, 4, L)`` and summation errors ``(S,)`` for ``S`` sequences."""
    s, r = refs.shape[:2]
    xs_rep = xs.repeat_interleave(r, dim=0)
    refs_flat = refs.reshape(s * r, *refs.shape[2:]).to(xs.device)
    mult, delta = _multipliers(forward, xs_rep, refs_flat, task, dtype)
    refs_flat = refs_flat.to(dtype)
    hyp = mult - (mult * refs_flat).sum(dim=1, keepdim=True)
    total = (mult * (xs_rep.to(dtype) - refs_flat)).sum(dim=(1, 2))
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
    dtype: torch.dtype = torch.float64,
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
        Compute precision (float64 keeps summation errors near 1e-12).

    Returns
    -------
    tuple of numpy.ndarray
        Hypothetical contributions float32 ``(N, 4, L)`` (multiply by ``x`` for the actual ones) and
        ``|Σ contributions − (f(x) − mean_r f(r))|`` float64 ``(N,)`` (averaged over references).
    """
    device = resolve_device(device)
    x = as_onehot(x)
    model = copy.deepcopy(model).to(device=device, dtype=dtype).eval()
    check_task(model, x.to(dtype), task, device)
    refs = shuffled_references(x, n_references, seed) if references is None else references
    refs = _check_references(refs, x)
    forward = _deeplift_forward(model)
    hyps, errs = [], []
    for i in range(0, len(x), batch_size):
        hyp, err = _deepshap_chunk(forward, x[i : i + batch_size].to(device), refs[i : i + batch_size], task, dtype)
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
) -> np.ndarray:
    """DeepSHAP contributions, float32 ``(N, 4, L)``: actual (``hypothetical · x``) or hypothetical.

    See :func:`deepshap_scores` for the parameters; the summation error is logged.
    """
    hyp, _ = deepshap_scores(model, x, task, n_references, seed, references, batch_size, device)
    return hyp if hypothetical else hyp * as_onehot(x).numpy()
