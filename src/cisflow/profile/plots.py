"""Figures of the profile stage: observed vs predicted profiles, counts, JSD, footprints, spacing, ablation.

Every function writes one PNG atomically (matplotlib's object API, no global state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.io import atomic_path

_STRAND_COLOURS = {"+": "tab:blue", "-": "tab:red", ".": "tab:green"}


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)


def _strand_sign(strand: str) -> float:
    """− strand profiles are drawn below the axis."""
    return -1.0 if strand == "-" else 1.0


def plot_profiles(
    path: str | Path,
    observed: np.ndarray,
    predicted: np.ndarray,
    strands: Sequence[str],
    titles: Sequence[str],
    task: int = 0,
) -> None:
    """Observed counts and predicted expected counts ``(N, T, S, L)`` of ``task``, one panel per region."""
    from matplotlib.figure import Figure

    n = len(observed)
    fig = Figure(figsize=(10, 1.9 * max(n, 1)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(max(n, 1), 1, squeeze=False)[:, 0])
    x = np.arange(observed.shape[-1]) - observed.shape[-1] // 2
    for ax, obs, pred, title in zip(axes, observed, predicted, titles, strict=False):
        for s, strand in enumerate(strands):
            sign, colour = _strand_sign(strand), _STRAND_COLOURS.get(strand, "black")
            ax.bar(x, sign * obs[task, s], width=1.0, color=colour, alpha=0.35, label=f"observed {strand}")
            ax.plot(x, sign * pred[task, s], color=colour, lw=1.2, label=f"predicted {strand}")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("counts")
    axes[0].legend(fontsize=7, ncols=4, frameon=False)
    axes[-1].set_xlabel("position from the window centre (bp)")
    _save(fig, path)


def plot_counts(path: str | Path, observed: np.ndarray, predicted: np.ndarray, groups: np.ndarray, title: str) -> None:
    """Observed vs predicted log counts ``(N,)``, coloured by region group (e.g. peak / background)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.8, 4.5), layout="constrained")
    ax = fig.subplots()
    for group in pd.unique(groups):
        rows = groups == group
        ax.scatter(observed[rows], predicted[rows], s=6, alpha=0.5, label=f"{group} ({rows.sum()})")
    lo, hi = float(min(observed.min(), predicted.min())), float(max(observed.max(), predicted.max()))
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
    ax.set(xlabel="observed log(1 + counts)", ylabel="predicted log counts", title=title)
    ax.legend(frameon=False, fontsize=8)
    _save(fig, path)


def plot_jsd(path: str | Path, jsd: np.ndarray, bounds: Mapping[str, np.ndarray], title: str) -> None:
    """Histogram of per-region JSD beside its bounds (uniform, shuffled, replicate …)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    bins = np.linspace(0, 1, 51)
    ax.hist(jsd[np.isfinite(jsd)], bins=bins, alpha=0.6, label=f"model (median {np.nanmedian(jsd):.3f})")
    for name, values in bounds.items():
        finite = values[np.isfinite(values)]
        if len(finite):
            ax.hist(finite, bins=bins, histtype="step", lw=1.5, label=f"{name} (median {np.median(finite):.3f})")
    ax.set(xlabel="Jensen–Shannon distance", ylabel="regions", title=title)
    ax.legend(frameon=False, fontsize=8)
    _save(fig, path)


def plot_footprints(path: str | Path, footprints: Mapping[str, np.ndarray], strands: Sequence[str], flank: int) -> None:
    """Central ``±flank`` bp of each motif's mean predicted profile ``(S, L)`` (with minus without the motif)."""
    from matplotlib.figure import Figure

    n = max(len(footprints), 1)
    fig = Figure(figsize=(5.5, 2.4 * n), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n, 1, squeeze=False)[:, 0])
    for ax, (name, fp) in zip(axes, footprints.items(), strict=False):
        mid = fp.shape[-1] // 2
        x = np.arange(-flank, flank)
        for s, strand in enumerate(strands):
            ax.plot(x, _strand_sign(strand) * fp[s, mid - flank : mid + flank], color=_STRAND_COLOURS.get(strand),
                    label=strand)  # fmt: skip
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(title=name, ylabel="counts")
        ax.legend(frameon=False, fontsize=7)
    axes[-1].set_xlabel("position from the motif centre (bp)")
    _save(fig, path)


def _empty(fig, message: str) -> None:
    """A figure that says why it is empty."""
    ax = fig.subplots()
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()


def plot_spacing(path: str | Path, curve: pd.DataFrame) -> None:
    """Cooperativity per spacing (task 0): one panel per motif pair, one line per orientation."""
    from matplotlib.figure import Figure

    pairs = list(curve.groupby(["motif_a", "motif_b"], sort=False)) if len(curve) else []
    fig = Figure(figsize=(7, 3.2 * max(len(pairs), 1)), layout="constrained")
    if not pairs:
        _empty(fig, "no motif pairs")
    for ax, ((a, b), part) in zip(np.atleast_1d(fig.subplots(len(pairs), 1, squeeze=False)[:, 0]) if pairs else [],
                                  pairs, strict=True):  # fmt: skip
        for orientation, rows in part[part["task"] == 0].groupby("orientation"):
            ax.plot(rows["spacing"], rows["cooperativity"], marker=".", ms=3, label=orientation)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(xlabel=f"spacing of {b} from {a} (bp, centre to centre)", ylabel="log2 cooperativity",
               title=f"{a} and {b}")  # fmt: skip
        ax.legend(frameon=False, fontsize=8, title="strands")
    _save(fig, path)


def plot_ablation(path: str | Path, table: pd.DataFrame, title: str) -> None:
    """Histogram of the change in predicted log counts when each motif instance is ablated."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.5), layout="constrained")
    if table.empty:
        _empty(fig, "no motif instances to ablate")
        _save(fig, path)
        return
    ax = fig.subplots()
    for motif, part in table.groupby("motif"):
        ax.hist(part["delta_log_counts"], bins=30, alpha=0.6, label=f"{motif} ({len(part)})")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(xlabel="ablated − original predicted log counts", ylabel="instances", title=title)
    ax.legend(frameon=False, fontsize=8)
    _save(fig, path)


def plot_cut_site_motif(path: str | Path, freqs: Mapping[str, np.ndarray], title: str) -> None:
    """Information-content logos of the bases around each strand's cut sites (read orientation)."""
    from matplotlib.figure import Figure

    from cisflow.logos import draw_logo

    fig = Figure(figsize=(9, 2.2 * len(freqs)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(freqs), 1, squeeze=False)[:, 0])
    for ax, (name, f) in zip(axes, freqs.items(), strict=True):
        f = np.asarray(f, dtype=np.float64)
        info = 2 + (f * np.log2(np.clip(f, 1e-9, None))).sum(axis=0)
        draw_logo(ax, f * info, np.arange(f.shape[1]) - f.shape[1] // 2)
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set(title=f"{title}: {name} strand cut sites", ylabel="bits")
    _save(fig, path)


def plot_learning_curve(path: str | Path, history: pd.DataFrame) -> None:
    """Loss (train and valid) and the validation counts Pearson and median JSD per epoch."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.3), layout="constrained")
    ax_loss, ax_r, ax_jsd = fig.subplots(1, 3)
    for split, part in history.groupby("split"):
        ax_loss.plot(part["epoch"], part["loss"], marker="o", ms=3, label=split)
    valid = history[history["split"] == "valid"]
    ax_r.plot(valid["epoch"], valid["counts_pearson"], marker="o", ms=3)
    ax_jsd.plot(valid["epoch"], valid["median_jsd"], marker="o", ms=3)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_loss.legend(frameon=False)
    ax_r.set(xlabel="epoch", title="valid counts Pearson (peaks)")
    ax_jsd.set(xlabel="epoch", title="valid median JSD (peaks)")
    _save(fig, path)
