"""ENCODE's IDR reproducibility QC: optimal and conservative sets, rescue and self-consistency ratios.

With the numbers of peaks passing the IDR threshold

* N_t: between true replicates (the largest over replicate pairs),
* N_p: between the pooled pseudo-replicates,
* N_1, N_2, …: between each replicate's own pseudo-replicates (self-consistency),

ENCODE's ChIP-seq and ATAC-seq pipelines (``encode_task_reproducibility.py``) define

* conservative set = the true-replicate set (N_t peaks),
* optimal set = the larger of the true-replicate and pooled-pseudo-replicate sets,
* rescue ratio = max(N_t, N_p) / min(N_t, N_p),
* self-consistency ratio = max(N_i) / min(N_i),
* reproducibility = ``pass`` when both ratios are ≤ 2, ``borderline`` when one is > 2, ``fail``
  when both are.

With a single replicate there is no true-replicate set: the optimal and conservative sets are both
that replicate's pseudo-replicate set, and the ratios are undefined (reproducibility ``n/a``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cisflow.errors import CisflowError

RATIO_LIMIT = 2.0


def _ratio(counts: Sequence[int]) -> float:
    """max / min of ``counts`` (inf when the min is 0 and the max is not; NaN for fewer than two)."""
    if len(counts) < 2:
        return math.nan
    high, low = max(counts), min(counts)
    if low == 0:
        return math.inf if high else math.nan
    return high / low


def reproducibility_qc(n_true: int | None, n_pooled: int | None, n_self: Sequence[int]) -> dict[str, object]:
    """ENCODE's reproducibility summary of one experiment.

    Parameters
    ----------
    n_true
        Peaks of the true-replicate IDR set (the best pair); None for a single replicate.
    n_pooled
        Peaks of the pooled-pseudo-replicate IDR set (None for a single replicate, whose only
        pseudo-replicate set is its own).
    n_self
        Peaks of each replicate's own pseudo-replicate IDR set.

    Returns
    -------
    dict
        ``n_true n_pooled n_self optimal ("true" / "pooled" / "self") n_optimal n_conservative
        rescue_ratio self_consistency_ratio reproducibility`` (``pass``/``borderline``/``fail``/``n/a``).
    """
    if any(n is not None and n < 0 for n in (n_true, n_pooled, *n_self)):
        raise CisflowError("peak counts must be non-negative")
    out: dict[str, object] = {"n_true": n_true, "n_pooled": n_pooled, "n_self": list(n_self)}
    if n_true is None:
        if len(n_self) != 1:
            raise CisflowError(f"without a true-replicate set give one self-consistency count, got {len(n_self)}")
        out |= {"optimal": "self", "n_optimal": n_self[0], "n_conservative": n_self[0]}
        return out | {"rescue_ratio": math.nan, "self_consistency_ratio": math.nan, "reproducibility": "n/a"}
    if n_pooled is None:
        raise CisflowError("with replicates, the pooled-pseudo-replicate count is needed")
    pooled_wins = n_pooled > n_true
    out |= {"optimal": "pooled" if pooled_wins else "true", "n_optimal": max(n_true, n_pooled)}
    out |= {"n_conservative": n_true, "rescue_ratio": _ratio([n_true, n_pooled])}
    out["self_consistency_ratio"] = _ratio(list(n_self))
    out["reproducibility"] = reproducibility_flag(out["rescue_ratio"], out["self_consistency_ratio"])
    return out


def reproducibility_flag(rescue: float, self_consistency: float) -> str:
    """``pass`` (both ≤ 2), ``borderline`` (one > 2), ``fail`` (both > 2); a NaN ratio counts as passing."""
    over = sum(1 for r in (rescue, self_consistency) if not math.isnan(r) and r > RATIO_LIMIT)
    return ("pass", "borderline", "fail")[over]
