"""``cisflow profile``: base-resolution BPNet / ChromBPNet models, one subcommand per step.

``tracks`` (tagAlign → count bigWigs; ``enzyme``: the enzyme's insertion matrix) → ``datasets`` (peaks +
tracks → train / valid / test npz) → ``bias`` (ChromBPNet's bias model) → ``train`` → ``evaluate`` →
``interpret`` (DeepSHAP npz for ``cisflow motifs``) → ``insilico`` → ``bias-patterns`` and ``checks``
(ChromBPNet) → ``summary``; ``simulate`` writes the known-answer ChIP simulation. Flags left out take the
``--config`` YAML's ``profile`` section (and ``seed``, ``splits``), as Snakemake would, else its defaults
(:class:`cisflow.profile.pipeline.ProfileParams`).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any


def _given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The named options the user gave (None ones are left to the library's defaults)."""
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def _settings(args: argparse.Namespace, **flags: Any) -> tuple[Any, dict[str, Any]]:
    """The ``profile`` parameters (defaults, then the ``--config`` YAML's section, then the flags given) and
    the config (``{}`` without ``--config``)."""
    from cisflow.cli._config import load_yaml_config
    from cisflow.profile.pipeline import ProfileParams

    config = load_yaml_config(args.config)
    return ProfileParams.resolve(config, flags, args.config or "command line"), config


def _seed(args: argparse.Namespace, config: dict[str, Any]) -> int:
    """``--seed``, else the config's seed, else 0."""
    return config.get("seed", 0) if args.seed is None else args.seed


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {text!r}") from exc


def _tracks(args: argparse.Namespace) -> None:
    from cisflow.errors import CisflowError
    from cisflow.profile.pipeline import make_tracks
    from cisflow.profile.tracks import TRACK_STRANDS

    strands = TRACK_STRANDS[args.assay]
    if len(args.out) != len(strands):
        raise CisflowError(f"{args.assay} tracks are {len(strands)} bigWig(s); give --out {len(strands)} time(s)")
    shift = args.shift if args.shift in (None, "auto", "none") else [int(v) for v in args.shift.split(",")]
    opts, config = _settings(args, shift=shift)
    out = dict(zip(strands, args.out, strict=True))
    make_tracks(args.tagalign, args.sizes, out, args.assay, genome=args.genome, report=args.report, shift=opts.shift,
                seed=_seed(args, config))  # fmt: skip


def _enzyme(args: argparse.Namespace) -> None:
    from cisflow.profile.pipeline import enzyme_matrix

    enzyme_matrix(args.tagalign, args.genome, args.tracks_report, args.out, report=args.report,
                  **_given(args, "flank", "max_sites", "seed"))  # fmt: skip


def _datasets(args: argparse.Namespace) -> None:
    from cisflow.data.pipeline import SplitsParams
    from cisflow.profile.pipeline import make_datasets

    tracks = {t: p.split(",") for t, p in (item.split("=", 1) for item in args.track)}
    out = {s: f"{args.out_dir}/{s}.npz" for s in ("train", "valid", "test")}
    opts, config = _settings(args, **_given(args, "input_length", "output_length", "jitter", "background_ratio"))
    held = SplitsParams.resolve(config, {"valid_chroms": args.valid_chrom, "test_chroms": args.test_chrom})
    make_datasets(args.genome, args.peaks, tracks, out, control=args.control or (), strands=args.strands.split(","),
                  input_length=opts.input_length, output_length=opts.output_length, jitter=opts.jitter,
                  background_ratio=opts.background_ratio, valid_chroms=held.valid_chroms, test_chroms=held.test_chroms,
                  valid_regions=held.valid_regions, test_regions=held.test_regions,
                  regions_bed=f"{args.out_dir}/regions.bed", seed=_seed(args, config))  # fmt: skip


def _train(args: argparse.Namespace) -> None:
    from cisflow.profile.pipeline import TRAIN_FILES, outputs_in, train_bias, train_profile

    outputs = outputs_in(args.out_dir, TRAIN_FILES)
    opts, config = _settings(args)
    seed = _seed(args, config)
    if args.command_step == "bias":
        train_cfg = {**opts.train, "epochs": opts.bias["epochs"], **(args.train_config or {})}
        params, factor = opts.bias["params"] if args.params is None else args.params, opts.bias["threshold_factor"]
        train_bias(args.train, args.valid, outputs, params, train_cfg, seed, threshold_factor=factor,
                   device=args.device, threads=args.threads)  # fmt: skip
        return
    model = {"name": args.model, "params": dict(opts.model) if args.params is None else args.params}
    train_cfg = {**opts.train, **(args.train_config or {})}
    train_profile(args.train, args.valid, outputs, model, train_cfg, seed, bias_model=args.bias_model,
                  device=args.device, threads=args.threads)  # fmt: skip


def _evaluate(args: argparse.Namespace) -> None:
    from cisflow.profile.pipeline import EVALUATION_FILES, evaluate_profile, outputs_in

    reps = [{t: p.split(",") for t, p in (i.split("=", 1) for i in rep.split(";"))} for rep in args.replicate or ()]
    evaluate_profile(args.model, args.data, outputs_in(args.out_dir, EVALUATION_FILES), replicates=reps or None,
                     device=args.device, **_given(args, "seed"))  # fmt: skip


def _interpret(args: argparse.Namespace) -> None:
    from cisflow.profile.pipeline import interpret_files, interpret_profile, outputs_in
    from cisflow.reads import load_genome_sizes

    opts, config = _settings(args)
    settings = opts.interpret | _given(args, "max_regions", "n_references")
    targets = args.target or list(settings["targets"])
    outputs = outputs_in(args.out_dir, interpret_files(targets, bigwigs=args.sizes is not None))
    sizes = load_genome_sizes(args.sizes) if args.sizes else None
    kwargs = _given(args, "head", "task", "precision")
    interpret_profile(args.model, args.data.split(","), outputs, device=args.device, chrom_sizes=sizes,
                      max_regions=settings["max_regions"], n_references=settings["n_references"],
                      seed=_seed(args, config), **kwargs)  # fmt: skip


def _insilico(args: argparse.Namespace) -> None:
    from cisflow.profile.pipeline import INSILICO_FILES, insilico_profile, outputs_in

    motifs = dict(item.split("=", 1) for item in args.motif)
    pairs = [p.split(",") for p in args.pair or ()]
    kwargs = _given(args, "head", "n_backgrounds", "seed")
    if args.spacings:
        lo, hi = (int(v) for v in args.spacings.split(","))
        kwargs["spacings"] = range(lo, hi + 1)
    insilico_profile(args.model, args.data, outputs_in(args.out_dir, INSILICO_FILES), motifs, pairs=pairs,
                     device=args.device, **kwargs)  # fmt: skip


def _checks(args: argparse.Namespace) -> None:
    from cisflow.profile.pipeline import bias_checks

    bias_checks(args.metrics, args.model, args.data, args.out, bias_matches=args.bias_matches,
                bias_patterns=args.bias_patterns, device=args.device, **_given(args, "assay", "seed"))  # fmt: skip


def _bias_patterns(args: argparse.Namespace) -> None:
    from cisflow.profile.bias_motifs import bias_pattern_table

    folder = args.bias_motifs
    bias_pattern_table(os.path.join(folder, "jaspar_matches.tsv"), os.path.join(folder, "patterns.meme"), args.enzyme,
                       args.out, **_given(args, "release", "taxon"))  # fmt: skip


def _summary(args: argparse.Namespace) -> None:
    from cisflow.profile.pipeline import profile_summary

    matches = dict(item.split("=", 1) for item in args.motifs or ())
    profile_summary(args.metrics, args.out, checks_tsv=args.checks, motif_matches=matches)


def _simulate(args: argparse.Namespace) -> None:
    from cisflow.profile.simulate import simulate_profile_chip

    simulate_profile_chip(args.out_dir, **_given(args, "seed", "n_chroms", "chrom_length", "spacing", "synergy"))


#: The steps whose settings the config's ``profile`` section holds (``--config``).
_CONFIGURED = ("tracks", "datasets", "bias", "train", "interpret")


def _add(sub: argparse._SubParsersAction, name: str, help_: str, func: Callable) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_, description=help_)
    parser.set_defaults(func=func, command_step=name, config=None)
    if name in _CONFIGURED:
        parser.add_argument("--config", metavar="YAML", help="workflow config whose 'profile' section (and seed, "
                            "splits) sets the defaults")  # fmt: skip
    return parser


def _model_args(parser: argparse.ArgumentParser, data: str = "dataset npz") -> None:
    parser.add_argument("--model", required=True, metavar="DIR", help="trained model folder")
    parser.add_argument("--data", required=True, metavar="NPZ", help=data)
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")


def _register_prepare(sub: argparse._SubParsersAction) -> None:
    p = _add(sub, "tracks", "count bigWigs per base from a filtered tagAlign (ChIP 5' ends per strand; ATAC / DNase "
             "cut sites, the enzyme shift measured from the data)", _tracks)  # fmt: skip
    p.add_argument("--tagalign", required=True, help="tagAlign from cisflow reads")
    p.add_argument("--sizes", required=True, help="chromosome sizes (or FASTA)")
    p.add_argument("--assay", required=True, choices=("chip", "atac", "dnase"))
    p.add_argument("--out", required=True, action="append", help="bigWig; ChIP: + then - strand")
    p.add_argument("--genome", help="FASTA (needed for --shift auto)")
    p.add_argument("--shift", help="auto, none or PLUS,MINUS (bp, read orientation; ATAC / DNase)")
    p.add_argument("--report", help="JSON of the shift used and the counts")
    p.add_argument("--seed", type=int, default=None)
    p = _add(sub, "enzyme", "the enzyme's insertion matrix (MEME) from the cut sites, the tracks' shift applied",
             _enzyme)  # fmt: skip
    p.add_argument("--tagalign", required=True, help="tagAlign the tracks were made from")
    p.add_argument("--genome", required=True, help="FASTA or code cache")
    p.add_argument("--tracks-report", required=True, help="the tracks' JSON report (the shift they applied)")
    p.add_argument("--out", required=True, help="MEME file of the matrix")
    p.add_argument("--report", help="JSON: matrix, information per column, consensus, sites")
    p.add_argument("--flank", type=int, default=None, help="bases on each side of the cut site (default 12)")
    p.add_argument("--max-sites", type=int, default=None, help="cut sites sampled per strand (default 1,000,000)")
    p.add_argument("--seed", type=int, default=None)
    p = _add(sub, "datasets", "train / valid / test npz of summit-centred peaks and GC-matched background", _datasets)
    p.add_argument("--genome", required=True, help="FASTA")
    p.add_argument("--peaks", required=True, help="narrowPeak")
    p.add_argument("--track", required=True, action="append", metavar="TASK=BW[,BW]", help="a task's strand bigWigs")
    p.add_argument("--strands", default="+,-", help="strand names of each task's bigWigs (ATAC / DNase: .)")
    p.add_argument("--control", action="append", metavar="BW", help="control bigWig per strand (BPNet)")
    p.add_argument("--valid-chrom", action="append")
    p.add_argument("--test-chrom", action="append")
    p.add_argument("--out-dir", required=True)
    for flag in ("--input-length", "--output-length", "--jitter", "--seed"):
        p.add_argument(flag, type=int, default=None)
    p.add_argument("--background-ratio", type=float, default=None)


def _register_models(sub: argparse._SubParsersAction) -> None:
    for name, help_ in (("bias", "train ChromBPNet's bias model on low-count background"),
                        ("train", "train a BPNet, or a ChromBPNet on a trained bias model")):  # fmt: skip
        p = _add(sub, name, help_, _train)
        p.add_argument("--train", required=True, metavar="NPZ")
        p.add_argument("--valid", required=True, metavar="NPZ")
        p.add_argument("--out-dir", required=True)
        p.add_argument("--params", type=_json, help="model parameters as JSON, e.g. '{\"filters\": 32}'")
        p.add_argument("--train-config", type=_json, help="train keys as JSON, e.g. '{\"epochs\": 10}'")
        p.add_argument("--seed", type=int, default=None, help="random seed (default: the config's, else 0)")
        p.add_argument("--device", default=None)
        p.add_argument("--threads", type=int, default=None)
        if name == "train":
            p.add_argument("--model", default="bpnet", choices=("bpnet", "chrombpnet"))
            p.add_argument("--bias-model", metavar="DIR", help="trained bias model folder (chrombpnet)")


def _register_analyses(sub: argparse._SubParsersAction) -> None:
    p = _add(sub, "evaluate", "counts and profile metrics on held-out regions", _evaluate)
    _model_args(p, "test dataset npz")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--replicate", action="append", metavar="TASK=BW[,BW][;…]", help="twice: the replicate bound")
    p = _add(sub, "interpret", "DeepSHAP of the counts and profile heads (npz for cisflow motifs)", _interpret)
    _model_args(p, "dataset npz (several: comma-separated)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--target", action="append", choices=("counts", "profile"))
    p.add_argument("--head", choices=("full", "corrected", "bias"))
    p.add_argument("--sizes", help="chromosome sizes: also write contribution bigWigs")
    p.add_argument("--precision", choices=("float32", "float64"))
    for flag in ("--task", "--max-regions", "--n-references"):
        p.add_argument(flag, type=int, default=None)
    p = _add(sub, "insilico", "marginal footprints, spacing curves and ablation of motifs", _insilico)
    _model_args(p)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--motif", required=True, action="append", metavar="NAME=SEQ|SPEC")
    p.add_argument("--pair", action="append", metavar="A,B")
    p.add_argument("--spacings", metavar="MIN,MAX")
    p.add_argument("--head", choices=("full", "corrected", "bias"))
    p.add_argument("--n-backgrounds", type=int, default=None)
    p = _add(sub, "checks", "chrombpnet's checks of a ChromBPNet", _checks)
    _model_args(p)
    p.add_argument("--metrics", required=True, help="metrics.tsv of cisflow profile evaluate")
    p.add_argument("--out", required=True, help="checks TSV")
    p.add_argument("--assay", choices=("atac", "dnase"))
    p.add_argument("--bias-matches", help="jaspar_matches.tsv of the bias model's patterns (every JASPAR match at "
                   "q <= 0.05 counts as a TF)")  # fmt: skip
    p.add_argument("--bias-patterns", metavar="TSV", help="bias_patterns.tsv of cisflow profile bias-patterns (a "
                   "pattern the enzyme matrix matches better than any JASPAR motif is not a TF)")  # fmt: skip
    p = _add(sub, "bias-patterns", "the bias model's TF-MoDISco patterns against JASPAR and the enzyme matrix",
             _bias_patterns)  # fmt: skip
    p.add_argument("--bias-motifs", required=True, metavar="DIR", help="cisflow motifs folder of the bias model")
    p.add_argument("--enzyme", required=True, metavar="MEME", help="the enzyme matrix (cisflow profile enzyme)")
    p.add_argument("--out", required=True, help="bias_patterns.tsv")
    p.add_argument("--release", help="JASPAR release the patterns were matched with (default JASPAR2024)")
    p.add_argument("--taxon", help="JASPAR tax group the patterns were matched with (default: all)")
    p = _add(sub, "summary", "one TSV of metrics, checks and motif matches", _summary)
    p.add_argument("--metrics", required=True)
    p.add_argument("--checks")
    p.add_argument("--motifs", action="append", metavar="NAME=TSV", help="a named jaspar_matches.tsv")
    p.add_argument("--out", required=True)
    p = _add(sub, "simulate", "the known-answer ChIP simulation (genome, BAMs, truth)", _simulate)
    p.add_argument("--out-dir", required=True)
    for flag in ("--seed", "--n-chroms", "--chrom-length", "--spacing"):
        p.add_argument(flag, type=int, default=None)
    p.add_argument("--synergy", type=float, default=None)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``profile`` command and its steps."""
    parser = subparsers.add_parser("profile", help="BPNet / ChromBPNet base-resolution models",
                                   description=__doc__.splitlines()[0])  # fmt: skip
    sub = parser.add_subparsers(dest="step", required=True, metavar="STEP")
    _register_prepare(sub)
    _register_models(sub)
    _register_analyses(sub)
