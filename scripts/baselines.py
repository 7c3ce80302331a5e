"""Snakemake adapter: fit and score the PWM-scan and k-mer baselines on the model's splits."""

from _bootstrap import setup

from cisflow.baselines.pipeline import run_baselines

log = setup(snakemake)
opts = snakemake.params.baselines
run_baselines(
    snakemake.input.train,
    snakemake.input.valid,
    snakemake.input.test,
    snakemake.params.out_dir,
    motif_specs=opts["motifs"] or None,
    k=opts["k"],
    C=opts["C"],
    seed=snakemake.params.seed,
    fdrs=snakemake.params.fdrs,
    kmer=opts["kmer"],
    gkm=opts["gkm"],
)
