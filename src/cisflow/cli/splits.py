"""``cisflow splits``: held-out-chromosome train / valid / test datasets from labels and the genome."""

from __future__ import annotations

import argparse
from pathlib import Path

from cisflow.splits import SPLITS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``splits`` subcommand."""
    parser = subparsers.add_parser(
        "splits",
        help="split labelled bins by chromosome (or region) into train/valid/test dataset npz files",
        description="Assign whole chromosomes (and regions inside them, with one input window left out around "
        "each region boundary) to train, valid and test, then write D/train.npz, D/valid.npz, "
        "D/test.npz (codes, labels, tasks, chrom, start, bin_start; windows centred on bins) and "
        "D/splits.json. Train: every positive bin plus sampled all-unbound negatives.",
    )
    parser.add_argument("--labels", required=True, metavar="NPZ", help="labels npz from 'cisflow labels'")
    parser.add_argument("--genome", required=True, metavar="FASTA", help="genome FASTA the labels were made on")
    parser.add_argument("--config", metavar="YAML", help="workflow config whose 'splits' section sets the defaults")
    parser.add_argument("--valid", action="append", metavar="CHROM", help="validation chromosome")
    parser.add_argument("--test", action="append", metavar="CHROM", help="test chromosome")
    parser.add_argument("--valid-region", action="append", metavar="CHR:START-END", help="validation region (0-based)")
    parser.add_argument("--test-region", action="append", metavar="CHR:START-END", help="test region (0-based)")
    parser.add_argument(
        "--preset", choices=["dream"], help="dream: valid chr11, test chr1 chr8 chr21 (overrides --valid/--test)"
    )
    parser.add_argument("--heldout-cell-type", action="append", metavar="CT", help="cell type (TASK.CT) kept for test")
    parser.add_argument("--input-length", type=int, help="window length in bp (default: 1000)")
    parser.add_argument("--negative-ratio", type=float, help="train negatives per positive (default: 1)")
    parser.add_argument(
        "--eval-negative-ratio",
        type=float,
        help="valid/test negatives per positive (default: every kept bin of those chromosomes)",
    )
    parser.add_argument(
        "--valid-negative-ratio",
        type=float,
        help="validation negatives per positive (default: --eval-negative-ratio)",
    )
    parser.add_argument(
        "--gc-match",
        action=argparse.BooleanOptionalAction,
        help="match sampled negatives' GC to the positives' (default: no)",
    )
    parser.add_argument(
        "--signal-bigwig",
        action="append",
        default=[],
        metavar="BW",
        help="bigWig whose log1p values become an extra input channel (stored as 'signal'); repeat for several",
    )
    parser.add_argument(
        "--coordinates",
        action="store_true",
        help="write coordinate datasets (bins and labels, no codes; windows made from --genome when used)",
    )
    parser.add_argument("--seed", type=int, help="sampling seed (default: the config's seed, else 0)")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="output directory")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.data.datasets_from_files` with the parsed arguments."""
    from cisflow.cli._config import load_yaml_config
    from cisflow.data import datasets_from_files
    from cisflow.data.pipeline import SplitsParams

    config = load_yaml_config(args.config)
    flags = {"valid_chroms": args.valid, "test_chroms": args.test, "preset": args.preset,
             "valid_regions": args.valid_region, "test_regions": args.test_region, "input_length": args.input_length,
             "negative_ratio": args.negative_ratio, "gc_match": args.gc_match,
             "eval_negative_ratio": args.eval_negative_ratio, "valid_negative_ratio": args.valid_negative_ratio,
             "heldout_cell_types": args.heldout_cell_type}  # fmt: skip
    opts = SplitsParams.resolve(config, flags, args.config or "command line").as_dict()
    out = Path(args.out_dir)
    datasets_from_files(
        args.labels,
        args.genome,
        {split: out / f"{split}.npz" for split in SPLITS},
        splits_json=out / "splits.json",
        seed=config.get("seed", 0) if args.seed is None else args.seed,
        signal_bigwigs=args.signal_bigwig,
        with_codes=not args.coordinates,
        **opts,
    )
