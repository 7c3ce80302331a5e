"""Snakemake adapter: metrics of one denoised sample on the held-out chromosomes, beside MACS3."""

import json

from _bootstrap import setup

from cisflow.denoise.pipeline import evaluate_denoising
from cisflow.genome import read_chrom_sizes

log = setup(snakemake)
inp, out = snakemake.input, snakemake.output
with open(inp.pair, encoding="utf-8") as handle:
    depth = json.load(handle)["depth"]
evaluate_denoising(
    {"clean": inp.clean, "noisy": inp.noisy, "denoised": inp.track, "prob": inp.prob},
    {"clean": inp.clean_peaks, "noisy_peaks": inp.macs3},
    read_chrom_sizes(inp.sizes),
    snakemake.params.test_chroms,
    out.tsv,
    depth=depth,
    depth_series=dict(zip(snakemake.params.depths, inp.series, strict=True)),
    out_png=out.png,
    out_json=out.json,
    sample=snakemake.params.label,
)
