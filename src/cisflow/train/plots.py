"""The learning curve of a training run (loss and the monitored metric per epoch)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cisflow.io import atomic_path


def plot_learning_curve(
    path: str | Path, history: list[Mapping[str, Any]], monitor: str, best_epoch: int | None = None
) -> None:
    """PNG of loss and the monitored metric (auPRC if monitoring loss) per epoch, train and valid."""
    from matplotlib.figure import Figure

    metric = "auprc" if monitor == "loss" else monitor
    fig = Figure(figsize=(9, 3.5), layout="constrained")
    for ax, key in zip(fig.subplots(1, 2), ("loss", metric), strict=True):
        for split in ("train", "valid"):
            rows = [r for r in history if r["split"] == split]
            ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], marker="o", ms=3, label=split)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", ls="--", lw=1, label=f"best epoch {best_epoch}")
        ax.set(xlabel="epoch", ylabel=key, title=key)
        ax.legend(frameon=False)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
