"""Snakemake adapter: simulate sequences with planted motifs and split them."""

from _bootstrap import setup

from cisflow.simulate import simulate_from_config

log = setup(snakemake)
simulate_from_config(snakemake.params.simulation, snakemake.params.seed, dict(snakemake.output.items()))
