"""Snakemake adapter: de novo seed motifs (enriched words of the training peaks) for motif-seeded filters."""

from _bootstrap import setup

from cisflow.denovo import discover_seed_motifs, seed_sequences, write_seed_motifs

log = setup(snakemake)
opts = dict(snakemake.params.opts)
window, ratio, max_peaks = opts.pop("window"), opts.pop("background_ratio"), opts.pop("max_peaks")
bound, background = seed_sequences(
    dict(zip(snakemake.params.tasks, snakemake.input.peaks, strict=True)),
    snakemake.input.labels,
    snakemake.input.genome,
    snakemake.input.splits,
    window=window,
    background_ratio=ratio,
    seed=snakemake.params.seed,
    max_peaks=max_peaks,
)
words = discover_seed_motifs(bound, background, **opts)
write_seed_motifs(words, snakemake.output.meme, snakemake.output.table)
