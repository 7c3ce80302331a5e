"""Snakemake adapter: the model's test-chromosome predictions as DREAM submission files, one per task."""

from _bootstrap import setup

from cisflow.submissions import export_submissions

log = setup(snakemake)
outputs = dict(zip(snakemake.params.tasks, snakemake.output, strict=True))
export_submissions(snakemake.input.predictions, snakemake.input.test, outputs)
