"""``cisflow motifs``: TF-MoDISco motifs from contribution scores, matched to JASPAR, with motif hits."""

from __future__ import annotations

import argparse
from pathlib import Path

_EPILOG = """\
writes into DIR: modisco.h5 (modisco-lite format), patterns.json, patterns.meme (trimmed PWMs),
logos/<pattern>.png, jaspar_matches.tsv, truth_matches.tsv (header only without --truth), hits.tsv,
hits.bed, hits_per_region.tsv, motifs.html (an HTML fragment with embedded logos)

example:
  cisflow motifs --scores results/interpret/deepshap.npz --out-dir results/motifs/deepshap \\
      --release JASPAR2024 --taxon fungi --truth jaspar:MA0363.2
"""


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
    p.add_argument("--release", default="JASPAR2024", help="JASPAR release (default JASPAR2024)")
    p.add_argument("--taxon", help="JASPAR tax_group, e.g. fungi or vertebrates (default: all CORE matrices)")
    p.add_argument("--truth", action="append", metavar="SPEC", help="known motif to match, e.g. TAL1_known4; repeat")
    p.add_argument("--max-seqlets", type=int, default=2000, help="seqlets per metacluster at most (default 2000)")
    p.add_argument("--window", type=int, help="central window analysed by modisco in bp (default: whole length)")
    p.add_argument("--sliding-window", type=int, default=21, help="seqlet core width in bp (default 21)")
    p.add_argument("--flank", type=int, default=10, help="seqlet flank in bp (default 10)")
    p.add_argument("--n-leiden-runs", type=int, default=50, help="Leiden clustering runs (default 50)")
    p.add_argument("--min-metacluster-size", type=int, default=100, help="fewest seqlets per metacluster (100)")
    p.add_argument("--final-min-cluster-size", type=int, default=20, help="fewest seqlets per pattern (20)")
    p.add_argument("--top", type=int, default=5, help="matches kept per pattern (default 5)")
    p.add_argument("--min-similarity", type=float, default=0.7, help="hit cosine to the CWM at least (0.7)")
    p.add_argument("--min-mass", type=float, default=0.3, help="hit contribution / CWM contribution at least (0.3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.motifs.discover_motifs` with the parsed arguments."""
    from cisflow.motifs import discover_motifs

    discover_motifs(
        args.scores,
        args.out_dir,
        release=args.release,
        taxon=args.taxon,
        max_seqlets=args.max_seqlets,
        window=args.window,
        truth_motifs=args.truth,
        top=args.top,
        min_similarity=args.min_similarity,
        min_mass=args.min_mass,
        sliding_window_size=args.sliding_window,
        flank_size=args.flank,
        n_leiden_runs=args.n_leiden_runs,
        min_metacluster_size=args.min_metacluster_size,
        final_min_cluster_size=args.final_min_cluster_size,
    )
