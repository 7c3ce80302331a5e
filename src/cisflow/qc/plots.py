"""QC plots (PNG, written atomically): fragment lengths, TSS profiles, cross-correlation, IDR scatter.

Each function takes plain arrays keyed by sample; no computation beyond what a plot needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cisflow.io import atomic_path


def _save(fig: Figure, path: str | Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, object]:
    fig = Figure(figsize=(6.4, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig, ax


def _empty(ax: object, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes)


def plot_fragment_lengths(histograms: Mapping[str, np.ndarray], path: str | Path) -> None:
    """Fragment-length densities ``{sample: counts (L + 1,)}`` (index = length in bp), NFR / mono bounds marked."""
    fig, ax = _figure("Fragment lengths", "fragment length (bp)", "fraction of fragments")
    for sample, counts in histograms.items():
        counts = np.asarray(counts, dtype=float)
        if counts.sum():
            ax.plot(np.arange(counts.size), counts / counts.sum(), lw=1, label=sample)
    for x in (150, 300):
        ax.axvline(x, color="grey", ls=":", lw=0.8)
    if ax.lines:
        ax.legend(fontsize=7)
    else:
        _empty(ax, "paired-end fragments")
    _save(fig, path)


def plot_tss_profiles(profiles: Mapping[str, np.ndarray], flank: int, path: str | Path) -> None:
    """Normalized TSS profiles ``{sample: (B,)}`` over −flank … flank bp (1 = flank background)."""
    fig, ax = _figure("TSS enrichment", "distance to TSS (bp)", "enrichment over flanks")
    for sample, prof in profiles.items():
        prof = np.asarray(prof, dtype=float)
        ax.plot(np.linspace(-flank, flank, prof.size), prof, lw=1, label=sample)
    if ax.lines:
        ax.legend(fontsize=7)
    else:
        _empty(ax, "TSS profiles (no annotation configured)")
    _save(fig, path)


def plot_cross_correlation(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], fragment_lengths: Mapping[str, float], path: str | Path
) -> None:
    """Strand cross-correlation ``{sample: (shifts bp, cc)}``, the estimated fragment length marked."""
    fig, ax = _figure("Strand cross-correlation", "strand shift (bp)", "cross-correlation")
    for sample, (shifts, cc) in curves.items():
        (line,) = ax.plot(shifts, cc, lw=1, label=f"{sample} ({fragment_lengths.get(sample, float('nan')):.0f} bp)")
        ax.axvline(fragment_lengths.get(sample, np.nan), color=line.get_color(), ls=":", lw=0.8)
    if ax.lines:
        ax.legend(fontsize=7)
    else:
        _empty(ax, "single-end ChIP reads")
    _save(fig, path)


def plot_idr_scatter(score1: np.ndarray, score2: np.ndarray, idr: np.ndarray, threshold: float, path: str | Path,
                     title: str = "IDR") -> None:  # fmt: skip
    """Replicate values of matched peaks (log10 of value + 1), coloured by passing global IDR ≤ ``threshold``."""
    fig, ax = _figure(title, "replicate 1: log10(value + 1)", "replicate 2: log10(value + 1)")
    x, y = np.log10(np.asarray(score1, float) + 1), np.log10(np.asarray(score2, float) + 1)
    passed = np.asarray(idr, float) <= threshold
    ax.scatter(x[~passed], y[~passed], s=3, c="lightgrey", label=f"IDR > {threshold:g} ({int((~passed).sum())})")
    ax.scatter(x[passed], y[passed], s=3, c="black", label=f"IDR ≤ {threshold:g} ({int(passed.sum())})")
    if x.size:
        ax.legend(fontsize=7, markerscale=3)
    else:
        _empty(ax, "IDR table (naive-overlap reproducibility, or no matched peaks)")
    _save(fig, path)


def plot_read_filters(counts: Mapping[str, Mapping[str, int]], path: str | Path) -> None:
    """Records left after each filter step ``{sample: {step: records}}``, one bar group per sample."""
    fig, ax = _figure("Reads at each filter step", "", "records left")
    steps = list(dict.fromkeys(s for c in counts.values() for s in c))
    width = 0.8 / max(len(counts), 1)
    for i, (sample, c) in enumerate(counts.items()):
        ax.bar(np.arange(len(steps)) + i * width, [c.get(s, 0) for s in steps], width, label=sample)
    labels = [s.removeprefix("reads_").removeprefix("after_") for s in steps]
    ax.set_xticks(np.arange(len(steps)) + 0.4 - width / 2, labels, rotation=45, ha="right", fontsize=7)
    if counts:
        ax.legend(fontsize=7)
    _save(fig, path)
