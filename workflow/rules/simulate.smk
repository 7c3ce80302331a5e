rule simulate:
    output:
        fasta="results/simulate/sequences.fa.gz",
        labels="results/simulate/labels.tsv",
        embeddings="results/simulate/embeddings.tsv",
        train="results/data/train.npz",
        valid="results/data/valid.npz",
        test="results/data/test.npz",
    params:
        simulation=config["simulation"],
        seed=config["seed"],
    log:
        "logs/simulate/simulate.log",
    benchmark:
        "results/benchmarks/simulate/simulate.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/torch.yaml"
    script:
        "../../scripts/simulate.py"
