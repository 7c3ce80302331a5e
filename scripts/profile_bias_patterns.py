"""Snakemake adapter: the bias model's patterns against JASPAR and the data's enzyme matrix (bias_patterns.tsv)."""

import os

from _bootstrap import setup

from cisflow.profile.bias_motifs import bias_pattern_table

log = setup(snakemake)
folder = snakemake.input.motifs[0]
bias_pattern_table(
    os.path.join(folder, "jaspar_matches.tsv"),
    os.path.join(folder, "patterns.meme"),
    snakemake.input.enzyme,
    snakemake.output.patterns,
    release=snakemake.params.motifs["release"],
    taxon=snakemake.params.motifs["taxon"],
)
