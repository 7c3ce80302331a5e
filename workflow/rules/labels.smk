rule labels:
    input:
        bound=expand(
            "results/peaks/{group}.{peak_set}.narrowPeak",
            group=GROUPS,
            peak_set=config["labels"]["peak_set"],
        ),
        relaxed=expand("results/peaks/{group}.relaxed.narrowPeak", group=GROUPS),
        codes=GENOME_CODES,
        blacklist=config["genome"]["blacklist"] or [],
    output:
        labels="results/labels/labels.npz",
        dream="results/labels/labels.tsv.gz",
        summary=report(
            "results/labels/summary.tsv",
            caption="../report/labels.rst",
            category="Labels",
        ),
    log:
        "logs/labels/labels.log",
    benchmark:
        "results/benchmarks/labels/labels.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1500, 1.1),
        runtime=runtime(15, 0, per_genome_gb=10),
    params:
        tasks=GROUPS,
        labels=section_params("labels", drop=["peak_set"]),
        chroms=config["genome"]["chroms"],
        exclude_chroms=config["genome"]["exclude_chroms"],
    script:
        "../../scripts/labels.py"
