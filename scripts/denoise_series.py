"""Snakemake adapter: MACS3 on one nested subsample of a library (a point of the equivalent-depth curve)."""

from _bootstrap import setup

from cisflow.denoise.pairs import macs3_settings, macs3_depth_series
from cisflow.genome import read_chrom_sizes

log = setup(snakemake)
macs3 = macs3_settings(snakemake.params.peaks, snakemake.input.non_n)
macs3_depth_series(
    snakemake.input.reads,
    read_chrom_sizes(snakemake.input.sizes),
    {float(snakemake.wildcards.depth): snakemake.output.peaks},
    seed=snakemake.params.seed,
    macs3=macs3,
)
