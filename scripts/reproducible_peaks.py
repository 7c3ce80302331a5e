"""Snakemake adapter: conservative (IDR / overlap) and relaxed peak sets of one group."""

from _bootstrap import setup

from cisflow.genome import read_chrom_sizes
from cisflow.peaks import reproducible_peak_sets

log = setup(snakemake)
opts = snakemake.params.peaks
reproducible_peak_sets(
    list(snakemake.input.replicates),
    snakemake.input.pooled,
    (snakemake.input.pr1, snakemake.input.pr2),
    read_chrom_sizes(snakemake.input.sizes),
    dict(snakemake.output.items()),
    method=opts["reproducibility"],
    threshold=opts["idr_threshold"],
    rank=opts["idr_rank"],
    max_peaks=opts["max_peaks"],
    reference=snakemake.input.reference or None,
)
