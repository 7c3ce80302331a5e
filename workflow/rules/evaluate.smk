localrules:
    compare_models,


rule evaluate:
    input:
        unpack(genome_inputs),
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
    log:
        "logs/evaluate/evaluate.log",
    benchmark:
        "results/benchmarks/evaluate/evaluate.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(2000, 0.2),
        runtime=runtime(60, 0, per_genome_gb=20),
        gpu=1,
    params:
        device=config["device"],
        evaluate=section_params("evaluate", drop=["submission_round"]),
        signal_bigwigs=canonical(SIGNAL_BIGWIGS),
    script:
        "../../scripts/evaluate.py"


use rule evaluate as evaluate_motif_model with:
    input:
        unpack(genome_inputs),
        model=f"{MOTIF_MODEL_DIR}/model.safetensors",
        meta=f"{MOTIF_MODEL_DIR}/model.json",
        test="results/data/test.npz",
    output:
        metrics=f"{MOTIF_MODEL_DIR}/evaluate/metrics.json",
        table=f"{MOTIF_MODEL_DIR}/evaluate/metrics.tsv",
        predictions=f"{MOTIF_MODEL_DIR}/evaluate/predictions.npz",
        curves=f"{MOTIF_MODEL_DIR}/evaluate/curves.png",
    log:
        "logs/evaluate_motif_model/evaluate_motif_model.log",
    benchmark:
        "results/benchmarks/evaluate_motif_model/evaluate_motif_model.tsv"


rule baselines:
    input:
        unpack(genome_inputs),
        train="results/data/train.npz",
        valid="results/data/valid.npz",
        test="results/data/test.npz",
    output:
        table="results/baselines/baselines.tsv",
        metrics=expand("results/baselines/{baseline}/metrics.json", baseline=BASELINES),
        tables=expand("results/baselines/{baseline}/metrics.tsv", baseline=BASELINES),
        predictions=expand(
            "results/baselines/{baseline}/predictions.npz", baseline=BASELINES
        ),
        curves=expand("results/baselines/{baseline}/curves.png", baseline=BASELINES),
    log:
        "logs/baselines/baselines.log",
    benchmark:
        "results/benchmarks/baselines/baselines.tsv"
    conda:
        "../../envs/torch.yaml"
    # the k-mer model's C values fit side by side
    threads: 2
    resources:
        mem_mb=mem_mb(3000, 0.2),
        runtime=runtime(60, 0, per_genome_gb=20),
    params:
        baselines=section_params("baselines"),
        fdrs=config["evaluate"]["fdrs"],
        seed=config["seed"],
        names=BASELINES,
    script:
        "../../scripts/baselines.py"


rule compare_models:
    input:
        cnn="results/evaluate/metrics.json",
        # motif_model.enabled: the model the motifs are read from, a row of its own (cnn_motifs)
        motif_model=(
            f"{MOTIF_MODEL_DIR}/evaluate/metrics.json"
            if config["motif_model"]["enabled"]
            else []
        ),
        motif_model_predictions=(
            f"{MOTIF_MODEL_DIR}/evaluate/predictions.npz"
            if config["motif_model"]["enabled"]
            else []
        ),
        baselines=expand(
            "results/baselines/{baseline}/metrics.json", baseline=BASELINES
        ),
        cnn_predictions="results/evaluate/predictions.npz",
        baseline_predictions=expand(
            "results/baselines/{baseline}/predictions.npz", baseline=BASELINES
        ),
    output:
        table=report(
            "results/evaluate/comparison.tsv",
            caption="../report/comparison.rst",
            category="Evaluation",
        ),
        curves=report(
            "results/evaluate/curves_vs_baselines.png",
            caption="../report/curves_vs_baselines.rst",
            category="Evaluation",
        ),
    log:
        "logs/compare_models/compare_models.log",
    benchmark:
        "results/benchmarks/compare_models/compare_models.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 1.0),
        runtime=runtime(10),
    params:
        baselines=BASELINES,
    script:
        "../../scripts/compare_models.py"
