"""Checks of motif hits: recall of modisco's own seqlets, and recall / precision of planted instances.

*Seqlet recall* (Fi-NeMo's check): a seqlet of pattern ``p`` (its untrimmed window, strand and
region, as modisco-lite reports it) is recalled when a hit of ``p`` on the same strand in the same
region has its untrimmed start within ``tolerance`` bp of the seqlet's start (0: the same start).

*Planted instances* (simulations): a planted instance of motif ``m`` is recalled when a hit of a
pattern matched to ``m`` overlaps it by at least ``min_overlap`` × the shorter of the two widths; a
hit of such a pattern is a true positive when it so overlaps any planted instance of ``m``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.motifs.modisco import Pattern

SEQLET_COLUMNS = ["pattern", "n_seqlets", "n_recalled", "recall", "n_hits"]
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


def seqlet_recall(
    hits: pd.DataFrame, patterns: Sequence[Pattern], ids: Sequence[str], tolerance: int = 0
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

    Returns
    -------
    pandas.DataFrame
        :data:`SEQLET_COLUMNS`, one row per pattern (recall NaN without seqlets).
    """
    if tolerance < 0:
        raise CisflowError(f"seqlet recall tolerance must be ≥ 0 bp, got {tolerance}")
    rows = []
    for p in patterns:
        seq = _seqlets(p, ids).drop_duplicates()
        mine = hits.loc[hits["pattern"] == p.name, ["region", "strand", "untrimmed_start"]]
        pairs = seq.reset_index().merge(mine, on=["region", "strand"])
        close = (pairs["untrimmed_start"] - pairs["start"]).abs() <= tolerance
        found = pairs.loc[close, "index"].nunique()
        rows.append([p.name, len(seq), found, found / len(seq) if len(seq) else np.nan, len(mine)])
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
