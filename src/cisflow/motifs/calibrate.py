"""Hit thresholds calibrated from the data: per-pattern λ from the seqlets, a shuffled null, empirical q-values.

The sparse fit (:mod:`cisflow.motifs.fit`) is run a second time on *null regions*: each region's
bases permuted over its positions while every position keeps its contribution score
(:func:`shuffle_bases`), so the region keeps its base composition and its profile of scores but
loses its motifs (:func:`shuffle_positions` moves the scores with their bases instead). Null hits
are the windows where chance sequence under the region's contributions still resembles a CWM. For
each pattern and a threshold ``t`` on a hit statistic (:func:`cisflow.motifs.hits.call_hits` ranks hits
by their window's cosine with the CWM: the null changes the bases, not the scores), the false discovery
rate is estimated as

    FDR(t) = (null hits ≥ t / number of null shuffles) / (real hits ≥ t)

and a hit's q-value is the least FDR over the thresholds at or below its value (monotone, ≤ 1).
Hits are kept at ``q ≤ fdr``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cisflow.errors import CisflowError
from cisflow.motifs.modisco import Pattern


def shuffle_positions(
    scores: np.ndarray, x: np.ndarray, seed: int, n_shuffles: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Null regions: each region's positions permuted (bases and scores together), ``n_shuffles`` times.

    Parameters
    ----------
    scores, x
        ``(N, 4, L)`` scores and one-hot.
    seed
        Seed of the permutations.

    Returns
    -------
    scores, x
        ``(n_shuffles × N, 4, L)`` each, shuffle-major (rows ``s × N + i`` come from region ``i``).
    """
    scores, x = np.asarray(scores), np.asarray(x)
    if scores.shape != x.shape or scores.ndim != 3:
        raise CisflowError(f"scores {scores.shape} and one-hot {x.shape} must both be (N, 4, L)")
    if n_shuffles < 1:
        raise CisflowError(f"n_shuffles must be ≥ 1, got {n_shuffles}")
    rng = np.random.default_rng(seed)
    n, _, length = scores.shape
    order = np.argsort(rng.random((n_shuffles * n, length)), axis=1)[:, None, :]
    rows = np.tile(np.arange(n), n_shuffles)
    return np.take_along_axis(scores[rows], order, axis=2), np.take_along_axis(x[rows], order, axis=2)


def shuffle_bases(scores: np.ndarray, x: np.ndarray, seed: int, n_shuffles: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Null regions: each region's bases permuted over its positions while every position keeps its score.

    The actual-base score track ``a[p] = Σ_b scores[b, p]`` stays where it is (so the null keeps the
    region's profile of contributions: its blobs, their heights and widths) and is carried by the base
    that the permutation puts at ``p`` (so the region keeps its base composition but loses its motifs).

    Returns ``(n_shuffles × N, 4, L)`` scores and one-hot, shuffle-major, as :func:`shuffle_positions`.
    """
    _, x_null = shuffle_positions(x, x, seed, n_shuffles)
    track = (np.asarray(scores) * np.asarray(x)).sum(axis=1, keepdims=True)
    return x_null * np.tile(track, (n_shuffles, 1, 1)), x_null


def empirical_qvalues(real: np.ndarray, null: np.ndarray, n_shuffles: int = 1) -> np.ndarray:
    """q-values of real hits' statistic against null hits' (higher = stronger); see the module docstring.

    Parameters
    ----------
    real
        ``(H,)`` statistic (e.g. cosine with the CWM) of the real hits of one pattern.
    null
        ``(H0,)`` the same statistic of the pattern's hits in the null regions.
    n_shuffles
        How many shufflings of the regions produced ``null``.

    Returns
    -------
    numpy.ndarray
        ``(H,)`` q-values in [0, 1], in the order of ``real``.
    """
    real, null = np.asarray(real, dtype=np.float64), np.sort(np.asarray(null, dtype=np.float64))
    if real.size == 0:
        return np.zeros(0)
    order = np.argsort(-real, kind="stable")
    ranked = real[order]
    n_real = np.searchsorted(-ranked, -ranked, side="right")  # real hits ≥ ranked[i], ties included
    n_null = null.size - np.searchsorted(null, ranked, side="left")
    fdr = np.minimum(n_null / n_shuffles / n_real, 1.0)
    q = np.minimum.accumulate(fdr[::-1])[::-1]
    out = np.empty(real.size)
    out[order] = q
    return out


def _seqlet_windows(track: np.ndarray, pattern: Pattern) -> np.ndarray:
    """The actual-base scores ``(n, 4, W)`` under a pattern's seqlets, in the pattern's orientation."""
    width = pattern.cwm.shape[1]
    s = pattern.seqlets
    idx = np.asarray(s.get("example_idx", []), dtype=np.int64)
    start = np.asarray(s.get("start", []), dtype=np.int64)
    rc = np.asarray(s.get("is_revcomp", []), dtype=bool)
    ok = (start >= 0) & (start + width <= track.shape[2]) & (idx >= 0) & (idx < len(track))
    cols = start[ok, None] + np.arange(width)
    windows = track[idx[ok, None], :, cols].transpose(0, 2, 1)  # (n, 4, W)
    windows[rc[ok]] = windows[rc[ok]][:, ::-1, ::-1]
    return windows


def seqlet_lambdas(
    scores: np.ndarray,
    x: np.ndarray,
    patterns: Sequence[Pattern],
    quantile: float = 0.1,
    floor: float = 0.3,
    cap: float = 0.7,
) -> dict[str, float]:
    """Per-pattern λ from the pattern's own seqlets: the ``quantile`` of their cosines with the trimmed CWM.

    A pattern that TF-MoDISCO built from few or noisy seqlets has a CWM that its own seqlets resemble only
    loosely (cosines of 0.5–0.6 on a weak model); Fi-NeMo's fixed λ = 0.7 would then reject almost every
    instance. Here each pattern's λ is the ``quantile`` (default: the 10th percentile) of the cosines
    between its seqlets' actual-base scores and its trimmed CWM, kept within ``[floor, cap]``; the
    shuffled null then decides which of the looser hits are kept.

    Returns
    -------
    dict
        ``{pattern: λ}`` (``cap`` for a pattern without seqlets).
    """
    track = np.asarray(scores, dtype=np.float64) * np.asarray(x)
    out = {}
    for p in patterns:
        windows = _seqlet_windows(track, p)[:, :, p.trim[0] : p.trim[1]]
        if not len(windows):
            out[p.name] = cap
            continue
        cwm = p.trimmed_cwm / np.linalg.norm(p.trimmed_cwm)
        norms = np.linalg.norm(windows.reshape(len(windows), -1), axis=1)
        cosine = (windows * cwm).sum(axis=(1, 2)) / np.maximum(norms, 1e-12)
        out[p.name] = float(np.clip(np.quantile(cosine, quantile), floor, cap))
    return out
