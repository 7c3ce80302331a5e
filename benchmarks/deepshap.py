"""Benchmark: cisflow's DeepSHAP against tangermeme's ``deep_lift_shap``, side by side in one run.

Same model (DragoNN's multilayer SequenceDNN and the demo's Basset, see ``benchmarks/_anchor.py``),
same sequences, same torch threads, and identical references: the dinucleotide shuffles cisflow makes
(:func:`cisflow.interpret.shuffled_references`) are handed to tangermeme as its ``references`` tensor.
Both return hypothetical contributions averaged over the references; ``max|d|`` is their largest
difference. tangermeme runs ``batch_size × references`` pairs per batch (cisflow's pass size). Prints
sequences/s, cisflow's speed over tangermeme's (target ≥ 2× on 2 CPU threads) and cisflow's worst
summation-to-delta error. Needs the ``bench`` extra (``pip install 'tangermeme==1.6.0'``).

    python benchmarks/deepshap.py [--models sequence_dnn basset] [--n 32] [--references 20]
        [--batch-size 8] [--threads 2] [--device cpu] [--length 1000] [--float64] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import warnings

import torch
from _anchor import (
    DEFAULT_MODELS,
    MODELS,
    add_clock_option,
    as_numpy,
    demo_model_config,
    make_model,
    print_table,
    random_onehot,
    set_clock,
    timed,
)

from cisflow.interpret import deepshap_scores, shuffled_references


def bench_model(name: str, args: argparse.Namespace) -> list[dict]:
    """Time cisflow and tangermeme DeepSHAP on one model; return the table rows."""
    from tangermeme.deep_lift_shap import deep_lift_shap

    model = make_model(name, args.length, args.model_dir)
    x = random_onehot(args.n, args.length, seed=1)
    refs = shuffled_references(x, args.references, seed=0)
    dtype = torch.float64 if args.float64 else torch.float32
    dev = torch.device(args.device)
    kw = {"references": refs[:1], "batch_size": args.batch_size, "device": dev, "dtype": dtype}
    deepshap_scores(model, x[:1], **kw)  # warm-up (tracing, allocator)
    (ours, errors), t_ours = timed(deepshap_scores, model, x, **{**kw, "references": refs})
    xt, rt = torch.as_tensor(x), torch.as_tensor(refs)
    tm_kw = {"batch_size": args.batch_size * args.references, "hypothetical": True, "device": dev, "target": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deep_lift_shap(model.to(dtype), xt[:1], references=rt[:1], **tm_kw)
        theirs, t_theirs = timed(deep_lift_shap, model.to(dtype), xt, references=rt, **tm_kw)
    diff = float(abs(as_numpy(ours) - as_numpy(theirs)).max())
    label = f"{'float64' if args.float64 else 'float32'}, {args.references} refs"
    return [
        {
            "model": name,
            "method": f"cisflow deepshap ({label})",
            "n": args.n,
            "seconds": t_ours,
            "ratio": t_theirs / t_ours,
            "diff": diff,
            "note": f"max summation error {errors.max():.1e}",
        },
        {"model": name, "method": f"tangermeme deep_lift_shap ({label})", "n": args.n, "seconds": t_theirs},
    ]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(DEFAULT_MODELS))
    ap.add_argument("--n", type=int, default=32, help="sequences explained")
    ap.add_argument("--references", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=8, help="sequences per cisflow pass")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--length", type=int, default=None, help="default: the demo's splits.input_length")
    ap.add_argument("--float64", action="store_true", help="both in float64 (default float32)")
    ap.add_argument("--model-dir", default=None, help="a trained cisflow model instead of random weights")
    add_clock_option(ap)
    args = ap.parse_args(argv)
    set_clock(args.clock)
    args.length = args.length or demo_model_config()[1]
    torch.set_num_threads(args.threads)
    rows = [row for name in args.models for row in bench_model(name, args)]
    title = f"DeepSHAP, L={args.length}, device={args.device}, torch threads={args.threads}, {args.clock} clock"
    print_table(title + " (ratio = cisflow seq/s over tangermeme's)", rows)


if __name__ == "__main__":
    main()
