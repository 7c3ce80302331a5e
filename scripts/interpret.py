"""Snakemake adapter: contribution scores for test positives (and scoring against the truth)."""

from _bootstrap import setup

from cisflow.genome import read_chrom_sizes
from cisflow.interpret.pipeline import interpret_model

log = setup(snakemake)
opts = snakemake.params.interpret
interpret_model(
    snakemake.input.meta,
    list(snakemake.input.data),
    snakemake.params.out_dir,
    methods=opts["methods"],
    task=opts["task"],
    max_sequences=opts["max_sequences"],
    embeddings_tsv=snakemake.input.embeddings or None,
    motifs=snakemake.params.motifs or None,
    seed=snakemake.params.seed,
    n_references=opts["deepshap_references"],
    precision=opts["deepshap_precision"],
    summary=snakemake.output.summary,
    chrom_sizes=read_chrom_sizes(snakemake.input.sizes) if snakemake.input.sizes else None,
    device=snakemake.params.device,
)
