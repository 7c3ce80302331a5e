"""Simulated sequences with known motif embeddings (SimDNA / DragoNN tutorial style).

Every simulation draws a random background, embeds PWM-sampled motif instances (each on a random
strand, reverse-complemented when '-'; instances never overlap), labels the sequences, and
shuffles positives and negatives together with the seed. The ground truth comes back as an
``embeddings`` table (``seq_id motif start end strand``, 0-based half-open).

Kinds (``simulate(kind, ...)``; the same as DragoNN's ``simulate_*`` functions unless noted):

``single_motif_detection``
    positives hold one instance anywhere, negatives none. Task ``<motif>``.
``density_localization``
    every sequence holds ``min_motifs``..``max_motifs`` instances (uniform count); in positives
    each instance's centre (``start + W // 2``) lies in the central window
    ``[L // 2 - center // 2, L // 2 - center // 2 + center)``, in negatives instances lie anywhere
    (simdna instead keeps whole instances inside the window). Task ``<motif>_localized``.
``multi_motif_embedding``
    each positive gets a random subset of ``min_motifs``..``max_motifs`` distinct motifs (one instance
    each) anywhere; negatives get none. One task per motif (1 when present). DragoNN draws the subset
    size for every sequence (so some hold no motif); here negatives are explicit.
``heterodimer_grammar``
    exactly two motifs. Positives: motif 1, a gap of ``spacing[0]..spacing[1]`` bp, then motif 2, with
    nothing else in between; the pair as a whole lies on a random strand (on '-' it is reverse
    complemented, so motif 2's reverse complement comes first). Negatives hold the same two motifs at
    independent random positions and strands, so only the grammar separates the classes.
    Task ``<motif1>_<motif2>_grammar``.
``motif_counting``
    DragoNN's counting task: positives hold ``pos_counts[0]..pos_counts[1]`` instances, negatives
    ``neg_counts[0]..neg_counts[1]`` (ranges must not overlap), anywhere. One binary task
    ``<motif>_count`` (1 = the positive count range).

As in DragoNN, negatives are not screened for accidental grammar/localization (rare: with the defaults
about 2% of density negatives have all centres in the window by chance).
"""

from __future__ import annotations

import inspect
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cisflow.artifacts import write_datasets
from cisflow.errors import CisflowError
from cisflow.genome import decode, iter_fasta, reverse_complement_codes, write_fasta
from cisflow.io import atomic_open, write_json
from cisflow.params import StageParams
from cisflow.pwm import load_motif, sample_from_pwm
from cisflow.splits import SPLITS

log = logging.getLogger(__name__)

EMBEDDING_COLUMNS = ["seq_id", "motif", "start", "end", "strand"]
BACKGROUNDS = ("zero_order", "dinucleotide")


@dataclass
class Simulation:
    """A simulated data set with its ground truth.

    Attributes
    ----------
    codes
        uint8 ``(N, L)`` genome codes (A0 C1 G2 T3).
    labels
        int8 ``(N, T)``: 1 positive, 0 negative.
    tasks
        ``T`` task names.
    ids
        ``N`` sequence ids (``seq000000`` …, in output order).
    embeddings
        One row per embedded instance: ``seq_id motif start end strand`` (0-based half-open, '+'/'-').
    params
        The arguments that produced it (kind, motifs, seed, …), for provenance.
    """

    codes: np.ndarray
    labels: np.ndarray
    tasks: list[str]
    ids: list[str]
    embeddings: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- backgrounds


def _base_probs(gc_fraction: float) -> np.ndarray:
    """A C G T probabilities for a GC fraction in [0, 1]."""
    if not 0.0 <= gc_fraction <= 1.0:
        raise CisflowError(f"gc_fraction must be in [0, 1], got {gc_fraction}")
    return np.array([1 - gc_fraction, gc_fraction, gc_fraction, 1 - gc_fraction]) / 2


def zero_order(n: int, length: int, gc_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Independent bases with P(C) = P(G) = gc/2, P(A) = P(T) = (1 - gc)/2: uint8 ``(n, length)``."""
    cdf = np.cumsum(_base_probs(gc_fraction))[:3]
    u = rng.random((n, length))
    return (u >= cdf[0]).view(np.uint8) + (u >= cdf[1]).view(np.uint8) + (u >= cdf[2]).view(np.uint8)


def _dinucleotide_counts(codes: np.ndarray) -> np.ndarray:
    """Dinucleotide counts ``(4, 4)`` of codes ``(L,)`` or ``(N, L)``, skipping pairs with N."""
    codes = np.atleast_2d(np.asarray(codes))
    first, second = codes[:, :-1].ravel().astype(np.int64), codes[:, 1:].ravel().astype(np.int64)
    keep = (first < 4) & (second < 4)
    return np.bincount(first[keep] * 4 + second[keep], minlength=16).reshape(4, 4).astype(np.float64)


def dinucleotide_frequencies(codes: np.ndarray) -> np.ndarray:
    """Dinucleotide frequencies ``(4, 4)`` (row = first base, sums to 1) of codes ``(L,)`` or ``(N, L)``.

    Pairs that include N (code 4) are skipped.
    """
    counts = _dinucleotide_counts(codes)
    if counts.sum() == 0:
        raise CisflowError("no A/C/G/T dinucleotides to count frequencies from")
    return counts / counts.sum()


def fasta_dinucleotide_frequencies(path: str | Path) -> np.ndarray:
    """Dinucleotide frequencies ``(4, 4)`` pooled over every record of a (gzipped) FASTA, read streaming."""
    counts = np.zeros((4, 4))
    for _, pieces in iter_fasta(path):
        last = np.zeros(0, np.uint8)  # the base before this piece, so pairs across pieces count too
        for piece in pieces:
            counts += _dinucleotide_counts(np.concatenate([last, piece]))
            last = piece[-1:]
    if counts.sum() == 0:
        raise CisflowError("no A/C/G/T dinucleotides in the FASTA", path)
    return counts / counts.sum()


def dinucleotide_markov(
    n: int,
    length: int,
    rng: np.random.Generator,
    frequencies: np.ndarray | None = None,
    gc_fraction: float = 0.5,
) -> np.ndarray:
    """First-order Markov background with given dinucleotide frequencies: uint8 ``(n, length)``.

    Parameters
    ----------
    frequencies
        ``(4, 4)`` dinucleotide frequencies (e.g. from :func:`dinucleotide_frequencies` of a genome);
        ``None`` uses independent bases at ``gc_fraction`` (uniform at 0.5). The first base is drawn
        from the row sums, each next base from the row of the previous one.
    """
    freqs = np.outer(_base_probs(gc_fraction), _base_probs(gc_fraction)) if frequencies is None else frequencies
    freqs = np.asarray(freqs, dtype=np.float64)
    if freqs.shape != (4, 4) or (freqs < 0).any() or freqs.sum() <= 0:
        raise CisflowError(f"dinucleotide frequencies must be a non-negative (4, 4) array, got shape {freqs.shape}")
    rows = freqs.sum(axis=1, keepdims=True)
    trans = np.where(rows > 0, freqs / np.where(rows > 0, rows, 1), 0.25)
    cdf = np.cumsum(trans, axis=1)[:, :3]
    u = rng.random((length, n))
    out = np.empty((length, n), dtype=np.uint8)
    out[0] = np.searchsorted(np.cumsum(rows.ravel() / rows.sum())[:3], u[0], side="right")
    for i in range(1, length):
        out[i] = (u[i, :, None] >= cdf[out[i - 1]]).sum(axis=1)
    return np.ascontiguousarray(out.T)


def _random_arborescence(succ: dict[int, list[int]], root: int, rng: np.random.Generator) -> dict[int, int]:
    """Wilson's algorithm: for every vertex but ``root``, the index of its last exit edge.

    The chosen edges form a uniformly random spanning arborescence (weighted by edge multiplicity)
    pointing at ``root``, as Altschul & Erickson's exact dinucleotide shuffle requires.
    """
    in_tree, nxt = {root}, {}
    for start in succ:
        u = start
        while u not in in_tree:  # loop-erased random walk: later choices overwrite earlier ones
            nxt[u] = int(rng.integers(len(succ[u])))
            u = succ[u][nxt[u]]
        u = start
        while u not in in_tree:
            in_tree.add(u)
            u = succ[u][nxt[u]]
    return nxt


def _euler_walk_py(order: np.ndarray, offsets: np.ndarray, first: int, out: np.ndarray) -> None:
    """Fill ``out`` by walking the exit edges: from each base, its next unused edge in ``order`` (``offsets[u]``:
    where base ``u``'s edges start)."""
    used = np.zeros(len(offsets), dtype=np.int64)
    cur = first
    out[0] = cur
    for i in range(1, len(out)):
        nxt = order[offsets[cur] + used[cur]]
        used[cur] += 1
        out[i] = cur = nxt


def _euler_walk_kernel():
    """:func:`_euler_walk_py` compiled with numba (the same steps), or the Python one without numba."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba ships with the motifs extra
        return _euler_walk_py
    return numba.njit(cache=True)(_euler_walk_py)


_EULER_WALK: list = []


def _one_dinucleotide_shuffle(
    tokens: np.ndarray, succ: dict[int, list[int]], edges: dict[int, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """One exact dinucleotide shuffle of ``tokens`` ``(L,)`` given its successor lists (``edges``: the same as
    arrays): the exit edges of each base in random order, its last-exit edge last, then the Eulerian walk."""
    last = _random_arborescence(succ, int(tokens[-1]), rng)
    order, offsets, start = [], np.zeros(int(tokens.max()) + 1, dtype=np.int64), 0
    for u, out_edges in edges.items():
        k = last.get(u, -1)
        keep = np.delete(out_edges, k) if k >= 0 else out_edges
        order.append(keep[rng.permutation(len(keep))])
        if k >= 0:
            order.append(out_edges[k : k + 1])
        offsets[u], start = start, start + len(out_edges)
    if not _EULER_WALK:
        _EULER_WALK.append(_euler_walk_kernel())
    out = np.empty(len(tokens), dtype=np.int64)
    _EULER_WALK[0](np.concatenate(order), offsets, int(tokens[0]), out)
    return out


def dinucleotide_shuffle(codes: np.ndarray, rng: np.random.Generator, n_shuffles: int | None = None) -> np.ndarray:
    """Shuffle a sequence preserving its exact dinucleotide counts (Altschul & Erickson 1985).

    Draws uniformly among all sequences with the same dinucleotide counts (and therefore the same
    first and last base): a random Eulerian path of the sequence's dinucleotide multigraph, built
    from a uniformly random last-exit arborescence (Wilson's algorithm) and random orders of the
    other exit edges (Kandel et al. 1996). N (code 4) is treated as a fifth letter.

    Parameters
    ----------
    codes
        uint8 codes ``(L,)``.
    rng
        Random generator.
    n_shuffles
        ``None`` for one shuffle ``(L,)``; an int for ``(n_shuffles, L)``.
    """
    codes = np.asarray(codes)
    if codes.ndim != 1:
        raise CisflowError(f"dinucleotide_shuffle takes codes of shape (L,), got {codes.shape}")
    tokens = codes.tolist()
    count = 1 if n_shuffles is None else n_shuffles
    out = np.empty((count, len(tokens)), dtype=codes.dtype)
    if len(tokens) < 3:
        out[:] = codes
    else:
        succ: dict[int, list[int]] = {}
        for a, b in itertools.pairwise(tokens):
            succ.setdefault(a, []).append(b)
        edges = {u: np.asarray(v, dtype=np.int64) for u, v in succ.items()}
        as_array = np.asarray(tokens, dtype=np.int64)
        for k in range(count):
            out[k] = _one_dinucleotide_shuffle(as_array, succ, edges, rng)
    return out[0] if n_shuffles is None else out


def _edge_order(codes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One sequence's exit edges in a random Eulerian order: next bases ``(L - 1,)`` grouped by their first
    base (0..4), each group in uniformly random order with the last-exit edge of a random arborescence last;
    and the groups' offsets ``(5,)`` into it."""
    src, dst = codes[:-1].astype(np.int64), codes[1:].astype(np.int64)
    succ = {int(u): dst[src == u].tolist() for u in np.unique(src)}
    last = _random_arborescence(succ, int(codes[-1]), rng)
    key = rng.random(src.size)
    for u, k in last.items():
        key[np.flatnonzero(src == u)[k]] = 2.0  # the last-exit edge leaves its base last
    order = np.lexsort((key, src))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=5))[:-1]])
    return dst[order], offsets


def dinucleotide_shuffles(codes: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Exact dinucleotide shuffles of many sequences at once, as :func:`dinucleotide_shuffle` draws them.

    Each row gets its own uniformly random sequence with the same dinucleotide counts (Altschul & Erickson),
    drawn from ``np.random.default_rng(seed)``; the Eulerian walks of all rows run together, one numpy step
    per position, so a batch costs about as much as a few single shuffles.

    Parameters
    ----------
    codes
        uint8 codes ``(B, L)`` (N = 4 is a fifth letter).
    seeds
        ``(B,)`` non-negative ints, one per row.

    Returns
    -------
    np.ndarray
        uint8 ``(B, L)``.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or len(seeds) != codes.shape[0]:
        raise CisflowError(f"dinucleotide_shuffles takes codes (B, L) and B seeds; got {codes.shape}, {len(seeds)}")
    b, length = codes.shape
    if length < 3 or b == 0:
        return codes.copy()
    nxt, ptr = np.empty((b, length - 1), np.int64), np.empty((b, 5), np.int64)
    for i in range(b):
        nxt[i], ptr[i] = _edge_order(codes[i], np.random.default_rng(int(seeds[i])))
    out, rows = np.empty_like(codes), np.arange(b)
    out[:, 0] = cur = codes[:, 0].astype(np.int64)
    for t in range(1, length):
        at = ptr[rows, cur]
        ptr[rows, cur] = at + 1
        cur = nxt[rows, at]
        out[:, t] = cur
    return out


def _background(
    kind: str, n: int, length: int, gc_fraction: float, rng: np.random.Generator, frequencies: np.ndarray | None
) -> np.ndarray:
    """Codes ``(n, length)`` from the named background model."""
    if kind == "zero_order":
        if frequencies is not None:
            raise CisflowError("dinucleotide_frequencies apply only to background='dinucleotide'")
        return zero_order(n, length, gc_fraction, rng)
    if kind == "dinucleotide":
        return dinucleotide_markov(n, length, rng, frequencies, gc_fraction)
    raise CisflowError(f"unknown background {kind!r}; choose one of {', '.join(BACKGROUNDS)}")


# ---------------------------------------------------------------------------------------------- placement


@dataclass(frozen=True)
class _Block:
    """A contiguous thing to embed: ``width`` bp starting in ``[lo, hi]``.

    ``parts`` are ``(motif, offset within the block, strand)``.
    """

    width: int
    lo: int
    hi: int
    parts: tuple[tuple[str, int, str], ...]


def _motif_block(name: str, width: int, lo: int, hi: int, rng: np.random.Generator) -> _Block:
    """One motif instance on a random strand, start in ``[lo, hi]``."""
    return _Block(width, lo, hi, ((name, 0, "-" if rng.random() < 0.5 else "+"),))


def _place(blocks: list[_Block], length: int, rng: np.random.Generator, tries: int = 200) -> list[int]:
    """Non-overlapping starts for ``blocks`` (widest first), by rejection sampling."""
    occupied = np.zeros(length, dtype=bool)
    starts = [0] * len(blocks)
    for i in sorted(range(len(blocks)), key=lambda j: -blocks[j].width):
        b = blocks[i]
        for s in rng.integers(b.lo, b.hi + 1, size=tries).tolist():
            if not occupied[s : s + b.width].any():
                occupied[s : s + b.width] = True
                starts[i] = s
                break
        else:
            raise CisflowError(
                f"could not place {len(blocks)} non-overlapping motif instances in {length} bp "
                f"(allowed starts {b.lo}..{b.hi}); use longer sequences, a wider window or fewer motifs"
            )
    return starts


def _embed(
    codes: np.ndarray, plans: list[list[_Block]], pwms: Mapping[str, np.ndarray], rng: np.random.Generator
) -> pd.DataFrame:
    """Place every sequence's blocks, write PWM samples into ``codes`` in place; rows by sequence index."""
    rows = []
    for seq, blocks in enumerate(plans):
        for block, start in zip(blocks, _place(blocks, codes.shape[1], rng), strict=True):
            for motif, offset, strand in block.parts:
                rows.append((seq, motif, start + offset, start + offset + pwms[motif].shape[1], strand))
    table = pd.DataFrame(rows, columns=["seq", "motif", "start", "end", "strand"])
    table = table.astype({"seq": np.int64, "motif": str, "start": np.int64, "end": np.int64, "strand": str})
    for motif, group in table.groupby("motif", sort=True):
        width = pwms[motif].shape[1]
        samples = sample_from_pwm(pwms[motif], rng, len(group))
        minus = (group["strand"] == "-").to_numpy()
        samples[minus] = reverse_complement_codes(samples[minus])
        cols = group["start"].to_numpy()[:, None] + np.arange(width)
        codes[group["seq"].to_numpy()[:, None], cols] = samples
    return table


# ---------------------------------------------------------------------------------------------- kinds

_Plan = tuple[list[list[_Block]], np.ndarray, list[str]]
_Motifs = Sequence[str] | Mapping[str, np.ndarray]


def _one_motif(names: list[str], kind: str, count: int = 1) -> list[str]:
    """Check that ``kind`` got exactly ``count`` motifs."""
    if len(names) != count:
        raise CisflowError(f"{kind} takes exactly {count} motif(s), got {len(names)}: {', '.join(names)}")
    return names


def _count_range(value: Sequence[int], what: str, lowest: int = 0) -> tuple[int, int]:
    """Validate an inclusive ``(min, max)`` integer range."""
    lo, hi = (int(v) for v in value)
    if lo < lowest or hi < lo:
        raise CisflowError(f"{what} must satisfy {lowest} <= min <= max, got ({lo}, {hi})")
    return lo, hi


def _labels(num_pos: int, num_neg: int) -> np.ndarray:
    """One binary task: positives first."""
    return np.r_[np.ones(num_pos, np.int8), np.zeros(num_neg, np.int8)][:, None]


def _plan_single(
    names: list[str], widths: dict[str, int], length: int, num_pos: int, num_neg: int, rng: np.random.Generator
) -> _Plan:
    """One instance anywhere in positives, none in negatives."""
    (name,) = _one_motif(names, "single_motif_detection")
    w = widths[name]
    plans = [[_motif_block(name, w, 0, length - w, rng)] for _ in range(num_pos)] + [[] for _ in range(num_neg)]
    return plans, _labels(num_pos, num_neg), [name]


def _plan_density(
    names: list[str],
    widths: dict[str, int],
    length: int,
    num_pos: int,
    num_neg: int,
    rng: np.random.Generator,
    center: int = 150,
    min_motifs: int = 2,
    max_motifs: int = 4,
) -> _Plan:
    """min..max instances: centres inside the central window in positives, anywhere in negatives."""
    (name,) = _one_motif(names, "density_localization")
    w = widths[name]
    lo_n, hi_n = _count_range((min_motifs, max_motifs), "min_motifs/max_motifs", lowest=1)
    if not 1 <= center <= length:
        raise CisflowError(f"center must be in [1, length={length}], got {center}")
    left = length // 2 - center // 2
    lo, hi = max(0, left - w // 2), min(length - w, left + center - 1 - w // 2)
    counts = rng.integers(lo_n, hi_n + 1, size=num_pos + num_neg)
    plans = [
        [_motif_block(name, w, *((lo, hi) if i < num_pos else (0, length - w)), rng) for _ in range(k)]
        for i, k in enumerate(counts.tolist())
    ]
    return plans, _labels(num_pos, num_neg), [f"{name}_localized"]


def _plan_multi(
    names: list[str],
    widths: dict[str, int],
    length: int,
    num_pos: int,
    num_neg: int,
    rng: np.random.Generator,
    min_motifs: int = 1,
    max_motifs: int | None = None,
) -> _Plan:
    """A random subset of distinct motifs per positive; one task per motif."""
    if len(set(names)) != len(names) or not names:
        raise CisflowError(f"multi_motif_embedding needs distinct motifs, got {', '.join(names) or 'none'}")
    lo_n, hi_n = _count_range((min_motifs, len(names) if max_motifs is None else max_motifs), "min/max_motifs", 1)
    if hi_n > len(names):
        raise CisflowError(f"max_motifs={hi_n} exceeds the {len(names)} motifs given")
    labels = np.zeros((num_pos + num_neg, len(names)), dtype=np.int8)
    plans: list[list[_Block]] = []
    for i in range(num_pos):
        chosen = np.sort(rng.choice(len(names), size=int(rng.integers(lo_n, hi_n + 1)), replace=False))
        labels[i, chosen] = 1
        plans.append([_motif_block(names[j], widths[names[j]], 0, length - widths[names[j]], rng) for j in chosen])
    return plans + [[] for _ in range(num_neg)], labels, list(names)


def _pair_block(m1: str, m2: str, w1: int, w2: int, gap: int, length: int, strand: str) -> _Block:
    """Motif 1, ``gap`` bp, motif 2 as one block; on '-' the whole pair is reverse complemented."""
    width = w1 + gap + w2
    parts = ((m1, 0, "+"), (m2, w1 + gap, "+")) if strand == "+" else ((m2, 0, "-"), (m1, w2 + gap, "-"))
    return _Block(width, 0, length - width, parts)


def _plan_heterodimer(
    names: list[str],
    widths: dict[str, int],
    length: int,
    num_pos: int,
    num_neg: int,
    rng: np.random.Generator,
    spacing: Sequence[int] = (2, 10),
) -> _Plan:
    """Positives: the two motifs at a spacing in range; negatives: the same two motifs anywhere."""
    m1, m2 = _one_motif(names, "heterodimer_grammar", count=2)
    lo_s, hi_s = _count_range(spacing, "spacing")
    gaps = rng.integers(lo_s, hi_s + 1, size=num_pos).tolist()
    strands = np.where(rng.random(num_pos) < 0.5, "-", "+").tolist()
    plans = [_pair_block(m1, m2, widths[m1], widths[m2], g, length, s) for g, s in zip(gaps, strands, strict=True)]
    if plans and max(b.width for b in plans) > length:
        raise CisflowError(f"motif pair with spacing up to {hi_s} does not fit in {length} bp")
    negs = [[_motif_block(m, widths[m], 0, length - widths[m], rng) for m in (m1, m2)] for _ in range(num_neg)]
    return [[b] for b in plans] + negs, _labels(num_pos, num_neg), [f"{m1}_{m2}_grammar"]


def _plan_counting(
    names: list[str],
    widths: dict[str, int],
    length: int,
    num_pos: int,
    num_neg: int,
    rng: np.random.Generator,
    pos_counts: Sequence[int] = (3, 5),
    neg_counts: Sequence[int] = (0, 2),
) -> _Plan:
    """pos_counts instances in positives, neg_counts in negatives, anywhere."""
    (name,) = _one_motif(names, "motif_counting")
    pos, neg = _count_range(pos_counts, "pos_counts"), _count_range(neg_counts, "neg_counts")
    if neg[1] >= pos[0] and pos[1] >= neg[0]:
        raise CisflowError(f"pos_counts {pos} and neg_counts {neg} overlap, so labels would be ambiguous")
    w = widths[name]
    counts = np.r_[rng.integers(pos[0], pos[1] + 1, num_pos), rng.integers(neg[0], neg[1] + 1, num_neg)]
    plans = [[_motif_block(name, w, 0, length - w, rng) for _ in range(k)] for k in counts.tolist()]
    return plans, _labels(num_pos, num_neg), [f"{name}_count"]


KINDS: dict[str, Callable[..., _Plan]] = {
    "single_motif_detection": _plan_single,
    "density_localization": _plan_density,
    "multi_motif_embedding": _plan_multi,
    "heterodimer_grammar": _plan_heterodimer,
    "motif_counting": _plan_counting,
}


def kind_params(kind: str) -> dict[str, Any]:
    """The extra parameters a simulation kind accepts, with their defaults."""
    if kind not in KINDS:
        raise CisflowError(f"unknown simulation kind {kind!r}; choose one of {', '.join(KINDS)}")
    params = list(inspect.signature(KINDS[kind]).parameters.values())[6:]
    return {p.name: p.default for p in params}


# ---------------------------------------------------------------------------------------------- entry points


def _resolve_motifs(motifs: Sequence[str] | Mapping[str, np.ndarray]) -> tuple[list[str], dict[str, np.ndarray]]:
    """Motif names in order and ``{name: pwm (4, W)}`` from specs (see :func:`cisflow.pwm.load_motif`) or PWMs."""
    if isinstance(motifs, str):
        motifs = [motifs]
    if isinstance(motifs, Mapping):
        items = [(str(k), np.asarray(v, dtype=np.float64)) for k, v in motifs.items()]
    else:
        items = [load_motif(spec) for spec in motifs]
    if not items:
        raise CisflowError("no motifs given")
    for name, pwm in items:
        if pwm.ndim != 2 or pwm.shape[0] != 4 or (pwm < 0).any():
            raise CisflowError(f"motif {name!r}: a PWM must be a non-negative (4, W) array, got shape {pwm.shape}")
    return [n for n, _ in items], dict(items)


def _check_common(length: int, num_pos: int, num_neg: int, widths: Mapping[str, int]) -> None:
    """Validate sizes shared by every kind."""
    if num_pos < 0 or num_neg < 0 or num_pos + num_neg == 0:
        raise CisflowError(f"num_pos and num_neg must be >= 0 and not both 0, got {num_pos}, {num_neg}")
    too_long = [f"{k} ({w} bp)" for k, w in widths.items() if w > length]
    if too_long:
        raise CisflowError(f"motifs longer than the sequence length {length}: {', '.join(too_long)}")


@dataclass(frozen=True)
class SimulationParams(StageParams):
    """The config's ``simulation`` section (:func:`run_simulation`). ``kind`` and ``motifs`` have no default;
    the kind-specific keys (None here) take the kind's defaults (:func:`kind_params`)."""

    SECTION: ClassVar[str] = "simulation"
    kind: str | None = None
    motifs: tuple[str, ...] = ()
    input_length: int = 1000  # bp of each sequence: the model's input length
    num_pos: int = 3000
    num_neg: int = 3000
    gc_fraction: float = 0.4
    background: str = "zero_order"
    center: int | None = None
    min_motifs: int | None = None
    max_motifs: int | None = None
    spacing: tuple[int, int] | None = None
    pos_counts: tuple[int, int] | None = None
    neg_counts: tuple[int, int] | None = None
    valid_fraction: float = 0.15
    test_fraction: float = 0.15


def simulate(
    kind: str,
    motifs: Sequence[str] | Mapping[str, np.ndarray],
    input_length: int = SimulationParams.input_length,
    num_pos: int = SimulationParams.num_pos,
    num_neg: int = SimulationParams.num_neg,
    gc_fraction: float = SimulationParams.gc_fraction,
    background: str = SimulationParams.background,
    seed: int = 0,
    dinucleotide_frequencies: np.ndarray | None = None,
    **params: Any,
) -> Simulation:
    """Simulate a labelled data set of one kind (see the module docstring).

    Parameters
    ----------
    kind
        One of :data:`KINDS`.
    motifs
        Motif specs (``TAL1_known4``, ``jaspar:MA0363.2``) or ``{name: pwm (4, W)}``.
    input_length, num_pos, num_neg
        Sequence length (bp; the model's input length) and class sizes (defaults: :class:`SimulationParams`).
    gc_fraction, background
        Background model: ``zero_order`` (independent bases at ``gc_fraction``) or ``dinucleotide``
        (first-order Markov chain on ``dinucleotide_frequencies`` ``(4, 4)``, default from ``gc_fraction``).
    seed
        Seed of every random draw; the same seed gives identical output.
    params
        Kind-specific parameters (:func:`kind_params`); an unknown one is a CisflowError.
    """
    accepted = kind_params(kind)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise CisflowError(f"{kind} does not take {', '.join(unknown)}; it takes {', '.join(accepted) or 'nothing'}")
    names, pwms = _resolve_motifs(motifs)
    _check_common(input_length, num_pos, num_neg, {k: v.shape[1] for k, v in pwms.items()})
    rng = np.random.default_rng(seed)
    widths = {k: int(v.shape[1]) for k, v in pwms.items()}
    plans, labels, tasks = KINDS[kind](names, widths, input_length, num_pos, num_neg, rng, **params)
    codes = _background(background, num_pos + num_neg, input_length, gc_fraction, rng, dinucleotide_frequencies)
    table = _embed(codes, plans, pwms, rng)
    record = {"kind": kind, "motifs": names, "input_length": input_length, "num_pos": num_pos, "num_neg": num_neg}
    record |= {"gc_fraction": gc_fraction, "background": background, "seed": seed, **accepted, **params}
    return _shuffled(codes, labels, tasks, table, rng, record)


def _shuffled(
    codes: np.ndarray,
    labels: np.ndarray,
    tasks: list[str],
    table: pd.DataFrame,
    rng: np.random.Generator,
    params: dict[str, Any],
) -> Simulation:
    """Shuffle sequences (positives came first), name them in output order, relabel the embeddings."""
    order = rng.permutation(codes.shape[0])
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    width = max(6, len(str(order.size - 1)))
    ids = [f"seq{i:0{width}d}" for i in range(order.size)]
    table = table.assign(rank=rank[table["seq"].to_numpy(np.int64)]).sort_values(["rank", "start"], kind="stable")
    emb = pd.DataFrame({"seq_id": [ids[r] for r in table["rank"]], "motif": table["motif"].to_numpy()})
    emb = emb.assign(start=table["start"].to_numpy(np.int64), end=table["end"].to_numpy(np.int64))
    emb["strand"] = table["strand"].to_numpy()
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
    return Simulation(codes[order], labels[order], list(tasks), ids, emb.reset_index(drop=True), params)


def single_motif_detection(
    motifs: _Motifs,
    input_length: int = SimulationParams.input_length,
    num_pos: int = SimulationParams.num_pos,
    num_neg: int = SimulationParams.num_neg,
    gc_fraction: float = SimulationParams.gc_fraction,
    **kw: Any,
) -> Simulation:
    """One motif instance anywhere in positives, none in negatives (DragoNN's first tutorial task)."""
    return simulate("single_motif_detection", motifs, input_length, num_pos, num_neg, gc_fraction, **kw)


def motif_density_localization(
    motifs: _Motifs,
    input_length: int = SimulationParams.input_length,
    num_pos: int = SimulationParams.num_pos,
    num_neg: int = SimulationParams.num_neg,
    gc_fraction: float = SimulationParams.gc_fraction,
    center: int = 150,
    min_motifs: int = 2,
    max_motifs: int = 4,
    **kw: Any,
) -> Simulation:
    """``min_motifs``..``max_motifs`` instances with centres in the central ``center`` bp (positives) or anywhere."""
    return simulate(
        "density_localization",
        motifs,
        input_length,
        num_pos,
        num_neg,
        gc_fraction,
        center=center,
        min_motifs=min_motifs,
        max_motifs=max_motifs,
        **kw,
    )


def multi_motif_embedding(
    motifs: _Motifs,
    input_length: int = SimulationParams.input_length,
    num_pos: int = SimulationParams.num_pos,
    num_neg: int = SimulationParams.num_neg,
    gc_fraction: float = SimulationParams.gc_fraction,
    min_motifs: int = 1,
    max_motifs: int | None = None,
    **kw: Any,
) -> Simulation:
    """A random subset of the motifs in each positive; one task per motif."""
    return simulate(
        "multi_motif_embedding",
        motifs,
        input_length,
        num_pos,
        num_neg,
        gc_fraction,
        min_motifs=min_motifs,
        max_motifs=max_motifs,
        **kw,
    )


def heterodimer_grammar(
    motifs: _Motifs,
    input_length: int = SimulationParams.input_length,
    num_pos: int = SimulationParams.num_pos,
    num_neg: int = SimulationParams.num_neg,
    gc_fraction: float = SimulationParams.gc_fraction,
    spacing: tuple[int, int] = (2, 10),
    **kw: Any,
) -> Simulation:
    """Two motifs at a spacing in ``spacing`` (positives) or at independent random places (negatives)."""
    return simulate("heterodimer_grammar", motifs, input_length, num_pos, num_neg, gc_fraction, spacing=spacing, **kw)


def motif_counting(
    motifs: _Motifs,
    input_length: int = SimulationParams.input_length,
    num_pos: int = SimulationParams.num_pos,
    num_neg: int = SimulationParams.num_neg,
    gc_fraction: float = SimulationParams.gc_fraction,
    pos_counts: tuple[int, int] = (3, 5),
    neg_counts: tuple[int, int] = (0, 2),
    **kw: Any,
) -> Simulation:
    """``pos_counts`` instances in positives versus ``neg_counts`` in negatives (one binary task)."""
    return simulate(
        "motif_counting",
        motifs,
        input_length,
        num_pos,
        num_neg,
        gc_fraction,
        pos_counts=pos_counts,
        neg_counts=neg_counts,
        **kw,
    )


# ---------------------------------------------------------------------------------------------- outputs


def write_simulation(
    sim: Simulation, fasta_path: str | Path, labels_tsv: str | Path, embeddings_tsv: str | Path
) -> None:
    """Write sequences (FASTA, gzipped if ``.gz``), labels (``id`` + one column per task) and embeddings (TSV)."""
    write_fasta(fasta_path, ((i, decode(c)) for i, c in zip(sim.ids, sim.codes, strict=True)))
    labels = pd.DataFrame(sim.labels, columns=sim.tasks)
    labels.insert(0, "id", sim.ids)
    with atomic_open(labels_tsv) as handle:
        labels.to_csv(handle, sep="\t", index=False)
    with atomic_open(embeddings_tsv) as handle:
        sim.embeddings[EMBEDDING_COLUMNS].to_csv(handle, sep="\t", index=False)


def read_embeddings(path: str | Path) -> pd.DataFrame:
    """Read a simulation's embeddings TSV (``seq_id motif start end strand``, 0-based half-open)."""
    try:
        table = pd.read_csv(path, sep="\t", dtype={"seq_id": str, "motif": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CisflowError(f"cannot read embeddings table ({exc})", path) from exc
    missing = [c for c in EMBEDDING_COLUMNS[:4] if c not in table.columns]
    if missing:
        raise CisflowError(f"embeddings table lacks column(s) {', '.join(missing)}", path)
    return table


def split_simulation(
    sim: Simulation, valid_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0
) -> dict[str, dict[str, np.ndarray]]:
    """Random train/valid/test split in the dataset-npz form (:data:`cisflow.artifacts.DATASET`).

    The rows are simulated sequences, not genome bins: ``bin_size`` and ``stride`` are 0 and
    ``input_length`` is the sequence length.

    Split sizes are ``round(N * fraction)`` for valid and test, the rest train; each split keeps
    the simulation's order.
    """
    if valid_fraction < 0 or test_fraction < 0 or valid_fraction + test_fraction >= 1:
        raise CisflowError(f"need valid, test fractions >= 0 summing below 1, got {valid_fraction}, {test_fraction}")
    n = sim.codes.shape[0]
    n_valid, n_test = round(n * valid_fraction), round(n * test_fraction)
    order = np.random.default_rng(seed).permutation(n)
    parts = {"test": order[:n_test], "valid": order[n_test : n_test + n_valid], "train": order[n_test + n_valid :]}
    ids, tasks = np.array(sim.ids, dtype=str), np.array(sim.tasks, dtype=str)
    return {
        split: {
            "codes": sim.codes[np.sort(idx)],
            "labels": sim.labels[np.sort(idx)],
            "tasks": tasks,
            "ids": ids[np.sort(idx)],
            "bin_size": np.int64(0),
            "stride": np.int64(0),
            "input_length": np.int64(sim.codes.shape[1]),
        }
        for split, idx in ((s, parts[s]) for s in SPLITS)
    }


def run_simulation(
    outputs: Mapping[str, str | Path],
    kind: str,
    motifs: Sequence[str],
    valid_fraction: float = SimulationParams.valid_fraction,
    test_fraction: float = SimulationParams.test_fraction,
    background_fasta: str | Path | None = None,
    **simulate_args: Any,
) -> Simulation:
    """Simulate and write every output: the one call behind the CLI and the Snakemake rule.

    ``outputs`` maps ``fasta labels embeddings train valid test`` (and optionally ``params``, a JSON of
    the arguments and seed) to paths; ``background_fasta`` (optional) supplies the dinucleotide
    frequencies of the ``dinucleotide`` background; ``simulate_args`` go to :func:`simulate`.
    """
    needed = {"fasta", "labels", "embeddings", *SPLITS}
    if not needed <= set(outputs) or not set(outputs) <= needed | {"params"}:
        raise CisflowError(f"outputs must name {', '.join(sorted(needed))} (and optionally params)")
    if background_fasta is not None:
        simulate_args["dinucleotide_frequencies"] = fasta_dinucleotide_frequencies(background_fasta)
    sim = simulate(kind, motifs, **simulate_args)
    log.info("simulated %d sequences x %d bp, %d embedded instances", *sim.codes.shape, len(sim.embeddings))
    write_simulation(sim, outputs["fasta"], outputs["labels"], outputs["embeddings"])
    splits = split_simulation(sim, valid_fraction, test_fraction, seed=sim.params["seed"])
    write_datasets(splits, {s: outputs[s] for s in SPLITS})
    if "params" in outputs:
        extra = {"valid_fraction": valid_fraction, "test_fraction": test_fraction}
        extra["background_fasta"] = None if background_fasta is None else str(background_fasta)
        write_json(outputs["params"], sim.params | extra)
    return sim


_GENERIC_KEYS = ("input_length", "num_pos", "num_neg", "gc_fraction", "background")


def simulate_from_config(config: Mapping[str, Any], seed: int, outputs: Mapping[str, str | Path]) -> Simulation:
    """Run the simulation a workflow config's ``simulation`` section describes (see config/README.md).

    Kind-specific keys left out of ``config`` take the kind's defaults; a key the kind does not take
    is a CisflowError naming it.
    """
    cfg = dict(config)
    kind, motifs = cfg.pop("kind"), cfg.pop("motifs")
    fractions = {k: cfg.pop(k) for k in ("valid_fraction", "test_fraction") if k in cfg}
    generic = {k: cfg.pop(k) for k in _GENERIC_KEYS if k in cfg}
    accepted = kind_params(kind)
    unknown = [k for k in cfg if k not in accepted]
    if unknown:
        raise CisflowError(f"simulation.{unknown[0]} does not apply to kind {kind!r} (it takes {', '.join(accepted)})")
    extra = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
    return run_simulation(outputs, kind, motifs, seed=seed, **fractions, **generic, **extra)
