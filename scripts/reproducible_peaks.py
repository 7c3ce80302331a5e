"""Snakemake adapter: a group's conservative, optimal and relaxed peak sets (ENCODE / ENCODE-DREAM)."""

from _bootstrap import setup

from cisflow.genome import read_chrom_sizes, select_chroms
from cisflow.peaksets import write_peak_sets

log = setup(snakemake)
opts = snakemake.params.peaks
genome = snakemake.params.genome
sizes = read_chrom_sizes(snakemake.input.sizes)
write_peak_sets(
    {name: snakemake.input[name] for name in snakemake.params.calls},
    snakemake.params.n_replicates,
    sizes,
    dict(snakemake.output.items()),
    method=opts["reproducibility"],
    threshold=opts["idr_threshold"],
    rank=opts["idr_rank"],
    relaxed=opts["relaxed"],
    max_peaks=opts["max_peaks"],
    blacklist=snakemake.input.blacklist or None,
    keep_chroms=select_chroms(sizes, genome.get("chroms"), genome.get("exclude_chroms", [])),
    reference=snakemake.input.reference or None,
    seed=snakemake.params.seed,
)
