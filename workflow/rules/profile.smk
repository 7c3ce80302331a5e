# Base-resolution profile models (cisflow.profile, docs/profile.md), when profile.enabled or as the profile
# target: per group, count tracks from the filtered reads (ChIP: 5' ends per strand and the control's; ATAC:
# Tn5 cut sites), summit-centred peak and GC-matched background datasets held out as the rest of the
# workflow (splits.*), ChromBPNet's bias model then ChromBPNet (ATAC) or a BPNet with the control (ChIP),
# metrics on the held-out regions, DeepSHAP of each model (ChromBPNet: the bias-corrected model and the bias
# model), TF-MoDISco and JASPAR on both, chrombpnet's checks and one summary table.


wildcard_constraints:
    head=r"full|corrected|bias",
    target=r"counts|profile",
    reads=r"pooled|pr1|pr2|control",
    strand=r"plus|minus",


rule profile:
    input:
        profile_outputs(),


rule profile_tracks_cuts:
    input:
        reads=profile_reads,
        sizes="results/genome/chrom.sizes",
        codes=GENOME_CODES,
        codes_index=GENOME_CODES.removesuffix(".npy") + ".json",
    output:
        bw="results/profile/tracks/{group}.{reads}.bw",
        report="results/profile/tracks/{group}.{reads}.json",
    log:
        "logs/profile_tracks/{group}.{reads}.log",
    benchmark:
        "results/benchmarks/profile_tracks/{group}.{reads}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 20),
        runtime=runtime(30),
    params:
        assay=lambda wc: group_assay(wc.group),
        shift=config["profile"]["shift"],
        seed=config["seed"],
    script:
        "../../scripts/profile_tracks.py"


rule profile_enzyme:
    input:
        reads="results/reads/{group}.pooled.tagAlign.gz",
        tracks="results/profile/tracks/{group}.pooled.json",
        codes=GENOME_CODES,
        codes_index=GENOME_CODES.removesuffix(".npy") + ".json",
    output:
        meme="results/profile/tracks/{group}.enzyme.meme",
        report="results/profile/tracks/{group}.enzyme.json",
    log:
        "logs/profile_enzyme/{group}.log",
    benchmark:
        "results/benchmarks/profile_enzyme/{group}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 20),
        runtime=runtime(30),
    params:
        seed=config["seed"],
    script:
        "../../scripts/profile_enzyme.py"


rule profile_tracks_stranded:
    input:
        reads=profile_reads,
        sizes="results/genome/chrom.sizes",
        codes=GENOME_CODES,
        codes_index=GENOME_CODES.removesuffix(".npy") + ".json",
    output:
        plus="results/profile/tracks/{group}.{reads}.plus.bw",
        minus="results/profile/tracks/{group}.{reads}.minus.bw",
        report="results/profile/tracks/{group}.{reads}.stranded.json",
    log:
        "logs/profile_tracks/{group}.{reads}.stranded.log",
    benchmark:
        "results/benchmarks/profile_tracks/{group}.{reads}.stranded.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 20),
        runtime=runtime(30),
    params:
        assay="chip",
        shift="none",
        seed=config["seed"],
    script:
        "../../scripts/profile_tracks.py"


rule profile_datasets:
    input:
        tracks=lambda wc: profile_tracks(wc.group, "pooled"),
        control=lambda wc: profile_control_tracks(wc.group),
        peaks=lambda wc: f"results/peaks/{wc.group}.{config['profile']['peak_set']}.narrowPeak",
        codes=GENOME_CODES,
        codes_index=GENOME_CODES.removesuffix(".npy") + ".json",
    output:
        data=expand("results/profile/{{group}}/data/{split}.npz", split=SPLITS),
        bed="results/profile/{group}/data/regions.bed",
    log:
        "logs/profile_datasets/{group}.log",
    benchmark:
        "results/benchmarks/profile_datasets/{group}.tsv"
    conda:
        torch_env()
    threads: 1
    resources:
        mem_mb=mem_mb(4000, 2.0, 1000),
        runtime=runtime(30),
    params:
        profile=section_params(
            "profile", ["input_length", "output_length", "jitter", "background_ratio"]
        ),
        splits=section_params(
            "splits", ["valid_chroms", "test_chroms", "valid_regions", "test_regions"]
        ),
        strands=lambda wc: profile_strands(wc.group),
        seed=config["seed"],
    script:
        "../../scripts/profile_datasets.py"


rule profile_bias:
    input:
        train="results/profile/{group}/data/train.npz",
        valid="results/profile/{group}/data/valid.npz",
    output:
        model="results/profile/{group}/bias/model.safetensors",
        meta="results/profile/{group}/bias/model.json",
        history="results/profile/{group}/bias/history.tsv",
        curve="results/profile/{group}/bias/learning_curve.png",
        summary="results/profile/{group}/bias/summary.json",
    log:
        "logs/profile_bias/{group}.log",
    benchmark:
        "results/benchmarks/profile_bias/{group}.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 2.0),
        runtime=runtime(240),
        gpu=1,
    params:
        device=config.get("device"),
        bias=canonical(config["profile"]["bias"]),
        train=canonical(config["profile"]["train"]),
        seed=config["seed"],
    script:
        "../../scripts/profile_bias.py"


rule profile_train:
    input:
        train="results/profile/{group}/data/train.npz",
        valid="results/profile/{group}/data/valid.npz",
        bias=lambda wc: (
            [f"results/profile/{wc.group}/bias/model.safetensors"]
            if profile_bias_corrected(wc.group)
            else []
        ),
    output:
        model="results/profile/{group}/model/model.safetensors",
        meta="results/profile/{group}/model/model.json",
        history="results/profile/{group}/model/history.tsv",
        curve=report(
            "results/profile/{group}/model/learning_curve.png",
            caption="../report/profile_learning_curve.rst",
            category="Profile models",
            subcategory="{group}",
        ),
        summary="results/profile/{group}/model/summary.json",
    log:
        "logs/profile_train/{group}.log",
    benchmark:
        "results/benchmarks/profile_train/{group}.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 2.0),
        runtime=runtime(480),
        gpu=1,
    params:
        device=config.get("device"),
        model=lambda wc: profile_model_name(wc.group),
        params=canonical(config["profile"]["model"]),
        train=canonical(config["profile"]["train"]),
        seed=config["seed"],
    script:
        "../../scripts/profile_train.py"


rule profile_evaluate:
    input:
        model="results/profile/{group}/model/model.safetensors",
        test="results/profile/{group}/data/test.npz",
        pr1=lambda wc: profile_tracks(wc.group, "pr1"),
        pr2=lambda wc: profile_tracks(wc.group, "pr2"),
    output:
        predictions="results/profile/{group}/evaluate/predictions.npz",
        per_region="results/profile/{group}/evaluate/per_region.tsv",
        metrics="results/profile/{group}/evaluate/metrics.tsv",
        profiles=report(
            "results/profile/{group}/evaluate/profiles.png",
            caption="../report/profile_profiles.rst",
            category="Profile models",
            subcategory="{group}",
        ),
        counts=report(
            "results/profile/{group}/evaluate/counts.png",
            caption="../report/profile_counts.rst",
            category="Profile models",
            subcategory="{group}",
        ),
        jsd=report(
            "results/profile/{group}/evaluate/jsd.png",
            caption="../report/profile_jsd.rst",
            category="Profile models",
            subcategory="{group}",
        ),
    log:
        "logs/profile_evaluate/{group}.log",
    benchmark:
        "results/benchmarks/profile_evaluate/{group}.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 2.0),
        runtime=runtime(60),
        gpu=1,
    params:
        device=config.get("device"),
        seed=config["seed"],
    script:
        "../../scripts/profile_evaluate.py"


rule profile_interpret:
    input:
        model="results/profile/{group}/model/model.safetensors",
        data=lambda wc: expand(
            "results/profile/{group}/data/{split}.npz",
            group=wc.group,
            split=config["profile"]["interpret"]["splits"],
        ),
        sizes="results/genome/chrom.sizes",
    output:
        scores=expand(
            "results/profile/{{group}}/interpret/{{head}}/{target}.npz",
            target=config["profile"]["interpret"]["targets"],
        ),
        tracks=expand(
            "results/profile/{{group}}/interpret/{{head}}/{target}.bw",
            target=config["profile"]["interpret"]["targets"],
        ),
        summary="results/profile/{group}/interpret/{head}/summary.tsv",
    log:
        "logs/profile_interpret/{group}.{head}.log",
    benchmark:
        "results/benchmarks/profile_interpret/{group}.{head}.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 0.5),
        runtime=runtime(240),
        gpu=1,
    params:
        device=config.get("device"),
        interpret=canonical(config["profile"]["interpret"]),
        seed=config["seed"],
    script:
        "../../scripts/profile_interpret.py"


rule profile_motifs:
    input:
        scores="results/profile/{group}/interpret/{head}/{target}.npz",
        peaks=lambda wc: f"results/peaks/{wc.group}.{config['profile']['peak_set']}.narrowPeak",
    output:
        folder=directory("results/profile/{group}/motifs/{head}.{target}"),
    log:
        "logs/profile_motifs/{group}.{head}.{target}.log",
    benchmark:
        "results/benchmarks/profile_motifs/{group}.{head}.{target}.tsv"
    conda:
        "../../envs/motifs.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb(8000),
        runtime=runtime(240),
    params:
        motifs=section_params("motifs", drop=["enabled", "method", "truth"]),
        seed=config["seed"],
    script:
        "../../scripts/profile_motifs.py"


rule profile_bias_patterns:
    input:
        motifs=lambda wc: profile_bias_matches(wc.group),
        enzyme="results/profile/tracks/{group}.enzyme.meme",
    output:
        patterns="results/profile/{group}/bias_patterns.tsv",
    log:
        "logs/profile_bias_patterns/{group}.log",
    benchmark:
        "results/benchmarks/profile_bias_patterns/{group}.tsv"
    conda:
        "../../envs/motifs.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb(2000),
        runtime=runtime(30),
    params:
        motifs=section_params("motifs", ["release", "taxon"]),
    script:
        "../../scripts/profile_bias_patterns.py"


rule profile_checks:
    input:
        metrics="results/profile/{group}/evaluate/metrics.tsv",
        model="results/profile/{group}/model/model.safetensors",
        test="results/profile/{group}/data/test.npz",
        bias_matches=lambda wc: profile_bias_matches(wc.group),
        bias_patterns=lambda wc: (
            [f"results/profile/{wc.group}/bias_patterns.tsv"]
            if profile_bias_matches(wc.group)
            else []
        ),
    output:
        checks=report(
            "results/profile/{group}/checks.tsv",
            caption="../report/profile_checks.rst",
            category="Profile models",
            subcategory="{group}",
        ),
    log:
        "logs/profile_checks/{group}.log",
    benchmark:
        "results/benchmarks/profile_checks/{group}.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 2.0),
        runtime=runtime(30),
        gpu=1,
    params:
        device=config.get("device"),
        assay=lambda wc: group_assay(wc.group),
        seed=config["seed"],
    script:
        "../../scripts/profile_checks.py"


rule profile_summary:
    input:
        metrics="results/profile/{group}/evaluate/metrics.tsv",
        checks=lambda wc: (
            [f"results/profile/{wc.group}/checks.tsv"]
            if profile_bias_corrected(wc.group)
            else []
        ),
        matches=lambda wc: list(profile_matches(wc.group).values()),
    output:
        summary=report(
            "results/profile/{group}/summary.tsv",
            caption="../report/profile_summary.rst",
            category="Profile models",
            subcategory="{group}",
        ),
    log:
        "logs/profile_summary/{group}.log",
    benchmark:
        "results/benchmarks/profile_summary/{group}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=lambda wc: list(profile_matches(wc.group)),
    script:
        "../../scripts/profile_summary.py"
