"""Snakemake adapter: the enzyme's insertion matrix from a group's pooled cut sites (cisflow.profile.enzyme)."""

from _bootstrap import setup

from cisflow.profile.pipeline import enzyme_matrix

log = setup(snakemake)
enzyme_matrix(
    snakemake.input.reads,
    snakemake.input.codes,
    snakemake.input.tracks,
    snakemake.output.meme,
    report=snakemake.output.report,
    seed=snakemake.params.seed,
)
