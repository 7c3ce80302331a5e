rule datasets:
    input:
        labels="results/labels/labels.npz",
        fasta=config.get("genome", {}).get("fasta", []),
    output:
        train="results/data/train.npz",
        valid="results/data/valid.npz",
        test="results/data/test.npz",
        splits="results/data/splits.json",
    params:
        splits=config.get("splits", {}),
        seed=config["seed"],
    log:
        "logs/datasets/datasets.log",
    benchmark:
        "results/benchmarks/datasets/datasets.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    conda:
        "../../envs/reads.yaml"
    script:
        "../../scripts/datasets.py"
