"""``cisflow evaluate``: metrics, predictions and curves of a trained model on a test set."""

from __future__ import annotations

import argparse

from cisflow.metrics import DEFAULT_FDRS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained model on a test dataset",
        description="Predict a test dataset npz with a saved model and write metrics.json, metrics.tsv "
        "(auROC, auPRC, balanced accuracy, recall at FDRs; one row per task), predictions.npz and curves.png.",
    )
    parser.add_argument("--model", required=True, metavar="PATH", help="model directory or its model.json")
    parser.add_argument("--test", required=True, metavar="NPZ", help="test dataset npz (windows, labels, tasks)")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--fdr",
        type=float,
        action="append",
        metavar="F",
        help=f"FDR for a recall-at-FDR metric; repeat for several (default: {' '.join(map(str, DEFAULT_FDRS))})",
    )
    parser.add_argument("--config", metavar="YAML", help="workflow config whose 'evaluate' section sets the defaults")
    parser.add_argument("--batch-size", type=int, help="prediction batch size (default: 256)")
    parser.add_argument(
        "--rc-average",
        action=argparse.BooleanOptionalAction,
        help="score each window as the mean of its two strands' probabilities (default: yes)",
    )
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    parser.add_argument(
        "--genome", metavar="CODES", help="genome code cache (or FASTA) a coordinate test set's windows are made from"
    )
    parser.add_argument("--signal-bigwig", action="append", default=[], metavar="BW", help="a signal channel's bigWig")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.evaluate.evaluate_model` with the parsed arguments."""
    from cisflow.cli._config import load_yaml_config
    from cisflow.evaluate.pipeline import EvaluateParams, evaluate_model, evaluation_outputs

    flags = {"fdrs": args.fdr, "batch_size": args.batch_size, "reverse_complement_average": args.rc_average}
    opts = EvaluateParams.resolve(load_yaml_config(args.config), flags, args.config or "command line")
    evaluate_model(
        args.model,
        args.test,
        evaluation_outputs(args.out_dir),
        fdrs=opts.fdrs,
        batch_size=opts.batch_size,
        device=args.device,
        reverse_complement_average=opts.reverse_complement_average,
        genome=args.genome,
        signal_bigwigs=args.signal_bigwig,
    )
