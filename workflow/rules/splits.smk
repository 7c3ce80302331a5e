rule datasets:
    input:
        labels="results/labels/labels.npz",
        codes=GENOME_CODES,
        signal=SIGNAL_BIGWIGS,
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
        mem_mb=8000,
        runtime=30,
    params:
        splits=config.get("splits", {}),
        signal_bigwigs=SIGNAL_BIGWIGS,
        seed=config["seed"],
    script:
        "../../scripts/datasets.py"
