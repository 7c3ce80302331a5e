"""Accuracy benchmark: CNN variants against the baselines on a finished genome-track run (e.g. the yeast demo).

Each variant is trained exactly as the workflow's ``train`` rule does (streaming genome loader over the
training chromosomes, early stopping on the validation npz, the run's seed), evaluated on the run's
test set (every bin of the held-out chromosomes, both strands averaged), and printed beside the
baselines the run already scored (``results/baselines/*/metrics.json``). Columns: the validation auPRC
at the best epoch (what early stopping and the choice between variants see), the test metrics, training
seconds, and the test auPRC over the best baseline's (the target is 1.5×).

Usage::

    python benchmarks/models.py [--results results] [--config config/config.yaml] [--variant NAME ...]
        [--out-dir results/benchmarks/models] [--threads 2]

``--variant`` picks from :data:`VARIANTS` (default: all); ``config`` is the run's own model
(``results/train``, re-evaluated on both strands). Outputs go under ``OUT_DIR/<variant>/`` (model,
history, evaluation); a variant already trained there is only re-evaluated.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name → (model config, train-config overrides, negatives per positive in training)
VARIANTS: dict[str, tuple[dict | None, dict, float | None]] = {
    "config": (None, {}, None),
    "config_neg3": (None, {}, 3.0),
    "deepbind_wide_neg3": (
        {"name": "deepbind", "params": {"num_filters": 128, "conv_width": 19, "hidden": 64, "dropout": 0.3}},
        {},
        3.0,
    ),
    "deepbind_max_avg": (
        {
            "name": "deepbind",
            "params": {"num_filters": 64, "conv_width": 19, "hidden": 32, "dropout": 0.3, "pooling": "max_avg"},
        },
        {},
        None,
    ),
    "sequence_dnn_3x": (
        {"name": "sequence_dnn", "params": {"num_filters": [64, 64, 64], "conv_width": [15, 9, 9], "pool_width": 40}},
        {"learning_rate": 0.001},
        None,
    ),
    "basset_small": (
        {
            "name": "basset",
            "params": {
                "num_filters": [64, 64, 64],
                "conv_width": [19, 11, 7],
                "pool_width": [3, 4, 4],
                "hidden": [128],
                "dropout": 0.3,
            },
        },
        {},
        None,
    ),
}


BASSET_SMALL = VARIANTS["basset_small"][0]
VARIANTS["basset_small_lr3e-4"] = (BASSET_SMALL, {"learning_rate": 0.0003}, None)
VARIANTS["basset_small_wide"] = (
    {"name": "basset", "params": {**BASSET_SMALL["params"], "num_filters": [128, 128, 128], "hidden": [256]}},
    {"learning_rate": 0.0003},
    None,
)


def _metrics(path: Path) -> dict:
    """Mean metrics of a metrics.json."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["mean"]


def run_variant(name: str, config: dict, results: Path, out_dir: Path, threads: int) -> dict:
    """Train (unless done) and evaluate one variant; returns its mean test metrics and seconds."""
    from cisflow.evaluate import evaluate_model
    from cisflow.loader import train_from_genome

    model_cfg, overrides, negative_ratio = VARIANTS[name]
    model_cfg = model_cfg or config["model"]
    train_cfg = {**config["train"], **overrides}
    ratio = negative_ratio if negative_ratio is not None else config["splits"].get("negative_ratio", 1.0)
    out = out_dir / name
    if name == "config" and (results / "train/model.json").is_file():
        out = results / "train"  # the run's own model: same config and seed, nothing to retrain
    start = time.perf_counter()
    if not (out / "model.json").is_file():
        train_from_genome(
            results / "labels/labels.npz",
            ROOT / config["genome"]["fasta"],
            results / "data/splits.json",
            results / "data/valid.npz",
            out,
            model_cfg,
            train_cfg,
            config["seed"],
            negative_ratio=ratio,
            signal_bigwigs=config.get("inputs", {}).get("signal_bigwigs", []),
            threads=threads,
        )
    seconds = time.perf_counter() - start
    evaluation = out_dir / name / "evaluate"
    evaluate_model(out, results / "data/test.npz", evaluation, reverse_complement_average=True)
    meta = json.loads((out / "model.json").read_text())
    valid = meta["best_value"] if meta.get("monitor") == "auprc" else float("nan")
    return {**_metrics(evaluation / "metrics.json"), "seconds": seconds, "valid_auprc": valid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results", help="results/ of a finished genome run")
    parser.add_argument("--config", type=Path, default=ROOT / "config/config.yaml", help="that run's config")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="variant(s) to run")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: RESULTS/benchmarks/models")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    import logging

    import yaml

    from cisflow.config import validate_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = validate_config(yaml.safe_load(args.config.read_text()), args.config)
    out_dir = args.out_dir or args.results / "benchmarks/models"
    rows = {}
    for path in sorted((args.results / "baselines").glob("*/metrics.json")):
        rows[f"baseline {path.parent.name}"] = {**_metrics(path), "seconds": float("nan"), "valid_auprc": float("nan")}
    best = max((r["auprc"] for r in rows.values()), default=float("nan"))
    for name in args.variant or list(VARIANTS):
        rows[name] = run_variant(name, config, args.results, out_dir, args.threads)
        print(f"{name}: auPRC {rows[name]['auprc']:.4f}", flush=True)
    columns = ("valid auPRC", "auROC", "auPRC", "R@10%", "R@50%", "train s", "vs best")
    print(f"\n{'model':<22} " + " ".join(f"{c:>{max(len(c), 7)}}" for c in columns))
    for name, m in rows.items():
        ratio = m["auprc"] / best if best == best and best > 0 else float("nan")
        print(
            f"{name:<22} {m['valid_auprc']:11.4f} {m['auroc']:7.4f} {m['auprc']:7.4f} {m['recall_at_10_fdr']:7.4f} "
            f"{m['recall_at_50_fdr']:7.4f} {m['seconds']:7.0f} {ratio:6.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
