"""A gapped k-mer SVM baseline (gkm-SVM with the direct gapped k-mer kernel), with explicit features.

gkm-SVM (Ghandi et al. 2014; LS-GKM ``-t 0``) compares sequences by their gapped k-mers: every
l-mer window, seen through each of the ``C(l, k)`` choices of ``k`` informative positions, gives
one gapped k-mer (pattern, bases). The direct kernel is the dot product of the gapped k-mer count
vectors, normalised (``K(x, y) / sqrt(K(x, x) K(y, y))``); both strands are counted. Here the count
vectors are built explicitly (``C(l, k) · 4^k`` columns, sparse) and L2-normalised, so the kernel
SVM is a linear SVM on them (scikit-learn ``LinearSVC``, squared hinge, L2). With ``l = 11, k = 7``
(LS-GKM's default) the feature space has 5.4 M columns; the defaults here (``l = 8, k = 5``: 56
patterns × 1024) keep the features small enough for the demo's data on a laptop. LS-GKM's default
*estimated* kernel (``-t 2``, which also weighs l-mer pairs with up to ``d`` mismatches) is not this
one. Scores are SVM decision values (rank metrics only, like the PWM baseline).

Windows containing N are skipped. Only the central ``window`` bp of each input are used (None: all).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from cisflow.errors import CisflowError
from cisflow.genome import N_CODE, reverse_complement_codes

log = logging.getLogger(__name__)

_CHUNK_CELLS = 1 << 22  # dense count cells (sequences × features) made at once


def gapped_patterns(l: int, k: int) -> np.ndarray:  # noqa: E741 - gkm-SVM's own name
    """Offsets of the informative positions of every gapped pattern, int64 ``(C(l, k), k)``, lexicographic."""
    if not 1 <= k <= l or k > 10 or l > 16:
        raise CisflowError(f"gapped k-mers need 1 <= k <= l, k <= 10 and l <= 16; got l={l}, k={k}")
    return np.array(list(itertools.combinations(range(l), k)), dtype=np.int64)


def _central(codes: np.ndarray, window: int | None) -> np.ndarray:
    """The central ``window`` columns of ``codes`` ``(N, L)`` (all when None or ≥ L)."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or (codes.size and codes.max() > N_CODE):
        raise CisflowError(f"codes must be (N, L) genome codes 0..{N_CODE}, got shape {codes.shape}")
    if window is None or window >= codes.shape[1]:
        return codes
    start = (codes.shape[1] - window) // 2
    return codes[:, start : start + window]


def _counts(codes: np.ndarray, patterns: np.ndarray, l: int) -> np.ndarray:  # noqa: E741
    """Dense gapped k-mer counts ``(n, P · 4^k)`` int32 of one strand; windows with N skipped."""
    n, length = codes.shape
    k, n_features = patterns.shape[1], len(patterns) * 4 ** patterns.shape[1]
    n_win = length - l + 1
    windows = codes[:, np.arange(n_win)[:, None] + np.arange(l)]  # (n, W, l)
    valid = (windows < N_CODE).all(axis=2)
    gapped = windows[valid][:, patterns].astype(np.int32)  # (V, P, k)
    cols = gapped @ (4 ** np.arange(k - 1, -1, -1, dtype=np.int32)) + np.arange(len(patterns), dtype=np.int32) * 4**k
    rows = np.broadcast_to(np.nonzero(valid)[0][:, None], cols.shape)
    flat = rows.astype(np.int64) * n_features + cols
    return np.bincount(flat.ravel(), minlength=n * n_features).reshape(n, n_features).astype(np.int32)


def gkm_features(codes: np.ndarray, l: int = 8, k: int = 5, window: int | None = None) -> sp.csr_matrix:  # noqa: E741
    """L2-normalised gapped k-mer counts of both strands, float64 CSR ``(N, C(l, k) · 4^k)``.

    Parameters
    ----------
    codes
        uint8 genome codes ``(N, L)`` (A0 C1 G2 T3 N4).
    l, k
        Window length and informative positions per gapped k-mer.
    window
        Central bp used (None: all ``L``).

    Returns
    -------
    scipy.sparse.csr_matrix
        Column ``p · 4^k + code`` counts pattern ``p`` (see :func:`gapped_patterns`) with bases
        ``code`` (base 4, first informative position most significant), summed over both strands;
        rows scaled to unit L2 norm (an all-N row stays zero).
    """
    patterns = gapped_patterns(l, k)
    codes = _central(codes, window)
    n, length = codes.shape
    n_features = len(patterns) * 4**k
    if length < l or n == 0:
        return sp.csr_matrix((n, n_features), dtype=np.float64)
    rc = np.ascontiguousarray(reverse_complement_codes(codes))
    chunk = max(1, _CHUNK_CELLS // n_features)
    blocks = [
        sp.csr_matrix(_counts(codes[lo : lo + chunk], patterns, l) + _counts(rc[lo : lo + chunk], patterns, l))
        for lo in range(0, n, chunk)
    ]
    x = sp.vstack(blocks, format="csr").astype(np.float64)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return sp.diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-300), 0.0)) @ x


def fit_gkm_svm(x: sp.csr_matrix, labels: np.ndarray, C: float = 1.0, seed: int = 0) -> LinearSVC:
    """A linear SVM on :func:`gkm_features` rows; labels 1 / 0 (-1 = ambiguous, dropped)."""
    labels = np.asarray(labels)
    keep = labels >= 0
    y = labels[keep]
    if len(np.unique(y)) < 2:
        raise CisflowError("gkm-SVM needs bound and unbound training sequences")
    return LinearSVC(C=C, random_state=seed, max_iter=5000).fit(x[keep], y)


def _balanced_subset(labels: np.ndarray, max_n: int | None, seed: int) -> np.ndarray:
    """Sorted rows of labelled (0/1) sequences, at most ``max_n``: half bound, half unbound where possible."""
    labels = np.asarray(labels)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    if max_n is None or len(pos) + len(neg) <= max_n:
        return np.sort(np.concatenate([pos, neg]))
    rng = np.random.default_rng(seed)
    n_pos = min(len(pos), max(max_n // 2, max_n - len(neg)))
    pick = [rng.choice(pos, n_pos, replace=False), rng.choice(neg, min(len(neg), max_n - n_pos), replace=False)]
    return np.sort(np.concatenate(pick))


def decision_values(
    model: LinearSVC,
    codes: np.ndarray,
    l: int = 8,  # noqa: E741
    k: int = 5,
    window: int | None = None,
    chunk: int = 2000,
) -> np.ndarray:
    """SVM decision values float32 ``(N,)`` of ``codes``, featurised ``chunk`` sequences at a time."""
    out = [
        model.decision_function(gkm_features(codes[i : i + chunk], l, k, window)) for i in range(0, len(codes), chunk)
    ]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def gkm_svm_scores(
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    test_codes: np.ndarray,
    l: int = 8,  # noqa: E741
    k: int = 5,
    window: int | None = 200,
    cs: Sequence[float] = (0.1, 1.0),
    max_train: int | None = 4000,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Fit gkm-SVMs on ``train`` for each ``C`` in ``cs``, keep the best validation auPRC, score test.

    Parameters
    ----------
    train, valid
        ``(codes (N, L) uint8, labels (N,) int8)``; -1 labels are left out.
    test_codes
        Codes scored, ``(N_test, L)``.
    l, k, window
        See :func:`gkm_features`.
    cs
        SVM ``C`` values tried.
    max_train
        Training sequences at most (a seeded, class-balanced subset; gkm-SVMs are usually trained on a
        few thousand peaks); the same cap applies to the validation sequences that choose ``C``.
    seed
        Seed of the subsets and the solver.

    Returns
    -------
    tuple
        Decision values float32 ``(N_test,)`` and the chosen ``C``.
    """
    model, c = fit_best_gkm_svm(train, valid, l, k, window, cs, max_train, seed)
    return decision_values(model, test_codes, l, k, window), c


def fit_best_gkm_svm(
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    l: int = 8,  # noqa: E741
    k: int = 5,
    window: int | None = 200,
    cs: Sequence[float] = (0.1, 1.0),
    max_train: int | None = 4000,
    seed: int = 0,
) -> tuple[LinearSVC, float]:
    """The gkm-SVM of :func:`gkm_svm_scores` (best validation auPRC over ``cs``) and its ``C``, to score later."""
    from cisflow.metrics import auprc

    rows = _balanced_subset(train[1], max_train, seed)
    x_train = gkm_features(train[0][rows], l, k, window)
    vrows = _balanced_subset(valid[1], max_train, seed + 1)
    x_valid, y_valid = gkm_features(valid[0][vrows], l, k, window), np.asarray(valid[1])[vrows]
    best = None
    for c in cs:
        model = fit_gkm_svm(x_train, np.asarray(train[1])[rows], c, seed)
        score = auprc(y_valid, model.decision_function(x_valid))
        log.info("gkm-SVM l=%d k=%d C=%g on %d sequences: validation auPRC %.4f", l, k, c, len(rows), score)
        if best is None or score > best[0]:
            best = (score, c, model)
    _, c, model = best
    return model, float(c)
