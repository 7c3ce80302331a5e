"""The QC stage: one row per sample in ``qc.tsv``, MultiQC custom content, plots and a MultiQC report.

Inputs are what earlier stages wrote: each sample's read statistics (with the ``qc`` section the
read filter fills), its filtered tagAlign (FRiP and TSS enrichment are counted here, streaming),
its group's peak sets and reproducibility summary, and optionally the IDR tables (scatter plots).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.params import StageParams
from cisflow.qc import io as qc_io
from cisflow.qc import plots
from cisflow.qc.enrichment import FRiP, TSSProfile, normalized_profile, tss_table
from cisflow.qc.standards import flag_metrics

log = logging.getLogger(__name__)

# the read filter's steps in the order it applies them: (column suffix, statistics keys removed there)
FILTER_STEPS = (("primary", ("secondary", "supplementary")), ("mapped", ("unmapped",)),
                ("kept_chroms", ("dropped_chroms",)), ("not_qcfail", ("qcfail",)),
                ("proper_pair", ("not_proper_pair",)), ("mapq", ("low_mapq",)),
                ("not_flagged_duplicate", ("duplicate_flag",)), ("mate_kept", ("mate_filtered",)),
                ("deduplicated", ("duplicate_position",)))  # fmt: skip


def reads_at_steps(stats: Mapping[str, Any]) -> dict[str, int]:
    """Records left after each filter step (``reads_input``, ``reads_after_<step>``…), from read statistics.

    Positional duplicates are counted in fragments for paired-end input, so they remove two records each.
    """
    left = int(stats.get("records", 0))
    out = {"reads_input": left}
    for name, keys in FILTER_STEPS:
        for key in keys:
            value = stats.get(key, 0)
            removed = sum(value.values()) if isinstance(value, Mapping) else int(value)
            left -= 2 * removed if (key == "duplicate_position" and stats.get("paired")) else removed
        out[f"reads_after_{name}"] = left
    return out


@dataclass
class SampleInputs:
    """What the QC of one sample reads: ``stats`` JSON, filtered ``tagalign``, its ``group`` and ``assay``."""

    sample: str
    group: str
    assay: str
    stats: str | Path
    tagalign: str | Path


@dataclass
class GroupInputs:
    """A group's peak sets ``{name: narrowPeak}``, optional reproducibility dict and IDR table (TSV)."""

    peak_sets: Mapping[str, str | Path] = field(default_factory=dict)
    reproducibility: Mapping[str, Any] | None = None
    idr_table: str | Path | None = None


def _tagalign_chunks(path: Path) -> Iterator[pd.DataFrame]:
    """Chunks ``chrom start end strand`` of a (gzipped) tagAlign."""
    names = ["chrom", "start", "end", "strand"]
    try:
        with pd.read_csv(
            path, sep="\t", header=None, usecols=[0, 1, 2, 5], names=names, dtype={0: str}, chunksize=500_000
        ) as reader:
            yield from reader
    except (ValueError, OSError, EOFError) as exc:
        raise CisflowError(f"cannot read the tagAlign ({exc.__class__.__name__}: {exc})", path) from exc


def enrichment_metrics(
    tagalign: str | Path, peak_sets: Mapping[str, pd.DataFrame], tss: pd.DataFrame | None, read_length: int = 50,
    flank: int = 2000,
) -> tuple[dict[str, float], np.ndarray | None]:  # fmt: skip
    """FRiP of every peak set (``frip_<name>``) and TSS enrichment of one sample's filtered reads.

    Returns the metrics and the normalized TSS profile ``(400,)`` (None without an annotation).
    """
    path = require_file(tagalign, "filtered tagAlign")
    frip = FRiP(peak_sets)
    profile = TSSProfile(tss, flank=flank, read_length=read_length) if tss is not None else None
    for chunk in _tagalign_chunks(path):
        for chrom, part in chunk.groupby("chrom", sort=False):
            start, end = part["start"].to_numpy(np.int64), part["end"].to_numpy(np.int64)
            frip.add(str(chrom), start, end)
            if profile is not None:
                profile.add(str(chrom), np.where(part["strand"].to_numpy() == "-", end - 1, start))
    out = {f"frip_{name}": value for name, value in frip.metrics().items()}
    if profile is None:
        return out, None
    out |= profile.metrics()
    return out, normalized_profile(profile.profile())


def _read_metrics(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The qc.tsv columns taken from a read-statistics dict (filter counts and read-stage QC)."""
    qc = stats["qc"]
    row: dict[str, Any] = {"paired": stats.get("paired")} | reads_at_steps(stats)
    row |= {"usable_fragments": stats.get("kept"), "mapped": qc["mapped"], "mito_fraction": qc["mito_fraction"]}
    cx = qc["complexity"]
    row |= {k: cx[k] for k in ("nrf", "pbc1", "pbc2", "duplication_rate")}
    if "fragment_lengths" in qc:
        row |= {k: qc["fragment_lengths"][k] for k in ("nfr_fraction", "mono_fraction", "nfr_mono_ratio")}
    if "xcor" in qc:
        row |= {k: qc["xcor"][k] for k in ("fragment_length", "nsc", "rsc")}
    return row


def _group_metrics(group: GroupInputs) -> dict[str, Any]:
    """Reproducibility columns of a group (empty without a summary)."""
    rep = group.reproducibility or {}
    keys = ("n_conservative", "n_optimal", "optimal", "rescue_ratio", "self_consistency_ratio", "reproducibility")
    return {k: rep[k] for k in keys if k in rep}


def sample_row(inputs: SampleInputs, group: GroupInputs, tss: pd.DataFrame | None, tss_standard: str,
               peaks: Mapping[str, pd.DataFrame]) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """One ``qc.tsv`` row (metrics then their flags) and the sample's curves for plots."""
    stats = qc_io.read_stats_qc(inputs.stats)
    row: dict[str, Any] = {"sample": inputs.sample, "group": inputs.group, "assay": inputs.assay}
    row |= _read_metrics(stats)
    read_length = int(stats["qc"].get("read_length") or 50)
    enrich, tss_profile = enrichment_metrics(inputs.tagalign, peaks, tss, read_length)
    row |= enrich | _group_metrics(group)
    row |= flag_metrics(row, inputs.assay, tss_standard)
    curves = {"tss": tss_profile, "fragments": stats["qc"].get("fragment_lengths"), "xcor": stats["qc"].get("xcor")}
    curves["filters"] = reads_at_steps(stats)
    return row, curves


def _peak_tables(group: GroupInputs) -> dict[str, pd.DataFrame]:
    from cisflow.narrowpeak import read_narrowpeak

    return {name: read_narrowpeak(path, allow_empty=True) for name, path in group.peak_sets.items()}


def _read_tss(tss_bed: str | Path | None) -> pd.DataFrame | None:
    """TSS table from a BED6 file of TSSs or genes (None: no annotation configured)."""
    if tss_bed is None:
        return None
    path = require_file(tss_bed, "TSS annotation BED")
    names = ["chrom", "start", "end", "strand"]
    try:
        bed = pd.read_csv(path, sep="\t", header=None, comment="#", usecols=[0, 1, 2, 5], names=names, dtype={0: str})
        return tss_table(bed)
    except (ValueError, OSError, EOFError, CisflowError) as exc:
        raise CisflowError(f"not a BED6 TSS annotation with strands in column 6 ({exc})", path) from exc


# the QC stage's outputs and their usual names (``*_mqc.*``: MultiQC custom content; the other plots are
# the report's, MultiQC draws its own from the line-graph JSONs); plus ``idr_<group>`` per group
QC_FILES = {
    "table": "qc.tsv",
    "general": "cisflow_general_stats_mqc.tsv",
    "full": "cisflow_qc_mqc.tsv",
    "filters": "read_filters_mqc.png",
    "fragments": "fragment_lengths.png",
    "tss": "tss_profile.png",
    "xcor": "cross_correlation.png",
    "fragments_mqc": "fragment_lengths_mqc.json",
    "tss_mqc": "tss_profile_mqc.json",
    "xcor_mqc": "cross_correlation_mqc.json",
}


def qc_outputs(out_dir: str | Path, groups: Sequence[str]) -> dict[str, Path]:
    """The usual output paths of the QC stage in ``out_dir``: :data:`QC_FILES` and ``idr_<group>_mqc.png``."""
    out = {key: Path(out_dir) / name for key, name in QC_FILES.items()}
    return out | {f"idr_{group}": Path(out_dir) / f"idr_{group}_mqc.png" for group in groups}


def _check_outputs(outputs: Mapping[str, str | Path], groups: Sequence[str]) -> dict[str, Path]:
    """Every output path the QC stage writes; CisflowError naming the missing keys."""
    need = [*QC_FILES, *(f"idr_{group}" for group in groups)]
    missing = [key for key in need if key not in outputs]
    if missing:
        raise CisflowError(f"QC outputs lack {', '.join(missing)} (qc_outputs gives the usual names)")
    return {key: Path(outputs[key]) for key in need}


@dataclass(frozen=True)
class QcParams(StageParams):
    """The config's ``qc`` section: the TSS annotation (BED6 with strand; None: no TSS enrichment), the ENCODE
    standard whose thresholds flag it, and whether MultiQC runs (:func:`run_qc`)."""

    SECTION: ClassVar[str] = "qc"
    tss: str | None = None
    tss_standard: str = "GRCh38"
    multiqc: bool = True


def run_qc(
    samples: Sequence[SampleInputs],
    groups: Mapping[str, GroupInputs],
    outputs: Mapping[str, str | Path],
    *,
    tss_bed: str | Path | None = None,
    tss_standard: str = QcParams.tss_standard,
    idr_threshold: float = 0.05,
    multiqc_dir: str | Path | None = None,
    multiqc_report: str | Path | None = None,
) -> pd.DataFrame:
    """Write the QC table, MultiQC custom content and plots; run MultiQC if asked and installed.

    Parameters
    ----------
    samples
        One :class:`SampleInputs` per replicate.
    groups
        ``{group: GroupInputs}`` for every group named by a sample.
    outputs
        ``{key: path}`` for every key of :data:`QC_FILES` and ``idr_<group>`` for every group
        (:func:`qc_outputs` gives the usual names in a folder). The line-graph JSONs of curves no
        sample has (fragment lengths without paired-end data, TSS profile without an annotation,
        cross-correlation without single-end ChIP) hold no data; their PNGs say so.
    tss_bed, tss_standard
        TSS / gene annotation (BED6) for TSS enrichment, and which ENCODE TSS threshold set flags it.
    idr_threshold
        Global IDR cut-off shown in the IDR scatter plots.
    multiqc_dir, multiqc_report
        If both are given and ``multiqc`` is on PATH, run it over ``multiqc_dir`` into the HTML
        ``multiqc_report`` (its data beside it, ``<name>_data``).

    Returns
    -------
    pandas.DataFrame
        The QC table, one row per sample.
    """
    out = _check_outputs(outputs, list(groups))
    tss = _read_tss(tss_bed)
    missing = sorted({s.group for s in samples} - set(groups))
    if missing:
        raise CisflowError(f"no peak sets given for group(s) {', '.join(missing)}")
    tables = {g: _peak_tables(inputs) for g, inputs in groups.items()}
    rows, curves = [], {}
    for s in samples:
        row, curves[s.sample] = sample_row(s, groups[s.group], tss, tss_standard, tables[s.group])
        rows.append(row)
    qc_io.write_table(rows, out["table"])
    qc_io.write_multiqc_tables(rows, out["general"], out["full"])
    _write_curves(curves, out)
    _write_idr_plots(groups, out, idr_threshold)
    if multiqc_dir is not None and multiqc_report is not None:
        run_multiqc(multiqc_dir, multiqc_report)
    log.info("QC of %d samples written to %s", len(rows), out["table"])
    return pd.DataFrame(rows).set_index("sample")


def _series(x: np.ndarray, y: np.ndarray) -> dict[float, float]:
    return dict(zip(np.asarray(x).tolist(), np.asarray(y).tolist(), strict=True))


def _write_curves(curves: Mapping[str, Mapping[str, Any]], out: Mapping[str, Path]) -> None:
    """Line-graph JSONs for MultiQC and the PNG plots (for the report) of fragment lengths, TSS profiles,
    cross-correlation and reads per filter step."""
    frag = {s: np.asarray(c["fragments"]["histogram"]) for s, c in curves.items() if c["fragments"]}
    tss = {s: c["tss"] for s, c in curves.items() if c["tss"] is not None}
    xcor = {
        s: (np.asarray(c["xcor"]["shifts"]), np.asarray(c["xcor"]["profile"])) for s, c in curves.items() if c["xcor"]
    }
    lengths = {s: curves[s]["xcor"]["fragment_length"] for s in xcor}
    graph = qc_io.write_multiqc_linegraph
    graph({s: _series(np.flatnonzero(h), h[h > 0]) for s, h in frag.items()}, out["fragments_mqc"],
          "Fragment lengths", "bp", "fragments")  # fmt: skip
    graph({s: _series(np.linspace(-2000, 2000, p.size).round(1), p) for s, p in tss.items()},
          out["tss_mqc"], "TSS enrichment profile", "bp", "enrichment")  # fmt: skip
    graph({s: _series(x, y) for s, (x, y) in xcor.items()}, out["xcor_mqc"],
          "Strand cross-correlation", "shift (bp)", "correlation")  # fmt: skip
    plots.plot_fragment_lengths(frag, out["fragments"])
    plots.plot_tss_profiles(tss, 2000, out["tss"])
    plots.plot_cross_correlation(xcor, lengths, out["xcor"])
    plots.plot_read_filters({s: c["filters"] for s, c in curves.items()}, out["filters"])


def _write_idr_plots(groups: Mapping[str, GroupInputs], out: Mapping[str, Path], threshold: float) -> None:
    """One IDR scatter per group (``idr_<group>``; a note in place of the points without an IDR table)."""
    for name, group in groups.items():
        if group.idr_table is None:
            plots.plot_idr_scatter([], [], [], threshold, out[f"idr_{name}"], title=f"IDR: {name} (no table)")
            continue
        table = pd.read_csv(require_file(group.idr_table, "IDR table"), sep="\t")
        need = {"score1", "score2", "global_idr"} - set(table.columns)
        if need:
            raise CisflowError(f"IDR table lacks {', '.join(sorted(need))}", group.idr_table)
        matched = table[(table["score1"] > 0) & (table["score2"] > 0)]
        plots.plot_idr_scatter(matched["score1"], matched["score2"], matched["global_idr"], threshold,
                               out[f"idr_{name}"], title=f"IDR: {name}")  # fmt: skip


def run_multiqc(search_dir: str | Path, report: str | Path) -> Path | None:
    """Run ``multiqc`` over ``search_dir`` into the HTML ``report`` if it is installed (else None)."""
    exe = shutil.which("multiqc")
    if exe is None:
        log.info("multiqc is not installed (pip install 'cisflow[qc]'); no MultiQC report")
        return None
    report = Path(report)
    cmd = [exe, str(search_dir), "--outdir", str(report.parent), "--filename", report.name, "--force", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CisflowError(f"multiqc failed ({tail[0]})", search_dir)
    return report


def group_inputs(
    summary_json: str | Path, peak_sets: Mapping[str, str | Path], idr_dir: str | Path | None = None
) -> GroupInputs:
    """A group's QC inputs from its peaks-stage summary JSON, peak-set files and IDR-table folder.

    The reproducibility summary is the summary's ``reproducibility`` entry (peak counts only when
    the peaks stage wrote none); the IDR table shown is the comparison that gave the optimal set.
    """
    import json

    path = require_file(summary_json, "peaks summary JSON")
    summary = json.loads(Path(path).read_text(encoding="utf-8"))
    rep = dict(summary.get("reproducibility") or {"n_conservative": summary.get("conservative")})
    table = None
    if idr_dir is not None:
        name = {"pooled": "pooled_pseudoreps", "self": "self_rep1"}.get(str(rep.get("optimal")), rep.get("true_pair"))
        candidate = Path(idr_dir) / f"{name}.tsv"
        table = candidate if name and candidate.is_file() else None
    return GroupInputs(dict(peak_sets), rep, table)
