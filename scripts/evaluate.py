"""Snakemake adapter: score the trained model on the held-out test split."""

from _bootstrap import setup

from cisflow.evaluate.pipeline import EVALUATION_FILES, evaluate_model

log = setup(snakemake)
evaluate_model(
    snakemake.input.meta,
    snakemake.input.test,
    {key: snakemake.output[key] for key in EVALUATION_FILES},
    fdrs=snakemake.params.evaluate["fdrs"],
    batch_size=snakemake.params.evaluate["batch_size"],
    reverse_complement_average=snakemake.params.evaluate["reverse_complement_average"],
    device=snakemake.params.device,
    genome=snakemake.input.get("genome"),
    signal_bigwigs=snakemake.params.signal_bigwigs,
)
