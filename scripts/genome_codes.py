"""Snakemake adapter: the memory-mapped uint8 code cache of the genome and its number of non-N bases."""

from _bootstrap import setup

from cisflow.genome import write_code_cache

log = setup(snakemake)
write_code_cache(snakemake.input.fasta, snakemake.output.codes, snakemake.output.non_n)
