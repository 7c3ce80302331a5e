"""Hit thresholds calibrated from the data: a null from position-shuffled scores and empirical q-values.

The sparse fit (:mod:`cisflow.motifs.fit`) is run a second time on *null regions*: each region's
positions (its one-hot bases together with their contribution scores) permuted at random, so the
region keeps its bases and its distribution of scores but loses every motif. Null hits are the
windows where chance alignments of strong bases still resemble a CWM. For each pattern and a
score threshold ``t``, the false discovery rate is estimated as

    FDR(t) = (null hits ≥ t / number of null shuffles) / (real hits ≥ t)

and a hit's q-value is the least FDR over the thresholds at or below its score (monotone, ≤ 1).
Hits are kept at ``q ≤ fdr``.
"""

from __future__ import annotations

import numpy as np

from cisflow.errors import CisflowError


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
    """q-values of real scores against null scores (higher = stronger); see the module docstring.

    Parameters
    ----------
    real
        ``(H,)`` scores of the real hits of one pattern.
    null
        ``(H0,)`` scores of the same pattern's hits in the null regions.
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
