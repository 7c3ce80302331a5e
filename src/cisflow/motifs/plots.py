"""Summary plots of motif hits: hits per region, positions relative to the summit / centre, co-occurrence."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.io import atomic_path


def cooccurrence(per_region: pd.DataFrame, patterns: Sequence[str]) -> np.ndarray:
    """``(P, P)`` counts of regions holding hits of both patterns (the diagonal: regions with each one)."""
    has = (per_region[list(patterns)].to_numpy() > 0).astype(np.int64) if len(patterns) else np.zeros((0, 0))
    return has.T @ has


def _hits_per_region(ax, per_region: pd.DataFrame) -> None:
    """Bar chart: number of regions by their number of hits."""
    counts = np.bincount(per_region["n_hits"].to_numpy(dtype=np.int64)) if len(per_region) else np.zeros(1)
    ax.bar(np.arange(len(counts)), counts, color="0.4")
    ax.set_xlabel("hits per region")
    ax.set_ylabel("regions")
    ax.set_title(f"{int((per_region['n_hits'] > 0).sum())} of {len(per_region)} regions with a hit")


def _positions(ax, hits: pd.DataFrame, column: str, top: int, span: float) -> None:
    """Step histograms of hit centre offsets of the ``top`` most frequent patterns."""
    bins = np.linspace(-span, span, 41)
    for name in hits["pattern"].value_counts().index[:top]:
        values = hits.loc[hits["pattern"] == name, column].dropna().to_numpy()
        ax.hist(values, bins=bins, histtype="step", label=f"{name} ({len(values)})")
    ax.set_xlabel(f"hit centre − {'summit' if column == 'summit_offset' else 'region centre'} (bp)")
    ax.set_ylabel("hits")
    ax.set_title("positions")
    if len(hits):
        ax.legend(fontsize=7)


def _cooccurrence(ax, per_region: pd.DataFrame, patterns: Sequence[str]) -> None:
    """Heatmap of ``both / sqrt(n_i n_j)`` (1 on the diagonal of patterns with hits)."""
    mat = cooccurrence(per_region, patterns).astype(np.float64)
    diag = np.sqrt(np.clip(np.diag(mat), 1, None)) if len(mat) else np.ones(0)
    norm = mat / diag[:, None] / diag[None, :] if len(mat) else np.zeros((1, 1))
    image = ax.imshow(norm, cmap="Greens", vmin=0, vmax=1)
    short = [p.replace("_pattern_", " ") for p in patterns]
    ax.set_xticks(np.arange(len(short)), short, rotation=90, fontsize=7)
    ax.set_yticks(np.arange(len(short)), short, fontsize=7)
    ax.set_title("co-occurrence (regions with both / √(n_i n_j))")
    ax.figure.colorbar(image, ax=ax, shrink=0.7)


def plot_hit_summary(
    hits: pd.DataFrame, per_region: pd.DataFrame, patterns: Sequence[str], path: str | Path, span: float, top: int = 6
) -> None:
    """Write a PNG with three panels: hits per region, hit positions, pattern co-occurrence.

    Parameters
    ----------
    hits
        Hit table with ``pattern`` and ``center_offset`` (and ``summit_offset``, used when present).
    per_region
        :func:`cisflow.motifs.hits.per_region_table`.
    patterns
        Pattern names (heatmap order).
    span
        Half-width in bp of the position histogram.
    top
        Patterns with the most hits drawn in the position panel.
    """
    from matplotlib.figure import Figure

    column = "summit_offset" if "summit_offset" in hits and hits["summit_offset"].notna().any() else "center_offset"
    fig = Figure(figsize=(16, 4.8))
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.3, 1]})
    _hits_per_region(axes[0], per_region)
    _positions(axes[1], hits, column, top, span)
    _cooccurrence(axes[2], per_region, patterns)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
