rule chrom_sizes:
    input:
        fasta=config.get("genome", {}).get("fasta", []),
    output:
        sizes="results/genome/chrom.sizes",
        non_n="results/genome/non_n_bases.txt",
    log:
        "logs/chrom_sizes/chrom_sizes.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/chrom_sizes.py"


rule filter_reads:
    input:
        reads=lambda wc: sample_row(wc.sample)["reads_path"],
        sizes="results/genome/chrom.sizes",
    output:
        tagalign="results/reads/{sample}.tagAlign.gz",
        stats="results/reads/{sample}.stats.json",
    log:
        "logs/filter_reads/{sample}.log",
    benchmark:
        "results/benchmarks/filter_reads/{sample}.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        fmt=lambda wc: sample_row(wc.sample).get("format"),
        assay=lambda wc: sample_row(wc.sample)["assay"],
        reads=config.get("reads", {}),
    script:
        "../../scripts/filter_reads.py"


rule filter_control:
    input:
        reads=lambda wc: sample_row(wc.sample)["control_path"],
        sizes="results/genome/chrom.sizes",
    output:
        tagalign="results/reads/{sample}.control.tagAlign.gz",
        stats="results/reads/{sample}.control.stats.json",
    log:
        "logs/filter_control/{sample}.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        fmt=None,
        assay="chip",
        reads=config.get("reads", {}),
    script:
        "../../scripts/filter_reads.py"


rule pool_reads:
    input:
        lambda wc: expand(
            "results/reads/{sample}.tagAlign.gz",
            sample=group_samples(wc.group)["sample"],
        ),
    output:
        "results/reads/{group}.pooled.tagAlign.gz",
    log:
        "logs/pool_reads/{group}.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/pool_reads.py"


rule pool_controls:
    input:
        lambda wc: expand(
            "results/reads/{sample}.control.tagAlign.gz",
            sample=group_samples(wc.group).query("control != ''")["sample"],
        ),
    output:
        "results/reads/{group}.control.tagAlign.gz",
    log:
        "logs/pool_controls/{group}.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../../scripts/pool_reads.py"


rule pseudoreplicates:
    input:
        "results/reads/{group}.pooled.tagAlign.gz",
    output:
        pr1="results/reads/{group}.pr1.tagAlign.gz",
        pr2="results/reads/{group}.pr2.tagAlign.gz",
    log:
        "logs/pseudoreplicates/{group}.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        seed=config["seed"],
    script:
        "../../scripts/pseudoreplicates.py"


rule signal_bigwig:
    input:
        tagalign="results/reads/{sample}.tagAlign.gz",
        sizes="results/genome/chrom.sizes",
    output:
        "results/signal/{sample}.cpm.bw",
    log:
        "logs/signal_bigwig/{sample}.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        bin_size=config.get("reads", {}).get("signal_bin_size", 10),
    script:
        "../../scripts/signal_bigwig.py"
