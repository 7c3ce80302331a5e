"""Snakemake adapter: a group's BPNet (ChIP, with its control) or ChromBPNet (ATAC, on the frozen bias model)."""

import os

from _bootstrap import setup

from cisflow.profile.pipeline import TRAIN_FILES, train_profile

log = setup(snakemake)
bias = snakemake.input.bias
train_profile(
    snakemake.input.train,
    snakemake.input.valid,
    {key: snakemake.output[key] for key in TRAIN_FILES},
    {"name": snakemake.params.model, "params": dict(snakemake.params.params)},
    snakemake.params.train,
    snakemake.params.seed,
    bias_model=os.path.dirname(bias[0]) if bias else None,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
