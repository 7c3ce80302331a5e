"""Plots of variant effects: the distribution of effects (beside the null), and ref / alt logos of a variant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.io import atomic_path


def _save(fig, path: str | Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def plot_effects(
    path: str | Path,
    effects: Mapping[str, np.ndarray],
    name: str,
    null: Mapping[str, np.ndarray] | None = None,
    top: pd.DataFrame | None = None,
) -> None:
    """Histogram of ``name`` per task (``{task: values}``), the null's beside it, the top variants marked.

    Parameters
    ----------
    path
        PNG written atomically.
    effects
        ``{task: (n,) values}`` (a sample of the scored variants).
    name
        The effect's name (axis label).
    null
        ``{task: (m,) values}`` of the null variants, if any.
    top
        Rows with ``task`` and ``name`` columns, drawn as ticks.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(effects)
    fig, axes = plt.subplots(len(tasks), 1, figsize=(7, 2.6 * max(len(tasks), 1)), squeeze=False)
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        values = np.asarray(effects[task], float)
        values = values[np.isfinite(values)]
        bins = np.histogram_bin_edges(values if values.size else [0.0, 1.0], bins=60)
        if values.size:
            ax.hist(values, bins=bins, density=True, alpha=0.7, label=f"variants (n={values.size})")
        else:
            ax.text(0.5, 0.5, "no variant scored", ha="center", va="center", transform=ax.transAxes)
        if null is not None and task in null:
            ax.hist(null[task], bins=bins, density=True, histtype="step", color="k", label="null")
        if top is not None and len(top):
            for v in top.loc[top["task"] == task, name]:
                ax.axvline(v, color="tab:red", lw=0.8, alpha=0.6)
        ax.set_xlabel(f"{name} ({task})")
        ax.set_ylabel("density")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    _save(fig, path)


def _logo(ax, heights: np.ndarray, start: int, title: str, highlight: tuple[float, float]) -> None:
    """One logo ``(4, W)`` on ``ax`` with positions ``start …`` and the variant's bases shaded."""
    from cisflow.logos import draw_logo

    draw_logo(ax, heights, np.arange(start, start + heights.shape[1]))
    ax.axvspan(*highlight, color="gold", alpha=0.3, lw=0)
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_title(title, fontsize=8, loc="left")
    ax.tick_params(labelsize=7)


def plot_variant_logos(
    path: str | Path, title: str, panels: Sequence[tuple[str, np.ndarray]], flank: int, allele_lengths: tuple[int, int]
) -> None:
    """Logos of one variant: ``panels`` ``[(label, heights (4, 2·flank))]`` stacked, positions relative to it.

    Rows come in ref / alt pairs of one method and share their y-range; the REF bases are shaded in
    ``ref`` rows and the ALT bases in ``alt`` rows (``allele_lengths`` = ``(len REF, len ALT)``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(max(8, 0.22 * 2 * flank), 1.5 * len(panels)), squeeze=False)
    for k in range(0, len(panels), 2):
        pair = [panels[k][1]] + ([panels[k + 1][1]] if k + 1 < len(panels) else [])
        lo = min(float(np.minimum(p, 0).sum(axis=0).min()) for p in pair)
        hi = max(float(np.maximum(p, 0).sum(axis=0).max()) for p in pair)
        pad = 0.05 * (hi - lo or 1.0)
        for j, (label, heights) in enumerate(panels[k : k + 2]):
            ax = axes[k + j, 0]
            width = max(allele_lengths[0 if "ref" in label else 1], 1)
            _logo(ax, heights, -flank, label, (-0.5, width - 0.5))
            ax.set_ylim(lo - pad, hi + pad)
    fig.suptitle(title, fontsize=9)
    axes[-1, 0].set_xlabel("position relative to the variant (bp)")
    fig.tight_layout()
    _save(fig, path)
