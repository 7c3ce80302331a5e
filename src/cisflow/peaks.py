"""Peak calling with MACS3, narrowPeak IO, and reproducible / relaxed peak sets.

Peaks are held as a :class:`pandas.DataFrame` with the ten narrowPeak columns
(``chrom start end name score strand signal pvalue qvalue summit``), 0-based half-open, with
``summit`` an offset from ``start`` (-1 when the caller gave none).

Reproducibility follows the ENCODE ChIP-seq / ATAC-seq pipelines (chip-seq-pipeline2,
atac-seq-pipeline): IDR on pairs of replicates with the pooled peaks as the oracle list, or the
"naive overlap" rule, and a conservative set taken as the largest set over replicate pairs
(or, with one replicate, between its two pseudo-replicates).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.genome import Genome, check_same_chroms
from cisflow.io import atomic_open, atomic_path, open_text, read_text_lines, write_json

log = logging.getLogger(__name__)

COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal", "pvalue", "qvalue", "summit"]
_INT_COLUMNS = ["start", "end", "score", "summit"]
_FLOAT_COLUMNS = ["signal", "pvalue", "qvalue"]
PeaksLike = pd.DataFrame | str | Path

# ----------------------------------------------------------------------------------------------
# narrowPeak IO
# ----------------------------------------------------------------------------------------------


def empty_peaks() -> pd.DataFrame:
    """An empty peak table with the narrowPeak columns and dtypes."""
    return make_peaks([], [], [])


def make_peaks(
    chrom: Sequence[str],
    start: Sequence[int],
    end: Sequence[int],
    *,
    signal: Sequence[float] | None = None,
    pvalue: Sequence[float] | None = None,
    summit: Sequence[int] | None = None,
    name: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Build a peak table from coordinates; missing columns get narrowPeak defaults.

    Parameters
    ----------
    chrom, start, end
        Coordinates, 0-based half-open, length ``n`` each.
    signal, pvalue
        Signal value and -log10 p-value ``(n,)``; default -1 (unknown).
    summit
        Summit offsets from ``start`` ``(n,)``; default the midpoint.
    name
        Peak names; default ``peak_1 ... peak_n``.
    """
    start_a, end_a = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
    n = len(start_a)
    df = pd.DataFrame(
        {
            "chrom": pd.Series(list(chrom), dtype=object),
            "start": start_a,
            "end": end_a,
            "name": list(name) if name is not None else [f"peak_{i + 1}" for i in range(n)],
            "score": np.zeros(n, dtype=np.int64),
            "strand": ["."] * n,
            "signal": np.full(n, -1.0) if signal is None else np.asarray(signal, dtype=float),
            "pvalue": np.full(n, -1.0) if pvalue is None else np.asarray(pvalue, dtype=float),
            "qvalue": np.full(n, -1.0),
            "summit": (end_a - start_a) // 2 if summit is None else np.asarray(summit, dtype=np.int64),
        }
    )
    return df[COLUMNS]


def _split_records(path: Path) -> tuple[list[int], list[list[str]]]:
    """Data lines of a BED-like file as (line numbers, fields), skipping track/browser/# lines."""
    numbers, rows = [], []
    for i, line in enumerate(read_text_lines(path), 1):
        if not line.strip() or line.startswith(("track", "browser", "#")):
            continue
        numbers.append(i)
        rows.append(line.split("\t") if "\t" in line else line.split())
    return numbers, rows


def _numeric(df: pd.DataFrame, column: str, numbers: np.ndarray, path: Path, integer: bool) -> None:
    """Convert ``df[column]`` in place to int64/float64, or raise naming the first bad line."""
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna().to_numpy().copy()
    if integer and not bad.all():
        bad |= values.fillna(0).to_numpy() % 1 != 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "an integer" if integer else "a number"
        raise CisflowError(f"line {numbers[i]}: {column} must be {kind}, got {df[column].iloc[i]!r}", path)
    df[column] = values.astype(np.int64 if integer else np.float64)


def _fail_first(mask: np.ndarray, numbers: np.ndarray, message: str, path: Path) -> None:
    """Raise CisflowError naming the first line where ``mask`` is true."""
    if mask.any():
        raise CisflowError(f"line {numbers[int(np.flatnonzero(mask)[0])]}: {message}", path)


def _sizes_of(genome_sizes: Mapping[str, int] | Genome) -> tuple[Mapping[str, int], str]:
    """Chromosome sizes and a label for messages from a sizes mapping or a Genome."""
    if isinstance(genome_sizes, Genome):
        return genome_sizes.sizes, genome_sizes.path
    return genome_sizes, "chromosome sizes"


def _validate(df: pd.DataFrame, numbers: np.ndarray, path: Path, genome_sizes: Mapping[str, int] | Genome | None):
    """Check coordinates, summits, strands and (optionally) chromosomes against the genome."""
    start, end, summit = df["start"].to_numpy(), df["end"].to_numpy(), df["summit"].to_numpy()
    _fail_first(start < 0, numbers, "start must be >= 0", path)
    _fail_first(start >= end, numbers, "start must be < end", path)
    _fail_first((summit != -1) & ((summit < 0) | (summit >= end - start)), numbers, "summit outside the peak", path)
    _fail_first(~df["strand"].isin(["+", "-", "."]).to_numpy(), numbers, "strand must be +, - or .", path)
    if genome_sizes is None:
        return
    sizes, label = _sizes_of(genome_sizes)
    check_same_chroms(df["chrom"], sizes, path, label)
    limit = df["chrom"].map(sizes).to_numpy(dtype=np.int64)
    _fail_first(end > limit, numbers, "end beyond the chromosome size", path)


def read_narrowpeak(
    path: str | Path, genome_sizes: Mapping[str, int] | Genome | None = None, *, allow_empty: bool = False
) -> pd.DataFrame:
    """Read and validate a narrowPeak file (plain or gzipped).

    Parameters
    ----------
    path
        The narrowPeak file; ``track``, ``browser`` and ``#`` lines are skipped.
    genome_sizes
        ``{chrom: length}`` or a :class:`~cisflow.genome.Genome`; when given, chromosome names must
        be known and ``end`` must not pass the chromosome's end.
    allow_empty
        Return an empty table for a file without peaks instead of raising.

    Returns
    -------
    pandas.DataFrame
        ``(n_peaks, 10)`` with :data:`COLUMNS`, in file order.
    """
    path = require_file(path, "narrowPeak file")
    numbers, rows = _split_records(path)
    if not rows:
        if allow_empty:
            return empty_peaks()
        raise CisflowError("no peaks in the narrowPeak file", path)
    lines = np.asarray(numbers)
    widths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    bad = widths != 10
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CisflowError(f"line {numbers[i]}: expected 10 columns (narrowPeak), found {widths[i]}", path)
    df = pd.DataFrame(rows, columns=COLUMNS)
    for column in _INT_COLUMNS:
        _numeric(df, column, lines, path, integer=column != "score")
    for column in _FLOAT_COLUMNS:
        _numeric(df, column, lines, path, integer=False)
    df["score"] = df["score"].round().astype(np.int64)
    _validate(df, lines, path, genome_sizes)
    return df


def sort_peaks(df: pd.DataFrame) -> pd.DataFrame:
    """Peaks sorted by chromosome name, start, end (like ``sort -k1,1 -k2,2n -k3,3n``)."""
    return df.sort_values(["chrom", "start", "end"], kind="mergesort").reset_index(drop=True)


def write_narrowpeak(df: pd.DataFrame, path: str | Path) -> None:
    """Write peaks as narrowPeak (gzip if ``path`` ends in .gz), sorted by coordinates, atomically.

    Parameters
    ----------
    df
        A peak table with at least :data:`COLUMNS`; other columns are not written.
    path
        Output file.
    """
    out = sort_peaks(df[COLUMNS])
    with atomic_open(path) as handle:
        out.to_csv(handle, sep="\t", header=False, index=False, float_format="%.5f")
    log.info("wrote %d peaks to %s", len(out), path)


def as_peaks(peaks: PeaksLike, genome_sizes: Mapping[str, int] | Genome | None = None) -> pd.DataFrame:
    """A peak table from a DataFrame (returned as is) or a narrowPeak path (read, may be empty)."""
    if isinstance(peaks, pd.DataFrame):
        return peaks
    return read_narrowpeak(peaks, genome_sizes, allow_empty=True)


# ----------------------------------------------------------------------------------------------
# interval overlaps
# ----------------------------------------------------------------------------------------------


def overlap_pairs(a: pd.DataFrame, b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs of overlapping intervals between two tables (like ``bedtools intersect -wo``).

    Intervals overlap when they share at least one base (half-open coordinates).

    Returns
    -------
    ia, ib, overlap
        Row positions into ``a`` and ``b`` and the overlap in bp, each ``(n_pairs,)`` int64.
    """
    out_a, out_b = [], []
    b_by_chrom = {c: np.flatnonzero(m) for c, m in _chrom_masks(b).items()}
    for chrom, a_idx in ((c, np.flatnonzero(m)) for c, m in _chrom_masks(a).items()):
        if chrom not in b_by_chrom:
            continue
        ia, ib = _pairs_one_chrom(a, a_idx, b, b_by_chrom[chrom])
        out_a.append(ia)
        out_b.append(ib)
    if not out_a:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    ia, ib = np.concatenate(out_a), np.concatenate(out_b)
    a_s, a_e = a["start"].to_numpy(np.int64), a["end"].to_numpy(np.int64)
    b_s, b_e = b["start"].to_numpy(np.int64), b["end"].to_numpy(np.int64)
    overlap = np.minimum(a_e[ia], b_e[ib]) - np.maximum(a_s[ia], b_s[ib])
    return ia, ib, overlap


def _chrom_masks(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean row masks per chromosome."""
    chrom = df["chrom"].to_numpy()
    return {c: chrom == c for c in pd.unique(chrom)}


def _pairs_one_chrom(a: pd.DataFrame, a_idx: np.ndarray, b: pd.DataFrame, b_idx: np.ndarray):
    """Overlapping (a row, b row) pairs on one chromosome; candidates found by a sorted sweep."""
    a_s, a_e = a["start"].to_numpy(np.int64)[a_idx], a["end"].to_numpy(np.int64)[a_idx]
    order = np.argsort(b["start"].to_numpy(np.int64)[b_idx], kind="mergesort")
    b_idx = b_idx[order]
    b_s, b_e = b["start"].to_numpy(np.int64)[b_idx], b["end"].to_numpy(np.int64)[b_idx]
    longest = int((b_e - b_s).max())
    lo = np.searchsorted(b_s, a_s - longest, side="left")
    hi = np.searchsorted(b_s, a_e, side="left")
    counts = hi - lo
    rep_a = np.repeat(np.arange(len(a_idx)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cand_b = np.repeat(lo, counts) + offsets
    keep = b_e[cand_b] > a_s[rep_a]
    return a_idx[rep_a[keep]], b_idx[cand_b[keep]]


def naive_overlap(pooled: PeaksLike, rep1: PeaksLike, rep2: PeaksLike, min_fraction: float = 0.5) -> pd.DataFrame:
    """Pooled peaks supported by both replicates (ENCODE's naive overlap rule).

    Implements ENCODE chip-seq-pipeline2 / atac-seq-pipeline ``encode_task_naive_overlap.py``:
    ``intersectBed -wo -a pooled -b rep1`` keeping a pair when the overlap is at least
    ``min_fraction`` of the pooled peak's length OR of the replicate peak's length
    (``$21/s1 >= 0.5 || $21/s2 >= 0.5``), then the same against ``rep2``; each pooled peak is
    kept once (``sort | uniq``), with its own coordinates and scores.

    Parameters
    ----------
    pooled, rep1, rep2
        Peak tables or narrowPeak paths.
    min_fraction
        The fraction (of either peak's length) the overlap must reach; ENCODE uses 0.5.

    Returns
    -------
    pandas.DataFrame
        The kept pooled peaks, sorted by coordinates.
    """
    pooled_df = as_peaks(pooled).reset_index(drop=True)
    keep = np.ones(len(pooled_df), dtype=bool)
    for rep in (as_peaks(rep1), as_peaks(rep2)):
        keep &= _supported(pooled_df, rep.reset_index(drop=True), min_fraction)
    out = pooled_df[keep].drop_duplicates(subset=COLUMNS)
    log.info("naive overlap: %d of %d pooled peaks supported by both sets", len(out), len(pooled_df))
    return sort_peaks(out)


def naive_overlap_to_file(
    pooled: str | Path, rep1: str | Path, rep2: str | Path, out: str | Path, min_fraction: float = 0.5
) -> Path:
    """Read three narrowPeak files, apply :func:`naive_overlap`, write the kept peaks to ``out``."""
    kept = naive_overlap(read_narrowpeak(pooled), read_narrowpeak(rep1), read_narrowpeak(rep2), min_fraction)
    write_narrowpeak(kept, out)
    return Path(out)


def _supported(pooled: pd.DataFrame, rep: pd.DataFrame, min_fraction: float) -> np.ndarray:
    """Mask ``(n_pooled,)``: pooled peaks overlapping a ``rep`` peak by >= ``min_fraction`` of either."""
    ia, ib, bp = overlap_pairs(pooled, rep)
    len_a = (pooled["end"] - pooled["start"]).to_numpy()[ia]
    len_b = (rep["end"] - rep["start"]).to_numpy()[ib]
    ok = (bp / len_a >= min_fraction) | (bp / len_b >= min_fraction)
    mask = np.zeros(len(pooled), dtype=bool)
    mask[ia[ok]] = True
    return mask


# ----------------------------------------------------------------------------------------------
# reproducible, relaxed, recall
# ----------------------------------------------------------------------------------------------


def reproducible_peaks(
    method: str,
    replicate_peaks: Sequence[PeaksLike],
    pseudorep_peaks: tuple[PeaksLike, PeaksLike] | None,
    pooled: PeaksLike,
    threshold: float = 0.05,
    rank: str = "pvalue",
) -> pd.DataFrame:
    """The conservative reproducible peak set, as ENCODE builds it.

    With two or more replicates, every pair of replicates is compared (IDR with ``pooled`` as the
    oracle list, or naive overlap against ``pooled``) and the largest resulting set is returned.
    With one replicate, its two pseudo-replicates are compared instead (``pooled`` should then be
    the replicate's own peaks).

    Parameters
    ----------
    method
        ``"idr"`` or ``"overlap"``.
    replicate_peaks
        One peak set per replicate (tables or paths).
    pseudorep_peaks
        The two pseudo-replicate peak sets, used only with a single replicate.
    pooled
        Peaks called on pooled reads: the oracle list for IDR / the candidates for overlap.
    threshold
        Global IDR threshold (IDR only).
    rank
        ``"pvalue"`` (ENCODE's choice for MACS peaks) or ``"signal"``: the column IDR ranks by.
    """
    if method not in ("idr", "overlap"):
        raise CisflowError(f"unknown reproducibility method {method!r} (use 'idr' or 'overlap')")
    if len(replicate_peaks) >= 2:
        pairs = list(combinations(replicate_peaks, 2))
    elif pseudorep_peaks is not None and len(pseudorep_peaks) == 2:
        pairs = [tuple(pseudorep_peaks)]
    else:
        raise CisflowError("reproducible peaks need two replicates, or one replicate and two pseudo-replicates")
    best = empty_peaks()
    for a, b in pairs:
        found = _compare_pair(method, a, b, pooled, threshold, rank)
        log.info("%s: %d reproducible peaks for one pair", method, len(found))
        if len(found) > len(best):
            best = found
    return best


def _compare_pair(method: str, a: PeaksLike, b: PeaksLike, pooled: PeaksLike, threshold: float, rank: str):
    """Reproducible peaks of one pair of peak sets."""
    if method == "overlap":
        return naive_overlap(pooled, a, b)
    from cisflow.idr import idr_peaks

    return idr_peaks(a, b, oracle=pooled, rank=rank, threshold=threshold)


def relaxed_peaks(pooled: PeaksLike, max_peaks: int = 300_000) -> pd.DataFrame:
    """The pooled peaks at the loose threshold, capped to the top ``max_peaks`` by p-value.

    Returns the kept peaks sorted by coordinates.
    """
    return sort_peaks(cap_peaks(as_peaks(pooled), max_peaks))


def cap_peaks(df: pd.DataFrame, max_peaks: int) -> pd.DataFrame:
    """The top ``max_peaks`` peaks by -log10 p-value (ties: signal, then file order)."""
    ordered = df.sort_values(["pvalue", "signal"], ascending=False, kind="mergesort")
    return ordered.head(max_peaks).reset_index(drop=True)


def reference_overlap(peaks: PeaksLike, reference: PeaksLike) -> dict[str, float]:
    """How a peak set and a reference region set overlap (any shared base counts).

    Returns
    -------
    dict
        ``recall`` (fraction of reference regions overlapped by >= 1 peak), ``precision``
        (fraction of peaks overlapping >= 1 reference region), and the counts ``n_peaks``,
        ``n_reference``, ``reference_hit``, ``peaks_hit``.
    """
    p, r = as_peaks(peaks).reset_index(drop=True), as_peaks(reference).reset_index(drop=True)
    ip, ir, _ = overlap_pairs(p, r)
    ref_hit, peak_hit = len(np.unique(ir)), len(np.unique(ip))
    return {
        "recall": ref_hit / len(r) if len(r) else float("nan"),
        "precision": peak_hit / len(p) if len(p) else float("nan"),
        "n_peaks": len(p),
        "n_reference": len(r),
        "reference_hit": ref_hit,
        "peaks_hit": peak_hit,
    }


def reference_overlap_report(peaks: str | Path, reference: str | Path, out: str | Path | None = None) -> dict:
    """:func:`reference_overlap` of two narrowPeak files, also written as JSON to ``out`` if given."""
    result = reference_overlap(read_narrowpeak(peaks), read_narrowpeak(reference))
    result = {"peaks": str(peaks), "reference": str(reference), **result}
    if out is not None:
        write_json(out, result)
    return result


def reference_recall(peaks: PeaksLike, reference: PeaksLike) -> float:
    """Fraction of reference regions overlapped by at least one peak (see :func:`reference_overlap`)."""
    return float(reference_overlap(peaks, reference)["recall"])


# ----------------------------------------------------------------------------------------------
# MACS3
# ----------------------------------------------------------------------------------------------

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
        If given, also write MACS3's fold enrichment over the control lambda as a bigWig.
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
    args = macs3_callpeak_args(
        treatment, control, name, work, fmt=fmt, assay=assay, gsize=size, pvalue=pvalue,
        shift=shift, extsize=extsize, call_summits=call_summits, bedgraph=True,
    )  # fmt: skip
    macs3_log = Path(macs3_log) if macs3_log is not None else work / f"{name}.macs3.log"
    run_macs3(args, macs3_log, treatment)
    sizes, _ = _sizes_of(genome)
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


def reproducible_peak_sets(
    replicates: Sequence[str | Path],
    pooled: str | Path,
    pseudoreps: tuple[str | Path, str | Path],
    genome_sizes: Mapping[str, int],
    outputs: Mapping[str, str | Path],
    *,
    method: str = "idr",
    threshold: float = 0.05,
    rank: str = "pvalue",
    max_peaks: int = 300_000,
    reference: str | Path | None = None,
) -> dict[str, Any]:
    """Write a group's conservative and relaxed peak sets and a JSON summary of the counts.

    ``outputs`` maps ``conservative``, ``relaxed`` and ``summary`` to paths. With one replicate the
    conservative set compares the pseudo-replicates (with the pooled peaks as the oracle). The summary
    holds the peak count of every input call, the two sets' sizes and, given ``reference`` regions,
    their overlap with each set (reference regions on chromosomes absent from the genome are left out
    and counted).
    """
    calls = {f"rep{i + 1}": read_narrowpeak(p, genome_sizes) for i, p in enumerate(replicates)}
    calls["pooled"] = read_narrowpeak(pooled, genome_sizes)
    calls["pr1"], calls["pr2"] = (read_narrowpeak(p, genome_sizes) for p in pseudoreps)
    reps = [calls[k] for k in calls if k.startswith("rep")]
    conservative = reproducible_peaks(
        method, reps, (calls["pr1"], calls["pr2"]), calls["pooled"], threshold=threshold, rank=rank
    )
    relaxed = relaxed_peaks(calls["pooled"], max_peaks)
    summary: dict[str, Any] = {"method": method, "threshold": threshold, "calls": {k: len(v) for k, v in calls.items()}}
    summary |= {"conservative": len(conservative), "relaxed": len(relaxed)}
    if reference is not None:
        ref = read_narrowpeak(reference)
        on_genome = ref["chrom"].isin(list(genome_sizes))
        summary["reference"] = {"path": str(reference), "off_genome": int((~on_genome).sum())}
        for name, peaks in (("conservative", conservative), ("relaxed", relaxed)):
            summary["reference"][name] = reference_overlap(peaks, ref[on_genome])
    write_narrowpeak(sort_peaks(conservative), outputs["conservative"])
    write_narrowpeak(relaxed, outputs["relaxed"])
    write_json(outputs["summary"], summary)
    log.info("conservative %d, relaxed %d peaks", len(conservative), len(relaxed))
    return summary
