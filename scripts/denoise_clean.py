"""Snakemake adapter: the clean side of the denoising pairs (the full library's track and MACS3 peaks)."""

from _bootstrap import setup

from cisflow.denoise.pairs import macs3_settings, clean_target
from cisflow.genome import read_chrom_sizes

log = setup(snakemake)
macs3 = macs3_settings(snakemake.params.peaks, snakemake.input.non_n)
clean_target(
    snakemake.input.reads,
    read_chrom_sizes(snakemake.input.sizes),
    {"clean_bw": snakemake.output.bw, "clean_peaks": snakemake.output.peaks},
    flank=snakemake.params.flank,
    macs3=macs3,
)
