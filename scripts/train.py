"""Snakemake adapter: train the configured model (resumes from results/train/checkpoint.pt)."""

from _bootstrap import setup

from cisflow.train import train_model

log = setup(snakemake)
train_model(
    snakemake.input.train,
    snakemake.input.valid,
    snakemake.params.out_dir,
    snakemake.params.model,
    snakemake.params.train,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
