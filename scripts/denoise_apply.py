"""Snakemake adapter: denoise one noisy sample with a trained model (track, peak probability, peak calls)."""

from _bootstrap import setup

from cisflow.denoise.pipeline import denoise_sample
from cisflow.genome import read_chrom_sizes

log = setup(snakemake)
opts, out = snakemake.params.denoise, snakemake.output
denoise_sample(
    snakemake.input.meta,
    snakemake.input.noisy,
    read_chrom_sizes(snakemake.input.sizes),
    {"track": out.track, "prob": out.prob, "peaks": out.peaks},
    threshold=opts["threshold"],
    min_length=opts["min_peak_length"],
    device=snakemake.params.device,
    threads=snakemake.threads,
)
