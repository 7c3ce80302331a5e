"""Benchmark: regions per second of the motif hit caller on a finished run's scores and patterns.

Times the sparse CWM fit (:func:`cisflow.motifs.fit_hits`) alone — with gap-safe screening and the
active-set phase (the default) and as the plain solver with full convolutions at every step, side
by side, with how many hits the two share — and the whole calibrated call
(:func:`cisflow.motifs.call_hits`: the fit, the fit on the shuffled null, the q-values) on the
regions of an interpret-stage npz with the patterns of the motif stage, merged as the stage merges
them (``--merge``, default ``auto``; ``false``: every pattern as itself), and prints a table:

    python benchmarks/hits.py --run /path/to/run [--window 400] [--n 1000] [--device cpu] [--threads 1]
        [--merge auto|false] [--shuffles 1]

``--run`` is a workflow directory holding ``results/interpret/<method>.npz`` and
``results/motifs/patterns.json`` (e.g. the bundled demo after ``make demo``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cisflow.motifs import call_hits, fit_hits, load_scores, motif_set, read_patterns
from cisflow.motifs.calibrate import seqlet_lambdas
from cisflow.motifs.hits import central_window
from cisflow.motifs.hitstage import find_merge


def _sync(dev: str) -> None:
    if dev.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(dev: str, fn, /, *args, **kwargs) -> tuple[object, float]:
    _sync(dev)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    _sync(dev)
    return out, time.perf_counter() - t0


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path("."), help="workflow directory of a finished run")
    ap.add_argument("--method", default="deepshap", help="interpret method whose scores to use")
    ap.add_argument("--window", type=int, default=400, help="central window in bp (0: whole region)")
    ap.add_argument("--n", type=int, default=1000, help="regions (the first n)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--merge", default="auto", help="the stage's motifs.hits.merge (auto, a confusion, false)")
    ap.add_argument("--seed", type=int, default=1, help="the merge's null seed (the demo's seed)")
    ap.add_argument("--shuffles", type=int, default=1, help="null shufflings of the calibrated call (the demo's 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_scores(args.run / "results" / "interpret" / f"{args.method}.npz")
    patterns = read_patterns(args.run / "results" / "motifs" / "patterns.json")
    choices = {"false": False, "auto": "auto"}
    merge_option = choices[args.merge.lower()] if args.merge.lower() in choices else float(args.merge)
    merge = find_merge(data, patterns, {"merge": merge_option, "seed": args.seed})  # on all regions (the seqlets')
    fitted = merge.motifs
    own = seqlet_lambdas(data["scores"], data["x"], fitted)  # the stage's default λ per fitted motif, all seqlets
    data = {key: value[: args.n] if key in ("scores", "x", "ids", "hypothetical") else value
            for key, value in data.items()}  # fmt: skip
    scores, x, ids = data["scores"], data["x"], data["ids"]
    offset, width = central_window(scores.shape[2], args.window or None)
    motifs = motif_set({p.name: p.cwm for p in fitted}, {p.name: p.trim for p in fitted})
    opts = {"batch_size": args.batch_size, "device": args.device}
    window = (slice(None), slice(None), slice(offset, offset + width))
    lam = [min(own.values())] * len(own)  # the fit's L1 weight, one for all patterns (as call_hits)
    fit_hits(scores[:8][window], x[:8][window], motifs, lam, **opts)  # warm-up (CUDA context, kernels)
    rows = []
    for label, screen in (("sparse fit, screened (default)", True), ("sparse fit, plain solver", False)):
        (fit, regions), seconds = _timed(args.device, fit_hits, scores[window], x[window], motifs, lam, screen=screen,
                                         **opts)  # fmt: skip
        rows.append((label, seconds, fit, regions))
    (hits, _), t_call = _timed(args.device, call_hits, scores, x, fitted, ids, lambdas=own, window=width,
                               n_shuffles=args.shuffles, **opts)  # fmt: skip
    n = len(scores)
    print(f"hit caller on {args.run}: {n} regions x {width} bp, {len(patterns)} patterns fitted as {len(fitted)} "
          f"motifs (x 2 strands, merge {args.merge}), λ {min(own.values()):.2f}-{max(own.values()):.2f}")  # fmt: skip
    print(f"device={args.device}, threads={args.threads}, batch={args.batch_size}")
    print(f"{'step':<34}{'seconds':>10}{'regions/s':>12}{'hits':>8}{'mean steps':>12}")
    for label, seconds, fit, regions in rows:
        print(f"{label:<34}{seconds:>10.2f}{n / seconds:>12.1f}{len(fit['region']):>8}"
              f"{np.mean(regions['steps']):>12.0f}")  # fmt: skip
    label = f"calibrated (fit + {args.shuffles} null + q)"
    print(f"{label:<34}{t_call:>10.2f}{n / t_call:>12.1f}{len(hits):>8}{'':>12}")
    keys = [
        set(zip(f["region"].tolist(), f["motif"].tolist(), f["position"].tolist(), strict=True)) for _, _, f, _ in rows
    ]
    print(
        f"screened / plain: {rows[1][1] / rows[0][1]:.2f}x faster; hits in both {len(keys[0] & keys[1])}, "
        f"only screened {len(keys[0] - keys[1])}, only plain {len(keys[1] - keys[0])}"
    )


if __name__ == "__main__":
    main()
