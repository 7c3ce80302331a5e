"""One row per pattern: its support in distinct loci, its best JASPAR match, and the patterns that are one
motif split in two.

*Loci*: modisco-lite counts seqlets, and one motif instance can be several seqlets when the windows
explained overlap (two nearby peaks, or the bound bins of one peak). A pattern's *loci* are its seqlets
with overlapping genome intervals (by at least half the seqlet width, either strand) counted once.

*Same motif*: modisco-lite may leave one TF's motif as two patterns (e.g. two sub-clusters of its
seqlets). Two patterns are marked as one motif when their trimmed CWMs align with a cosine similarity
of at least ``min_similarity`` (best offset and strand), or their confident rank-1 JASPAR matches
name the same TF; each group is named after its pattern with the most loci.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from cisflow.motifs.modisco import Pattern

SUMMARY_COLUMNS = [
    "pattern", "n_seqlets", "n_loci", "n_regions", "match", "match_id", "qvalue", "same_motif_as", "group_loci",
    "merged_into", "merge_confusion", "merge_threshold",
]  # fmt: skip
#: Cosine similarity of aligned trimmed CWMs from which two patterns count as one motif.
MIN_SIMILARITY = 0.9


def _seqlet_intervals(pattern: Pattern, chrom: np.ndarray | None, start: np.ndarray | None, ids) -> pd.DataFrame:
    """A pattern's seqlets as ``locus start end`` (genome coordinates when known, else region and offset)."""
    s = pattern.seqlets
    idx = np.asarray(s.get("example_idx", []), dtype=np.int64)
    lo, hi = np.asarray(s.get("start", []), dtype=np.int64), np.asarray(s.get("end", []), dtype=np.int64)
    if chrom is not None and start is not None:
        base = np.asarray(start, dtype=np.int64)[idx]
        return pd.DataFrame({"locus": np.asarray(chrom).astype(str)[idx], "start": base + lo, "end": base + hi})
    return pd.DataFrame({"locus": np.asarray(ids).astype(str)[idx], "start": lo, "end": hi})


def count_loci(intervals: pd.DataFrame) -> int:
    """Distinct loci of ``locus start end`` intervals: sorted by start, an interval opens a new locus unless
    it overlaps the previous locus's first interval by at least half its own width."""
    n = 0
    for _, group in intervals.sort_values(["locus", "start"]).groupby("locus", sort=False):
        first_end = None
        for lo, hi in zip(group["start"].to_numpy(), group["end"].to_numpy(), strict=True):
            if first_end is None or first_end - lo < (hi - lo) / 2:
                n, first_end = n + 1, hi
    return n


def cwm_alignment(a: np.ndarray, b: np.ndarray) -> tuple[float, int, bool]:
    """Best alignment of CWM ``b`` ``(4, Wb)`` on CWM ``a`` ``(4, Wa)`` over offsets (zero-padded) and strands.

    Returns
    -------
    similarity, shift, revcomp
        The cosine similarity of the aligned matrices (0 for an all-zero one); column ``j`` of ``b`` (of its
        reverse complement when ``revcomp``) lies on column ``j + shift`` of ``a``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    if norm == 0:
        return 0.0, 0, False
    best = (-np.inf, 0, False)
    for rc, other in ((False, b), (True, b[::-1, ::-1])):
        pad = np.pad(other, ((0, 0), (a.shape[1] - 1, a.shape[1] - 1)))
        for off in range(pad.shape[1] - a.shape[1] + 1):
            dot = float((a * pad[:, off : off + a.shape[1]]).sum())
            if dot > best[0]:
                best = (dot, a.shape[1] - 1 - off, rc)
    return best[0] / norm, best[1], best[2]


def cwm_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best cosine similarity of two CWMs ``(4, Wa)`` and ``(4, Wb)`` over offsets (zero-padded) and strands."""
    return cwm_alignment(a, b)[0]


def connected_components(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components of ``n`` items joined by ``pairs`` of indices: each in index order, the components
    in order of their first member."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=min)


def _groups(patterns: Sequence[Pattern], tf: Mapping[str, str], loci: Mapping[str, int], min_similarity: float):
    """``{pattern: representative}``: connected components of 'same motif' pairs, named by most loci."""
    names = [p.name for p in patterns]
    pairs = []
    for i, p in enumerate(patterns):
        for j in range(i + 1, len(patterns)):
            q = patterns[j]
            same_tf = p.name in tf and tf.get(q.name) == tf[p.name]
            if same_tf or cwm_similarity(p.trimmed_cwm, q.trimmed_cwm) >= min_similarity:
                pairs.append((i, j))
    rep = {}
    for group in connected_components(len(names), pairs):
        best = max((names[i] for i in group), key=lambda n: (loci[n], -names.index(n)))
        rep |= {names[i]: best for i in group}
    return rep


def pattern_summary(
    patterns: Sequence[Pattern],
    jaspar: pd.DataFrame,
    ids: Sequence[str],
    chrom: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_q: float = 0.05,
    min_similarity: float = MIN_SIMILARITY,
    merged: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:data:`SUMMARY_COLUMNS`, one row per pattern (see the module docstring).

    Parameters
    ----------
    patterns
        modisco patterns with their seqlets (``example_idx`` indexes ``ids``).
    jaspar
        Their JASPAR matches (:data:`cisflow.motifs.matching.MATCH_COLUMNS`); ``match`` is the rank-1 TF
        (empty when its q-value exceeds ``max_q``).
    ids, chrom, start
        Region names ``(N,)`` and, for genome windows, their chromosomes and 0-based starts ``(N,)``.
    merged
        The patterns merged before the hit fit (:meth:`cisflow.motifs.merge.Merge.table`): ``merged_into``,
        ``merge_confusion``, ``merge_threshold``; None: every pattern fitted as itself.
    """
    intervals = {p.name: _seqlet_intervals(p, chrom, start, ids) for p in patterns}
    loci = {n: count_loci(iv) for n, iv in intervals.items()}
    best = jaspar[jaspar["rank"] == 1].set_index("pattern") if len(jaspar) else pd.DataFrame()
    confident = {n: str(r.target_name) for n, r in best.iterrows() if r.qvalue <= max_q}
    rep = _groups(patterns, {n: t.upper() for n, t in confident.items()}, loci, min_similarity)
    rows = []
    for p in patterns:
        group = [n for n in rep if rep[n] == rep[p.name]]
        group_loci = count_loci(pd.concat([intervals[n] for n in group], ignore_index=True))
        match = best.loc[p.name] if p.name in best.index else None
        rows.append([
            p.name, p.n_seqlets, loci[p.name], len(set(p.seqlets.get("example_idx", []))),
            confident.get(p.name, ""), "" if match is None else str(match["target_id"]),
            np.nan if match is None else float(match["qvalue"]), rep[p.name], group_loci,
        ])  # fmt: skip
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:-3])
    if merged is None:
        return table.assign(merged_into=table["pattern"], merge_confusion=np.nan, merge_threshold=np.inf)
    return table.merge(merged, on="pattern", how="left", validate="one_to_one")[SUMMARY_COLUMNS]
