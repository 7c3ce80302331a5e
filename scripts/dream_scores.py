"""Snakemake adapter: ENCODE-DREAM scores and combined rank of the model and its baselines."""

from _bootstrap import setup

from cisflow.evaluate.compare import compare_on_heldout

log = setup(snakemake)
predictions = {"cnn": snakemake.input.cnn} | dict(
    zip(snakemake.params.baselines, snakemake.input.baselines, strict=True)
)
compare_on_heldout(predictions, snakemake.input.test, snakemake.output[0], seed=snakemake.params.seed)
