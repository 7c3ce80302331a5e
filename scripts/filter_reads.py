"""Snakemake adapter: filter one replicate's (or control's) reads into a tagAlign."""

from _bootstrap import setup

from cisflow.reads import filter_reads

log = setup(snakemake)
opts = snakemake.params.reads
filter_reads(
    snakemake.input.reads,
    snakemake.input.sizes,
    snakemake.output.tagalign,
    fmt=snakemake.params.fmt or None,
    assay=snakemake.params.assay,
    min_mapq=opts["min_mapq"],
    dedup=opts["dedup"],
    drop_chroms=opts["drop_chroms"],
    tn5_shift=opts["tn5_shift"],
    out_stats=snakemake.output.stats,
    reference=snakemake.input.reference,
)
