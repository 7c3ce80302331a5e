"""Snakemake adapter: the QC table, MultiQC custom content and plots of every sample."""

from _bootstrap import setup

from cisflow.qc.pipeline import SampleInputs, group_inputs, run_qc

log = setup(snakemake)
opts = snakemake.params.qc
samples = [
    SampleInputs(s["sample"], s["group"], s["assay"], stats, tag)
    for s, stats, tag in zip(snakemake.params.samples, snakemake.input.stats, snakemake.input.tagalign, strict=True)
]
peak_sets = {name: list(snakemake.input[name]) for name in snakemake.params.peak_sets}
groups = {
    group: group_inputs(summary, {name: files[i] for name, files in peak_sets.items()}, snakemake.input.idr[i])
    for i, (group, summary) in enumerate(zip(snakemake.params.groups, snakemake.input.summary, strict=True))
}
outputs = {key: path for key, path in snakemake.output.items() if key != "idr"}
outputs |= {f"idr_{group}": path for group, path in zip(snakemake.params.groups, snakemake.output.idr, strict=True)}
run_qc(
    samples,
    groups,
    outputs,
    tss_bed=snakemake.input.tss or None,
    tss_standard=opts["tss_standard"],
    multiqc_dir="results",
    multiqc_report=snakemake.params.multiqc_report,
)
