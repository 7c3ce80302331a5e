"""Snakemake adapter: genome-wide binned labels (one column per task) from the peak sets."""

from _bootstrap import setup

from cisflow.labels import labels_from_files

log = setup(snakemake)
tasks = snakemake.params.tasks
labels_from_files(
    dict(zip(tasks, snakemake.input.bound, strict=True)),
    dict(zip(tasks, snakemake.input.relaxed, strict=True)),
    snakemake.output.labels,
    genome=snakemake.input.codes,
    blacklist=snakemake.input.blacklist or None,
    dream_tsv=snakemake.output.dream,
    summary=snakemake.output.summary,
    chroms=snakemake.params.chroms,
    exclude_chroms=snakemake.params.exclude_chroms,
    **snakemake.params.labels,
)
