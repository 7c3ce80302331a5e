"""Snakemake adapter: train the denoising model of one input depth (resumes from its checkpoint)."""

from _bootstrap import setup

from cisflow.denoise.train import TRAIN_DEFAULTS, train_denoiser
from cisflow.genome import read_chrom_sizes

log = setup(snakemake)
opts = snakemake.params.denoise
train_denoiser(
    snakemake.input.noisy,
    snakemake.input.clean,
    snakemake.input.peaks,
    read_chrom_sizes(snakemake.input.sizes),
    {key: snakemake.output[key] for key in ("model", "meta", "history")} | {"checkpoint": snakemake.params.checkpoint},
    valid_chroms=snakemake.params.valid_chroms,
    test_chroms=snakemake.params.test_chroms,
    model_cfg=opts["model"],
    train_cfg={key: opts[key] for key in TRAIN_DEFAULTS},
    flank=opts["flank"],
    seed=snakemake.params.seed,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
