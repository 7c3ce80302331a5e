"""``cisflow denoise``: AtacWorks-style denoising of low-coverage ATAC-seq (docs/denoise.md).

Subcommands: ``pair`` (a noisy subsample of a library and, with ``--clean``, the library's own track
and peaks), ``series`` (MACS3 on nested subsamples), ``train``, ``apply`` (any low-coverage sample)
and ``evaluate`` (metrics on held-out chromosomes beside MACS3, the equivalent depth).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any


def _genome(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--genome", required=True, metavar="SIZES", help="chrom.sizes, .fai or FASTA of the genome")


def _config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="YAML", help="workflow config whose 'denoise' section sets the defaults")


def _params(args: argparse.Namespace, flags: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The ``denoise`` parameters (defaults, then the ``--config`` YAML's section, then the flags given) and
    the config."""
    from cisflow.cli._config import load_yaml_config
    from cisflow.denoise.settings import DenoiseParams

    config = load_yaml_config(args.config)
    return DenoiseParams.resolve(config, flags, args.config or "command line"), config


def _macs3(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pvalue", type=float, default=0.01, help="MACS3 p-value cutoff (default: 0.01)")
    parser.add_argument("--gsize", default=None, help="MACS3 -g (default: the genome's length)")


def _macs3_options(args: argparse.Namespace) -> dict[str, Any]:
    gsize = args.gsize if args.gsize is None or not args.gsize.isdigit() else int(args.gsize)
    return {"pvalue": args.pvalue, "gsize": gsize}


def _add_pair(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pair", help="a seeded subsample of a library's fragments: reads, track, MACS3 peaks")
    p.add_argument("--reads", required=True, metavar="TAGALIGN", help="the library's filtered tagAlign/fragments")
    _genome(p)
    p.add_argument("--fraction", type=float, required=True, help="fraction of the fragments kept, e.g. 0.1")
    p.add_argument("--seed", type=int, default=0, help="subsampling seed (default: 0)")
    p.add_argument("--flank", type=int, help="cut sites count on ±FLANK bp (default: 100)")
    _config(p)
    p.add_argument("--clean", action="store_true", help="also write the full library's clean.bw, clean.narrowPeak")
    _macs3(p)
    p.add_argument("--out-dir", required=True, metavar="DIR")
    p.set_defaults(func=_run_pair)


def _run_pair(args: argparse.Namespace) -> None:
    from cisflow.denoise.pairs import make_training_pair
    from cisflow.reads import load_genome_sizes

    out = Path(args.out_dir)
    files = {"noisy_reads": "noisy.tagAlign.gz", "noisy_bw": "noisy.bw", "noisy_peaks": "macs3.narrowPeak",
             "stats": "pair.json"}  # fmt: skip
    if args.clean:
        files |= {"clean_bw": "clean.bw", "clean_peaks": "clean.narrowPeak"}
    outputs = {k: out / v for k, v in files.items()}
    opts, _ = _params(args, {"flank": args.flank})
    make_training_pair(args.reads, load_genome_sizes(args.genome), outputs, fraction=args.fraction, seed=args.seed,
                       flank=opts.flank, macs3=_macs3_options(args))  # fmt: skip


def _add_series(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("series", help="MACS3 on nested subsamples of a library (for the equivalent depth)")
    p.add_argument("--reads", required=True, metavar="TAGALIGN")
    _genome(p)
    p.add_argument("--depth", type=float, action="append", required=True, help="a fraction; repeat (1 = all)")
    p.add_argument("--seed", type=int, default=100, help="subsampling seed (default: 100)")
    _macs3(p)
    p.add_argument("--out-dir", required=True, metavar="DIR", help="gets depth_<fraction>.narrowPeak")
    p.set_defaults(func=_run_series)


def _run_series(args: argparse.Namespace) -> None:
    from cisflow.denoise.pairs import depth_series_outputs, macs3_depth_series
    from cisflow.reads import load_genome_sizes

    outputs = depth_series_outputs(args.out_dir, args.depth)
    macs3_depth_series(args.reads, load_genome_sizes(args.genome), outputs, seed=args.seed, macs3=_macs3_options(args))


def _add_train(sub: argparse._SubParsersAction) -> None:
    from cisflow.denoise.settings import TRAIN_DEFAULTS

    p = sub.add_parser("train", help="train a denoising model on a noisy / clean pair (held-out chromosomes)")
    p.add_argument("--noisy", required=True, metavar="BW", help="noisy track (pair's noisy.bw)")
    p.add_argument("--clean", required=True, metavar="BW", help="clean track (pair's clean.bw)")
    p.add_argument("--peaks", required=True, metavar="NARROWPEAK", help="clean peaks (pair's clean.narrowPeak)")
    _genome(p)
    p.add_argument("--valid", action="append", required=True, metavar="CHROM", help="validation chromosome")
    p.add_argument("--test", action="append", default=[], metavar="CHROM", help="test chromosome (never read)")
    p.add_argument("--model-params", metavar="JSON", help="denoising_resnet hyperparameters (default: the config's)")
    _config(p)
    for key, value in TRAIN_DEFAULTS.items():
        kind = {int: int, float: float}.get(type(value), str)
        p.add_argument(f"--{key.replace('_', '-')}", type=kind, help=f"(default: {value})")
    p.add_argument("--flank", type=int, help="the tracks' cut-site extension, recorded (default: 100)")
    p.add_argument("--seed", type=int, help="(default: the config's seed, else 0)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: the GPU if any)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out-dir", required=True, metavar="DIR")
    p.set_defaults(func=_run_train)


def _pad(text: str | None) -> int | None:
    """``--pad``: a number of bases, or null (the model's receptive field); None when not given."""
    from cisflow.errors import CisflowError

    if text is None or text in ("", "None", "null"):
        return None
    if not text.isdigit():
        raise CisflowError(f"--pad takes a number of bases or null, got {text!r}")
    return int(text)


def _run_train(args: argparse.Namespace) -> None:
    from cisflow.denoise.settings import TRAIN_KEYS
    from cisflow.denoise.train import denoiser_outputs, train_denoiser
    from cisflow.errors import CisflowError
    from cisflow.reads import load_genome_sizes

    flags = {key: getattr(args, key) for key in TRAIN_KEYS} | {"pad": _pad(args.pad), "flank": args.flank}
    opts, config = _params(args, flags)
    if args.pad in ("", "None", "null"):  # an explicit null overrides the config's pad
        opts = dataclasses.replace(opts, pad=None)
    model = dict(opts.model)
    if args.model_params is not None:
        try:
            model["params"] = json.loads(args.model_params)
        except json.JSONDecodeError as exc:
            raise CisflowError(f"--model-params is not JSON ({exc})") from exc
    settings = {key: getattr(opts, key) for key in TRAIN_KEYS}
    train_denoiser(args.noisy, args.clean, args.peaks, load_genome_sizes(args.genome), denoiser_outputs(args.out_dir),
                   valid_chroms=args.valid, test_chroms=args.test, train_cfg=settings,
                   seed=config.get("seed", 0) if args.seed is None else args.seed, model_cfg=model, device=args.device,
                   threads=args.threads, flank=opts.flank)  # fmt: skip


def _add_apply(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apply", help="denoise a low-coverage sample: track, peak probability, peaks (+ MACS3)")
    p.add_argument("--model", required=True, metavar="JSON", help="trained model: its model.json (or its folder)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--reads", metavar="TAGALIGN", help="the sample's filtered reads (track + MACS3 made here)")
    source.add_argument("--noisy", metavar="BW", help="the sample's track, made like the training tracks")
    _genome(p)
    p.add_argument("--chrom", action="append", default=None, help="chromosome to denoise (default: all)")
    p.add_argument("--threshold", type=float, help="peak probability cutoff (default: 0.5)")
    p.add_argument("--min-length", type=int, help="shortest peak in bp (default: 50)")
    _config(p)
    _macs3(p)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out-dir", required=True, metavar="DIR")
    p.set_defaults(func=_run_apply)


def _run_apply(args: argparse.Namespace) -> None:
    from cisflow.denoise.pipeline import denoise_reads, denoise_sample
    from cisflow.reads import load_genome_sizes

    out, sizes = Path(args.out_dir), load_genome_sizes(args.genome)
    files = {"track": out / "denoised.bw", "prob": out / "peak_probability.bw", "peaks": out / "peaks.narrowPeak"}
    params, _ = _params(args, {"threshold": args.threshold, "min_peak_length": args.min_length})
    opts = {"threshold": params.threshold, "min_length": params.min_peak_length, "chroms": args.chrom,
            "device": args.device, "threads": args.threads}  # fmt: skip
    if args.noisy:
        denoise_sample(args.model, args.noisy, sizes, files, **opts)
        return
    files |= {"noisy_bw": out / "noisy.bw", "macs3_peaks": out / "macs3.narrowPeak", "stats": out / "apply.json"}
    denoise_reads(args.model, args.reads, sizes, files, macs3=_macs3_options(args), **opts)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="metrics on held-out chromosomes beside MACS3; the equivalent depth")
    for name, what in (("clean", "clean track"), ("noisy", "noisy track"), ("denoised", "denoised track"),
                       ("prob", "peak-probability track")):  # fmt: skip
        p.add_argument(f"--{name}", required=True, metavar="BW", help=what)
    p.add_argument("--clean-peaks", required=True, metavar="NARROWPEAK", help="MACS3 on the full library")
    p.add_argument("--macs3", required=True, metavar="NARROWPEAK", help="MACS3 on the noisy reads")
    p.add_argument("--series", action="append", default=[], metavar="DEPTH=NARROWPEAK", help="MACS3 at a depth")
    p.add_argument("--depth", type=float, required=True, help="the noisy sample's fraction of the library")
    _genome(p)
    p.add_argument("--test", action="append", required=True, metavar="CHROM", help="held-out chromosome")
    p.add_argument("--sample", default="sample", help="name in the table")
    p.add_argument("--out-dir", required=True, metavar="DIR", help="gets metrics.tsv, metrics.png, summary.json")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> None:
    from cisflow.denoise.pipeline import evaluate_denoising
    from cisflow.errors import CisflowError
    from cisflow.reads import load_genome_sizes

    series = {}
    for item in args.series:
        depth, sep, path = item.partition("=")
        try:
            series[float(depth)] = path
        except ValueError:
            sep = ""
        if not sep or not path:
            raise CisflowError(f"--series takes DEPTH=NARROWPEAK, got {item!r}")
    out = Path(args.out_dir)
    tracks = {k: getattr(args, k) for k in ("clean", "noisy", "denoised", "prob")}
    evaluate_denoising(tracks, {"clean": args.clean_peaks, "noisy_peaks": args.macs3}, load_genome_sizes(args.genome),
                       args.test, out / "metrics.tsv", depth=args.depth, depth_series=series,
                       out_png=out / "metrics.png", out_json=out / "summary.json", sample=args.sample)  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``denoise`` subcommand and its own subcommands."""
    parser = subparsers.add_parser("denoise", help="AtacWorks-style denoising of low-coverage ATAC-seq",
                                   description=__doc__.splitlines()[0])  # fmt: skip
    sub = parser.add_subparsers(dest="denoise_command", required=True, metavar="STEP")
    for add in (_add_pair, _add_series, _add_train, _add_apply, _add_evaluate):
        add(sub)
