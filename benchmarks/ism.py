"""Benchmark: naive vs fast ISM (sequences/s) on DragoNN's multilayer SequenceDNN at 1000 bp.

Prints a table of seconds, sequences per second, speed-up over naive, and the largest difference
from naive ISM. Runs on CPU with one torch thread unless told otherwise:

    python benchmarks/ism.py [--length 1000] [--n-naive 2] [--n-fast 20] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cisflow.interpret.ism import _ism_full_mutants, ism, ism_fast
from cisflow.models import build_model


def _timed(fn, *args, **kwargs) -> tuple[np.ndarray, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=1000)
    ap.add_argument("--n-naive", type=int, default=2)
    ap.add_argument("--n-fast", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(
        "sequence_dnn", 1, args.length, num_filters=[15, 15, 15], conv_width=[10, 10, 10], pool_width=35
    ).eval()
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (max(args.n_naive, args.n_fast), args.length))]
    x = x.transpose(0, 2, 1).copy()
    dev = torch.device(args.device)
    naive, t_naive = _timed(ism, model, x[: args.n_naive], batch_size=512, device=dev)
    rows = [("naive (4L full forwards)", args.n_naive, t_naive, 0.0)]
    xt = torch.as_tensor(x[: args.n_naive])
    mut, t_mut = _timed(_ism_full_mutants, model.to(dev), xt, 0, 512, dev)
    mut = mut.masked_fill(xt == 1, 0).numpy()
    rows.append(("3 mutants, full forwards", args.n_naive, t_mut, np.abs(mut - naive).max()))
    fast, t_fast = _timed(ism_fast, model, x[: args.n_fast], batch_size=args.batch_size, device=dev)
    rows.append(("fast (patched windows)", args.n_fast, t_fast, np.abs(fast[: args.n_naive] - naive).max()))
    print(f"ISM on SequenceDNN(15,15,15 / 10,10,10 / pool 35), L={args.length}, device={dev}, threads={args.threads}")
    print(f"{'method':<28}{'seqs':>6}{'seconds':>10}{'seq/s':>10}{'speed-up':>10}{'max|d|':>11}")
    base = args.n_naive / t_naive
    for name, n, t, diff in rows:
        print(f"{name:<28}{n:>6}{t:>10.2f}{n / t:>10.3f}{n / t / base:>10.1f}{diff:>11.2e}")


if __name__ == "__main__":
    main()
