"""Snakemake adapter: chromosome sizes of the genome FASTA and its number of non-N bases."""

from _bootstrap import setup

from cisflow.genome import write_genome_sizes

log = setup(snakemake)
write_genome_sizes(snakemake.input.fasta, snakemake.output.sizes, snakemake.output.non_n)
