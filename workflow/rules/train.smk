rule pretrain:
    input:
        unpack(pretrain_inputs),
    output:
        model=f"{PRETRAIN_DIR}/model.safetensors",
        meta=f"{PRETRAIN_DIR}/model.json",
        history=f"{PRETRAIN_DIR}/history.tsv",
        curve=f"{PRETRAIN_DIR}/learning_curve.png",
    log:
        "logs/pretrain/pretrain.log",
    benchmark:
        "results/benchmarks/pretrain/pretrain.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 1.1),
        runtime=runtime(240),
        gpu=1,
    params:
        device=config["device"],
        signal_bigwigs=canonical(SIGNAL_BIGWIGS),
        model=pretrain_model_params(),
        train=section_params("train"),
        seed=config["seed"],
        tasks=config["pretrain"]["tasks"] or None,
        # resumed after a kill, so not an output (Snakemake would remove it before the rerun)
        checkpoint=f"{PRETRAIN_DIR}/checkpoint.pt",
    script:
        "../../scripts/train.py"


rule train:
    input:
        unpack(train_inputs),
    output:
        model="results/train/model.safetensors",
        meta="results/train/model.json",
        history="results/train/history.tsv",
        curve=report(
            "results/train/learning_curve.png",
            caption="../report/learning_curve.rst",
            category="Training",
        ),
    log:
        "logs/train/train.log",
    benchmark:
        "results/benchmarks/train/train.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 1.1),
        runtime=runtime(240),
        gpu=1,
    params:
        device=config["device"],
        signal_bigwigs=canonical(SIGNAL_BIGWIGS),
        model=train_model_params(),
        train=section_params("train"),
        seed=config["seed"],
        # resumed after a kill, so not an output (Snakemake would remove it before the rerun)
        checkpoint="results/train/checkpoint.pt",
    script:
        "../../scripts/train.py"


rule train_motif_model:
    input:
        unpack(motif_model_inputs),
    output:
        model=f"{MOTIF_MODEL_DIR}/model.safetensors",
        meta=f"{MOTIF_MODEL_DIR}/model.json",
        history=f"{MOTIF_MODEL_DIR}/history.tsv",
        curve=f"{MOTIF_MODEL_DIR}/learning_curve.png",
    log:
        "logs/train_motif_model/train_motif_model.log",
    benchmark:
        "results/benchmarks/train_motif_model/train_motif_model.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 1.1),
        runtime=runtime(240),
        gpu=1,
    params:
        device=config["device"],
        signal_bigwigs=canonical(SIGNAL_BIGWIGS),
        model=motif_model_params()[0],
        train=motif_model_params()[1],
        seed=config["seed"],
        # resumed after a kill, so not an output (Snakemake would remove it before the rerun)
        checkpoint=f"{MOTIF_MODEL_DIR}/checkpoint.pt",
    script:
        "../../scripts/train.py"
