"""Snakemake adapter: DeepSHAP of one profile model's heads on its peaks (npz for TF-MoDISco, bigWigs)."""

import os

from _bootstrap import setup

from cisflow.genome import read_chrom_sizes
from cisflow.profile.pipeline import interpret_profile

log = setup(snakemake)
opts, out = snakemake.params.interpret, snakemake.output
targets = opts["targets"]
outputs = dict(zip(targets, out.scores, strict=True)) | {"summary": out.summary}
outputs |= {f"{t}_bw": bw for t, bw in zip(targets, out.tracks, strict=True)}
interpret_profile(
    os.path.dirname(snakemake.input.model),
    list(snakemake.input.data),
    outputs,
    head=snakemake.wildcards.head,
    max_regions=opts["max_regions"],
    n_references=opts["n_references"],
    seed=snakemake.params.seed,
    device=snakemake.params.device,
    chrom_sizes=read_chrom_sizes(snakemake.input.sizes),
)
