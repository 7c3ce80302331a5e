"""The k-mer baseline: counts of every k-mer per sequence fed to a logistic regression per task.

Counts of every k-mer (default k = 6) in each sequence, reverse complements collapsed
(``canonical=True``: 2080 features for k = 6), windows containing N skipped. Features are
``log1p(count)`` (sparse, no centring, no TF-IDF), fed to an L2 logistic regression (scikit-learn,
liblinear, ``C`` the inverse regularisation strength). One model per task; ambiguous (-1) labels are
dropped from training. When several ``C`` are given, each task keeps the one with the best
validation auPRC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from cisflow import metrics
from cisflow.baselines._codes import check_codes
from cisflow.errors import CisflowError
from cisflow.genome import N_CODE

_CHUNK_CELLS = 1 << 22  # sequence positions counted at once (bounds the int64 window-index block)
_PREDICT_ROWS = 8192  # windows whose features are built at once for prediction


# --------------------------------------------------------------------------- k-mer features


def _check_k(k: int) -> None:
    """CisflowError unless 1 ≤ k ≤ 12."""
    if not 1 <= int(k) <= 12:
        raise CisflowError(f"k must be between 1 and 12, got {k}")


def _reverse_complement_index(k: int) -> np.ndarray:
    """For every k-mer index (base 4, first base most significant) the index of its reverse complement."""
    idx = np.arange(4**k, dtype=np.int64)
    digits = (idx[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4  # (4^k, k), first base first
    rc_digits = 3 - digits[:, ::-1]
    return rc_digits @ (4 ** np.arange(k - 1, -1, -1))


def _feature_map(k: int, canonical: bool) -> tuple[np.ndarray, int]:
    """Map from k-mer index to feature column, and the number of columns."""
    if not canonical:
        return np.arange(4**k, dtype=np.int64), 4**k
    idx = np.arange(4**k, dtype=np.int64)
    canon = np.minimum(idx, _reverse_complement_index(k))
    uniq, column = np.unique(canon, return_inverse=True)
    return column.astype(np.int64), int(uniq.size)


def kmer_names(k: int = 6, canonical: bool = True) -> list[str]:
    """Names of the feature columns of :func:`kmer_counts` (the lexicographically smaller strand if canonical)."""
    _check_k(k)
    column, n_features = _feature_map(k, canonical)
    first = np.full(n_features, -1, dtype=np.int64)
    order = np.arange(column.size)[::-1]
    first[column[order]] = order  # smallest k-mer index of each column wins
    digits = (first[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4
    return ["".join("ACGT"[d] for d in row) for row in digits]


def _window_indices(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Base-4 index of every k-window ``(n, L-k+1)`` int64 and a bool mask of windows free of N."""
    n_win = codes.shape[1] - k + 1
    idx = np.zeros((codes.shape[0], n_win), dtype=np.int64)
    is_n = codes >= N_CODE
    digits = np.where(is_n, 0, codes).astype(np.int64)
    for j in range(k):
        idx = idx * 4 + digits[:, j : j + n_win]
    n_cum = np.concatenate([np.zeros((codes.shape[0], 1), np.int64), np.cumsum(is_n, axis=1)], axis=1)
    valid = (n_cum[:, k:] - n_cum[:, :n_win]) == 0
    return idx, valid


def kmer_counts(codes: np.ndarray, k: int = 6, canonical: bool = True) -> sp.csr_matrix:
    """Count every k-mer of every sequence (vectorised, chunked over rows).

    Parameters
    ----------
    codes
        uint8 genome codes ``(N, L)`` (A0 C1 G2 T3 N4).
    k
        k-mer length, 1..12.
    canonical
        Collapse each k-mer with its reverse complement (one column per pair, palindromes once).

    Returns
    -------
    scipy.sparse.csr_matrix
        int32 ``(N, F)``: ``F = 4**k``, or ``(4**k + 4**(k/2)) / 2`` canonical (k even; ``4**k / 2`` if odd).
        Columns are named by :func:`kmer_names`. Windows overlapping an N are not counted; a
        sequence shorter than k has no k-mers.
    """
    codes = check_codes(codes)
    _check_k(k)
    column, n_features = _feature_map(k, canonical)
    n, length = codes.shape
    if length < k or n == 0:
        return sp.csr_matrix((n, n_features), dtype=np.int32)
    chunk = max(1, min(n, _CHUNK_CELLS // length))
    blocks = []
    for lo in range(0, n, chunk):
        idx, valid = _window_indices(codes[lo : lo + chunk], k)
        rows = np.broadcast_to(np.arange(idx.shape[0], dtype=np.int32)[:, None], idx.shape)[valid]
        ones = np.ones(rows.size, dtype=np.int32)
        block = sp.csr_matrix((ones, (rows, column[idx[valid]])), shape=(idx.shape[0], n_features))
        block.sum_duplicates()
        blocks.append(block)
    return sp.vstack(blocks, format="csr")


def _features(counts: sp.csr_matrix) -> sp.csr_matrix:
    """log1p of the counts, float64, sparse (zeros stay zero)."""
    out = counts.astype(np.float64)
    out.data = np.log1p(out.data)
    return out


# --------------------------------------------------------------------------- k-mer logistic regression


def _fit_features(x: sp.csr_matrix, labels: np.ndarray, C: float, seed: int) -> LogisticRegression:
    """Fit an L2 logistic regression on features ``x`` ``(N, F)``; -1 labels dropped."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != x.shape[0]:
        raise CisflowError(f"labels {labels.shape} must be (N,) with N = {x.shape[0]} sequences")
    keep = labels != -1
    y = labels[keep] == 1
    if y.all() or not y.any():
        raise CisflowError(f"cannot fit a k-mer model: {int(y.sum())} positives and {int((~y).sum())} negatives")
    if C <= 0:
        raise CisflowError(f"C must be positive, got {C}")
    model = LogisticRegression(C=float(C), solver="liblinear", max_iter=1000, random_state=seed)
    model.fit(x if keep.all() else x[keep], y)
    return model


def fit_kmer_baseline(
    train_codes: np.ndarray, train_labels: np.ndarray, k: int = 6, C: float = 1.0, seed: int = 0, canonical: bool = True
) -> LogisticRegression:
    """Fit a k-mer bag logistic regression for one task.

    Parameters
    ----------
    train_codes
        uint8 ``(N, L)``.
    train_labels
        int ``(N,)``: 1 bound, 0 unbound, -1 ambiguous (dropped).
    k, canonical
        See :func:`kmer_counts`.
    C
        Inverse L2 regularisation strength (scikit-learn's ``C``).
    seed
        ``random_state`` of the liblinear solver.

    Returns
    -------
    sklearn.linear_model.LogisticRegression
        Fitted on ``log1p`` counts (``n_features_in_`` columns).
    """
    return _fit_features(_features(kmer_counts(train_codes, k, canonical)), train_labels, C, seed)


def _predict_features(model: LogisticRegression, x: sp.csr_matrix) -> np.ndarray:
    """Probability of the bound class, float32 ``(N,)``; CisflowError if the feature count differs."""
    if getattr(model, "n_features_in_", x.shape[1]) != x.shape[1]:
        raise CisflowError(
            f"the k-mer model expects {model.n_features_in_} features, got {x.shape[1]} (wrong k or canonical?)"
        )
    return model.predict_proba(x)[:, 1].astype(np.float32)


def predict_kmer_baseline(
    model: LogisticRegression, codes: np.ndarray, k: int = 6, canonical: bool = True
) -> np.ndarray:
    """Probabilities ``(N,)`` float32 of a model from :func:`fit_kmer_baseline` (same ``k`` and ``canonical``)."""
    return _predict_features(model, _features(kmer_counts(codes, k, canonical)))


def _fit_task(
    codes: np.ndarray, labels: np.ndarray, k: int, cs: Sequence[float], seed, threads: int = 1
) -> list[LogisticRegression]:
    """One model per C on the labelled rows of one task (features built for those rows only); with ``threads``
    > 1 the C values are fitted side by side (liblinear releases the GIL; each fit is the same as alone)."""
    if len(labels) != len(codes):
        raise CisflowError(f"labels ({len(labels)},) must have one entry per sequence ({len(codes)})")
    keep = np.asarray(labels) != -1
    x = _features(kmer_counts(codes[keep], k))
    if threads <= 1 or len(cs) < 2:
        return [_fit_features(x, labels[keep], c, seed) for c in cs]
    with ThreadPoolExecutor(min(threads, len(cs))) as pool:
        return list(pool.map(lambda c: _fit_features(x, labels[keep], c, seed), cs))


def _best_c(y_valid: np.ndarray, probs: np.ndarray, cs: Sequence[float]) -> int:
    """Index of the C with the best validation auPRC (the first on ties or one-class validation)."""
    best, score = 0, -math.inf
    for j in range(len(cs)) if len(cs) > 1 else ():
        s = metrics.auprc(y_valid, probs[:, j])
        if not math.isnan(s) and s > score:
            best, score = j, s
    return best


def fit_kmer_models(
    train: Mapping[str, np.ndarray],
    valid: Mapping[str, np.ndarray],
    k: int = 6,
    cs: Sequence[float] = (1.0,),
    seed: int = 0,
    threads: int = 1,
) -> tuple[list[LogisticRegression], list[float]]:
    """One k-mer model per task fitted on ``train`` (``C`` chosen on ``valid``, the C values fitted ``threads`` at a
    time): the models and the chosen ``C``.

    ``train`` and ``valid`` hold ``codes`` uint8 ``(N, L)`` and ``labels`` int8 ``(N, T)`` (-1 dropped).
    Features are built a task at a time for its labelled training rows only, and the validation windows
    are scored :data:`_PREDICT_ROWS` at a time, so at most one split's features are held (beside the
    solver's own copy of them).
    """
    n_tasks, cs = train["labels"].shape[1], list(cs)
    fits = [_fit_task(train["codes"], train["labels"][:, i], k, cs, seed, threads) for i in range(n_tasks)]
    probs = predict_kmer_models([m for task in fits for m in task], valid["codes"], k) if len(cs) > 1 else None
    chosen = [
        _best_c(valid["labels"][:, i], probs[:, i * len(cs) : (i + 1) * len(cs)], cs) if probs is not None else 0
        for i in range(n_tasks)
    ]
    return [fits[i][j] for i, j in enumerate(chosen)], [float(cs[j]) for j in chosen]


def predict_kmer_models(models: Sequence[LogisticRegression], codes: np.ndarray, k: int = 6) -> np.ndarray:
    """float32 ``(M, T)`` probabilities of the bound class of each task's model (:func:`fit_kmer_models`),
    computed :data:`_PREDICT_ROWS` windows at a time."""
    probs = np.zeros((len(codes), len(models)), dtype=np.float32)
    for lo in range(0, len(codes), _PREDICT_ROWS):
        x = _features(kmer_counts(codes[lo : lo + _PREDICT_ROWS], k))
        for i, model in enumerate(models):
            probs[lo : lo + x.shape[0], i] = _predict_features(model, x)
    return probs


def kmer_baseline_probs(
    train: Mapping[str, np.ndarray],
    valid: Mapping[str, np.ndarray],
    test_codes: np.ndarray,
    k: int = 6,
    cs: Sequence[float] = (1.0,),
    seed: int = 0,
) -> tuple[np.ndarray, list[float]]:
    """Fit one k-mer model per task on ``train`` (``C`` chosen on ``valid``) and predict ``test_codes``.

    Parameters
    ----------
    train, valid
        Datasets with ``codes`` uint8 ``(N, L)`` and ``labels`` int8 ``(N, T)`` (-1 dropped).
    test_codes
        uint8 ``(M, L)``.
    k
        k-mer length (canonical k-mers).
    cs
        Inverse regularisation strengths; with several, each task keeps the best validation auPRC.
    seed
        ``random_state`` of the liblinear solver.

    Returns
    -------
    probs, chosen
        float32 ``(M, T)`` probabilities of the bound class, and the ``C`` kept per task ``(T,)``.
    """
    models, chosen = fit_kmer_models(train, valid, k, cs, seed)
    return predict_kmer_models(models, test_codes, k), chosen
