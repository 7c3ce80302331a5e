"""Patterns that are one signal, merged before the hit fit.

TF-MoDISco may split one signal into several patterns (sub-clusters of its seqlets). In the joint hit
fit (:mod:`cisflow.motifs.fit`) patterns compete for bases, so at each locus of such a signal one of its
fragments takes the locus and the others' seqlets there count as missed. Whether two patterns can be told
apart is measured on their own seqlets:

*Seqlet confusion* of patterns ``A`` and ``B``: the share of their pooled seqlets whose scores the other
pattern's trimmed CWM fits at least as well as their own (cosine over the seqlet's trimmed core and the CWM's
window together, best window on either strand overlapping the core by at least half;
:func:`cisflow.motifs.checks.seqlet_cosines`). Two genuinely
different motifs give a confusion near 0; two halves of one motif near 0.5.

*Null*: the same confusion with every other pattern's trimmed CWM replaced by a copy whose columns are
permuted (the same bases and weights, no arrangement; :data:`N_PERMUTATIONS` copies, seeded): the confusion
that base composition and noise alone produce. Two patterns are merged when their confusion reaches the
:data:`NULL_QUANTILE` (0.99) of that null, and at least :data:`MIN_CONFUSION` (two motifs of clean, distinct
seqlets have a null of 0); a number instead of ``"auto"`` sets the threshold itself. Merged groups are the
connected components of the merged pairs.

*Merged motif*: the union of its members' seqlets (mean actual-base scores, as TF-MoDISco's CWMs) in the
frame of the member with the most seqlets (the representative): every member's seqlets are first placed by
the best alignment of its trimmed CWM on the representative's (offset and strand,
:func:`cisflow.motifs.summary.cwm_alignment`), then moved (at most :data:`MAX_SHIFT` bp, either strand) to
where the merged CWM fits them best, :data:`ROUNDS` times, as TF-MoDISco aligns a pattern's seqlets on its
CWM; it is trimmed as TF-MoDISco's patterns. The fit then uses every member in that frame (its CWM
recomputed from its own placed seqlets, the merged trim): the member that fits a locus best takes it, every
hit sits in the merged frame, and a hit of any member recalls a seqlet of any member at the seqlet's
placed start and strand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.motifs.checks import align_to, best_placements, seqlet_cosines
from cisflow.motifs.modisco import Pattern, trim_bounds
from cisflow.motifs.summary import connected_components

log = logging.getLogger(__name__)

#: Least seqlet confusion of a merged pair whatever the null (one seqlet in ten fitted better by the other).
MIN_CONFUSION = 0.1
#: Quantile of the column-permuted null confusion that a merged pair reaches (``merge: auto``).
NULL_QUANTILE = 0.99
#: Column-permuted copies of every CWM in the null.
N_PERMUTATIONS = 20
#: Cosines this close count as a tie: a seqlet that another pattern fits as well as its own is confused.
TIE = 1e-6
#: Rounds of seqlet realignment on the merged CWM, and how far (bp) a seqlet may move from its place.
ROUNDS, MAX_SHIFT = 3, 5
#: Prefix of a merged motif's name (``merged_<representative>``).
MERGED_PREFIX = "merged_"


@dataclass(frozen=True)
class Merge:
    """The outcome of :func:`merge_patterns`.

    Attributes
    ----------
    groups
        ``{pattern: fitted motif}``: a merged pattern's motif is ``merged_<representative>``, any other
        pattern's its own name.
    confusion
        ``(P, P)`` seqlet confusion of every pair of patterns (0 on the diagonal), rows in pattern order.
    threshold
        The confusion from which two patterns were merged (inf: merging off).
    null
        The null confusions the threshold came from (empty with a fixed threshold).
    units
        What a seqlet is recalled by: the merged motifs (:func:`merged_pattern`) and the unmerged patterns, in
        the order of their first pattern.
    motifs
        The patterns to fit: the members of each merged motif in its frame (:func:`frame_members`) and the
        unmerged patterns, in the same order.
    """

    groups: dict[str, str]
    confusion: np.ndarray
    threshold: float
    null: np.ndarray
    units: list[Pattern]
    motifs: list[Pattern]

    def table(self, names: Sequence[str]) -> pd.DataFrame:
        """Per pattern: ``merged_into`` (its fitted motif) and ``merge_confusion`` (its highest confusion with
        another member of its motif; NaN when unmerged), ``merge_threshold``."""
        idx = {n: i for i, n in enumerate(names)}
        rows = []
        for n in names:
            mates = [idx[m] for m in names if m != n and self.groups[m] == self.groups[n]]
            best = float(self.confusion[idx[n], mates].max()) if mates else np.nan
            rows.append([n, self.groups[n], best, self.threshold])
        return pd.DataFrame(rows, columns=["pattern", "merged_into", "merge_confusion", "merge_threshold"])


def seqlet_confusion(best: np.ndarray, owner: np.ndarray, n_patterns: int) -> np.ndarray:
    """``(P, P)`` confusion from seqlet cosines.

    Parameters
    ----------
    best
        ``(S, P)`` best cosine of every seqlet with every pattern's trimmed CWM.
    owner
        ``(S,)`` index of each seqlet's own pattern.
    """
    own = best[np.arange(len(owner)), owner]
    claimed = np.zeros((n_patterns, n_patterns))
    for a in range(n_patterns):
        mine = (owner == a) & np.isfinite(own)  # a seqlet no window of its own CWM fits is nobody's evidence
        claimed[a] = (best[mine] >= own[mine, None] - TIE).sum(axis=0)
    np.fill_diagonal(claimed, 0)
    n = np.bincount(owner, minlength=n_patterns).astype(np.float64)
    pooled = n[:, None] + n[None, :]
    return np.divide(claimed + claimed.T, pooled, out=np.zeros_like(pooled), where=pooled > 0)


def null_confusion(
    scores: np.ndarray, x: np.ndarray, patterns: Sequence[Pattern], own: np.ndarray, owner: np.ndarray,
    n_permutations: int, seed: int,
) -> np.ndarray:  # fmt: skip
    """Confusions of every pair when the other pattern's CWM has its columns permuted, ``(n_permutations × pairs,)``.

    ``own``: ``(S,)`` cosine of each seqlet with its own pattern's CWM; ``owner`` as :func:`seqlet_confusion`.
    """
    rng = np.random.default_rng(seed)
    n_p = len(patterns)
    upper = np.triu_indices(n_p, 1)
    n = np.bincount(owner, minlength=n_p).astype(np.float64)
    out = []
    for _ in range(n_permutations):
        shuffled = [p.trimmed_cwm[:, rng.permutation(p.trimmed_cwm.shape[1])] for p in patterns]
        best = seqlet_cosines(scores, x, patterns, shuffled)
        mine = [(owner == a) & np.isfinite(own) for a in range(n_p)]
        claimed = np.stack([(best[m] >= own[m, None] - TIE).sum(axis=0) for m in mine])
        np.fill_diagonal(claimed, 0)
        pair = (claimed + claimed.T).astype(np.float64) / np.maximum(n[:, None] + n[None, :], 1)
        out.append(pair[upper])
    return np.concatenate(out) if out else np.zeros(0)


def _framed_seqlets(members: Sequence[Pattern], rep: Pattern) -> dict[str, list]:
    """Every member's seqlets in the representative's untrimmed frame (``pattern``: the member's name)."""
    out: dict[str, list] = {"example_idx": [], "start": [], "end": [], "is_revcomp": [], "pattern": []}
    width = rep.cwm.shape[1]
    for p in members:
        s = p.seqlets
        start = np.asarray(s.get("start", []), dtype=np.int64)
        plus = ~np.asarray(s.get("is_revcomp", []), dtype=bool)
        core, rep_plus = align_to(p, rep, start, plus)
        untrimmed = core - np.where(rep_plus, rep.trim[0], width - rep.trim[1])
        out["example_idx"] += [int(i) for i in s.get("example_idx", [])]
        out["start"] += untrimmed.tolist()
        out["end"] += (untrimmed + width).tolist()
        out["is_revcomp"] += (~rep_plus).tolist()
        out["pattern"] += [p.name] * len(start)
    return out


def _mean_windows(arrays: Sequence[np.ndarray], idx: np.ndarray, start: np.ndarray, rc: np.ndarray, width: int
                  ) -> list[np.ndarray]:  # fmt: skip
    """Mean ``(4, width)`` of each array's windows at untrimmed ``start`` (reverse-complemented where ``rc``),
    over the windows inside their region (empty list when none is)."""
    ok = (start >= 0) & (start + width <= arrays[0].shape[2])
    if not ok.any():
        return []
    cols = start[ok, None] + np.arange(width)
    out = []
    for arr in arrays:
        win = np.asarray(arr[idx[ok, None], :, cols], dtype=np.float64).transpose(0, 2, 1)  # (n, 4, W)
        win[rc[ok]] = win[rc[ok]][:, ::-1, ::-1]
        out.append(win.mean(axis=0))
    return out


def merged_pattern(members: Sequence[Pattern], scores: np.ndarray, x: np.ndarray, hypothetical: np.ndarray,
                   max_shift: int = MAX_SHIFT, rounds: int = ROUNDS) -> Pattern:  # fmt: skip
    """The merged motif of ``members`` (see the module docstring): CWM, PWM and hypothetical CWM ``(4, W)`` of
    their seqlets in the frame of the member with most seqlets (``W`` its width), trimmed as TF-MoDISco's.

    Every seqlet is first placed by its pattern's CWM alignment on the representative's, then ``rounds``
    times moved (at most ``max_shift`` bp from that place, either strand) to where the merged CWM fits its
    scores best, and the CWM recomputed, as TF-MoDISco aligns a pattern's seqlets on its CWM.
    """
    rep = max(members, key=lambda p: (p.n_seqlets, -members.index(p)))
    seqlets = _framed_seqlets(members, rep)
    width = rep.cwm.shape[1]
    idx = np.asarray(seqlets["example_idx"], dtype=np.int64)
    placed = np.asarray(seqlets["start"], dtype=np.int64)
    start, rc = placed, np.asarray(seqlets["is_revcomp"], dtype=bool)
    arrays = (np.asarray(scores) * np.asarray(x), np.asarray(x), np.asarray(hypothetical))
    cwm, pwm, hcwm = _mean_windows(arrays, idx, start, rc, width) or (rep.cwm, rep.pwm, rep.hcwm)
    for _ in range(rounds):
        moved, flipped = best_placements(arrays[0], cwm, trim_bounds(cwm), idx, placed, max_shift)
        if np.array_equal(moved, start) and np.array_equal(flipped, rc):
            break
        start, rc = moved, flipped
        cwm, pwm, hcwm = _mean_windows(arrays, idx, start, rc, width) or (cwm, pwm, hcwm)
    seqlets |= {"start": start.tolist(), "end": (start + width).tolist(), "is_revcomp": rc.tolist()}
    return Pattern(f"{MERGED_PREFIX}{rep.name}", cwm, pwm, hcwm, trim_bounds(cwm), seqlets)


def merge_patterns(
    scores: np.ndarray,
    x: np.ndarray,
    hypothetical: np.ndarray,
    patterns: Sequence[Pattern],
    threshold: float | str | None = "auto",
    seed: int = 0,
) -> Merge:
    """Merge the patterns that are one signal (see the module docstring).

    Parameters
    ----------
    scores, x, hypothetical
        Actual-base and hypothetical contributions and one-hot sequences ``(N, 4, L)`` of the regions modisco saw.
    patterns
        The patterns with their seqlets.
    threshold
        ``"auto"``: the :data:`NULL_QUANTILE` of the null confusion, at least :data:`MIN_CONFUSION`; a number in
        (0, 1]: that confusion; None or False: no merging.
    seed
        Seed of the null's column permutations.
    """
    names = [p.name for p in patterns]
    n_p = len(patterns)
    off = threshold is None or threshold is False
    if not off and threshold != "auto" and not (isinstance(threshold, int | float) and 0 < threshold <= 1):
        raise CisflowError(f"hit option merge = {threshold} must be auto, a seqlet confusion in (0, 1] or false")
    if n_p < 2 or off:
        return Merge({n: n for n in names}, np.zeros((n_p, n_p)), np.inf, np.zeros(0), list(patterns), list(patterns))
    owner = np.concatenate([np.full(p.n_seqlets, i) for i, p in enumerate(patterns)]).astype(np.int64)
    best = seqlet_cosines(scores, x, patterns)
    confusion = seqlet_confusion(best, owner, n_p)
    null = np.zeros(0)
    if threshold == "auto":
        own = best[np.arange(len(owner)), owner]
        null = null_confusion(scores, x, patterns, own, owner, N_PERMUTATIONS, seed)
        threshold = max(float(np.quantile(null, NULL_QUANTILE)), MIN_CONFUSION)
    groups, units, motifs = {}, [], []
    pairs = zip(*np.nonzero(np.triu(confusion >= float(threshold), 1)), strict=True)
    for comp in connected_components(len(confusion), pairs):
        members = [patterns[i] for i in comp]
        if len(members) == 1:
            groups[members[0].name] = members[0].name
            units.append(members[0])
            motifs.append(members[0])
            continue
        merged = merged_pattern(members, scores, x, hypothetical)
        units.append(merged)
        motifs += frame_members(merged, scores, x, hypothetical)
        groups |= {p.name: merged.name for p in members}
        log.info("%s: %s merged (seqlet confusion ≥ %.3f)", merged.name, ", ".join(p.name for p in members),
                 threshold)  # fmt: skip
    return Merge(groups, confusion, float(threshold), null, units, motifs)


def frame_members(merged: Pattern, scores: np.ndarray, x: np.ndarray, hypothetical: np.ndarray) -> list[Pattern]:
    """The members of a merged motif in its frame: each member's CWM, PWM and hypothetical CWM recomputed from its
    own seqlets as placed in the merged motif (same width and trim), named as the member, with those seqlets."""
    own = np.asarray(merged.seqlets["pattern"], dtype=object)
    idx = np.asarray(merged.seqlets["example_idx"], dtype=np.int64)
    start = np.asarray(merged.seqlets["start"], dtype=np.int64)
    rc = np.asarray(merged.seqlets["is_revcomp"], dtype=bool)
    arrays = (np.asarray(scores) * np.asarray(x), np.asarray(x), np.asarray(hypothetical))
    out = []
    for name in dict.fromkeys(own.tolist()):
        sel = own == name
        # a member none of whose placed seqlets lies inside its region is fitted as the merged CWM
        own_mats = _mean_windows(arrays, idx[sel], start[sel], rc[sel], merged.cwm.shape[1])
        cwm, pwm, hcwm = own_mats or (merged.cwm, merged.pwm, merged.hcwm)
        seqlets = {key: np.asarray(values, dtype=object)[sel].tolist() for key, values in merged.seqlets.items()}
        out.append(Pattern(str(name), cwm, pwm, hcwm, merged.trim, seqlets))
    return out


def member_masks(motif: Pattern, groups: Mapping[str, str]) -> dict[str, np.ndarray]:
    """``{pattern: bool (n_seqlets of motif,)}``: which of a fitted motif's seqlets are each member's."""
    own = np.asarray(motif.seqlets.get("pattern", [motif.name] * motif.n_seqlets), dtype=object)
    return {p: own == p for p, m in groups.items() if m == motif.name}
