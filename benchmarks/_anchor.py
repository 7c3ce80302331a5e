"""Shared set-up of the side-by-side benchmarks against tangermeme (``benchmarks/ism.py``, ``benchmarks/deepshap.py``).

Both run cisflow and tangermeme on the same model, the same sequences and the same torch thread count in
one process. Models: DragoNN's multilayer SequenceDNN (``sequence_dnn``), the demo's Basset from
``config/config.yaml`` (``basset``; random weights with non-trivial BatchNorm statistics, or a trained
model with ``--model-dir``) and, on request, the demo's DeepBind-like motif model (``motif_model``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cisflow.models import SEQUENCE_DNN_PRESETS, build_model, load_model  # noqa: E402

MODELS = ("sequence_dnn", "basset", "motif_model")
DEFAULT_MODELS = ("sequence_dnn", "basset")


def demo_model_config(config: Path = ROOT / "config/config.yaml", key: str = "model") -> tuple[dict, int]:
    """The demo's ``model`` (or ``motif_model``) config and ``splits.input_length``."""
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    return cfg[key], int(cfg["splits"]["input_length"])


def make_model(name: str, length: int, model_dir: Path | None = None, seed: int = 0) -> torch.nn.Module:
    """A float32 eval-mode model: ``sequence_dnn`` (DragoNN multilayer preset), the demo's ``basset`` or its
    ``motif_model``."""
    if model_dir is not None:
        return load_model(model_dir)[0].float().eval()
    torch.manual_seed(seed)
    if name == "sequence_dnn":
        return build_model("sequence_dnn", 1, length, **SEQUENCE_DNN_PRESETS["multilayer"]).eval()
    cfg, _ = demo_model_config(key="motif_model" if name == "motif_model" else "model")
    model = build_model(cfg["name"], 1, length, **cfg["params"])
    generator = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):  # trained-like statistics, so eval mode is not the identity
            m.running_mean.copy_(torch.rand(m.num_features, generator=generator) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
    return model.eval()


def random_onehot(n: int, length: int, seed: int = 0) -> np.ndarray:
    """Uniform random one-hot sequences, float32 ``(n, 4, length)``."""
    codes = np.random.default_rng(seed).integers(0, 4, (n, length))
    return np.ascontiguousarray(np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1))


#: the clock of :func:`timed`: wall time, or this process's CPU time (``--clock cpu``: on a shared machine,
#: with one thread, it leaves out the time other jobs take the core)
CLOCK = {"fn": time.perf_counter}


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float]:
    """``(fn(*args, **kwargs), seconds)`` on :data:`CLOCK`, synchronising CUDA around the call."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = CLOCK["fn"]()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, CLOCK["fn"]() - start


def add_clock_option(ap) -> None:
    """``--clock wall|cpu`` on an argparse parser."""
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall time or process CPU time")


def set_clock(name: str) -> None:
    """Use wall time (``wall``) or process CPU time (``cpu``) in :func:`timed`."""
    CLOCK["fn"] = time.process_time if name == "cpu" else time.perf_counter


def as_numpy(t) -> np.ndarray:
    """A tensor or array as a float64 numpy array."""
    return (t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)).astype(np.float64)


def print_load(start: float, threads: int) -> None:
    """Print the machine's 1-minute load average before the runs (``start``) and after them (this run's own
    threads included), and a warning when other jobs held cores the ``threads`` needed: the tools run one after
    the other, so each can meet another load, and tangermeme's intra-op threads wait on each other when one is
    descheduled (the Basset at 2 threads beside a busy core: 0.85 seq/s, against 8.2–8.6 on an idle machine)."""
    cores, end = os.cpu_count() or 1, os.getloadavg()[0]
    print(f"load average (1 min): {start:.2f} before, {end:.2f} after, {cores} cores")
    if start > cores - threads + 0.5:
        print("warning: other jobs held the cores; compare ratios from an idle machine or --threads 1 --clock cpu")


def print_table(title: str, rows: list[dict]) -> None:
    """Print ``rows`` (model, method, seqs, seconds, seq/s, ratio, max|d|, note) as an aligned table."""
    print(title)
    print(f"{'model':<14}{'method':<46}{'seqs':>6}{'seconds':>10}{'seq/s':>10}{'ratio':>8}{'max|d|':>11}  note")
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "-"
        diff = f"{r['diff']:.2e}" if r.get("diff") is not None else "-"
        print(
            f"{r['model']:<14}{r['method']:<46}{r['n']:>6}{r['seconds']:>10.2f}{r['n'] / r['seconds']:>10.3f}"
            f"{ratio:>8}{diff:>11}  {r.get('note', '')}"
        )
