"""Snakemake adapter: base-resolution count bigWigs of one group's filtered reads (cisflow.profile)."""

from _bootstrap import setup

from cisflow.profile.pipeline import make_tracks
from cisflow.profile.tracks import TRACK_STRANDS

log = setup(snakemake)
out = snakemake.output
assay = snakemake.params.assay
paths = [out.plus, out.minus] if assay == "chip" else [out.bw]
make_tracks(
    snakemake.input.reads,
    snakemake.input.sizes,
    dict(zip(TRACK_STRANDS[assay], paths, strict=True)),
    assay,
    shift=snakemake.params.shift,
    genome=snakemake.input.codes,
    report=out.report,
    seed=snakemake.params.seed,
)
