"""Benchmark: the motif hit checks (seqlet recall per pattern, planted instances) with the current hit caller.

Reruns the hit half of the motif stage (:func:`cisflow.motifs.hitstage.run_hit_stage`: calibrated hits,
seqlet recall of all and of the distinct seqlets per pattern, merged motifs, same-motif groups, planted
instances on simulations, the PWM comparison) on a finished run's scores and patterns, writes the stage's tables under
``--out`` and prints ``hit_checks.tsv`` and ``pwm_comparison.tsv``::

    python benchmarks/hits_recall.py --run /path/to/run [--configfile CONFIG] [--out DIR] [--merge false]

``--merge`` overrides the config's ``motifs.hits.merge`` (``auto``, a seqlet confusion, or ``false``: every
pattern fitted as itself, as before merging existed).

``--chip OUT`` first makes a small ChIP-seq case with the test-data generator (:mod:`cisflow._testing`):
a 2 Mb genome, :data:`cisflow._testing.testdata.TEST_MOTIF` (or ``--motif``, whose ``N`` are random bases per
site: a gapped motif) planted at 400 bound sites, two ChIP replicates and an input simulated from them, then
runs the workflow through the motif stage (MACS3, IDR, labels, a small CNN, DeepSHAP on 500 peak windows,
TF-MoDISCo; the planted motif as ``motifs.truth``, so ``truth_matches.tsv`` scores the patterns against it) in
``OUT/run`` and reports on it. ``--denovo`` seeds the CNN's first layer with the run's de novo words
(``model.motif_filters: [denovo]``; ``results/denovo/seeds.tsv``)::

    python benchmarks/hits_recall.py --chip /tmp/hits-chip [--seed 3] [--cores 2]
    python benchmarks/hits_recall.py --chip /tmp/hits-gapped --motif TCACNNNNNACGA --denovo

A rerun skips the steps whose outputs exist (Snakemake decides what is left).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cisflow.config import load_config  # noqa: E402
from cisflow.motifs import load_scores, read_patterns  # noqa: E402
from cisflow.motifs.hits import read_summits  # noqa: E402
from cisflow.motifs.hitstage import hit_options, known_targets, run_hit_stage  # noqa: E402
from cisflow.motifs.pipeline import OUTPUTS, _truth_pwms  # noqa: E402
from cisflow.pwm import write_meme  # noqa: E402
from cisflow.simulate import read_embeddings  # noqa: E402

CHIP_CHROMS = {"chr1": 1_200_000, "chr2": 400_000, "chr3": 400_000}
CHIP_CONFIG = {
    "track": "genome",
    "peaks": {"pvalue": 0.01, "reproducibility": "idr", "reference": None},
    "reads": {"dedup": "flag", "min_mapq": 30},
    "labels": {"bin_size": 200, "stride": 50},
    "splits": {"input_length": 400, "valid_chroms": ["chr2"], "test_chroms": ["chr3"]},
    "model": {"name": "sequence_dnn", "params": {"conv_width": [10], "num_filters": [16], "pool_width": 20}},
    "train": {
        "batch_size": 32,
        "epochs": 20,
        "learning_rate": 0.003,
        "min_epochs": 5,
        "patience": 5,
        "weight_decay": 0.0,
        "positive_repeats": 1,
        "jitter": 0,
    },
    "evaluate": {},
    "baselines": {"kmer": False, "motifs": []},
    "interpret": {
        "methods": ["deepshap"],
        "deepshap_references": 10,
        "max_sequences": 500,
        "task": 0,
        "splits": ["train", "valid", "test"],
    },
    "motifs": {
        "taxon": None,
        "window": 200,
        "n_leiden_runs": 10,
        "min_metacluster_size": 10,
        "final_min_cluster_size": 10,
    },
}


def make_chip_case(out: Path, seed: int, motif: str | None = None, denovo: bool = False) -> Path:
    """The ChIP-seq case's genome, BAMs, sample sheet and config under ``out`` (``motif`` planted, default
    :data:`cisflow._testing.testdata.TEST_MOTIF`; ``denovo``: the model seeded with the run's de novo words);
    returns the config path."""
    from cisflow._testing.testdata import (
        TEST_MOTIF,
        _faidx,
        plant_sites,
        simulate_chip_bam,
        simulate_control_bam,
        synthetic_genome,
        write_genome,
        write_sites_bed,
    )

    data = out / "data"
    (data / "reads").mkdir(parents=True, exist_ok=True)
    codes = synthetic_genome(None, CHIP_CHROMS, seed)
    motif = motif or TEST_MOTIF
    sites = plant_sites(codes, 400, seed + 1, motif=motif, min_spacing=2000)
    write_genome(data / "genome.fa", codes)
    _faidx(data / "genome.fa")
    write_sites_bed(data / "TF.sites.bed", sites, width=len(motif))
    planted = np.array([[0.25] * 4 if b == "N" else [float(b == x) for x in "ACGT"] for b in motif]).T
    write_meme(data / "planted.meme", {"planted": planted}, nsites=len(sites))
    sizes = {c: len(v) for c, v in codes.items()}
    strength = np.random.default_rng(seed + 2).integers(20, 80, len(sites))
    bams = {k: data / "reads" / f"{k}.bam" for k in ("tf_rep1", "tf_rep2", "tf_control")}
    for i, rep in enumerate(("tf_rep1", "tf_rep2")):
        simulate_chip_bam(bams[rep], sizes, sites, strength, 40_000, seed=seed + 3 + i, genome=codes, name_prefix=rep)
    simulate_control_bam(bams["tf_control"], sizes, 50_000, seed=seed + 5, genome=codes, name_prefix="tf_control")
    rows = ["task\tcell_type\tassay\treplicate\treads\tcontrol"]
    rows += [f"TF\tsynth\tchip\t{r}\t{bams[f'tf_rep{r}']}\t{bams['tf_control']}" for r in (1, 2)]
    (data / "samples.tsv").write_text("\n".join(rows) + "\n")
    config = CHIP_CONFIG | {
        "seed": seed,
        "samples": str(data / "samples.tsv"),
        "genome": {"fasta": str(data / "genome.fa")},
        "motifs": CHIP_CONFIG["motifs"] | {"truth": [str(data / "planted.meme")]},
    }
    if denovo:
        config["model"] = CHIP_CONFIG["model"] | {"motif_filters": ["denovo"]}
    (out / "chip.yaml").write_text(yaml.safe_dump(config))
    (out / "case.json").write_text(json.dumps({"seed": seed, "motif": motif, "denovo": denovo}))
    return out / "chip.yaml"


def run_workflow(run: Path, configfile: Path, cores: int) -> None:
    """Snakemake in ``run`` with ``configfile`` through the motif stage (skips what is done)."""
    run.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(run),
           "--configfile", str(configfile), "--cores", str(cores), "results/motifs/hit_checks.tsv"]  # fmt: skip
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed in {run}:\n{proc.stderr[-4000:]}")


def rerun_hits(run: Path, configfile: Path, out: Path, merge=None) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The hit half of the motif stage on ``run``'s scores and patterns, its tables written under ``out``."""
    cfg = load_config(configfile)
    m, motifs = cfg["motifs"], run / "results" / "motifs"
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in OUTPUTS.items()}
    data = load_scores(run / "results" / "interpret" / f"{m['method']}.npz")
    patterns = read_patterns(motifs / "patterns.json")
    jaspar = pd.read_csv(motifs / "jaspar_matches.tsv", sep="\t")
    truth_df = pd.read_csv(motifs / "truth_matches.tsv", sep="\t")
    groups = None
    if (motifs / "patterns.tsv").is_file():
        summary = pd.read_csv(motifs / "patterns.tsv", sep="\t")
        groups = dict(zip(summary["pattern"], summary["same_motif_as"], strict=True))
    simulated = cfg["track"] == "simulation"
    embeddings = read_embeddings(run / "results" / "simulate" / "embeddings.tsv") if simulated else None
    peaks = sorted((run / "results" / "peaks").glob("*.conservative.narrowPeak")) if not simulated else []
    targets = known_targets(jaspar, truth_df, _truth_pwms(m["truth"]), m["release"], m["taxon"])
    hits = dict(m.get("hits") or {}) | ({} if merge is None else {"merge": merge})
    opts = hit_options(hits, m["window"]) | {"seed": cfg["seed"]}
    started = time.perf_counter()
    result = run_hit_stage(data, patterns, jaspar, truth_df, targets, opts, paths, embeddings,
                           read_summits(peaks) if peaks else None, groups)  # fmt: skip
    seconds = time.perf_counter() - started
    return pd.read_csv(paths["checks"], sep="\t"), result["compare"], seconds


def main() -> None:
    """Build the ChIP case if asked, rerun the hit stage and print its checks."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="workflow directory of a finished run (results/motifs, results/interpret)")
    ap.add_argument("--configfile", type=Path, help="its config (default: RUN/config/config.yaml)")
    ap.add_argument("--chip", type=Path, help="make the synthetic ChIP-seq case here and run the workflow on it")
    ap.add_argument("--seed", type=int, default=3, help="seed of the ChIP case")
    ap.add_argument("--motif", help="motif planted in the ChIP case, N a random base per site (default TEST_MOTIF)")
    ap.add_argument("--denovo", action="store_true", help="ChIP case: seed the CNN with the run's de novo words")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--merge", help="motifs.hits.merge for the rerun: auto, a seqlet confusion in (0, 1], or false")
    ap.add_argument("--out", type=Path, help="where the rerun's tables go (default: a hits_recall folder beside RUN)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.chip is not None:
        configfile, case = args.chip / "chip.yaml", args.chip / "case.json"
        if not configfile.is_file():
            configfile = make_chip_case(args.chip, args.seed, args.motif, args.denovo)
        elif case.is_file():  # an existing case is reused: it must be the one asked for
            made = json.loads(case.read_text())
            if (made["seed"], made["denovo"]) != (args.seed, args.denovo) or args.motif not in (None, made["motif"]):
                ap.error(f"{args.chip} holds another ChIP case ({made}); give a new --chip folder")
        run_workflow(args.chip / "run", configfile, args.cores)
        run = args.chip / "run"
    elif args.run is not None:
        run, configfile = args.run, args.configfile or args.run / "config" / "config.yaml"
    else:
        ap.error("give --run or --chip")
    out = args.out or run.parent / f"{run.name}_hits_recall"
    merge = {"auto": "auto", "false": False, None: None}.get(args.merge, args.merge)
    merge = float(merge) if isinstance(merge, str) and merge != "auto" else merge
    checks, compare, seconds = rerun_hits(run, configfile, out, merge)
    pd.set_option("display.width", 200)
    print(f"hit checks of {run} ({configfile}), hit stage {seconds:.0f} s; tables in {out}")
    print(checks.to_string(index=False, float_format="%.3g"))
    if len(compare):
        print(compare.to_string(index=False, float_format="%.3g"))


if __name__ == "__main__":
    main()
