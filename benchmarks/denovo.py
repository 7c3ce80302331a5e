"""Benchmark: time and peak memory of de novo seed discovery (:func:`cisflow.denovo.discover_seed_motifs`).

Plants a REB1-like word and an ABF1-like gapped word in random summit windows (with background windows three
times as many, as the workflow draws them) and times the discovery at several sizes, each in a fresh process
so its peak RSS is its own; prints a table with the words found:

    python benchmarks/denovo.py [--n 1000 10000] [--window 200] [--n-motifs 8]

The workflow caps the summit windows at ``denovo_seeds.max_peaks`` (10,000 by default), so the largest row is
what a deep human experiment costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _one(n: int, window: int, n_motifs: int) -> dict:
    from cisflow.denovo import discover_seed_motifs
    from cisflow.genome import encode

    rng = np.random.default_rng(0)
    bound = rng.integers(0, 4, size=(n, window)).astype(np.uint8)
    background = rng.integers(0, 4, size=(3 * n, window)).astype(np.uint8)
    for word, fraction in (("TTACCCGG", 0.1), ("TCACNNNNNACGA", 0.08)):
        for row in np.flatnonzero(rng.random(n) < fraction):
            site = encode(word)
            site[site == 4] = rng.integers(0, 4, size=int((site == 4).sum()))
            start = rng.integers(0, window - len(site))
            bound[row, start : start + len(site)] = site
    start = time.perf_counter()
    words = discover_seed_motifs(bound, background, n_motifs=n_motifs)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": n, "seconds": seconds, "peak_rss_mb": rss, "words": [w.word for w in words]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000], help="summit windows per row")
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--n-motifs", type=int, default=8)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(_one(args.child, args.window, args.n_motifs)))
        return
    print("| summit windows | background | seconds | peak RSS MB | words found |")
    print("| --- | --- | --- | --- | --- |")
    for n in args.n:
        cmd = [sys.executable, __file__, "--child", str(n), "--window", str(args.window), "--n-motifs",
               str(args.n_motifs)]  # fmt: skip
        row = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        print(f"| {n:,} | {3 * n:,} | {row['seconds']:.1f} | {row['peak_rss_mb']:.0f} | {', '.join(row['words'])} |")


if __name__ == "__main__":
    main()
