"""Snakemake adapter: CPM-normalised cut-site coverage of one replicate as a bigWig."""

from _bootstrap import setup

from cisflow.reads import signal_bigwig

log = setup(snakemake)
signal_bigwig(snakemake.input.tagalign, snakemake.input.sizes, snakemake.output[0], bin_size=snakemake.params.bin_size)
