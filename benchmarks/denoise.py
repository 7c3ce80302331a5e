"""Acceptance benchmark of AtacWorks-style denoising on the bundled yeast ATAC-seq (SRR1822137).

For each input depth (default 10 % and 20 % of the filtered fragments, subsample seed 1) the script
makes the training pair (noisy subsample vs the full library, MACS3 on both), trains a denoising
model (valid chrXV, held-out chrIV), denoises chrIV and scores it beside MACS3 on the same noisy
reads; MACS3 on nested subsamples (seed 101) gives the equivalent depth. Each model is then run on
samples it was not trained on (subsample seed 2, at its own and at the other depth). It prints one
table and the seconds of each step; ``train+eval`` (training, denoising, scoring) is what the issue
bounds by 15 minutes on 2 CPU cores.

Usage::

    python benchmarks/denoise.py [--out results/benchmarks/denoise] [--fractions 0.1 0.2]
        [--preset cpu|atacworks] [--epochs N] [--device cpu|cuda] [--threads 2] [--prepare-only]

``--preset cpu`` is the model of ``config/examples/denoise.yaml`` (10-bp steps, 3 + 1 blocks of
15 filters); ``atacworks`` is AtacWorks' own (every base, 5 + 2 blocks of width 50; for a GPU).
Steps whose outputs exist are not redone (delete ``--out`` to start over).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cisflow.denoise.pairs import depth_series_outputs, macs3_depth_series, make_training_pair  # noqa: E402
from cisflow.denoise.pipeline import denoise_sample, evaluate_denoising  # noqa: E402
from cisflow.denoise.train import denoiser_outputs, train_denoiser  # noqa: E402
from cisflow.genome import read_chrom_sizes  # noqa: E402

BAM = ROOT / "resources/yeast/SRR1822137.bam"
SIZES = ROOT / "resources/yeast/sacCer3.chrom.sizes"
SERIES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
VALID, TEST = ["chrXV"], ["chrIV"]
CPU_MODEL = {"channels": 15, "kernel_size": 11, "dilation": 2, "n_blocks": 3, "class_channels": 15,
             "class_kernel_size": 11, "class_dilation": 2, "class_blocks": 1, "resolution": 10}  # fmt: skip
PRESETS = {
    "cpu": (CPU_MODEL, {"epochs": 8, "interval": 20_000, "learning_rate": 5e-4, "mse_weight": 0.1, "batch_size": 8}),
    "atacworks": ({}, {"epochs": 25, "interval": 50_000, "learning_rate": 2e-4, "mse_weight": 0.1, "batch_size": 16}),
}
PAIR_FILES = ("noisy_reads", "noisy_bw", "noisy_peaks", "stats")


def _filtered_reads(out: Path, sizes: dict) -> Path:
    """The bundled BAM filtered as the demo does (MAPQ 30, position dedup, chrM dropped, Tn5 shift)."""
    tagalign = out / "yeast.tagAlign.gz"
    if not tagalign.is_file():
        from cisflow.reads import filter_reads

        filter_reads(BAM, sizes, tagalign, assay="atac", min_mapq=30, dedup="position", drop_chroms=["chrM"])
    return tagalign


def _pair(reads: Path, sizes: dict, out: Path, fraction: float, seed: int, clean: dict | None) -> dict:
    """The noisy sample (and, once, the clean track and peaks); returns its paths."""
    name = out / f"f{fraction:g}_s{seed}"
    paths = {k: Path(f"{name}.{k}") for k in PAIR_FILES}
    if clean is None:
        paths.update(clean_bw=out / "clean.bw", clean_peaks=out / "clean.narrowPeak")
    if not paths["stats"].is_file():
        make_training_pair(reads, sizes, paths, fraction=fraction, seed=seed)
    return {**(clean or {}), **paths}


def _evaluate(model: Path, pair: dict, sizes: dict, out: Path, series: dict, args: argparse.Namespace) -> dict:
    """Denoise the held-out chromosome of one sample with one model and score it."""
    files = {k: out.parent / f"{out.name}.{k}" for k in ("track", "prob", "peaks", "tsv", "png", "json")}
    outputs = {k: files[k] for k in ("track", "prob", "peaks")}
    denoise_sample(model, pair["noisy_bw"], sizes, outputs, chroms=TEST, device=args.device, threads=args.threads)
    depth = json.loads(pair["stats"].read_text())["depth"]
    tracks = {"clean": pair["clean_bw"], "noisy": pair["noisy_bw"], "denoised": files["track"], "prob": files["prob"]}
    peaks = {"clean": pair["clean_peaks"], "noisy_peaks": pair["noisy_peaks"]}
    outputs = {"out_png": files["png"], "out_json": files["json"]}
    return evaluate_denoising(tracks, peaks, sizes, TEST, files["tsv"], depth=depth, depth_series=series,
                              sample=out.name, **outputs)  # fmt: skip


def _row(sample: str, model: str, summary: dict, seconds: dict) -> dict:
    return {"sample": sample, "model": model, "depth": summary["depth"],
            "pearson_noisy": summary["noisy"]["pearson"], "pearson_denoised": summary["denoised"]["pearson"],
            "auprc_macs3": summary["macs3_noisy"]["auprc"], "auprc_denoised": summary["denoised"]["auprc"],
            "equivalent_depth": summary["equivalent_depth"], "x_depth": summary["equivalent_depth_ratio"],
            **seconds}  # fmt: skip


def _print(rows: list[dict]) -> None:
    cols = list(rows[0])
    print("\t".join(cols))
    for r in rows:
        print("\t".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results/benchmarks/denoise")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2])
    parser.add_argument("--preset", choices=list(PRESETS), default="cpu")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prepare-only", action="store_true", help="make the pairs and MACS3 series, then stop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = read_chrom_sizes(SIZES)
    start = time.perf_counter()
    reads = _filtered_reads(args.out, sizes)
    series = depth_series_outputs(args.out / "series", SERIES)
    if not all(p.is_file() for p in series.values()):
        series = macs3_depth_series(reads, sizes, series, seed=101)
    clean = _pair(reads, sizes, args.out, args.fractions[0], 1, None)
    clean = {k: clean[k] for k in ("clean_bw", "clean_peaks")}
    pairs = {(f, s): _pair(reads, sizes, args.out, f, s, clean) for f in args.fractions for s in (1, 2)}
    print(f"# data: {time.perf_counter() - start:.0f} s (filtering, MACS3 series, pairs)")
    if args.prepare_only:
        return
    params, settings = PRESETS[args.preset]
    settings = {**settings, **({"epochs": args.epochs} if args.epochs else {})}
    rows = []
    for fraction in args.fractions:
        model = args.out / f"model_{args.preset}_f{fraction:g}"
        t0 = time.perf_counter()
        train_denoiser(pairs[(fraction, 1)]["noisy_bw"], clean["clean_bw"], clean["clean_peaks"], sizes,
                       denoiser_outputs(model),
                       valid_chroms=VALID, test_chroms=TEST, seed=1, device=args.device, threads=args.threads,
                       model_cfg={"name": "denoising_resnet", "params": params}, train_cfg=settings)  # fmt: skip
        t1 = time.perf_counter()
        for (f, s), pair in pairs.items():
            t2 = time.perf_counter()
            summary = _evaluate(model, pair, sizes, args.out / f"{model.name}_on_f{f:g}_s{s}", series, args)
            seconds = {"train_s": t1 - t0 if (f, s) == (fraction, 1) else 0.0, "eval_s": time.perf_counter() - t2}
            rows.append(_row(f"f{f:g}_s{s}", model.name, summary, seconds))
    _print(rows)


if __name__ == "__main__":
    main()
