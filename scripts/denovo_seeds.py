"""Snakemake adapter: de novo seed motifs (enriched words of the training peaks) for motif-seeded filters."""

from _bootstrap import setup

from cisflow.denovo import find_seed_motifs

log = setup(snakemake)
find_seed_motifs(
    dict(zip(snakemake.params.tasks, snakemake.input.peaks, strict=True)),
    snakemake.input.labels,
    snakemake.input.genome,
    snakemake.input.splits,
    snakemake.output.meme,
    snakemake.output.table,
    seed=snakemake.params.seed,
    **snakemake.params.opts,
)
