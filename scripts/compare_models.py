"""Snakemake adapter: one line per model and task, the CNN beside its baselines, and their curves overlaid."""

from pathlib import Path

from _bootstrap import setup

from cisflow.evaluate.compare import compare_metrics_files, plot_model_comparison

log = setup(snakemake)
files = {"cnn": snakemake.input.cnn} | {Path(p).parent.name: p for p in snakemake.input.baselines}
compare_metrics_files(files, snakemake.output.table)
predictions = {"cnn": snakemake.input.cnn_predictions}
predictions |= {Path(p).parent.name: p for p in snakemake.input.baseline_predictions}
plot_model_comparison(predictions, snakemake.output.curves)
