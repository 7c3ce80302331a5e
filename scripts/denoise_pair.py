"""Snakemake adapter: one noisy sample (a seeded subsample of the fragments), its track and MACS3 peaks."""

from _bootstrap import setup

from cisflow.denoise.pairs import macs3_settings, make_training_pair
from cisflow.genome import read_chrom_sizes

log = setup(snakemake)
macs3 = macs3_settings(snakemake.params.peaks, snakemake.input.non_n)
out = snakemake.output
make_training_pair(
    snakemake.input.reads,
    read_chrom_sizes(snakemake.input.sizes),
    {"noisy_reads": out.reads, "noisy_bw": out.bw, "noisy_peaks": out.peaks, "stats": out.stats},
    fraction=float(snakemake.wildcards.fraction),
    seed=int(snakemake.wildcards.seed),
    flank=snakemake.params.flank,
    macs3=macs3,
)
