"""Benchmark: cisflow's fast ISM against tangermeme's ``saturation_mutagenesis``, side by side in one run.

Same model (DragoNN's multilayer SequenceDNN and the demo's Basset, see ``benchmarks/_anchor.py``), same
sequences, same torch threads. Both give centred ISM (``f(mutant) − f(x)``, minus the mean over the four
bases); ``max|d|`` is their largest difference. tangermeme runs its default ``fast=True`` path (fastISM
through ``torch.export``) with ``--tm-batch-size`` edits per batch; its rule that skips the fast path for
jobs under 30 s is switched off, so a short benchmark times what a long job gets, capture included.
``--naive N`` adds cisflow's brute-force ISM (every variant's full forward) on N sequences. Prints
sequences/s and cisflow's speed over tangermeme's (target ≥ 5× on 2 CPU threads; ``--repeats R`` times the
two in turn R times, a ratio per run) and the load average (a warning when other jobs held the cores). Needs
the ``bench`` extra (``pip install 'tangermeme==1.6.0'``).

    python benchmarks/ism.py [--models sequence_dnn basset] [--n 32] [--threads 2] [--device cpu]
        [--batch-size 768] [--tm-batch-size 1024] [--naive 0] [--repeats 1] [--length 1000] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import warnings

import torch
from _anchor import (
    DEFAULT_MODELS,
    MODELS,
    add_clock_option,
    as_numpy,
    demo_model_config,
    make_model,
    print_load,
    print_table,
    random_onehot,
    set_clock,
    timed,
)

from cisflow.interpret import ism, ism_fast


def _tangermeme(model, x, args):
    """tangermeme's centred ISM ``(N, 4, L)`` with its fast path always tried."""
    import tangermeme.saturation_mutagenesis as sm

    sm._FAST_MIN_SECONDS = 0.0  # a long job's path, however short the benchmark
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = sm.saturation_mutagenesis(
            model, torch.as_tensor(x), batch_size=args.tm_batch_size, device=args.device, target=0, hypothetical=True
        )
    fell_back = any("fast=False" in str(w.message) for w in caught)
    return out, "tangermeme fell back to fast=False" if fell_back else "fast path (fastISM via torch.export)"


def bench_model(name: str, args: argparse.Namespace) -> list[dict]:
    """Time cisflow and tangermeme ISM on one model; return the table rows."""
    model = make_model(name, args.length, args.model_dir)
    x = random_onehot(args.n, args.length, seed=1)
    dev = torch.device(args.device)
    # warm-up, each tool on one sequence: cisflow's kernels loaded, tangermeme's torch.export imported (~2 s
    # once a process, which the first model's timing would otherwise carry)
    ism_fast(model, x[:1], centered=True, batch_size=args.batch_size, device=dev)
    _tangermeme(model, x[:1], args)
    rows = []
    for run in range(args.repeats):  # the two tools in turn, so a change of load meets both
        ours, t_ours = timed(ism_fast, model, x, centered=True, batch_size=args.batch_size, device=dev)
        (theirs, note), t_theirs = timed(_tangermeme, model, x, args)
        label = f" (run {run + 1})" if args.repeats > 1 else ""
        rows += [
            {
                "model": name,
                "method": "cisflow ism_fast" + label,
                "n": args.n,
                "seconds": t_ours,
                "ratio": t_theirs / t_ours,
                "diff": float(abs(as_numpy(ours) - as_numpy(theirs)).max()),
            },
            {"model": name, "method": "tangermeme saturation_mutagenesis" + label, "n": args.n, "seconds": t_theirs},
        ]
        rows[-1]["note"] = note
    if args.naive:
        naive, t_naive = timed(ism, model, x[: args.naive], centered=True, batch_size=512, device=dev)
        diff = float(abs(as_numpy(naive) - as_numpy(ours[: args.naive])).max())
        rows.append({"model": name, "method": "cisflow ism (naive, 4L forwards)", "n": args.naive, "seconds": t_naive})
        rows[0]["note"] = f"max|d| from naive {diff:.1e}"
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(DEFAULT_MODELS))
    ap.add_argument("--n", type=int, default=32, help="sequences mutated")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=768, help="cisflow mutants per patched pass (ism_fast's default)")
    ap.add_argument("--tm-batch-size", type=int, default=1024, help="tangermeme edits per batch")
    ap.add_argument("--naive", type=int, default=0, help="also time naive ISM on this many sequences")
    ap.add_argument("--repeats", type=int, default=1, help="time both tools this many times, in turn")
    ap.add_argument("--length", type=int, default=None, help="default: the demo's splits.input_length")
    ap.add_argument("--model-dir", default=None, help="a trained cisflow model instead of random weights")
    add_clock_option(ap)
    args = ap.parse_args(argv)
    set_clock(args.clock)
    args.length = args.length or demo_model_config()[1]
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    rows = [row for name in args.models for row in bench_model(name, args)]
    title = f"ISM, L={args.length}, device={args.device}, torch threads={args.threads}, {args.clock} clock"
    print_table(title + " (ratio = cisflow seq/s over tangermeme's)", rows)
    print_load(load, args.threads)


if __name__ == "__main__":
    main()
