"""Stage entries of AtacWorks-style denoising: training pairs, training, denoising, evaluation.

1. :mod:`cisflow.denoise.pairs` — the tracks and MACS3 peaks of the full library and of seeded
   subsamples of its fragments (no torch: the reads environment runs them).
2. :func:`cisflow.denoise.train.train_denoiser` — the model.
3. :func:`denoise_sample` — any low-coverage track → denoised bigWig, peak-probability bigWig, peak
   BED; :func:`denoise_reads` does the same from a sample's reads, with MACS3 beside it.
4. :func:`evaluate_denoising` — metrics on held-out chromosomes beside MACS3 on the noisy reads, and
   the depth at which MACS3 matches the model (with :func:`~cisflow.denoise.pairs.macs3_depth_series`).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cisflow.denoise.coverage import DEFAULT_FLANK, interval_mask, interval_scores
from cisflow.denoise.infer import peaks_from_probability, predict_chromosome
from cisflow.denoise.io import BigWigWriter, TrackReader, write_table
from cisflow.denoise.metrics import equivalent_depth, peak_metrics, track_metrics
from cisflow.denoise.pairs import coverage_bigwig, macs3_peaks
from cisflow.denoise.plots import plot_denoising
from cisflow.denoise.settings import DenoiseParams
from cisflow.errors import CisflowError
from cisflow.io import write_json
from cisflow.models import load_model
from cisflow.narrowpeak import empty_peaks, read_narrowpeak, write_narrowpeak
from cisflow.predict import resolve_device

log = logging.getLogger(__name__)


def denoise_sample(
    model: str | Path,
    noisy_bw: str | Path,
    sizes: Mapping[str, int],
    outputs: Mapping[str, str | Path],
    *,
    threshold: float = DenoiseParams.threshold,
    min_length: int = DenoiseParams.min_peak_length,
    chroms: Sequence[str] | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 8,
    threads: int | None = None,
) -> dict[str, int]:
    """Denoise a low-coverage track with a trained model; any sample in the model's units.

    Parameters
    ----------
    model
        The ``model.json`` of a model written by :func:`~cisflow.denoise.train.train_denoiser` (or the folder
        holding it).
    noisy_bw
        The sample's coverage (:func:`coverage_bigwig`: fold over the genome-wide mean).
    outputs
        Paths for ``track`` (denoised bigWig), ``prob`` (peak-probability bigWig) and ``peaks``
        (narrowPeak of the classification head's calls); a missing key skips that output.
    threshold, min_length
        Peak calls: runs of bases with probability ≥ ``threshold``, at least ``min_length`` bp.
    chroms
        Chromosomes to denoise (default all of ``sizes``; the others are left empty).
    device, batch_size, threads
        ``None`` → CUDA if available; windows per forward pass; torch CPU threads.

    Returns
    -------
    dict
        ``bases`` denoised and ``peaks`` called.
    """
    from cisflow.train import deterministic

    device = resolve_device(device)
    net, meta = load_model(model, device)
    if "interval" not in meta or "pad" not in meta:
        raise CisflowError("not a denoising model (model.json lacks interval and pad)", Path(model))
    chroms = list(sizes) if chroms is None else list(chroms)
    unknown = [c for c in chroms if c not in sizes]
    if unknown:
        raise CisflowError(f"chromosomes to denoise not in the genome: {', '.join(unknown[:3])}", noisy_bw)
    out = {k: Path(v) for k, v in outputs.items()}
    calls = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(deterministic(device, threads))
        reader = stack.enter_context(TrackReader([noisy_bw], sizes))
        writers = {k: stack.enter_context(BigWigWriter(out[k], sizes)) for k in ("track", "prob") if k in out}
        for chrom in (c for c in sizes if c in set(chroms)):
            t, p = predict_chromosome(net, reader.window, chrom, sizes[chrom], interval=int(meta["interval"]),
                                      pad=int(meta["pad"]), device=device, batch_size=batch_size)  # fmt: skip
            for key, values in (("track", t), ("prob", p)):
                if key in writers:
                    writers[key].add(chrom, values)
            calls.append(peaks_from_probability(chrom, p, t, threshold, min_length))
    peaks = pd.concat(calls, ignore_index=True) if calls else empty_peaks()
    if "peaks" in out:
        write_narrowpeak(peaks, out["peaks"])
    log.info("denoised %d chromosomes of %s: %d peaks", len(chroms), noisy_bw, len(peaks))
    return {"bases": int(sum(sizes[c] for c in chroms)), "peaks": len(peaks)}


def denoise_reads(
    model: str | Path,
    reads: str | Path,
    sizes: Mapping[str, int],
    outputs: Mapping[str, str | Path],
    *,
    macs3: Mapping[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Denoise a low-coverage sample from its reads: its track, the model's outputs, MACS3 for comparison.

    Parameters
    ----------
    model
        A trained model's ``model.json`` (or its folder); its ``flank`` is used for the sample's track.
    reads
        The sample's filtered tagAlign (or fragments BED).
    outputs
        ``noisy_bw`` (required: the sample's track), ``track``, ``prob``, ``peaks`` (see
        :func:`denoise_sample`), ``macs3_peaks`` (MACS3 on the reads) and ``stats`` (JSON).
    macs3
        ``pvalue``, ``gsize``, ``max_peaks`` for MACS3.
    **options
        Passed to :func:`denoise_sample` (``threshold``, ``min_length``, ``chroms``, ``device``, ...).
    """
    out = {k: Path(v) for k, v in outputs.items()}
    if "noisy_bw" not in out:
        raise CisflowError("denoise_reads needs an output path for the sample's track (noisy_bw)")
    flank = int(load_model(model)[1].get("flank", DEFAULT_FLANK))
    stats: dict[str, Any] = {"coverage": coverage_bigwig(reads, sizes, out["noisy_bw"], flank)}
    model_outputs = {k: v for k, v in out.items() if k in ("track", "prob", "peaks")}
    stats["denoised"] = denoise_sample(model, out["noisy_bw"], sizes, model_outputs, **options)
    if "macs3_peaks" in out:
        macs3_peaks(reads, out["macs3_peaks"], sizes, macs3 or {})
    if "stats" in out:
        write_json(out["stats"], stats)
    return stats


def _peak_scores(peaks: pd.DataFrame, chrom: str, size: int) -> np.ndarray:
    """Per-base MACS3 score of one chromosome: the -log10 p-value of the peak covering a base, else 0."""
    part = peaks[peaks["chrom"] == chrom]
    return interval_scores(part["start"].to_numpy(), part["end"].to_numpy(), part["pvalue"].to_numpy(), size)


def _held_out_arrays(
    tracks: Mapping[str, str | Path], peaks: Mapping[str, str | Path], sizes: Mapping[str, int], chroms: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per-base arrays over ``chroms`` (concatenated): each track, ``in_peaks`` (the mask of ``clean_peaks``)
    and each peak set's score (:func:`_peak_scores`)."""
    tables = {k: read_narrowpeak(v, sizes, allow_empty=True) for k, v in peaks.items()}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in [*tracks, "in_peaks", *tables]}
    with TrackReader(list(tracks.values()), sizes) as reader:
        for chrom in chroms:
            values = reader.chromosome(chrom)
            for k, v in zip(tracks, values, strict=True):
                parts[k].append(v)
            clean = tables["clean_peaks"][tables["clean_peaks"]["chrom"] == chrom]
            parts["in_peaks"].append(interval_mask(clean["start"].to_numpy(), clean["end"].to_numpy(), sizes[chrom]))
            for k, table in tables.items():
                parts[k].append(_peak_scores(table, chrom, sizes[chrom]))
    return {k: np.concatenate(v) for k, v in parts.items()}


def _metric_rows(a: Mapping[str, np.ndarray], depth: float, series: Mapping[float, str]) -> list[dict[str, Any]]:
    """Rows of :func:`evaluate_denoising` (before the sample column)."""
    rows: list[dict[str, Any]] = []
    empty = {"pearson": math.nan, "spearman": math.nan, "mse": math.nan, "auroc": math.nan, "auprc": math.nan}
    for method, score in (("noisy", a["noisy"]), ("denoised", a["prob"])):
        peaks = peak_metrics(score, a["in_peaks"])
        for row in track_metrics(a[method], a["clean"], a["in_peaks"]):
            extra = peaks if row["region"] == "all" else {"auroc": math.nan, "auprc": math.nan}
            rows.append({"method": method, "depth": depth, **row, **extra})
    n = len(a["clean"])
    rows.append({"method": "macs3_noisy", "depth": depth, "region": "all", "n_bases": n, **empty,
                 **peak_metrics(a["noisy_peaks"], a["in_peaks"])})  # fmt: skip
    for fraction, key in sorted(series.items()):
        rows.append({"method": "macs3_depth", "depth": float(fraction), "region": "all", "n_bases": n, **empty,
                     **peak_metrics(a[key], a["in_peaks"])})  # fmt: skip
    if series:
        target = next(r["auprc"] for r in rows if r["method"] == "denoised" and r["region"] == "all")
        curve = [(r["depth"], r["auprc"]) for r in rows if r["method"] == "macs3_depth"]
        eq = equivalent_depth([d for d, _ in curve], [v for _, v in curve], target)
        rows.append({"method": "equivalent_depth", "depth": eq, "region": "all", "n_bases": n,
                     **{**empty, "auprc": target}})  # fmt: skip
    return rows


def _example(a: Mapping[str, np.ndarray], chrom: str, width: int = 10_000) -> dict[str, Any]:
    """A ``width``-bp window of the first held-out chromosome around its median-strength clean peak."""
    size = min(len(a["clean"]), a["_sizes"][0])
    strength = a["clean_peaks"][:size]
    centres = np.flatnonzero(np.diff(strength, prepend=0) > 0)
    centre = int(centres[np.argsort(strength[centres])[len(centres) // 2]]) if len(centres) else size // 2
    start = int(np.clip(centre - width // 2, 0, max(size - width, 0)))
    sl = slice(start, min(start + width, size))
    return {"chrom": chrom, "start": start, "clean": a["clean"][sl], "noisy": a["noisy"][sl],
            "denoised": a["denoised"][sl], "prob": a["prob"][sl], "in_peaks": a["in_peaks"][sl]}  # fmt: skip


def evaluate_denoising(
    tracks: Mapping[str, str | Path],
    peaks: Mapping[str, str | Path],
    sizes: Mapping[str, int],
    chroms: Sequence[str],
    out_tsv: str | Path,
    *,
    depth: float,
    depth_series: Mapping[float, str | Path] | None = None,
    out_png: str | Path | None = None,
    out_json: str | Path | None = None,
    sample: str = "sample",
) -> dict[str, Any]:
    """Metrics of the noisy and denoised tracks and of MACS3 on the noisy reads, on held-out chromosomes.

    Parameters
    ----------
    tracks
        bigWigs ``clean``, ``noisy``, ``denoised`` and ``prob`` (the peak probability), in one unit.
    peaks
        narrowPeaks ``clean`` (the labels: MACS3 on the full library) and ``noisy_peaks`` (MACS3 on the
        noisy reads; scored per base by the -log10 p-value of the covering peak).
    chroms
        Held-out chromosomes to score (concatenated).
    out_tsv
        One row per method and region: ``sample method depth region n_bases pearson spearman mse
        auroc auprc``. Methods: ``noisy`` and ``denoised`` (track metrics per region; AUROC / AUPRC of
        the noisy coverage and of the peak probability on ``all``), ``macs3_noisy``, ``macs3_depth``
        (one row per depth of ``depth_series``) and ``equivalent_depth`` (the depth at which MACS3's
        AUPRC reaches the denoised model's, linearly interpolated; NaN if it never does).
    depth
        The noisy sample's depth as a fraction of the full library.
    depth_series
        ``{fraction: narrowPeak}`` from :func:`macs3_depth_series`.
    out_png, out_json
        The figure (:func:`~cisflow.denoise.plots.plot_denoising`) and a summary of the key figures.

    Returns
    -------
    dict
        The summary: per method the headline metrics, ``equivalent_depth`` and its ratio to ``depth``.
    """
    missing = [k for k in ("clean", "noisy", "denoised", "prob") if k not in tracks]
    missing += [k for k in ("clean", "noisy_peaks") if k not in peaks]
    if missing:
        raise CisflowError(f"evaluate_denoising lacks inputs: {', '.join(missing)}")
    if not chroms or any(c not in sizes for c in chroms):
        raise CisflowError(f"held-out chromosomes must be in the genome, got {list(chroms)}")
    series = {float(f): f"depth_{float(f):g}" for f in (depth_series or {})}
    all_peaks = {"clean_peaks": peaks["clean"], "noisy_peaks": peaks["noisy_peaks"],
                 **{series[float(f)]: p for f, p in (depth_series or {}).items()}}  # fmt: skip
    arrays = {**_held_out_arrays(tracks, all_peaks, sizes, chroms), "_sizes": [sizes[c] for c in chroms]}
    rows = [{"sample": sample, **r} for r in _metric_rows(arrays, float(depth), series)]
    write_table(out_tsv, rows)
    if out_png is not None:
        plot_denoising(out_png, rows, _example(arrays, chroms[0]))
    summary = _summary(rows, float(depth))
    if out_json is not None:
        write_json(out_json, summary)
    return summary


def _summary(rows: Sequence[Mapping[str, Any]], depth: float) -> dict[str, Any]:
    """Headline figures: Pearson (all bases) and AUPRC per method, the equivalent depth."""
    pick = {(r["method"], r["region"]): r for r in rows}
    out: dict[str, Any] = {"depth": depth}
    for method in ("noisy", "denoised", "macs3_noisy"):
        row = pick.get((method, "all"), {})
        out[method] = {k: row.get(k) for k in ("pearson", "spearman", "mse", "auroc", "auprc")}
    eq = pick.get(("equivalent_depth", "all"), {}).get("depth", math.nan)
    out["equivalent_depth"] = eq
    out["equivalent_depth_ratio"] = eq / depth if depth > 0 else math.nan
    return out
