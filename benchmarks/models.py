"""Accuracy benchmark: CNN variants against the baselines on a finished genome-track run (e.g. the yeast demo).

Each variant is trained exactly as the workflow's ``train`` rule does (streaming genome loader over the
training chromosomes, early stopping on the validation npz, the run's seed), evaluated on the run's
test set (every bin of the held-out chromosomes, both strands averaged), and printed beside the
baselines the run already scored (``results/baselines/*/metrics.json``). Columns: the validation auPRC
at the best epoch (what early stopping and the choice between variants see), the test metrics, training
seconds, and the test auPRC over the best baseline's (the target is 1.5×).

Usage::

    python benchmarks/models.py [--results results] [--config config/config.yaml] [--variant NAME ...]
        [--out-dir results/benchmarks/models] [--threads 2] [--seeds 3] [--no-gkm]

``--seeds N`` trains each variant with the run's seed and the N − 1 next ones (default variants then:
the demo's model, DanQ and DeepSEA at the demo's width) and prints mean ± SD over the seeds of the
validation auPRC, test auROC and auPRC, and of each variant's test auPRC over the best baseline's
(per seed), then a row per variant for its seeds' models as one ensemble (the mean of their test
probabilities). Baselines: those the run scored (deterministic: one fit) plus the gapped k-mer SVM
(``cisflow.baselines.gkm``, the config's ``baselines.gkm`` options, its training subset drawn with each seed).

``--variant`` picks from :data:`VARIANTS` (default: all); ``config`` is the run's own model
(``results/train``, re-evaluated on both strands). Outputs go under ``OUT_DIR/<variant>/`` (model,
history, evaluation); a variant already trained there is reused, and its evaluation too when newer than its model.
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
# DanQ and DeepSEA at the demo model's width (the published sizes, 47 M and 53 M parameters, take hours per
# epoch on 2 cores): same layer pattern, 128-192 filters, dense 256
VARIANTS["danq"] = (
    {
        "name": "danq",
        "params": {"num_filters": 128, "conv_width": 26, "pool_width": 13, "lstm_hidden": 64, "hidden": 256},
    },
    {"learning_rate": 0.0003},
    None,
)
VARIANTS["deepsea"] = (
    {"name": "deepsea", "params": {"num_filters": [128, 160, 192], "conv_width": [8, 8, 8], "hidden": 256}},
    {"learning_rate": 0.0003},
    None,
)
# DanQ was still improving at its 4th epoch in every seed: the same model with a budget of 12 epochs
VARIANTS["danq_long"] = (VARIANTS["danq"][0], {"learning_rate": 0.0003, "epochs": 12, "min_epochs": 4, "patience": 2},
                         None)  # fmt: skip
# twice the filters and LSTM units (20 epochs at patience 3 instead gave nothing: best epoch 10, 0.673 on seed 1)
VARIANTS["danq_big"] = (
    {
        "name": "danq",
        "params": {"num_filters": 256, "conv_width": 26, "pool_width": 13, "lstm_hidden": 128, "hidden": 256},
    },
    VARIANTS["danq_long"][1],
    None,
)
#: variants run by default with --seeds > 1 (the demo's model and the two published architectures)
SEED_VARIANTS = ("config", "danq", "deepsea")


def _metrics(path: Path) -> dict:
    """Mean metrics of a metrics.json."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["mean"]


def run_variant(name: str, config: dict, results: Path, out_dir: Path, threads: int, seed: int | None = None) -> dict:
    """Train (unless done) and evaluate one variant with ``seed`` (default: the run's); returns its mean test
    metrics, training seconds and validation auPRC."""
    from cisflow.evaluate import evaluate_model, evaluation_outputs
    from cisflow.loader import train_from_genome
    from cisflow.train import train_outputs

    model_cfg, overrides, negative_ratio = VARIANTS[name]
    model_cfg = model_cfg or config["model"]
    train_cfg = {**config["train"], **overrides}
    ratio = negative_ratio if negative_ratio is not None else config["splits"].get("negative_ratio", 1.0)
    seed = config["seed"] if seed is None else seed
    out = _variant_dir(name, config, out_dir, seed)
    if name == "config" and seed == config["seed"] and (results / "train/model.json").is_file():
        out = results / "train"  # the run's own model: same config and seed, nothing to retrain
    start = time.perf_counter()
    if not (out / "model.json").is_file():
        train_from_genome(
            results / "labels/labels.npz",
            ROOT / config["genome"]["fasta"],
            results / "data/splits.json",
            results / "data/valid.npz",
            train_outputs(out),
            model_cfg,
            train_cfg,
            seed,
            negative_ratio=ratio,
            signal_bigwigs=config.get("inputs", {}).get("signal_bigwigs", []),
            threads=threads,
        )
    seconds = time.perf_counter() - start
    evaluation = _evaluation_dir(name, config, out_dir, seed)
    done = evaluation / "metrics.json"
    if not done.is_file() or done.stat().st_mtime < (out / "model.safetensors").stat().st_mtime:
        evaluate_model(out, results / "data/test.npz", evaluation_outputs(evaluation), reverse_complement_average=True,
                       genome=results / "genome/codes.npy",
                       signal_bigwigs=config.get("inputs", {}).get("signal_bigwigs", []))  # fmt: skip
    meta = json.loads((out / "model.json").read_text())
    valid = meta["best_value"] if meta.get("monitor") == "auprc" else float("nan")
    return {**_metrics(evaluation / "metrics.json"), "seconds": seconds, "valid_auprc": valid}


def _variant_dir(name: str, config: dict, out_dir: Path, seed: int) -> Path:
    """Where variant ``name`` trained with ``seed`` is trained (``OUT_DIR/<name>``, ``…/seed<N>`` for other seeds)."""
    return out_dir / name if seed == config["seed"] else out_dir / name / f"seed{seed}"


def _evaluation_dir(name: str, config: dict, out_dir: Path, seed: int) -> Path:
    """Where variant ``name`` trained with ``seed`` is evaluated."""
    return _variant_dir(name, config, out_dir, seed) / "evaluate"


def run_ensemble(name: str, config: dict, results: Path, out_dir: Path, seeds: list[int]) -> dict:
    """Variant ``name``'s models of ``seeds`` as one ensemble: the mean of their test probabilities, evaluated
    like each of them (written under ``OUT_DIR/<name>/ensemble``); returns its mean test metrics."""
    import numpy as np

    from cisflow.artifacts import geometry, read_dataset, row_keys
    from cisflow.evaluate import evaluate_predictions, evaluation_outputs

    test = read_dataset(results / "data/test.npz", "test")
    probs = []
    for seed in seeds:
        with np.load(_evaluation_dir(name, config, out_dir, seed) / "predictions.npz") as z:
            if not (np.array_equal(z["chrom"], test["chrom"]) and np.array_equal(z["bin_start"], test["bin_start"])):
                raise SystemExit(f"{name} seed {seed}: predictions are not in the test set's row order")
            probs.append(z["probs"])
    evaluation = out_dir / name / "ensemble" / "evaluate"
    evaluate_predictions(
        test["labels"],
        np.mean(probs, axis=0),
        [str(t) for t in test["tasks"]],
        row_keys(test),
        evaluation_outputs(evaluation),
        config["evaluate"]["fdrs"],
        geometry=geometry(test),
    )
    nan = {"seconds": float("nan"), "valid_auprc": float("nan")}
    return {**_metrics(evaluation / "metrics.json"), **nan, "ensemble_of": len(seeds)}


def run_gkm(config: dict, results: Path, out_dir: Path, seed: int) -> dict:
    """The gapped k-mer SVM baseline (config ``baselines.gkm`` options, subset seed ``seed``) on the run's splits."""
    import numpy as np

    from cisflow.artifacts import geometry, read_dataset, row_keys
    from cisflow.baselines.gkm import gkm_svm_scores
    from cisflow.data import dataset_arrays
    from cisflow.evaluate import evaluate_predictions, evaluation_outputs
    from cisflow.genome import Genome

    evaluation = out_dir / "baselines" / "gkm" / f"seed{seed}"
    if not (evaluation / "metrics.json").is_file():
        data = {s: read_dataset(results / f"data/{s}.npz", s) for s in ("train", "valid", "test")}
        genome = Genome.open(results / "genome/codes.npy")  # the datasets hold coordinates: windows from the genome
        codes = {s: dataset_arrays(d, genome)[0] for s, d in data.items()}
        opts = {k: v for k, v in config["baselines"]["gkm"].items() if k != "enabled"}
        cs = opts.pop("C")
        tasks = [str(t) for t in data["test"]["tasks"]]
        scores = np.zeros(data["test"]["labels"].shape, np.float32)
        for i in range(len(tasks)):
            pair = [(codes[s], data[s]["labels"][:, i]) for s in ("train", "valid")]
            scores[:, i], _ = gkm_svm_scores(*pair, codes["test"], cs=cs, seed=seed, **opts)
        test = data["test"]
        evaluate_predictions(
            test["labels"],
            scores,
            tasks,
            row_keys(test),
            evaluation_outputs(evaluation),
            config["evaluate"]["fdrs"],
            geometry=geometry(test),
        )
    return {**_metrics(evaluation / "metrics.json"), "seconds": float("nan"), "valid_auprc": float("nan")}


def _mean_sd(values: list[float]) -> str:
    """``mean ± SD`` (sample SD; ``mean`` alone for one value)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    if len(v) == 1 or np.isnan(v).all():  # one value, or none (a baseline has no validation auPRC)
        return f"{v[0]:.4f}"
    return f"{v.mean():.4f} ± {v.std(ddof=1):.4f}"


def print_seed_table(rows: dict[str, list[dict]], baselines: set[str]) -> None:
    """Mean ± SD over seeds per model, and each CNN's auPRC over the best baseline's (per seed; an ensemble's
    over the mean of the seeds' best baselines)."""
    import numpy as np

    n = max(len(r) for r in rows.values())
    best = [max(rows[b][min(i, len(rows[b]) - 1)]["auprc"] for b in baselines) for i in range(n)]
    print(f"\n{'model':<22} {'seeds':>5} {'valid auPRC':>17} {'auROC':>17} {'auPRC':>17} {'vs best baseline':>17}")
    for name, per_seed in rows.items():
        if name in baselines:
            ratio = ""
        elif "ensemble_of" in per_seed[0]:
            ratio = f"{per_seed[0]['auprc'] / np.mean(best):.4f}x"
        else:
            ratio = _mean_sd([r["auprc"] / best[i] for i, r in enumerate(per_seed)]) + "x"
        cells = [_mean_sd([r[key] for r in per_seed]) for key in ("valid_auprc", "auroc", "auprc")]
        seeds = per_seed[0].get("ensemble_of", len(per_seed))
        print(f"{name:<22} {seeds:>5} " + " ".join(f"{c:>17}" for c in cells) + f" {ratio:>17}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results", help="results/ of a finished genome run")
    parser.add_argument("--config", type=Path, default=ROOT / "config/config.yaml", help="that run's config")
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="variant(s) to run")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: RESULTS/benchmarks/models")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument(
        "--seeds", type=int, default=1, help="seeds per variant (the run's seed, +1, ...); > 1 prints mean ± SD"
    )
    parser.add_argument("--no-gkm", action="store_true", help="skip the gapped k-mer SVM baseline")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    import logging

    import yaml

    from cisflow.config import validate_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = validate_config(yaml.safe_load(args.config.read_text()), args.config)
    out_dir = args.out_dir or args.results / "benchmarks/models"
    seeds = [config["seed"] + i for i in range(args.seeds)]
    rows: dict[str, list[dict]] = {}
    for path in sorted((args.results / "baselines").glob("*/metrics.json")):
        nan = {"seconds": float("nan"), "valid_auprc": float("nan")}
        rows[f"baseline {path.parent.name}"] = [{**_metrics(path), **nan}]  # deterministic: one fit
    if not args.no_gkm and "baseline gkm" not in rows:
        rows["baseline gkm"] = [run_gkm(config, args.results, out_dir, s) for s in seeds]
    baselines = set(rows)
    variants = args.variant or (list(SEED_VARIANTS) if args.seeds > 1 else list(VARIANTS))
    for name in variants:
        rows[name] = [run_variant(name, config, args.results, out_dir, args.threads, s) for s in seeds]
        print(f"{name}: auPRC {_mean_sd([r['auprc'] for r in rows[name]])}", flush=True)
    if args.seeds > 1:
        for name in variants:
            rows[f"{name} ensemble"] = [run_ensemble(name, config, args.results, out_dir, seeds)]
        print_seed_table(rows, baselines)
        return 0
    best = max((r[0]["auprc"] for n, r in rows.items() if n in baselines), default=float("nan"))
    columns = ("valid auPRC", "auROC", "auPRC", "R@10%", "R@50%", "train s", "vs best")
    print(f"\n{'model':<22} " + " ".join(f"{c:>{max(len(c), 7)}}" for c in columns))
    for name, (m,) in rows.items():
        ratio = m["auprc"] / best if best == best and best > 0 else float("nan")
        print(
            f"{name:<22} {m['valid_auprc']:11.4f} {m['auroc']:7.4f} {m['auprc']:7.4f} {m['recall_at_10_fdr']:7.4f} "
            f"{m['recall_at_50_fdr']:7.4f} {m['seconds']:7.0f} {ratio:6.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
