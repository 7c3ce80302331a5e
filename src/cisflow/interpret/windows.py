"""Windows to explain: one summit-centred window per peak.

Bound bins overlap (at 200 bp bins every 50 bp a 500 bp peak has ~10 of them), so explaining bound
bins shows TF-MoDISCO the same motif instance several times as separate seqlets and leaves other
peaks out. One window per peak, centred on its summit, shows each instance once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError


def read_peak_summits(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Peaks of narrowPeak files as ``chrom start end summit`` (0-based summit position; the centre when the
    file gives none), one row per distinct summit, in file order."""
    from cisflow.narrowpeak import read_narrowpeak

    peaks = pd.concat([read_narrowpeak(p, allow_empty=True) for p in paths], ignore_index=True)
    offset = peaks["summit"].to_numpy(dtype=np.int64)
    centre = (peaks["end"].to_numpy(dtype=np.int64) - peaks["start"].to_numpy(dtype=np.int64)) // 2
    summit = peaks["start"].to_numpy(dtype=np.int64) + np.where(offset >= 0, offset, centre)
    table = pd.DataFrame({"chrom": peaks["chrom"].astype(str), "start": peaks["start"], "end": peaks["end"]})
    table["summit"] = summit
    return table.drop_duplicates(["chrom", "start", "end"]).drop_duplicates(["chrom", "summit"]).reset_index(drop=True)


def summit_windows(
    peaks: pd.DataFrame,
    chroms: Sequence[str],
    chrom_sizes: Mapping[str, int],
    input_length: int,
    max_sequences: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """One window of ``input_length`` bp per peak on ``chroms``, centred on its summit (shifted inside the
    chromosome at its ends), at most ``max_sequences`` peaks drawn with ``seed``, in genome order.

    Parameters
    ----------
    peaks
        ``chrom start end summit`` (:func:`read_peak_summits`).
    chroms
        Chromosomes whose peaks may be explained (those of the interpreted splits).
    chrom_sizes
        ``{chrom: length in bp}``; a chromosome shorter than ``input_length`` has no window.

    Returns
    -------
    dict
        ``chrom`` ``(n,)`` str, ``start`` ``(n,)`` int64 window starts, ``ids`` ``(n,)`` the peaks as
        ``chrom:start-end``, ``summit`` ``(n,)`` int64.
    """
    if input_length < 1 or max_sequences < 1:
        raise CisflowError(f"input length ({input_length}) and max_sequences ({max_sequences}) must be ≥ 1")
    size = peaks["chrom"].map(lambda c: chrom_sizes.get(c, 0)).to_numpy(dtype=np.int64)
    keep = peaks["chrom"].isin(list(chroms)).to_numpy() & (size >= input_length)
    table = peaks.loc[keep].reset_index(drop=True)
    size = size[keep]
    if len(table) > max_sequences:
        chosen = np.random.default_rng(seed).choice(len(table), max_sequences, replace=False)
        table, size = table.iloc[np.sort(chosen)].reset_index(drop=True), size[np.sort(chosen)]
    order = list(dict.fromkeys(chrom_sizes))
    rank = table["chrom"].map(order.index).to_numpy()
    idx = np.lexsort((table["summit"].to_numpy(), rank))
    table, size = table.iloc[idx].reset_index(drop=True), size[idx]
    start = np.clip(table["summit"].to_numpy(dtype=np.int64) - input_length // 2, 0, size - input_length)
    ids = (table["chrom"] + ":" + table["start"].astype(str) + "-" + table["end"].astype(str)).to_numpy()
    return {"chrom": table["chrom"].to_numpy(dtype=str), "start": start, "ids": ids.astype(str),
            "summit": table["summit"].to_numpy(dtype=np.int64)}  # fmt: skip
