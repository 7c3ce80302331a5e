rule simulate:
    output:
        fasta="results/simulate/sequences.fa.gz",
        labels="results/simulate/labels.tsv",
        embeddings="results/simulate/embeddings.tsv",
        train="results/data/train.npz",
        valid="results/data/valid.npz",
        test="results/data/test.npz",
    log:
        "logs/simulate/simulate.log",
    benchmark:
        "results/benchmarks/simulate/simulate.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000),
        runtime=runtime(30),
    params:
        simulation=section_params("simulation"),
        seed=config["seed"],
    script:
        "../../scripts/simulate.py"
