"""Snakemake adapter: a profile model's metrics on the held-out regions (bounds: the pseudo-replicates)."""

import os

from _bootstrap import setup

from cisflow.profile.pipeline import EVALUATION_FILES, evaluate_profile

log = setup(snakemake)
group = snakemake.wildcards.group
evaluate_profile(
    os.path.dirname(snakemake.input.model),
    snakemake.input.test,
    {key: snakemake.output[key] for key in EVALUATION_FILES},
    replicates=[{group: list(snakemake.input.pr1)}, {group: list(snakemake.input.pr2)}],
    seed=snakemake.params.seed,
    device=snakemake.params.device,
)
