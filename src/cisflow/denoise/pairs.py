"""Training pairs from one library: its tracks, seeded fragment subsamples, MACS3 on each (no torch).

- :func:`coverage_bigwig` — Tn5 cut sites extended ±100 bp, as fold over the genome-wide mean.
- :func:`clean_target` — the full library's track and MACS3 peaks (the clean side).
- :func:`make_training_pair` — a seeded subsample of the fragments (the noisy input), its track and
  MACS3 peaks (the comparison), and optionally the clean side.
- :func:`macs3_depth_series` — MACS3 on nested subsamples, for the equivalent depth.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cisflow.denoise.coverage import DEFAULT_FLANK, extended_coverage, fold_scale
from cisflow.denoise.io import read_cut_sites, subsample_reads, write_bigwig
from cisflow.errors import CisflowError
from cisflow.io import write_json
from cisflow.macs3 import call_peaks

log = logging.getLogger(__name__)


def coverage_bigwig(
    reads: str | Path, sizes: Mapping[str, int], out_bw: str | Path, flank: int = DEFAULT_FLANK
) -> dict[str, Any]:
    """Write the extended cut-site coverage of a tagAlign / fragments file, as fold over its genome-wide mean.

    Returns
    -------
    dict
        ``cut_sites`` (total), ``scale`` (weight of one site), ``flank``.
    """
    sites = read_cut_sites(reads, sizes)
    total = int(sum(len(s) for s in sites.values()))
    scale = fold_scale(total, sum(sizes.values()), flank)
    tracks = ((c, extended_coverage(sites.pop(c), n, flank, scale)) for c, n in sizes.items())
    write_bigwig(out_bw, sizes, tracks)
    log.info("%s: %d cut sites (±%d bp, scale %.4g) → %s", reads, total, flank, scale, out_bw)
    return {"cut_sites": total, "scale": scale, "flank": int(flank)}


def macs3_peaks(
    reads: str | Path, out: str | Path, sizes: Mapping[str, int], macs3: Mapping[str, Any], work_dir: Path | None = None
) -> Path:
    """MACS3 on cut sites (ATAC, BED input) with the peaks stage's settings (``pvalue``, ``gsize``, ``max_peaks``)."""
    opts = {"pvalue": 0.01, "gsize": None, "max_peaks": 300_000, **dict(macs3)}
    return call_peaks(reads, out, sizes, fmt="BED", assay="atac", work_dir=work_dir, **opts)


def clean_target(
    reads: str | Path,
    sizes: Mapping[str, int],
    outputs: Mapping[str, str | Path],
    *,
    flank: int = DEFAULT_FLANK,
    macs3: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The clean side of the training pairs: the full library's track (``clean_bw``) and MACS3 peaks (``clean_peaks``).

    Returns the coverage statistics (:func:`coverage_bigwig`); a missing output key skips that output.
    """
    out = {k: Path(v) for k, v in outputs.items()}
    stats = coverage_bigwig(reads, sizes, out["clean_bw"], flank) if "clean_bw" in out else {}
    if "clean_peaks" in out:
        macs3_peaks(reads, out["clean_peaks"], sizes, macs3 or {})
    return stats


def make_training_pair(
    reads: str | Path,
    sizes: Mapping[str, int],
    outputs: Mapping[str, str | Path],
    *,
    fraction: float,
    seed: int,
    flank: int = DEFAULT_FLANK,
    macs3: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A noisy / clean pair from one library: subsampled and full tracks, MACS3 peaks of both.

    Parameters
    ----------
    reads
        The filtered tagAlign (or fragments BED) of the full library.
    outputs
        Paths for ``noisy_reads`` (the subsample, tagAlign), ``noisy_bw``, ``clean_bw``,
        ``clean_peaks`` (MACS3 on the full library), ``noisy_peaks`` (MACS3 on the subsample) and
        ``stats`` (JSON of what this returns); a missing key skips that output.
    fraction, seed
        The fraction of fragments kept and the seed of the choice.
    flank
        Cut-site extension (bp) on each side.
    macs3
        ``pvalue``, ``gsize``, ``max_peaks`` for MACS3 (the peaks stage's meaning).

    Returns
    -------
    dict
        ``fraction``, ``seed``, ``reads`` / ``noisy_reads`` (lines), ``depth`` (their ratio: the
        noisy cut sites over the full library's), ``clean`` / ``noisy`` (coverage statistics).
    """
    out = {k: Path(v) for k, v in outputs.items()}
    if "noisy_reads" not in out:
        raise CisflowError("make_training_pair needs an output path for the noisy reads")
    counts = subsample_reads(reads, out["noisy_reads"], fraction, seed)
    n_in, n_out = counts["lines_in"], counts["lines_out"]
    stats: dict[str, Any] = {"fraction": fraction, "seed": int(seed), "reads": n_in, "noisy_reads": n_out,
                             "depth": n_out / n_in}  # fmt: skip
    for which, src in (("clean", reads), ("noisy", out["noisy_reads"])):
        part = {f"clean_{k}": out[f"{which}_{k}"] for k in ("bw", "peaks") if f"{which}_{k}" in out}
        if part:
            stats[which] = clean_target(src, sizes, part, flank=flank, macs3=macs3)
    if "stats" in out:
        write_json(out["stats"], stats)
    return stats


def depth_series_outputs(out_dir: str | Path, fractions: Sequence[float]) -> dict[float, Path]:
    """The usual output paths of :func:`macs3_depth_series`: ``out_dir/depth_<fraction>.narrowPeak``."""
    return {float(f): Path(out_dir) / f"depth_{float(f):g}.narrowPeak" for f in fractions}


def macs3_depth_series(
    reads: str | Path,
    sizes: Mapping[str, int],
    outputs: Mapping[float, str | Path],
    *,
    seed: int,
    macs3: Mapping[str, Any] | None = None,
) -> dict[float, Path]:
    """MACS3 on seeded, nested subsamples of the library at each fraction (1.0: the full library).

    Parameters
    ----------
    outputs
        ``{fraction: narrowPeak path}`` to write (:func:`depth_series_outputs` gives the usual names).

    Returns
    -------
    dict
        ``{fraction: narrowPeak path}``.
    """
    peaks = {}
    for fraction, path in sorted((float(f), Path(p)) for f, p in outputs.items()):
        with tempfile.TemporaryDirectory(prefix="macs3_depth_", dir=path.parent.parent) as work:
            src = Path(reads)
            if fraction < 1.0:
                src = Path(work) / "reads.tagAlign.gz"
                subsample_reads(reads, src, fraction, seed)
            peaks[fraction] = macs3_peaks(src, path, sizes, macs3 or {}, work_dir=Path(work) / "macs3")
    return peaks


def macs3_settings(peaks: Mapping[str, Any], non_n_file: str | Path) -> dict[str, Any]:
    """MACS3 options from the peaks stage's settings: ``pvalue``, ``max_peaks`` and ``gsize``.

    ``gsize`` is ``peaks["genome_size"]`` when set, else the genome's non-N bases (read from
    ``non_n_file``, the genome stage's ``non_n_bases.txt``), as the peaks stage does.
    """
    gsize = peaks.get("genome_size")
    if gsize is None:
        text = Path(non_n_file).read_text(encoding="utf-8").strip()
        if not text.isdigit():
            raise CisflowError("expected the number of non-N bases", non_n_file)
        gsize = int(text)
    return {"pvalue": peaks["pvalue"], "max_peaks": peaks["max_peaks"], "gsize": gsize}
