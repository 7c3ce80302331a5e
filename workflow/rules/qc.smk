QC_PEAK_SETS = ["conservative", "optimal", "relaxed"]


rule qc:
    input:
        stats=expand("results/reads/{sample}.stats.json", sample=SAMPLES["sample"]),
        tagalign=expand("results/reads/{sample}.tagAlign.gz", sample=SAMPLES["sample"]),
        summary=expand("results/peaks/{group}.summary.json", group=GROUPS),
        conservative=expand(
            "results/peaks/{group}.conservative.narrowPeak", group=GROUPS
        ),
        optimal=expand("results/peaks/{group}.optimal.narrowPeak", group=GROUPS),
        relaxed=expand("results/peaks/{group}.relaxed.narrowPeak", group=GROUPS),
        idr=expand("results/peaks/{group}.idr", group=GROUPS),
        tss=config["qc"]["tss"] or [],
    output:
        table=report(
            "results/qc/qc.tsv",
            caption="../report/qc_table.rst",
            category="QC",
            subcategory="Table",
        ),
        general="results/qc/cisflow_general_stats_mqc.tsv",
        full="results/qc/cisflow_qc_mqc.tsv",
        fragments_mqc="results/qc/fragment_lengths_mqc.json",
        tss_mqc="results/qc/tss_profile_mqc.json",
        xcor_mqc="results/qc/cross_correlation_mqc.json",
        filters=report(
            "results/qc/read_filters_mqc.png",
            caption="../report/qc_filters.rst",
            category="QC",
            subcategory="Reads",
        ),
        fragments=report(
            "results/qc/fragment_lengths.png",
            caption="../report/qc_fragments.rst",
            category="QC",
            subcategory="Reads",
        ),
        tss=report(
            "results/qc/tss_profile.png",
            caption="../report/qc_tss.rst",
            category="QC",
            subcategory="Reads",
        ),
        xcor=report(
            "results/qc/cross_correlation.png",
            caption="../report/qc_xcor.rst",
            category="QC",
            subcategory="Reads",
        ),
        idr=[
            report(
                f"results/qc/idr_{group}_mqc.png",
                caption="../report/qc_idr.rst",
                category="QC",
                subcategory="Reproducibility",
            )
            for group in GROUPS
        ],
    log:
        "logs/qc/qc.log",
    benchmark:
        "results/benchmarks/qc/qc.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        samples=lambda wc: SAMPLES[["sample", "group", "assay"]].to_dict("records"),
        groups=GROUPS,
        peak_sets=QC_PEAK_SETS,
        qc=section_params("qc", ["tss_standard"]),
        multiqc_report=(
            "results/qc/multiqc_report.html" if config["qc"]["multiqc"] else None
        ),
    script:
        "../../scripts/qc.py"
