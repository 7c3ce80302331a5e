"""``cisflow simulate``: simulated sequences with embedded motifs and their ground truth."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cisflow.cli._config import load_yaml_config
from cisflow.errors import CisflowError
from cisflow.simulate import BACKGROUNDS, KINDS, SimulationParams, run_simulation
from cisflow.splits import SPLITS

log = logging.getLogger(__name__)

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
  cisflow simulate --kind density_localization --motif TAL1_known4 --input-length 1000 \\
      --num-pos 3000 --num-neg 3000 --gc 0.4 --seed 1 --out-dir results/simulate/density
"""

# kind-specific options, passed to simulate() only when given (so a wrong one is reported)
_KIND_OPTIONS = ("center", "min_motifs", "max_motifs", "spacing", "pos_counts", "neg_counts")
_GENERIC_OPTIONS = ("input_length", "num_pos", "num_neg", "background", "valid_fraction", "test_fraction")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate",
        help="simulate sequences with embedded motifs (DragoNN-style tasks)",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", metavar="YAML", help="workflow config whose 'simulation' section and seed set defaults")
    p.add_argument("--kind", choices=list(KINDS), metavar="KIND", help="simulation kind (see below; or the config's)")
    p.add_argument("--motif", dest="motifs", action="append", help="motif spec (repeat for several; or the config's)")
    p.add_argument("--input-length", type=int, help="sequence length in bp, the model's input length (default 1000)")
    p.add_argument("--length", type=int, dest="old_length", help=argparse.SUPPRESS)  # the old name, with a warning
    p.add_argument("--num-pos", type=int, help="positive sequences (default 3000)")
    p.add_argument("--num-neg", type=int, help="negative sequences (default 3000)")
    p.add_argument("--gc", type=float, help="background GC fraction (default 0.4)")
    p.add_argument("--background", choices=BACKGROUNDS, help="background model (default zero_order)")
    p.add_argument(
        "--background-fasta", type=Path, metavar="FASTA", help="dinucleotide frequencies for --background dinucleotide"
    )
    p.add_argument("--seed", type=int, help="random seed (default: the config's seed, else 0)")
    p.add_argument("--center", type=int, help="central window width in bp (density_localization)")
    p.add_argument("--min-motifs", type=int, help="fewest motif instances / motifs per positive")
    p.add_argument("--max-motifs", type=int, help="most motif instances / motifs per positive")
    p.add_argument("--spacing", type=int, nargs=2, metavar=("MIN", "MAX"), help="gap range in bp (heterodimer)")
    p.add_argument("--pos-counts", type=int, nargs=2, metavar=("MIN", "MAX"), help="instances in positives (counting)")
    p.add_argument("--neg-counts", type=int, nargs=2, metavar=("MIN", "MAX"), help="instances in negatives (counting)")
    p.add_argument("--valid-fraction", type=float, help="validation fraction (default 0.15)")
    p.add_argument("--test-fraction", type=float, help="test fraction (default 0.15)")
    p.add_argument("--out-dir", type=Path, required=True, help="output directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Simulate and write every output into ``--out-dir``."""
    out = args.out_dir
    outputs = {"fasta": out / "sequences.fa.gz", "labels": out / "labels.tsv", "embeddings": out / "embeddings.tsv"}
    outputs |= {s: out / f"{s}.npz" for s in SPLITS} | {"params": out / "params.json"}
    config = load_yaml_config(args.config)
    if args.old_length is not None:
        log.warning("cisflow simulate: --length is deprecated, use --input-length")
        args.input_length = args.old_length if args.input_length is None else args.input_length
    flags = {opt: getattr(args, opt) for opt in ("kind", "motifs", *_KIND_OPTIONS, *_GENERIC_OPTIONS)}
    opts = SimulationParams.resolve(config, flags | {"gc_fraction": args.gc}, args.config or "command line")
    if opts.kind is None or not opts.motifs:
        raise CisflowError("give --kind and --motif (or a --config with simulation.kind and simulation.motifs)")
    kind_args = {opt: getattr(opts, opt) for opt in _KIND_OPTIONS if getattr(opts, opt) is not None}
    run_simulation(
        outputs,
        opts.kind,
        list(opts.motifs),
        seed=config.get("seed", 0) if args.seed is None else args.seed,
        background_fasta=args.background_fasta,
        **{opt: getattr(opts, opt) for opt in ("gc_fraction", *_GENERIC_OPTIONS)},
        **kind_args,
    )
