"""Benchmark: variants per second of ``cisflow variants`` with the demo's model, end to end and model-only.

Writes a VCF of ``--n`` random variants (90 % SNVs, 10 % indels of 1-10 bp, sorted, bgzipped and
indexed) on a genome, scores it with :func:`cisflow.variants.score_variants` (no explanations) and
prints a table: variants, seconds, variants/s, and the process's peak RSS, per device; plus the
model alone on the same windows (forward and reverse complement of both alleles, 4 windows per
variant), so the cost of reading, checking and writing shows beside the forwards.

    python benchmarks/variants.py [--model-dir results/train] [--genome resources/yeast/sacCer3.fa.gz]
                                  [--n 20000 50000] [--batch-size 256] [--threads 2] [--device cpu cuda]

The model is the demo's Basset (``config/config.yaml``; random weights unless ``--model-dir`` names a
trained one); the genome is the bundled yeast genome unless ``--genome`` is given. Each ``--n`` runs in a
fresh process, so the peak RSS of a larger file shows whether memory stays bounded while streaming.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cisflow.genome import Genome, decode  # noqa: E402
from cisflow.models import build_model, save_model  # noqa: E402


def write_vcf(genome: Genome, n: int, path: Path, seed: int) -> None:
    """``n`` random variants on the genome (positions ≥ 1 kb from the ends), sorted, bgzipped and indexed."""
    import pysam

    rng = np.random.default_rng(seed)
    chroms = [c for c, s in genome.sizes.items() if s > 5000]
    sizes = np.array([genome.sizes[c] for c in chroms], dtype=np.float64)
    picks = rng.choice(len(chroms), size=n, p=sizes / sizes.sum())
    lines = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={genome.sizes[c]}>" for c in chroms)]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    rows = []
    for k, c in enumerate(picks):
        chrom = chroms[c]
        pos0 = int(rng.integers(1000, genome.sizes[chrom] - 1000))
        kind, size = rng.random(), int(rng.integers(1, 11))
        if kind < 0.05:  # deletion of 1-10 bp after the anchor base
            ref = decode(genome.fetch(chrom, pos0, pos0 + 1 + size))
            alt = ref[0]
        elif kind < 0.1:  # insertion of 1-10 bp after it
            ref = decode(genome.fetch(chrom, pos0, pos0 + 1))
            alt = ref + "".join(rng.choice(list("ACGT"), size))
        else:
            ref = decode(genome.fetch(chrom, pos0, pos0 + 1))
            alt = str(rng.choice([b for b in "ACGT" if b != ref]))
        rows.append((c, pos0 + 1, f"{chrom}\t{pos0 + 1}\tv{k}\t{ref}\t{alt}\t.\t.\t."))
    lines += [r[2] for r in sorted(rows)]
    plain = path.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True)


def demo_model(folder: Path) -> Path:
    """The demo's model config with random weights, saved in ``folder``."""
    import yaml

    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text(encoding="utf-8"))
    torch.manual_seed(0)
    model = build_model(cfg["model"]["name"], 1, int(cfg["splits"]["input_length"]), **cfg["model"]["params"])
    save_model(folder, model, {"tasks": ["demo"]})
    return folder


def one_run(args: argparse.Namespace) -> None:
    """(child) Score the VCF once and print a JSON line of the timings."""
    from cisflow.variants import open_variants, score_variants, split_record, variant_outputs
    from cisflow.variants.scorers import load_scorer
    from cisflow.variants.windows import allele_windows, fetch_segments

    torch.set_num_threads(args.threads)
    out = Path(args.work) / f"out_{args.device}_{args.n[0]}" / "scores.tsv"
    start = time.perf_counter()
    summary = score_variants(args.model_dir, args.genome, args.vcf, variant_outputs(out), top=0,
                             batch_size=args.batch_size, device=args.device)  # fmt: skip
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    total = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scorer = load_scorer(args.model_dir, args.device, batch_size=args.batch_size)
    genome = Genome.open(args.genome)
    with open_variants(args.vcf) as reader:
        records = itertools.islice(reader, 4 * args.batch_size)
        alleles = [a for r in records for a in split_record(r) if "N" not in a.ref + a.alt]
    ref, alt = allele_windows(fetch_segments(genome, alleles, scorer.input_length), alleles, scorer.input_length)
    scorer.score(ref[: args.batch_size], alt[: args.batch_size], alleles[: args.batch_size])  # warm-up
    start = time.perf_counter()
    scorer.score(ref, alt, alleles)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    model_only = len(alleles) / (time.perf_counter() - start)
    record = {"device": args.device, "n": summary["counts"]["scored"], "seconds": total, "rss_mb": rss}
    print(json.dumps(record | {"model_only": model_only}))


def main() -> None:
    """Run the benchmark (each size and device in a fresh process) and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=None, help="a trained model (default: the demo's, random)")
    ap.add_argument("--genome", type=Path, default=ROOT / "resources/yeast/sacCer3.fa.gz")
    ap.add_argument("--n", type=int, nargs="+", default=[5000, 20000], help="variants per run")
    ap.add_argument("--batch-size", type=int, default=256, help="windows per forward pass")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--device", nargs="+", default=["cpu", *(["cuda"] if torch.cuda.is_available() else [])])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--vcf", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.device = args.device[0]
        one_run(args)
        return
    with tempfile.TemporaryDirectory(prefix="variants-bench-") as work:
        work = Path(work)
        model_dir = args.model_dir or demo_model(work / "model")
        genome = Genome.open(args.genome)
        rows = []
        for n in args.n:
            vcf = work / f"v{n}.vcf.gz"
            write_vcf(genome, n, vcf, args.seed)
            for device in args.device:
                cmd = [sys.executable, __file__, "--child", "--model-dir", str(model_dir), "--genome", str(args.genome),
                       "--n", str(n), "--batch-size", str(args.batch_size), "--threads", str(args.threads),
                       "--device", device, "--vcf", str(vcf), "--work", str(work)]  # fmt: skip
                done = subprocess.run(cmd, check=True, capture_output=True, text=True)
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    which = "trained" if args.model_dir else "demo-config (random weights)"
    print(
        f"cisflow variants: {which} model, genome {args.genome.name}, batch {args.batch_size}, threads {args.threads}"
    )
    print("reverse complement averaged: 4 windows per variant; seconds = the whole run (read, check, score, write)")
    print(f"{'device':<8}{'variants':>10}{'seconds':>10}{'variants/s':>12}{'model-only/s':>14}{'peak RSS MB':>13}")
    for r in rows:
        print(f"{r['device']:<8}{r['n']:>10}{r['seconds']:>10.1f}{r['n'] / r['seconds']:>12.1f}"
              f"{r['model_only']:>14.1f}{r['rss_mb']:>13.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
