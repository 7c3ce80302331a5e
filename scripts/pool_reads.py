"""Snakemake adapter: pool the replicates' (or controls') tagAligns of a group."""

from _bootstrap import setup

from cisflow.reads import pool_reads

log = setup(snakemake)
pool_reads(list(snakemake.input), snakemake.output[0])
