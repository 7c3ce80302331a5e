"""Benchmark DREAM-scale evaluation: every bin of chr1, chr8 and chr21 of hg38, both strands, windows on the fly.

A random genome with hg38's sizes for the three test chromosomes (``--fraction`` scales them) is written
as a code cache and memory-mapped; the 200 bp / 50 bp bins of the three chromosomes (8.8 M at full size)
become 1,000 bp windows made a batch at a time by :class:`cisflow.loader.BinWindows` (background
prefetch) and scored by a DragoNN-size model (``sequence_dnn`` multilayer preset, random weights) with
:func:`cisflow.predict.predict_batches`, averaging both strands. Prints windows/s, the device, and the
process's peak resident memory (the probabilities of every window are kept; the windows never are).

Usage: ``python benchmarks/dream_eval.py [--fraction 1.0] [--device cuda] [--batch-size 1024]``
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
TEST = ("chr1", "chr8", "chr21")


def write_cache(folder: Path, fraction: float, seed: int = 0) -> Path:
    """A code cache (``codes.npy`` + index) of random sequence for the three DREAM test chromosomes."""
    from cisflow.genome import CACHE_FORMAT, read_chrom_sizes
    from cisflow.io import write_json

    sizes = {c: int(n * fraction) for c, n in read_chrom_sizes(ROOT / "resources/genome/hg38.chrom.sizes").items()}
    sizes = {c: sizes[c] for c in TEST}
    total = sum(sizes.values())
    codes = np.lib.format.open_memmap(folder / "codes.npy", mode="w+", dtype=np.uint8, shape=(total,))
    rng = np.random.default_rng(seed)
    for lo in range(0, total, 1 << 26):
        codes[lo : lo + (1 << 26)] = rng.integers(0, 4, min(1 << 26, total - lo), dtype=np.uint8)
    codes.flush()
    offsets = np.cumsum([0, *sizes.values()])[:-1]
    rows = [[c, int(o), n, n] for (c, n), o in zip(sizes.items(), offsets, strict=True)]
    write_json(folder / "codes.json", {"format": CACHE_FORMAT, "fasta": "random", "chroms": rows})
    return folder / "codes.npy"


def main(argv: list[str] | None = None) -> None:
    import torch

    from cisflow.genome import Genome
    from cisflow.labels import n_bins
    from cisflow.loader import BinWindows
    from cisflow.models import build_model
    from cisflow.predict import predict_batches, resolve_device

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=1.0)
    parser.add_argument("--device", default=None, help="cuda, cpu, or default: CUDA if present")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--prefetch", type=int, default=4)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        genome = Genome.open(write_cache(Path(tmp), args.fraction))
        chrom = np.concatenate([np.full(n_bins(genome.sizes[c], 200, 50), c) for c in TEST])
        starts = np.concatenate([np.arange(n_bins(genome.sizes[c], 200, 50), dtype=np.int64) * 50 for c in TEST])
        t1 = time.perf_counter()
        torch.manual_seed(0)
        model = build_model("sequence_dnn", 2, 1000, num_filters=[15, 15, 15], conv_width=[10, 10, 10], pool_width=35)
        windows = BinWindows(genome, chrom, starts, 1000, 200, batch_size=args.batch_size, prefetch=args.prefetch)
        probs = np.empty((chrom.size, 2), np.float32)
        at = 0
        for part in predict_batches(model, windows, device=device, reverse_complement_average=True):
            probs[at : at + len(part)] = part
            at += len(part)
        t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"device": str(device), "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
              "windows": int(chrom.size), "cache_s": round(t1 - t0, 1), "score_s": round(t2 - t1, 1),
              "windows_per_s": round(chrom.size / (t2 - t1)), "peak_rss_mb": round(peak),
              "mean_prob": float(probs.mean())}  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
