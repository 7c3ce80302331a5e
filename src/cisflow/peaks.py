"""Reproducible and relaxed peak sets of a group of replicates, and their overlap with reference regions.

Reproducibility follows the ENCODE ChIP-seq / ATAC-seq pipelines (chip-seq-pipeline2,
atac-seq-pipeline): IDR on pairs of replicates with the pooled peaks as the oracle list
(:mod:`cisflow.idr`), or the "naive overlap" rule, and a conservative set taken as the largest set over
replicate pairs (or, with one replicate, between its two pseudo-replicates). Peak tables and their
file format are :mod:`cisflow.narrowpeak`; MACS3 calling is :mod:`cisflow.macs3`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.idr import idr_peaks
from cisflow.io import write_json
from cisflow.narrowpeak import (
    COLUMNS,
    PeaksLike,
    as_peaks,
    cap_peaks,
    empty_peaks,
    overlap_pairs,
    read_narrowpeak,
    sort_peaks,
    write_narrowpeak,
)

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# naive overlap
# ----------------------------------------------------------------------------------------------


def naive_overlap(pooled: PeaksLike, rep1: PeaksLike, rep2: PeaksLike, min_fraction: float = 0.5) -> pd.DataFrame:
    """Pooled peaks supported by both replicates (ENCODE's naive overlap rule).

    Implements ENCODE chip-seq-pipeline2 / atac-seq-pipeline ``encode_task_naive_overlap.py``:
    ``intersectBed -wo -a pooled -b rep1`` keeping a pair when the overlap is at least
    ``min_fraction`` of the pooled peak's length OR of the replicate peak's length
    (``$21/s1 >= 0.5 || $21/s2 >= 0.5``), then the same against ``rep2``; each pooled peak is
    kept once (``sort | uniq``), with its own coordinates and scores.

    Parameters
    ----------
    pooled, rep1, rep2
        Peak tables or narrowPeak paths.
    min_fraction
        The fraction (of either peak's length) the overlap must reach; ENCODE uses 0.5.

    Returns
    -------
    pandas.DataFrame
        The kept pooled peaks, sorted by coordinates.
    """
    pooled_df = as_peaks(pooled).reset_index(drop=True)
    keep = np.ones(len(pooled_df), dtype=bool)
    for rep in (as_peaks(rep1), as_peaks(rep2)):
        keep &= _supported(pooled_df, rep.reset_index(drop=True), min_fraction)
    out = pooled_df[keep].drop_duplicates(subset=COLUMNS)
    log.info("naive overlap: %d of %d pooled peaks supported by both sets", len(out), len(pooled_df))
    return sort_peaks(out)


def naive_overlap_to_file(
    pooled: str | Path, rep1: str | Path, rep2: str | Path, out: str | Path, min_fraction: float = 0.5
) -> Path:
    """Read three narrowPeak files, apply :func:`naive_overlap`, write the kept peaks to ``out``."""
    kept = naive_overlap(read_narrowpeak(pooled), read_narrowpeak(rep1), read_narrowpeak(rep2), min_fraction)
    write_narrowpeak(kept, out)
    return Path(out)


def _supported(pooled: pd.DataFrame, rep: pd.DataFrame, min_fraction: float) -> np.ndarray:
    """Mask ``(n_pooled,)``: pooled peaks overlapping a ``rep`` peak by >= ``min_fraction`` of either."""
    ia, ib, bp = overlap_pairs(pooled, rep)
    len_a = (pooled["end"] - pooled["start"]).to_numpy()[ia]
    len_b = (rep["end"] - rep["start"]).to_numpy()[ib]
    ok = (bp / len_a >= min_fraction) | (bp / len_b >= min_fraction)
    mask = np.zeros(len(pooled), dtype=bool)
    mask[ia[ok]] = True
    return mask


# ----------------------------------------------------------------------------------------------
# reproducible, relaxed, recall
# ----------------------------------------------------------------------------------------------


def reproducible_peaks(
    method: str,
    replicate_peaks: Sequence[PeaksLike],
    pseudorep_peaks: tuple[PeaksLike, PeaksLike] | None,
    pooled: PeaksLike,
    threshold: float = 0.05,
    rank: str = "pvalue",
) -> pd.DataFrame:
    """The conservative reproducible peak set, as ENCODE builds it.

    With two or more replicates, every pair of replicates is compared (IDR with ``pooled`` as the
    oracle list, or naive overlap against ``pooled``) and the largest resulting set is returned.
    With one replicate, its two pseudo-replicates are compared instead (``pooled`` should then be
    the replicate's own peaks).

    Parameters
    ----------
    method
        ``"idr"`` or ``"overlap"``.
    replicate_peaks
        One peak set per replicate (tables or paths).
    pseudorep_peaks
        The two pseudo-replicate peak sets, used only with a single replicate.
    pooled
        Peaks called on pooled reads: the oracle list for IDR / the candidates for overlap.
    threshold
        Global IDR threshold (IDR only).
    rank
        ``"pvalue"`` (ENCODE's choice for MACS peaks) or ``"signal"``: the column IDR ranks by.
    """
    if method not in ("idr", "overlap"):
        raise CisflowError(f"unknown reproducibility method {method!r} (use 'idr' or 'overlap')")
    if len(replicate_peaks) >= 2:
        pairs = list(combinations(replicate_peaks, 2))
    elif pseudorep_peaks is not None and len(pseudorep_peaks) == 2:
        pairs = [tuple(pseudorep_peaks)]
    else:
        raise CisflowError("reproducible peaks need two replicates, or one replicate and two pseudo-replicates")
    best = empty_peaks()
    for a, b in pairs:
        found = _compare_pair(method, a, b, pooled, threshold, rank)
        log.info("%s: %d reproducible peaks for one pair", method, len(found))
        if len(found) > len(best):
            best = found
    return best


def _compare_pair(method: str, a: PeaksLike, b: PeaksLike, pooled: PeaksLike, threshold: float, rank: str):
    """Reproducible peaks of one pair of peak sets."""
    if method == "overlap":
        return naive_overlap(pooled, a, b)
    return idr_peaks(a, b, oracle=pooled, rank=rank, threshold=threshold)


def relaxed_peaks(pooled: PeaksLike, max_peaks: int = 300_000) -> pd.DataFrame:
    """The pooled peaks at the loose threshold, capped to the top ``max_peaks`` by p-value.

    Returns the kept peaks sorted by coordinates.
    """
    return sort_peaks(cap_peaks(as_peaks(pooled), max_peaks))


def reference_overlap(peaks: PeaksLike, reference: PeaksLike) -> dict[str, float]:
    """How a peak set and a reference region set overlap (any shared base counts).

    Returns
    -------
    dict
        ``recall`` (fraction of reference regions overlapped by >= 1 peak), ``precision``
        (fraction of peaks overlapping >= 1 reference region), and the counts ``n_peaks``,
        ``n_reference``, ``reference_hit``, ``peaks_hit``.
    """
    p, r = as_peaks(peaks).reset_index(drop=True), as_peaks(reference).reset_index(drop=True)
    ip, ir, _ = overlap_pairs(p, r)
    ref_hit, peak_hit = len(np.unique(ir)), len(np.unique(ip))
    return {
        "recall": ref_hit / len(r) if len(r) else float("nan"),
        "precision": peak_hit / len(p) if len(p) else float("nan"),
        "n_peaks": len(p),
        "n_reference": len(r),
        "reference_hit": ref_hit,
        "peaks_hit": peak_hit,
    }


def reference_overlap_report(peaks: str | Path, reference: str | Path, out: str | Path | None = None) -> dict:
    """:func:`reference_overlap` of two narrowPeak files, also written as JSON to ``out`` if given."""
    result = reference_overlap(read_narrowpeak(peaks), read_narrowpeak(reference))
    result = {"peaks": str(peaks), "reference": str(reference), **result}
    if out is not None:
        write_json(out, result)
    return result


def reference_recall(peaks: PeaksLike, reference: PeaksLike) -> float:
    """Fraction of reference regions overlapped by at least one peak (see :func:`reference_overlap`)."""
    return float(reference_overlap(peaks, reference)["recall"])


def reproducible_peak_sets(
    replicates: Sequence[str | Path],
    pooled: str | Path,
    pseudoreps: tuple[str | Path, str | Path],
    genome_sizes: Mapping[str, int],
    outputs: Mapping[str, str | Path],
    *,
    method: str = "idr",
    threshold: float = 0.05,
    rank: str = "pvalue",
    max_peaks: int = 300_000,
    reference: str | Path | None = None,
) -> dict[str, Any]:
    """Write a group's conservative and relaxed peak sets and a JSON summary of the counts.

    ``outputs`` maps ``conservative``, ``relaxed`` and ``summary`` to paths. With one replicate the
    conservative set compares the pseudo-replicates (with the pooled peaks as the oracle). The summary
    holds the peak count of every input call, the two sets' sizes and, given ``reference`` regions,
    their overlap with each set (reference regions on chromosomes absent from the genome are left out
    and counted).
    """
    calls = {f"rep{i + 1}": read_narrowpeak(p, genome_sizes) for i, p in enumerate(replicates)}
    calls["pooled"] = read_narrowpeak(pooled, genome_sizes)
    calls["pr1"], calls["pr2"] = (read_narrowpeak(p, genome_sizes) for p in pseudoreps)
    reps = [calls[k] for k in calls if k.startswith("rep")]
    conservative = reproducible_peaks(
        method, reps, (calls["pr1"], calls["pr2"]), calls["pooled"], threshold=threshold, rank=rank
    )
    relaxed = relaxed_peaks(calls["pooled"], max_peaks)
    summary: dict[str, Any] = {"method": method, "threshold": threshold, "calls": {k: len(v) for k, v in calls.items()}}
    summary |= {"conservative": len(conservative), "relaxed": len(relaxed)}
    if reference is not None:
        ref = read_narrowpeak(reference)
        on_genome = ref["chrom"].isin(list(genome_sizes))
        summary["reference"] = {"path": str(reference), "off_genome": int((~on_genome).sum())}
        for name, peaks in (("conservative", conservative), ("relaxed", relaxed)):
            summary["reference"][name] = reference_overlap(peaks, ref[on_genome])
    write_narrowpeak(sort_peaks(conservative), outputs["conservative"])
    write_narrowpeak(relaxed, outputs["relaxed"])
    write_json(outputs["summary"], summary)
    log.info("conservative %d, relaxed %d peaks", len(conservative), len(relaxed))
    return summary
