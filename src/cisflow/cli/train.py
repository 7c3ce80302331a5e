"""``cisflow train``: train a model on dataset npz files, early-stopped on the validation set."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train a sequence model on train/valid dataset npz files",
        description="Train the model named in the config's 'model' section (name, params) with its 'train' "
        "section (epochs, batch_size, learning_rate, weight_decay, patience, monitor, class_weights, "
        "reverse_complement, min_epochs). Writes model.safetensors, model.json, history.tsv and "
        "learning_curve.png to --out-dir, checkpointing every epoch to checkpoint.pt; rerunning after an "
        "interruption resumes from it.",
    )
    parser.add_argument("--train", required=True, metavar="NPZ", help="training dataset npz (codes, labels, tasks)")
    parser.add_argument("--valid", required=True, metavar="NPZ", help="validation dataset npz")
    parser.add_argument("--config", required=True, metavar="YAML", help="config with 'model', 'train' and 'seed'")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the config's seed, else 0)")
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cuda if available)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.train.train_from_config` with the parsed arguments."""
    from cisflow.train import train_from_config, train_outputs

    outputs = train_outputs(args.out_dir)
    train_from_config(
        args.train, args.valid, args.config, outputs, seed=args.seed, device=args.device, threads=args.threads
    )
