"""Snakemake adapter: a group's profile datasets (peaks + GC-matched background, held out as splits.*)."""

from _bootstrap import setup

from cisflow.profile.pipeline import make_datasets

log = setup(snakemake)
opts, splits = snakemake.params.profile, snakemake.params.splits
group = snakemake.wildcards.group
make_datasets(
    snakemake.input.codes,
    snakemake.input.peaks,
    {group: list(snakemake.input.tracks)},
    dict(zip(("train", "valid", "test"), snakemake.output.data, strict=True)),
    control=list(snakemake.input.control),
    strands=snakemake.params.strands,
    input_length=opts["input_length"],
    output_length=opts["output_length"],
    jitter=opts["jitter"],
    background_ratio=opts["background_ratio"],
    valid_chroms=splits["valid_chroms"],
    test_chroms=splits["test_chroms"],
    valid_regions=splits["valid_regions"],
    test_regions=splits["test_regions"],
    regions_bed=snakemake.output.bed,
    seed=snakemake.params.seed,
)
