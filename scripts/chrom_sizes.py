"""Snakemake adapter: chromosome sizes from the FASTA index."""

from _bootstrap import setup

from cisflow.genome import read_chrom_sizes, write_chrom_sizes

log = setup(snakemake)
write_chrom_sizes(snakemake.output.sizes, read_chrom_sizes(snakemake.input.fai))
