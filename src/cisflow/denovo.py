"""De novo seed motifs: the words most enriched in bound sequences over background, grown into PWMs.

Which motifs a CNN's first layer learns is settled early, by its random initialisation: on the yeast
demo one seed's motif model reads ABF1 and REB1 and others read neither (docs/hits.md). This module
finds what the data itself says is enriched, before any training and without a motif database, so that
the first filters can start there (:func:`cisflow.seeding.seed_filters`), as DREME / STREME-style
discovery seeds a motif search:

1. Count, once per sequence, every *word*: two half-words of ``half`` bp each separated by a gap of
   0 to ``max_gap`` bp (gap 0: a contiguous ``2 × half``-mer; a gap catches bipartite sites such as
   ABF1's ``TCR ... ACG``). A word and its reverse complement count as one.
2. Score each word by the two-proportion z statistic of the fraction of bound sequences holding it
   against the fraction of background sequences holding it.
3. Take the best word, build its PWM from its exact sites in the bound sequences (oriented as the
   word, with ``flank`` bp either side), then erase every site of the word with at most one mismatch
   from both sets (bases set to N), so the next round finds another motif rather than a shifted or
   one-base variant of this one. Repeat until ``n_motifs`` are found or the best z falls below
   ``min_z``.

Shapes: codes are uint8 ``(N, L)`` (A C G T = 0..3, N = 4, :mod:`cisflow.genome`); PWMs are
probabilities ``(4, W)`` with ``W = 2 × half + gap + 2 × flank``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm

from cisflow.errors import CisflowError
from cisflow.genome import N_CODE, decode, gc_fraction
from cisflow.params import StageParams, log_params

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenovoParams(StageParams):
    """Config section ``denovo_seeds`` (:func:`find_seed_motifs`); the schema states the same defaults."""

    SECTION: ClassVar[str] = "denovo_seeds"
    n_motifs: int = 8
    window: int = 200
    max_peaks: int = 10_000
    background_ratio: float = 3.0
    half: int = 4
    max_gap: int = 8
    flank: int = 4
    min_sites: int = 10
    min_z: float | None = None
    alpha: float = 0.05


@dataclass(frozen=True)
class SeedWord:
    """One discovered word: ``word`` (gap as ``n``), bound / background sequences holding it, z, its PWM."""

    name: str
    word: str
    gap: int
    n_bound: int
    n_background: int
    fraction_bound: float
    fraction_background: float
    z: float
    n_sites: int
    pwm: np.ndarray


def _word_codes(codes: np.ndarray, half: int, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes ``(N, P)`` of the words at every start (``-1`` where a fixed base is N) and the same
    for their reverse complements; ``P = L - (2 × half + gap) + 1``."""
    span = 2 * half + gap
    n_pos = codes.shape[1] - span + 1
    offsets = list(range(half)) + list(range(half + gap, span))
    fwd = np.zeros((codes.shape[0], n_pos), np.int64)
    rev = np.zeros_like(fwd)
    bad = np.zeros(fwd.shape, bool)
    k = len(offsets)
    for j, off in enumerate(offsets):
        base = codes[:, off : off + n_pos].astype(np.int64)
        bad |= base == N_CODE
        fwd += base << (2 * (k - 1 - j))  # first fixed base most significant
        rev += (3 - np.minimum(base, 3)) << (2 * j)  # reverse complement: complemented bases in reverse order
    fwd[bad] = -1
    rev[bad] = -1
    return fwd, rev


def _presence(codes: np.ndarray, half: int, gap: int, chunk: int = 20_000) -> np.ndarray:
    """Number of sequences holding each canonical word, ``(4 ** (2 × half),)`` int64 (``chunk`` sequences at a
    time, so memory stays ~``chunk × L × 40`` bytes whatever the number of sequences)."""
    counts = np.zeros(4 ** (2 * half), np.int64)
    for lo in range(0, len(codes), chunk):
        fwd, rev = _word_codes(codes[lo : lo + chunk], half, gap)
        canon = np.minimum(fwd, rev)
        canon[fwd < 0] = -1
        canon.sort(axis=1)
        first = np.ones(canon.shape, bool)
        first[:, 1:] = canon[:, 1:] != canon[:, :-1]  # each word once per sequence
        counts += np.bincount(canon[first & (canon >= 0)], minlength=counts.size)
    return counts


def _word_text(code: int, half: int, gap: int) -> str:
    k = 2 * half
    bases = [(code >> (2 * (k - 1 - j))) & 3 for j in range(k)]
    text = decode(np.array(bases, np.uint8))
    return text[:half] + "n" * gap + text[half:]


def _z(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Two-proportion z of ``a / n_a`` against ``b / n_b`` with a pseudocount of one per side."""
    p = (a + 1.0) / (n_a + 2.0)
    q = (b + 1.0) / (n_b + 2.0)
    return (p - q) / np.sqrt(p * (1 - p) / n_a + q * (1 - q) / n_b)


def _sites(codes: np.ndarray, code: int, half: int, gap: int, mismatches: int) -> list[tuple[int, int, bool]]:
    """``(sequence, start, reverse)`` of the word's sites with at most ``mismatches`` fixed bases differing."""
    span = 2 * half + gap
    n_pos = codes.shape[1] - span + 1
    offsets = list(range(half)) + list(range(half + gap, span))
    k = len(offsets)
    word = np.array([(code >> (2 * (k - 1 - j))) & 3 for j in range(k)], np.int64)
    out = []
    for reverse in (False, True):
        target = (3 - word[::-1]) if reverse else word
        diff = np.zeros((codes.shape[0], n_pos), np.int16)
        for j, off in enumerate(offsets):
            diff += codes[:, off : off + n_pos] != target[j]
        rows, starts = np.nonzero(diff <= mismatches)
        out += [(int(r), int(s), reverse) for r, s in zip(rows, starts, strict=True)]
    return out


def _pwm(codes: np.ndarray, sites: list[tuple[int, int, bool]], span: int, flank: int) -> np.ndarray:
    """Base frequencies ``(4, span + 2 × flank)`` of the sites (oriented as the word), pseudocount 0.25 a base."""
    width = span + 2 * flank
    counts = np.full((4, width), 0.25)
    length = codes.shape[1]
    for row, start, reverse in sites:
        lo, hi = start - flank, start + span + flank
        window = np.full(width, N_CODE, np.uint8)
        a, b = max(lo, 0), min(hi, length)
        window[a - lo : a - lo + b - a] = codes[row, a:b]
        if reverse:
            window = np.where(window < 4, 3 - window, window)[::-1]
        ok = window < 4
        counts[window[ok], np.nonzero(ok)[0]] += 1
    return counts / counts.sum(axis=0, keepdims=True)


def _erase(codes: np.ndarray, sites: list[tuple[int, int, bool]], span: int) -> None:
    for row, start, _ in sites:
        codes[row, start : start + span] = N_CODE


def discover_seed_motifs(
    bound: np.ndarray,
    background: np.ndarray,
    n_motifs: int = DenovoParams.n_motifs,
    half: int = DenovoParams.half,
    max_gap: int = DenovoParams.max_gap,
    flank: int = DenovoParams.flank,
    min_z: float | None = DenovoParams.min_z,
    min_sites: int = DenovoParams.min_sites,
    alpha: float = DenovoParams.alpha,
) -> list[SeedWord]:
    """The most enriched words of ``bound`` over ``background``, each grown into a PWM (module docstring).

    Parameters
    ----------
    bound, background
        uint8 codes ``(N, L)`` and ``(M, L')``: bound sequences (e.g. summit-centred peaks) and background
        sequences of matched composition; neither is modified.
    n_motifs
        Most words to return.
    half
        Bases in each half of a word (a word has ``2 × half`` fixed bases).
    max_gap
        Largest gap between the halves, bp.
    flank
        Bases added to the PWM either side of the word.
    min_z
        Stop when the best word's z is below this; None: the Bonferroni bound, the one-sided normal quantile of
        ``alpha`` / the number of words tested (those with ``min_sites`` bound sequences, every gap).
    min_sites
        A word must be held by at least this many bound sequences.
    alpha
        The family-wise error rate of the default ``min_z``.

    Returns
    -------
    list of SeedWord
        In the order found (best first), named ``denovo_1``, ``denovo_2``, …
    """
    bound = np.array(bound, dtype=np.uint8, copy=True)
    background = np.array(background, dtype=np.uint8, copy=True)
    if bound.ndim != 2 or background.ndim != 2 or not len(bound) or not len(background):
        raise CisflowError(
            f"de novo seeds need bound and background codes (N, L); got shapes {bound.shape} and {background.shape}"
        )
    if half < 2 or max_gap < 0 or flank < 0 or n_motifs < 1:
        raise CisflowError(f"bad de novo seed settings: half {half}, max_gap {max_gap}, flank {flank}, n {n_motifs}")
    span_max = 2 * half + max_gap
    if min(bound.shape[1], background.shape[1]) < span_max:
        raise CisflowError(f"sequences of {min(bound.shape[1], background.shape[1])} bp are shorter than a word "
                           f"({span_max} bp)")  # fmt: skip
    n_b, n_g = len(bound), len(background)
    found: list[SeedWord] = []
    while len(found) < n_motifs:
        best, tested = None, 0
        for gap in range(max_gap + 1):
            a, b = _presence(bound, half, gap), _presence(background, half, gap)
            z = np.where(a >= min_sites, _z(a, b, n_b, n_g), -np.inf)
            tested += int((a >= min_sites).sum())
            i = int(np.argmax(z))
            if best is None or z[i] > best[0]:
                best = (float(z[i]), i, gap, int(a[i]), int(b[i]))
        if min_z is None:
            min_z = float(norm.isf(alpha / max(tested, 1)))
            log.info("de novo seeds: %d words held by >= %d of %d bound sequences; z threshold %.2f (Bonferroni, "
                     "alpha %g)", tested, min_sites, n_b, min_z, alpha)  # fmt: skip
        z, code, gap, a, b = best
        if not np.isfinite(z) or z < min_z:
            break
        span = 2 * half + gap
        exact = _sites(bound, code, half, gap, mismatches=0)
        pwm = _pwm(bound, exact, span, flank)
        name = f"denovo_{len(found) + 1}"
        found.append(SeedWord(name, _word_text(code, half, gap), gap, a, b, a / n_b, b / n_g, z, len(exact), pwm))
        log.info("%s: %s in %d of %d bound (%.1f%%) vs %.1f%% of background sequences, z %.1f", name,
                 found[-1].word, a, n_b, 100 * a / n_b, 100 * b / n_g, z)  # fmt: skip
        _erase(bound, _sites(bound, code, half, gap, mismatches=1), span)
        _erase(background, _sites(background, code, half, gap, mismatches=1), span)
    return found


def seed_sequences(
    peaks: Mapping[str, str | Path],
    labels_npz: str | Path,
    genome: str | Path,
    splits_json: str | Path,
    window: int = DenovoParams.window,
    background_ratio: float = DenovoParams.background_ratio,
    seed: int = 1,
    max_peaks: int = DenovoParams.max_peaks,
) -> tuple[np.ndarray, np.ndarray]:
    """Bound and GC-matched background sequences of the training split, for :func:`discover_seed_motifs`.

    Bound: ``window`` bp around the summit of each peak (``{task: narrowPeak}``, the labels' bound peak
    sets) whose summit lies in a kept training bin, one window per summit position, the ``max_peaks`` with the
    highest signal value when there are more (as MEME-ChIP takes the top peaks; bounds memory on deep data).
    Background: ``background_ratio`` × as many ``window``-bp windows centred on kept training bins unbound in
    every training task, drawn at random (``seed``; 20 candidates each) and GC-matched to the bound ones
    (:func:`cisflow.profile.regions.gc_matched`). The split is the one training uses
    (:func:`cisflow.splits.train_bins`): held-out chromosomes, regions and cell types are never read.

    Returns
    -------
    bound, background
        uint8 codes ``(N, window)`` and ``(M, window)``.
    """
    from cisflow.genome import Genome
    from cisflow.labels import load_labels
    from cisflow.narrowpeak import read_narrowpeak
    from cisflow.profile.regions import gc_matched
    from cisflow.splits import read_splits, split_tasks, train_bins

    info = read_splits(splits_json)
    labels, codes = load_labels(labels_npz), Genome.open(genome)
    codes.check_chroms(labels.chroms, labels_npz)
    mask = train_bins(labels, info, 0)
    columns = split_tasks(labels.tasks, info.get("heldout_cell_types", ()))["train"]  # held-out cell types: never
    unknown = sorted(set(peaks) - set(labels.tasks))
    if unknown:
        raise CisflowError(f"peaks given for {unknown[0]}, which is not a task of the labels", labels_npz)
    training = {labels.tasks[c] for c in columns}
    strongest: dict[tuple[str, int], float] = {}
    for task, path in peaks.items():
        if task not in training:
            continue
        table = read_narrowpeak(path, labels.chrom_sizes)
        start, end, offset = (table[k].to_numpy(np.int64) for k in ("start", "end", "summit"))
        at = start + np.where(offset >= 0, offset, (end - start) // 2)  # no summit (-1): the midpoint
        for chrom, pos, signal in zip(table["chrom"], at, table["signal"].to_numpy(float), strict=True):
            i = min(int(pos) // labels.stride, labels.labels[chrom].shape[0] - 1)
            if mask[chrom][i] and labels.keep[chrom][i]:
                strongest[chrom, int(pos)] = max(signal, strongest.get((chrom, int(pos)), -np.inf))
    if not strongest:
        raise CisflowError("no peak summit in the training split to find de novo seed motifs in", labels_npz)
    at = sorted(sorted(strongest, key=strongest.__getitem__, reverse=True)[:max_peaks])
    bound = codes.fetch_many(np.array([c for c, _ in at]), np.array([p for _, p in at]) - window // 2, window)
    n_background = round(background_ratio * len(bound))
    unbound = {c: np.flatnonzero(mask[c] & labels.keep[c] & (labels.labels[c][:, columns] == 0).all(axis=1))
               for c in labels.chroms}  # fmt: skip
    offsets = np.cumsum([0, *(len(v) for v in unbound.values())])
    if offsets[-1] < n_background:
        raise CisflowError(f"{offsets[-1]} unbound training bins are too few for {n_background} background "
                           "sequences", labels_npz)  # fmt: skip
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(offsets[-1], size=min(offsets[-1], 20 * n_background), replace=False))
    which = np.searchsorted(offsets, pick, side="right") - 1  # chromosome of each drawn bin
    names = np.array(labels.chroms)[which]
    centres = np.concatenate([unbound[c][pick[which == k] - offsets[k]] for k, c in enumerate(labels.chroms)])
    centres = centres * labels.stride + labels.bin_size // 2
    candidates = codes.fetch_many(names, centres - window // 2, window)
    gc = gc_fraction(candidates)
    ok = np.flatnonzero(~np.isnan(gc))
    chosen = gc_matched(pd.DataFrame({"row": ok, "gc": gc[ok]}), np.nan_to_num(gc_fraction(bound)), n_background, seed)
    log.info("de novo seed sequences: %d summit windows of %d bp, %d GC-matched background windows", len(bound),
             window, n_background)  # fmt: skip
    return bound, candidates[chosen["row"].to_numpy()]


def write_seed_motifs(words: Sequence[SeedWord], meme: str | Path, table: str | Path) -> None:
    """The seeds as a MEME file (what ``motif_filters`` reads) and a TSV (name, word, gap, counts, z, sites,
    consensus), each written atomically; an empty list writes a MEME file without motifs and an empty table."""
    from cisflow.io import atomic_open
    from cisflow.pwm import write_meme

    rows = [{"name": w.name, "word": w.word, "gap": w.gap, "n_bound": w.n_bound, "n_background": w.n_background,
             "fraction_bound": round(w.fraction_bound, 4), "fraction_background": round(w.fraction_background, 4),
             "z": round(w.z, 2), "n_sites": w.n_sites, "consensus": decode(w.pwm.argmax(axis=0).astype(np.uint8))}
            for w in words]  # fmt: skip
    write_meme(meme, {w.name: w.pwm for w in words})
    columns = [*list(SeedWord.__dataclass_fields__)[:-1], "consensus"]
    with atomic_open(table) as handle:
        pd.DataFrame(rows, columns=columns).to_csv(handle, sep="\t", index=False)


def find_seed_motifs(
    peaks: Mapping[str, str | Path],
    labels_npz: str | Path,
    genome: str | Path,
    splits_json: str | Path,
    meme: str | Path,
    table: str | Path,
    seed: int = 1,
    n_motifs: int = DenovoParams.n_motifs,
    window: int = DenovoParams.window,
    max_peaks: int = DenovoParams.max_peaks,
    background_ratio: float = DenovoParams.background_ratio,
    half: int = DenovoParams.half,
    max_gap: int = DenovoParams.max_gap,
    flank: int = DenovoParams.flank,
    min_sites: int = DenovoParams.min_sites,
    min_z: float | None = DenovoParams.min_z,
    alpha: float = DenovoParams.alpha,
) -> list[SeedWord]:
    """The ``denovo_seeds`` stage: :func:`seed_sequences` of the training split, :func:`discover_seed_motifs`,
    written by :func:`write_seed_motifs` to ``meme`` and ``table``; logs its parameters (what the CLI and the
    rule pass are the same, :mod:`cisflow.params`)."""
    opts = {"n_motifs": n_motifs, "half": half, "max_gap": max_gap, "flank": flank, "min_sites": min_sites,
            "min_z": min_z, "alpha": alpha}  # fmt: skip
    log_params("denovo_seeds", {**opts, "window": window, "max_peaks": max_peaks,
                                "background_ratio": background_ratio, "seed": seed})  # fmt: skip
    bound, background = seed_sequences(peaks, labels_npz, genome, splits_json, window=window,
                                       background_ratio=background_ratio, seed=seed, max_peaks=max_peaks)  # fmt: skip
    words = discover_seed_motifs(bound, background, **opts)
    write_seed_motifs(words, meme, table)
    log.info("%d seed motifs from %d summit windows against %d background windows", len(words), len(bound),
             len(background))  # fmt: skip
    return words
