"""Snakemake adapter: fit and score the PWM-scan, k-mer and gapped k-mer baselines on the model's splits."""

from _bootstrap import setup

from cisflow.baselines.pipeline import run_baselines

log = setup(snakemake)
opts, out = snakemake.params.baselines, snakemake.output
kinds = {"metrics": out.metrics, "table": out.tables, "predictions": out.predictions, "curves": out.curves}
outputs = {name: {k: paths[i] for k, paths in kinds.items()} for i, name in enumerate(snakemake.params.names)}
run_baselines(
    snakemake.input.train,
    snakemake.input.valid,
    snakemake.input.test,
    outputs | {"table": out.table},
    motif_specs=opts["motifs"] or None,
    k=opts["k"],
    C=opts["C"],
    seed=snakemake.params.seed,
    fdrs=snakemake.params.fdrs,
    kmer=opts["kmer"],
    gkm=opts["gkm"],
    genome=snakemake.input.get("genome"),
    max_train=opts["max_train"],
    threads=snakemake.threads,
)
