"""Profile-model metrics: counts correlation, profile Jensen–Shannon distance and its bounds.

As in chrombpnet's evaluation: counts are compared as ``log(1 + total)`` over the output window
(Pearson, Spearman, MSE), profiles as the Jensen–Shannon distance (``sqrt`` of the divergence, natural
log, as :func:`scipy.spatial.distance.jensenshannon`) between the observed counts normalised to one and
the predicted probabilities, per region, summarised by the median. Each task's profile is the joint
distribution over its strands and positions. Bounds bracket the JSD: a lower-quality bound from a
uniform profile and from the observed profile shuffled over positions, and an upper-quality bound from
the concordance of two replicates (or pseudo-replicates) of the same regions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def _flat(x: np.ndarray) -> np.ndarray:
    """``(N, T, S, L)`` → ``(N, T, S·L)`` float64."""
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(*x.shape[:2], -1)


def _normalise(x: np.ndarray) -> np.ndarray:
    """Rows summing to one along the last axis (NaN where the row sums to 0)."""
    total = x.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, x / total, np.nan)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distance along the last axis between non-negative ``p`` and ``q`` (each normalised).

    ``sqrt(½ KL(p‖m) + ½ KL(q‖m))``, ``m = (p + q) / 2``, natural log; NaN where either sums to 0.
    """
    p, q = _normalise(np.asarray(p, np.float64)), _normalise(np.asarray(q, np.float64))
    m = (p + q) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum(axis=-1)
    js = np.clip((kl_p + kl_q) / 2, 0.0, None)
    js[np.isnan(p).any(axis=-1) | np.isnan(q).any(axis=-1)] = np.nan
    return np.sqrt(js)


def softmax_profile(profile_logits: np.ndarray) -> np.ndarray:
    """Predicted probabilities ``(N, T, S·L)`` from logits ``(N, T, S, L)`` (one softmax per task)."""
    flat = _flat(profile_logits)
    e = np.exp(flat - flat.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def profile_jsd(counts: np.ndarray, profile_logits: np.ndarray) -> np.ndarray:
    """JSD ``(N, T)`` between observed counts ``(N, T, S, L)`` and the predicted profiles (NaN for empty regions)."""
    return jensen_shannon(_flat(counts), softmax_profile(profile_logits))


def jsd_bounds(
    counts: np.ndarray, seed: int, replicates: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Per-region reference JSDs ``(N, T)`` of the observed counts ``(N, T, S, L)``.

    Returns
    -------
    dict
        ``uniform``: against a flat profile; ``shuffled``: against the same counts permuted over
        positions (chrombpnet's "shuffled labels"); ``replicate`` (when the counts of two replicates of
        the same windows are given): between the two replicates.
    """
    obs = _flat(counts)
    rng = np.random.default_rng(seed)
    out = {
        "uniform": jensen_shannon(obs, np.ones_like(obs)),
        "shuffled": jensen_shannon(obs, rng.permuted(obs, axis=-1)),
    }
    if replicates is not None:
        out["replicate"] = jensen_shannon(_flat(replicates[0]), _flat(replicates[1]))
    return out


def log_totals(counts: np.ndarray) -> np.ndarray:
    """``log(1 + total)`` per region and task of counts ``(N, T, S, L)``."""
    return np.log1p(_flat(counts).sum(axis=-1))


def counts_metrics(observed_log: np.ndarray, predicted_log: np.ndarray) -> dict[str, float]:
    """Pearson, Spearman and MSE of log counts ``(N,)`` (NaN correlations with fewer than 3 regions or no spread)."""
    obs, pred = np.asarray(observed_log, np.float64), np.asarray(predicted_log, np.float64)
    ok = len(obs) >= 3 and np.ptp(obs) > 0 and np.ptp(pred) > 0
    return {
        "counts_pearson": float(stats.pearsonr(obs, pred)[0]) if ok else float("nan"),
        "counts_spearman": float(stats.spearmanr(obs, pred)[0]) if ok else float("nan"),
        "counts_mse": float(np.mean((obs - pred) ** 2)) if len(obs) else float("nan"),
        "n_regions": len(obs),
    }


def median_or_nan(values: np.ndarray) -> float:
    """Median ignoring NaN (NaN when nothing is left)."""
    values = np.asarray(values, np.float64)
    return float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")


def region_table(
    data: dict,
    profile_logits: np.ndarray,
    log_counts: np.ndarray,
    counts: np.ndarray,
    seed: int,
    replicates: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row per region and task: observed and predicted log counts, JSD and its reference JSDs.

    Parameters
    ----------
    data
        The dataset the predictions are for (``chrom``, ``center``, ``is_peak``, ``tasks``).
    profile_logits, log_counts
        Predictions ``(N, T, S, L)`` and ``(N, T)``.
    counts
        Observed counts of the central windows ``(N, T, S, L)``.
    seed
        Seeds the shuffled bound.
    replicates
        Counts of two replicates of the same windows, for the replicate bound.
    """
    jsd = profile_jsd(counts, profile_logits)
    bounds = jsd_bounds(counts, seed, replicates)
    n, t = log_counts.shape
    table = pd.DataFrame({
        "chrom": np.repeat(np.asarray(data["chrom"]).astype(str), t),
        "center": np.repeat(np.asarray(data["center"]), t),
        "region": np.repeat(np.where(np.asarray(data["is_peak"], bool), "peaks", "background"), t),
        "task": np.tile(np.asarray(data["tasks"]).astype(str), n),
        "observed_log_counts": log_totals(counts).ravel(),
        "predicted_log_counts": log_counts.ravel(),
        "jsd": jsd.ravel(),
    })  # fmt: skip
    for name, values in bounds.items():
        table[f"jsd_{name}"] = values.ravel()
    return table


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Metrics per task and region set (``peaks``, ``background``, ``all``) from :func:`region_table` rows."""
    rows = []
    bound_columns = [c for c in table.columns if c.startswith("jsd_")]
    for task, by_task in table.groupby("task", sort=False):
        for region in ("peaks", "background", "all"):
            part = by_task if region == "all" else by_task[by_task["region"] == region]
            if part.empty:
                continue
            row = {"task": task, "regions": region}
            row |= counts_metrics(part["observed_log_counts"].to_numpy(), part["predicted_log_counts"].to_numpy())
            row["median_jsd"] = median_or_nan(part["jsd"].to_numpy())
            row |= {f"median_{c}": median_or_nan(part[c].to_numpy()) for c in bound_columns}
            rows.append(row)
    return pd.DataFrame(rows)
