"""``cisflow interpret``: contribution scores (ISM, gradient × input, DeepSHAP) of a trained model."""

from __future__ import annotations

import argparse

METHOD_CHOICES = ("ism", "grad_x_input", "deepshap")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``interpret`` subcommand."""
    parser = subparsers.add_parser(
        "interpret",
        help="contribution scores of a trained model on a dataset",
        description="Score sequences of a dataset npz with a saved model and write OUT_DIR/{method}.npz "
        "(x, scores, hypothetical, ids: modisco-lite's input); with --embeddings also positional_prc.tsv "
        "(auPRC of scores at simulated motif positions), with --motif also filters.tsv and filter_logos.png "
        "(first-layer filters matched to known motifs).",
    )
    parser.add_argument("--model", required=True, metavar="PATH", help="model directory or its model.json")
    parser.add_argument("--data", required=True, metavar="NPZ", help="dataset npz (codes, labels, tasks, ids)")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--method",
        action="append",
        choices=METHOD_CHOICES,
        help="method; repeat for several (default: ism and grad_x_input)",
    )
    parser.add_argument("--config", metavar="YAML", help="workflow config whose 'interpret' section sets the defaults")
    parser.add_argument("--task", help="task index or name (default: 0)")
    parser.add_argument("--max-sequences", type=int, help="sequences scored at most (default: 200)")
    parser.add_argument(
        "--all-sequences", action="store_true", help="score negatives too (default: positives of the task only)"
    )
    parser.add_argument("--embeddings", metavar="TSV", help="simulation embeddings (seq_id motif start end strand)")
    parser.add_argument(
        "--motif", action="append", metavar="SPEC", help="known motif, e.g. TAL1_known4 or jaspar:MA0363.2; repeatable"
    )
    parser.add_argument("--n-references", type=int, help="DeepSHAP shuffled references (default: 20)")
    parser.add_argument(
        "--precision",
        choices=("float32", "float64"),
        help="DeepSHAP arithmetic (default: float32; float64 is ~4x slower on CPUs)",
    )
    parser.add_argument(
        "--seed", type=int, help="seed for sequence choice and shuffles (default: the config's seed, else 0)"
    )
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    parser.add_argument(
        "--genome", metavar="CODES", help="genome code cache (or FASTA) coordinate datasets' windows are made from"
    )
    parser.add_argument("--signal-bigwig", action="append", default=[], metavar="BW", help="a signal channel's bigWig")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.interpret.interpret_model` with the parsed arguments."""
    from cisflow.cli._config import load_yaml_config
    from cisflow.interpret import interpret_model, interpret_outputs
    from cisflow.interpret.pipeline import InterpretParams

    config = load_yaml_config(args.config)
    task = int(args.task) if args.task is not None and args.task.isdigit() else args.task
    flags = {"methods": args.method, "task": task, "max_sequences": args.max_sequences,
             "deepshap_references": args.n_references, "deepshap_precision": args.precision}  # fmt: skip
    opts = InterpretParams.resolve(config, flags, args.config or "command line")
    motifs = args.motif or list(config.get("simulation", {}).get("motifs", [])) or None
    interpret_model(
        args.model,
        args.data,
        interpret_outputs(args.out_dir, opts.methods, positional_prc=bool(args.embeddings), filters=bool(motifs)),
        methods=list(opts.methods),
        task=opts.task,
        max_sequences=opts.max_sequences,
        positives_only=not args.all_sequences,
        embeddings_tsv=args.embeddings,
        motifs=motifs,
        seed=config.get("seed", 0) if args.seed is None else args.seed,
        n_references=opts.deepshap_references,
        device=args.device,
        precision=opts.deepshap_precision,
        genome=args.genome,
        signal_bigwigs=args.signal_bigwig,
    )
