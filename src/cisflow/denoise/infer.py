"""Whole-chromosome inference of a denoising model in padded windows, and peak calls from its probabilities.

A chromosome is cut into cores of ``interval`` bp; each core is read with ``pad`` bp of flank on
both sides (zeros off the chromosome) and only the core's outputs are kept. With ``pad`` at least
the model's receptive radius the result equals the model run on the whole chromosome with zeros
beyond its ends, whatever ``interval`` is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from cisflow.denoise.coverage import runs_above, tile_starts
from cisflow.denoise.settings import DenoiseParams
from cisflow.errors import CisflowError
from cisflow.narrowpeak import make_peaks

#: Reads ``(chrom, start, end)`` → float32 ``(C, end - start)`` input tracks (zeros off the chromosome).
WindowFn = Callable[[str, int, int], np.ndarray]


def default_pad(model: nn.Module) -> int:
    """The flank a window needs for exact outputs: the model's receptive radius (0 if it has none)."""
    return int(getattr(model, "receptive_radius", 0))


@torch.no_grad()
def predict_windows(model: nn.Module, x: np.ndarray, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Run the model on input windows ``(B, C, L)``; returns the track and peak probabilities, ``(B, L)`` each."""
    track, logits = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device))
    return track.float().cpu().numpy(), torch.sigmoid(logits.float()).cpu().numpy()


def predict_chromosome(
    model: nn.Module,
    read_window: WindowFn,
    chrom: str,
    size: int,
    *,
    interval: int,
    pad: int,
    device: torch.device,
    batch_size: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Denoised track and peak probability over one chromosome, in padded windows.

    Parameters
    ----------
    model
        A denoising model in eval mode on ``device``: ``(B, C, L)`` → ``(track, logits)`` ``(B, L)``.
    read_window
        Input reader, see :data:`WindowFn`.
    chrom, size
        Chromosome and its length (bp).
    interval, pad
        Core length and flank (bp) of each window.
    batch_size
        Windows per forward pass.

    Returns
    -------
    tuple of numpy.ndarray
        float32 ``(size,)`` each: the denoised track and the peak probability.
    """
    if pad < 0:
        raise CisflowError(f"pad must be >= 0, got {pad}")
    track, prob = np.zeros(size, dtype=np.float32), np.zeros(size, dtype=np.float32)
    starts = tile_starts(size, interval)
    for i in range(0, len(starts), batch_size):
        batch = starts[i : i + batch_size]
        x = np.stack([read_window(chrom, int(s) - pad, int(s) + interval + pad) for s in batch])
        t, p = predict_windows(model, x, device)
        for s, tb, pb in zip(batch, t, p, strict=True):
            e = min(int(s) + interval, size)
            track[s:e], prob[s:e] = tb[pad : pad + e - s], pb[pad : pad + e - s]
    return track, prob


def peaks_from_probability(
    chrom: str,
    prob: np.ndarray,
    track: np.ndarray,
    threshold: float = DenoiseParams.threshold,
    min_length: int = DenoiseParams.min_peak_length,
) -> pd.DataFrame:
    """Peaks as runs of bases with probability ≥ ``threshold`` at least ``min_length`` bp long.

    Each peak's narrowPeak fields: ``score`` = round(1000 × its highest probability), ``signal`` = the
    highest denoised value in it, ``summit`` = the offset of that value (first one on ties),
    p- and q-value -1 (none).

    Parameters
    ----------
    chrom
        Chromosome name.
    prob, track
        Peak probability and denoised track ``(size,)``.

    Returns
    -------
    pandas.DataFrame
        narrowPeak columns (:data:`cisflow.peaks.COLUMNS`), in coordinate order.
    """
    if not 0.0 < threshold < 1.0:
        raise CisflowError(f"peak probability threshold must be in (0, 1), got {threshold}")
    starts, ends = runs_above(prob, threshold, min_length)
    summits = np.array([int(np.argmax(track[s:e])) for s, e in zip(starts, ends, strict=True)], dtype=np.int64)
    signal = np.array([float(track[s + m]) for s, m in zip(starts, summits, strict=True)])
    df = make_peaks([chrom] * len(starts), starts, ends, signal=signal, summit=summits,
                    name=[f"{chrom}_denoised_{i + 1}" for i in range(len(starts))])  # fmt: skip
    df["score"] = [round(1000 * float(prob[s:e].max())) for s, e in zip(starts, ends, strict=True)]
    return df
