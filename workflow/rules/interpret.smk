rule interpret:
    input:
        unpack(genome_inputs),
        # the motif model with motif_model.enabled, else the model (explained_model)
        model=f"{explained_model()}/model.safetensors",
        meta=f"{explained_model()}/model.json",
        data=expand("results/data/{split}.npz", split=config["interpret"]["splits"]),
        embeddings=(
            "results/simulate/embeddings.tsv"
            if config["track"] == "simulation"
            else []
        ),
        sizes=("results/genome/chrom.sizes" if config["track"] == "genome" else []),
        # one summit-centred window per peak of the labels' peak set (genome track)
        peaks=(
            expand(
                "results/peaks/{group}.{peak_set}.narrowPeak",
                group=GROUPS,
                peak_set=config.get("labels", {}).get("peak_set", "optimal"),
            )
            if config["track"] == "genome"
            else []
        ),
    output:
        scores=expand(
            "results/interpret/{method}.npz", method=config["interpret"]["methods"]
        ),
        tracks=expand(
            "results/interpret/{method}.bw",
            method=(
                config["interpret"]["methods"] if config["track"] == "genome" else []
            ),
        ),
        positional_prc=(
            "results/interpret/positional_prc.tsv"
            if config["track"] == "simulation"
            else []
        ),
        filters=(
            "results/interpret/filters.tsv"
            if config.get("simulation", {}).get("motifs")
            else []
        ),
        filter_logos=(
            "results/interpret/filter_logos.png"
            if config.get("simulation", {}).get("motifs")
            else []
        ),
        summary=report(
            "results/interpret/summary.tsv",
            caption="../report/interpret.rst",
            category="Interpretation",
        ),
    log:
        "logs/interpret/interpret.log",
    benchmark:
        "results/benchmarks/interpret/interpret.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 0.1),
        runtime=runtime(120),
        gpu=1,
    params:
        device=config["device"],
        interpret=section_params("interpret", drop=["splits"]),
        signal_bigwigs=canonical(SIGNAL_BIGWIGS),
        motifs=canonical(config.get("simulation", {}).get("motifs", [])),
        seed=config["seed"],
    script:
        "../../scripts/interpret.py"
