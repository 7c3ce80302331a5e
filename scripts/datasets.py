"""Snakemake adapter: held-out-chromosome (or region) splits and their train / valid / test coordinate datasets."""

from _bootstrap import setup

from cisflow.data import datasets_from_files

log = setup(snakemake)
opts = dict(snakemake.params.splits)
datasets_from_files(
    snakemake.input.labels,
    snakemake.input.codes,
    {split: snakemake.output[split] for split in ("train", "valid", "test")},
    valid_chroms=opts.pop("valid_chroms"),
    test_chroms=opts.pop("test_chroms"),
    preset=opts.pop("preset"),
    splits_json=snakemake.output.splits,
    seed=snakemake.params.seed,
    signal_bigwigs=snakemake.params.signal_bigwigs,
    with_codes=False,  # coordinate datasets: later rules make the windows from the code cache
    **opts,
)
