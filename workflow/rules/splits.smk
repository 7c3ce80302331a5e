rule datasets:
    input:
        labels="results/labels/labels.npz",
        codes=GENOME_CODES,
        signal=SIGNAL_FILES,
    output:
        train="results/data/train.npz",
        valid="results/data/valid.npz",
        test="results/data/test.npz",
        splits="results/data/splits.json",
    log:
        "logs/datasets/datasets.log",
    benchmark:
        "results/benchmarks/datasets/datasets.tsv"
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 0.3),
        runtime=runtime(20, 0, per_genome_gb=10),
    params:
        splits=section_params("splits"),
        signal_bigwigs=canonical(SIGNAL_BIGWIGS),
        seed=config["seed"],
    script:
        "../../scripts/datasets.py"


rule denovo_seeds:
    input:
        peaks=expand(
            "results/peaks/{group}.{peak_set}.narrowPeak",
            group=GROUPS,
            peak_set=config["labels"]["peak_set"],
        ),
        labels="results/labels/labels.npz",
        genome=GENOME_CODES,
        splits="results/data/splits.json",
    output:
        meme=DENOVO_SEEDS,
        table="results/denovo/seeds.tsv",
    log:
        "logs/denovo_seeds/denovo_seeds.log",
    benchmark:
        "results/benchmarks/denovo_seeds/denovo_seeds.tsv"
    conda:
        "../../envs/motifs.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1500, 1.1),
        runtime=runtime(15, 0, per_genome_gb=10),
    params:
        tasks=GROUPS,
        opts=section_params("denovo_seeds"),
        seed=config["seed"],
    script:
        "../../scripts/denovo_seeds.py"
