"""Snakemake adapter: ENCODE-DREAM scores and combined rank of the model and its baselines."""

from pathlib import Path

from _bootstrap import setup

from cisflow.evaluate.compare import compare_on_heldout

log = setup(snakemake)
predictions = {"cnn": snakemake.input.cnn} | {Path(p).parent.name: p for p in snakemake.input.baselines}
compare_on_heldout(predictions, snakemake.input.test, snakemake.output[0], seed=snakemake.params.seed)
