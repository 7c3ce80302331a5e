"""In-silico saturation mutagenesis (ISM): exact, naive and fast.

``score[n, b, i] = f(x_n with base b at position i) − f(x_n)`` for the logit ``f`` of one task;
the reference base (where ``x[n, b, i] == 1``) scores exactly 0. ``centered=True`` subtracts the
per-position mean over the 4 bases (so the reference base scores ``f(x) − mean_b f(x_b)``), the
usual form for plotting and for multiplying by the one-hot input.

:func:`ism` runs the whole model on all ``4 L`` variants of every sequence (the reference included).
:func:`ism_fast` gives the same numbers with much less work, fastISM-style (Nair et al. 2022): it
runs the reference once, then only the 3 true mutants per position, and for the model's leading
stack of position-local layers (Conv1d, pooling, batch-norm, activations, dropout) it recomputes
only the window each mutation can reach, from the cached reference activations. The mutants of a
block of neighbouring positions across a batch of sequences share every layer's window, so each
layer is one dense operation on one slice of the cache; a convolution adds the transposed convolution
of its input's change to its cached output. A dense layer on the flattened activations (Basset,
DragoNN's SequenceDNN) is updated by the changed columns' weights only; any other rest of the model
runs in full on the patched activations. The local stack is found with ``torch.fx``; a model that
cannot be traced or split falls back to running whole forwards on the 3 mutants (still exact).

On the CPU, a chain of convolutions (each with a ReLU or none) closed by one max-pool under a dense layer
(DragoNN's SequenceDNN) runs mutant by mutant instead: every mutant carries only its own window of each
convolution's change (the same width for all, shifted by its position, so mutants of any positions and sequences
share a pass with no wasted columns), channels last; a transposed convolution per later convolution, one numba
pass for each ReLU's change (``relu(z + d) − relu(z)`` from the cached ``z``) and one for the pool and the dense
layer, where each pooled column a mutant reaches is the max of its changed columns and the reference's cached max
over the rest of its window. On DragoNN's SequenceDNN this took ISM from ~84 to ~155 sequences/s on one thread
(64 sequences); the transposed convolutions are then ~60 % of the time.

On the CPU, a stack made of convolution → ReLU → max-pool stages under a dense layer (Basset) runs
stage by stage instead, channels last: each convolution's change (the first by its taps, later ones
by a transposed convolution done as one matrix product per tap on position-major changes), then one
numba pass that adds it to the cached outputs, applies the ReLU, max-pools the windows it reaches and
subtracts the cached pooled outputs, giving the next convolution's input change directly; blocks of
positions are aligned to the first pool's windows, so a block's mutants reach no more pooled columns
than one mutant does. On the demo's Basset this took ISM from ~19 to ~39 sequences/s on one thread;
the transposed convolutions' products are then ~2/3 of the time.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import nn

from cisflow.interpret._common import as_onehot, center, check_task, eval_mode, resolve_device, task_logits
from cisflow.interpret._fastism import (
    FastPlan,
    Rows,
    block_starts,
    chain_dense_change,
    chain_reference,
    chained,
    head_reference,
    patch_block,
    patch_block_staged,
    plan_fast_ism,
    reference_forward,
    staged,
    staged_reference,
    tail_logits,
)

log = logging.getLogger(__name__)


def _finish(scores: torch.Tensor, x: torch.Tensor, centered: bool) -> np.ndarray:
    """Zero the reference bases, optionally centre, return float32 numpy ``(N, 4, L)``."""
    out = scores.masked_fill(x == 1, 0.0).numpy()
    return (center(out) if centered else out).astype(np.float32)


@torch.no_grad()
def ism(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    task: int = 0,
    batch_size: int = 256,
    centered: bool = False,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Exact ISM by brute force: a full forward pass for each of the ``4 L`` variants per sequence.

    Parameters
    ----------
    model
        Module mapping one-hot ``(N, 4, L)`` float32 to logits ``(N, T)``; put in eval mode.
    x
        One-hot sequences ``(N, 4, L)`` (N positions all zeros: all 4 bases are mutations).
    task
        Output column scored.
    batch_size
        Variants per forward pass.
    centered
        Subtract the per-position mean over bases.
    device
        ``None`` → CUDA if available, else CPU. Data stays on CPU between batches.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 4, L)``: ``f(variant) − f(x)``, 0 at the reference base (before centring).
    """
    device = resolve_device(device)
    model = eval_mode(model, device)
    x = as_onehot(x)
    n, _, length = x.shape
    check_task(model, x, task, device)
    ref = task_logits(model, x, task, batch_size, device)
    eye = torch.eye(4)
    scores = torch.zeros(n, 4, length, dtype=torch.float64)
    pos, base = torch.arange(length).repeat_interleave(4), torch.arange(4).repeat(length)
    for s in range(n):
        variants = x[s].expand(4 * length, 4, length).clone()
        variants[torch.arange(4 * length), :, pos] = eye[base]
        delta = task_logits(model, variants, task, batch_size, device) - ref[s]
        scores[s, base, pos] = delta
    return _finish(scores, x, centered)


def _mutants(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Indices ``(seq, base, pos)`` of every true mutant (each base that is not already 1)."""
    seq, base, pos = torch.nonzero(x != 1, as_tuple=True)
    return seq, base, pos


@torch.no_grad()
def _ism_full_mutants(
    model: nn.Module, x: torch.Tensor, task: int, batch_size: int, device: torch.device
) -> torch.Tensor:
    """ISM from whole forwards on the 3 true mutants per position only; float64 ``(N, 4, L)``."""
    ref = task_logits(model, x, task, batch_size, device)
    seq, base, pos = _mutants(x)
    eye = torch.eye(4)
    scores = torch.zeros(x.shape, dtype=torch.float64)
    for i in range(0, len(seq), batch_size):
        s, b, p = seq[i : i + batch_size], base[i : i + batch_size], pos[i : i + batch_size]
        variants = x[s].clone()
        variants[torch.arange(len(s)), :, p] = eye[b]
        scores[s, b, p] = task_logits(model, variants, task, batch_size, device) - ref[s]
    return scores


@torch.no_grad()
def _ism_chain(plan: FastPlan, xs: torch.Tensor, task: int, batch_size: int) -> torch.Tensor:
    """ISM of ``xs`` ``(S, 4, L)`` on a :class:`~cisflow.interpret._fastism.Chain` plan, ``batch_size`` mutants at a
    time in the order (sequence, position, base): float64 ``(S, 4, L)``."""
    cache, trunk_out = reference_forward(plan, xs)
    head_ref = head_reference(plan, trunk_out)
    ref = plan.tail(trunk_out)[:, task].double()
    refs = chain_reference(plan, cache, trunk_out)
    scores = torch.zeros(xs.shape, dtype=torch.float64)
    seq, pos, base = torch.nonzero(xs.transpose(1, 2) != 1, as_tuple=True)
    for i in range(0, len(seq), batch_size):
        s, p, b = seq[i : i + batch_size], pos[i : i + batch_size], base[i : i + batch_size]
        logits = plan.head.rest(head_ref.index_select(0, s) + chain_dense_change(plan, refs, xs, s, b, p))
        scores[s, b, p] = logits[:, task].double() - ref[s]
    return scores


@torch.no_grad()
def _ism_batch(plan: FastPlan, xs: torch.Tensor, task: int, positions: int, device: torch.device) -> torch.Tensor:
    """ISM of ``xs`` ``(S, 4, L)``, positions in blocks of ``positions``: float64 CPU ``(S, 4, L)``."""
    xs = xs.to(device)
    eye = torch.eye(4, device=device)
    cache, trunk_out = reference_forward(plan, xs)
    head_ref = head_reference(plan, trunk_out)
    ref = plan.tail(trunk_out)[:, task].double()
    block = torch.zeros(xs.shape, dtype=torch.float64, device=device)
    fused = staged(plan, device)
    refs = staged_reference(plan, cache, trunk_out) if fused else None
    for first, width in block_starts(plan if fused else None, xs.shape[-1], positions):
        seq, base, offset = torch.nonzero(xs[:, :, first : first + width] != 1, as_tuple=True)
        rows = Rows.of(seq, len(xs), 3 * width)
        if fused:
            start, change = patch_block_staged(plan, refs, xs, first, width, rows, offset, eye[base])
            if change.shape[1]:
                logits = plan.head.logits_from_change(head_ref, rows, start, change, channels_last=True)
                block[seq, base, first + offset] = logits[:, task].double() - ref[seq]
            continue
        start, patch = patch_block(plan, cache, xs, first, width, rows, offset, eye[base])
        if patch.shape[-1]:
            logits = tail_logits(plan, trunk_out, head_ref, rows, start, patch)
            block[seq, base, first + offset] = logits[:, task].double() - ref[seq]
    return block.cpu()


#: glibc's ``mallopt`` parameters (malloc.h): M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def _keep_freed_blocks() -> bool:
    """Let glibc's malloc serve blocks up to 32 MB from its heap and keep up to 64 MB freed there, once a process.

    The patched passes allocate and free tensors of a few MB per block. glibc maps each block above its mmap
    threshold afresh (page faults on every first touch) and returns freed memory above its trim threshold; both
    thresholds start low and rise only after a large block is freed, so ISM's speed depended on what the process
    had allocated before: DragoNN's SequenceDNN, 64 sequences on 1 thread, 50 seq/s in a fresh process against
    77 after one large block had come and gone. 32 MB is where glibc's own rising threshold stops. Returns whether
    the thresholds are set (False off glibc).
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20))
    except (OSError, AttributeError):  # not glibc
        return False


def _ism_patched(plan: FastPlan, x: torch.Tensor, task: int, batch_size: int, device: torch.device) -> torch.Tensor:
    """ISM using the fastISM plan: float64 ``(N, 4, L)``.

    Sequences go in batches of at most ``batch_size // 3``, positions in blocks of ``batch_size // (3 S)``
    (several positions when a batch has few sequences), so each patched pass holds ~``batch_size`` mutants;
    on the staged path ~``batch_size / 3`` (each extra position widens every mutant's windows there: on the
    demo's Basset, 1 thread, blocks of 3 / 6 / 15 positions gave 27 / 30 / 24 seq/s for 16 sequences, 33 / 30 / 19
    for 64). On the chain path (:func:`_ism_chain`) a pass holds ``4 · batch_size`` mutants of any positions
    (DragoNN's SequenceDNN, 64 sequences on 1 thread: 131 / 154 / 148 seq/s at 768 / 3072 / 6144 a pass). On the
    layer path blocks are at most 16 positions wide (DragoNN's SequenceDNN, 1 thread: 1 sequence
    19 seq/s in blocks of 16 against 3 in blocks of 256, 4 sequences 42 against 22 in blocks of 64). On CPU with
    ``T`` torch threads, ``T`` batches run at once, one thread each (the passes' tensors are too small for
    intra-op threads to pay off: 2 threads that way gave ~1.3× one).
    """
    if device.type == "cpu":
        _keep_freed_blocks()
    workers = torch.get_num_threads() if device.type == "cpu" else 1
    seq_batch = max(1, min(batch_size // 3, -(-len(x) // workers)))
    fused = staged(plan, device)
    positions = max(1, batch_size // ((9 if fused else 3) * seq_batch))
    positions = positions if fused else min(positions, 16)
    batches = [x[s0 : s0 + seq_batch] for s0 in range(0, len(x), seq_batch)]
    if chained(plan, device):
        run = functools.partial(_ism_chain, plan, task=task, batch_size=4 * batch_size)
    else:
        run = functools.partial(_ism_batch, plan, task=task, positions=positions, device=device)
    if workers == 1 or len(batches) == 1:
        return torch.cat([run(xs) for xs in batches])
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(min(workers, len(batches))) as pool:
            return torch.cat(list(pool.map(run, batches)))
    finally:
        torch.set_num_threads(workers)


@torch.no_grad()
def ism_fast(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    task: int = 0,
    batch_size: int = 768,
    centered: bool = False,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Exact ISM, fast: the same numbers as :func:`ism` (to float rounding) with much less compute.

    Parameters are those of :func:`ism`; ``batch_size`` counts mutants per patched pass: the 3 mutants
    at one position of ``batch_size // 3`` sequences, whose reference activations are cached together
    (at most 512 whole forwards per pass on the fallback path, ``4 · batch_size`` mutants of any positions on the
    chain path).

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 4, L)``, as :func:`ism`.
    """
    device = resolve_device(device)
    model = eval_mode(model, device)
    x = as_onehot(x)
    check_task(model, x, task, device)
    plan = plan_fast_ism(model, x.shape[-1])
    if plan is None:
        scores = _ism_full_mutants(model, x, task, min(batch_size, 512), device)
    else:
        scores = _ism_patched(plan, x, task, batch_size, device)
    return _finish(scores, x, centered)
