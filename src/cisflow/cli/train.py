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
        "reverse_complement, min_epochs, positive_repeats, chance_auroc). model.name and the budget keys "
        "(epochs, learning_rate, weight_decay, patience, reverse_complement, jitter, positive_repeats) default to "
        "'auto': chosen from the number of training positives, logged and stored in model.json. The "
        "model may start from a trained one (init_from, finetune, trunk_lr_scale, unfreeze_epoch) or with "
        "motif-seeded first-layer filters (motif_filters). Writes model.safetensors, model.json, history.tsv and "
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
    parser.add_argument(
        "--task",
        action="append",
        metavar="TASK",
        dest="tasks",
        help="train on this task only (repeat for several; default every task of the datasets)",
    )
    init = parser.add_argument_group("initialisation (override the config's model section)")
    init.add_argument("--init-from", metavar="DIR", help="trained cisflow model directory to start from")
    init.add_argument("--finetune", choices=["all", "head"], help="after --init-from: whole network or output layer")
    init.add_argument("--trunk-lr-scale", type=float, help="trunk learning rate as a fraction of the rate")
    init.add_argument("--unfreeze-epoch", type=int, help="--finetune head: first epoch the trunk trains too")
    init.add_argument("--motif-filter", action="append", metavar="SPEC",
                      help="motif seeding the first layer (jaspar:ID, an ENCODE name, or a MEME file such as cisflow "
                      "denovo's seeds.meme); repeat")  # fmt: skip
    parser.set_defaults(func=run)


def _init_overrides(args: argparse.Namespace) -> dict:
    """The initialisation keys given on the command line (:class:`cisflow.transfer.InitParams`)."""
    given = {
        "init_from": args.init_from,
        "finetune": args.finetune,
        "trunk_lr_scale": args.trunk_lr_scale,
        "unfreeze_epoch": args.unfreeze_epoch,
        "motif_filters": args.motif_filter,
    }
    return {k: v for k, v in given.items() if v is not None}


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.train.train_from_config` with the parsed arguments."""
    from cisflow.train import train_from_config, train_outputs

    outputs = train_outputs(args.out_dir)
    train_from_config(
        args.train,
        args.valid,
        args.config,
        outputs,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        init=_init_overrides(args),
        tasks=args.tasks,
    )
