"""Snakemake adapter: TF-MoDISco patterns of one profile model's contribution scores and their JASPAR matches."""

from _bootstrap import setup

from cisflow.motifs import discover_motifs, motif_outputs

log = setup(snakemake)
opts = dict(snakemake.params.motifs)  # the section but enabled, method and truth (no planted truth here)
discover_motifs(
    snakemake.input.scores,
    motif_outputs(snakemake.output.folder),
    release=opts.pop("release"),
    taxon=opts.pop("taxon"),
    peaks=[snakemake.input.peaks],
    seed=snakemake.params.seed,
    **opts,
)
