"""Known answer of ``cisflow variants``: variants that break motif instances against random positions near them.

Builds a VCF of single-base changes (:mod:`cisflow.variants.designs`), scores it with a run's trained
model (:func:`cisflow.variants.score_variants`, top variants explained with ref / alt logos) and prints
the auROC of ``|effect|`` separating the motif variants from the random ones, overall and per motif:

- ``--simulation RUN``: a simulation-track run (``results/simulate/sequences.fa.gz``, ``embeddings.tsv``,
  ``results/data/test.npz``, ``results/train``): the core base of every planted instance in the held-out
  test sequences, and one random position per instance in the same sequence, away from every instance;
- ``--genome-run RUN --genome FASTA``: a genome-track run (``results/train``, ``results/data/splits.json``,
  ``results/peaks/*.conservative.narrowPeak``): PWM matches (p ≤ ``--pvalue``) of ``--motif`` (default REB1
  MA0363.2 and ABF1 MA0265.2) in the central ``--width`` bp of the peaks on the held-out test chromosomes,
  the core base nearest each match's centre changed to the base the PWM likes least, and as many random
  positions in the same peak windows away from every match.

    python benchmarks/variants_known_answer.py --simulation RUN --out OUT
    python benchmarks/variants_known_answer.py --genome-run RUN --genome resources/yeast/sacCer3.fa.gz --out OUT

``OUT`` receives the VCF, the scores and every other output of the stage (logos in ``OUT/scores_plots``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cisflow.genome import Genome  # noqa: E402
from cisflow.pwm import load_motif  # noqa: E402
from cisflow.simulate import read_embeddings  # noqa: E402
from cisflow.variants import score_variants, variant_outputs  # noqa: E402
from cisflow.variants.designs import (  # noqa: E402
    embedded_sites,
    motif_core_variants,
    random_variants,
    scan_sites,
    write_variant_vcf,
)


def simulation_design(run: Path, seed: int) -> tuple[pd.DataFrame, Path]:
    """Motif-core and random variants in the test sequences of a simulation run, and its FASTA."""
    fasta = run / "results/simulate/sequences.fa.gz"
    genome = Genome.open(fasta)
    test_ids = np.load(run / "results/data/test.npz")["ids"].astype(str).tolist()
    sites = embedded_sites(read_embeddings(run / "results/simulate/embeddings.tsv"), test_ids)
    pwms = {m: load_motif(m)[1] for m in sites["motif"].unique()}
    motif = motif_core_variants(genome, sites, pwms)
    per_seq = motif.groupby("chrom").size()
    regions = pd.DataFrame({"chrom": per_seq.index, "start": 0, "end": [genome.sizes[c] for c in per_seq.index]})
    return pd.concat([motif, random_variants(genome, regions, per_seq.to_numpy(), sites, seed)]), fasta


def genome_design(run: Path, fasta: Path, motifs: list[str], width: int, pvalue: float, seed: int) -> pd.DataFrame:
    """Motif-core and random variants in the held-out peaks of a genome-track run."""
    from cisflow.narrowpeak import read_narrowpeak

    genome = Genome.open(fasta)
    splits = json.loads((run / "results/data/splits.json").read_text())["splits"]
    test = {c for c, s in splits.items() if s == "test"}
    peaks = pd.concat([read_narrowpeak(p) for p in sorted((run / "results/peaks").glob("*.conservative.narrowPeak"))])
    peaks = peaks[peaks["chrom"].isin(test)]
    centre = peaks["start"].to_numpy() + np.where(
        peaks["summit"] >= 0, peaks["summit"], (peaks["end"] - peaks["start"]) // 2
    )
    regions = pd.DataFrame({"chrom": peaks["chrom"].to_numpy(), "start": centre - width // 2})
    regions = regions.assign(end=regions["start"] + width).drop_duplicates().reset_index(drop=True)
    pwms = dict(load_motif(m) for m in motifs)
    sites = scan_sites(genome, regions, pwms, pvalue)
    motif = motif_core_variants(genome, sites, pwms)
    motif["_r"] = _region_of(motif, regions)
    counts = motif.groupby("_r").size().reindex(range(len(regions)), fill_value=0).to_numpy()
    rand = random_variants(genome, regions, counts, sites, seed)
    print(f"{len(regions)} peak windows of {width} bp on {', '.join(sorted(test))}: {len(sites)} PWM matches, "
          f"{len(motif)} motif variants, {len(rand)} random")  # fmt: skip
    return pd.concat([motif.drop(columns="_r"), rand])


def _region_of(table: pd.DataFrame, regions: pd.DataFrame) -> np.ndarray:
    """Index of the first region holding each variant."""
    out = np.full(len(table), -1)
    for i, (chrom, pos) in enumerate(zip(table["chrom"], table["pos"], strict=True)):
        inside = np.flatnonzero((regions["chrom"] == chrom) & (regions["start"] < pos) & (regions["end"] >= pos))
        out[i] = inside[0] if inside.size else -1
    return out


def report(scores: pd.DataFrame, design: pd.DataFrame, effects: list[str]) -> None:
    """auROC of |effect| (motif vs random), overall and per motif, per task."""
    from sklearn.metrics import roc_auc_score

    merged = scores.merge(design[["id", "class", "motif"]], on="id", how="left")
    rand = merged[merged["class"] == "random"]
    print(f"{'task':<24}{'motif':<22}{'n motif':>9}{'n random':>10}" + "".join(f"{e:>16}" for e in effects))
    for task, rows in merged.groupby("task"):
        groups = [("all", rows[rows["class"] == "motif"])]
        groups += [(m, rows[rows["motif"] == m]) for m in sorted(rows["motif"].dropna().unique()) if m]
        for name, motif in groups:
            both = pd.concat([motif, rand[rand["task"] == task]])
            y = (both["class"] == "motif").to_numpy()
            aucs = "".join(f"{roc_auc_score(y, both[e].abs()):>16.3f}" for e in effects)
            print(f"{task:<24}{name:<22}{len(motif):>9}{int((~y).sum()):>10}{aucs}")


def main() -> None:
    """Build the design, score it and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--simulation", type=Path, help="a simulation-track run directory")
    ap.add_argument("--genome-run", type=Path, help="a genome-track run directory")
    ap.add_argument("--genome", type=Path, help="the genome FASTA of --genome-run")
    ap.add_argument("--motif", action="append", help="PWM spec (default: jaspar:MA0363.2 and jaspar:MA0265.2)")
    ap.add_argument("--width", type=int, default=200, help="peak window around the summit (bp)")
    ap.add_argument("--pvalue", type=float, default=1e-4, help="PWM match p-value threshold")
    ap.add_argument("--hits", type=Path, help="the motif stage's hits TSV (the hits each variant falls in)")
    ap.add_argument("--top", type=int, default=10, help="variants explained with logos")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if (args.simulation is None) == (args.genome_run is None):
        ap.error("give one of --simulation or --genome-run")
    if args.simulation is not None:
        design, fasta = simulation_design(args.simulation, args.seed)
        run = args.simulation
    else:
        fasta, run = args.genome, args.genome_run
        design = genome_design(run, fasta, args.motif or ["jaspar:MA0363.2", "jaspar:MA0265.2"], args.width,
                               args.pvalue, args.seed)  # fmt: skip
    genome = Genome.open(fasta)
    vcf = args.out / "variants.vcf.gz"
    write_variant_vcf(design, vcf, genome.sizes)
    summary = score_variants(run / "results/train", fasta, vcf, variant_outputs(args.out / "scores.tsv"),
                             hits=args.hits, top=args.top, seed=args.seed)  # fmt: skip
    print(f"{run}: {summary['summary']}")
    scores = pd.read_csv(args.out / "scores.tsv", sep="\t", dtype={"id": str})
    effects = ["logit_diff", "prob_diff", "log_odds_ratio"] if summary["family"] == "classifier" else ["logfc", "jsd"]
    report(scores, design, effects)
    print(f"logos of the top {args.top}: {args.out / 'scores_plots'}")


if __name__ == "__main__":
    main()
