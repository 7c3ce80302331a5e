"""Snakemake adapter: the model's test-chromosome predictions as DREAM submission files, one per task."""

from _bootstrap import setup

from cisflow.submissions import export_submissions

log = setup(snakemake)
export_submissions(snakemake.input.predictions, snakemake.input.test, snakemake.params.out_dir)
