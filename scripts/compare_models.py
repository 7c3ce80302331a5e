"""Snakemake adapter: one line per model and task, the CNN beside its baselines, and their curves overlaid."""

from _bootstrap import setup

from cisflow.evaluate.compare import compare_metrics_files, plot_model_comparison

log = setup(snakemake)
names = snakemake.params.baselines
compare_metrics_files(
    {"cnn": snakemake.input.cnn} | dict(zip(names, snakemake.input.baselines, strict=True)), snakemake.output.table
)
plot_model_comparison(
    {"cnn": snakemake.input.cnn_predictions} | dict(zip(names, snakemake.input.baseline_predictions, strict=True)),
    snakemake.output.curves,
)
