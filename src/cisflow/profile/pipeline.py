"""The profile stage entries: tracks from reads, datasets from peaks, training, evaluation, interpretation.

Each function reads its inputs, calls the computation modules and writes its outputs atomically; the
Snakemake scripts and the ``cisflow profile`` commands call these and nothing else.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from cisflow.artifacts import SCORES, write
from cisflow.errors import CisflowError
from cisflow.genome import Genome, encode
from cisflow.interpret.tracks import contribution_bigwig
from cisflow.io import save_npz, write_json
from cisflow.models import META_NAME, WEIGHTS_NAME, load_model, save_model
from cisflow.narrowpeak import read_narrowpeak
from cisflow.params import StageParams
from cisflow.predict import resolve_device
from cisflow.profile.bias import THRESHOLD_FACTOR, bias_datasets, counts_offset, shift_counts_bias
from cisflow.profile.data import centered, extract_dataset
from cisflow.profile.enzyme import (
    ENZYME_FLANK,
    ENZYME_NAME,
    ENZYME_SITES,
    SITES_NAME,
    consensus,
    insertion_matrix,
    read_pattern_table,
    tf_motif_check,
    write_enzyme_meme,
)
from cisflow.profile.insilico import (
    DNASE_MOTIFS,
    TN5_MOTIFS,
    ablate_instances,
    find_instances,
    footprint_check,
    marginal_footprint,
    shuffled_backgrounds,
    spacing_curve,
)
from cisflow.profile.interpret import TARGETS, profile_contributions
from cisflow.profile.io import (
    load_dataset,
    read_history,
    save_dataset,
    save_predictions,
    write_regions_bed,
    write_table,
)
from cisflow.profile.metrics import region_table, summarise
from cisflow.profile.plots import (
    plot_ablation,
    plot_counts,
    plot_footprints,
    plot_jsd,
    plot_learning_curve,
    plot_profiles,
    plot_spacing,
)
from cisflow.profile.predict import HEADS, expected_counts, predict_profile
from cisflow.profile.regions import assign_splits, make_regions
from cisflow.profile.shift import detect_shift, sample_ends
from cisflow.profile.tracks import (
    TRACK_STRANDS,
    read_five_prime_ends,
    read_windows,
    shift_ends,
    track_positions,
    write_count_bigwig,
)
from cisflow.profile.training import PROFILE_TRAIN_DEFAULTS, train_profile_model
from cisflow.pwm import consensus_codes, load_motif, log_odds
from cisflow.reads import filter_reads, load_genome_sizes
from cisflow.splits import SPLITS

log = logging.getLogger(__name__)

SHIFT_SAMPLE = 50_000
#: Defaults of the profile ``bias`` keys: chrombpnet's bias model (a BPNet of 128 filters x 4 layers).
BIAS_DEFAULTS: dict[str, Any] = {"params": {"filters": 128, "n_layers": 4}, "threshold_factor": THRESHOLD_FACTOR,
                                 "epochs": 50}  # fmt: skip
#: Defaults of the profile ``interpret`` keys: the regions of every split, the profile head, chrombpnet's 20
#: shuffled references.
INTERPRET_DEFAULTS: dict[str, Any] = {"splits": SPLITS, "targets": ("profile",), "max_regions": 1000,
                                      "n_references": 20}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ProfileParams(StageParams):
    """The config's ``profile`` section: the groups modelled, the tracks' enzyme ``shift``, the datasets'
    geometry (bp; :func:`make_datasets`), the TF model's and the bias model's parameters, training
    (:data:`cisflow.profile.training.PROFILE_TRAIN_DEFAULTS`) and interpretation (:func:`interpret_profile`)."""

    SECTION: ClassVar[str] = "profile"
    enabled: bool = False
    groups: tuple[str, ...] = ()
    peak_set: str = "optimal"
    shift: Any = "auto"
    input_length: int = 2114
    output_length: int = 1000
    jitter: int = 128
    background_ratio: float = 1.0
    model: dict[str, Any] = dataclasses.field(default_factory=dict)
    bias: dict[str, Any] = dataclasses.field(default_factory=lambda: copy.deepcopy(BIAS_DEFAULTS))
    train: dict[str, Any] = dataclasses.field(default_factory=lambda: dict(PROFILE_TRAIN_DEFAULTS))
    interpret: dict[str, Any] = dataclasses.field(default_factory=lambda: dict(INTERPRET_DEFAULTS))
    motifs: bool = True


def _genome(genome: str | Path | Genome) -> Genome:
    """``genome`` as given, or opened without loading it: a code cache memory-mapped, an indexed FASTA read per
    window (:meth:`cisflow.genome.Genome.open`; only a FASTA without an index is read whole)."""
    return genome if isinstance(genome, Genome) else Genome.open(genome)


def resolve_shift(shift: Any, assay: str, ends: Mapping, genome: str | Path | Genome | None, seed: int) -> dict:
    """The read-orientation shift to apply: measured (``auto``), given (``[plus, minus]``) or none.

    ChIP tracks are never shifted. ``auto`` needs the genome (ATAC / DNase).
    """
    if assay == "chip" or shift in (None, "none"):
        return {"plus": 0, "minus": 0, "mode": "none"}
    if shift == "auto":
        if genome is None:
            raise CisflowError("measuring the enzyme shift (shift: auto) needs the genome (FASTA or code cache)")
        found = detect_shift(_genome(genome), sample_ends(ends, SHIFT_SAMPLE, seed), assay)
        return {"plus": found["plus"], "minus": found["minus"], "mode": "auto", "contrast": found["contrast"],
                "freqs_plus": found["freqs_plus"].tolist(), "freqs_minus": found["freqs_minus"].tolist()}  # fmt: skip
    if isinstance(shift, Sequence) and len(shift) == 2 and all(isinstance(v, int) for v in shift):
        return {"plus": int(shift[0]), "minus": int(shift[1]), "mode": "given"}
    raise CisflowError(f"shift must be 'auto', 'none' or [plus, minus] integers; got {shift!r}")


def make_tracks(
    tagalign: str | Path,
    genome_sizes: Mapping[str, int] | str | Path,
    out: Mapping[str, str | Path],
    assay: str,
    *,
    shift: Any = ProfileParams.shift,
    genome: str | Path | Genome | None = None,
    report: str | Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Base-resolution count bigWigs from a filtered tagAlign.

    Parameters
    ----------
    tagalign
        The reads stage's tagAlign (gz ok).
    genome_sizes
        ``{chrom: length}`` or a sizes / FASTA path.
    out
        ``{"+": bigWig, "-": bigWig}`` for ChIP, ``{".": bigWig}`` for ATAC / DNase.
    assay
        ``chip``, ``atac`` or ``dnase``.
    shift
        ATAC / DNase: ``auto`` (measured from the enzyme motif, :mod:`cisflow.profile.shift`), ``none``, or
        ``[plus, minus]`` bp in read orientation, applied to the 5′ ends.
    genome
        FASTA, code cache (or Genome) for ``shift: auto``.
    report
        Optional JSON with the shift used (and the frequencies around the cut sites), counts per track.
    seed
        Seeds the sample of reads the shift is measured on.
    """
    sizes = load_genome_sizes(genome_sizes)
    strands = TRACK_STRANDS.get(assay)
    if strands is None or set(out) != set(strands):
        raise CisflowError(f"{assay} tracks are {strands} (one bigWig each); got {sorted(out)}")
    ends = read_five_prime_ends(tagalign, sizes)
    used = resolve_shift(shift, assay, ends, genome, seed)
    positions = track_positions(shift_ends(ends, used["plus"], used["minus"], sizes), assay)
    counts = {s: write_count_bigwig(out[s], sizes, positions[s]) for s in strands}
    summary = {"tagalign": str(tagalign), "assay": assay, "shift": used, "counts": counts}
    if report is not None:
        write_json(report, summary)
    log.info("%s tracks from %s: %s (shift %+d / %+d)", assay, tagalign, counts, used["plus"], used["minus"])
    return summary


def enzyme_matrix(
    tagalign: str | Path,
    genome: str | Path | Genome,
    tracks_report: str | Path,
    out_meme: str | Path,
    *,
    report: str | Path | None = None,
    flank: int = ENZYME_FLANK,
    max_sites: int = ENZYME_SITES,
    seed: int = 0,
) -> dict[str, Any]:
    """The enzyme's insertion matrix from a run's own cut sites, written as MEME beside the tracks.

    Reads the 5′ ends of ``tagalign``, samples at most ``max_sites`` per strand (``seed``), moves them by the shift
    the tracks used (``shift`` of :func:`make_tracks`' JSON ``tracks_report``) and builds
    :func:`cisflow.profile.enzyme.insertion_matrix` (``2·flank + 1`` columns, read orientation, the genome's
    composition as background). ``out_meme``: the matrix (motif ``enzyme``) and the matrix of its preferred sites
    the bias patterns are matched with (``enzyme_sites``, :func:`cisflow.profile.enzyme.sites_matrix`; left out
    when the cut sites show no significant preference), with the
    genome's letter frequencies; ``report``: optional JSON with the matrix, its information per column (bits
    relative to the genome), consensus, most-enriched bases, sites per strand and shift. Returns that summary.
    """
    import json

    used = json.loads(Path(tracks_report).read_text()).get("shift")
    if not isinstance(used, Mapping) or not {"plus", "minus"} <= set(used):
        raise CisflowError("no shift (plus / minus) in the tracks report; make it with make_tracks", tracks_report)
    genome = _genome(genome)
    ends = sample_ends(read_five_prime_ends(tagalign, genome.sizes), max_sites, seed)
    found = insertion_matrix(genome, ends, int(used["plus"]), int(used["minus"]), flank=flank)
    motifs = {ENZYME_NAME: found["pfm"]}
    if found["sites_matrix"] is None:
        log.warning("no column of the enzyme matrix differs from the genome's composition: the cut sites show no "
                    "enzyme preference, so bias-model patterns cannot be told from the enzyme")  # fmt: skip
    else:
        motifs[SITES_NAME] = found["sites_matrix"]
    write_enzyme_meme(out_meme, motifs, found["background"], sum(found["sites"].values()))
    summary = {"tagalign": str(tagalign), "shift": list(found["shift"]), "flank": flank, "sites": found["sites"],
               "consensus": found["consensus"], "enriched": found["enriched"],
               "information_bits": round(float(found["information"].sum()), 4),
               "information_per_column": found["information"].round(4).tolist(),
               "background": found["background"].round(6).tolist(), "pfm": found["pfm"].round(6).tolist(),
               "sites_consensus": None if found["sites_matrix"] is None
               else consensus(found["sites_matrix"])}  # fmt: skip
    if report is not None:
        write_json(report, summary)
    log.info("enzyme matrix from %d cut sites (shift %+d / %+d): consensus %s, most enriched %s, %.2f bits over "
             "the genome; its preferred sites %s", sum(found["sites"].values()), *found["shift"], found["consensus"],
             found["enriched"], summary["information_bits"], summary["sites_consensus"])  # fmt: skip
    return summary


def bam_tracks(
    bams: Mapping[str, str | Path],
    genome_sizes: Mapping[str, int] | str | Path,
    out_dir: str | Path,
    assay: str,
    *,
    dedup: str = "none",
    shift: Any = ProfileParams.shift,
    genome: str | Path | Genome | None = None,
) -> dict[str, list[str]]:
    """Count bigWigs straight from BAMs (filtered as the reads stage does; no duplicate removal by default).

    Writes ``out_dir/{name}.tagAlign.gz`` and ``{name}.plus.bw`` / ``{name}.minus.bw`` (ChIP) or
    ``{name}.bw`` (ATAC / DNase) per BAM; returns ``{name: [bigWig per strand]}``. Base-resolution data
    (ChIP-exo / nexus) piles reads on the same 5′ end, so position deduplication would erase the signal.
    """
    out_dir, tracks = Path(out_dir), {}
    names = {"+": "plus", "-": "minus", ".": None}
    for name, bam in bams.items():
        tag = out_dir / f"{name}.tagAlign.gz"
        filter_reads(bam, genome_sizes, tag, assay="chip" if assay == "chip" else "atac", dedup=dedup,
                     tn5_shift=False)  # fmt: skip
        strands = TRACK_STRANDS[assay]
        paths = {s: out_dir / (f"{name}.{names[s]}.bw" if names[s] else f"{name}.bw") for s in strands}
        make_tracks(tag, genome_sizes, paths, assay, shift=shift, genome=genome)
        tracks[name] = [str(paths[s]) for s in strands]
    return tracks


def make_datasets(
    genome: str | Path | Genome,
    peaks: str | Path | Sequence[str | Path],
    tracks: Mapping[str, Sequence[str | Path]],
    out: Mapping[str, str | Path],
    *,
    control: Sequence[str | Path] = (),
    strands: Sequence[str] = ("+", "-"),
    input_length: int = ProfileParams.input_length,
    output_length: int = ProfileParams.output_length,
    jitter: int = ProfileParams.jitter,
    background_ratio: float = ProfileParams.background_ratio,
    valid_chroms: Sequence[str] = (),
    test_chroms: Sequence[str] = (),
    valid_regions: Sequence[str] = (),
    test_regions: Sequence[str] = (),
    regions_bed: str | Path | None = None,
    seed: int = 0,
) -> dict[str, int]:
    """Training / validation / test profile datasets from peaks and count tracks.

    Parameters
    ----------
    genome
        FASTA, code cache ``.npy`` (or Genome): opened with :meth:`cisflow.genome.Genome.open`.
    peaks
        narrowPeak(s) of the regions to model (summits centre the windows); several (e.g. one per task of
        a multi-task BPNet) are pooled, a summit in more than one counted once.
    tracks
        ``{task: [bigWig per strand]}`` (:func:`make_tracks`).
    out
        ``{"train": npz, "valid": npz, "test": npz}``.
    control
        Control bigWigs (one per strand) for a BPNet control input; none for ChromBPNet.
    strands
        Strand names of each task's bigWigs (``["+", "-"]`` ChIP, ``["."]`` ATAC / DNase).
    input_length, output_length
        Model geometry (bp).
    jitter
        Largest random shift of a training window (bp); validation and test windows are not jittered.
    background_ratio
        GC-matched background regions per peak.
    valid_chroms, test_chroms
        Held-out chromosomes.
    valid_regions, test_regions
        Held-out ``chrom:start-end`` regions (:func:`cisflow.profile.regions.assign_splits`).
    regions_bed
        Optional BED of every region (name ``peak|background:split``).
    seed
        Seeds the background draw.

    Returns
    -------
    dict
        Regions per split.
    """
    genome = _genome(genome)
    paths = [peaks] if isinstance(peaks, str | Path) else list(peaks)
    peak_table = pd.concat([read_narrowpeak(p, genome.sizes) for p in paths], ignore_index=True)
    regions = make_regions(genome, peak_table, input_length, output_length, jitter, background_ratio, seed)
    window = input_length + 2 * jitter
    regions = assign_splits(regions, valid_chroms, test_chroms, valid_regions, test_regions, window)
    if regions_bed is not None:
        write_regions_bed(regions_bed, regions, output_length)
    sizes = {}
    for split in SPLITS:
        part = regions[regions["split"] == split].reset_index(drop=True)
        j = jitter if split == "train" else 0
        data = extract_dataset(genome, part, tracks, control, input_length, output_length, j, strands)
        save_dataset(out[split], data)
        sizes[split] = len(part)
        log.info("%s: %d regions (%d peaks)", split, len(part), int(np.sum(part["is_peak"])))
    return sizes


# ---------------------------------------------------------------------------------------------- outputs

#: Files of a training run (the first three in one folder, the model's).
TRAIN_FILES = {"model": WEIGHTS_NAME, "meta": META_NAME, "history": "history.tsv", "curve": "learning_curve.png",
               "summary": "summary.json"}  # fmt: skip
EVALUATION_FILES = {"predictions": "predictions.npz", "per_region": "per_region.tsv", "metrics": "metrics.tsv",
                    "profiles": "profiles.png", "counts": "counts.png", "jsd": "jsd.png"}  # fmt: skip
INSILICO_FILES = {"marginal": "marginal.tsv", "footprints": "footprints.npz", "footprints_png": "footprints.png",
                  "spacing": "spacing.tsv", "spacing_png": "spacing.png", "ablation": "ablation.tsv",
                  "ablation_png": "ablation.png"}  # fmt: skip


def outputs_in(out_dir: str | Path, files: Mapping[str, str]) -> dict[str, Path]:
    """The usual output paths of a step in ``out_dir`` (e.g. :data:`EVALUATION_FILES`)."""
    return {key: Path(out_dir) / name for key, name in files.items()}


def interpret_files(targets: Sequence[str] = TARGETS, bigwigs: bool = False) -> dict[str, str]:
    """Files of an interpretation: ``{target}.npz`` (and ``{target}.bw``) per target, ``summary.tsv``."""
    files = {t: f"{t}.npz" for t in targets} | {"summary": "summary.tsv"}
    return files | ({f"{t}_bw": f"{t}.bw" for t in targets} if bigwigs else {})


def _check_outputs(outputs: Mapping[str, str | Path], keys: Sequence[str], what: str) -> dict[str, Path]:
    """The output paths of a step; CisflowError naming any missing key."""
    missing = [k for k in keys if k not in outputs]
    if missing:
        raise CisflowError(f"{what} outputs lack {', '.join(missing)} (need {', '.join(keys)})")
    return {k: Path(v) for k, v in outputs.items()}


def _model_folder(outputs: Mapping[str, str | Path]) -> tuple[Path, dict[str, Path]]:
    """The folder a model is written to: weights, meta and history go beside each other under fixed names."""
    outputs = _check_outputs(outputs, list(TRAIN_FILES), "training")
    folder = outputs["model"].parent
    wrong = [TRAIN_FILES[k] for k in ("model", "meta", "history") if outputs[k] != folder / TRAIN_FILES[k]]
    if wrong:
        raise CisflowError(f"training writes {', '.join(wrong)} under these names beside the model in {folder}")
    return folder, outputs


# ---------------------------------------------------------------------------------------------- training


def chrombpnet_config(model_cfg: Mapping[str, Any], bias_model: str | Path) -> dict[str, Any]:
    """A ChromBPNet's model config with its trained bias model's width, depth and kernels filled in.

    The TF model shares the kernels with the bias model (:class:`cisflow.models.bpnet.ChromBPNet`), so a
    kernel given in ``model_cfg`` that differs from the bias model's, or a different ``bias_filters`` /
    ``bias_layers``, is a CisflowError naming both values.
    """
    bias, _ = load_model(bias_model)
    geometry = {"bias_filters": bias.conv1.out_channels, "bias_layers": len(bias.convs),
                "conv1_kernel": bias.conv1.kernel_size[0], "profile_kernel": bias.profile.kernel_size[0]}  # fmt: skip
    if len(bias.convs):
        geometry["kernel_size"] = bias.convs[0].kernel_size[0]
    params = dict(model_cfg.get("params") or {})
    clash = [f"{k} {params[k]} (bias model: {v})" for k, v in geometry.items() if k in params and params[k] != v]
    if clash:
        raise CisflowError(f"the chrombpnet's params do not fit its bias model: {', '.join(clash)}", bias_model)
    return {**model_cfg, "params": params | geometry}


def train_profile(
    train_npz: str | Path,
    valid_npz: str | Path,
    outputs: Mapping[str, str | Path],
    model_cfg: Mapping[str, Any],
    train_cfg: Mapping[str, Any] | None,
    seed: int,
    *,
    bias_model: str | Path | None = None,
    device: str | None = None,
    threads: int | None = None,
    stop_after_epoch: int | None = None,
) -> dict[str, Any]:
    """Train a BPNet (or, with ``bias_model``, a ChromBPNet) on two dataset npz files.

    ``outputs`` (:data:`TRAIN_FILES`; :func:`outputs_in` gives the usual names in a folder): ``model``,
    ``meta`` and ``history`` in the model's folder (which also holds ``checkpoint.pt`` while training), the
    learning ``curve`` (PNG) and a ``summary`` (JSON, see :func:`cisflow.profile.training.train_profile_model`).
    ``bias_model``: the bias model's folder (a ChromBPNet).
    """
    folder, outputs = _model_folder(outputs)
    data = {"train": load_dataset(train_npz), "valid": load_dataset(valid_npz)}
    if bias_model is not None and model_cfg.get("name") == "chrombpnet":
        model_cfg = chrombpnet_config(model_cfg, bias_model)
    summary = train_profile_model(data, folder, model_cfg, train_cfg, seed, device, bias_model=bias_model,
                                  threads=threads, stop_after_epoch=stop_after_epoch)  # fmt: skip
    if summary["completed"]:
        plot_learning_curve(outputs["curve"], read_history(outputs["history"]))
        write_json(outputs["summary"], summary)
    return summary


def train_bias(
    train_npz: str | Path,
    valid_npz: str | Path,
    outputs: Mapping[str, str | Path],
    model_params: Mapping[str, Any],
    train_cfg: Mapping[str, Any] | None,
    seed: int,
    *,
    threshold_factor: float = THRESHOLD_FACTOR,
    device: str | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Train ChromBPNet's bias model: a BPNet on the low-count background regions (chrombpnet's rule).

    The bias model's log counts are then shifted to match the training background on average. ``outputs``
    as :func:`train_profile`'s; the summary adds the counts ceiling, regions and counts offset.
    """
    folder, outputs = _model_folder(outputs)
    data, threshold = bias_datasets(
        {"train": load_dataset(train_npz), "valid": load_dataset(valid_npz)}, threshold_factor
    )
    cfg = {**dict(train_cfg or {}), "background_ratio": None}
    summary = train_profile_model(data, folder, {"name": "bpnet", "params": dict(model_params)}, cfg, seed, device,
                                  threads=threads)  # fmt: skip
    model, meta = load_model(folder)
    offset = counts_offset(model, data["train"], device)
    shift_counts_bias(model, offset)
    save_model(folder, model, meta | {"counts_offset": offset, "counts_ceiling": threshold})
    summary |= {"counts_ceiling": threshold, "counts_offset": offset,
                "regions": {k: len(v["codes"]) for k, v in data.items()}}  # fmt: skip
    plot_learning_curve(outputs["curve"], read_history(outputs["history"]))
    write_json(outputs["summary"], summary)
    return summary


# ---------------------------------------------------------------------------------------------- evaluation


def model_heads(model: Any) -> tuple[str, ...]:
    """The heads worth evaluating: a ChromBPNet's combined, corrected and bias predictions; else the model."""
    return HEADS if hasattr(model, "bias") else ("full",)


def _replicate_counts(
    replicates: Sequence[Mapping[str, Sequence[str | Path]]] | None, data: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Counts ``(N, T, S, L_out)`` of two replicates' tracks in the dataset's central output windows."""
    if not replicates:
        return None
    if len(replicates) != 2:
        raise CisflowError(f"the replicate bound needs exactly two replicates' tracks; got {len(replicates)}")
    n_out, chroms = int(data["output_length"]), data["chrom"].astype(str)
    starts = data["center"] - n_out // 2
    return tuple(
        np.stack([read_windows(rep[str(t)], chroms, starts, n_out) for t in data["tasks"]], axis=1)
        for rep in replicates
    )


def evaluate_profile(
    model_dir: str | Path,
    test_npz: str | Path,
    outputs: Mapping[str, str | Path],
    *,
    replicates: Sequence[Mapping[str, Sequence[str | Path]]] | None = None,
    seed: int = 0,
    device: str | None = None,
    n_plots: int = 6,
) -> pd.DataFrame:
    """Metrics of a profile model on held-out regions, per head, task and region set.

    ``outputs`` (:data:`EVALUATION_FILES`): ``predictions`` (npz; the combined model, a ChromBPNet adds
    ``corrected_*`` and ``bias_*`` arrays), ``per_region`` (TSV), ``metrics`` (TSV: ``model`` = head; counts
    Pearson / Spearman / MSE, median JSD and its bounds), ``profiles`` (top peaks), ``counts`` and ``jsd``
    (PNGs). ``replicates`` (two ``{task: [bigWig per strand]}``) adds the replicate bound.
    """
    outputs = _check_outputs(outputs, list(EVALUATION_FILES), "evaluation")
    model, _ = load_model(model_dir, resolve_device(device))
    data = load_dataset(test_npz)
    batch = centered(data)
    pair = _replicate_counts(replicates, data)
    tables, arrays = [], {}
    for head in model_heads(model):
        logits, log_counts = predict_profile(model, batch["codes"], batch.get("control"), device=device, head=head)
        prefix = "" if head == "full" else f"{head}_"
        arrays |= {f"{prefix}profile_logits": logits, f"{prefix}log_counts": log_counts}
        table = region_table(data, logits, log_counts, batch["counts"], seed, pair)
        tables.append(table.assign(model=head))
        if head == "full":
            _evaluation_plots(outputs, data, batch["counts"], logits, log_counts, table, n_plots)
    keep = ("chrom", "center", "is_peak", "tasks", "strands", "input_length", "output_length")
    save_predictions(outputs["predictions"], arrays | {k: data[k] for k in keep})
    per_region = pd.concat(tables, ignore_index=True)
    write_table(per_region, outputs["per_region"])
    metrics = pd.concat([summarise(t).assign(model=t["model"].iloc[0]) for t in tables], ignore_index=True)
    metrics = metrics[["model", *[c for c in metrics.columns if c != "model"]]]
    write_table(metrics, outputs["metrics"])
    return metrics


def _evaluation_plots(outputs: Mapping[str, Path], data, counts, logits, log_counts, table, n_plots: int) -> None:
    """Top peaks' profiles, the counts scatter and the JSD histogram (task 0)."""
    task0 = table[table["task"] == str(data["tasks"][0])]
    peaks = np.flatnonzero(np.asarray(data["is_peak"], bool))
    top = peaks[np.argsort(-task0["observed_log_counts"].to_numpy()[peaks])][:n_plots]
    titles = [f"{data['chrom'][i]}:{data['center'][i]} (observed {np.expm1(task0['observed_log_counts'].iloc[i]):.0f}, "
              f"predicted {np.expm1(log_counts[i, 0]):.0f} counts)" for i in top]  # fmt: skip
    expected = expected_counts(logits[top], log_counts[top])
    plot_profiles(outputs["profiles"], counts[top], expected, data["strands"].tolist(), titles)
    plot_counts(outputs["counts"], task0["observed_log_counts"].to_numpy(),
                task0["predicted_log_counts"].to_numpy(), task0["region"].to_numpy(), "held-out regions")  # fmt: skip
    in_peaks = task0[task0["region"] == "peaks"]
    bounds = {c.removeprefix("jsd_"): in_peaks[c].to_numpy() for c in in_peaks.columns if c.startswith("jsd_")}
    plot_jsd(outputs["jsd"], in_peaks["jsd"].to_numpy(), bounds, "held-out peaks")


# ---------------------------------------------------------------------------------------------- interpretation


def _explain_rows(data: Mapping[str, np.ndarray], max_regions: int, peaks_only: bool, seed: int) -> np.ndarray:
    """At most ``max_regions`` rows (peaks only, if asked), drawn with ``seed``, sorted."""
    rows = np.flatnonzero(np.asarray(data["is_peak"], bool)) if peaks_only else np.arange(len(data["codes"]))
    if len(rows) > max_regions:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_regions, replace=False))
    if not len(rows):
        raise CisflowError("no regions to interpret")
    return rows


def _regions_to_explain(
    dataset_npz: Sequence[str | Path], max_regions: int, peaks_only: bool, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes, chromosomes and input-window starts of at most ``max_regions`` regions of the datasets."""
    codes, chrom, start = [], [], []
    for data in map(load_dataset, dataset_npz):
        rows = _explain_rows(data, max_regions, peaks_only, seed)
        codes.append(centered(data, rows)["codes"])
        chrom.append(data["chrom"][rows].astype(str))
        start.append(data["center"][rows] - int(data["input_length"]) // 2)
    total = sum(map(len, codes))
    keep = np.arange(total)
    if total > max_regions:
        keep = np.sort(np.random.default_rng(seed).choice(total, max_regions, replace=False))
    return tuple(np.concatenate(v)[keep] for v in (codes, chrom, start))


def interpret_profile(
    model_dir: str | Path,
    dataset_npz: Sequence[str | Path],
    outputs: Mapping[str, str | Path],
    *,
    head: str = "full",
    task: int = 0,
    max_regions: int = INTERPRET_DEFAULTS["max_regions"],
    peaks_only: bool = True,
    n_references: int = INTERPRET_DEFAULTS["n_references"],
    seed: int = 0,
    device: str | None = None,
    chrom_sizes: Mapping[str, int] | None = None,
    precision: str = "float32",
) -> dict[str, Path]:
    """DeepSHAP of the counts and/or profile head on dataset regions, as modisco-ready npz files.

    ``outputs`` (:func:`interpret_files`): per target to explain (``counts``, ``profile``; the keys present
    choose them) an npz (:data:`cisflow.artifacts.SCORES`: ``x``, ``scores``, ``hypothetical``
    ``(N, 4, L_in)``, ``ids``, ``chrom``, ``start``, ``summation_error``; regions, not bins: ``bin_size`` 0)
    and, with ``chrom_sizes``, ``{target}_bw`` (actual-base contributions as a bigWig); ``summary`` (TSV:
    regions, seconds, worst summation error per target). ``head``: ``full`` for a BPNet, ``corrected``
    (the TF model) or ``bias`` for a ChromBPNet. ``precision``: ``float32`` (summation errors
    around 1e-6) or ``float64`` (near 1e-12, several times slower on a CPU).
    """
    if precision not in ("float32", "float64"):
        raise CisflowError(f"precision must be float32 or float64; got {precision!r}")
    targets = [t for t in TARGETS if t in outputs]
    outputs = _check_outputs(outputs, [*targets, "summary"] if targets else [*TARGETS, "summary"], "interpretation")
    model, _ = load_model(model_dir, resolve_device(device))
    codes, chrom, start = _regions_to_explain(dataset_npz, max_regions, peaks_only, seed)
    ids, rows_out = np.array([f"{c}:{s}" for c, s in zip(chrom, start, strict=True)]), []
    for target in targets:
        began = time.perf_counter()
        result = profile_contributions(model, codes, target, task, head, n_references, seed, device=device,
                                       dtype=getattr(torch, precision))  # fmt: skip
        arrays = {"ids": ids, "chrom": chrom, "start": start, "task": str(task), "seed": seed, **result}
        write(outputs[target], SCORES, arrays | {"bin_size": 0, "stride": 0, "input_length": codes.shape[1]})
        if chrom_sizes is not None and f"{target}_bw" in outputs:
            contribution_bigwig(result["scores"], result["x"], chrom, start, chrom_sizes, outputs[f"{target}_bw"])
        rows_out.append({"target": target, "head": head, "regions": len(codes),
                         "seconds": round(time.perf_counter() - began, 3),
                         "max_summation_error": float(result["summation_error"].max())})  # fmt: skip
    write_table(pd.DataFrame(rows_out), outputs["summary"])
    return outputs


# ---------------------------------------------------------------------------------------------- in silico


def motif_pwm(spec: str) -> np.ndarray:
    """A motif as a PWM ``(4, W)``: an ACGT string (one-hot) or a :func:`cisflow.pwm.load_motif` spec."""
    if spec and set(spec.upper()) <= set("ACGT"):
        return np.eye(4)[encode(spec)].T
    return load_motif(spec)[1]


def _backgrounds(dataset_npz: str | Path, n: int, seed: int) -> tuple[np.ndarray, dict]:
    """Dinucleotide shuffles of the dataset's peak windows (or all windows when it has no peak)."""
    data = load_dataset(dataset_npz)
    peaks = np.flatnonzero(np.asarray(data["is_peak"], bool))
    rows = peaks if len(peaks) else np.arange(len(data["codes"]))
    return shuffled_backgrounds(centered(data, rows)["codes"], n, seed), data


def insilico_profile(
    model_dir: str | Path,
    dataset_npz: str | Path,
    outputs: Mapping[str, str | Path],
    motifs: Mapping[str, str],
    *,
    pairs: Sequence[Sequence[str]] = (),
    spacings: Sequence[int] = tuple(range(-100, 101)),
    orientations: Sequence[str] = ("++", "+-", "-+", "--"),
    n_backgrounds: int = 64,
    head: str = "full",
    ablation_fraction: float = 0.8,
    flank: int = 100,
    seed: int = 0,
    device: str | None = None,
) -> dict[str, Path]:
    """Marginal footprints, spacing curves and in-context ablation of motifs for a trained model.

    ``outputs`` (:data:`INSILICO_FILES`): ``marginal`` (TSV per motif and task: log counts with / without,
    log2 fold change, footprint maximum), ``footprints`` (npz) and ``footprints_png``; ``spacing`` (TSV)
    and ``spacing_png`` for the ``pairs`` (empty without); ``ablation`` (TSV) and ``ablation_png``: each
    instance scoring at least ``ablation_fraction`` of the motif's best log-odds in the central ``2·flank`` bp
    of the dataset's peaks, ablated. ``motifs`` maps names to ACGT sequences or motif specs
    (``jaspar:MA0363.2``; inserted as the consensus).
    """
    outputs = _check_outputs(outputs, list(INSILICO_FILES), "in-silico")
    unknown = [name for pair in pairs for name in pair if name not in motifs]
    if unknown:
        raise CisflowError(f"pairs name motif(s) {', '.join(unknown)} not among {', '.join(motifs)}")
    model, _ = load_model(model_dir, resolve_device(device))
    kwargs = {"device": device, "head": head}
    backgrounds, data = _backgrounds(dataset_npz, n_backgrounds, seed)
    flank = min(flank, int(data["output_length"]) // 2)
    pwms = {name: motif_pwm(spec) for name, spec in motifs.items()}
    _footprints(model, backgrounds, pwms, data["strands"].tolist(), flank, outputs, kwargs)
    _spacings(model, backgrounds, pwms, pairs, spacings, orientations, outputs, kwargs)
    _ablation(model, data, pwms, ablation_fraction, 2 * flank, seed, outputs, kwargs)
    return outputs


def _footprints(model, backgrounds, pwms, strands, flank, outputs: Mapping[str, Path], kwargs) -> None:
    rows, arrays = [], {}
    for name, pwm in pwms.items():
        fp = marginal_footprint(model, backgrounds, consensus_codes(pwm), **kwargs)
        arrays |= {f"{name}_with": fp["with"], f"{name}_without": fp["without"], f"{name}_normalised": fp["normalised"]}
        for t in range(len(fp["log2_fold_change"])):
            rows.append({"motif": name, "task": t, "log_counts_with": fp["log_counts_with"][t],
                         "log_counts_without": fp["log_counts_without"][t],
                         "log2_fold_change": fp["log2_fold_change"][t],
                         "max_normalised_footprint": float(fp["normalised"][t].max())})  # fmt: skip
    save_npz(outputs["footprints"], **arrays)
    write_table(pd.DataFrame(rows), outputs["marginal"])
    effects = {n: arrays[f"{n}_with"][0] - arrays[f"{n}_without"][0] for n in pwms}
    plot_footprints(outputs["footprints_png"], effects, strands, flank)


SPACING_COLUMNS = ["orientation", "spacing", "task", "counts_pair", "counts_a", "counts_b", "counts_none",
                   "cooperativity", "motif_a", "motif_b"]  # fmt: skip


def _spacings(model, backgrounds, pwms, pairs, spacings, orientations, outputs: Mapping[str, Path], kwargs) -> None:
    curves = [pd.DataFrame(columns=SPACING_COLUMNS)]
    for a, b in pairs:
        curve = spacing_curve(model, backgrounds, consensus_codes(pwms[a]), consensus_codes(pwms[b]), spacings,
                              orientations, **kwargs).assign(motif_a=a, motif_b=b)  # fmt: skip
        curves.append(curve)
    table = pd.concat([c for c in curves if len(c)], ignore_index=True) if len(curves) > 1 else curves[0]
    write_table(table, outputs["spacing"])
    plot_spacing(outputs["spacing_png"], table)


def _ablation(model, data, pwms, fraction, window, seed, outputs: Mapping[str, Path], kwargs) -> None:
    codes = centered(data, np.flatnonzero(np.asarray(data["is_peak"], bool)))["codes"]
    tables = []
    for name, pwm in pwms.items():
        lo = log_odds(pwm)
        hits = find_instances(codes, lo, fraction * float(lo.max(axis=0).sum()), window)
        if len(hits):
            tables.append(ablate_instances(model, codes, hits, seed, **kwargs).assign(motif=name))
    columns = ["seq", "start", "end", "strand", "score", "delta_log_counts", "profile_jsd", "motif"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    write_table(table, outputs["ablation"])
    plot_ablation(outputs["ablation_png"], table, "motif instances ablated in the peaks")


# ---------------------------------------------------------------------------------------------- ChromBPNet checks


def bias_checks(
    metrics_tsv: str | Path,
    model_dir: str | Path,
    dataset_npz: str | Path,
    out_tsv: str | Path,
    *,
    assay: str = "atac",
    bias_matches: str | Path | None = None,
    bias_patterns: str | Path | None = None,
    qvalue: float = 0.05,
    n_backgrounds: int = 64,
    seed: int = 0,
    device: str | None = None,
) -> pd.DataFrame:
    """chrombpnet's checks of a trained ChromBPNet, one row each (``check value threshold passed note``).

    - the bias model's counts Pearson in peaks (> −0.3, else the bias model learned AT-rich TF signal)
      and in background (> 0);
    - the enzyme footprint (:data:`TN5_MOTIFS` or :data:`DNASE_MOTIFS`) of the bias-corrected model: the
      mean over motifs of each normalised footprint's maximum below 3× a flat profile;
    - no TF motif among the bias model's TF-MoDISco patterns. With ``bias_patterns`` (``bias_patterns.tsv``,
      :func:`cisflow.profile.bias_motifs.bias_pattern_table`: each pattern against JASPAR and the data's enzyme
      matrix) a pattern counts only when its best JASPAR match has q ≤ ``qvalue`` and the enzyme matrix does not
      match it better (:func:`cisflow.profile.enzyme.tf_motif_check`; the note counts both ways and names the
      patterns taken as the enzyme). With only ``bias_matches`` (their ``jaspar_matches.tsv``) every rank-1
      JASPAR match at q ≤ ``qvalue`` counts: the enzyme cannot be told from a TF.
    """
    metrics = pd.read_csv(metrics_tsv, sep="\t")
    rows = []
    for regions, threshold in (("peaks", -0.3), ("background", 0.0)):
        hit = metrics[(metrics["model"] == "bias") & (metrics["regions"] == regions)]
        if hit.empty:
            raise CisflowError(f"no bias-model metrics in {regions}; evaluate a chrombpnet first", metrics_tsv)
        value = float(hit["counts_pearson"].iloc[0])
        rows.append({"check": f"bias counts Pearson in {regions}", "value": value, "threshold": threshold,
                     "passed": bool(value > threshold), "note": ""})  # fmt: skip
    model, _ = load_model(model_dir, resolve_device(device))
    backgrounds, _ = _backgrounds(dataset_npz, n_backgrounds, seed)
    enzyme = TN5_MOTIFS if assay == "atac" else DNASE_MOTIFS
    table = footprint_check(model, backgrounds, enzyme, head="corrected", device=device)
    value, threshold = float(table["max_footprint"].mean()), float(table["threshold"].iloc[0])
    rows.append({"check": f"{'Tn5' if assay == 'atac' else 'DNase-I'} footprint of the corrected model",
                 "value": value, "threshold": threshold, "passed": bool(value < threshold), "note": ""})  # fmt: skip
    if bias_patterns is not None:
        rows.append(tf_motif_check(read_pattern_table(bias_patterns), qvalue))
    elif bias_matches is not None:
        matches = pd.read_csv(bias_matches, sep="\t")
        tf = matches[(matches["rank"] == 1) & (matches["qvalue"] <= qvalue)] if len(matches) else matches
        rows.append({"check": f"bias-model patterns matching JASPAR at q <= {qvalue}", "value": float(len(tf)),
                     "threshold": 0.0, "passed": bool(len(tf) == 0),
                     "note": "no enzyme matrix: the enzyme's own patterns count as TFs"})  # fmt: skip
    out = pd.DataFrame(rows)
    write_table(out, out_tsv)
    return out


# ---------------------------------------------------------------------------------------------- summary


def _metric_rows(metrics: pd.DataFrame) -> list[dict]:
    """Counts and profile rows per head, task and region set."""
    rows = []
    columns = ["counts_pearson", "counts_spearman", "counts_mse", "median_jsd"]
    columns += [c for c in metrics.columns if c.startswith("median_jsd_")]
    for r in metrics.itertuples(index=False):
        for c in columns:
            rows.append({"section": f"{r.model} model, {r.task}, {r.regions}", "measure": c,
                         "value": getattr(r, c), "note": f"{r.n_regions} regions"})  # fmt: skip
    return rows


def _motif_rows(name: str, matches_tsv: str | Path, top: int = 8) -> list[dict]:
    """The rank-1 JASPAR match of each pattern of one motif set."""
    matches = pd.read_csv(matches_tsv, sep="\t")
    best = matches[matches["rank"] == 1] if len(matches) else matches
    return [{"section": f"motifs: {name}", "measure": r.pattern, "value": r.qvalue,
             "note": f"best JASPAR match {r.target_name} ({r.target_id}), q-value"}
            for r in best.head(top).itertuples(index=False)]  # fmt: skip


def profile_summary(
    metrics_tsv: str | Path,
    out_tsv: str | Path,
    *,
    checks_tsv: str | Path | None = None,
    motif_matches: Mapping[str, str | Path] | None = None,
) -> pd.DataFrame:
    """One TSV of the profile stage's figures: ``section measure value note``.

    Rows: every metric of ``metrics.tsv`` (per head, task and region set), chrombpnet's checks
    (``value`` and ``passed`` in the note), and for each named set of JASPAR matches (e.g. the corrected
    model's profile patterns and the bias model's) each pattern's best match and its q-value.
    """
    rows = _metric_rows(pd.read_csv(metrics_tsv, sep="\t"))
    if checks_tsv is not None:
        for r in pd.read_csv(checks_tsv, sep="\t").itertuples(index=False):
            note = f"threshold {r.threshold:.4g}, {'passed' if r.passed else 'FAILED'}"
            extra = r.note if isinstance(getattr(r, "note", None), str) else ""
            rows.append({"section": "ChromBPNet checks", "measure": r.check, "value": r.value,
                         "note": f"{note}; {extra}" if extra else note})  # fmt: skip
    for name, path in (motif_matches or {}).items():
        rows += _motif_rows(name, path)
    table = pd.DataFrame(rows, columns=["section", "measure", "value", "note"])
    write_table(table, out_tsv)
    return table
