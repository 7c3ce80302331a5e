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
        description="Score every gapped word (two halves of 4 bp, a gap of 0 to --max-gap bp, both strands as "
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
    parser.add_argument("--n-motifs", type=int, default=8, help="at most this many seeds (default 8)")
    parser.add_argument("--window", type=int, default=200, help="bp around each summit (default 200)")
    parser.add_argument("--max-peaks", type=int, default=10_000, help="at most this many summits, by signal value")
    parser.add_argument("--background-ratio", type=float, default=3.0, help="background windows per summit")
    parser.add_argument("--max-gap", type=int, default=8, help="largest gap between a word's halves (default 8)")
    parser.add_argument("--min-sites", type=int, default=10, help="summit windows a word must occur in")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the background draw")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Call :func:`cisflow.denovo.seed_sequences`, :func:`~cisflow.denovo.discover_seed_motifs` and
    :func:`~cisflow.denovo.write_seed_motifs`."""
    from cisflow.denovo import discover_seed_motifs, seed_sequences, write_seed_motifs

    peaks = _as_dict(args.peaks, "--peaks")
    bound, background = seed_sequences(peaks, args.labels, args.genome, args.splits, window=args.window,
                                       background_ratio=args.background_ratio, seed=args.seed,
                                       max_peaks=args.max_peaks)  # fmt: skip
    words = discover_seed_motifs(bound, background, n_motifs=args.n_motifs, max_gap=args.max_gap,
                                 min_sites=args.min_sites)  # fmt: skip
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_seed_motifs(words, out / "seeds.meme", out / "seeds.tsv")
    for w in words:
        print(f"{w.name}\t{w.word}\tz {w.z:.1f}\t{w.n_bound} of {len(bound)} summit windows")
