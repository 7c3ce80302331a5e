"""Snakemake adapter: the indexed FASTA the workflow reads (a link, or a bgzip copy of a plain-gzip input)."""

from _bootstrap import setup

from cisflow.genome import prepare_fasta

log = setup(snakemake)
prepare_fasta(snakemake.input.fasta, snakemake.output.fasta)
