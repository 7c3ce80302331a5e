"""Checks of motif hits: recall of modisco's own seqlets, and recall / precision of planted instances.

*Seqlet recall* (Fi-NeMo's check): a seqlet of pattern ``p`` (its untrimmed window, strand and
region, as modisco-lite reports it) is recalled when a hit of ``p`` on the same strand in the same
region has its untrimmed start within ``tolerance`` bp of the seqlet's start (0: the same start).
Fi-NeMo's report defines it the same way: its ``seqlet_recall`` joins hits and seqlets on chromosome,
untrimmed start, strand and pattern (duplicate seqlets dropped), and a hit's untrimmed start on the minus
strand is, as modisco-lite's, the start of the full-width window read as its reverse complement.

*Equivalent placements*: a CWM may match itself at another placement (a CpG-rich CWM two bases further on,
a palindromic one on the other strand): :func:`self_alignment` gives the cosine of the trimmed CWM placed at
a seqlet's placement with the same CWM placed at every other placement overlapping it. With ``equivalent``,
:func:`seqlet_recall` also counts a seqlet recalled by a hit of its pattern at a placement where that cosine
reaches the pattern's λ (the least cosine of a window with the CWM that the caller accepts as an instance):
an instance at the seqlet's placement would pass as an instance at the hit's too, so the CWM alone cannot
tell the two apart. For a CWM that matches itself nowhere at λ this is the exact-start recall.

*Placement*: :func:`seqlet_placement` marks the seqlets whose own pattern's trimmed CWM fits their scores
best (cosine) at the start and strand modisco gave them, among all starts within :data:`PLACEMENT_SHIFT` bp on
both strands. It needs no hits and is the reference to read the exact-start recall against: the share of
seqlets whose placement the pattern's own CWM, alone, agrees with. A recall well below it is lost in the fit
(patterns competing for the loci, the frame of a merged motif); a low placed fraction means the pattern does
not single out one placement of its seqlets, and no CWM fit can be expected to find their exact starts.

*Distinct seqlets*: patterns compete for bases in the fit, so a seqlet whose scores another pattern's
CWM matches better than its own pattern's is claimed by that pattern, not missed by the caller.
:func:`distinct_seqlets` marks the seqlets whose own pattern's trimmed CWM is their best match (cosine over
the seqlet's trimmed core and the CWM's window together, either strand, windows that overlap the core by at
least half: :func:`seqlet_cosines`); the recall of
the distinct seqlets is the check of the caller itself, the recall of all seqlets also measures how
distinct the patterns are.

*Motifs* (patterns that are one motif, :func:`cisflow.motifs.summary.pattern_summary`): TF-MoDISco may split
one motif into several patterns whose CWMs the joint fit cannot tell apart, so each locus goes to one of them
and the others' seqlets there count as missed. :func:`motif_recall` puts every hit and seqlet of a group's
members in the frame of the group's representative (the best alignment of the trimmed CWMs, either strand)
and recalls a seqlet of any member by a hit of any member at the same aligned start and strand.

*Planted instances* (simulations): a planted instance of motif ``m`` is recalled when a hit of a
pattern matched to ``m`` overlaps it by at least ``min_overlap`` × the shorter of the two widths; a
hit of such a pattern is a true positive when it so overlaps any planted instance of ``m``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention

from cisflow.errors import CisflowError
from cisflow.motifs.fit import motif_set
from cisflow.motifs.modisco import Pattern
from cisflow.motifs.summary import cwm_alignment

SEQLET_COLUMNS = ["pattern", "n_seqlets", "n_recalled", "recall", "n_hits"]
MOTIF_FRAME = ["region", "motif", "motif_strand", "motif_start"]
#: How far (bp, either strand) :func:`seqlet_placement` looks for a better placement of a seqlet.
PLACEMENT_SHIFT = 5
PLANTED_COLUMNS = ["motif", "patterns", "n_planted", "n_recalled", "recall", "n_hits", "n_true", "precision"]


def _seqlets(pattern: Pattern, ids: Sequence[str]) -> pd.DataFrame:
    """A pattern's seqlets as rows ``region start strand``."""
    s = pattern.seqlets
    idx = np.asarray(s.get("example_idx", []), dtype=np.int64)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(ids)):
        raise CisflowError(f"pattern {pattern.name}: seqlet region index {idx.max()} outside the {len(ids)} regions")
    strand = np.where(np.asarray(s.get("is_revcomp", []), dtype=bool), "-", "+")
    return pd.DataFrame(
        {"region": np.asarray(ids)[idx], "start": np.asarray(s.get("start", []), int), "strand": strand}
    )


def _seqlet_cores(patterns: Sequence[Pattern], offsets: np.ndarray, widths: np.ndarray) -> pd.DataFrame:
    """Every seqlet as ``pattern`` (index), ``n`` (region index), ``lo hi`` (its trimmed core in the region)."""
    parts = []
    for i, p in enumerate(patterns):
        s = p.seqlets
        k = 2 * i + np.asarray(s.get("is_revcomp", []), dtype=bool).astype(np.int64)
        lo = np.asarray(s.get("start", []), dtype=np.int64) + offsets[k]
        n = np.asarray(s.get("example_idx", []), dtype=np.int64)
        parts.append(pd.DataFrame({"pattern": i, "n": n, "lo": lo, "hi": lo + widths[k]}))
    return pd.concat(parts, ignore_index=True)


def seqlet_cosines(
    scores: np.ndarray, x: np.ndarray, patterns: Sequence[Pattern], cwms: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """Best cosine of every seqlet's scores with each of ``cwms`` (either strand, any window overlapping the
    seqlet's trimmed core by at least half of the shorter of the two).

    The cosine is taken over the core and the window together (the CWM zero outside its width): the core's
    scores that a shorter CWM leaves out count against it, so a CWM as short as one part of a seqlet does not
    fit the seqlet as well as its own pattern's CWM just by leaving the rest out. For the seqlet's own CWM at
    its own place it is the plain cosine over the core.

    Parameters
    ----------
    scores, x
        Actual-base contributions and one-hot sequences ``(N, 4, L)`` of the regions modisco saw.
    patterns
        The patterns with their seqlets (``example_idx start is_revcomp``, untrimmed starts).
    cwms
        ``(4, W_m)`` matrices to compare with (None: the patterns' own trimmed CWMs).

    Returns
    -------
    numpy.ndarray
        ``(S, M)``: seqlets in pattern order, then in the order of each pattern's seqlets (-inf where no
        window fits).
    """
    own = motif_set({p.name: p.cwm for p in patterns}, {p.name: p.trim for p in patterns})
    cores = _seqlet_cores(patterns, own.offsets, own.widths)
    cands = own if cwms is None else motif_set({str(i): m for i, m in enumerate(cwms)})
    if not len(cores):
        return np.zeros((0, len(cands.names)))
    if cores["n"].min() < 0 or cores["n"].max() >= len(scores):
        raise CisflowError(f"seqlet region index {cores['n'].max()} outside the {len(scores)} regions")
    w, length = cands.width, scores.shape[2]
    span = int((cores["hi"] - cores["lo"]).max()) + 2 * w
    track = np.pad(np.asarray(scores, dtype=np.float32) * np.asarray(x, dtype=np.float32), ((0, 0), (0, 0), (w, w)))
    cols = np.clip(cores["lo"].to_numpy()[:, None] + np.arange(span), 0, track.shape[2] - 1)  # padded coords
    windows = torch.as_tensor(track[cores["n"].to_numpy()[:, None], :, cols].transpose(0, 2, 1))  # (S, 4, span)
    # (S, K, span - w + 1); column j = region position lo - w + j
    dot = F.conv1d(windows, torch.as_tensor(cands.cwms)).numpy()
    start = cores["lo"].to_numpy()[:, None, None] - w + np.arange(dot.shape[2])[None, None, :]
    lo, hi, wk = (
        cores["lo"].to_numpy()[:, None, None],
        cores["hi"].to_numpy()[:, None, None],
        cands.widths[None, :, None],
    )
    # the squared scores over the union of the core (span columns w .. w + hi - lo) and each window
    energy = np.concatenate([np.zeros((len(cores), 1)), windows.square().sum(dim=1).double().cumsum(dim=1).numpy()],
                            axis=1)  # fmt: skip
    first = np.minimum(start, lo) - (lo - w)
    last = np.maximum(start + wk, hi) - (lo - w)
    rows = np.arange(len(cores))[:, None, None]
    norm = np.sqrt(np.maximum(energy[rows, last] - energy[rows, first], 0.0))
    cosine = dot / np.maximum(norm, 1e-12)
    overlap = np.minimum(start + wk, hi) - np.maximum(start, lo)
    ok = (overlap >= 0.5 * np.minimum(wk, hi - lo)) & (start >= 0) & (start + wk <= length) & (norm > 0)
    return np.where(ok, cosine, -np.inf).max(axis=2).reshape(len(cores), -1, 2).max(axis=2)


def distinct_seqlets(scores: np.ndarray, x: np.ndarray, patterns: Sequence[Pattern]) -> dict[str, np.ndarray]:
    """Which seqlets match their own pattern's CWM best among all patterns (see the module docstring).

    Parameters
    ----------
    scores, x
        Actual-base contributions and one-hot sequences ``(N, 4, L)`` of the regions modisco saw.
    patterns
        The patterns with their seqlets (``example_idx start is_revcomp``, untrimmed starts).

    Returns
    -------
    dict
        ``{pattern: bool (n_seqlets,)}`` in the order of the pattern's seqlets: True where no other
        pattern's trimmed CWM (either strand) reaches a higher cosine with the scores in a window
        overlapping the seqlet's trimmed core by at least half of the shorter of the two.
    """
    best = seqlet_cosines(scores, x, patterns)
    owner = np.concatenate([np.full(p.n_seqlets, i) for i, p in enumerate(patterns)]).astype(np.int64)
    if not len(owner):
        return {p.name: np.zeros(0, dtype=bool) for p in patterns}
    own = best[np.arange(len(owner)), owner]
    flags = own >= best.max(axis=1) - 1e-6
    return {p.name: flags[owner == i] for i, p in enumerate(patterns)}


def placement_cosines(track: np.ndarray, cwm: np.ndarray, trim: tuple[int, int], idx: np.ndarray, start: np.ndarray,
                      max_shift: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Cosine of the trimmed ``cwm`` with each seqlet's scores at every untrimmed start within ``max_shift`` bp of
    its ``start``, on both strands.

    Parameters
    ----------
    track
        Actual-base contributions ``(N, 4, L)``.
    cwm, trim
        An untrimmed CWM ``(4, W)`` and its trim bounds.
    idx, start
        ``(S,)`` region index and untrimmed start of each seqlet.
    max_shift
        Largest move in bp.

    Returns
    -------
    tuple of numpy.ndarray
        ``cosine`` ``(S, 2, 2 * max_shift + 1)`` (strand ``+ -``, -inf where the window leaves the region) and
        ``untrimmed`` ``(2 * max_shift + 1,)``: the start each column stands for, relative to ``start``.
    """
    motifs = motif_set({"m": cwm}, {"m": trim})
    width, wt, length = cwm.shape[1], motifs.width, track.shape[2]
    pad = max_shift + width + wt
    padded = np.pad(np.asarray(track, dtype=np.float32), ((0, 0), (0, 0), (pad, pad)))
    first = start - max_shift - width  # region position of each segment's first column
    cols = first[:, None] + pad + np.arange(2 * max_shift + 3 * width)
    windows = torch.as_tensor(np.ascontiguousarray(padded[idx[:, None], :, cols].transpose(0, 2, 1)))
    dot = F.conv1d(windows, torch.as_tensor(motifs.cwms))  # (S, 2, positions)
    masks = torch.as_tensor(motifs.masks)[:, None, :].expand(-1, 4, -1).contiguous()
    cosine = (dot / F.conv1d(windows.square(), masks).sqrt().clamp(min=1e-12)).numpy()
    shifts = np.arange(-max_shift, max_shift + 1)
    # column of trimmed position p = untrimmed start + offset: p - first
    cols = (start[:, None, None] + shifts[None, None, :] + motifs.offsets[None, :, None]) - first[:, None, None]
    pos = start[:, None, None] + shifts[None, None, :] + motifs.offsets[None, :, None]  # trimmed start in the region
    out = np.take_along_axis(cosine, cols, axis=2)
    ok = (pos >= 0) & (pos + motifs.widths[None, :, None] <= length)
    return np.where(ok, out, -np.inf), shifts


def best_placements(track: np.ndarray, cwm: np.ndarray, trim: tuple[int, int], idx: np.ndarray, start: np.ndarray,
                    max_shift: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each seqlet's untrimmed start and strand where the trimmed ``cwm`` fits its scores best (cosine, either
    strand, start within ``max_shift`` bp of ``start``; :func:`placement_cosines`): ``(S,)`` starts and
    ``(S,)`` bool, True on the minus strand."""
    cosine, shifts = placement_cosines(track, cwm, trim, idx, start, max_shift)
    best = cosine.reshape(len(start), -1).argmax(axis=1)
    k, j = np.unravel_index(best, cosine.shape[1:])
    return start + shifts[j], k == 1


def seqlet_placement(scores: np.ndarray, x: np.ndarray, patterns: Sequence[Pattern], max_shift: int = PLACEMENT_SHIFT
                     ) -> dict[str, np.ndarray]:  # fmt: skip
    """Which seqlets their own pattern's trimmed CWM fits best where modisco placed them (see the module docstring).

    Parameters
    ----------
    scores, x
        Actual-base contributions and one-hot sequences ``(N, 4, L)`` of the regions modisco saw.
    patterns
        The patterns with their seqlets (``example_idx start is_revcomp``, untrimmed starts).
    max_shift
        The other placements compared: every untrimmed start within this many bp, both strands.

    Returns
    -------
    dict
        ``{pattern: bool (n_seqlets,)}``: True where no other placement reaches a higher cosine than the seqlet's
        own start and strand (ties count as placed).
    """
    track = np.asarray(scores, dtype=np.float32) * np.asarray(x, dtype=np.float32)
    out = {}
    for p in patterns:
        s = p.seqlets
        idx = np.asarray(s.get("example_idx", []), dtype=np.int64)
        start = np.asarray(s.get("start", []), dtype=np.int64)
        if not len(idx):
            out[p.name] = np.zeros(0, dtype=bool)
            continue
        if idx.min() < 0 or idx.max() >= len(track):
            raise CisflowError(f"pattern {p.name}: seqlet region index {idx.max()} outside the {len(track)} regions")
        cosine, _ = placement_cosines(track, p.cwm, p.trim, idx, start, max_shift)
        strand = np.asarray(s.get("is_revcomp", []), dtype=bool).astype(np.int64)
        own = cosine[np.arange(len(idx)), strand, max_shift]
        out[p.name] = np.isfinite(own) & (own >= cosine.reshape(len(idx), -1).max(axis=1) - 1e-6)
    return out


def flagged_seqlets(patterns: Sequence[Pattern], flags: Mapping[str, np.ndarray], ids: Sequence[str]) -> pd.DataFrame:
    """Per pattern: how many of its seqlets are flagged (e.g. by :func:`seqlet_placement`), a seqlet at the same
    region, start and strand counted once as in :func:`seqlet_recall`: :data:`SEQLET_COLUMNS` (``n_hits`` NaN)."""
    rows = []
    for p in patterns:
        seq = _seqlets(p, ids).assign(flag=np.asarray(flags[p.name], dtype=bool))
        seq = seq.drop_duplicates(["region", "start", "strand"])
        found = int(seq["flag"].sum())
        rows.append([p.name, len(seq), found, found / len(seq) if len(seq) else np.nan, np.nan])
    return pd.DataFrame(rows, columns=SEQLET_COLUMNS)


def wilson_interval(found: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the fractions ``found / n`` (95 % with ``z`` = 1.96); NaN where ``n`` is 0."""
    found, n = np.asarray(found, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = found / n
        centre = (frac + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(frac * (1 - frac) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def self_alignment(cwm: np.ndarray) -> np.ndarray:
    """Cosine of a trimmed CWM ``(4, W)`` with itself placed ``d`` bp further on, on the same strand and as its
    reverse complement.

    Returns
    -------
    numpy.ndarray
        ``(2, 2W - 1)``: ``[0, W - 1 + d]`` the CWM against its copy whose first column lies ``d`` bp
        downstream (zero where they do not overlap), ``[1, W - 1 + d]`` against its reverse complement so
        placed; ``[0, W - 1]`` is 1 (0 for an all-zero CWM).
    """
    cwm = np.asarray(cwm, dtype=np.float64)
    width = cwm.shape[1]
    energy = float((cwm * cwm).sum())
    out = np.zeros((2, 2 * width - 1))
    if energy == 0:
        return out
    for row, other in enumerate((cwm, cwm[::-1, ::-1])):
        padded = np.pad(other, ((0, 0), (width - 1, width - 1)))
        for d in range(-width + 1, width):  # column j of the CWM meets column j - d of the copy
            out[row, width - 1 + d] = float((cwm * padded[:, width - 1 - d : 2 * width - 1 - d]).sum()) / energy
    return out


def _equivalent(pairs: pd.DataFrame, pattern: Pattern, cwm: np.ndarray, least: float) -> np.ndarray:
    """Which (seqlet, hit) ``pairs`` (``start strand`` of the seqlet, ``untrimmed_start strand_hit`` of the hit,
    in ``pattern``'s untrimmed frame) are placements whose trimmed ``cwm`` copies overlap with cosine ≥ ``least``."""
    width, (lo, hi) = pattern.cwm.shape[1], pattern.trim
    cwm = np.asarray(cwm, dtype=np.float64)
    if cwm.shape != (4, hi - lo):
        raise CisflowError(f"pattern {pattern.name}: CWM {cwm.shape} for equivalent placements, not (4, {hi - lo})")
    seq_plus, hit_plus = (pairs["strand"] == "+").to_numpy(), (pairs["strand_hit"] == "+").to_numpy()
    core = pairs["start"].to_numpy() + np.where(seq_plus, lo, width - hi)
    hit_core = pairs["untrimmed_start"].to_numpy() + np.where(hit_plus, lo, width - hi)
    d = np.where(seq_plus, hit_core - core, core - hit_core)  # downstream along the seqlet's strand
    inside = np.abs(d) < hi - lo
    table = self_alignment(cwm)
    cosine = table[(seq_plus != hit_plus).astype(np.int64), np.where(inside, d + hi - lo - 1, 0)]
    return inside & (cosine >= least - 1e-9)


def seqlet_recall(
    hits: pd.DataFrame,
    patterns: Sequence[Pattern],
    ids: Sequence[str],
    tolerance: int = 0,
    only: Mapping[str, np.ndarray] | None = None,
    equivalent: Mapping[str, tuple[np.ndarray, float]] | None = None,
) -> pd.DataFrame:
    """Per pattern: how many of its modisco seqlets a hit of the pattern recalls (see the module docstring).

    Parameters
    ----------
    hits
        Hit table with ``region``, ``pattern``, ``strand`` and ``untrimmed_start`` (within the region).
    patterns
        The modisco patterns with their seqlets (``example_idx`` indexes ``ids``).
    ids
        Region names in the order modisco saw the regions.
    tolerance
        Largest distance in bp between a seqlet's start and the hit's untrimmed start.
    only
        ``{pattern: bool (n_seqlets,)}``: count only these seqlets (e.g. :func:`distinct_seqlets`).
    equivalent
        ``{pattern: (trimmed CWM (4, W_trim), least cosine)}``: a hit also recalls a seqlet at a placement where
        the two placed copies of the CWM overlap with at least this cosine (:func:`self_alignment`; the
        module docstring).

    Returns
    -------
    pandas.DataFrame
        :data:`SEQLET_COLUMNS`, one row per pattern (recall NaN without seqlets).
    """
    if tolerance < 0:
        raise CisflowError(f"seqlet recall tolerance must be ≥ 0 bp, got {tolerance}")
    rows = []
    for p in patterns:
        seq = _seqlets(p, ids)
        seq = (seq[np.asarray(only[p.name], dtype=bool)] if only is not None else seq).drop_duplicates()
        mine = hits.loc[hits["pattern"] == p.name, ["region", "strand", "untrimmed_start"]]
        pairs = seq.reset_index().merge(mine, on="region", suffixes=("", "_hit"))
        shift = (pairs["untrimmed_start"] - pairs["start"]).abs()
        close = (pairs["strand_hit"] == pairs["strand"]) & (shift <= tolerance)
        if equivalent is not None and p.name in equivalent:
            close |= _equivalent(pairs, p, *equivalent[p.name])
        found = pairs.loc[close, "index"].nunique()
        rows.append([p.name, len(seq), found, found / len(seq) if len(seq) else np.nan, len(mine)])
    return pd.DataFrame(rows, columns=SEQLET_COLUMNS)


MISS_COLUMNS = ["region", "start", "strand", "shift", "other_strand", "hit_pattern", "self_cosine"]


def missed_seqlets(hits: pd.DataFrame, pattern: Pattern, ids: Sequence[str], only: np.ndarray | None = None,
                   cwm: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """The seqlets of ``pattern`` that no hit of it recalls at the exact start, each with the nearest hit of the
    pattern whose trimmed window overlaps the seqlet's trimmed core (where the misses lie: one constant shift for
    all of a pattern's misses points at its frame, scattered shifts at the hits' own placements).

    Parameters
    ----------
    hits
        Hit table with ``region``, ``pattern``, ``strand`` and ``untrimmed_start`` (``fitted``, if present, is
        reported as ``hit_pattern``: the member of a merged motif that was fitted).
    pattern, ids
        The pattern (a merged motif: its seqlets in its frame) and the region names in modisco's order.
    only
        ``(n_seqlets,)`` bool: look at these seqlets only (e.g. one member's).
    cwm
        Trimmed CWM ``(4, W_trim)`` whose :func:`self_alignment` at each shift is reported (default the
        pattern's).

    Returns
    -------
    pandas.DataFrame
        :data:`MISS_COLUMNS`, one row per missed seqlet (duplicates once): ``shift`` = the hit's trimmed start
        minus the seqlet's, in bp along the seqlet's strand (NaN: no hit overlaps the core), ``other_strand``,
        ``hit_pattern``, ``self_cosine`` = the CWM placed at both placements (:func:`self_alignment`).
    """
    width, (lo, hi) = pattern.cwm.shape[1], pattern.trim
    if cwm is not None and np.shape(cwm) != (4, hi - lo):
        raise CisflowError(f"pattern {pattern.name}: CWM {np.shape(cwm)} for the shifts, not (4, {hi - lo})")
    seq = _seqlets(pattern, ids)
    seq = (seq[np.asarray(only, dtype=bool)] if only is not None else seq).drop_duplicates(ignore_index=True)
    mine = hits[hits["pattern"] == pattern.name]
    cols = ["region", "strand", "untrimmed_start"]
    mine = mine[cols].assign(fitted=mine["fitted"] if "fitted" in mine else pattern.name)
    pairs = seq.reset_index().merge(mine, on="region", suffixes=("", "_hit"))
    exact = (pairs["strand_hit"] == pairs["strand"]) & (pairs["untrimmed_start"] == pairs["start"])
    missed = seq.drop(index=pairs.loc[exact, "index"].unique())
    pairs = pairs[pairs["index"].isin(missed.index)]
    plus, hit_plus = (pairs["strand"] == "+").to_numpy(), (pairs["strand_hit"] == "+").to_numpy()
    core = pairs["start"].to_numpy() + np.where(plus, lo, width - hi)
    hit_core = pairs["untrimmed_start"].to_numpy() + np.where(hit_plus, lo, width - hi)
    pairs = pairs.assign(shift=np.where(plus, hit_core - core, core - hit_core), other_strand=plus != hit_plus)
    pairs = pairs[pairs["shift"].abs() < hi - lo].sort_values("shift", key=np.abs, kind="stable")
    near = pairs.drop_duplicates("index").set_index("index")
    table = self_alignment(pattern.trimmed_cwm if cwm is None else cwm)
    out = missed.join(near[["shift", "other_strand", "fitted"]]).rename(columns={"fitted": "hit_pattern"})
    found = out["shift"].notna().to_numpy()
    cosine = np.full(len(out), np.nan)
    shift = out["shift"].to_numpy()[found].astype(np.int64)
    cosine[found] = table[out["other_strand"].to_numpy()[found].astype(np.int64), shift + hi - lo - 1]
    return out.assign(self_cosine=cosine).reset_index(drop=True)[MISS_COLUMNS]


def align_to(pattern: Pattern, rep: Pattern, untrimmed_start: np.ndarray, plus: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Instances of ``pattern`` (untrimmed starts and strands, ``(n,)``) in the frame of ``rep``: the start of
    ``rep``'s trimmed CWM aligned on each instance's trimmed core (best alignment of the two trimmed CWMs,
    :func:`cisflow.motifs.summary.cwm_alignment`) and whether it lies on the plus strand."""
    _, shift, rc = cwm_alignment(rep.trimmed_cwm, pattern.trimmed_cwm)
    width, rep_width = pattern.trim[1] - pattern.trim[0], rep.trim[1] - rep.trim[0]
    plus = np.asarray(plus, dtype=bool)
    trim_start = np.where(plus, pattern.trim[0], pattern.cwm.shape[1] - pattern.trim[1])
    core = np.asarray(untrimmed_start, dtype=np.int64) + trim_start
    rep_plus = plus != rc
    return np.where(rep_plus, core - shift, core + width - rep_width + shift), rep_plus


def motif_frame(table: pd.DataFrame, patterns: Sequence[Pattern], groups: Mapping[str, str]) -> pd.DataFrame:
    """Hits or seqlets of patterns in the frame of their motif's representative pattern.

    Parameters
    ----------
    table
        Rows with ``region``, ``pattern``, ``strand`` and ``untrimmed_start`` (in the pattern's own frame).
    patterns
        The patterns (CWMs and trim bounds).
    groups
        ``{pattern: representative}`` (a pattern absent from it is its own motif).

    Returns
    -------
    pandas.DataFrame
        :data:`MOTIF_FRAME`, row for row: the representative (``motif``), and the strand and start of its
        trimmed CWM aligned on the row's trimmed pattern (for the representative itself: the row's strand and
        trimmed start); ``motif`` is empty for a pattern not in ``patterns``.
    """
    by_name = {p.name: p for p in patterns}
    out = pd.DataFrame({"region": table["region"].to_numpy(), "motif": "", "motif_strand": "", "motif_start": 0},
                       index=table.index)  # fmt: skip
    for name, rows in table.groupby("pattern", sort=False):
        if name not in by_name:  # not one of the patterns checked: in no motif
            continue
        p = by_name[name]
        rep = by_name[groups.get(name, name)]
        start, rep_plus = align_to(p, rep, rows["untrimmed_start"].to_numpy(), rows["strand"].to_numpy() == "+")
        out.loc[rows.index, "motif"] = rep.name
        out.loc[rows.index, "motif_strand"] = np.where(rep_plus, "+", "-")
        out.loc[rows.index, "motif_start"] = start
    return out


def motif_recall(
    hits: pd.DataFrame, patterns: Sequence[Pattern], ids: Sequence[str], groups: Mapping[str, str], tolerance: int = 0
) -> pd.DataFrame:
    """Seqlet recall per pattern and per motif when a hit of any pattern of the motif counts (module docstring).

    Parameters
    ----------
    hits
        Hit table with ``region``, ``pattern``, ``strand`` and ``untrimmed_start``.
    patterns, ids
        The patterns with their seqlets, and the region names in the order modisco saw them.
    groups
        ``{pattern: representative}`` of the patterns that are one motif.
    tolerance
        Largest distance in bp between the aligned starts.

    Returns
    -------
    pandas.DataFrame
        :data:`SEQLET_COLUMNS`: one row per pattern (``n_hits``: the hits of its motif), then one per motif of
        two or more patterns, named ``group:<representative>``.
    """
    if tolerance < 0:
        raise CisflowError(f"seqlet recall tolerance must be ≥ 0 bp, got {tolerance}")
    seqlets = pd.concat([_seqlets(p, ids).assign(pattern=p.name) for p in patterns], ignore_index=True)
    seqlets = seqlets.rename(columns={"start": "untrimmed_start"}).drop_duplicates(ignore_index=True)
    cols = ["region", "pattern", "strand", "untrimmed_start"]
    framed = motif_frame(seqlets, patterns, groups).assign(pattern=seqlets["pattern"])
    hit_frame = motif_frame(hits[cols].reset_index(drop=True), patterns, groups)
    pairs = framed.reset_index().merge(hit_frame, on=["region", "motif", "motif_strand"], suffixes=("", "_hit"))
    found = set(pairs.loc[(pairs["motif_start_hit"] - pairs["motif_start"]).abs() <= tolerance, "index"])
    framed["found"] = framed.index.isin(found)
    n_hits = hit_frame["motif"].value_counts()
    rows = []
    for p in patterns:
        mine = framed[framed["pattern"] == p.name]
        motif = groups.get(p.name, p.name)
        rows.append([p.name, len(mine), int(mine["found"].sum()), mine["found"].mean() if len(mine) else np.nan,
                     int(n_hits.get(motif, 0))])  # fmt: skip
    for motif, members in framed.groupby("motif", sort=False):
        if sum(groups.get(p.name, p.name) == motif for p in patterns) > 1:
            rows.append([f"group:{motif}", len(members), int(members["found"].sum()), members["found"].mean(),
                         int(n_hits.get(motif, 0))])  # fmt: skip
    return pd.DataFrame(rows, columns=SEQLET_COLUMNS)


def _overlapping(hits: pd.DataFrame, planted: pd.DataFrame, min_overlap: float) -> pd.DataFrame:
    """Pairs (hit index ``index_h``, planted index ``index_p``) in the same region overlapping enough."""
    pairs = hits.reset_index(names="index_h").merge(
        planted.reset_index(names="index_p"), left_on="region", right_on="seq_id", suffixes=("", "_p")
    )
    inter = np.minimum(pairs["end"], pairs["end_p"]) - np.maximum(pairs["start"], pairs["start_p"])
    shorter = np.minimum(pairs["end"] - pairs["start"], pairs["end_p"] - pairs["start_p"])
    return pairs.loc[inter >= min_overlap * shorter, ["index_h", "index_p"]]


def planted_recall_precision(
    hits: pd.DataFrame,
    embeddings: pd.DataFrame,
    ids: Sequence[str],
    pattern_motifs: Mapping[str, str],
    min_overlap: float = 0.5,
) -> pd.DataFrame:
    """Recall and precision of hits against a simulation's planted instances, per planted motif.

    Parameters
    ----------
    hits
        Hit table with ``region``, ``pattern``, ``start``, ``end`` (within the region, 0-based half-open).
    embeddings
        The simulation's planted instances: ``seq_id motif start end`` (see :mod:`cisflow.simulate`).
    ids
        The regions the hits were called in (instances elsewhere are not counted).
    pattern_motifs
        ``{pattern: planted motif}`` for the patterns matched to a planted motif (e.g. by TOMTOM).
    min_overlap
        Least overlap as a fraction of the shorter of hit and instance.

    Returns
    -------
    pandas.DataFrame
        :data:`PLANTED_COLUMNS`, one row per planted motif (``patterns`` lists its patterns).
    """
    if not 0 < min_overlap <= 1:
        raise CisflowError(f"min_overlap must be in (0, 1], got {min_overlap}")
    planted = embeddings[embeddings["seq_id"].astype(str).isin(set(map(str, ids)))].copy()
    planted["seq_id"] = planted["seq_id"].astype(str)
    rows = []
    for motif in sorted(planted["motif"].unique()):
        names = sorted(p for p, m in pattern_motifs.items() if m == motif)
        mine = hits[hits["pattern"].isin(names)]
        inst = planted[planted["motif"] == motif]
        pairs = _overlapping(mine, inst, min_overlap)
        n_rec, n_true = pairs["index_p"].nunique(), pairs["index_h"].nunique()
        rows.append([motif, ",".join(names), len(inst), n_rec, n_rec / len(inst), len(mine), n_true,
                     n_true / len(mine) if len(mine) else np.nan])  # fmt: skip
    return pd.DataFrame(rows, columns=PLANTED_COLUMNS)
