"""Benchmark: BPNet training and prediction throughput, cisflow's against bpnet-lite's of the same size.

Both models: 64 filters, 8 dilated residual layers, 2,114 bp in, 1,000 bp out, two strands, two control
tracks. They see the same batches (random one-hot sequence, control and counts, one fixed seed) on the
same device and torch threads, and train with the same loss (multinomial NLL + λ · log-counts MSE,
:func:`cisflow.profile.losses.profile_loss`) and Adam, so the table compares the models' forward and
backward passes. bpnet-lite is in the pinned ``bench`` extra (``pip install bpnet-lite==1.1.0 --no-deps``).
With ``--repeats`` above 1 each rate is the median of rounds that alternate the models (cisflow, bpnet-lite,
cisflow, ...), so a load change on a shared machine does not fall on one model only; ``--measure`` times
training or prediction alone.

    python benchmarks/profile_speed.py [--threads 2] [--batch-size 64] [--steps 6] [--repeats 1]
        [--measure both|train|predict] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cisflow.models import build_model
from cisflow.profile.losses import profile_loss

INPUT, OUTPUT, FILTERS, LAYERS = 2114, 1000, 64, 8


def _bpnet_lite() -> torch.nn.Module | None:
    """bpnet-lite's BPNet of the same size, or None when bpnet-lite is not installed."""
    try:
        from bpnetlite.bpnet import BPNet
    except ImportError:
        return None
    return BPNet(n_filters=FILTERS, n_layers=LAYERS, n_outputs=2, n_control_tracks=2, trimming=(INPUT - OUTPUT) // 2,
                 verbose=False)  # fmt: skip


def _batches(n: int, size: int, device: torch.device, seed: int = 0) -> list[tuple[torch.Tensor, ...]]:
    """``n`` batches of one-hot sequence, control tracks and stranded counts."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        idx = torch.randint(0, 4, (size, INPUT), generator=gen)
        x = torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()
        control = torch.poisson(torch.full((size, 2, INPUT), 0.05), generator=gen)
        counts = torch.poisson(torch.full((size, 1, 2, OUTPUT), 0.2), generator=gen)
        out.append((x.to(device), control.to(device), counts.to(device)))
    return out


def _forward(model: torch.nn.Module, x: torch.Tensor, control: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Profile logits ``(B, 1, 2, L)`` and log counts ``(B, 1)`` from either model."""
    profile, counts = model(x, control)
    return (profile if profile.ndim == 4 else profile[:, None]), counts


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _train_rate(model: torch.nn.Module, batches, device: torch.device) -> float:
    """Training sequences per second (first batch is warm-up)."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = 0.0
    for i, (x, control, counts) in enumerate(batches):
        if i == 1:
            _sync(device)
            start = time.perf_counter()
        profile, log_counts = _forward(model, x, control)
        loss, _, _ = profile_loss(profile, log_counts, counts, counts_weight=10.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _sync(device)
    return sum(len(b[0]) for b in batches[1:]) / (time.perf_counter() - start)


@torch.no_grad()
def _predict_rate(model: torch.nn.Module, batches, device: torch.device) -> float:
    """Prediction sequences per second (eval mode, no gradient; first batch is warm-up)."""
    model.eval()
    start = 0.0
    for i, (x, control, _) in enumerate(batches):
        if i == 1:
            _sync(device)
            start = time.perf_counter()
        _forward(model, x, control)
    _sync(device)
    return sum(len(b[0]) for b in batches[1:]) / (time.perf_counter() - start)


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=6, help="batches per measurement (the first is warm-up)")
    ap.add_argument("--repeats", type=int, default=1, help="alternating rounds; each rate is their median")
    ap.add_argument("--measure", choices=("both", "train", "predict"), default="both")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    models = {"cisflow BPNet": build_model("bpnet", 1, INPUT, output_length=OUTPUT, n_strands=2, n_control=2,
                                           filters=FILTERS, n_layers=LAYERS)}  # fmt: skip
    lite = _bpnet_lite()
    if lite is None:
        print("bpnet-lite is not installed (pip install bpnet-lite==1.1.0 --no-deps); timing cisflow only")
    else:
        models["bpnet-lite 1.1.0 BPNet"] = lite
    train_batches = _batches(args.steps, args.batch_size, device)
    predict_batches = _batches(args.steps, 4 * args.batch_size, device, seed=1)
    for model in models.values():
        model.to(device)
    rates = {name: {"train": [], "predict": []} for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            if args.measure != "predict":
                rates[name]["train"].append(_train_rate(model, train_batches, device))
            if args.measure != "train":
                rates[name]["predict"].append(_predict_rate(model, predict_batches, device))
    rows = [{"model": name, "parameters": sum(p.numel() for p in model.parameters()),
             "train seq/s": statistics.median(rates[name]["train"] or [float("nan")]),
             "predict seq/s": statistics.median(rates[name]["predict"] or [float("nan")]),
             "predict seq/s per round": " ".join(f"{v:.3g}" for v in rates[name]["predict"])}
            for name, model in models.items()]  # fmt: skip
    table = pd.DataFrame(rows)
    for col in ("train seq/s", "predict seq/s"):
        table[f"{col} vs first"] = table[col] / table[col].iloc[0]
    print(
        f"device {device}, {args.threads} torch threads, batch {args.batch_size} (predict {4 * args.batch_size}), "
        f"{args.steps - 1} timed batches, median of {args.repeats} alternating rounds, {INPUT} -> {OUTPUT} bp"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
