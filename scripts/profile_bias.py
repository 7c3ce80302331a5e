"""Snakemake adapter: ChromBPNet's bias model of one ATAC group (low-count background regions)."""

from _bootstrap import setup

from cisflow.profile.pipeline import TRAIN_FILES, train_bias

log = setup(snakemake)
bias = snakemake.params.bias
train_bias(
    snakemake.input.train,
    snakemake.input.valid,
    {key: snakemake.output[key] for key in TRAIN_FILES},
    bias["params"],
    {**snakemake.params.train, "epochs": bias["epochs"]},
    snakemake.params.seed,
    threshold_factor=bias["threshold_factor"],
    device=snakemake.params.device,
    threads=snakemake.threads,
)
