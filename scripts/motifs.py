"""Snakemake adapter: TF-MoDISCO patterns, their JASPAR matches and motif hits per region."""

from _bootstrap import setup

from cisflow.motifs import OUTPUTS, discover_motifs

log = setup(snakemake)
opts = dict(snakemake.params.motifs)  # the section but enabled and method (which choose the rule's inputs)
discover_motifs(
    snakemake.input.scores,
    {key: snakemake.output[key] for key in OUTPUTS},
    release=opts.pop("release"),
    taxon=opts.pop("taxon"),
    truth_motifs=opts.pop("truth") or None,
    embeddings_tsv=snakemake.input.embeddings or None,
    peaks=list(snakemake.input.peaks),
    seed=snakemake.params.seed,
    comparison_tsv=snakemake.input.comparison,
    **opts,
)
