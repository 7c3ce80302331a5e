"""Snakemake adapter: one line per model and task, the CNN beside its baselines."""

from pathlib import Path

from _bootstrap import setup

from cisflow.baselines import compare_metrics_files

log = setup(snakemake)
files = {"cnn": snakemake.input.cnn} | {Path(p).parent.name: p for p in snakemake.input.baselines}
compare_metrics_files(files, snakemake.output[0])
