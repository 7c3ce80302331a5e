rule dream_submissions:
    input:
        predictions="results/evaluate/predictions.npz",
        test="results/data/test.npz",
    output:
        submission_files(),
    log:
        "logs/dream_submissions/dream_submissions.log",
    benchmark:
        "results/benchmarks/dream_submissions/dream_submissions.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 1.0),
        runtime=runtime(30),
    params:
        tasks=GROUPS,
    script:
        "../../scripts/dream_submissions.py"


rule dream_scores:
    input:
        cnn="results/evaluate/predictions.npz",
        baselines=expand(
            "results/baselines/{baseline}/predictions.npz", baseline=BASELINES
        ),
        test="results/data/test.npz",
    output:
        report(
            "results/evaluate/dream_scores.tsv",
            caption="../report/dream_scores.rst",
            category="Evaluation",
        ),
    log:
        "logs/dream_scores/dream_scores.log",
    benchmark:
        "results/benchmarks/dream_scores/dream_scores.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 1.0),
        runtime=runtime(30),
    params:
        seed=config["seed"],
        baselines=BASELINES,
    script:
        "../../scripts/dream_scores.py"
