"""MACS3 peak calling: the ``callpeak`` arguments ENCODE uses, running it, and its fold-enrichment track.

:func:`call_peaks` runs ``macs3 callpeak`` on one sample and writes the capped, clipped narrowPeak
(:mod:`cisflow.narrowpeak`); :func:`fold_enrichment_bigwig` turns MACS3's treatment pileup and control
lambda into a fold-enrichment bigWig (MACS3 ``bdgcmp -m FE``).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.genome import Genome, check_same_chroms
from cisflow.io import atomic_path, open_text
from cisflow.narrowpeak import cap_peaks, read_narrowpeak, sizes_of, write_narrowpeak
from cisflow.params import log_params

log = logging.getLogger(__name__)

_FORMATS = ("BED", "BEDPE", "BAM", "BAMPE", "SAM", "AUTO")
_PAIRED_FORMATS = ("BEDPE", "BAMPE")


def genome_size(genome: Mapping[str, int] | Genome) -> int:
    """Effective genome size for MACS3 ``-g``: non-N bases of a Genome, or the sum of sizes.

    Parameters
    ----------
    genome
        A :class:`~cisflow.genome.Genome` (N bases, code 4, are not counted) or ``{chrom: length}``
        (every base counted).
    """
    if isinstance(genome, Genome):
        return int(sum(int(np.count_nonzero(codes != 4)) for codes in genome.chroms.values()))
    return int(sum(int(v) for v in genome.values()))


def macs3_callpeak_args(
    treatment: str | Path,
    control: str | Path | None,
    name: str,
    out_dir: str | Path,
    *,
    fmt: str = "BED",
    assay: str = "atac",
    gsize: int | str,
    pvalue: float = 0.01,
    shift: int | None = None,
    extsize: int | None = None,
    keep_dup: str = "all",
    call_summits: bool = False,
    bedgraph: bool = True,
) -> list[str]:
    """The ``macs3 callpeak`` arguments (without the program name) for one sample.

    ATAC-seq single-end cut sites (``fmt="BED"``/``"BAM"``) use ENCODE's
    ``--nomodel --shift -75 --extsize 150`` (``shift`` defaults to ``-extsize // 2``, ``extsize``
    to 150); paired formats (``BEDPE``/``BAMPE``) pile up whole fragments and take neither.
    ChIP-seq single-end reads build MACS3's shift model (against ``control`` when given) with
    ``--fix-bimodal --extsize`` as the fallback when the model fails (``extsize`` defaults to 200);
    ChIP-seq with ``shift``/``extsize`` given explicitly skips the model (``--nomodel``).
    Always ``-p pvalue`` and ``--keep-dup`` (``all``: duplicates are removed upstream); with
    ``bedgraph``, ``-B --SPMR`` for the signal tracks.
    """
    fmt = fmt.upper()
    if fmt not in _FORMATS:
        raise CisflowError(f"unknown MACS3 format {fmt!r} (use one of {', '.join(_FORMATS)})")
    if assay not in ("atac", "chip"):
        raise CisflowError(f"unknown assay {assay!r} (use 'atac' or 'chip')")
    args = ["callpeak", "-t", str(treatment)]
    if control is not None:
        args += ["-c", str(control)]
    args += ["-f", fmt, "-n", name, "--outdir", str(out_dir), "-g", str(gsize), "-p", f"{pvalue:g}"]
    args += ["--keep-dup", str(keep_dup)]
    args += _model_args(fmt, assay, shift, extsize)
    if bedgraph:
        args += ["-B", "--SPMR"]
    if call_summits:
        args.append("--call-summits")
    return args


def _model_args(fmt: str, assay: str, shift: int | None, extsize: int | None) -> list[str]:
    """Shift-model / extension arguments for one format and assay."""
    if fmt in _PAIRED_FORMATS:
        return []
    if assay == "atac":
        ext = 150 if extsize is None else int(extsize)
        return ["--nomodel", "--shift", str(-(ext // 2) if shift is None else int(shift)), "--extsize", str(ext)]
    if shift is not None and extsize is not None:
        return ["--nomodel", "--shift", str(int(shift)), "--extsize", str(int(extsize))]
    return ["--fix-bimodal", "--extsize", str(200 if extsize is None else int(extsize))]


def macs3_executable() -> str:
    """Path of ``macs3``: next to the running Python first, else on PATH; CisflowError if absent."""
    beside = Path(sys.executable).parent / "macs3"
    if beside.is_file():
        return str(beside)
    found = shutil.which("macs3")
    if found is None:
        raise CisflowError("macs3 not found next to the Python interpreter or on PATH (install macs3==3.0.4)")
    return found


def _last_error_line(log_path: Path) -> str:
    """The last line of a MACS3 log mentioning an error, else its last non-empty line."""
    lines = [ln.strip() for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "exception" in ln.lower()]
    return (errors or lines or ["(no output)"])[-1]


def run_macs3(args: Sequence[str], log_path: str | Path, source: str | Path) -> None:
    """Run ``macs3 *args`` with stdout and stderr captured in ``log_path``.

    Raises CisflowError naming ``source`` with MACS3's last error line when it fails.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [macs3_executable(), *map(str, args)]
    log.info("running %s", " ".join(cmd))
    with open(log_path, "w", encoding="utf-8") as handle:
        handle.write(" ".join(cmd) + "\n")
        handle.flush()
        done = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise CisflowError(
            f"MACS3 failed (exit {done.returncode}): {_last_error_line(log_path)} (log: {log_path})", source
        )


def _peak_name(out: Path) -> str:
    """A MACS3 ``-n`` name from an output path (``x.narrowPeak.gz`` -> ``x``)."""
    name = out.name
    for suffix in (".gz", ".narrowPeak", ".bed"):
        name = name.removesuffix(suffix)
    return name


def call_peaks(
    treatment: str | Path,
    out: str | Path,
    genome: Mapping[str, int] | Genome,
    *,
    control: str | Path | None = None,
    fmt: str = "BED",
    assay: str = "atac",
    gsize: int | str | None = None,
    pvalue: float = 0.01,
    shift: int | None = None,
    extsize: int | None = None,
    max_peaks: int = 300_000,
    call_summits: bool = False,
    work_dir: str | Path | None = None,
    fe_bigwig: str | Path | None = None,
    macs3_log: str | Path | None = None,
) -> Path:
    """Call peaks with MACS3 and write the capped, clipped narrowPeak ``out`` atomically.

    Parameters
    ----------
    treatment, control
        Reads (tagAlign/BED cut sites, BEDPE fragments or BAM; gzip is fine).
    out
        Final narrowPeak (``.gz`` for gzip): peaks clipped to the chromosomes, the top
        ``max_peaks`` by p-value (ENCODE: 300k ATAC, 500k ChIP), named ``Peak_<rank>``, sorted by
        coordinates; MACS3's missing summits (-1) become the midpoint.
    genome
        ``{chrom: length}`` or a Genome, for clipping and (as a Genome) the effective size.
    gsize
        MACS3 ``-g``; default :func:`genome_size` of ``genome``.
    work_dir
        Where MACS3 writes its files (default ``<out dir>/<name>_macs3``; the workflow deletes it after the job).
    fe_bigwig
        If given, also write MACS3's fold enrichment over the control lambda as a bigWig (MACS3 writes its
        pileup bedGraphs only then).
    macs3_log
        MACS3's log (default ``<work_dir>/<name>.macs3.log``).
    Other parameters are passed to :func:`macs3_callpeak_args`.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    treatment, out = require_file(treatment, "treatment reads"), Path(out)
    if control is not None:
        control = require_file(control, "control reads")
    name = _peak_name(out)
    work = Path(work_dir) if work_dir is not None else out.parent / f"{name}_macs3"
    size = genome_size(genome) if gsize is None else gsize
    log_params("call_peaks", {"fmt": fmt, "assay": assay, "gsize": size, "pvalue": pvalue, "shift": shift,
                              "extsize": extsize, "max_peaks": max_peaks, "call_summits": call_summits})  # fmt: skip
    args = macs3_callpeak_args(
        treatment, control, name, work, fmt=fmt, assay=assay, gsize=size, pvalue=pvalue,
        shift=shift, extsize=extsize, call_summits=call_summits, bedgraph=fe_bigwig is not None,
    )  # fmt: skip
    macs3_log = Path(macs3_log) if macs3_log is not None else work / f"{name}.macs3.log"
    run_macs3(args, macs3_log, treatment)
    sizes, _ = sizes_of(genome)
    raw = work / f"{name}_peaks.narrowPeak"
    peaks = _finish_macs3_peaks(read_narrowpeak(raw, allow_empty=True), sizes, max_peaks, raw)
    if peaks.empty:
        raise CisflowError(f"MACS3 called no peaks at p < {pvalue:g} (log: {macs3_log})", treatment)
    write_narrowpeak(peaks, out)
    if fe_bigwig is not None:
        fold_enrichment_bigwig(work / f"{name}_treat_pileup.bdg", work / f"{name}_control_lambda.bdg", sizes, fe_bigwig)
    log.info("MACS3 on %s: %d peaks written to %s", treatment, len(peaks), out)
    return out


def _finish_macs3_peaks(df: pd.DataFrame, sizes: Mapping[str, int], max_peaks: int, source: Path) -> pd.DataFrame:
    """Clip to chromosomes, fill missing summits, cap by p-value and rename ``Peak_<rank>``."""
    if df.empty:
        return df
    check_same_chroms(df["chrom"], sizes, source, "chromosome sizes")
    df = df.copy()
    df["start"] = df["start"].clip(lower=0)
    df["end"] = np.minimum(df["end"].to_numpy(), df["chrom"].map(sizes).to_numpy(dtype=np.int64))
    df = df[df["start"] < df["end"]]
    width = (df["end"] - df["start"]).to_numpy()
    summit = df["summit"].to_numpy()
    df["summit"] = np.where((summit < 0) | (summit >= width), width // 2, summit)
    df = cap_peaks(df, max_peaks)
    df["name"] = [f"Peak_{i + 1}" for i in range(len(df))]
    return df


# ----------------------------------------------------------------------------------------------
# signal tracks
# ----------------------------------------------------------------------------------------------


def _bedgraph_skip(path: Path) -> int:
    """Number of leading track / browser / comment lines of a bedGraph."""
    skip = 0
    with open_text(path) as handle:
        for line in handle:
            if not line.startswith(("track", "browser", "#")):
                break
            skip += 1
    return skip


def _bedgraph_chunks(path: Path, columns: Sequence[int], chunk: int = 1_000_000) -> Iterator[pd.DataFrame]:
    """Chunks of a 4-column bedGraph (``columns`` of ``chrom start end value``), read streaming."""
    names = ["chrom", "start", "end", "value"]
    dtypes = {"chrom": str, "start": np.int64, "end": np.int64, "value": np.float64}
    use = [names[c] for c in columns]
    try:
        reader = pd.read_csv(path, sep="\t", header=None, names=names, usecols=use, skiprows=_bedgraph_skip(path),
                             dtype={k: dtypes[k] for k in use}, chunksize=chunk)  # fmt: skip
        with reader:
            yield from reader
    except (ValueError, pd.errors.ParserError) as exc:
        raise CisflowError(f"not a 4-column bedGraph ({exc})", path) from exc


def _bedgraph_order(path: Path) -> list[str]:
    """Chromosomes of a bedGraph in file order; CisflowError if one is split in several runs."""
    order: list[str] = []
    for df in _bedgraph_chunks(path, [0]):
        runs = df["chrom"].to_numpy()
        starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
        for chrom in runs[starts]:
            if order and chrom == order[-1]:
                continue
            if chrom in order:
                raise CisflowError(f"bedGraph is not grouped by chromosome ({chrom} appears twice)", path)
            order.append(str(chrom))
    return order


def bedgraph_to_bigwig(bedgraph: str | Path, sizes: Mapping[str, int], out_bw: str | Path) -> Path:
    """Convert a bedGraph (grouped by chromosome, sorted) to a bigWig, streaming in bounded memory.

    Intervals are clipped to ``sizes``; non-finite values (MACS3 writes ``inf`` where a ratio's
    denominator is 0) become 0. The bigWig's chromosome order is the bedGraph's, then the other
    chromosomes of ``sizes``.
    """
    import pyBigWig

    path = require_file(bedgraph, "bedGraph")
    order = _bedgraph_order(path)
    check_same_chroms(order, sizes, path, "chromosome sizes")
    header = [(c, int(sizes[c])) for c in [*order, *(c for c in sizes if c not in set(order))]]
    with atomic_path(out_bw) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(header)
            for df in _bedgraph_chunks(path, [0, 1, 2, 3]):
                end = np.minimum(df["end"].to_numpy(), df["chrom"].map(sizes).to_numpy(dtype=np.int64))
                value = df["value"].to_numpy()
                keep = df["start"].to_numpy() < end
                value = np.where(np.isfinite(value), value, 0.0)[keep]
                bw.addEntries(df["chrom"].to_numpy()[keep].tolist(), df["start"].to_numpy()[keep].tolist(),
                              ends=end[keep].tolist(), values=value.tolist())  # fmt: skip
        finally:
            bw.close()
    return Path(out_bw)


def fold_enrichment_bigwig(
    treat_bdg: str | Path,
    control_bdg: str | Path,
    sizes: Mapping[str, int],
    out_bw: str | Path,
    pseudocount: float = 0.0,
) -> Path:
    """Write ``(treatment + pseudocount) / (control + pseudocount)`` as a bigWig, in bounded memory.

    MACS3 ``bdgcmp -m FE`` makes the ratio track (a temporary bedGraph beside ``out_bw``), which is
    then streamed into the bigWig (:func:`bedgraph_to_bigwig`).

    Parameters
    ----------
    treat_bdg, control_bdg
        MACS3 ``*_treat_pileup.bdg`` and ``*_control_lambda.bdg``.
    sizes
        ``{chrom: length}``; intervals are clipped to it, chromosomes absent from both files are
        left empty; where the control is 0 the value is 0.
    out_bw
        The bigWig, written atomically.
    """
    import tempfile

    treat_bdg, control_bdg = require_file(treat_bdg, "bedGraph"), require_file(control_bdg, "bedGraph")
    Path(out_bw).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(out_bw).parent, prefix=".fe.") as tmp:
        ratio = Path(tmp) / "fe.bdg"
        args = ["bdgcmp", "-t", treat_bdg, "-c", control_bdg, "-m", "FE", "-p", f"{pseudocount:g}", "-o", ratio]
        run_macs3(args, Path(tmp) / "bdgcmp.log", treat_bdg)
        bedgraph_to_bigwig(ratio, sizes, out_bw)
    log.info("wrote fold-enrichment bigWig %s", out_bw)
    return Path(out_bw)
