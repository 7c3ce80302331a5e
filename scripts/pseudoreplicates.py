"""Snakemake adapter: split the pooled reads of a group into two pseudo-replicates."""

from _bootstrap import setup

from cisflow.reads import pseudo_replicates

log = setup(snakemake)
pseudo_replicates(snakemake.input[0], snakemake.output.pr1, snakemake.output.pr2, seed=snakemake.params.seed)
