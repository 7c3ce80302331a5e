"""Empirical p-values of variant effects against a null of variants that should do nothing in particular.

Two nulls, each drawn from a seeded sample of the variants being scored (so it has their mix of
substitutions and indels):

- ``shuffled`` (variant-scorer's): each sampled variant's own window, dinucleotide-shuffled, with its
  REF and ALT put back at the centre: the same change in a context without its motifs;
- ``random``: the same change at a random position of the same chromosome: a substitution where the
  genome has the same REF base, an indel at a random position taking the genome's bases as REF and
  keeping its anchor convention.

:func:`empirical_pvalues` gives ``(1 + #null at least as extreme) / (1 + n_null)`` per task, two-sided
(on ``|effect|``) for signed effects and one-sided for effects that are never negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from cisflow.errors import CisflowError
from cisflow.genome import Genome, decode
from cisflow.simulate import dinucleotide_shuffle
from cisflow.variants.alleles import Allele, trim
from cisflow.variants.windows import allele_windows, fetch_segments, splice

NULLS = ("shuffled", "random")
_MAX_TRIES = 1000


def reservoir_sample(items: Iterable[Allele], k: int, seed: int) -> list[Allele]:
    """A uniform sample of ``k`` items of a stream (all of them if fewer), in stream order (Algorithm R)."""
    rng = np.random.default_rng(seed)
    sample: list[tuple[int, Allele]] = []
    for i, item in enumerate(items):
        if i < k:
            sample.append((i, item))
        else:
            j = int(rng.integers(0, i + 1))
            if j < k:
                sample[j] = (i, item)
    return [item for _, item in sorted(sample, key=lambda p: p[0])]


def shuffled_windows(
    genome: Genome, alleles: Sequence[Allele], length: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[Allele]]:
    """Reference and alternate windows ``(n, length)`` of each allele in its dinucleotide-shuffled context."""
    segments = fetch_segments(genome, alleles, length)
    ref, alt = np.empty((len(alleles), length), np.uint8), np.empty((len(alleles), length), np.uint8)
    for i, (seg, a) in enumerate(zip(segments, alleles, strict=True)):
        shuffled = dinucleotide_shuffle(seg, np.random.default_rng([seed, i]))
        core = trim(a)[0]
        ref[i], alt[i] = splice(shuffled, core.ref, core.alt, length)
    return ref, alt, list(alleles)


def _random_site(genome: Genome, a: Allele, rng: np.random.Generator) -> Allele:
    """``a``'s change at a random position of its chromosome (see the module docstring)."""
    size = genome.sizes[a.chrom]
    span = max(len(a.ref), 1)
    for _ in range(_MAX_TRIES):
        pos = int(rng.integers(0, max(size - span, 1)))
        bases = decode(genome.fetch(a.chrom, pos, pos + len(a.ref)))
        if "N" in bases:
            continue
        if len(a.ref) == len(a.alt) == 1 and bases != a.ref:
            continue
        alt = a.alt
        if len(a.ref) != len(a.alt) and a.ref and a.alt and a.alt[0] == a.ref[0]:
            alt = bases[0] + a.alt[1:]
        if alt != bases:
            return a._replace(pos=pos + 1, ref=bases, alt=alt, id=".")
    raise CisflowError(f"no position on {a.chrom} matches {a.key} for the random null ({_MAX_TRIES} tries)")


def random_windows(
    genome: Genome, alleles: Sequence[Allele], length: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[Allele]]:
    """Reference and alternate windows ``(n, length)`` of each allele's change at a matched random position."""
    rng = np.random.default_rng(seed)
    moved = [_random_site(genome, a, rng) for a in alleles]
    ref, alt = allele_windows(fetch_segments(genome, moved, length), moved, length)
    return ref, alt, moved


def null_windows(
    kind: str, genome: Genome, alleles: Sequence[Allele], length: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[Allele]]:
    """Windows of the ``kind`` null (``shuffled`` or ``random``) for sampled ``alleles``."""
    if kind not in NULLS:
        raise CisflowError(f"unknown null {kind!r}; valid nulls: {', '.join(NULLS)}")
    if not alleles:
        raise CisflowError("no scorable variants to draw the null from")
    make = shuffled_windows if kind == "shuffled" else random_windows
    return make(genome, alleles, length, seed)


def empirical_pvalues(values: np.ndarray, null: np.ndarray, one_sided: bool) -> np.ndarray:
    """p-values ``(n, T)`` of ``values`` ``(n, T)`` against ``null`` ``(m, T)``, per task (NaN stays NaN).

    ``(1 + #{null ≥ x}) / (1 + m)`` with ``m`` the finite null values of the task; two-sided
    (``|null| ≥ |x|``) unless ``one_sided``.
    """
    values, null = np.asarray(values, np.float64), np.asarray(null, np.float64)
    out = np.full(values.shape, np.nan)
    for t in range(values.shape[1]):
        ref = null[:, t][np.isfinite(null[:, t])]
        if not ref.size:
            continue
        x = values[:, t] if one_sided else np.abs(values[:, t])
        ref = np.sort(ref if one_sided else np.abs(ref))
        at_least = ref.size - np.searchsorted(ref, x, side="left")
        out[:, t] = np.where(np.isfinite(x), (1 + at_least) / (1 + ref.size), np.nan)
    return out
