"""How specific the enzyme match of chrombpnet's no-TF-motif check is, per sharpening power of the enzyme matrix.

For each power, the enzyme's preferred-sites matrix (:func:`cisflow.profile.enzyme.sites_matrix`; power 1
untrimmed: the raw frequencies) is matched together with JASPAR (:func:`cisflow.profile.bias_motifs.
classify_bias_patterns`) to the bias model's patterns, to their column-shuffled copies, to random PWMs and,
optionally, to another model's patterns; the table counts the patterns called enzyme-like. A useful power
keeps the bias patterns and drops the controls.

    python benchmarks/enzyme_specificity.py --enzyme results/profile/tracks/ATAC.yeast.enzyme.json \\
        --bias-motifs results/profile/ATAC.yeast/motifs/bias.profile --other-motifs results/motifs --taxon fungi
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enzyme", required=True, help="the enzyme JSON of cisflow profile enzyme (--report)")
    parser.add_argument("--bias-motifs", required=True, help="motif folder of the bias model (patterns.meme)")
    parser.add_argument("--other-motifs", help="another motif folder, e.g. a TF model's")
    parser.add_argument("--release", default="JASPAR2024")
    parser.add_argument("--taxon", default=None)
    parser.add_argument("--powers", default="1,8,10,15", help="comma-separated; 1 = the raw frequencies")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from cisflow.motifs import jaspar_matrices
    from cisflow.profile.bias_motifs import classify_bias_patterns
    from cisflow.profile.enzyme import sites_matrix
    from cisflow.pwm import read_meme

    warnings.simplefilter("ignore")
    report = json.loads(Path(args.enzyme).read_text())
    pfm, bg, n_sites = np.array(report["pfm"]), np.array(report["background"]), sum(report["sites"].values())
    jaspar = jaspar_matrices(args.release, args.taxon)
    rng = np.random.default_rng(args.seed)
    bias = read_meme(Path(args.bias_motifs) / "patterns.meme")
    sets = {
        "bias patterns": bias,
        "columns shuffled": {f"{k}.{r}": v[:, rng.permutation(v.shape[1])] for k, v in bias.items() for r in range(3)},
        "random PWMs": {f"r{i}": rng.dirichlet(np.full(4, 0.5), size=int(rng.integers(12, 30))).T for i in range(30)},
        "GC-rich random": {f"g{i}": rng.dirichlet([0.3, 1, 1, 0.3], size=20).T for i in range(10)},
        "AT-rich random": {f"a{i}": rng.dirichlet([1, 0.3, 0.3, 1], size=20).T for i in range(10)},
    }
    if args.other_motifs:
        sets["other patterns"] = read_meme(Path(args.other_motifs) / "patterns.meme")
    print("| power | width | " + " | ".join(sets) + " |")
    print("|---" * (len(sets) + 2) + "|")
    for power in (float(p) for p in args.powers.split(",")):
        matrix = pfm if power == 1 else sites_matrix(pfm, bg, n_sites, power=power)
        counts = []
        for patterns in sets.values():
            table = classify_bias_patterns(patterns, matrix, jaspar)
            counts.append(f"{int(table['enzyme_like'].sum())} / {len(table)}")
        print(f"| {power:g} | {matrix.shape[1]} | " + " | ".join(counts) + " |", flush=True)


if __name__ == "__main__":
    main()
