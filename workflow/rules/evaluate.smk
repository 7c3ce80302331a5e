rule evaluate:
    input:
        model="results/train/model.safetensors",
        meta="results/train/model.json",
        test="results/data/test.npz",
    output:
        metrics=report(
            "results/evaluate/metrics.json",
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        table="results/evaluate/metrics.tsv",
        predictions="results/evaluate/predictions.npz",
        curves=report(
            "results/evaluate/curves.png",
            caption="../report/curves.rst",
            category="Evaluation",
        ),
    params:
        evaluate=config["evaluate"],
        out_dir="results/evaluate",
    log:
        "logs/evaluate/evaluate.log",
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        "../../envs/torch.yaml"
    script:
        "../../scripts/evaluate.py"


rule baselines:
    input:
        train="results/data/train.npz",
        valid="results/data/valid.npz",
        test="results/data/test.npz",
    output:
        table="results/baselines/baselines.tsv",
        metrics=expand("results/baselines/{baseline}/metrics.json", baseline=BASELINES),
    params:
        baselines=config["baselines"],
        fdrs=config["evaluate"]["fdrs"],
        seed=config["seed"],
        out_dir="results/baselines",
    log:
        "logs/baselines/baselines.log",
    benchmark:
        "results/benchmarks/baselines/baselines.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        "../../envs/torch.yaml"
    script:
        "../../scripts/baselines.py"


rule compare_models:
    input:
        cnn="results/evaluate/metrics.json",
        baselines=expand("results/baselines/{baseline}/metrics.json", baseline=BASELINES),
    output:
        report(
            "results/evaluate/comparison.tsv",
            caption="../report/comparison.rst",
            category="Evaluation",
        ),
    log:
        "logs/compare_models/compare_models.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/torch.yaml"
    script:
        "../../scripts/compare_models.py"
