"""``cisflow baselines``, ``compare-models``, ``dream-score`` and ``dream-predict`` (the ENCODE-DREAM files)."""

from __future__ import annotations

import argparse

from cisflow.metrics import DEFAULT_FDRS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``baselines``, ``compare-models``, ``dream-score`` and ``dream-predict`` subcommands."""
    _register_baselines(subparsers)
    _register_compare(subparsers)
    _register_dream(subparsers)
    _register_dream_predict(subparsers)


def _register_compare(subparsers: argparse._SubParsersAction) -> None:
    """Add ``compare-models``."""
    parser = subparsers.add_parser(
        "compare-models",
        help="table and overlaid ROC/PR curves of several evaluated models",
        description="Put models evaluated on the same test set side by side: one TSV row per model and task "
        "(auROC, auPRC, recall at FDR) and a PNG with their ROC and PR curves overlaid per task. Each model is an "
        "evaluation directory holding metrics.json and predictions.npz (cisflow evaluate / cisflow baselines).",
    )
    parser.add_argument(
        "--model", action="append", required=True, metavar="NAME=DIR", help="a model and its evaluation directory"
    )
    parser.add_argument("--table", required=True, metavar="TSV", help="output comparison table")
    parser.add_argument("--curves", metavar="PNG", help="output figure of overlaid curves")
    parser.set_defaults(func=run_compare)


def _register_baselines(subparsers: argparse._SubParsersAction) -> None:
    """Add ``baselines``."""
    parser = subparsers.add_parser(
        "baselines",
        help="evaluate a PWM-scan and a k-mer logistic-regression baseline",
        description="Score the test set with the best log-odds match of a known motif (PWM baseline, nothing "
        "fitted) and with a logistic regression on canonical k-mer counts fitted on the training set (one model "
        "per task). Writes OUT_DIR/pwm/ and OUT_DIR/kmer/ (metrics.json, metrics.tsv, predictions.npz, curves.png) "
        "and OUT_DIR/baselines.tsv (one row per baseline and task).",
    )
    parser.add_argument("--train", required=True, metavar="NPZ", help="training dataset npz")
    parser.add_argument("--valid", required=True, metavar="NPZ", help="validation dataset npz (picks C if several)")
    parser.add_argument("--test", required=True, metavar="NPZ", help="test dataset npz")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--motif",
        action="append",
        metavar="[TASK=]SPEC",
        help="motif for the PWM baseline, e.g. jaspar:MA0363.2 (every task) or REB1=jaspar:MA0363.2; "
        "repeat for several tasks (default: no PWM baseline)",
    )
    parser.add_argument("--config", metavar="YAML", help="workflow config whose 'baselines' section sets the defaults")
    parser.add_argument("--k", type=int, help="k-mer length (default: 6)")
    parser.add_argument(
        "--C",
        type=float,
        action="append",
        metavar="C",
        help="inverse L2 strength; repeat to choose on valid (default: 0.1 and 1)",
    )
    parser.add_argument("--kmer", action=argparse.BooleanOptionalAction, help="the k-mer baseline (default: yes)")
    parser.add_argument(
        "--gkm", action="store_true", help="also fit a gapped k-mer SVM (l=8, k=5, central 200 bp; OUT_DIR/gkm/)"
    )
    parser.add_argument("--seed", type=int, help="solver seed (default: the config's seed, else 0)")
    parser.add_argument(
        "--genome", metavar="CODES", help="genome code cache (or FASTA) coordinate datasets' windows are made from"
    )
    parser.add_argument("--max-train", type=int, help="train on at most this many rows (stratified; default 50000)")
    parser.add_argument(
        "--fdr",
        type=float,
        action="append",
        metavar="F",
        help=f"FDR for a recall-at-FDR metric; repeat for several (default: {' '.join(map(str, DEFAULT_FDRS))})",
    )
    parser.set_defaults(func=run)


def _register_dream(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dream-score``."""
    parser = subparsers.add_parser(
        "dream-score",
        help="score a DREAM submission TSV against DREAM labels",
        description="Check that a submission (chr start stop prob, gzipped, no header) has exactly the label "
        "bins, then score it as the ENCODE-DREAM challenge did: ambiguous bins dropped, auROC, auPRC (Davis-Goadrich "
        "interpolation), recall at 5/10/25/50% FDR on the full set and on the challenge's stratified subsamples "
        "(each leaving out one of ten contiguous blocks per class).",
    )
    parser.add_argument("--labels", required=True, metavar="TSV", help="DREAM label TSV (chr start stop TASK...)")
    parser.add_argument("--submission", required=True, metavar="TSV", help="submission TSV(.gz)")
    parser.add_argument("--task", required=True, help="label column to score")
    parser.add_argument(
        "--chrom", action="append", metavar="CHR", help="held-out chromosome to score; repeat (default: all)"
    )
    parser.add_argument("--subsamples", type=int, default=10, help="stratified subsamples (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="unused by the challenge's contiguous folds (default: 0)")
    parser.add_argument("--out", metavar="TSV", help="write full and subsample scores to this TSV")
    parser.set_defaults(func=run_dream)


def _register_dream_predict(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dream-predict",
        help="score a challenge region list with a trained model; write <round>.<TF>.<CELL>.tab.gz submissions",
        description="Score every region of an ENCODE-DREAM region list (chr start stop; e.g. "
        "test_regions.blacklistfiltered.bed.gz) on the window centred on it and write one submission per task "
        "(tasks <TF>.<CELL>) under the challenge's file name, rows in the region list's order.",
    )
    parser.add_argument("--model", required=True, metavar="DIR", help="trained cisflow model (folder or model.json)")
    parser.add_argument("--fasta", required=True, metavar="FASTA", help="the genome of the regions")
    parser.add_argument("--regions", required=True, metavar="BED", help="challenge region list")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="folder for the submissions")
    parser.add_argument("--round", choices=["F", "L", "B"], default="F", help="challenge round letter (default: F)")
    parser.add_argument("--batch-size", type=int, default=256, help="prediction batch (default: 256)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: GPU if present)")
    parser.add_argument("--task", action="append", metavar="TF.CELL",
                        help="task to write; repeat (default: the model's tasks); a cell type the model was not "
                        "trained on is predicted by the TF's trained output(s)")  # fmt: skip
    parser.set_defaults(func=run_dream_predict)


def run_dream_predict(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.dream_predict.predict_regions` and print the files written."""
    from cisflow.dream_predict import predict_regions

    paths = predict_regions(args.model, args.fasta, args.regions, args.out_dir, round=args.round,
                            batch_size=args.batch_size, device=args.device, tasks=args.task)  # fmt: skip
    print("\n".join(str(p) for p in paths.values()))


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.baselines.run_baselines` with the parsed arguments."""
    from cisflow.baselines.pipeline import BaselinesParams, baseline_outputs, run_baselines
    from cisflow.cli._config import load_yaml_config
    from cisflow.evaluate.pipeline import EvaluateParams

    config, source = load_yaml_config(args.config), args.config or "command line"
    flags = {"motifs": args.motif, "k": args.k, "C": args.C, "kmer": args.kmer, "max_train": args.max_train}
    opts = BaselinesParams.resolve(config, flags, source)
    fdrs = EvaluateParams.resolve(config, {"fdrs": args.fdr}, source).fdrs
    run_baselines(
        args.train,
        args.valid,
        args.test,
        baseline_outputs(args.out_dir),
        motif_specs=list(opts.motifs) or None,
        k=opts.k,
        C=list(opts.C),
        seed=config.get("seed", 0) if args.seed is None else args.seed,
        fdrs=fdrs,
        kmer=opts.kmer,
        gkm=opts.gkm | {"enabled": True} if args.gkm else opts.gkm,
        genome=args.genome,
        max_train=opts.max_train,
    )


def run_dream(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.dream.score_submission` and print the full-data scores as one line."""
    from cisflow.dream import score_submission

    result = score_submission(
        args.labels, args.submission, args.task, args.chrom, args.subsamples, args.seed, out_tsv=args.out
    )
    print("\t".join(f"{key}={value:.4g}" for key, value in result["full"].items()))


def run_compare(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.evaluate.compare.compare_metrics_files` and :func:`.plot_model_comparison`."""
    from pathlib import Path

    from cisflow.errors import CisflowError
    from cisflow.evaluate.compare import compare_metrics_files, plot_model_comparison
    from cisflow.evaluate.pipeline import evaluation_outputs

    dirs = {}
    for item in args.model:
        name, sep, directory = item.partition("=")
        if not sep or not name or not directory:
            raise CisflowError(f"--model takes NAME=DIR; got {item!r}")
        dirs[name] = Path(directory)
    files = {n: evaluation_outputs(d) for n, d in dirs.items()}
    missing = [str(f["metrics"]) for f in files.values() if not f["metrics"].is_file()]
    if missing:
        raise CisflowError("no metrics.json (run cisflow evaluate / baselines first)", missing[0])
    compare_metrics_files({n: f["metrics"] for n, f in files.items()}, args.table)
    if args.curves:
        plot_model_comparison({n: f["predictions"] for n, f in files.items()}, args.curves)
