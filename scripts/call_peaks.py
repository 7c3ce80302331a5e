"""Snakemake adapter: MACS3 peaks of one replicate, the pool (with its fold-enrichment track) or a pseudo-replicate."""

from _bootstrap import setup

from cisflow.genome import read_chrom_sizes
from cisflow.macs3 import call_peaks

log = setup(snakemake)
opts = snakemake.params.peaks
with open(snakemake.input.non_n, encoding="utf-8") as handle:
    non_n_bases = int(handle.read())
call_peaks(
    snakemake.input.treatment,
    snakemake.output.peaks,
    read_chrom_sizes(snakemake.input.sizes),
    control=snakemake.input.control[0] if snakemake.input.control else None,
    fmt="BED",
    assay=snakemake.params.assay,
    pvalue=opts["pvalue"],
    max_peaks=opts["max_peaks"],
    call_summits=opts["call_summits"] and snakemake.params.assay == "atac",
    work_dir=snakemake.output.work,
    macs3_log=snakemake.log.macs3,
    fe_bigwig=getattr(snakemake.output, "fe", None),  # none for a pseudo-replicate (rule call_peaks_pseudoreplicate)
    gsize=opts["genome_size"] if opts["genome_size"] is not None else non_n_bases,
)
