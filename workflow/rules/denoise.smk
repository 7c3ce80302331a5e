# AtacWorks-style denoising of ATAC-seq samples (cisflow.denoise, docs/denoise.md), when denoise.enabled:
# per sample the clean target, noisy subsamples at each input depth (the training seed, and the next
# seed: a sample the model never sees), MACS3 on nested subsamples (the equivalent depth), one model
# per input depth, the denoised tracks and peaks, and the metrics on the test chromosomes.

# keys of the denoise section that choose samples, depths and peak calling, not the model or its training
DENOISE_STAGE_KEYS = [
    "enabled",
    "samples",
    "fractions",
    "depth_series",
    "threshold",
    "min_peak_length",
]


wildcard_constraints:
    fraction=r"[0-9.]+",
    depth=r"[0-9.]+",
    seed=r"\d+",


rule denoise:
    input:
        denoise_outputs(),


rule denoise_clean:
    input:
        reads="results/reads/{sample}.tagAlign.gz",
        sizes="results/genome/chrom.sizes",
        non_n="results/genome/non_n_bases.txt",
    output:
        bw="results/denoise/{sample}/clean.bw",
        peaks="results/denoise/{sample}/clean.narrowPeak",
    log:
        "logs/denoise_clean/{sample}.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        flank=config["denoise"]["flank"],
        peaks=section_params("peaks", ["pvalue", "max_peaks", "genome_size"]),
    script:
        "../../scripts/denoise_clean.py"


rule denoise_pair:
    input:
        reads="results/reads/{sample}.tagAlign.gz",
        sizes="results/genome/chrom.sizes",
        non_n="results/genome/non_n_bases.txt",
    output:
        reads=temp("results/denoise/{sample}/f{fraction}/s{seed}/noisy.tagAlign.gz"),
        bw="results/denoise/{sample}/f{fraction}/s{seed}/noisy.bw",
        peaks="results/denoise/{sample}/f{fraction}/s{seed}/macs3.narrowPeak",
        stats="results/denoise/{sample}/f{fraction}/s{seed}/pair.json",
    log:
        "logs/denoise_pair/{sample}.f{fraction}.s{seed}.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        flank=config["denoise"]["flank"],
        peaks=section_params("peaks", ["pvalue", "max_peaks", "genome_size"]),
    script:
        "../../scripts/denoise_pair.py"


rule denoise_series:
    input:
        reads="results/reads/{sample}.tagAlign.gz",
        sizes="results/genome/chrom.sizes",
        non_n="results/genome/non_n_bases.txt",
    output:
        peaks="results/denoise/{sample}/series/depth_{depth}.narrowPeak",
    log:
        "logs/denoise_series/{sample}.{depth}.log",
    conda:
        "../../envs/reads.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        peaks=section_params("peaks", ["pvalue", "max_peaks", "genome_size"]),
        seed=lambda wc: config["seed"] + 100,
    script:
        "../../scripts/denoise_series.py"


rule denoise_train:
    input:
        noisy=lambda wc: f"results/denoise/{wc.sample}/f{wc.fraction}/s{config['seed']}/noisy.bw",
        clean="results/denoise/{sample}/clean.bw",
        peaks="results/denoise/{sample}/clean.narrowPeak",
        sizes="results/genome/chrom.sizes",
    output:
        model="results/denoise/{sample}/f{fraction}/model/model.safetensors",
        meta="results/denoise/{sample}/f{fraction}/model/model.json",
        history="results/denoise/{sample}/f{fraction}/model/history.tsv",
    log:
        "logs/denoise_train/{sample}.f{fraction}.log",
    benchmark:
        "results/benchmarks/denoise_train/{sample}.f{fraction}.tsv"
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 2.0),
        runtime=runtime(120),
        gpu=1,
    params:
        device=config["device"],
        denoise=section_params("denoise", drop=DENOISE_STAGE_KEYS),
        valid_chroms=config["splits"]["valid_chroms"],
        test_chroms=config["splits"]["test_chroms"],
        seed=config["seed"],
        checkpoint=lambda wc: f"results/denoise/{wc.sample}/f{wc.fraction}/model/checkpoint.pt",
    script:
        "../../scripts/denoise_train.py"


rule denoise_apply:
    input:
        model="results/denoise/{sample}/f{fraction}/model/model.safetensors",
        meta="results/denoise/{sample}/f{fraction}/model/model.json",
        noisy="results/denoise/{sample}/f{depth}/s{seed}/noisy.bw",
        sizes="results/genome/chrom.sizes",
    output:
        track="results/denoise/{sample}/f{fraction}/on_f{depth}_s{seed}/denoised.bw",
        prob="results/denoise/{sample}/f{fraction}/on_f{depth}_s{seed}/peak_probability.bw",
        peaks="results/denoise/{sample}/f{fraction}/on_f{depth}_s{seed}/peaks.narrowPeak",
    log:
        "logs/denoise_apply/{sample}.f{fraction}.on_f{depth}_s{seed}.log",
    conda:
        torch_env()
    threads: 2
    resources:
        mem_mb=mem_mb(4000, 2.0),
        runtime=runtime(60),
        gpu=1,
    params:
        device=config["device"],
        denoise=section_params("denoise", ["threshold", "min_peak_length"]),
    script:
        "../../scripts/denoise_apply.py"


rule denoise_evaluate:
    input:
        clean="results/denoise/{sample}/clean.bw",
        clean_peaks="results/denoise/{sample}/clean.narrowPeak",
        noisy="results/denoise/{sample}/f{depth}/s{seed}/noisy.bw",
        macs3="results/denoise/{sample}/f{depth}/s{seed}/macs3.narrowPeak",
        pair="results/denoise/{sample}/f{depth}/s{seed}/pair.json",
        track="results/denoise/{sample}/f{fraction}/on_f{depth}_s{seed}/denoised.bw",
        prob="results/denoise/{sample}/f{fraction}/on_f{depth}_s{seed}/peak_probability.bw",
        series=denoise_depth_files,
        sizes="results/genome/chrom.sizes",
    output:
        tsv="results/denoise/{sample}/f{fraction}/on_f{depth}_s{seed}/metrics.tsv",
        json="results/denoise/{sample}/f{fraction}/on_f{depth}_s{seed}/summary.json",
        png=report(
            "results/denoise/{sample}/f{fraction}/on_f{depth}_s{seed}/metrics.png",
            caption="../report/denoise.rst",
            category="Denoising",
            subcategory="{sample}",
            labels={
                "model input depth": "{fraction}",
                "sample": "{depth} seed {seed}",
            },
        ),
    log:
        "logs/denoise_evaluate/{sample}.f{fraction}.on_f{depth}_s{seed}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        test_chroms=config["splits"]["test_chroms"],
        depths=config["denoise"]["depth_series"],
        label=lambda wc: f"{wc.sample} f{wc.depth} s{wc.seed} (model f{wc.fraction})",
    script:
        "../../scripts/denoise_evaluate.py"
