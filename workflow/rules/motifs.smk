rule motifs:
    input:
        scores=f"results/interpret/{config['motifs']['method']}.npz",
        embeddings=(
            "results/simulate/embeddings.tsv"
            if config["track"] == "simulation"
            else []
        ),
        peaks=expand("results/peaks/{group}.conservative.narrowPeak", group=GROUPS),
        comparison="results/evaluate/comparison.tsv",
    output:
        h5="results/motifs/modisco.h5",
        patterns="results/motifs/patterns.json",
        meme="results/motifs/patterns.meme",
        jaspar=report(
            "results/motifs/jaspar_matches.tsv",
            caption="../report/motifs.rst",
            category="Motifs",
        ),
        summary=report(
            "results/motifs/patterns.tsv",
            caption="../report/motif_patterns.rst",
            category="Motifs",
        ),
        truth="results/motifs/truth_matches.tsv",
        hits="results/motifs/hits.tsv",
        bed="results/motifs/hits.bed",
        per_region="results/motifs/hits_per_region.tsv",
        checks=report(
            "results/motifs/hit_checks.tsv",
            caption="../report/motif_hits.rst",
            category="Motifs",
        ),
        pwm_matches="results/motifs/pwm_matches.tsv",
        pwm_comparison="results/motifs/pwm_comparison.tsv",
        summary_png=report(
            "results/motifs/hits_summary.png",
            caption="../report/motif_hits_summary.rst",
            category="Motifs",
        ),
        html=report(
            "results/motifs/motifs.html",
            caption="../report/motifs_logos.rst",
            category="Motifs",
        ),
        logos=directory("results/motifs/logos"),
    log:
        "logs/motifs/motifs.log",
    benchmark:
        "results/benchmarks/motifs/motifs.tsv"
    conda:
        "../../envs/motifs.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb(8000),
        runtime=runtime(240),
    params:
        motifs=section_params("motifs", drop=["enabled", "method"]),
        seed=config["seed"],
    script:
        "../../scripts/motifs.py"
