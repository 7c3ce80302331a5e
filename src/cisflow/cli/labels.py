"""``cisflow labels``: DREAM-style binned labels from narrowPeak files (no Snakemake needed)."""

from __future__ import annotations

import argparse

from cisflow.errors import CisflowError


def _task_path(text: str) -> tuple[str, str]:
    """Parse ``TASK=path`` (argparse type)."""
    task, sep, path = text.partition("=")
    if not sep or not task or not path:
        raise argparse.ArgumentTypeError(f"expected TASK=path.narrowPeak, got {text!r}")
    return task, path


def _as_dict(pairs: list[tuple[str, str]] | None, option: str) -> dict[str, str]:
    """``{task: path}`` from repeated ``TASK=path`` options; a repeated task is an error."""
    out: dict[str, str] = {}
    for task, path in pairs or []:
        if task in out:
            raise CisflowError(f"{option}: task {task!r} given twice")
        out[task] = path
    return out


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``labels`` subcommand."""
    parser = subparsers.add_parser(
        "labels",
        help="label genome bins bound / ambiguous / unbound from peak files",
        description="Tile the genome into bins ([i*stride, i*stride+bin_size), only bins inside the chromosome) "
        "and label each bin per task: B (1) from conservative peaks, A (-1) where only relaxed peaks overlap, "
        "U (0) elsewhere. Mode 'dream' is the ENCODE-DREAM challenge rule (see docs/labels.md). Writes a labels "
        "npz and optionally the DREAM TSV (chr start stop TASK... with B/A/U). With --dream-labels, the challenge's "
        "own label TSV (chr start stop CELL... with U/A/B) becomes the labels npz instead (tasks <TF>.<CELL>).",
    )
    parser.add_argument(
        "--conservative",
        type=_task_path,
        action="append",
        metavar="TASK=PEAKS",
        help="conservative (e.g. IDR) narrowPeak of a task; repeat per task (column order)",
    )
    parser.add_argument(
        "--dream-labels", metavar="TSV", help="a challenge label TSV (e.g. CTCF.train.labels.tsv.gz) instead of peaks"
    )
    parser.add_argument("--dream-tf", metavar="TF", help="task prefix for --dream-labels (default: from the file name)")
    parser.add_argument(
        "--relaxed",
        type=_task_path,
        action="append",
        metavar="TASK=PEAKS",
        help="relaxed narrowPeak of a task; a task without one uses its conservative peaks",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--genome", metavar="FASTA", help="genome FASTA (sizes and the N filter)")
    source.add_argument("--chrom-sizes", metavar="SIZES", help="two-column chromosome sizes file")
    parser.add_argument("--blacklist", metavar="BED", help="regions whose overlapping bins are excluded")
    parser.add_argument(
        "--chroms",
        metavar="REGEX",
        help="chromosomes to label (regex matched whole); default: drop alt/random/Un/decoy/fix/HLA contigs, EBV, chrM",
    )
    parser.add_argument("--exclude-chrom", action="append", metavar="CHROM", help="leave out a chromosome")
    parser.add_argument(
        "--config", metavar="YAML", help="workflow config whose 'labels' and genome.chroms/exclude_chroms set defaults"
    )
    parser.add_argument("--bin-size", type=int, help="bin width in bp (default: 200)")
    parser.add_argument("--stride", type=int, help="bin step in bp (default: 50)")
    parser.add_argument("--mode", choices=["dream", "summit", "fraction"], help="overlap rule (default: dream)")
    parser.add_argument("--min-fraction", type=float, help="fraction mode: covered bin fraction (default: 0.5)")
    parser.add_argument("--summit-flank", type=int, help="summit mode: summit ± flank inside the bin (default: 0)")
    parser.add_argument("--max-n-fraction", type=float, help="with --genome: exclude bins with more N (default: 0)")
    parser.add_argument("--out", required=True, metavar="NPZ", help="output labels npz")
    parser.add_argument("--dream-tsv", metavar="TSV.GZ", help="also write the DREAM label TSV (kept bins)")
    parser.add_argument("--summary", metavar="TSV", help="also write per-task B/A/U counts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.labels.labels_from_files` (or the DREAM-TSV reader) with the parsed arguments."""
    from cisflow.cli._config import load_yaml_config
    from cisflow.labels import labels_from_files
    from cisflow.labels.pipeline import LabelsParams

    if bool(args.dream_labels) == bool(args.conservative):
        raise CisflowError("give either --conservative peak files or --dream-labels (a challenge label TSV)")
    if args.dream_labels:
        _run_dream(args)
        return
    config = load_yaml_config(args.config)
    flags = {"bin_size": args.bin_size, "stride": args.stride, "mode": args.mode, "min_fraction": args.min_fraction,
             "summit_flank": args.summit_flank, "max_n_fraction": args.max_n_fraction}  # fmt: skip
    opts = LabelsParams.resolve(config, flags, args.config or "command line").as_dict()
    opts.pop("peak_set")  # which peak files are bound: the caller's --conservative
    genome = config.get("genome", {})
    labels_from_files(
        _as_dict(args.conservative, "--conservative"),
        _as_dict(args.relaxed, "--relaxed"),
        args.out,
        genome=args.genome,
        chrom_sizes=args.chrom_sizes,
        blacklist=args.blacklist,
        dream_tsv=args.dream_tsv,
        summary=args.summary,
        chroms=args.chroms if args.chroms is not None else genome.get("chroms"),
        exclude_chroms=args.exclude_chrom if args.exclude_chrom is not None else genome.get("exclude_chroms", []),
        **opts,
    )


def _run_dream(args: argparse.Namespace) -> None:
    """Labels npz from a challenge label TSV (chromosome lengths from --genome / --chrom-sizes if given)."""
    from cisflow.dream_files import dream_labels_to_files
    from cisflow.genome import read_chrom_sizes

    sizes = None
    if args.chrom_sizes or args.genome:
        sizes = read_chrom_sizes(args.chrom_sizes) if args.chrom_sizes else _fasta_sizes(args.genome)
    dream_labels_to_files(args.dream_labels, args.out, chrom_sizes=sizes, tf=args.dream_tf, summary=args.summary)


def _fasta_sizes(fasta: str) -> dict[str, int]:
    from cisflow.genome import fasta_sizes

    return fasta_sizes(fasta)  # from the index, else one streaming pass (no sequence kept)
