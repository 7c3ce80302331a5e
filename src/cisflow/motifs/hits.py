"""Motif hits per region: the calibrated sparse CWM fit, its tables and its files.

:func:`call_hits` fits every pattern's trimmed CWM, both strands, to each region's contribution
scores at once (:func:`cisflow.motifs.fit.fit_hits`, Fi-NeMo's model, with one L1 weight for all
patterns), keeps each pattern's hits whose cosine reaches its own λ (from its own seqlets by default),
does the same on base-shuffled regions (each keeps its profile of scores), and
keeps the hits whose empirical q-value against that null is at most ``fdr``
(:mod:`cisflow.motifs.calibrate`; each pattern's real and null hits ranked by their cosine with its CWM).
A hit's ``score`` is the L2 norm of the fitted pattern instance in the units of the scores;
``similarity`` is the cosine between the window's scores and the CWM; ``contribution`` is the
window's summed score.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.io import atomic_open
from cisflow.motifs.calibrate import empirical_qvalues, seqlet_lambdas, shuffle_bases
from cisflow.motifs.fit import MotifSet, fit_hits, motif_set
from cisflow.motifs.modisco import Pattern

log = logging.getLogger(__name__)

HIT_COLUMNS = [
    "region",
    "pattern",
    "strand",
    "start",
    "end",
    "untrimmed_start",
    "score",
    "coefficient",
    "similarity",
    "contribution",
    "qvalue",
]


def central_window(length: int, window: int | None) -> tuple[int, int]:
    """``(offset, width)`` of the central ``window`` bp of a ``length`` bp region (None: all of it)."""
    width = length if window is None else int(window)
    if not 0 < width <= length:
        raise CisflowError(f"hit window {width} bp must be in 1..{length} (the region length)")
    return (length - width) // 2, width


def _hit_table(raw: Mapping[str, np.ndarray], motifs: MotifSet, ids: np.ndarray, offset: int) -> pd.DataFrame:
    """Fit output (:func:`fit_hits`) as :data:`HIT_COLUMNS` (less ``qvalue``) plus ``_n`` (region index)."""
    k, pos = raw["motif"], raw["position"] + offset
    return pd.DataFrame(
        {
            "region": ids[raw["region"]],
            "pattern": np.asarray(motifs.names, dtype=object)[k // 2],
            "strand": np.where(k % 2 == 1, "-", "+"),
            "start": pos,
            "end": pos + motifs.widths[k],
            "untrimmed_start": pos - motifs.offsets[k],
            "score": raw["amplitude"].astype(np.float64),
            "coefficient": raw["coefficient"].astype(np.float64),
            "similarity": raw["similarity"].astype(np.float64),
            "contribution": raw["contribution"].astype(np.float64),
            "_n": raw["region"].astype(np.int64),
        }
    )


def _own_threshold(hits: pd.DataFrame, lam: Mapping[str, float]) -> pd.DataFrame:
    """The hits whose window cosine with the CWM reaches their own pattern's λ."""
    return hits[hits["similarity"].to_numpy() >= hits["pattern"].map(lam).to_numpy(dtype=np.float64)]


#: What the null ranks hits by (:func:`call_hits`' ``null_statistic``).
NULL_STATISTICS = ("similarity", "score")


def _qvalues(real: pd.DataFrame, null: pd.DataFrame, n_shuffles: int, statistic: str = "similarity") -> np.ndarray:
    """Per-pattern empirical q-values of ``real`` hits against ``null`` hits, both ranked by column ``statistic``."""
    q = np.ones(len(real))
    for name, rows in real.groupby("pattern", sort=False):
        null_values = null.loc[null["pattern"] == name, statistic].to_numpy()
        q[real.index.get_indexer(rows.index)] = empirical_qvalues(rows[statistic].to_numpy(), null_values, n_shuffles)
    return q


def _pattern_lambdas(
    lambdas: float | Mapping[str, float] | str, scores: np.ndarray, x: np.ndarray, patterns: Sequence[Pattern]
) -> dict[str, float]:
    """``{pattern: λ}`` from a number, a mapping (others 0.7) or ``"seqlets"``."""
    if isinstance(lambdas, str):
        if lambdas != "seqlets":
            raise CisflowError(f"hit lambda must be a number in (0, 1] or 'seqlets', got {lambdas!r}")
        lam = seqlet_lambdas(scores, x, patterns)
        log.info("λ from the seqlets: %s", ", ".join(f"{k} {v:.2f}" for k, v in lam.items()))
        return lam
    if isinstance(lambdas, Mapping):
        return {p.name: float(lambdas.get(p.name, 0.7)) for p in patterns}
    return {p.name: float(lambdas) for p in patterns}


def call_hits(
    scores: np.ndarray,
    x: np.ndarray,
    patterns: Sequence[Pattern],
    ids: Sequence[str] | None = None,
    *,
    lambdas: float | Mapping[str, float] | str = "seqlets",
    fdr: float = 0.05,
    n_shuffles: int = 2,
    seed: int = 0,
    window: int | None = None,
    null_statistic: str = "similarity",
    **fit_kwargs,
) -> tuple[pd.DataFrame, dict]:
    """Call calibrated hits of modisco patterns in contribution scores (see the module docstring).

    The null regions keep each region's profile of scores over a shuffled sequence
    (:func:`cisflow.motifs.calibrate.shuffle_bases`).

    Parameters
    ----------
    scores, x
        Actual-base contributions and one-hot sequences, ``(N, 4, L)``.
    patterns
        modisco patterns: untrimmed CWMs and trim bounds.
    ids
        Region names ``(N,)``; default ``"0"``, ``"1"``, ...
    lambdas
        Each pattern's λ, the least cosine of its hits' windows with its CWM: one for all patterns,
        ``{pattern: λ}`` (others 0.7), or ``"seqlets"``: each pattern's from its own seqlets
        (:func:`cisflow.motifs.calibrate.seqlet_lambdas`). The fit's L1 weight (Fi-NeMo's λ) is the
        smallest of them for every pattern, so that patterns compete for bases on how well their CWMs
        explain them (a pattern with a smaller L1 weight would take windows that others match better);
        each pattern's hits are then kept where their cosine reaches its own λ.
    fdr
        Largest empirical q-value of a kept hit.
    n_shuffles, seed
        Null shufflings of every region, and their seed.
    window
        Central window in bp to call hits in (None: the whole region).
    null_statistic
        What the q-value ranks a pattern's real and null hits by: ``"similarity"`` (the default), the cosine
        of the window's scores with the CWM. The null keeps every position's score and changes only the bases
        under it, so how well the bases match is what it can test; ranked by ``"score"`` (the fitted
        instance's L2 norm, mostly the window's contribution) a pattern whose sites carry less contribution
        than other patterns' sites is judged against chance matches on those strong sites and loses most of
        its instances (the yeast demo's ABF1 pattern: docs/hits.md).
    **fit_kwargs
        Passed to :func:`cisflow.motifs.fit.fit_hits` (``tol``, ``max_steps``, ``device``, ...).

    Returns
    -------
    hits
        :data:`HIT_COLUMNS` (start / end: the trimmed hit, 0-based half-open in the region; ``untrimmed_start``:
        where the pattern's full CWM starts) with ``qvalue ≤ fdr``, in region order then start.
    info
        ``candidates`` (every fitted hit with its q-value), ``null_hits``, ``regions`` (per-region fit
        diagnostics), ``null_x`` (the null one-hot windows), ``offset`` (the window's start) and
        ``lambdas`` (``{pattern: λ}``).
    """
    scores, x = np.asarray(scores), np.asarray(x)
    if scores.ndim != 3 or scores.shape[1] != 4 or x.shape != scores.shape:
        raise CisflowError(f"scores {scores.shape} and one-hot x {x.shape} must both be (N, 4, L)")
    if not 0 < fdr <= 1:
        raise CisflowError(f"hit fdr must be in (0, 1], got {fdr}")
    if null_statistic not in NULL_STATISTICS:
        raise CisflowError(f"null statistic must be one of {', '.join(NULL_STATISTICS)}, got {null_statistic!r}")
    ids = np.array([str(i) for i in range(len(scores))] if ids is None else [str(i) for i in ids], dtype=object)
    if len(ids) != len(scores):
        raise CisflowError(f"{len(ids)} ids for {len(scores)} regions")
    motifs = motif_set({p.name: p.cwm for p in patterns}, {p.name: p.trim for p in patterns})
    lam = _pattern_lambdas(lambdas, scores, x, patterns)
    offset, width = central_window(scores.shape[2], window)
    s, xw = scores[:, :, offset : offset + width], x[:, :, offset : offset + width]
    shared = [min(lam.values())] * len(lam)  # one L1 weight: patterns compete on fit, not on their penalty
    raw, regions = fit_hits(s, xw, motifs, shared, **fit_kwargs)
    null_s, null_x = shuffle_bases(s, xw, seed, n_shuffles)
    raw0, _ = fit_hits(null_s, null_x, motifs, shared, **fit_kwargs)
    real = _own_threshold(_hit_table(raw, motifs, ids, offset), lam)
    null = _own_threshold(_hit_table(raw0, motifs, np.tile(ids, n_shuffles), offset), lam)
    real["qvalue"] = _qvalues(real, null, n_shuffles, null_statistic)
    real = real[[*HIT_COLUMNS, "_n"]].sort_values(["_n", "start", "pattern", "strand"], kind="stable")
    real = real.reset_index(drop=True)
    kept = real[real["qvalue"] <= fdr].reset_index(drop=True)
    log.info("%d of %d fitted hits at q ≤ %g (%d null hits in %d shuffles)", len(kept), len(real), fdr, len(null),
             n_shuffles)  # fmt: skip
    info = {"candidates": real, "null_hits": null, "regions": regions, "null_x": null_x, "offset": offset}
    info["lambdas"] = lam
    return kept, info


def annotate_hits(
    hits: pd.DataFrame,
    length: int,
    pattern_labels: Mapping[str, str] | None = None,
    chrom: Sequence[str] | None = None,
    start: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Add ``jaspar`` (the pattern's known-motif label), ``center_offset`` and, with region coordinates,
    ``chrom``, ``genome_start``, ``genome_end``; drop the internal ``_n`` column.

    Parameters
    ----------
    hits
        :func:`call_hits` table (with ``_n``, the region index).
    length
        Region length in bp; ``center_offset`` = hit centre − region centre (bp, may be fractional).
    pattern_labels
        ``{pattern: label}``, e.g. ``REB1 (MA0363.3)``; others get an empty label.
    chrom, start
        Chromosome and 0-based start of every region ``(N,)``.
    """
    out = hits.copy()
    labels = pattern_labels or {}
    out.insert(2, "jaspar", [labels.get(p, "") for p in out["pattern"]])
    out["center_offset"] = (out["start"] + out["end"]) / 2 - length / 2
    n = out.pop("_n").to_numpy(dtype=np.int64)
    if chrom is not None and start is not None:
        offset = np.asarray(start, dtype=np.int64)[n]
        out.insert(0, "chrom", np.asarray(chrom).astype(str)[n])
        out.insert(1, "genome_start", offset + out["start"].to_numpy(dtype=np.int64))
        out.insert(2, "genome_end", offset + out["end"].to_numpy(dtype=np.int64))
    return out


def per_region_table(hits: pd.DataFrame, regions: Sequence[str], patterns: Sequence[str]) -> pd.DataFrame:
    """One row per region: ``n_hits``, ``best_pattern``, ``best_score``, then per pattern its hit count
    (column = pattern name) and best score (``<pattern>_best``, 0 without a hit)."""
    regions, patterns = [str(r) for r in regions], list(patterns)
    counts = pd.crosstab(hits["region"], hits["pattern"]) if len(hits) else pd.DataFrame()
    counts = counts.reindex(index=regions, columns=patterns, fill_value=0).astype(np.int64)
    best = hits.pivot_table(index="region", columns="pattern", values="score", aggfunc="max") if len(hits) else None
    best = (pd.DataFrame() if best is None else best).reindex(index=regions, columns=patterns).fillna(0.0)
    table = pd.DataFrame({"n_hits": counts.sum(axis=1)}, index=pd.Index(regions, name="region"))
    top = best.to_numpy().argmax(axis=1) if patterns else np.zeros(len(regions), dtype=int)
    has = table["n_hits"].to_numpy() > 0
    table["best_pattern"] = np.where(has, np.asarray(patterns, dtype=object)[top] if patterns else "", "")
    table["best_score"] = np.where(has, best.to_numpy().max(axis=1) if patterns else 0.0, 0.0)
    for p in patterns:
        table[p] = counts[p].to_numpy()
        table[f"{p}_best"] = best[p].to_numpy()
    return table


def write_hits(hits: pd.DataFrame, tsv: str | Path, bed: str | Path) -> None:
    """Write hits as TSV (all columns) and BED6 (genome coordinates if present, else region and offsets).

    BED name: ``pattern`` or ``pattern:label`` with its known-motif label; score: round(1000 ×
    similarity) clipped to 0..1000.
    """
    with atomic_open(tsv) as handle:
        hits.to_csv(handle, sep="\t", index=False, float_format="%.6g")
    genomic = "chrom" in hits
    label = hits["jaspar"].astype(str) if "jaspar" in hits else pd.Series("", index=hits.index)
    name = hits["pattern"].astype(str) + np.where(label != "", ":" + label.str.split(" ").str[0], "")
    bed_df = pd.DataFrame(
        {
            "chrom": hits["chrom"] if genomic else hits["region"],
            "start": hits["genome_start"] if genomic else hits["start"],
            "end": hits["genome_end"] if genomic else hits["end"],
            "name": name,
            "score": np.clip(np.round(1000 * hits["similarity"].to_numpy(dtype=float)), 0, 1000).astype(int),
            "strand": hits["strand"],
        }
    )
    if genomic:
        bed_df = bed_df.sort_values(["chrom", "start", "end"], kind="stable")
    with atomic_open(bed) as handle:
        bed_df.to_csv(handle, sep="\t", index=False, header=False)


def read_summits(paths: Sequence[str | Path]) -> dict[str, np.ndarray]:
    """Summits ``{chrom: sorted 0-based positions}`` of narrowPeak files (``start + summit``; the start if -1)."""
    from cisflow.narrowpeak import read_narrowpeak

    frames = [read_narrowpeak(p, allow_empty=True) for p in paths]
    peaks = pd.concat(frames, ignore_index=True)
    summit = peaks["start"].to_numpy(dtype=np.int64) + np.maximum(peaks["summit"].to_numpy(dtype=np.int64), 0)
    return {str(c): np.sort(summit[(peaks["chrom"] == c).to_numpy()]) for c in peaks["chrom"].unique()}


def summit_offsets(chrom: np.ndarray, centre: np.ndarray, summits: Mapping[str, np.ndarray]) -> np.ndarray:
    """Signed distance (bp) from each position to the nearest summit on its chromosome (NaN: none there)."""
    out = np.full(len(chrom), np.nan)
    centre = np.asarray(centre, dtype=np.float64)
    for c in np.unique(chrom):
        pos = summits.get(str(c))
        rows = np.flatnonzero(chrom == c)
        if pos is None or not len(pos):
            continue
        j = np.searchsorted(pos, centre[rows])
        left, right = pos[np.clip(j - 1, 0, len(pos) - 1)], pos[np.clip(j, 0, len(pos) - 1)]
        d_left, d_right = centre[rows] - left, centre[rows] - right
        out[rows] = np.where(np.abs(d_left) <= np.abs(d_right), d_left, d_right)
    return out
