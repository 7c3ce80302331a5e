"""``cisflow simulate``: simulated sequences with embedded motifs and their ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from cisflow.simulate import BACKGROUNDS, KINDS, run_simulation
from cisflow.splits import SPLITS

_EPILOG = """\
kinds and the options they take:
  single_motif_detection   one motif; positives hold one instance, negatives none
  density_localization     one motif; --center --min-motifs --max-motifs (150, 2, 4)
  multi_motif_embedding    several motifs, one task each; --min-motifs --max-motifs (1, all)
  heterodimer_grammar      two motifs; --spacing MIN MAX (2 10); negatives hold both at random
  motif_counting           one motif; --pos-counts MIN MAX (3 5) vs --neg-counts MIN MAX (0 2)

motifs: ENCODE names (TAL1_known4) from the bundled ENCODE collection, or jaspar:MA0363.2
(offline, JASPAR2024), or jaspar:JASPAR2022:MA0363.2.
writes DIR/sequences.fa.gz, labels.tsv, embeddings.tsv, params.json, train.npz, valid.npz, test.npz

example:
  cisflow simulate --kind density_localization --motif TAL1_known4 --length 1000 \\
      --num-pos 3000 --num-neg 3000 --gc 0.4 --seed 1 --out-dir results/simulate/density
"""

# kind-specific options, passed to simulate() only when given (so a wrong one is reported)
_KIND_OPTIONS = ("center", "min_motifs", "max_motifs", "spacing", "pos_counts", "neg_counts")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate",
        help="simulate sequences with embedded motifs (DragoNN-style tasks)",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--kind", required=True, choices=list(KINDS), metavar="KIND", help="simulation kind (see below)")
    p.add_argument("--motif", dest="motifs", action="append", required=True, help="motif spec (repeat for several)")
    p.add_argument("--length", type=int, default=1000, help="sequence length in bp (default 1000)")
    p.add_argument("--num-pos", type=int, default=3000, help="positive sequences (default 3000)")
    p.add_argument("--num-neg", type=int, default=3000, help="negative sequences (default 3000)")
    p.add_argument("--gc", type=float, default=0.4, help="background GC fraction (default 0.4)")
    p.add_argument("--background", choices=BACKGROUNDS, default="zero_order", help="background model")
    p.add_argument(
        "--background-fasta", type=Path, metavar="FASTA", help="dinucleotide frequencies for --background dinucleotide"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--center", type=int, help="central window width in bp (density_localization)")
    p.add_argument("--min-motifs", type=int, help="fewest motif instances / motifs per positive")
    p.add_argument("--max-motifs", type=int, help="most motif instances / motifs per positive")
    p.add_argument("--spacing", type=int, nargs=2, metavar=("MIN", "MAX"), help="gap range in bp (heterodimer)")
    p.add_argument("--pos-counts", type=int, nargs=2, metavar=("MIN", "MAX"), help="instances in positives (counting)")
    p.add_argument("--neg-counts", type=int, nargs=2, metavar=("MIN", "MAX"), help="instances in negatives (counting)")
    p.add_argument("--valid-fraction", type=float, default=0.1, help="validation fraction (default 0.1)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="test fraction (default 0.2)")
    p.add_argument("--out-dir", type=Path, required=True, help="output directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Simulate and write every output into ``--out-dir``."""
    out = args.out_dir
    outputs = {"fasta": out / "sequences.fa.gz", "labels": out / "labels.tsv", "embeddings": out / "embeddings.tsv"}
    outputs |= {s: out / f"{s}.npz" for s in SPLITS} | {"params": out / "params.json"}
    params = {opt: getattr(args, opt) for opt in _KIND_OPTIONS if getattr(args, opt) is not None}
    run_simulation(
        outputs,
        args.kind,
        args.motifs,
        valid_fraction=args.valid_fraction,
        test_fraction=args.test_fraction,
        length=args.length,
        num_pos=args.num_pos,
        num_neg=args.num_neg,
        gc_fraction=args.gc,
        background=args.background,
        seed=args.seed,
        background_fasta=args.background_fasta,
        **params,
    )
