"""DeepLIFT's rescale rule for one non-linearity, as an autograd function (used by :mod:`.deepshap`).

A non-linearity ``y = fn(x)`` seen at an input ``xi`` and a reference input ``ri`` (output ``ro``):

- ``relu`` and other element-wise ops: multiplier ``(fn(xi) − ro) / (xi − ri)``, or the ordinary
  derivative where ``|xi − ri| < EPS`` (shap's ``nonlinearity_1d``). ReLU's multipliers are made in one
  fused pass on the CPU when numba is installed (the same arithmetic as the torch expression);
- ``maxpool`` (``MaxPool1d``) and other ``max`` ops (``amax``, adaptive max pool): shap's max rule —
  with ``c = max(y_x, y_r)``, ``c − y_r`` goes to the input's arg-max positions and ``y_x − c`` to the
  reference's, each divided by the input difference there (0 where it is below ``EPS``). Max pooling
  and a max over the last dimension (``globalmax``, e.g. ``amax(dim=-1)``) keep the arg-max indices of
  both, so their backward touches only those positions (rows with a tied maximum get the ordinary rule,
  which splits among the ties). For chain-shaped models (:mod:`._chain`) a ``MaxPool1d``'s rule is one fused
  CPU pass over the references that reads each input's row in place (:func:`maxpool_backward`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention

from cisflow._numba import LazyKernels

EPS = 1e-7


def _vjp(fn: Callable, inp: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``grad``ᵀ · ∂fn/∂inp at ``inp``."""
    with torch.enable_grad():
        t = inp.detach().requires_grad_(True)
        (out,) = torch.autograd.grad(fn(t), t, grad)
    return out


def _build_kernels() -> dict[str, Callable]:
    """Fused CPU kernels (ReLU multipliers; 1-D max pooling with arg-max); ImportError without numba."""
    import numba
    import numpy as np

    @numba.njit(parallel=True, cache=True)
    def relu(xi, ri, zero, out):  # pragma: no cover - compiled
        z = zero[0]  # a zero of the arrays' dtype: float32 stays float32, as in torch
        for i in numba.prange(xi.size):
            d = xi[i] - ri[i]
            if abs(d) < EPS:
                out[i] = 1.0 if xi[i] > 0 else 0.0
            else:
                out[i] = (max(xi[i], z) - max(ri[i], z)) / d

    @numba.njit(parallel=True, cache=True)
    def relu_scale(g, xi, ri, zero, per, repeats):  # pragma: no cover - compiled
        z = zero[0]
        for i in numba.prange(g.size):
            j = (i // (per * repeats)) * per + i % per  # the input element of reference element i
            d = xi[j] - ri[i]
            if abs(d) < EPS:
                m = 1.0 if xi[j] > 0 else 0.0
                g[i] = g[i] * m
            else:
                g[i] = g[i] * ((max(xi[j], z) - max(ri[i], z)) / d)

    @numba.njit(parallel=True, cache=True)
    def maxpool(x, kernel, stride, dilation, values, indices):  # pragma: no cover - compiled
        for row in numba.prange(x.shape[0]):
            for o in range(values.shape[1]):
                start = o * stride
                best, arg = x[row, start], start
                for j in range(1, kernel):
                    v = x[row, start + j * dilation]
                    if v > best or v != v:  # the first maximum; NaN wins, as in torch
                        best, arg = v, start + j * dilation
                values[row, o], indices[row, o] = best, arg

    @numba.njit(parallel=True, cache=True)
    def maxpool_rule(g, xi, ri, kernel, stride, dilation, channels, repeats, out):  # pragma: no cover - compiled
        for row in numba.prange(ri.shape[0]):
            xrow = (row // (channels * repeats)) * channels + row % channels  # the input row of reference row
            # the input's arg-max parts first, then the reference's: the order of maxpool_rule's scatter_adds
            r_at = np.empty(g.shape[1], np.int64)
            r_part = np.zeros(g.shape[1], out.dtype)
            for o in range(g.shape[1]):
                start = o * stride
                xb, xa, rb, ra = xi[xrow, start], start, ri[row, start], start
                for j in range(1, kernel):
                    p = start + j * dilation
                    if xi[xrow, p] > xb:
                        xb, xa = xi[xrow, p], p
                    if ri[row, p] > rb:
                        rb, ra = ri[row, p], p
                cross = xb if xb >= rb else rb
                din = xb - ri[row, xa]
                if abs(din) >= EPS:
                    out[row, xa] += g[row, o] * (cross - rb) / din
                r_at[o] = ra
                din = xi[xrow, ra] - rb
                if abs(din) >= EPS:
                    r_part[o] = g[row, o] * (xb - cross) / din
            for o in range(g.shape[1]):
                out[row, r_at[o]] += r_part[o]

    return {"relu": relu, "relu_scale": relu_scale, "maxpool": maxpool, "maxpool_rule": maxpool_rule}


_KERNELS = LazyKernels(_build_kernels)


def relu_ratio(xi: torch.Tensor, ri: torch.Tensor, fused: bool = True) -> torch.Tensor:
    """ReLU multipliers ``(relu(xi) − relu(ri)) / (xi − ri)`` (``1[xi > 0]`` where ``|xi − ri| < EPS``), like ``xi``."""
    kernel = _KERNELS.for_tensor("relu", xi) if fused else None
    if kernel is None:
        return elementwise_ratio(torch.relu, xi, ri, torch.relu(xi), torch.relu(ri), relu=True)
    out = torch.empty(xi.shape, dtype=xi.dtype)
    zero = torch.zeros(1, dtype=xi.dtype).numpy()
    kernel(xi.contiguous().view(-1).numpy(), ri.contiguous().view(-1).numpy(), zero, out.view(-1).numpy())
    return out


def relu_backward(grad: torch.Tensor, xi: torch.Tensor, ri: torch.Tensor, fused: bool = True) -> torch.Tensor:
    """``grad · relu_ratio(xi repeated, ri)`` for inputs ``xi`` ``(B, ...)`` and references ``ri`` ``(B·R, ...)``
    (reference ``k`` of input ``k // R``); on the CPU one fused pass, in place on a contiguous ``grad``."""
    repeats = ri.shape[0] // xi.shape[0]
    fusable = fused and grad.is_contiguous() and grad.dtype == xi.dtype
    kernel = _KERNELS.for_tensor("relu_scale", grad) if fusable else None
    if kernel is None:
        return grad * relu_ratio(xi.repeat_interleave(repeats, dim=0), ri, fused)
    zero = torch.zeros(1, dtype=xi.dtype).numpy()
    per = xi[0].numel()
    flat = [t.contiguous().view(-1).numpy() for t in (grad, xi, ri)]
    kernel(*flat, zero, per, repeats)
    return grad


def maxpool1d_indices(
    t: torch.Tensor, kernel: int, stride: int, dilation: int = 1, fused: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """``F.max_pool1d(t, kernel, stride, 0, dilation, return_indices=True)`` for ``(N, C, L)``, fused on the CPU."""
    fn = _KERNELS.for_tensor("maxpool", t) if fused else None
    if fn is None:
        return F.max_pool1d(t, kernel, stride, 0, dilation, return_indices=True)
    n, c, length = t.shape
    out_len = (length - dilation * (kernel - 1) - 1) // stride + 1
    values = torch.empty((n, c, out_len), dtype=t.dtype)
    indices = torch.empty((n, c, out_len), dtype=torch.int64)
    rows = t.contiguous().view(n * c, length).numpy()
    fn(rows, kernel, stride, dilation, values.view(n * c, out_len).numpy(), indices.view(n * c, out_len).numpy())
    return values, indices


def elementwise_ratio(
    fn: Callable, xi: torch.Tensor, ri: torch.Tensor, xo: torch.Tensor, ro: torch.Tensor, relu: bool = False
) -> torch.Tensor:
    """Rescale multipliers ``Δout / Δin`` of an element-wise op; its derivative where ``|Δin| < EPS``."""
    din = xi - ri
    ratio = (xo - ro).div_(din)
    small = din.abs_() < EPS
    if bool(small.any()):
        local = (xi > 0).to(xi.dtype) if relu else _vjp(fn, xi, torch.ones_like(xi))
        ratio = torch.where(small, local, ratio)
    return ratio


def maxpool_rule(grad, xi, ri, xo, ro, ix, ir) -> torch.Tensor:
    """Max rule for a pool of ``(..., L)`` (e.g. ``(B, C, L)``) with arg-max indices ``ix``, ``ir`` ``(..., L_out)``."""
    cross = torch.maximum(xo, ro)
    gin = torch.zeros_like(xi)
    din_x = xo - ri.gather(-1, ix)  # xi at its own arg-max is xo
    din_r = xi.gather(-1, ir) - ro
    for idx, part, din in ((ix, grad * (cross - ro), din_x), (ir, grad * (xo - cross), din_r)):
        gin.scatter_add_(-1, idx, torch.where(din.abs() < EPS, 0.0, part / din))
    return gin


def maxpool_backward(grad: torch.Tensor, xi: torch.Tensor, ri: torch.Tensor, m: torch.nn.MaxPool1d, fused: bool = True):
    """Max-rule multipliers at a ``MaxPool1d``'s input ``(B·R, C, L)`` from those at its output ``grad``
    ``(B·R, C, L_out)``, for inputs ``xi`` ``(B, C, L)`` and references ``ri`` ``(B·R, C, L)`` (reference ``k`` of
    input ``k // R``): :func:`maxpool_rule` with the pooling's arg-maxima, on the CPU in one fused pass that
    neither repeats the inputs per reference nor materialises the indices (same arithmetic and order of sums)."""
    k, s, p, d = _pool_params(m)
    repeats = ri.shape[0] // xi.shape[0]
    plain = p != 0 or m.ceil_mode or grad.ndim != 3 or not (grad.dtype == xi.dtype == ri.dtype)
    kernel = None if plain or not fused else _KERNELS.for_tensor("maxpool_rule", grad)
    if kernel is None:
        fn = maxpool_fn(m)
        (xo, ix), (ro, ir) = fn(xi), fn(ri)
        rep, xo, ix = (t.repeat_interleave(repeats, dim=0) for t in (xi, xo, ix))
        return maxpool_rule(grad, rep, ri, xo, ro, ix, ir)
    n, c, length = ri.shape
    out = torch.zeros((n, c, length), dtype=ri.dtype)
    rows = [t.contiguous().view(-1, t.shape[-1]).numpy() for t in (grad, xi, ri)]
    kernel(*rows, k, s, d, c, repeats, out.view(n * c, length).numpy())
    return out


def globalmax_rule(grad, xi, ri, xo, ro, ix, ir, tied) -> torch.Tensor:
    """Max rule for a max over the last dimension of ``xi`` / ``ri`` ``(..., L)`` with values ``xo`` / ``ro``,
    arg-max indices ``ix`` / ``ir`` and ``tied`` (either maximum tied) ``(...)``: :func:`maxpool_rule` at the
    arg-max positions; a tied row gets the rule with the routed part split evenly among the ties (as the
    gradient of ``amax`` splits it)."""
    gin = maxpool_rule(grad.unsqueeze(-1), xi, ri, *(t.unsqueeze(-1) for t in (xo, ro, ix, ir)))
    if bool(tied.any()):
        xs, rs, g, xm, rm = xi[tied], ri[tied], grad[tied], xo[tied], ro[tied]
        cross = torch.maximum(xm, rm)
        at_x, at_r = (xs == xm.unsqueeze(-1)), (rs == rm.unsqueeze(-1))
        routed = at_x * (g * (cross - rm) / at_x.sum(-1)).unsqueeze(-1)
        routed = routed + at_r * (g * (xm - cross) / at_r.sum(-1)).unsqueeze(-1)
        din = xs - rs
        gin[tied] = torch.where(din.abs() < EPS, 0.0, routed / din)
    return gin


class Rescale(torch.autograd.Function):
    """Value ``fn(xi)``; backward: DeepLIFT's rescale rule against reference input ``ri`` and output ``ro``.

    ``kind`` is ``relu``, ``elementwise``, ``maxpool`` (then ``fn`` returns ``(values, indices)``, as
    ``F.max_pool1d(..., return_indices=True)``), ``globalmax`` (``fn`` returns ``(values, indices, tied)`` of a
    max over the last dimension, as :func:`cisflow.models.pooling.last_dim_max`) or ``max``.
    """

    @staticmethod
    def forward(ctx, xi: torch.Tensor, ri: torch.Tensor, ro: torch.Tensor, fn: Callable, kind: str) -> torch.Tensor:
        ctx.fn, ctx.kind = fn, kind
        if kind == "globalmax":
            (xo, ix, tx), (_, ir, tr) = fn(xi), fn(ri)
            ctx.save_for_backward(xi, ri, xo, ro, ix, ir, tx | tr)
            return xo
        if kind == "maxpool":
            (xo, ix), (_, ir) = fn(xi), fn(ri)
            ctx.save_for_backward(xi, ri, xo, ro, ix, ir)
            return xo
        xo = fn(xi)
        if kind == "relu":
            ctx.save_for_backward(relu_ratio(xi, ri))
        elif kind == "elementwise":
            ctx.save_for_backward(elementwise_ratio(fn, xi, ri, xo, ro))
        else:
            ctx.save_for_backward(xi, ri, xo, ro)
        return xo

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if ctx.kind in ("relu", "elementwise"):
            (ratio,) = ctx.saved_tensors
            return grad * ratio, None, None, None, None
        if ctx.kind == "maxpool":
            return maxpool_rule(grad, *ctx.saved_tensors), None, None, None, None
        if ctx.kind == "globalmax":
            return globalmax_rule(grad, *ctx.saved_tensors), None, None, None, None
        xi, ri, xo, ro = ctx.saved_tensors
        cross = torch.maximum(xo, ro)
        routed = _vjp(ctx.fn, xi, grad * (cross - ro)).add_(_vjp(ctx.fn, ri, grad * (xo - cross)))
        din = xi - ri
        return torch.where(din.abs() < EPS, 0.0, routed.div_(din)), None, None, None, None


def _pool_params(m: torch.nn.MaxPool1d) -> tuple[int, int, int, int]:
    """A ``MaxPool1d``'s kernel, stride, padding and dilation as ints."""
    return tuple(v[0] if isinstance(v, tuple) else v for v in (m.kernel_size, m.stride, m.padding, m.dilation))


def maxpool_fn(m: torch.nn.MaxPool1d) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """``t -> (values, indices)`` of a ``MaxPool1d`` module over ``(N, C, L)``."""
    k, s, p, d = _pool_params(m)
    if p == 0 and not m.ceil_mode:
        return lambda t: maxpool1d_indices(t, k, s, d, fused=t.ndim == 3)
    return lambda t: F.max_pool1d(t, k, s, p, d, ceil_mode=m.ceil_mode, return_indices=True)


class JointRescale(torch.autograd.Function):
    """Value ``fn(inp)`` for a joint batch ``inp = [x; r]`` (inputs, then their references, same count);
    backward: the rescale (``relu`` / ``elementwise``) or max rule of the first half against the second,
    zero for the references."""

    @staticmethod
    def forward(ctx, inp: torch.Tensor, fn: Callable, kind: str) -> torch.Tensor:
        out = fn(inp)
        half = inp.shape[0] // 2
        ctx.fn, ctx.kind, ctx.half = fn, kind, half
        if kind in ("relu", "elementwise"):
            ctx.save_for_backward(elementwise_ratio(fn, inp[:half], inp[half:], out[:half], out[half:], kind == "relu"))
        else:
            ctx.save_for_backward(inp[:half], inp[half:], out[:half], out[half:])
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        g = grad[: ctx.half]
        if ctx.kind in ("relu", "elementwise"):
            (ratio,) = ctx.saved_tensors
            gin = g * ratio
        else:
            xi, ri, xo, ro = ctx.saved_tensors
            cross = torch.maximum(xo, ro)
            routed = _vjp(ctx.fn, xi, g * (cross - ro)).add_(_vjp(ctx.fn, ri, g * (xo - cross)))
            din = xi - ri
            gin = torch.where(din.abs() < EPS, 0.0, routed.div_(din))
        return torch.cat([gin, torch.zeros_like(gin)]), None, None
