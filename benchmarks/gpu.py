"""GPU throughput of the demo model, printed as one table (run by ``benchmarks/gpu.sh``).

Rows: training sequences/s of the demo's model (``config/config.yaml``, bf16 autocast on CUDA, batch 128)
from the real streaming loader (:class:`cisflow.loader.GenomeBatches` over the bundled yeast genome, a
prefetch thread, pinned memory) and from one-hot tensors already on the device, each with the mean GPU
utilisation that ``nvidia-smi`` sampled while it ran (the loader must not starve the GPU); fast ISM,
DeepSHAP (20 references, float32) and prediction sequences/s; and, with a finished demo run's inputs
(``--demo-results``: ``labels/labels.npz``, ``data/{train,valid,test}.npz``, ``data/splits.json``), the demo's
training and interpretation wall time with its own config. ``--cpu-dry-run`` runs every step tiny on the CPU.

    python benchmarks/gpu.py [--device cuda] [--demo-results results] [--cpu-dry-run]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

FASTA = ROOT / "resources" / "yeast" / "sacCer3.fa.gz"


class GpuSampler:
    """``nvidia-smi`` utilisation samples (every ``interval_ms``) in a background thread; no-op without it."""

    def __init__(self, interval_ms: int = 100) -> None:
        self.samples: list[tuple[float, float]] = []
        self.proc = None
        if shutil.which("nvidia-smi"):
            cmd = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", f"-lms={interval_ms}"]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.samples.append((time.perf_counter(), float(line.split(",")[0])))
            except ValueError:
                continue

    def mean(self, start: float, end: float) -> float:
        """Mean utilisation (%) sampled in ``[start, end]``; NaN without samples."""
        values = [u for t, u in self.samples if start <= t <= end]
        return float(np.mean(values)) if values else float("nan")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()


def _demo_model(length: int, device: torch.device) -> torch.nn.Module:
    from cisflow.models import build_model

    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text(encoding="utf-8"))["model"]
    return build_model(cfg["name"], 2, length, **cfg["params"]).to(device)


def bench_training(args, device: torch.device, sampler: GpuSampler) -> list[tuple[str, float, str]]:
    """Training seq/s from in-memory tensors and from the streaming loader, with mean GPU utilisation."""
    from loader import _labels

    from cisflow.genome import Genome
    from cisflow.loader import GenomeBatches
    from cisflow.predict import autocast
    from cisflow.train import masked_bce_loss

    genome = Genome.from_fasta(FASTA)
    loader = GenomeBatches(genome, _labels(genome), list(genome.chroms), args.length, args.batch_size, jitter=100)
    loader.prefetch = 2
    model = _demo_model(args.length, device).train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)

    def step(x, y):
        with autocast(device):
            loss = masked_bce_loss(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    loader.set_epoch(1)
    it = iter(loader)
    cached = [tuple(t.to(device) for t in next(it)) for _ in range(args.train_batches)]
    for x, y in cached[:3]:  # warm-up: cuDNN autotune, allocator
        step(x, y)
    _sync(device)
    rows = []
    for label, streamed in (("in-memory tensors", False), ("streaming loader", True)):
        start, n = time.perf_counter(), 0
        for r in range(args.rounds):
            pairs = _take(loader, 2 + r, args.train_batches) if streamed else cached
            for x, y in pairs:
                pin = device.type == "cuda"
                x, y = ((x.pin_memory() if pin else x).to(device, non_blocking=True), y.to(device, non_blocking=True))
                step(x, y)
                n += 1
        _sync(device)
        end = time.perf_counter()
        seqs = n * args.batch_size / (end - start)
        rows.append((f"train seq/s, {label} (bf16 on CUDA)", seqs, f"GPU util {sampler.mean(start, end):.0f}%"))
    return rows


def _take(loader, epoch: int, n: int):
    """Yield the first ``n`` batches of ``loader``'s epoch ``epoch`` (made while the device trains)."""
    loader.set_epoch(epoch)
    it = iter(loader)
    for _ in range(n):
        yield next(it)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_inference(args, device: torch.device) -> list[tuple[str, float, str]]:
    """Fast ISM, DeepSHAP and prediction sequences/s of the demo model (random weights, random sequences)."""
    from _anchor import random_onehot, timed

    from cisflow.interpret import deepshap_scores, ism_fast
    from cisflow.predict import predict

    model = _demo_model(args.length, device).eval()
    x = random_onehot(args.n_interpret, args.length, seed=1)
    ism_fast(model, x[:1], device=device)
    deepshap_scores(model, x[:1], n_references=20, device=device)
    _, t_ism = timed(ism_fast, model, x, device=device)
    (_, err), t_shap = timed(deepshap_scores, model, x, n_references=20, device=device, batch_size=args.shap_batch)
    codes = np.random.default_rng(2).integers(0, 4, (args.n_predict, args.length), dtype=np.uint8)
    predict(model, codes[:256], device=device)
    _, t_pred = timed(predict, model, codes, batch_size=1024, device=device)
    return [
        ("fast ISM seq/s", len(x) / t_ism, f"{len(x)} x {args.length} bp"),
        ("DeepSHAP seq/s (20 refs, float32)", len(x) / t_shap, f"max summation error {err.max():.1e}"),
        ("predict seq/s", len(codes) / t_pred, "batch 1024"),
    ]


def _tiny_inputs(splits_json: Path, valid_npz: Path, out: Path) -> tuple[Path, Path]:
    """Dry run: train on chrI alone and validate on 50 bound + 50 unbound rows (written into ``out``)."""
    import json

    from cisflow.artifacts import DATASET, read_dataset, write

    splits = json.loads(splits_json.read_text())
    role = {c: ("train" if c == "chrI" else "test" if s == "train" else s) for c, s in splits["splits"].items()}
    splits["splits"] = role
    (out / "splits.json").write_text(json.dumps(splits))
    data = read_dataset(valid_npz)
    y = data["labels"][:, 0]
    rows = np.sort(np.concatenate([np.flatnonzero(y == 1)[:50], np.flatnonzero(y == 0)[:50]]))
    n = len(y)
    write(out / "valid.npz", DATASET, {k: v[rows] if v.ndim and len(v) == n else v for k, v in data.items()})
    return out / "splits.json", out / "valid.npz"


def bench_demo(args, device: torch.device) -> list[tuple[str, float, str]]:
    """The demo's training and interpretation wall time (its config) on a finished run's inputs."""
    from cisflow.config import load_config
    from cisflow.interpret import interpret_outputs
    from cisflow.interpret.pipeline import interpret_model
    from cisflow.loader import train_from_genome
    from cisflow.train import train_outputs

    res = Path(args.demo_results)
    needed = [res / "labels/labels.npz", res / "data/splits.json", *(res / f"data/{s}.npz" for s in ("train", "valid"))]
    if not all(p.is_file() for p in needed):
        return [("demo train + interpret", float("nan"), f"skipped: no {needed[0]} (carry results/labels, data)")]
    cfg = load_config(ROOT / "config/config.yaml")
    train_cfg = {**cfg["train"], **({"epochs": 1, "min_epochs": 1} if args.cpu_dry_run else {})}
    out = Path(tempfile.mkdtemp(prefix="cisflow-gpu-"))
    splits_json, valid_npz = _tiny_inputs(needed[1], needed[3], out) if args.cpu_dry_run else needed[1::2]
    start = time.perf_counter()
    train_from_genome(
        needed[0], FASTA, splits_json, valid_npz, train_outputs(out / "train"), cfg["model"], train_cfg, cfg["seed"],
        negative_ratio=cfg["splits"]["negative_ratio"], threads=args.threads,
    )  # fmt: skip
    t_train = time.perf_counter() - start
    opts = cfg["interpret"]
    splits = [res / f"data/{s}.npz" for s in opts["splits"]]
    start = time.perf_counter()
    interpret_model(
        out / "train", splits, interpret_outputs(out / "interpret", opts["methods"]), opts["methods"], opts["task"],
        args.n_interpret if args.cpu_dry_run else opts["max_sequences"], seed=cfg["seed"],
        n_references=opts["deepshap_references"], device=str(device), precision=opts["deepshap_precision"],
        genome=res / "genome/codes.npy",
    )  # fmt: skip
    t_interp = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return [("demo training wall s", t_train, ""), ("demo interpretation wall s", t_interp, ", ".join(opts["methods"]))]


def main(argv: list[str] | None = None) -> None:
    """Run every benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--demo-results", default=str(ROOT / "results"))
    ap.add_argument("--cpu-dry-run", action="store_true", help="every step, tiny, on the CPU")
    ap.add_argument("--threads", type=int, default=8, help="torch CPU threads (loader, CPU side)")
    args = ap.parse_args(argv)
    small = args.cpu_dry_run
    args.device = "cpu" if small else args.device
    args.length, args.batch_size = 1000, 16 if small else 128
    args.train_batches, args.rounds = (3, 1) if small else (50, 3)
    args.n_interpret, args.n_predict, args.shap_batch = (2, 512, 2) if small else (256, 50_000, 16)
    torch.set_num_threads(2 if small else args.threads)
    device = torch.device(args.device)
    sampler = GpuSampler()
    rows = []
    try:
        for bench in (bench_training, bench_inference, bench_demo):
            sampler_args = (sampler,) if bench is bench_training else ()
            rows += bench(args, device, *sampler_args)
            print(f"{bench.__name__} done", flush=True)
    finally:
        sampler.stop()
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (dry run)"
    print(f"\ncisflow on {name}, demo model {_demo_model(args.length, 'cpu').__class__.__name__}, L={args.length}")
    print(f"{'measure':<44}{'value':>12}  note")
    for label, value, note in rows:
        print(f"{label:<44}{value:>12.1f}  {note}")


if __name__ == "__main__":
    main()
