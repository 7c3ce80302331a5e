rule motifs:
    input:
        scores=f"results/interpret/{config['motifs']['method']}.npz",
    output:
        patterns="results/motifs/patterns.json",
        meme="results/motifs/patterns.meme",
        matches=report(
            "results/motifs/jaspar_matches.tsv",
            caption="../report/motifs.rst",
            category="Motifs",
        ),
        hits="results/motifs/hits.tsv",
        html=report(
            "results/motifs/motifs.html",
            caption="../report/motifs_logos.rst",
            category="Motifs",
        ),
    log:
        "logs/motifs/motifs.log",
    benchmark:
        "results/benchmarks/motifs/motifs.tsv"
    conda:
        "../../envs/motifs.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        motifs=config["motifs"],
        out_dir=lambda wc, output: os.path.dirname(output.patterns),
    script:
        "../../scripts/motifs.py"
