"""``cisflow denovo``: de novo seed motifs (enriched gapped words of the training peaks) for motif-seeded filters."""

from __future__ import annotations

import argparse
from pathlib import Path

from cisflow.cli.labels import _as_dict, _task_path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``denovo`` subcommand."""
    parser = subparsers.add_parser(
        "denovo",
        help="find de novo seed motifs in the training peaks (for motif_filters / train --motif-filter)",
        description="Score every gapped word (two halves of --half bp, a gap of 0 to --max-gap bp, both strands as "
        "one) by how much more often the training peaks' summit windows hold it than GC-matched unbound windows "
        "(two-proportion z), grow the best into a PWM from its sites, erase its sites and repeat (cisflow.denovo). "
        "Only the training split recorded in --splits is read. Writes seeds.meme (give it to 'cisflow train "
        "--motif-filter' or a motif_filters list) and seeds.tsv to --out-dir.",
    )
    parser.add_argument("--peaks", type=_task_path, action="append", required=True, metavar="TASK=PEAKS",
                        help="a task's bound peak set (narrowPeak with summits); repeat per task")  # fmt: skip
    parser.add_argument("--labels", required=True, metavar="NPZ", help="labels npz (cisflow labels)")
    parser.add_argument("--genome", required=True, metavar="FASTA", help="genome FASTA or code cache")
    parser.add_argument("--splits", required=True, metavar="JSON", help="splits.json (cisflow splits)")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--config", metavar="YAML", help="workflow config whose 'denovo_seeds' section and seed "
                        "set the defaults")  # fmt: skip
    parser.add_argument("--n-motifs", type=int, help="at most this many seeds (default 8)")
    parser.add_argument("--window", type=int, help="bp around each summit (default 200)")
    parser.add_argument("--max-peaks", type=int, help="at most this many summits, by signal value (default 10000)")
    parser.add_argument("--background-ratio", type=float, help="background windows per summit (default 3)")
    parser.add_argument("--half", type=int, help="fixed bases in each half of a word (default 4)")
    parser.add_argument("--max-gap", type=int, help="largest gap between a word's halves (default 8)")
    parser.add_argument("--flank", type=int, help="bases either side of a word's sites in its PWM (default 4)")
    parser.add_argument("--min-sites", type=int, help="summit windows a word must occur in (default 10)")
    parser.add_argument("--min-z", type=float, help="stop below this z (default: the Bonferroni bound at --alpha)")
    parser.add_argument("--alpha", type=float, help="family-wise error rate of the default --min-z (default 0.05)")
    parser.add_argument("--seed", type=int, help="random seed of the background draw (default: the config's, else 1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.denovo.find_seed_motifs` with the ``denovo_seeds`` parameters (defaults, then the
    ``--config`` YAML's section, then the flags given)."""
    from cisflow.cli._config import load_yaml_config
    from cisflow.denovo import DenovoParams, find_seed_motifs

    config = load_yaml_config(args.config)
    names = ("n_motifs", "window", "max_peaks", "background_ratio", "half", "max_gap", "flank", "min_sites",
             "min_z", "alpha")  # fmt: skip
    opts = DenovoParams.resolve(config, {n: getattr(args, n) for n in names}, args.config or "command line")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed = config.get("seed", 1) if args.seed is None else args.seed
    words = find_seed_motifs(_as_dict(args.peaks, "--peaks"), args.labels, args.genome, args.splits,
                             out / "seeds.meme", out / "seeds.tsv", seed=seed, **opts.as_dict())  # fmt: skip
    for w in words:
        print(f"{w.name}\t{w.word}\tz {w.z:.1f}\t{w.n_bound} summit windows")
