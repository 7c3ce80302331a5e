"""Snakemake adapter: train the configured model, or the pretrain model on its tasks (resumes from its checkpoint).

Simulations train on the simulated dataset; the genome track streams every bound bin of the
training chromosomes plus fresh unbound bins each epoch from the genome (at the negative ratio
splits.json records, with the configured signal bigWigs as extra input channels).
"""

from _bootstrap import setup

from cisflow.loader import train_from_genome
from cisflow.train import train_model

log = setup(snakemake)
outputs = {key: snakemake.output[key] for key in ("model", "meta", "history", "curve")}
common = dict(
    outputs=outputs | {"checkpoint": snakemake.params.checkpoint},
    model_cfg=snakemake.params.model,
    train_cfg=snakemake.params.train,
    seed=snakemake.params.seed,
    threads=snakemake.threads,
    device=snakemake.params.device,
    tasks=snakemake.params.get("tasks"),
)
if "labels" in snakemake.input.keys():
    train_from_genome(
        snakemake.input.labels,
        snakemake.input.genome,
        snakemake.input.splits,
        snakemake.input.valid,
        signal_bigwigs=snakemake.params.signal_bigwigs,
        **common,
    )
else:
    train_model(snakemake.input.train, snakemake.input.valid, **common)
