"""Benchmark the streaming genome loader (:class:`cisflow.loader.GenomeBatches`) on the yeast genome.

(a) One-hot batches per second: 1000 bp windows around random bins of sacCer3 (200 bp bins, stride 50,
    ~5 % bound in each of 2 tasks, negative ratio 1, jitter 20, random reverse complement), batch 128,
    one core (``torch.set_num_threads(1)``). Target ≥ 20,000 sequences/s.
(b) Training throughput of DragoNN's SequenceDNN (filters 15-15-15, widths 10-10-10, pool 35) on batches
    from the loader vs on pre-materialised one-hot tensors already in memory (on ``--device``); the
    loader's cost is ``1 - loader / in-memory`` (target < 10 %).
(c) With ``--candidates-bins N`` instead: the memory the loader's training candidates hold per bin
    (``tracemalloc``), on made-up labels of N bins (4 chromosomes, 2 tasks, 2 % bound, 90 % kept).
(d) With ``--signal-bases N`` instead: the resident memory of a loader with one signal bigWig on a random
    chromosome of N bases (1 % of bins bound), after building it and after 22 batches of 256, and its peak
    (``/proc/self/status`` sampled every 5 ms).

Usage: ``python benchmarks/loader.py [--device cpu|cuda] [--batches 200] [--train-batches 30] [--prefetch 2]``
or ``python benchmarks/loader.py --candidates-bins 20000000`` or ``--signal-bases 100000000``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FASTA = ROOT / "resources" / "yeast" / "sacCer3.fa.gz"


def _labels(genome, seed: int = 0, bin_size: int = 200, stride: int = 50, frac: float = 0.05):
    """Random 2-task labels on every chromosome of ``genome`` (~``frac`` bound per task)."""
    import numpy as np

    from cisflow.labels import Labels, n_bins

    rng = np.random.default_rng(seed)
    labels, keep = {}, {}
    for c, size in genome.sizes.items():
        nb = n_bins(size, bin_size, stride)
        labels[c] = (rng.random((nb, 2)) < frac).astype(np.int8)
        keep[c] = np.ones(nb, bool)
    return Labels(["t1", "t2"], bin_size, stride, dict(genome.sizes), labels, keep)


def bench_batches(loader, n_batches: int) -> dict[str, float]:
    """Sequences/s of the loader's ``(x, y)`` batches (one-hot built per batch), first ``n_batches`` of an epoch."""
    loader.set_epoch(1)
    t0 = time.perf_counter()
    plan = loader.epoch_plan()
    t_plan = time.perf_counter() - t0
    n, it = 0, iter(loader)
    t0 = time.perf_counter()
    for _ in range(n_batches):
        x, _ = next(it)
        n += x.shape[0]
    seconds = time.perf_counter() - t0
    return {"seq_per_s": n / seconds, "epoch_plan_s": t_plan, "epoch_size": float(plan["rows"].size)}


def bench_candidates(n_bins: int) -> None:
    """Print (c): bytes per candidate held by the loader's candidates, and the peak while building them."""
    import tracemalloc

    import numpy as np

    from cisflow.labels import Labels
    from cisflow.loader import _Candidates

    rng, chroms, per = np.random.default_rng(0), [f"chr{i}" for i in range(1, 5)], n_bins // 4
    lab = {c: np.where(rng.random((per, 2)) < 0.02, 1, 0).astype(np.int8) for c in chroms}
    keep = {c: rng.random(per) < 0.9 for c in chroms}
    labels = Labels(["a", "b"], 200, 50, {c: per * 50 + 150 for c in chroms}, lab, keep)
    tracemalloc.start()
    cand = _Candidates(labels, chroms, [0, 1])
    held, peak = tracemalloc.get_traced_memory()
    rows = cand.labels.shape[0]
    print(f"(c) {4 * per:,} bins, {rows:,} training candidates: held {held / 2**20:,.0f} MB "
          f"({held / rows:.2f} B per candidate), peak while building {peak / 2**20:,.0f} MB")  # fmt: skip


def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) / 1024


def bench_signal(n_bases: int, directory: Path) -> None:
    """Print (d): resident memory of GenomeBatches with one signal bigWig on a chromosome of ``n_bases``."""
    import tempfile
    import threading

    import numpy as np
    import pyBigWig

    from cisflow.genome import Genome
    from cisflow.labels import Labels
    from cisflow.loader import GenomeBatches

    rng, step = np.random.default_rng(0), 50
    path = Path(tempfile.mkdtemp(dir=directory)) / "signal.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", n_bases)])
    bw.addEntries("chr1", 0, values=(rng.random(n_bases // step) * 20).tolist(), span=step, step=step)
    bw.close()
    genome = Genome({"chr1": rng.integers(0, 4, n_bases).astype(np.uint8)})
    nb = (n_bases - 200) // 50 + 1
    bound = {"chr1": (rng.random((nb, 1)) < 0.01).astype(np.int8)}
    labels = Labels(["t"], 200, 50, {"chr1": n_bases}, bound, {"chr1": np.ones(nb, bool)})
    peak, base = [0.0], _rss_mb()

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.005)

    threading.Thread(target=sample, daemon=True).start()
    loader = GenomeBatches(genome, labels, ["chr1"], 1000, 256, seed=0, signal_bigwigs=[path])
    built = _rss_mb() - base
    for _, _batch in zip(range(22), loader, strict=False):
        pass
    after, top = _rss_mb() - base, peak[0] - base
    print(f"(d) {n_bases:,} bp, one signal track: loader built +{built:,.0f} MB, after 22 batches of 256 "
          f"+{after:,.0f} MB, peak +{top:,.0f} MB (its genome codes: {n_bases / 2**20:,.0f} MB)")  # fmt: skip
    path.unlink()
    path.parent.rmdir()


def _model(device):
    from cisflow.models import build_model

    params = {"num_filters": [15, 15, 15], "conv_width": [10, 10, 10], "pool_width": 35}
    return build_model("sequence_dnn", 2, 1000, **params).to(device)


def bench_training(loader, device, n_batches: int, rounds: int = 3) -> dict[str, float]:
    """Training sequences/s on loader batches vs on pre-materialised in-memory tensors (same sizes)."""
    import torch

    from cisflow.train import masked_bce_loss

    loader.set_epoch(2)
    it = iter(loader)
    cached = [tuple(t.to(device) for t in next(it)) for _ in range(n_batches)]
    model = _model(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = masked_bce_loss(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def in_memory() -> float:
        t0 = time.perf_counter()
        for x, y in cached:
            step(x, y)
        sync()
        return sum(len(y) for _, y in cached) / (time.perf_counter() - t0)

    def streamed(epoch: int) -> float:
        loader.set_epoch(epoch)
        it, n, pin = iter(loader), 0, device.type == "cuda"
        t0 = time.perf_counter()
        for _ in range(n_batches):
            x, y = next(it)
            x = (x.pin_memory() if pin else x).to(device, non_blocking=True)
            step(x, y.to(device, non_blocking=True))
            n += len(y)
        sync()
        return n / (time.perf_counter() - t0)

    for x, y in cached[:3]:  # warm up (cuDNN autotune, allocator)
        step(x, y)
    sync()
    mem, stream = [], []
    for r in range(rounds):  # alternate, keep the best of each (the machine may be shared)
        mem.append(in_memory())
        stream.append(streamed(3 + r))
    mem, streamed_best = max(mem), max(stream)
    return {"in_memory_seq_per_s": mem, "loader_seq_per_s": streamed_best, "loader_cost": 1 - streamed_best / mem}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (training part)")
    parser.add_argument("--batches", type=int, default=200, help="batches timed in (a)")
    parser.add_argument("--train-batches", type=int, default=20, help="batches timed per round in (b)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds in (b); best of each kept")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = the one-core figure)")
    parser.add_argument("--prefetch", type=int, default=0, help="batches built ahead in a thread in (b)")
    parser.add_argument("--candidates-bins", type=int, default=0, help="run (c) only, on this many bins")
    parser.add_argument("--signal-bases", type=int, default=0, help="run (d) only, on a chromosome this long")
    parser.add_argument("--tmp", type=Path, default=None, help="directory for (d)'s bigWig (default: system temp)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    if args.candidates_bins:
        return bench_candidates(args.candidates_bins)
    if args.signal_bases:
        return bench_signal(args.signal_bases, args.tmp)
    import torch

    from cisflow.genome import Genome
    from cisflow.loader import GenomeBatches
    from cisflow.predict import resolve_device

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    t0 = time.perf_counter()
    genome = Genome.from_fasta(FASTA)
    t_genome = time.perf_counter() - t0
    labels = _labels(genome)
    t0 = time.perf_counter()
    loader = GenomeBatches(genome, labels, list(genome.chroms), 1000, args.batch_size, jitter=20, seed=0)
    t_init = time.perf_counter() - t0
    a = bench_batches(loader, args.batches)
    loader.prefetch = args.prefetch
    b = bench_training(loader, device, args.train_batches, args.rounds)
    t_batch, t_step = args.batch_size / a["seq_per_s"], args.batch_size / b["in_memory_seq_per_s"]
    implied = t_batch / (t_batch + t_step)
    rows = [
        ("genome load (s)", f"{t_genome:.2f}"),
        ("loader init (s)", f"{t_init:.2f}"),
        ("epoch plan (s)", f"{a['epoch_plan_s']:.3f} for {int(a['epoch_size'])} windows"),
        ("(a) one-hot batches, seq/s (target >= 20,000)", f"{a['seq_per_s']:,.0f}"),
        ("(a) loader time per batch (ms)", f"{1e3 * args.batch_size / a['seq_per_s']:.2f}"),
        (f"(b) train on in-memory tensors, seq/s [{device}]", f"{b['in_memory_seq_per_s']:,.0f}"),
        (f"(b) train on loader, seq/s [{device}]", f"{b['loader_seq_per_s']:,.0f}"),
        (f"(b) loader cost, prefetch {args.prefetch} (target < 10 %)", f"{100 * b['loader_cost']:.1f} %"),
        ("(b) loader share of a step implied by (a)", f"{100 * implied:.2f} %"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"GenomeBatches on sacCer3, L=1000, batch {args.batch_size}, torch threads {args.threads}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
