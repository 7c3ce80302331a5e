"""Snakemake adapter: chrombpnet's checks of a ChromBPNet (bias counts, Tn5 footprint, bias motifs: TF or enzyme)."""

import os

from _bootstrap import setup

from cisflow.profile.pipeline import bias_checks

log = setup(snakemake)
matches = snakemake.input.bias_matches
bias_checks(
    snakemake.input.metrics,
    os.path.dirname(snakemake.input.model),
    snakemake.input.test,
    snakemake.output.checks,
    assay=snakemake.params.assay,
    bias_matches=os.path.join(matches[0], "jaspar_matches.tsv") if matches else None,
    bias_patterns=snakemake.input.bias_patterns[0] if snakemake.input.bias_patterns else None,
    seed=snakemake.params.seed,
    device=snakemake.params.device,
)
