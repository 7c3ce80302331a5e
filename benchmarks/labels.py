"""Benchmark genome-wide labels: hg38 primary chromosomes, 4 tasks × 50,000 random peaks, 200/50 bins.

Each mode runs in its own child process (one core: BLAS/OpenMP threads pinned to 1); the table gives
the wall time of :func:`cisflow.labels.make_labels` and of :func:`cisflow.labels.save_labels`, and the
child's own peak resident memory (``ru_maxrss`` of ``os.wait4``, i.e. getrusage of that process) (the whole
process: interpreter, numpy, pandas, peak tables and label arrays; tracemalloc would miss numpy's
allocations). Targets: make_labels ≤ 10 s and ≤ 2 GB.

Usage: ``python benchmarks/labels.py [--peaks 50000] [--tasks 4] [--relaxed 0] [--modes dream summit fraction]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = ROOT / "resources" / "genome" / "hg38.chrom.sizes"


def _random_peaks(sizes: dict[str, int], n: int, seed: int):
    """``n`` random peaks (widths 200–1000 bp, uniform over the genome), seeded."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = list(sizes)
    lengths = np.array([sizes[c] for c in names], dtype=np.int64)
    chrom = rng.choice(len(names), size=n, p=lengths / lengths.sum())
    width = rng.integers(200, 1001, n)
    start = (rng.random(n) * (lengths[chrom] - width)).astype(np.int64)
    summit = rng.integers(0, 1 << 30, n) % width
    return pd.DataFrame(
        {"chrom": np.array(names)[chrom], "start": start, "end": start + width, "summit": summit}
    ).sort_values(["chrom", "start"])


def child(args: argparse.Namespace) -> None:
    """Run one mode and print a JSON line with timings."""
    sys.path.insert(0, str(ROOT / "src"))
    from cisflow.genome import read_chrom_sizes
    from cisflow.labels import label_summary, make_labels, save_labels

    sizes = read_chrom_sizes(SIZES)
    cons = {f"T{i}": _random_peaks(sizes, args.peaks, seed=i) for i in range(args.tasks)}
    relx = {t: _random_peaks(sizes, args.relaxed, seed=100 + i) for i, t in enumerate(cons)} if args.relaxed else None
    t0 = time.perf_counter()
    labels = make_labels(cons, relx, sizes, bin_size=200, stride=50, mode=args.child)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        save_labels(labels, Path(tmp) / "labels.npz")
        t2 = time.perf_counter()
        npz_mb = (Path(tmp) / "labels.npz").stat().st_size / 1e6
    bound = int(label_summary(labels)["bound"].sum())
    print(
        json.dumps(
            {"make_s": t1 - t0, "save_s": t2 - t1, "bins": labels.n_bins_total, "bound": bound, "npz_mb": npz_mb}
        )
    )


def run_mode(mode: str, args: argparse.Namespace) -> dict:
    """Run ``mode`` in a fresh single-threaded child; add that child's own peak RSS (MB, via ``os.wait4``)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--child", mode, "--peaks", str(args.peaks), "--tasks", str(args.tasks)]
    cmd += ["--relaxed", str(args.relaxed)]
    if _has_taskset() and hasattr(os, "sched_getaffinity"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child for mode {mode} failed with status {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["max_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None


def main() -> None:
    """Parse arguments, run the modes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peaks", type=int, default=50_000, help="conservative peaks per task")
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--relaxed", type=int, default=0, help="extra relaxed peaks per task (0: none)")
    parser.add_argument("--modes", nargs="+", default=["dream", "summit", "fraction"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(f"hg38 primary chromosomes ({SIZES.name}), {args.tasks} tasks x {args.peaks} peaks, bins 200/50, 1 core")
    print(f"{'mode':<10}{'bins':>12}{'bound':>10}{'make_labels s':>15}{'save s':>9}{'npz MB':>9}{'max RSS MB':>12}")
    for mode in args.modes:
        r = run_mode(mode, args)
        print(
            f"{mode:<10}{r['bins']:>12,}{r['bound']:>10,}{r['make_s']:>15.2f}{r['save_s']:>9.2f}"
            f"{r['npz_mb']:>9.1f}{r['max_rss_mb']:>12.0f}"
        )
    print("max RSS: peak resident set of each child process (ru_maxrss from os.wait4), interpreter included")


if __name__ == "__main__":
    main()
