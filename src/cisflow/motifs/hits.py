"""Motif hits: CWM scanning of contribution scores, per-region counts, BED/TSV output.

Each pattern's trimmed CWM ``C`` (``(4, W)``, the mean actual-base contributions of its seqlets)
and its reverse complement slide over the actual-base contribution track ``S`` of every region
(``(4, L)``). A window is a hit when both

* the *similarity* — cosine between the window's ``(4, W)`` scores and ``C`` — reaches
  ``min_similarity`` (the shape of the contributions, as finemo / tangermeme hit callers compare
  attribution and CWM), and
* the *relative mass* — the window's summed contribution divided by ``C``'s summed contribution
  (the seqlets' mean mass) — reaches ``min_mass``; so thresholds are relative to the pattern's own
  seqlets and the sign of a negative pattern is handled.

Overlapping windows of the same pattern in a region are resolved greedily by the larger
``similarity × relative mass``; hits of different patterns may overlap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.io import atomic_open

log = logging.getLogger(__name__)

HIT_COLUMNS = ["region", "pattern", "start", "end", "strand", "score", "similarity", "rel_mass"]


def _window_sum(track: np.ndarray, width: int) -> np.ndarray:
    """Sums of ``width`` consecutive values along the last axis: ``(..., L)`` → ``(..., L - width + 1)``."""
    csum = np.concatenate([np.zeros((*track.shape[:-1], 1)), np.cumsum(track, axis=-1, dtype=np.float64)], axis=-1)
    return csum[..., width:] - csum[..., :-width]


def scan_cwm(scores: np.ndarray, cwm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity and relative contribution mass of every window, both strands.

    Parameters
    ----------
    scores
        Actual-base contributions ``(N, 4, L)``.
    cwm
        ``(4, W)`` CWM with a non-zero sum.

    Returns
    -------
    similarity
        ``(N, 2, L - W + 1)``; ``[:, 0, j]`` compares window ``[j, j + W)`` with the CWM, ``[:, 1, j]``
        with its reverse complement.
    rel_mass
        ``(N, L - W + 1)``: window contribution sum / CWM sum (strand-independent).
    """
    scores, cwm = np.asarray(scores, dtype=np.float64), np.asarray(cwm, dtype=np.float64)
    width, length = cwm.shape[1], scores.shape[2]
    if length < width:
        raise CisflowError(f"regions ({length} bp) are shorter than the pattern ({width} bp)")
    n_win = length - width + 1
    norm_s = np.sqrt(_window_sum((scores**2).sum(axis=1), width))
    sim = np.zeros((scores.shape[0], 2, n_win))
    for strand, mat in enumerate((cwm, cwm[::-1, ::-1])):
        for w in range(width):
            sim[:, strand] += np.einsum("nck,c->nk", scores[:, :, w : w + n_win], mat[:, w])
        sim[:, strand] /= norm_s * np.linalg.norm(mat) + 1e-12
    mass = cwm.sum()
    if mass == 0:
        raise CisflowError("a CWM with zero total contribution cannot set a relative mass threshold")
    return sim, _window_sum(scores.sum(axis=1), width) / mass


def _suppress(region_rows: pd.DataFrame, width: int) -> list[int]:
    """Indices of greedily kept rows (best ``rank_key`` first) with no overlap within ``width`` bp."""
    kept: list[int] = []
    taken: list[int] = []
    for idx, pos in zip(region_rows.index, region_rows["start"], strict=True):
        if all(abs(pos - t) >= width for t in taken):
            kept.append(idx)
            taken.append(pos)
    return kept


def _pattern_hits(
    scores: np.ndarray, name: str, cwm: np.ndarray, ids: np.ndarray, min_similarity: float, min_mass: float
) -> pd.DataFrame:
    """Hits of one pattern (columns :data:`HIT_COLUMNS`), overlaps resolved per region."""
    sim, rel = scan_cwm(scores, cwm)
    best_strand = sim.argmax(axis=1)
    best_sim = sim.max(axis=1)
    n, j = np.nonzero((best_sim >= min_similarity) & (rel >= min_mass))
    width = cwm.shape[1]
    mass = rel[n, j] * cwm.sum()
    df = pd.DataFrame(
        {
            "region": ids[n],
            "pattern": name,
            "start": j,
            "end": j + width,
            "strand": np.where(best_strand[n, j] == 1, "-", "+"),
            "score": mass,
            "similarity": best_sim[n, j],
            "rel_mass": rel[n, j],
            "_n": n,
            "_key": best_sim[n, j] * rel[n, j],
        }
    )
    df = df.sort_values(["_n", "_key", "start"], ascending=[True, False, True], kind="stable")
    kept = [i for _, rows in df.groupby("_n", sort=True) for i in _suppress(rows, width)]
    return df.loc[kept]


def motif_hits(
    scores: np.ndarray,
    patterns_cwm: Mapping[str, np.ndarray],
    ids: Sequence[str] | None = None,
    chrom: Sequence[str] | None = None,
    start: Sequence[int] | None = None,
    min_similarity: float = 0.7,
    min_mass: float = 0.3,
) -> pd.DataFrame:
    """Call motif hits by sliding each pattern's CWM over the contribution scores (see the module docstring).

    Parameters
    ----------
    scores
        Actual-base contributions ``(N, 4, L)`` (``hypothetical × x``).
    patterns_cwm
        ``{pattern: cwm (4, W)}``, e.g. trimmed modisco CWMs.
    ids
        Region names ``(N,)``; default ``"0"``, ``"1"``, ...
    chrom, start
        Chromosome and 0-based start ``(N,)`` of each region; when given, the table gains ``chrom``,
        ``genome_start`` and ``genome_end`` (0-based half-open).
    min_similarity
        Least cosine between window scores and CWM.
    min_mass
        Least window contribution sum as a fraction of the CWM's (the seqlets' mean).

    Returns
    -------
    pandas.DataFrame
        :data:`HIT_COLUMNS` (start/end within the region, score = summed contribution) sorted by
        region order, start and pattern.
    """
    scores = np.asarray(scores)
    if scores.ndim != 3 or scores.shape[1] != 4:
        raise CisflowError(f"scores must be (N, 4, L), got {scores.shape}")
    ids = np.array([str(i) for i in range(len(scores))] if ids is None else [str(i) for i in ids])
    if len(ids) != len(scores):
        raise CisflowError(f"{len(ids)} ids for {len(scores)} regions")
    frames = [_pattern_hits(scores, name, cwm, ids, min_similarity, min_mass) for name, cwm in patterns_cwm.items()]
    hits = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*HIT_COLUMNS, "_n"])
    hits = hits.sort_values(["_n", "start", "pattern"], kind="stable").reset_index(drop=True)
    if chrom is not None and start is not None:
        offset = np.asarray(start, dtype=np.int64)[hits["_n"].to_numpy(dtype=np.int64)]
        hits["chrom"] = np.asarray(chrom).astype(str)[hits["_n"].to_numpy(dtype=np.int64)]
        hits["genome_start"] = offset + hits["start"].to_numpy(dtype=np.int64)
        hits["genome_end"] = offset + hits["end"].to_numpy(dtype=np.int64)
    return hits.drop(columns=[c for c in ("_n", "_key") if c in hits])


def per_region_table(
    hits: pd.DataFrame, regions: Sequence[str] | None = None, patterns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Hit counts, regions × patterns (int); ``regions`` / ``patterns`` add rows / columns of zeros, in that order."""
    table = pd.crosstab(hits["region"], hits["pattern"]) if len(hits) else pd.DataFrame(dtype=np.int64)
    rows = list(regions) if regions is not None else list(table.index)
    cols = list(patterns) if patterns is not None else list(table.columns)
    table = table.reindex(index=rows, columns=cols, fill_value=0).astype(np.int64)
    table.index.name, table.columns.name = "region", None
    return table


def write_hits(hits: pd.DataFrame, tsv: str | Path, bed: str | Path) -> None:
    """Write hits as TSV (all columns) and BED6 (genome coordinates if present, else region id and offsets).

    BED columns: chrom (or region), start, end, name = ``pattern``, score = round(1000 × similarity)
    clipped to 0..1000, strand.
    """
    with atomic_open(tsv) as handle:
        hits.to_csv(handle, sep="\t", index=False, float_format="%.6g")
    genomic = "chrom" in hits
    bed_df = pd.DataFrame(
        {
            "chrom": hits["chrom"] if genomic else hits["region"],
            "start": hits["genome_start"] if genomic else hits["start"],
            "end": hits["genome_end"] if genomic else hits["end"],
            "name": hits["pattern"],
            "score": np.clip(np.round(1000 * hits["similarity"].to_numpy(dtype=float)), 0, 1000).astype(int),
            "strand": hits["strand"],
        }
    )
    with atomic_open(bed) as handle:
        bed_df.to_csv(handle, sep="\t", index=False, header=False)
