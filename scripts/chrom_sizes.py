"""Snakemake adapter: chromosome sizes of the genome FASTA."""

from _bootstrap import setup

from cisflow.genome import write_genome_sizes

log = setup(snakemake)
write_genome_sizes(snakemake.input.fasta, snakemake.output[0])
