"""Scores against ground truth: DragoNN's positional PRC, and first-layer filters vs known motifs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.io import atomic_path
from cisflow.logos import draw_logo
from cisflow.metrics import auprc
from cisflow.pwm import benjamini_hochberg, tomtom
from cisflow.simulate import read_embeddings

log = logging.getLogger(__name__)

FILTER_COLUMNS = ("filter", "motif", "offset", "strand", "similarity", "tomtom_pvalue", "tomtom_qvalue")


def position_importance(scores: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-position importance ``(N, L)``: the actual base's score, ``Σ_b scores[n, b, i] · x[n, b, i]``."""
    return (np.asarray(scores, dtype=np.float64) * np.asarray(x)).sum(axis=1)


def _motif_mask(table: pd.DataFrame, ids: Sequence[str], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``ids`` with at least one embedding, and their in-motif masks ``(n, L)``."""
    row_of = {str(s): i for i, s in enumerate(ids)}
    known = table[table["seq_id"].astype(str).isin(row_of)]
    rows = np.array(sorted({row_of[s] for s in known["seq_id"].astype(str)}), dtype=np.int64)
    mask = np.zeros((len(ids), length), dtype=bool)
    for seq_id, start, end in zip(known["seq_id"].astype(str), known["start"], known["end"], strict=True):
        mask[row_of[seq_id], max(int(start), 0) : min(int(end), length)] = True
    return rows, mask[rows]


def positional_auprc(
    scores: np.ndarray,
    x: np.ndarray,
    embeddings: pd.DataFrame | str | Path,
    ids: Sequence[str],
    absolute: bool = False,
) -> tuple[float, int]:
    """DragoNN-style positional auPRC: do high scores mark the embedded motif positions?

    Each position of each sequence that holds at least one embedded motif instance is an example:
    positive inside an instance ``[start, end)``, negative elsewhere; its score is the actual base's
    contribution (:func:`position_importance`, ``|·|`` if ``absolute``). The auPRC (average precision,
    :func:`cisflow.metrics.auprc`) is taken over all positions pooled. DragoNN's ``positionalPRC``
    instead sums scores over motif-length windows and labels windows by ≥ 80% motif coverage, per motif;
    the per-position form used here needs no window length and pools motifs.

    Parameters
    ----------
    scores, x
        Scores and one-hot inputs, ``(N, 4, L)``.
    embeddings
        Table (or TSV path) with ``seq_id motif start end``; ``seq_id`` matches ``ids``.
    ids
        Sequence ids ``(N,)``.
    absolute
        Rank positions by the absolute score.

    Returns
    -------
    tuple
        ``(auprc, n_sequences)``; auprc is NaN when no sequence in ``ids`` has an embedding.
    """
    scores, x = np.asarray(scores), np.asarray(x)
    if scores.shape != x.shape or scores.ndim != 3 or len(ids) != len(x):
        raise CisflowError(f"scores {scores.shape}, x {x.shape} and ids ({len(ids)}) do not match")
    table = embeddings if isinstance(embeddings, pd.DataFrame) else read_embeddings(embeddings)
    rows, mask = _motif_mask(table, ids, x.shape[-1])
    if not len(rows):
        log.warning("positional auPRC: none of the %d sequences has an embedded motif", len(ids))
        return float("nan"), 0
    importance = position_importance(scores[rows], x[rows])
    if absolute:
        importance = np.abs(importance)
    return float(auprc(mask.ravel().astype(np.int8), importance.ravel())), len(rows)


def filter_pwms(conv_weight: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """PWMs ``(F, 4, W)`` from first-layer filter weights ``(F, 4, W)``: a column-wise softmax of ``beta · w``.

    A filter scores ``Σ w[b, j] x[b, j]``; reading ``w`` as log-probabilities (up to a per-column constant,
    which the softmax removes) gives ``p[b, j] ∝ exp(beta · w[b, j])``. ``beta`` sets the sharpness only.
    """
    w = np.asarray(conv_weight, dtype=np.float64)
    if w.ndim != 3 or w.shape[1] != 4:
        raise CisflowError(f"filter weights must have shape (F, 4, W), got {w.shape}")
    z = beta * (w - w.max(axis=1, keepdims=True))
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _best_alignment(pwm: np.ndarray, motif: np.ndarray) -> tuple[float, int]:
    """Best Pearson correlation of aligned columns with the shorter matrix wholly inside the longer.

    Returns ``(correlation, offset)``; motif column ``j`` aligns with filter column ``j + offset``.
    """
    wf, wm = pwm.shape[1], motif.shape[1]
    best, best_off = -np.inf, 0
    for off in range(min(0, wf - wm), max(0, wf - wm) + 1):
        lo, hi = max(0, off), min(wf, wm + off)
        a, b = pwm[:, lo:hi].ravel(), motif[:, lo - off : hi - off].ravel()
        if a.std() == 0 or b.std() == 0:
            continue
        r = float(np.corrcoef(a, b)[0, 1])
        if r > best:
            best, best_off = r, off
    return best, best_off


def _tomtom(pwms: np.ndarray, motifs: Sequence[np.ndarray]) -> np.ndarray | None:
    """TOMTOM p-values ``(F, M)`` (:func:`cisflow.pwm.tomtom`), or None when memelite is not installed."""
    try:
        result = tomtom(list(pwms), list(motifs), n_jobs=1)
    except ImportError as exc:
        log.warning("TOMTOM needs memelite (%s); p/q-values left empty", exc)
        return None
    return np.asarray(result["p"], dtype=np.float64)


def filter_motif_matches(
    conv_weight: np.ndarray, motifs: Mapping[str, np.ndarray], beta: float = 1.0, tomtom: bool = True
) -> pd.DataFrame:
    """Match each first-layer filter to the known motifs.

    Parameters
    ----------
    conv_weight
        First convolution's weights ``(F, 4, W)`` (PyTorch ``Conv1d.weight`` over one-hot input).
    motifs
        Known motifs, name → PWM ``(4, W_m)``.
    beta
        Softmax sharpness of :func:`filter_pwms`.
    tomtom
        Also compute TOMTOM p-values (memelite) and Benjamini–Hochberg q-values over the motifs.

    Returns
    -------
    pandas.DataFrame
        One row per filter: ``filter motif offset strand similarity tomtom_pvalue tomtom_qvalue``.
        ``similarity`` is the best Pearson correlation of aligned PWM columns over both strands of the
        motif (the shorter matrix wholly inside the longer); ``offset`` is the filter column aligned with the
        (strand-oriented) motif's first column; p/q-values belong to the chosen motif (NaN without TOMTOM).
    """
    if not motifs:
        raise CisflowError("no motifs given to match filters against")
    pwms, names = filter_pwms(conv_weight, beta), list(motifs)
    mats = [np.asarray(motifs[n], dtype=np.float64) for n in names]
    pvals = _tomtom(pwms, mats) if tomtom else None
    qvals = benjamini_hochberg(pvals) if pvals is not None else None
    rows = []
    for f, pwm in enumerate(pwms):
        cands = [
            (*_best_alignment(pwm, m[:, ::-1][::-1] if s == "-" else m), s, k) for k, m in enumerate(mats) for s in "+-"
        ]
        sim, off, strand, k = max(cands, key=lambda c: c[0])
        rows.append(
            {
                "filter": f,
                "motif": names[k],
                "offset": off,
                "strand": strand,
                "similarity": sim,
                "tomtom_pvalue": np.nan if pvals is None else pvals[f, k],
                "tomtom_qvalue": np.nan if qvals is None else qvals[f, k],
            }
        )
    return pd.DataFrame(rows, columns=list(FILTER_COLUMNS))


def plot_filter_logos(pwms: np.ndarray, path: str | Path, titles: Sequence[str] | None = None, ncols: int = 4) -> None:
    """Draw information-content logos of PWMs ``(F, 4, W)`` in a grid PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pwms = np.asarray(pwms, dtype=np.float64)
    n = len(pwms)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 1.6 * nrows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.axis("off")
            continue
        p = pwms[i].T.clip(1e-9)
        info = p * (2 + (p * np.log2(p)).sum(axis=1, keepdims=True))
        draw_logo(ax, info.T)
        ax.set_ylim(0, 2)
        ax.set_title(titles[i] if titles is not None else f"filter {i}", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
