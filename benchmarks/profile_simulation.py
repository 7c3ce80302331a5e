"""Known-answer benchmark: BPNet on the profile ChIP simulation (planted footprints and a preferred spacing).

Simulates reads (:func:`cisflow.profile.simulate.simulate_profile_chip`), runs them through the same steps
as the workflow (filtered tagAligns, stranded count bigWigs, datasets with held-out chr4 and valid chr3),
trains a BPNet with the control track, and prints a table of what it recovered against the truth:

- counts Pearson on held-out regions (peaks and background) and in held-out peaks;
- median profile JSD in held-out peaks beside the true expected profile's, the uniform profile's, the
  shuffled profile's and the replicate's;
- the marginal footprint of motif A (inserted in dinucleotide-shuffled backgrounds) against the simulated
  footprint: Pearson over ±100 bp of both strands, and each strand's peak offset;
- the spacing experiment (A then B, same strand, 11–80 bp): the spacing with the strongest
  cooperativity against the planted one.

    python benchmarks/profile_simulation.py --out /tmp/profile_sim [--device cuda] [--epochs 40] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cisflow.models import load_model
from cisflow.profile.data import centered
from cisflow.profile.insilico import marginal_footprint, shuffled_backgrounds, spacing_curve
from cisflow.profile.io import load_dataset
from cisflow.profile.metrics import jensen_shannon, median_or_nan
from cisflow.profile.pipeline import (
    EVALUATION_FILES,
    TRAIN_FILES,
    bam_tracks,
    evaluate_profile,
    make_datasets,
    outputs_in,
    train_profile,
)
from cisflow.profile.simulate import MOTIFS, expected_rates, oriented_footprint, simulate_profile_chip


def _prepare(out: Path, args) -> dict:
    """Simulation → tagAligns → bigWigs → datasets; returns the paths."""
    sim = simulate_profile_chip(out / "sim", seed=args.seed, n_chroms=4, chrom_length=args.chrom_length)
    bams = {"rep1": sim["bams"][0], "rep2": sim["bams"][1], "control": sim["control"]}
    tracks = bam_tracks(bams, sim["chrom_sizes"], out, "chip")
    npz = {s: out / f"{s}.npz" for s in ("train", "valid", "test")}
    make_datasets(sim["genome"], sim["peaks"], {"TF": tracks["rep1"]}, npz, control=tracks["control"],
                  input_length=args.input_length, output_length=args.output_length, jitter=args.jitter,
                  background_ratio=1.0, valid_chroms=["chr3"], test_chroms=["chr4"], seed=args.seed)  # fmt: skip
    return {"sim": sim, "tracks": tracks, "npz": npz}


def _true_jsd(sim: dict, test: dict) -> np.ndarray:
    """JSD of the observed peak profiles against the simulation's expected rates (the best any model can do)."""
    n_out = int(test["output_length"])
    peaks = np.flatnonzero(test["is_peak"])
    counts = centered(test, peaks)["counts"][:, 0].reshape(len(peaks), -1)
    rates = np.stack([expected_rates(sim["sites"], str(test["chrom"][i]), int(test["center"][i]) - n_out // 2,
                                     n_out, sim["background"]).ravel() for i in peaks])  # fmt: skip
    return jensen_shannon(counts, rates)


def _footprint_rows(model, backgrounds: np.ndarray, args) -> list[tuple[str, str, str]]:
    """Marginal footprint of A against the simulated one (shape correlation, peak offsets)."""
    fp = marginal_footprint(model, backgrounds, MOTIFS["A"], device=args.device)
    effect = (fp["with"] - fp["without"])[0]
    mid = effect.shape[-1] // 2
    flank = min(100, mid - 1)
    model_fp = effect[:, mid - flank : mid + flank + 1]
    truth = oriented_footprint("+")[:, 150 - flank : 150 + flank + 1]
    r = float(np.corrcoef(model_fp.ravel(), truth.ravel())[0, 1])
    peaks = [int(np.argmax(model_fp[s])) - flank for s in range(2)]
    true_peaks = [int(np.argmax(truth[s])) - flank for s in range(2)]
    return [
        ("footprint of A: Pearson with the simulated shape (±100 bp, both strands)", f"{r:.3f}", "close to 1"),
        ("footprint of A: + / − strand peak offset (bp)", f"{peaks[0]:+d} / {peaks[1]:+d}",
         f"{true_peaks[0]:+d} / {true_peaks[1]:+d}"),
        ("log2 fold change of counts with A inserted", f"{fp['log2_fold_change'][0]:.2f}", "> 0"),
    ]  # fmt: skip


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default=None)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--chrom-length", type=int, default=1_000_000)
    ap.add_argument("--input-length", type=int, default=846)
    ap.add_argument("--output-length", type=int, default=500)
    ap.add_argument("--jitter", type=int, default=64)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    out, start = Path(args.out), time.perf_counter()
    paths = _prepare(out, args)
    model_cfg = {"name": "bpnet", "params": {"filters": args.filters, "n_layers": args.layers}}
    train_cfg = {"epochs": args.epochs, "patience": 6, "background_ratio": 0.5, "batch_size": 64}
    summary = train_profile(paths["npz"]["train"], paths["npz"]["valid"], outputs_in(out / "model", TRAIN_FILES),
                            model_cfg, train_cfg, seed=args.seed, device=args.device, threads=args.threads)  # fmt: skip
    reps = [{"TF": paths["tracks"]["rep1"]}, {"TF": paths["tracks"]["rep2"]}]
    metrics = evaluate_profile(out / "model", paths["npz"]["test"], outputs_in(out / "evaluate", EVALUATION_FILES),
                               replicates=reps, device=args.device).set_index("regions")  # fmt: skip
    test = load_dataset(paths["npz"]["test"])
    model, _ = load_model(out / "model")
    backgrounds = shuffled_backgrounds(centered(test)["codes"][~test["is_peak"]], 64, args.seed)
    curve = spacing_curve(model, backgrounds, MOTIFS["A"], MOTIFS["B"], range(11, 81), ("++",), device=args.device)
    best = int(curve.loc[curve["cooperativity"].idxmax(), "spacing"])
    rows = [
        ("counts Pearson, held-out regions", f"{metrics.loc['all', 'counts_pearson']:.3f}", ">= 0.9"),
        ("counts Pearson, held-out peaks", f"{metrics.loc['peaks', 'counts_pearson']:.3f}", ""),
        ("median JSD, held-out peaks: model", f"{metrics.loc['peaks', 'median_jsd']:.3f}", ""),
        ("median JSD: true expected profile", f"{median_or_nan(_true_jsd(paths['sim'], test)):.3f}", "lower bound"),
        ("median JSD: replicate 2", f"{metrics.loc['peaks', 'median_jsd_replicate']:.3f}", ""),
        ("median JSD: uniform profile", f"{metrics.loc['peaks', 'median_jsd_uniform']:.3f}", "upper bound"),
        ("median JSD: shuffled profile", f"{metrics.loc['peaks', 'median_jsd_shuffled']:.3f}", ""),
        *_footprint_rows(model, backgrounds, args),
        ("spacing with the strongest cooperativity (bp)", str(best), str(paths["sim"]["spacing"])),
        ("cooperativity there (log2)", f"{curve['cooperativity'].max():.2f}",
         f"log2 {paths['sim']['synergy']:g} = {np.log2(paths['sim']['synergy']):.2f}"),
        ("epochs (best)", f"{summary['epochs_run']} ({summary['best_epoch']})", ""),
        ("seconds in all", f"{time.perf_counter() - start:.0f}", ""),
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=["measure", "value", "truth / target"])
    curve.to_csv(out / "spacing.tsv", sep="\t", index=False)
    table.to_csv(out / "acceptance.tsv", sep="\t", index=False)
    (out / "args.json").write_text(json.dumps(vars(args), indent=2))
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
