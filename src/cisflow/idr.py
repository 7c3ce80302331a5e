"""Irreproducible discovery rate (IDR) of two replicate peak sets.

Follows Li, Brown, Huang & Bickel (2011, Ann. Appl. Stat. 5:1752) and ENCODE's ``idr`` 2.0
tool (github.com/nboley/idr):

1. Peaks of the two replicates are matched: without an oracle list, overlapping peaks of both
   replicates are merged into one region (signals summed per replicate, or the minimum for
   p-values); with an oracle (pooled) list, each oracle peak takes, per replicate, the overlapping
   peak with the closest summit (then larger overlap fraction, then larger signal), and the
   oracle's coordinates and values are reported. Unlike the ``idr`` tool, only replicate peaks that
   actually overlap the oracle peak are candidates (``idr`` considers every peak of the merged
   overlap cluster).
2. Each replicate's matched values are ranked (ties broken at random with ``seed``), ranks become
   ``u = (rank + 1) / (n + 1)``, and pseudo-data ``z = G^{-1}(u)`` where ``G`` is the marginal
   CDF of the mixture ``pi N(mu, sigma^2) + (1 - pi) N(0, 1)``.
3. The two-component Gaussian copula mixture (reproducible: mean ``mu``, sd ``sigma``,
   correlation ``rho``; irreproducible: independent standard normals) is fitted as ``idr`` 2.0.4
   does: rounds of up to 30 EM steps on fixed pseudo-data, the pseudo-data recomputed from the
   ranks after each round, until the parameters and the pseudo-data change by less than ``eps``.
   When an EM update leaves the parameter bounds (mu 0–20, sigma 0.2–20, rho 0.2–0.99, pi
   0.01–0.99; typical of pseudo-replicates, whose correlation is near 1), that round restarts
   from its initial parameters with bounded coordinate ascent (each parameter in turn maximised
   within its bounds by ``scipy.optimize.fminbound``) instead of clipping the EM update.
4. Local idr = posterior probability of the irreproducible component (1 where ``z1 + z2 < 0``,
   as ``idr`` filters peaks below the noise mean; at least ``eps``); global IDR of a peak = mean
   local idr of all peaks with local idr at most its own. Peaks without a match in both
   replicates get local and global IDR 1.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import fminbound
from scipy.special import ndtr

from cisflow.errors import CisflowError
from cisflow.narrowpeak import (
    COLUMNS,
    PeaksLike,
    as_peaks,
    empty_peaks,
    overlap_pairs,
    read_narrowpeak,
    sort_peaks,
    write_narrowpeak,
)

log = logging.getLogger(__name__)

MIN_MATCHED = 20
_BOUNDS = {"mu": (0.0, 20.0), "sigma": (0.2, 20.0), "rho": (0.20, 0.99), "pi": (0.01, 0.99)}  # idr 2.0.4
_LOWER = np.array([low for low, _ in _BOUNDS.values()])
_UPPER = np.array([high for _, high in _BOUNDS.values()])
_ROUND_STEPS = 30
_RANK_COLUMNS = {"signal": "signal", "signal.value": "signal", "pvalue": "pvalue", "p.value": "pvalue"}
_LOG_2PI = math.log(2 * math.pi)


@dataclass
class IDRFit:
    """Fitted copula mixture: reproducible N(mu, sigma^2) with correlation rho, weight pi."""

    mu: float
    sigma: float
    rho: float
    pi: float
    n_iter: int
    converged: bool
    log_likelihood: float
    boundary_rounds: int = 0

    def theta(self) -> np.ndarray:
        """Parameters ``(mu, sigma, rho, pi)`` as an array ``(4,)``."""
        return np.array([self.mu, self.sigma, self.rho, self.pi])


# ----------------------------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------------------------


def mixture_cdf(z: np.ndarray, mu: float, sigma: float, pi: float) -> np.ndarray:
    """Marginal CDF ``G(z) = pi Phi((z - mu) / sigma) + (1 - pi) Phi(z)``, same shape as ``z``."""
    return pi * ndtr((z - mu) / sigma) + (1 - pi) * ndtr(z)


def _mixture_pdf(z: np.ndarray, mu: float, sigma: float, pi: float) -> np.ndarray:
    """Marginal density of the mixture."""
    c = 1 / math.sqrt(2 * math.pi)
    return pi * c * np.exp(-0.5 * ((z - mu) / sigma) ** 2) / sigma + (1 - pi) * c * np.exp(-0.5 * z**2)


def pseudo_values(u: np.ndarray, mu: float, sigma: float, pi: float) -> np.ndarray:
    """Inverse of :func:`mixture_cdf` at ``u`` in (0, 1): grid interpolation, then Newton steps.

    Parameters
    ----------
    u
        Probabilities ``(n,)``, e.g. ``(rank + 1) / (n + 1)``.

    Returns
    -------
    numpy.ndarray
        ``z`` ``(n,)`` with ``G(z) = u``.
    """
    lo, hi = min(-10.0, mu - 10 * sigma), max(10.0, mu + 10 * sigma)
    grid = np.linspace(lo, hi, 4001)
    z = np.interp(u, mixture_cdf(grid, mu, sigma, pi), grid)
    for _ in range(3):
        dens = np.maximum(_mixture_pdf(z, mu, sigma, pi), 1e-300)
        z = np.clip(z - (mixture_cdf(z, mu, sigma, pi) - u) / dens, lo, hi)
    return z


def _log_densities(z1: np.ndarray, z2: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log densities ``(n,)`` of the reproducible and irreproducible bivariate normals."""
    mu, sigma, rho, _ = theta
    a, b = (z1 - mu) / sigma, (z2 - mu) / sigma
    one_m = 1 - rho * rho
    log_f1 = -_LOG_2PI - 2 * math.log(sigma) - 0.5 * math.log(one_m) - (a * a - 2 * rho * a * b + b * b) / (2 * one_m)
    log_f0 = -_LOG_2PI - 0.5 * (z1 * z1 + z2 * z2)
    return log_f1, log_f0


def posterior_reproducible(z1: np.ndarray, z2: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Posterior probability ``(n,)`` that each pair of pseudo-values is from the reproducible component."""
    log_f1, log_f0 = _log_densities(z1, z2, theta)
    pi = theta[3]
    logit = math.log(pi) + log_f1 - math.log(1 - pi) - log_f0
    return 0.5 * (1 + np.tanh(0.5 * logit))


def _mixture_log_likelihood(z1: np.ndarray, z2: np.ndarray, theta: np.ndarray) -> float:
    """Log-likelihood of the bivariate Gaussian mixture at fixed pseudo-data."""
    log_f1, log_f0 = _log_densities(z1, z2, theta)
    return float(np.logaddexp(math.log(theta[3]) + log_f1, math.log(1 - theta[3]) + log_f0).sum())


def _copula_log_likelihood(z1: np.ndarray, z2: np.ndarray, theta: np.ndarray) -> float:
    """Log-likelihood of the copula mixture at pseudo-data ``z1, z2``."""
    mu, sigma, _, pi = theta
    log_f1, log_f0 = _log_densities(z1, z2, theta)
    joint = np.logaddexp(math.log(pi) + log_f1, math.log(1 - pi) + log_f0).sum()
    margins = np.log(_mixture_pdf(z1, mu, sigma, pi)).sum() + np.log(_mixture_pdf(z2, mu, sigma, pi)).sum()
    return float(joint - margins)


def _m_step(z1: np.ndarray, z2: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Closed-form M-step ``(mu, sigma, rho, pi)`` for weights ``w`` of the reproducible component (unbounded)."""
    sw = max(float(w.sum()), 1e-12)
    mu = float((w * (z1 + z2)).sum() / (2 * sw))
    var = float((w * ((z1 - mu) ** 2 + (z2 - mu) ** 2)).sum() / (2 * sw))
    rho = float((w * (z1 - mu) * (z2 - mu)).sum() / (max(var, 1e-12) * sw))
    return np.array([mu, math.sqrt(max(var, 0.0)), rho, sw / len(w)])


def _clip(theta: np.ndarray) -> tuple[np.ndarray, bool]:
    """``theta`` clipped to the bounds, and whether anything was clipped."""
    clipped = np.clip(theta, _LOWER, _UPPER)
    return clipped, bool((clipped != theta).any())


class _RankPair:
    """Rank scores of both replicates, kept as distinct values plus indices for fast inversion."""

    def __init__(self, u1: np.ndarray, u2: np.ndarray) -> None:
        self.values, inverse = np.unique(np.concatenate([u1, u2]), return_inverse=True)
        self.i1, self.i2 = inverse[: len(u1)], inverse[len(u1) :]

    def pseudo(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pseudo-values ``(n,)`` of both replicates under ``theta``."""
        z = pseudo_values(self.values, theta[0], theta[1], theta[3])
        return z[self.i1], z[self.i2]


def _em_round(z1: np.ndarray, z2: np.ndarray, theta: np.ndarray, eps: float) -> tuple[np.ndarray, bool]:
    """Up to 30 EM steps on fixed pseudo-data (``idr``'s ``EM_iteration``).

    Stops when the log-likelihood gains less than ``eps``. Returns the parameters and whether an
    update left the bounds (the round is then abandoned: the caller switches to coordinate ascent).
    """
    prev = _mixture_log_likelihood(z1, z2, theta)
    for _ in range(_ROUND_STEPS):
        theta, at_bound = _clip(_m_step(z1, z2, posterior_reproducible(z1, z2, theta)))
        if at_bound:
            return theta, True
        current = _mixture_log_likelihood(z1, z2, theta)
        if current - prev < eps:
            break
        prev = current
    return theta, False


def _ca_step(z1: np.ndarray, z2: np.ndarray, theta: np.ndarray, j: int) -> float:
    """Maximise the mixture log-likelihood over parameter ``j`` within its bounds, in place; return it."""

    def loss(step: float) -> float:
        trial = theta.copy()
        trial[j] += step
        return -_mixture_log_likelihood(z1, z2, trial)

    step = fminbound(loss, _LOWER[j] - theta[j], _UPPER[j] - theta[j])
    before, after = -loss(0.0), -loss(step)
    if after > before:
        theta[j] += step
        return after
    return before


def _ca_round(z1: np.ndarray, z2: np.ndarray, theta: np.ndarray, eps: float) -> np.ndarray:
    """Up to 30 sweeps of bounded coordinate ascent on fixed pseudo-data (``idr``'s ``CA_iteration``)."""
    theta = np.clip(np.array(theta, dtype=float), _LOWER, _UPPER)
    prev = _mixture_log_likelihood(z1, z2, theta)
    for _ in range(_ROUND_STEPS):
        current = prev
        for j in range(len(theta)):
            current = _ca_step(z1, z2, theta, j)
        if current - prev < eps:
            break
        prev = current
    return theta


def fit_idr_model(
    u1: np.ndarray,
    u2: np.ndarray,
    *,
    start: tuple[float, float, float, float] = (0.1, 1.0, 0.2, 0.5),
    max_iter: int = 3000,
    eps: float = 1e-6,
) -> IDRFit:
    """Fit the copula mixture to rank scores by EM on pseudo-data (``idr`` 2.0.4's algorithm).

    Each outer iteration runs a round of up to 30 EM steps on the current pseudo-data (bounded
    coordinate ascent from the same start instead, if an EM update leaves the bounds), then
    recomputes the pseudo-data from the ranks with the new marginal parameters; it stops once the
    summed parameter change and the mean pseudo-value change both fall below ``eps`` (after 3
    iterations).

    Parameters
    ----------
    u1, u2
        Rank scores ``(n,)`` in (0, 1) of the matched peaks in each replicate, e.g.
        ``(rank + 1) / (n + 1)`` (higher = stronger).
    start
        Initial ``(mu, sigma, rho, pi)``; the ``idr`` tool's defaults.
    max_iter, eps
        At most ``max_iter`` outer iterations; convergence tolerance.
    """
    theta, ranks = np.array(start, dtype=float), _RankPair(u1, u2)
    z1, z2 = ranks.pseudo(theta)
    converged, it, boundary = False, 0, 0
    while it < max_iter and not converged:
        it += 1
        new, at_bound = _em_round(z1, z2, theta, eps / 10)
        if at_bound:
            new, boundary = _ca_round(z1, z2, theta, eps / 10), boundary + 1
        y1, y2 = ranks.pseudo(new)
        change = float(np.abs(new - theta).sum())
        moved = float(np.abs(y1 - z1).mean() + np.abs(y2 - z2).mean())
        theta, z1, z2 = new, y1, y2
        converged = it > 3 and change < eps and moved < eps
    if not converged:
        log.warning("IDR EM did not converge in %d iterations", max_iter)
    ll = _copula_log_likelihood(z1, z2, theta)
    fit = IDRFit(
        *(float(x) for x in theta), n_iter=it, converged=converged, log_likelihood=ll, boundary_rounds=boundary
    )
    log.info("IDR fit: mu=%.3f sigma=%.3f rho=%.3f pi=%.3f (%d iterations, %d at a bound)", *theta, it, boundary)
    return fit


def local_idr(u1: np.ndarray, u2: np.ndarray, fit: IDRFit, eps: float = 1e-6) -> np.ndarray:
    """Local idr ``(n,)``: posterior of the irreproducible component, 1 below the noise mean."""
    z1, z2 = _RankPair(u1, u2).pseudo(fit.theta())
    idr = 1 - posterior_reproducible(z1, z2, fit.theta())
    idr[z1 + z2 < 0] = 1.0
    return np.clip(idr, eps, 1.0)


def global_idr(local: np.ndarray) -> np.ndarray:
    """Global IDR ``(n,)``: mean of the local idr of all peaks with local idr <= each peak's own."""
    order = np.argsort(local, kind="mergesort")
    ordered = local[order]
    cummean = np.cumsum(ordered) / np.arange(1, len(ordered) + 1)
    last_tie = np.searchsorted(ordered, ordered, side="right") - 1
    out = np.empty_like(local, dtype=float)
    out[order] = cummean[last_tie]
    return out


def rank_scores(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """Rank scores ``(rank + 1) / (n + 1)`` of ``values`` ``(n,)``, ascending, ties broken at random."""
    rng = np.random.default_rng(seed)
    ranks = np.lexsort((rng.random(len(values)), values)).argsort()
    return (ranks + 1) / (len(values) + 1)


def compute_idr(
    s1: np.ndarray, s2: np.ndarray, *, seed: int = 0, max_iter: int = 3000, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray, IDRFit]:
    """Local and global IDR ``(n,)`` of matched scores ``s1, s2`` ``(n,)`` (higher = stronger)."""
    u1, u2 = rank_scores(np.asarray(s1, dtype=float), seed), rank_scores(np.asarray(s2, dtype=float), seed + 1)
    fit = fit_idr_model(u1, u2, max_iter=max_iter, eps=eps)
    local = local_idr(u1, u2, fit, eps)
    return local, global_idr(local), fit


# ----------------------------------------------------------------------------------------------
# matching peaks
# ----------------------------------------------------------------------------------------------


def _rank_column(rank: str) -> str:
    """The peak-table column IDR ranks by."""
    if rank not in _RANK_COLUMNS:
        raise CisflowError(f"unknown IDR rank {rank!r} (use 'signal' or 'pvalue')")
    return _RANK_COLUMNS[rank]


def match_peaks(rep1: pd.DataFrame, rep2: pd.DataFrame, oracle: pd.DataFrame | None, rank: str) -> pd.DataFrame:
    """Matched peak table: narrowPeak columns plus ``score1``, ``score2`` and ``matched``.

    ``score1``/``score2`` are each replicate's ranking value (0 when unmatched); ``matched`` is
    true where both replicates have a peak.
    """
    column = _rank_column(rank)
    if oracle is not None:
        return _match_oracle(rep1, rep2, oracle, column)
    return _merge_replicates(rep1, rep2, column)


def _merge_replicates(rep1: pd.DataFrame, rep2: pd.DataFrame, column: str) -> pd.DataFrame:
    """Merge overlapping peaks of both replicates into regions (the ``idr`` tool's merged peaks)."""
    both = pd.concat([rep1.assign(_rep=1), rep2.assign(_rep=2)], ignore_index=True)
    both = both.sort_values(["chrom", "strand", "start", "end"], kind="mergesort").reset_index(drop=True)
    key = both["chrom"] + "\0" + both["strand"]
    prev_end = both.groupby(key, sort=False)["end"].cummax().shift(1)
    new = (key != key.shift(1)) | (both["start"] >= prev_end)
    both["_cluster"] = new.cumsum()
    agg = "sum" if column == "signal" else "min"
    per_rep = both.pivot_table(index="_cluster", columns="_rep", values=column, aggfunc=agg)
    per_rep = per_rep.reindex(columns=[1, 2])
    best = both.loc[both.groupby(["_cluster", "_rep"])["signal"].idxmax()]
    best = best[best["summit"] >= 0]
    summit_abs = (best["start"] + best["summit"]).groupby(best["_cluster"]).mean()
    region = both.groupby("_cluster").agg(chrom=("chrom", "first"), strand=("strand", "first"),
                                          start=("start", "min"), end=("end", "max"))  # fmt: skip
    out = region.assign(score1=per_rep[1].fillna(0.0), score2=per_rep[2].fillna(0.0))
    out["matched"] = per_rep.notna().all(axis=1)
    summit = summit_abs.reindex(out.index).fillna(-1).astype(np.int64)
    out["summit"] = np.where(summit >= 0, summit - out["start"], -1)
    merged = np.where(out["matched"], out["score1"] + out["score2"], -1.0)
    out["signal"] = merged if column == "signal" else -1.0
    out["pvalue"] = np.minimum(out["score1"], out["score2"]) if column == "pvalue" else -1.0
    out["name"], out["score"], out["qvalue"] = ".", 0, -1.0
    return out.reset_index(drop=True)[[*COLUMNS, "score1", "score2", "matched"]]


def _best_match(oracle: pd.DataFrame, rep: pd.DataFrame, column: str) -> np.ndarray:
    """Per oracle peak ``(n,)``, the ranking value of its best-matching overlapping rep peak (NaN if none)."""
    io, ir, bp = overlap_pairs(oracle, rep)
    o_summit = (oracle["start"] + oracle["summit"]).to_numpy()[io]
    r_summit = (rep["start"] + rep["summit"]).to_numpy()[ir]
    no_summit = (oracle["summit"].to_numpy()[io] < 0) | (rep["summit"].to_numpy()[ir] < 0)
    dist = np.where(no_summit, np.iinfo(np.int64).max, np.abs(o_summit - r_summit))
    frac = bp / (oracle["end"] - oracle["start"]).to_numpy()[io]
    signal = rep[column].to_numpy(dtype=float)[ir]
    order = np.lexsort((-signal, -frac, dist, io))
    io, signal = io[order], signal[order]
    first = np.concatenate([[True], io[1:] != io[:-1]]) if len(io) else np.zeros(0, dtype=bool)
    out = np.full(len(oracle), np.nan)
    out[io[first]] = signal[first]
    return out


def _match_oracle(rep1: pd.DataFrame, rep2: pd.DataFrame, oracle: pd.DataFrame, column: str) -> pd.DataFrame:
    """Oracle peaks with each replicate's best-matching peak value."""
    out = oracle[COLUMNS].reset_index(drop=True).copy()
    s1 = _best_match(out, rep1.reset_index(drop=True), column)
    s2 = _best_match(out, rep2.reset_index(drop=True), column)
    out["matched"] = ~np.isnan(s1) & ~np.isnan(s2)
    out["score1"], out["score2"] = np.nan_to_num(s1), np.nan_to_num(s2)
    return out


# ----------------------------------------------------------------------------------------------
# the peak-set function
# ----------------------------------------------------------------------------------------------


def idr_peaks(
    rep1: PeaksLike,
    rep2: PeaksLike,
    oracle: PeaksLike | None = None,
    rank: str = "pvalue",
    threshold: float = 0.05,
    *,
    keep_all: bool = False,
    seed: int = 0,
    min_matched: int = MIN_MATCHED,
) -> pd.DataFrame:
    """Peaks reproducible between two replicates at global IDR <= ``threshold``.

    Parameters
    ----------
    rep1, rep2
        Replicate peak sets (tables or narrowPeak paths).
    oracle
        Optional pooled peak list; its coordinates and values are reported (ENCODE passes the
        pooled peaks here).
    rank
        ``"pvalue"`` (-log10 p-value; the default, as ENCODE ranks MACS peaks) or ``"signal"``
        (signal value, ENCODE's setting for SPP peaks).
    threshold
        Global IDR cut-off (ENCODE: 0.05).
    keep_all
        Return every matched / merged peak, not only those passing ``threshold``.
    seed
        Seed for breaking rank ties.
    min_matched
        With fewer matched peaks a warning is logged and no peak is reproducible.

    Returns
    -------
    pandas.DataFrame
        narrowPeak columns (``score`` = ``min(1000, int(-125 log2 IDR))`` as ``idr`` writes it)
        plus ``local_idr``, ``global_idr``, ``score1``, ``score2``; sorted by coordinates.
    """
    peaks = match_peaks(as_peaks(rep1), as_peaks(rep2), None if oracle is None else as_peaks(oracle), rank)
    peaks["local_idr"], peaks["global_idr"] = 1.0, 1.0
    matched = peaks["matched"].to_numpy()
    if matched.sum() < min_matched:
        log.warning("IDR: only %d matched peaks (< %d); no reproducible peaks", matched.sum(), min_matched)
        return _finish(peaks, threshold, keep_all)
    local, glob, _ = compute_idr(peaks.loc[matched, "score1"], peaks.loc[matched, "score2"], seed=seed)
    peaks.loc[matched, "local_idr"] = local
    peaks.loc[matched, "global_idr"] = glob
    out = _finish(peaks, threshold, keep_all)
    log.info("IDR: %d of %d matched peaks at IDR <= %g", int((glob <= threshold).sum()), matched.sum(), threshold)
    return out


def _finish(peaks: pd.DataFrame, threshold: float, keep_all: bool) -> pd.DataFrame:
    """Score from global IDR, optional threshold, coordinate order."""
    if not keep_all:
        peaks = peaks[peaks["global_idr"] <= threshold]
    peaks = peaks.copy()
    peaks["score"] = np.minimum(1000, (-125 * np.log2(peaks["global_idr"] + 1e-12)).astype(np.int64))
    peaks = peaks.drop(columns="matched")
    if peaks.empty:
        return empty_peaks().assign(local_idr=1.0, global_idr=1.0, score1=0.0, score2=0.0).iloc[:0]
    return sort_peaks(peaks)


def idr_to_files(
    rep1: str | Path,
    rep2: str | Path,
    out: str | Path,
    *,
    oracle: str | Path | None = None,
    rank: str = "pvalue",
    threshold: float = 0.05,
    seed: int = 0,
    table: str | Path | None = None,
) -> Path:
    """Run :func:`idr_peaks` on narrowPeak files; write the passing peaks as narrowPeak to ``out``.

    With ``table``, every matched peak with its local and global IDR is also written as TSV.

    Raises
    ------
    CisflowError
        Naming both files when fewer than :data:`MIN_MATCHED` peaks match (too few to fit IDR's model);
        nothing is written, rather than an empty peak set that looks like a finished result.
    """
    reps = [read_narrowpeak(p) for p in (rep1, rep2)]
    pooled = None if oracle is None else read_narrowpeak(oracle)
    n_matched = int(match_peaks(*reps, pooled, rank)["matched"].sum())
    if n_matched < MIN_MATCHED:
        raise CisflowError(
            f"only {n_matched} peak(s) of {rep1} and {rep2} match, too few for IDR (it needs {MIN_MATCHED} to fit its "
            "model); nothing written (for so few peaks use `cisflow peaks overlap`)"
        )
    every = idr_peaks(*reps, oracle=pooled, rank=rank, threshold=threshold, keep_all=True, seed=seed)
    write_narrowpeak(every[every["global_idr"] <= threshold], out)
    if table is not None:
        write_idr_table(every, table)
    return Path(out)


def write_idr_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write IDR results as TSV with a header (narrowPeak columns plus idr columns), atomically."""
    from cisflow.io import atomic_open

    with atomic_open(path) as handle:
        df.to_csv(handle, sep="\t", index=False, float_format="%.6g")
