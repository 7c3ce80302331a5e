"""Snakemake adapter: contribution scores (genome track: one summit-centred window per peak; simulations:
bound windows) and scoring against the truth."""

from pathlib import Path

from _bootstrap import setup

from cisflow.genome import read_chrom_sizes
from cisflow.interpret.pipeline import interpret_model

log = setup(snakemake)
opts, out = snakemake.params.interpret, snakemake.output
outputs = {
    "scores": dict(zip(opts["methods"], out.scores, strict=True)),
    "tracks": dict(zip(opts["methods"], out.tracks, strict=False)),  # genome track only
    "positional_prc": out.positional_prc,  # simulation track only (else empty)
    "filters": out.filters,
    "filter_logos": out.filter_logos,
    "summary": out.summary,
}
interpret_model(
    snakemake.input.meta,
    list(snakemake.input.data),
    outputs,
    methods=opts["methods"],
    task=opts["task"],
    max_sequences=opts["max_sequences"],
    embeddings_tsv=snakemake.input.embeddings or None,
    motifs=snakemake.params.motifs or None,
    seed=snakemake.params.seed,
    n_references=opts["deepshap_references"],
    precision=opts["deepshap_precision"],
    chrom_sizes=read_chrom_sizes(snakemake.input.sizes) if snakemake.input.sizes else None,
    device=snakemake.params.device,
    genome=snakemake.input.get("genome"),
    signal_bigwigs=snakemake.params.signal_bigwigs,
    # results/peaks/{group}.{peak_set}.narrowPeak: one summit-centred window per peak of the task's group
    peaks={Path(p).name.rsplit(".", 2)[0]: p for p in snakemake.input.peaks} or None,
)
