"""Figures of the denoising stage: peak AUPRC against depth, track correlations, an example region."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cisflow.io import atomic_path


def _depth_panel(ax: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """MACS3's AUPRC per depth, the denoised model's and MACS3's on the noisy reads, the equivalent depth."""
    series = sorted((r["depth"], r["auprc"]) for r in rows if r["method"] == "macs3_depth")
    if series:
        ax.plot(*zip(*series, strict=True), marker="o", color="tab:grey", label="MACS3 on subsamples")
    for method, color, marker in (("denoised", "tab:blue", "*"), ("macs3_noisy", "tab:orange", "s")):
        row = next((r for r in rows if r["method"] == method and r["region"] == "all"), None)
        if row is not None:
            ax.plot([row["depth"]], [row["auprc"]], marker=marker, ms=11, ls="", color=color, label=method)
            if method == "denoised":
                ax.axhline(row["auprc"], color=color, lw=0.8, ls=":")
    eq = next((r for r in rows if r["method"] == "equivalent_depth"), None)
    if eq is not None and math.isfinite(eq["depth"]):
        ax.axvline(eq["depth"], color="tab:blue", lw=0.8, ls="--", label=f"equivalent depth {eq['depth']:.2f}")
    ax.set(xlabel="fraction of the full library", ylabel="per-base AUPRC vs clean peaks", title="Peaks", ylim=(0, 1))
    ax.legend(frameon=False, fontsize=8)


def _track_panel(ax: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Pearson of the noisy and denoised tracks against the clean one, per region."""
    regions = ("all", "in_peaks", "outside_peaks")
    for k, (method, color) in enumerate((("noisy", "tab:orange"), ("denoised", "tab:blue"))):
        values = [next((r["pearson"] for r in rows if r["method"] == method and r["region"] == g), np.nan)
                  for g in regions]  # fmt: skip
        ax.bar(np.arange(len(regions)) + (k - 0.5) * 0.38, values, width=0.38, color=color, label=method)
    ax.set_xticks(range(len(regions)), regions)
    ax.set(ylabel="Pearson r vs clean track", title="Track", ylim=(0, 1))
    ax.legend(frameon=False, fontsize=8)


def _example_panel(ax: Any, example: Mapping[str, Any]) -> None:
    """Clean, noisy and denoised tracks over one region, the clean peaks and (right axis) the peak probability."""
    step = max(1, len(example["clean"]) // 2000)  # the tracks are smooth at this scale: 2,000 points suffice
    x = example["start"] + np.arange(0, len(example["clean"]), step)
    val = {k: np.asarray(example[k])[::step] for k in ("clean", "noisy", "denoised", "prob", "in_peaks")}
    ax.fill_between(x, val["clean"], color="lightgrey", label="clean (full library)")
    ax.plot(x, val["noisy"], color="tab:orange", lw=0.7, label="noisy")
    ax.plot(x, val["denoised"], color="tab:blue", lw=1.2, label="denoised")
    top = float(max(np.max(val["clean"]), np.max(val["denoised"]), 1e-9))
    ax.fill_between(x, -0.08 * top, -0.02 * top, where=val["in_peaks"], color="black", label="clean peaks")
    ax.set(xlabel=f"{example['chrom']} (bp)", ylabel="coverage (fold over mean)", title="Example region")
    right = ax.twinx()
    right.plot(x, val["prob"], color="tab:green", lw=0.8, label="peak probability")
    right.set(ylim=(-0.05, 3.0), yticks=[0, 0.5, 1])
    right.set_ylabel("peak probability", color="tab:green")
    handles = [h for a in (ax, right) for h in a.get_legend_handles_labels()[0]]
    ax.legend(handles=handles, frameon=False, fontsize=7, ncol=3, loc="upper left")


def plot_denoising(path: str | Path, rows: Sequence[Mapping[str, Any]], example: Mapping[str, Any] | None) -> None:
    """PNG: peak AUPRC against depth, track Pearson per region and (if given) an example region.

    Parameters
    ----------
    rows
        The metric rows of :func:`cisflow.denoise.pipeline.evaluate_denoising`.
    example
        ``chrom``, ``start`` and per-base ``clean``, ``noisy``, ``denoised``, ``prob``, ``in_peaks``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 4), layout="constrained")
    axes = fig.subplots(1, 3, width_ratios=[1, 1, 2])
    _depth_panel(axes[0], rows)
    _track_panel(axes[1], rows)
    if example is not None:
        _example_panel(axes[2], example)
    else:
        axes[2].set_axis_off()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
