"""Baselines that need no deep learning: a PWM scan, a k-mer bag logistic regression, a gapped k-mer SVM.

Both read the dataset npz contract (``codes`` uint8 ``(N, L)``, ``labels`` int8 ``(N, T)``, ``tasks``,
``ids``) and are evaluated with :func:`cisflow.evaluate.evaluate_predictions`, so their outputs sit
beside a trained model's and compare line by line (:func:`compare_models`).

``pwm``
    The best log-odds score (bits, background 0.25 each) of one known motif over all windows and
    both strands of each sequence (:func:`cisflow.pwm.max_log_odds`). Nothing is fitted: the score
    is the prediction. Scores are bits, not probabilities, so only rank metrics (auROC, auPRC,
    recall at FDR) are meaningful; balanced accuracy thresholds the bits at 0.5.
``kmer``
    Counts of every k-mer (default k = 6) in each sequence, reverse complements collapsed
    (``canonical=True``: 2080 features for k = 6), windows containing N skipped. Features are
    ``log1p(count)`` (sparse, no centring, no TF-IDF), fed to an L2 logistic regression
    (scikit-learn, liblinear, ``C`` the inverse regularisation strength). One model per task;
    ambiguous (-1) labels are dropped from training. When several ``C`` are given, each task
    keeps the one with the best validation auPRC.
``gkm``
    A gapped k-mer SVM (:mod:`cisflow.gkm`), off unless asked for.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from cisflow import metrics
from cisflow.data import load_dataset
from cisflow.errors import CisflowError
from cisflow.evaluate import evaluate_predictions
from cisflow.genome import N_CODE
from cisflow.io import atomic_open
from cisflow.pwm import load_motif, log_odds, max_log_odds

log = logging.getLogger(__name__)

_CHUNK_CELLS = 1 << 22  # sequence positions counted at once (bounds the int64 window-index block)
_COMPARE_FIRST = ("auroc", "auprc")


# --------------------------------------------------------------------------- PWM scan


def pwm_baseline_scores(codes: np.ndarray, motif_spec: str) -> np.ndarray:
    """Best log-odds score of a known motif per sequence, both strands.

    Parameters
    ----------
    codes
        uint8 genome codes ``(N, L)``.
    motif_spec
        A motif spec for :func:`cisflow.pwm.load_motif`, e.g. ``jaspar:MA0363.2`` or ``REB1_known1``.

    Returns
    -------
    numpy.ndarray
        float32 ``(N,)``, bits; higher = a better motif match somewhere in the sequence.
    """
    _, pwm = load_motif(motif_spec)
    return max_log_odds(_check_codes(codes), log_odds(pwm))


# --------------------------------------------------------------------------- k-mer features


def _check_codes(codes: np.ndarray) -> np.ndarray:
    """CisflowError unless ``codes`` is a uint8-compatible ``(N, L)`` array of genome codes."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise CisflowError(f"codes must be (N, L) genome codes, got shape {codes.shape}")
    if codes.size and codes.max() > N_CODE:
        raise CisflowError(f"codes must be genome codes 0..{N_CODE}, got a {codes.max()}")
    return codes.astype(np.uint8, copy=False)


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
    codes = _check_codes(codes)
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
    model.fit(x[keep], y)
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


def _fit_best_c(
    x_train: sp.csr_matrix, y_train: np.ndarray, x_valid: sp.csr_matrix, y_valid: np.ndarray, cs: Sequence[float], seed
) -> tuple[LogisticRegression, float]:
    """Fit one model per C; keep the best validation auPRC (the first C on ties or one-class validation)."""
    best: tuple[float, LogisticRegression, float] | None = None
    for c in cs:
        model = _fit_features(x_train, y_train, c, seed)
        score = metrics.auprc(y_valid, _predict_features(model, x_valid)) if len(cs) > 1 else 0.0
        score = -math.inf if math.isnan(score) else score
        if best is None or score > best[0]:
            best = (score, model, float(c))
    assert best is not None
    return best[1], best[2]


# --------------------------------------------------------------------------- running and comparing


def _motifs_by_task(motif_specs: Any, tasks: Sequence[str]) -> dict[str, str]:
    """Normalise motif specs to ``{task name: spec}``.

    Accepts None, one spec for every task, a mapping of task name or index to spec, or a sequence
    of ``"SPEC"`` / ``"TASK=SPEC"`` strings (CLI form).
    """
    if motif_specs is None:
        return {}
    if isinstance(motif_specs, str):
        motif_specs = [motif_specs]
    if not isinstance(motif_specs, Mapping):
        pairs: dict[Any, str] = {}
        for item in motif_specs:
            task, sep, spec = str(item).rpartition("=")
            if not sep:
                pairs.update(dict.fromkeys(tasks, spec))
            else:
                pairs[task] = spec
        motif_specs = pairs
    out = {}
    for key, spec in motif_specs.items():
        task = tasks[key] if isinstance(key, int | np.integer) and 0 <= key < len(tasks) else str(key)
        if task not in tasks:
            raise CisflowError(f"motif given for unknown task {key!r}; tasks are {', '.join(tasks)}")
        out[task] = str(spec)
    return out


def _run_pwm(test: dict, tasks: list[str], motifs: dict[str, str], out_dir: Path, fdrs) -> pd.DataFrame:
    """Score the test set with each task's motif and evaluate the tasks that have one."""
    cols = [i for i, t in enumerate(tasks) if t in motifs]
    cache: dict[str, np.ndarray] = {}
    scores = np.zeros((test["codes"].shape[0], len(cols)), dtype=np.float32)
    for j, i in enumerate(cols):
        spec = motifs[tasks[i]]
        if spec not in cache:
            cache[spec] = pwm_baseline_scores(test["codes"], spec)
        scores[:, j] = cache[spec]
    names = [tasks[i] for i in cols]
    info = {"baseline": "pwm", "motifs": {t: motifs[t] for t in names}}
    rows = evaluate_predictions(test["labels"][:, cols], scores, names, test["ids"], out_dir / "pwm", fdrs, info)
    return pd.DataFrame([{"baseline": "pwm", "params": f"motif={motifs[r['task']]}", **r} for r in rows])


def _run_kmer(train, valid, test, tasks, k: int, cs: Sequence[float], seed: int, out_dir: Path, fdrs) -> pd.DataFrame:
    """Fit one k-mer model per task on train (C chosen on valid) and evaluate on test."""
    x_train, x_valid, x_test = (_features(kmer_counts(d["codes"], k)) for d in (train, valid, test))
    probs = np.zeros(test["labels"].shape, dtype=np.float32)
    chosen = {}
    for i, task in enumerate(tasks):
        model, c = _fit_best_c(x_train, train["labels"][:, i], x_valid, valid["labels"][:, i], cs, seed)
        probs[:, i] = _predict_features(model, x_test)
        chosen[task] = c
        log.info("k-mer baseline %s: k=%d C=%g", task, k, c)
    info = {"baseline": "kmer", "k": k, "canonical": True, "C": chosen, "seed": seed}
    rows = evaluate_predictions(test["labels"], probs, tasks, test["ids"], out_dir / "kmer", fdrs, info)
    return pd.DataFrame([{"baseline": "kmer", "params": f"k={k} C={chosen[r['task']]:g}", **r} for r in rows])


def _run_gkm(train, valid, test, tasks, params: Mapping[str, Any], seed: int, out_dir: Path, fdrs) -> pd.DataFrame:
    """Fit one gapped k-mer SVM per task (:mod:`cisflow.gkm`, C chosen on valid) and evaluate on test."""
    from cisflow.gkm import gkm_svm_scores

    opts = {k: v for k, v in params.items() if k != "enabled"}
    cs = opts.pop("C", (0.1, 1.0))
    scores = np.zeros(test["labels"].shape, dtype=np.float32)
    chosen = {}
    for i, task in enumerate(tasks):
        pair = (train["codes"], train["labels"][:, i]), (valid["codes"], valid["labels"][:, i])
        scores[:, i], chosen[task] = gkm_svm_scores(*pair, test["codes"], cs=cs, seed=seed, **opts)
    info = {"baseline": "gkm", **opts, "C": chosen, "seed": seed}
    rows = evaluate_predictions(test["labels"], scores, tasks, test["ids"], out_dir / "gkm", fdrs, info)
    desc = " ".join(f"{k}={v}" for k, v in opts.items())
    return pd.DataFrame([{"baseline": "gkm", "params": f"{desc} C={chosen[r['task']]:g}", **r} for r in rows])


def _check_tasks(datasets: Mapping[str, dict], paths: Mapping[str, Any]) -> list[str]:
    """The tasks shared by all splits; CisflowError naming the file that differs."""
    tasks = [str(t) for t in datasets["train"]["tasks"]]
    for split, data in datasets.items():
        if [str(t) for t in data["tasks"]] != tasks:
            raise CisflowError(f"tasks {list(map(str, data['tasks']))} differ from the training tasks", paths[split])
    return tasks


def run_baselines(
    train_npz: str | Path,
    valid_npz: str | Path,
    test_npz: str | Path,
    out_dir: str | Path,
    motif_specs: str | Mapping[str | int, str] | Sequence[str] | None = None,
    k: int = 6,
    C: float | Sequence[float] = 1.0,
    seed: int = 0,
    fdrs: Sequence[float] = metrics.DEFAULT_FDRS,
    kmer: bool = True,
    gkm: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Fit and evaluate the baselines on dataset npz files; write their outputs under ``out_dir``.

    Parameters
    ----------
    train_npz, valid_npz, test_npz
        Dataset npz files with the same tasks (see :func:`cisflow.data.load_dataset`).
    out_dir
        Receives ``pwm/`` and ``kmer/`` (each :func:`cisflow.evaluate.evaluate_predictions`'s files)
        and ``baselines.tsv`` (one row per baseline × task: ``baseline params task`` then metrics).
    motif_specs
        PWM motifs: one spec for every task, ``{task name or index: spec}``, or ``"TASK=SPEC"``
        strings. Tasks without a motif get no PWM row. None: no PWM baseline.
    k, C, seed
        k-mer length, inverse regularisation (several: chosen per task on validation auPRC), solver seed.
    fdrs
        FDRs for the recall-at-FDR metrics.
    kmer
        Run the k-mer baseline (False: PWM only).
    gkm
        Gapped k-mer SVM options (:func:`cisflow.gkm.gkm_svm_scores`: ``l``, ``k``, ``window``,
        ``max_train``, ``C``); run when given with ``enabled`` true (outputs in ``gkm/``).

    Returns
    -------
    pandas.DataFrame
        The rows of ``baselines.tsv``.
    """
    paths = {"train": train_npz, "valid": valid_npz, "test": test_npz}
    data = {split: load_dataset(path, f"{split} dataset") for split, path in paths.items()}
    tasks = _check_tasks(data, paths)
    motifs = _motifs_by_task(motif_specs, tasks)
    cs = [float(C)] if np.isscalar(C) else [float(c) for c in C]
    run_gkm = bool(gkm) and bool(gkm.get("enabled", True))
    if not motifs and not kmer and not run_gkm:
        raise CisflowError("no baseline to run: give a motif or enable the k-mer or gkm baseline")
    out_dir = Path(out_dir)
    frames = []
    if motifs:
        frames.append(_run_pwm(data["test"], tasks, motifs, out_dir, fdrs))
    if kmer:
        frames.append(_run_kmer(data["train"], data["valid"], data["test"], tasks, k, cs, seed, out_dir, fdrs))
    if run_gkm:
        frames.append(_run_gkm(data["train"], data["valid"], data["test"], tasks, gkm, seed, out_dir, fdrs))
    table = pd.concat(frames, ignore_index=True)
    write_comparison_tsv(table, out_dir / "baselines.tsv")
    return table


def compare_models(rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> pd.DataFrame:
    """One line per model × task from per-task metric dicts.

    Parameters
    ----------
    rows
        ``{model name: [metric dict per task]}``, each dict with ``task`` and metrics as returned by
        :func:`cisflow.metrics.multitask_metrics` (or the ``tasks`` list of a ``metrics.json``).

    Returns
    -------
    pandas.DataFrame
        Columns ``model task auroc auprc`` then the other metrics (recall at FDRs, counts …) in
        first-seen order; models in the given order, tasks in each model's order.
    """
    records = [{"model": str(name), **dict(r)} for name, task_rows in rows.items() for r in task_rows]
    if not records:
        raise CisflowError("no model metrics to compare")
    if any("task" not in r for r in records):
        raise CisflowError("every metric dict needs a 'task' key")
    table = pd.DataFrame.from_records(records)
    first = ["model", "task", *(c for c in _COMPARE_FIRST if c in table.columns)]
    return table[first + [c for c in table.columns if c not in first]]


def _format(value: Any) -> str:
    """A TSV cell: floats to 6 significant digits, NaN as ``nan``."""
    if isinstance(value, float | np.floating):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def write_comparison_tsv(table: pd.DataFrame, path: str | Path) -> None:
    """Write a comparison table (e.g. from :func:`compare_models`) as TSV with a header, atomically."""
    if table.empty:
        raise CisflowError("empty comparison table", path)
    with atomic_open(path) as handle:
        handle.write("\t".join(map(str, table.columns)) + "\n")
        for row in table.itertuples(index=False):
            handle.write("\t".join(_format(v) for v in row) + "\n")


def compare_metrics_files(metrics_files: Mapping[str, str | Path], out_tsv: str | Path) -> pd.DataFrame:
    """Write the one-line-per-model×task comparison of several ``metrics.json`` files.

    ``metrics_files`` maps a model name (e.g. ``cnn``, ``pwm``, ``kmer``) to the ``metrics.json``
    that :func:`cisflow.evaluate.evaluate_predictions` wrote for it; a missing file is skipped with a
    logged warning (e.g. no PWM baseline configured).
    """
    rows = {}
    for name, path in metrics_files.items():
        if not Path(path).is_file():
            log.warning("no metrics for %s (%s); left out of the comparison", name, path)
            continue
        with open(path, encoding="utf-8") as handle:
            rows[name] = json.load(handle)["tasks"]
    table = compare_models(rows)
    write_comparison_tsv(table, out_tsv)
    return table
