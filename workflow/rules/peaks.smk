rule call_peaks:
    input:
        treatment="results/reads/{group}.{which}.tagAlign.gz",
        control=lambda wc: group_control(wc.group),
        sizes="results/genome/chrom.sizes",
        non_n="results/genome/non_n_bases.txt",
    output:
        peaks="results/peaks/macs3/{group}.{which}.narrowPeak",
        fe="results/signal/{group}.{which}.fe.bw",
        work=temp(directory("results/peaks/macs3/{group}.{which}_macs3")),
    log:
        "logs/call_peaks/{group}.{which}.log",
        macs3="logs/call_peaks/{group}.{which}.macs3.log",
    benchmark:
        "results/benchmarks/call_peaks/{group}.{which}.tsv"
    # a replicate or the pool: peaks and the fold-enrichment signal track
    wildcard_constraints:
        which=r"rep\d+|pooled",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 4),
        runtime=runtime(20, 60),
    params:
        assay=lambda wc: group_assay(wc.group),
        peaks=section_params(
            "peaks", ["pvalue", "max_peaks", "call_summits", "genome_size"]
        ),
    script:
        "../../scripts/call_peaks.py"


# a pseudo-replicate: peaks only, for the reproducibility of its replicate or pool (no signal track, so
# MACS3 writes no pileup bedGraphs: at hg38 size that is most of a call's time)
use rule call_peaks as call_peaks_pseudoreplicate with:
    output:
        peaks="results/peaks/macs3/{group}.{which}.narrowPeak",
        work=temp(directory("results/peaks/macs3/{group}.{which}_macs3")),
    wildcard_constraints:
        which=r"pr[12]|rep\d+\.pr[12]",


rule reproducible_peaks:
    input:
        unpack(peak_calls),
        sizes="results/genome/chrom.sizes",
        reference=config["peaks"]["reference"] or [],
        blacklist=config["genome"]["blacklist"] or [],
    output:
        conservative="results/peaks/{group}.conservative.narrowPeak",
        optimal="results/peaks/{group}.optimal.narrowPeak",
        relaxed="results/peaks/{group}.relaxed.narrowPeak",
        idr=directory("results/peaks/{group}.idr"),
        summary=report(
            "results/peaks/{group}.summary.json",
            caption="../report/peaks.rst",
            category="Peaks",
        ),
    log:
        "logs/reproducible_peaks/{group}.log",
    benchmark:
        "results/benchmarks/reproducible_peaks/{group}.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000),
        runtime=runtime(30),
    params:
        peaks=section_params(
            "peaks",
            ["reproducibility", "idr_threshold", "idr_rank", "relaxed", "max_peaks"],
        ),
        genome=section_params("genome", ["chroms", "exclude_chroms"]),
        calls=lambda wc: list(peak_calls(wc)),
        n_replicates=lambda wc: len(group_replicates(wc.group)),
        seed=config["seed"],
    script:
        "../../scripts/reproducible_peaks.py"
