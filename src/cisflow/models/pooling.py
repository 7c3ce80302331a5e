"""Global pooling over positions for the models: a fused max with tie flags, and DeepBind's ReLU + max / mean pool.

``last_dim_max`` finds each row's maximum, first arg-max and whether the maximum is tied, in one pass (a numba
kernel on the CPU). :class:`ReluGlobalPool` is ReLU followed by a global max (and mean) as one autograd node:
its backward gives exactly the gradient autograd builds for ``relu`` → ``amax`` / ``mean`` (the max's gradient at
its arg-max, split evenly among tied maxima as ``amax`` splits it; the mean's spread over every position; zero
where the ReLU is off) without that graph's full-size intermediates.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from cisflow._numba import LazyKernels


def _build_kernels() -> dict[str, Callable]:
    """The numba kernels (the row max); ImportError without numba."""
    import numba

    @numba.njit(parallel=True, cache=True)
    def rowmax(x, values, indices, tied):  # pragma: no cover - compiled
        for row in numba.prange(x.shape[0]):
            best, arg, tie = x[row, 0], 0, False
            for j in range(1, x.shape[1]):
                v = x[row, j]
                if v > best or (v != v and best == best):  # the first maximum; NaN wins, as in torch
                    best, arg, tie = v, j, False
                elif v == best:
                    tie = True
            values[row], indices[row], tied[row] = best, arg, tie

    return {"rowmax": rowmax}


_KERNELS = LazyKernels(_build_kernels)


def last_dim_max(t: torch.Tensor, fused: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Max over the last dimension of ``t`` ``(..., L)``: values, the first arg-max (int64) and whether the
    maximum is tied (bool), each ``(...)``; one fused pass for CPU float tensors."""
    fn = _KERNELS.for_tensor("rowmax", t) if fused and t.shape[-1] > 0 else None
    if fn is None:
        values, indices = t.max(dim=-1)
        return values, indices, (t == values.unsqueeze(-1)).sum(-1) > 1
    rows = t.detach().contiguous().view(-1, t.shape[-1]).numpy()
    values = torch.empty(t.shape[:-1], dtype=t.dtype)
    indices = torch.empty(t.shape[:-1], dtype=torch.int64)
    tied = torch.empty(t.shape[:-1], dtype=torch.bool)
    fn(rows, values.view(-1).numpy(), indices.view(-1).numpy(), tied.view(-1).numpy())
    return values, indices, tied


class ReluGlobalPool(torch.autograd.Function):
    """``relu(pre)`` ``(N, F, L)`` pooled over positions: its max ``(N, F)``, or with ``mean`` ``[max, mean]``
    ``(N, 2F)``; the backward of autograd's ``relu`` → ``amax`` / ``mean`` graph in one node (~25 % less time
    for a training step of the demo's DeepBind-like model, 128 × 1000 bp × 64 filters of 19 bp, on 2 CPU threads).
    """

    @staticmethod
    def forward(ctx, pre: torch.Tensor, mean: bool) -> torch.Tensor:
        h = torch.relu(pre)
        top, arg, tied = last_dim_max(h)
        tied &= top > 0  # a maximum of 0 gets no gradient through the ReLU, tied or not
        ctx.save_for_backward(h, top, arg, tied)
        ctx.mean = mean
        return torch.cat([top, h.mean(dim=-1)], dim=1) if mean else top

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        h, top, arg, tied = ctx.saved_tensors
        n_filters = h.shape[1]
        g_max = grad[:, :n_filters] * (top > 0)
        g_mean = grad[:, n_filters:] / h.shape[-1] if ctx.mean else torch.zeros_like(g_max)
        on = h > 0
        g_in = g_mean.unsqueeze(-1) * on
        g_in.scatter_add_(-1, arg.unsqueeze(-1), (g_max * ~tied).unsqueeze(-1))
        if bool(tied.any()):  # amax's gradient: split evenly among the tied positions
            at = h[tied] == top[tied].unsqueeze(-1)
            g_in[tied] += at * (g_max[tied] / at.sum(-1)).unsqueeze(-1)
        return g_in, None
