"""The ENCODE-DREAM in vivo TF-binding challenge scorer, in Python 3 (no R).

Reproduces the challenge's ``score.py`` and ranking scripts (Boley, Lee et al.,
``nboley/DREAM_tfbinding_challenge`` and the Synapse scoring harness):

* Inputs: a label TSV (header ``chr start stop TASK…``; ``B`` bound, ``U`` unbound, ``A`` ambiguous)
  and a submission TSV (``chr start stop prob``, gzipped, no header) whose rows must be the label
  rows, in the same order. Only held-out chromosomes are scored (the challenge kept chr1, chr8 and
  chr21 of both files; here any ``chroms``), and ambiguous bins are dropped.
* Measures (:func:`dream_score`), from :mod:`cisflow.metrics`:

  - ``auroc``: Mann–Whitney U / (P·N), ties averaged (scikit-learn's ``roc_auc_score``, which
    the challenge called; equal to PRROC's ``roc.curve`` trapezoids).
  - ``auprc``: R ``PRROC::pr.curve(scores.class0=pred, weights.class0=labels)$auc.davis.goadrich``,
    the final challenge's auPRC, ported (``metrics.auprc(method="davis_goadrich")``: trapezoids
    over unit true-positive steps of Davis & Goadrich's interpolation). An earlier leaderboard
    used scikit-learn's ``auc(recall, precision)`` (trapezoid), kept as ``auprc_trapezoid``.
  - ``recall_at_{5,10,25,50}_fdr``: the challenge's ``recall_at_fdr``: on scikit-learn's PR
    curve, the recall of the first point (lowest threshold) with ``1 - precision <= fdr`` in
    float64, no tolerance (0 when none).

* Subsamples (:func:`stratified_subsamples`, :func:`bootstrap_scores`): the challenge's ranking
  script scored the ten training sets of ``sklearn.cross_validation.StratifiedKFold(labels,
  n_folds=10)`` (no shuffling, so ``random_state`` had no effect): within each class the examples
  keep file order and are cut into 10 contiguous blocks, the first ``count % 10`` one longer;
  subsample i leaves block i of every class out. ``scheme="contiguous"`` (default) reproduces it
  exactly; ``scheme="random"`` instead draws ``round(fraction · count)`` examples of each class per
  subsample with the seed.
* Ranking (:func:`combined_rank`): in each subsample the models are ranked (1 = best, ties
  averaged) on recall at 10 % FDR, recall at 50 % FDR, auPRC and auROC; the combined score is
  ``Σ log(rank / (M + 1))`` over the four measures (a log rank-product) and the models are ranked
  on it (lower = better). A model's final rank is its second-best combined rank over the
  subsamples (the challenge took ``sorted(ranks)[1]``, robust to one lucky subsample); ties broken
  by the mean combined rank.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from cisflow import metrics
from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_open, open_text, write_tsv

log = logging.getLogger(__name__)

DREAM_FDRS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5)
DREAM_HELDOUT_CHROMS: tuple[str, ...] = ("chr1", "chr8", "chr21")
RANK_MEASURES: tuple[str, ...] = ("recall_at_10_fdr", "recall_at_50_fdr", "auprc", "auroc")
SUBSAMPLE_SCHEMES: tuple[str, ...] = ("contiguous", "random")
_LABEL_CODES = {"B": 1, "U": 0, "A": -1}


# --------------------------------------------------------------------------- scores


def dream_score(labels: np.ndarray, probs: np.ndarray, fdrs: Sequence[float] = DREAM_FDRS) -> dict[str, float | int]:
    """The challenge's measures for one task.

    Parameters
    ----------
    labels
        int ``(N,)``: 1 bound, 0 unbound, -1 ambiguous (dropped).
    probs
        float ``(N,)``, higher = more likely bound.
    fdrs
        FDRs of the ``recall_at_{round(100 f)}_fdr`` keys.

    Returns
    -------
    dict
        ``auroc auprc auprc_trapezoid recall_at_*_fdr`` (NaN when a class is absent),
        ``num_positives num_negatives``.
    """
    for fdr in fdrs:
        metrics._check_fdr(fdr)
    y, s = metrics._prepare(labels, probs)
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    keys = ["auroc", "auprc", "auprc_trapezoid", *(metrics.fdr_key(f) for f in fdrs)]
    if n_pos == 0 or n_neg == 0:
        log.warning("only one class (%d positives, %d negatives): DREAM scores are NaN", n_pos, n_neg)
        return {**dict.fromkeys(keys, math.nan), "num_positives": n_pos, "num_negatives": n_neg}
    tps, fps, _ = metrics._binary_clf_curve(y, s)  # one sort serves every measure
    out: dict[str, float | int] = {
        "auroc": metrics._auroc_from_curve(tps, fps),
        "auprc": metrics._auprc_from_curve(tps, fps, "davis_goadrich"),
        "auprc_trapezoid": metrics._auprc_from_curve(tps, fps, "trapezoid"),
    }
    for fdr in fdrs:
        out[metrics.fdr_key(fdr)] = metrics._recall_at_fdr_from_curve(tps, fps, fdr)
    out["num_positives"], out["num_negatives"] = n_pos, n_neg
    return out


def _contiguous_folds(members: np.ndarray, n: int) -> list[np.ndarray]:
    """``members`` (file order) cut into ``n`` contiguous blocks, the first ``len % n`` one longer.

    The test folds of the old ``sklearn.cross_validation.KFold(len, n)`` without shuffling (a
    class with fewer than ``n`` members fills the first folds with one each).
    """
    sizes = np.full(n, members.size // n)
    sizes[: members.size % n] += 1
    return np.split(members, np.cumsum(sizes)[:-1])


def stratified_subsamples(
    labels: np.ndarray, n: int = 10, fraction: float = 0.9, seed: int = 0, scheme: str = "contiguous"
) -> list[np.ndarray]:
    """Indices of ``n`` stratified subsamples (positives and negatives separately).

    Parameters
    ----------
    labels
        int ``(N,)``; ambiguous (-1) entries are never included.
    n
        Number of subsamples (folds for ``"contiguous"``).
    fraction, seed
        Share of each class per subsample and the ``np.random.default_rng`` seed; ``"random"`` only
        (``"contiguous"`` keeps all but one of ``n`` blocks of each class and draws nothing).
    scheme
        ``"contiguous"``: the challenge's ranking subsamples (see the module docstring);
        ``"random"``: independent draws of ``round(fraction · count)`` per class.

    Returns
    -------
    list of numpy.ndarray
        ``n`` sorted int64 index arrays into ``labels``.
    """
    labels = np.asarray(labels)
    if n < 1 or not 0.0 < fraction <= 1.0:
        raise CisflowError(f"need n ≥ 1 subsamples and 0 < fraction ≤ 1; got n={n}, fraction={fraction}")
    if scheme not in SUBSAMPLE_SCHEMES:
        raise CisflowError(f"unknown subsampling scheme {scheme!r}; choose {' or '.join(SUBSAMPLE_SCHEMES)}")
    classes = [np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)]
    if scheme == "contiguous":
        folds = [_contiguous_folds(idx, n) for idx in classes]
        return [np.sort(np.concatenate([np.concatenate(f[:i] + f[i + 1 :]) for f in folds])) for i in range(n)]
    rng = np.random.default_rng(seed)
    sizes = [round(fraction * idx.size) for idx in classes]
    return [
        np.sort(np.concatenate([rng.choice(idx, s, replace=False) for idx, s in zip(classes, sizes, strict=True)]))
        for _ in range(n)
    ]


def bootstrap_scores(
    labels: np.ndarray,
    probs: np.ndarray,
    n: int = 10,
    fraction: float = 0.9,
    seed: int = 0,
    fdrs: Sequence[float] = DREAM_FDRS,
    scheme: str = "contiguous",
) -> pd.DataFrame:
    """:func:`dream_score` of each stratified subsample (see :func:`stratified_subsamples`).

    Returns
    -------
    pandas.DataFrame
        One row per subsample: ``subsample`` (0..n-1) then the :func:`dream_score` keys.
    """
    labels, probs = np.asarray(labels), np.asarray(probs)
    if labels.ndim != 1 or probs.shape != labels.shape:
        raise CisflowError(f"labels {labels.shape} and probs {probs.shape} must be 1-D of the same length")
    rows = []
    for i, idx in enumerate(stratified_subsamples(labels, n, fraction, seed, scheme)):
        rows.append({"subsample": i, **dream_score(labels[idx], probs[idx], fdrs)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- ranking


def _subsample_ranks(table: pd.DataFrame) -> np.ndarray:
    """Combined rank of each model (row) in one subsample; NaN measures rank last."""
    total = np.zeros(len(table))
    for measure in RANK_MEASURES:
        values = table[measure].to_numpy(dtype=np.float64)
        ranks = rankdata(np.where(np.isnan(values), np.inf, -values), method="average")
        total += np.log(ranks / (len(table) + 1.0))
    return rankdata(total, method="average")


def _long_table(scores_by_model: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack the per-model subsample tables; CisflowError on missing columns or unmatched subsamples."""
    if not scores_by_model:
        raise CisflowError("no models to rank")
    frames, reference = [], None
    for name, frame in scores_by_model.items():
        missing = [c for c in ("subsample", *RANK_MEASURES) if c not in frame.columns]
        if missing:
            raise CisflowError(f"scores of model {name!r} lack {', '.join(missing)}")
        subs = sorted(frame["subsample"].tolist())
        if reference is None:
            reference = subs
        elif subs != reference:
            raise CisflowError(f"model {name!r} was scored on subsamples {subs}, others on {reference}")
        frames.append(frame.assign(model=str(name)))
    return pd.concat(frames, ignore_index=True)


def combined_rank(scores_by_model: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Rank models as the ENCODE-DREAM challenge did (see the module docstring).

    Parameters
    ----------
    scores_by_model
        ``{model name: bootstrap_scores(...)}``; every table has the same ``subsample`` ids
        (score every model on the same labels with the same seed).

    Returns
    -------
    pandas.DataFrame
        One row per model, best first: ``order`` (1..M), ``model``, ``final_rank`` (second-best
        combined rank over subsamples; the only one if there is one), ``mean_rank``, ``rank_sub<i>``
        per subsample, and the mean of each ranking measure.
    """
    long = _long_table(scores_by_model)
    models = list(dict.fromkeys(long["model"]))
    ranks = pd.DataFrame(index=models, dtype=np.float64)
    for sub, table in long.groupby("subsample", sort=True):
        table = table.set_index("model").loc[models]
        ranks[f"rank_sub{sub}"] = _subsample_ranks(table)
    values = np.sort(ranks.to_numpy(), axis=1)
    out = pd.DataFrame({"model": models})
    out["final_rank"] = values[:, 1] if values.shape[1] > 1 else values[:, 0]
    out["mean_rank"] = values.mean(axis=1)
    out = pd.concat([out, ranks.reset_index(drop=True)], axis=1)
    means = long.groupby("model", sort=False)[list(RANK_MEASURES)].mean().loc[models].reset_index(drop=True)
    out = pd.concat([out, means], axis=1).sort_values(["final_rank", "mean_rank"], kind="mergesort")
    out.insert(0, "order", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- files


def read_dream_labels(path: str | Path, task: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Read one task of a DREAM label TSV (header ``chr start stop TASK…``, letters B / U / A).

    Returns
    -------
    bins, labels
        DataFrame ``chr start stop`` (str, int64, int64) and int8 ``(N,)`` labels (1 / 0 / -1).
    """
    path = require_file(path, "DREAM label TSV")
    with open_text(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
    if header[:3] != ["chr", "start", "stop"]:
        raise CisflowError(f"header must start with chr, start, stop; got {header[:3]}", path)
    if task not in header[3:]:
        raise CisflowError(f"no task {task!r} in the labels; tasks are {', '.join(header[3:])}", path)
    try:
        with open_text(path) as handle:
            table = pd.read_csv(handle, sep="\t", usecols=["chr", "start", "stop", task], dtype={"chr": str, task: str})
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        raise CisflowError(f"cannot read labels ({exc})", path) from exc
    letters = table[task].to_numpy(dtype=str)
    bad = ~np.isin(letters, list(_LABEL_CODES))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise CisflowError(f"line {first + 2}: label {letters[first]!r} is not B, U or A", path)
    labels = np.select([letters == "B", letters == "U"], [1, 0], default=-1).astype(np.int8)
    return _bins(table, path), labels


def _bins(table: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """``chr start stop`` columns with integer coordinates checked."""
    try:
        starts, stops = table["start"].to_numpy(np.int64), table["stop"].to_numpy(np.int64)
    except (ValueError, TypeError) as exc:
        raise CisflowError(f"start / stop must be integers ({exc})", path) from exc
    if (starts < 0).any() or (stops <= starts).any():
        raise CisflowError("bins need 0 ≤ start < stop", path)
    return pd.DataFrame({"chr": table["chr"].astype(str).to_numpy(), "start": starts, "stop": stops})


def write_submission(
    chroms: Sequence[str], starts: np.ndarray, ends: np.ndarray, probs: np.ndarray, path: str | Path
) -> None:
    """Write a DREAM submission (``chr start stop prob``, tab-separated, no header; gzip if ``.gz``), atomically.

    ``probs`` must be finite; they are written with 6 significant digits.
    """
    chroms, starts, ends, probs = (np.asarray(a) for a in (chroms, starts, ends, probs))
    n = chroms.shape[0]
    if any(a.shape != (n,) for a in (starts, ends, probs)):
        raise CisflowError(
            f"chroms, starts, ends, probs must be (N,) alike; got {[a.shape for a in (chroms, starts, ends, probs)]}",
            path,
        )
    if not np.isfinite(probs.astype(np.float64)).all():
        raise CisflowError("probabilities contain NaN or infinite values", path)
    frame = pd.DataFrame({"chr": chroms.astype(str), "start": starts.astype(np.int64), "stop": ends.astype(np.int64)})
    frame["prob"] = [f"{p:.6g}" for p in probs.astype(np.float64)]
    with atomic_open(path) as handle:
        frame.to_csv(handle, sep="\t", header=False, index=False)


def read_submission(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a DREAM submission TSV (gzipped or not, no header).

    Returns
    -------
    bins, probs
        DataFrame ``chr start stop`` and float64 ``(N,)``. CisflowError (naming the file and line) on a
        wrong column count, a non-numeric or non-finite probability, or bad coordinates.
    """
    path = require_file(path, "DREAM submission")
    try:
        with open_text(path) as handle:
            table = pd.read_csv(handle, sep="\t", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise CisflowError("empty submission", path) from exc
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        raise CisflowError(f"cannot read submission ({exc.__class__.__name__}: {exc})", path) from exc
    if table.shape[1] != 4:
        raise CisflowError(f"expected 4 tab-separated columns (chr start stop prob), got {table.shape[1]}", path)
    table.columns = ["chr", "start", "stop", "prob"]
    probs = pd.to_numeric(table["prob"], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(probs)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise CisflowError(f"line {first + 1}: probability {table['prob'].iat[first]!r} is not a finite number", path)
    coords = table[["start", "stop"]].apply(pd.to_numeric, errors="coerce")
    if coords.isna().to_numpy().any():
        first = int(np.flatnonzero(coords.isna().any(axis=1).to_numpy())[0])
        raise CisflowError(f"line {first + 1}: start / stop are not integers (no header line allowed)", path)
    return _bins(table.assign(start=coords["start"], stop=coords["stop"]), path), probs


def check_submission_bins(label_bins: pd.DataFrame, sub_bins: pd.DataFrame, path: str | Path) -> None:
    """CisflowError naming ``path`` unless the submission's bins are the label bins, row for row."""
    if len(label_bins) != len(sub_bins):
        raise CisflowError(f"{len(sub_bins)} bins scored but the labels have {len(label_bins)}", path)
    same = (
        (label_bins["chr"].to_numpy() == sub_bins["chr"].to_numpy())
        & (label_bins["start"].to_numpy() == sub_bins["start"].to_numpy())
        & (label_bins["stop"].to_numpy() == sub_bins["stop"].to_numpy())
    )
    if not same.all():
        i = int(np.flatnonzero(~same)[0])
        got, want = sub_bins.iloc[i], label_bins.iloc[i]
        raise CisflowError(
            f"bin {i + 1} is {got['chr']}:{got['start']}-{got['stop']} but the labels have "
            f"{want['chr']}:{want['start']}-{want['stop']} (rows must match the label bins in order)",
            path,
        )


def _held_out(bins: pd.DataFrame, chroms: Sequence[str] | None) -> np.ndarray:
    """Bool mask of rows on ``chroms`` (all rows if None)."""
    return np.ones(len(bins), bool) if chroms is None else bins["chr"].isin(list(chroms)).to_numpy()


def score_submission(
    labels_tsv: str | Path,
    submission: str | Path,
    task: str,
    chroms: Sequence[str] | None = None,
    n_subsamples: int = 10,
    seed: int = 0,
    fdrs: Sequence[float] = DREAM_FDRS,
    out_tsv: str | Path | None = None,
) -> dict[str, Any]:
    """Validate a submission against a label TSV and score it as the challenge did.

    Parameters
    ----------
    labels_tsv, submission, task
        Label TSV, submission TSV and the label column to score.
    chroms
        Held-out chromosomes to score (both files are restricted to them before matching);
        None scores every bin, e.g. ``DREAM_HELDOUT_CHROMS`` for the challenge's chr1, chr8, chr21.
    n_subsamples, seed
        Number of the challenge's stratified subsamples (0: none; see :func:`stratified_subsamples`,
        ``scheme="contiguous"``, which draws nothing, so ``seed`` does not change them).
    out_tsv
        If given, write the full-data scores (``subsample = all``) and the subsample rows as TSV.

    Returns
    -------
    dict
        ``{"full": dream_score dict, "subsamples": DataFrame (maybe empty)}``.
    """
    label_bins, labels = read_dream_labels(labels_tsv, task)
    sub_bins, probs = read_submission(submission)
    keep_l, keep_s = _held_out(label_bins, chroms), _held_out(sub_bins, chroms)
    if not keep_l.any():
        raise CisflowError(f"no label bins on chromosomes {', '.join(chroms or [])}", labels_tsv)
    label_bins, labels = label_bins[keep_l].reset_index(drop=True), labels[keep_l]
    sub_bins, probs = sub_bins[keep_s].reset_index(drop=True), probs[keep_s]
    check_submission_bins(label_bins, sub_bins, submission)
    full = dream_score(labels, probs, fdrs)
    subs = bootstrap_scores(labels, probs, n_subsamples, 0.9, seed, fdrs) if n_subsamples else pd.DataFrame()
    log.info("%s: auROC %.4f auPRC %.4f", task, full["auroc"], full["auprc"])
    if out_tsv is not None:
        rows = pd.concat([pd.DataFrame([{"subsample": "all", **full}]), subs], ignore_index=True)
        write_tsv(rows.assign(task=task)[["task", *rows.columns]], out_tsv)
    return {"full": full, "subsamples": subs}
