"""The classical comparison: a FIMO-style PWM scan (memelite's ``fimo``) of the patterns' known motifs.

memelite's ``fimo`` scores every window on both strands with the motif's log-odds against a uniform
background and keeps windows whose p-value (from the exact score distribution) is below
``threshold`` (FIMO's default 1e-4). :func:`compare_with_pwm_scan` then sets, per known motif, the
regions holding a contribution-score hit of a pattern matched to it beside the regions holding a
PWM match, and how far they coincide.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError

log = logging.getLogger(__name__)

SCAN_COLUMNS = ["motif", "region", "start", "end", "strand", "score", "pvalue"]
COMPARE_COLUMNS = [
    "motif",
    "patterns",
    "n_regions",
    "frac_hits",
    "frac_pwm",
    "frac_both",
    "frac_either",
    "jaccard",
    "frac_hits_at_pwm",
    "frac_pwm_at_hits",
    "frac_pwm_null",
]


def pwm_scan(pwms: Mapping[str, np.ndarray], x: np.ndarray, ids: Sequence[str], threshold: float = 1e-4
             ) -> pd.DataFrame:  # fmt: skip
    """FIMO matches of PWMs in one-hot sequences.

    Parameters
    ----------
    pwms
        ``{motif: pwm (4, W)}`` base probabilities, rows A C G T.
    x
        One-hot ``(N, 4, L)``.
    ids
        Region names ``(N,)``.
    threshold
        Largest p-value of a match.

    Returns
    -------
    pandas.DataFrame
        :data:`SCAN_COLUMNS`: motif, region name, 0-based half-open start / end in the region,
        strand, log-odds score (bits) and p-value; sorted by region order, start and motif.
    """
    from memelite import fimo

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[1] != 4 or len(ids) != len(x):
        raise CisflowError(f"PWM scan needs one-hot (N, 4, L) and N ids, got {x.shape} and {len(ids)} ids")
    if not pwms or not 0 < threshold < 1:
        raise CisflowError(f"PWM scan needs motifs and a p-value threshold in (0, 1), got {threshold}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = fimo({k: np.asarray(v, dtype=np.float64) for k, v in pwms.items()}, x, threshold=threshold)
    table = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) else None
    if table is None:
        return pd.DataFrame(columns=SCAN_COLUMNS)
    idx = table["sequence_name"].to_numpy(dtype=np.int64)
    out = pd.DataFrame({"motif": table["motif_name"].astype(str), "region": np.asarray(ids, dtype=str)[idx],
                        "start": table["start"].astype(np.int64), "end": table["end"].astype(np.int64),
                        "strand": table["strand"].astype(str), "score": table["score"], "pvalue": table["p-value"],
                        "_n": idx})  # fmt: skip
    out = out.sort_values(["_n", "start", "motif"], kind="stable").drop(columns="_n")
    return out.reset_index(drop=True)


def _overlap_any(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """``(len(a),)`` bool: does each row of ``a`` overlap a row of ``b`` in the same region?"""
    if not len(a) or not len(b):
        return np.zeros(len(a), dtype=bool)
    rows = a[["region", "start", "end"]].reset_index(drop=True).reset_index(names="i")  # i: position in a
    pairs = rows.merge(b[["region", "start", "end"]], on="region")
    hit = (pairs["start_x"] < pairs["end_y"]) & (pairs["start_y"] < pairs["end_x"])
    return np.isin(np.arange(len(a)), pairs.loc[hit, "i"].to_numpy())


def compare_with_pwm_scan(
    hits: pd.DataFrame,
    scan: pd.DataFrame,
    ids: Sequence[str],
    motif_patterns: Mapping[str, Sequence[str]],
    null_scan: pd.DataFrame | None = None,
    n_null: int = 0,
) -> pd.DataFrame:
    """Per known motif: regions with a contribution-score hit vs regions with a PWM match.

    Parameters
    ----------
    hits
        Hit table (``region pattern start end``).
    scan
        :func:`pwm_scan` matches in the same regions.
    ids
        All region names (the denominators).
    motif_patterns
        ``{motif: [pattern, ...]}``: the motifs to report and the patterns whose hits count for each (a
        pattern may count for several motifs, e.g. a JASPAR matrix and a simulation's own motif; a motif
        without patterns has no hits).
    null_scan, n_null
        Matches in ``n_null`` null regions (e.g. base-shuffled sequences), for ``frac_pwm_null``.

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARE_COLUMNS`: fractions of the ``n_regions`` regions with a hit (``frac_hits``), a
        PWM match (``frac_pwm``), both, either; their Jaccard index; the fraction of hits that overlap
        a PWM match and of PWM matches that overlap a hit; the PWM match rate in the null regions.
    """
    n = len(ids)
    if n == 0:
        raise CisflowError("no regions to compare hits and PWM matches in")
    rows = []
    for motif in sorted(motif_patterns):
        names = sorted(motif_patterns[motif])
        mine, pwm = hits[hits["pattern"].isin(names)], scan[scan["motif"] == motif]
        a, b = set(mine["region"]), set(pwm["region"])
        both, either = len(a & b), len(a | b)
        null = np.nan
        if null_scan is not None and n_null:
            null = null_scan.loc[null_scan["motif"] == motif, "region"].nunique() / n_null
        rows.append([motif, ",".join(names), n, len(a) / n, len(b) / n, both / n, either / n,
                     both / either if either else np.nan,
                     _overlap_any(mine, pwm).mean() if len(mine) else np.nan,
                     _overlap_any(pwm, mine).mean() if len(pwm) else np.nan, null])  # fmt: skip
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)
