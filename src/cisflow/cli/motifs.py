"""``cisflow motifs``: TF-MoDISco motifs from contribution scores, matched to JASPAR, with motif hits."""

from __future__ import annotations

import argparse
from pathlib import Path

_EPILOG = """\
writes into DIR: modisco.h5 (modisco-lite format), patterns.json, patterns.meme (trimmed PWMs),
logos/<pattern>.png, jaspar_matches.tsv, truth_matches.tsv (header only without --truth), hits.tsv,
hits.bed, hits_per_region.tsv, hit_checks.tsv (seqlet recall; planted instances with --embeddings),
pwm_matches.tsv, pwm_comparison.tsv (FIMO matches of the patterns' known motifs), hits_summary.png,
motifs.html (an HTML fragment with embedded logos and plots)

hits: Fi-NeMo's sparse non-negative fit of every pattern's CWM (both strands) to each region's
scores, kept at an empirical FDR against base-shuffled regions

example:
  cisflow motifs --scores results/interpret/deepshap.npz --out-dir results/motifs/deepshap \\
      --release JASPAR2024 --taxon fungi --truth jaspar:MA0363.2
"""


def _lambda(value: str) -> float | str:
    """``--hit-lambda``: a number or ``seqlets``."""
    if value == "seqlets":
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1] or 'seqlets', got {value!r}") from None


def _merge(value: str) -> float | str | bool:
    """``--merge``: auto, a number or false."""
    if value in ("auto", "false"):
        return "auto" if value == "auto" else False
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto, a number in (0, 1] or false, got {value!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``motifs`` subcommand."""
    p = subparsers.add_parser(
        "motifs",
        help="TF-MoDISco motif discovery, TOMTOM matches to JASPAR, motif hits",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--scores", required=True, type=Path, metavar="NPZ", help="interpret npz (x, scores, hypothetical)")
    p.add_argument("--out-dir", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument("--config", metavar="YAML", help="workflow config whose 'motifs' section and seed set defaults")
    p.add_argument("--release", help="JASPAR release (default JASPAR2024)")
    p.add_argument("--taxon", help="JASPAR tax_group, e.g. fungi or vertebrates (default: all CORE matrices)")
    p.add_argument("--truth", action="append", metavar="SPEC",
                   help="known motif to match, e.g. TAL1_known4, jaspar:MA0363.3, or a MEME file (all its motifs); "
                   "repeat")  # fmt: skip
    p.add_argument("--max-seqlets", type=int, help="seqlets per metacluster at most (default 2000)")
    p.add_argument("--window", type=int, help="central window analysed by modisco in bp (default: whole length)")
    p.add_argument("--sliding-window", type=int, help="seqlet core width in bp (default 21)")
    p.add_argument("--flank", type=int, help="seqlet flank in bp (default 10)")
    p.add_argument("--n-leiden-runs", type=int, help="Leiden clustering runs (default 50)")
    p.add_argument("--min-metacluster-size", type=int, help="fewest seqlets per metacluster (100)")
    p.add_argument("--final-min-cluster-size", type=int, help="fewest seqlets per pattern (20)")
    p.add_argument("--top", type=int, help="matches kept per pattern (default 5)")
    p.add_argument("--embeddings", type=Path, metavar="TSV", help="planted instances (simulate)")
    p.add_argument("--peaks", type=Path, action="append", metavar="NARROWPEAK", help="summits to place hits by; repeat")
    lam_help = "least residual cosine of a hit, or 'seqlets' (default): per pattern from its own seqlets"
    p.add_argument("--hit-lambda", type=_lambda, help=lam_help)
    p.add_argument("--hit-fdr", type=float, help="largest empirical q-value of a hit (0.05)")
    p.add_argument("--hit-shuffles", type=int, help="shufflings of each region for the null (2)")
    p.add_argument("--hit-window", type=int, help="central window (bp) to call hits in (default: --window)")
    p.add_argument("--seqlet-tolerance", type=int, help="bp between a seqlet and its hit's start (0)")
    p.add_argument("--pwm-threshold", type=float, help="p-value of a FIMO match at most (1e-4)")
    p.add_argument(
        "--merge",
        type=_merge,
        help="merge patterns that are one signal before the hit fit: auto (the "
        "default: seqlet confusion at its null's 0.99 quantile), a seqlet confusion in (0, 1], or false",
    )
    p.add_argument("--seed", type=int, help="seed of the null shuffles (default: the config's seed, else 0)")
    p.add_argument("--comparison", type=Path, metavar="TSV", help="model comparison: warn when a baseline beat the CNN")
    p.add_argument("--device", help="torch device of the hit fit (default: cuda if available, else cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.motifs.discover_motifs` with the parsed arguments."""
    from cisflow.cli._config import load_yaml_config
    from cisflow.motifs import discover_motifs, motif_outputs
    from cisflow.motifs.pipeline import MotifsParams

    config = load_yaml_config(args.config)
    flags = {
        "release": args.release,
        "taxon": args.taxon,
        "truth": args.truth,
        "max_seqlets": args.max_seqlets,
        "window": args.window,
        "n_leiden_runs": args.n_leiden_runs,
        "top": args.top,
        "min_metacluster_size": args.min_metacluster_size,
        "final_min_cluster_size": args.final_min_cluster_size,
    }
    opts = MotifsParams.resolve(config, flags, args.config or "command line")
    hit_flags = {
        "lambda": args.hit_lambda,
        "fdr": args.hit_fdr,
        "shuffles": args.hit_shuffles,
        "window": args.hit_window,
        "seqlet_tolerance": args.seqlet_tolerance,
        "pwm_threshold": args.pwm_threshold,
        "merge": args.merge,
    }
    hits = dict(opts.hits) | {key: value for key, value in hit_flags.items() if value is not None}
    seqlets = {"sliding_window_size": args.sliding_window, "flank_size": args.flank}
    discover_motifs(
        args.scores,
        motif_outputs(args.out_dir),
        release=opts.release,
        taxon=opts.taxon,
        max_seqlets=opts.max_seqlets,
        window=opts.window,
        truth_motifs=list(opts.truth) or None,
        top=opts.top,
        embeddings_tsv=args.embeddings,
        peaks=args.peaks or (),
        hits=hits | ({"device": args.device} if args.device else {}),
        seed=config.get("seed", 0) if args.seed is None else args.seed,
        comparison_tsv=args.comparison,
        n_leiden_runs=opts.n_leiden_runs,
        min_metacluster_size=opts.min_metacluster_size,
        final_min_cluster_size=opts.final_min_cluster_size,
        target_seqlet_fdr=opts.target_seqlet_fdr,
        **{key: value for key, value in seqlets.items() if value is not None},
    )
