"""Snakemake adapter: one table of a group's profile metrics, chrombpnet's checks and motif matches."""

import os

from _bootstrap import setup

from cisflow.profile.pipeline import profile_summary

log = setup(snakemake)
folders = dict(zip(snakemake.params.names, snakemake.input.matches, strict=True))
profile_summary(
    snakemake.input.metrics,
    snakemake.output.summary,
    checks_tsv=snakemake.input.checks[0] if snakemake.input.checks else None,
    motif_matches={name: os.path.join(path, "jaspar_matches.tsv") for name, path in folders.items()},
)
