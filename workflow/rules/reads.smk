localrules:
    chrom_sizes,


rule genome_fasta:
    input:
        fasta=config.get("genome", {}).get("fasta", []),
    output:
        fasta=GENOME_FASTA,
        fai=GENOME_INDEX[0],
        gzi=GENOME_INDEX[1:],
    log:
        "logs/genome_fasta/genome_fasta.log",
    benchmark:
        "results/benchmarks/genome_fasta/genome_fasta.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=runtime(10, 5),
    script:
        "../../scripts/genome_fasta.py"


rule chrom_sizes:
    input:
        fai=f"{GENOME_FASTA}.fai",
    output:
        sizes="results/genome/chrom.sizes",
    log:
        "logs/chrom_sizes/chrom_sizes.log",
    benchmark:
        "results/benchmarks/chrom_sizes/chrom_sizes.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(200),
        runtime=runtime(2),
    script:
        "../../scripts/chrom_sizes.py"


rule genome_codes:
    input:
        fasta=GENOME_FASTA,
        fai=f"{GENOME_FASTA}.fai",
    output:
        codes=GENOME_CODES,
        index=GENOME_CODES.removesuffix(".npy") + ".json",
        non_n="results/genome/non_n_bases.txt",
    log:
        "logs/genome_codes/genome_codes.log",
    benchmark:
        "results/benchmarks/genome_codes/genome_codes.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=runtime(10, 0, per_genome_gb=5),
    script:
        "../../scripts/genome_codes.py"


rule filter_reads:
    input:
        reads=lambda wc: sample_row(wc.sample)["reads_path"],
        sizes="results/genome/chrom.sizes",
        # a CRAM is decoded with the genome it was made against (unused for other formats)
        reference=GENOME_FASTA,
        reference_index=GENOME_INDEX,
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
        mem_mb=mem_mb(1000),
        runtime=runtime(15, 15),
    params:
        fmt=lambda wc: sample_row(wc.sample).get("format"),
        assay=lambda wc: sample_row(wc.sample)["assay"],
        reads=section_params("reads", drop=["signal_bin_size"]),
    script:
        "../../scripts/filter_reads.py"


rule filter_control:
    input:
        reads=lambda wc: control_path(wc.control),
        sizes="results/genome/chrom.sizes",
        reference=GENOME_FASTA,
        reference_index=GENOME_INDEX,
    output:
        tagalign="results/reads/controls/{control}.tagAlign.gz",
        stats="results/reads/controls/{control}.stats.json",
    log:
        "logs/filter_control/{control}.log",
    benchmark:
        "results/benchmarks/filter_control/{control}.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1000),
        runtime=runtime(15, 15),
    params:
        fmt=None,
        assay="chip",
        reads=section_params("reads", drop=["signal_bin_size"]),
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
    benchmark:
        "results/benchmarks/pool_reads/{group}.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=runtime(10, 20),
    script:
        "../../scripts/pool_reads.py"


rule pool_controls:
    input:
        lambda wc: expand(
            "results/reads/controls/{control}.tagAlign.gz",
            control=group_control_ids(wc.group),
        ),
    output:
        "results/reads/{group}.control.tagAlign.gz",
    log:
        "logs/pool_controls/{group}.log",
    benchmark:
        "results/benchmarks/pool_controls/{group}.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=runtime(10, 20),
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
    benchmark:
        "results/benchmarks/pseudoreplicates/{group}.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=runtime(10, 40),
    params:
        seed=config["seed"],
    script:
        "../../scripts/pseudoreplicates.py"


rule replicate_pseudoreplicates:
    input:
        "results/reads/{sample}.tagAlign.gz",
    output:
        pr1="results/reads/{sample}.pr1.tagAlign.gz",
        pr2="results/reads/{sample}.pr2.tagAlign.gz",
    log:
        "logs/replicate_pseudoreplicates/{sample}.log",
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
    benchmark:
        "results/benchmarks/signal_bigwig/{sample}.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 0, per_genome_gb=500),
        runtime=runtime(10, 20),
    params:
        bin_size=config["reads"]["signal_bin_size"],
    script:
        "../../scripts/signal_bigwig.py"
