"""Small-data benchmark (issue 18): the CNN against its baselines with a few hundred bound bins to learn from.

Two cases the project makes itself, each scored on held-out chromosomes (every bin of the test chromosome,
both strands averaged):

``yeast``
    The bundled yeast ATAC-seq demo (``config/config.yaml``: reads → MACS3 → IDR → labels) with training
    restricted to chrI and chrIII (a few hundred bound bins; valid chrXV, test chrIV as in the demo).
    Pretraining data for fine-tuning: the demo's full training chromosomes.
``chip``
    A synthetic ChIP-seq project from the test-data generator (:mod:`cisflow._testing`): a 7.2 Mb genome,
    one factor ``TF`` bound at ~300 sites (~200 on the training chromosomes) carrying sampled instances of
    CEBPB_known1, three times as many unbound CEBPB instances, a pioneer motif (FOXA_known1) beside 75 % of
    the bound sites and alone at 1,200 accessible sites, a second factor ``TF2`` (NRF1_known1, 700 sites),
    and ATAC-seq at every bound and accessible site. Reads are simulated (ChIP replicates + input, ATAC),
    then the workflow calls peaks and makes labels (valid chr5, test chr6). ``TF`` alone is the small task;
    ``TF2`` and ``ATAC`` are the other tasks to pretrain on.

Variants per case:

``prev_default``
    The model and training of the demo before data-size defaults: its Basset, 15 epochs, patience 3 from
    epoch 1, every positive once per epoch.
``new_default``
    What a run gets with ``model: auto`` and every ``train`` key that takes it at ``auto`` (the compact
    model, positive repeats, jitter; :mod:`cisflow.autosize`), patience counted once validation leaves
    chance, and ``motif_filters: auto``: the compact model's first-layer filters seeded from the run's
    known motifs (``baselines.motifs``: the case's PWM-baseline motif(s); :mod:`cisflow.seeding`). This
    is the motif-seeded model.
``auto_unseeded``
    ``new_default`` with ``motif_filters: []`` (the data-size defaults alone, every filter random).
``pretrained``
    The compact model trained for a few epochs on the pretraining data (full yeast data; the chip case's
    other tasks), cheap enough for a 2-core machine.
``finetuned``
    ``init_from`` the pretrained model, the whole network fine-tuned (trunk at 0.1 × the learning rate).
``finetuned_head``
    ``init_from`` the pretrained model, only the output layer for 3 epochs, then the whole network.
``pretrained_seeded``, ``finetuned_seeded``, ``finetuned_seeded_head``
    The same three with the pretrained model's first-layer filters seeded with the case's known motif (as
    ``motif_filters: auto`` seeds the compact model): the fine-tuned model starts from a trunk that has the
    motif, as the seeded model from scratch does.
``finetuned_seeded_full``
    ``init_from`` the seeded pretrained model, the whole network at the full learning rate
    (``trunk_lr_scale: 1``): the pretrained weights as a starting point only.
``pretrained_big``, ``finetuned_big`` (chip only)
    Transfer from the SAME factor in a bigger experiment (a core facility's realistic source: the factor's
    ChIP-seq in another cell line or a deeper run): a second synthetic project made by the same generator with
    another seed (another genome) and three times as many bound ``TF`` sites (:data:`BIG_SITES`), through the
    workflow to labels; ``pretrained_big`` is what a run gets there by default (``auto``, seeded with the known
    motif) on its ``TF`` task alone, and ``finetuned_big`` starts the small ``TF`` from it (whole network,
    trunk at 0.1 × the rate; the output row is kept, mapped by task name). ``pretrained_big`` is also scored as
    is on the small case's held-out bins (no training on the small data; not "from scratch").
    ``finetuned_big_fresh`` is ``finetuned_big`` with a fresh output row, as from another cell line (the task
    is ``TF.<cell type>``, so the names differ): the source is copied with its task renamed (:func:`renamed_source`).
``pretrained_all``, ``finetuned_all``
    What the workflow's ``pretrain.enabled`` does with ``pretrain.tasks: []``: the seeded compact model
    pretrained on every task of the project (chip: ``TF`` with ``TF2`` and ``ATAC``, on the same training
    chromosomes; yeast: the full data, as ``pretrained``), then ``TF`` fine-tuned from it (whole network).
    ``pretrained_all`` is itself a model trained from scratch (multi-task): its ``TF`` output is scored on
    the same held-out bins (row ``pretrained_all:TF``) and counts as "from scratch" in the verdict.

Baselines (trained on the small case's own training data): the PWM scan of the case's motif, the k-mer
logistic regression and the gapped k-mer SVM. The table gives each model's held-out auROC / auPRC, its
validation auPRC (what early stopping saw) and training seconds; then whether the new default's auPRC is
at least the best baseline's and whether fine-tuning beats training from scratch (the best of the previous
default, the new default and ``auto_unseeded``).

Usage::

    python benchmarks/small_data.py [--out benchmarks/out/small_data] [--cases yeast chip]
        [--variants NAME ...] [--pretrain-epochs 12] [--threads 2] [--seed 1] [--model-seed 1 2 3]

``--model-seed S ...`` trains the variants asked for with each seed S (folders and rows ``NAME@S``; seed ``--seed``
keeps the plain ``NAME``) on the same project and datasets; a fine-tuned variant starts from the pretrained model
of ``--seed`` for every S. With more than one seed a second table gives each variant's mean ± SD (sample SD) of
the held-out auROC / auPRC over the seeds, and the verdicts are drawn on the means.

Every step is kept on disk under ``--out``: a rerun skips what is done, so the benchmark can be run in
parts (e.g. one case or a few variants per call).
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

log = logging.getLogger("small_data")

DEMO_MODEL = {
    "name": "basset",
    "params": {"num_filters": [128, 128, 128], "conv_width": [19, 11, 7], "pool_width": [3, 4, 4], "hidden": [256],
               "dropout": 0.3},
}  # fmt: skip
#: The demo's training before data-size defaults (every positive once per epoch, patience from epoch 1).
DEMO_TRAIN = {"epochs": 15, "min_epochs": 3, "batch_size": 128, "learning_rate": 0.0003, "weight_decay": 0.0,
              "patience": 3, "monitor": "auprc", "reverse_complement": True, "jitter": 100,
              "precise_bn_batches": 50, "positive_repeats": 1, "chance_auroc": None}  # fmt: skip
CASES = {
    "yeast": {"pwm": "jaspar:MA0363.2", "small_chroms": ["chrI", "chrIII"], "valid": ["chrXV"], "test": ["chrIV"]},
    "chip": {"pwm": "CEBPB_known1", "valid": ["chr5"], "test": ["chr6"]},
}  # fmt: skip
#: ``auto`` for every ``train`` key that takes it (the data-size defaults, :mod:`cisflow.autosize`).
AUTO_TRAIN = dict.fromkeys(
    ("learning_rate", "weight_decay", "epochs", "patience", "positive_repeats", "jitter", "reverse_complement"), "auto"
)
VARIANTS = ("prev_default", "new_default", "auto_unseeded", "pretrained", "finetuned", "finetuned_head",
            "pretrained_seeded", "finetuned_seeded", "finetuned_seeded_head", "finetuned_seeded_full",
            "pretrained_all", "finetuned_all", "pretrained_big", "finetuned_big", "finetuned_big_fresh")  # fmt: skip
#: The pretrained model each fine-tuned variant starts from.
SOURCES = {"finetuned": "pretrained", "finetuned_head": "pretrained", "finetuned_seeded": "pretrained_seeded",
           "finetuned_seeded_head": "pretrained_seeded", "finetuned_seeded_full": "pretrained_seeded",
           "finetuned_all": "pretrained_all", "finetuned_big": "pretrained_big",
           "finetuned_big_fresh": "pretrained_big"}  # fmt: skip
#: Variants trained from random (or motif-seeded) filters on the small case alone.
FROM_SCRATCH = ("prev_default", "new_default", "auto_unseeded", "pretrained_all:TF")
#: The pretrained model: the compact tier's architecture, a few epochs on the bigger data.
PRETRAIN_MODEL = {"name": "deepbind", "params": {"num_filters": 64, "conv_width": 19, "hidden": 32, "dropout": 0.5,
                                                 "pooling": "max_avg"}}  # fmt: skip
PRETRAIN_TRAIN = {**AUTO_TRAIN, "weight_decay": 0.0001, "epochs": 12, "patience": 2}
VALID_NEGATIVE_RATIO = 4.0  # a sampled validation set (every positive, 4 negatives each) keeps epochs short


# ---------------------------------------------------------------------------------------------- workflow runs


def _snakemake(workdir: Path, configfile: Path | None, targets: list[str], threads: int) -> None:
    """Run the workflow in ``workdir`` up to ``targets`` (skipped when they exist)."""
    if all((workdir / t).exists() for t in targets):
        return
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "snakemake", *targets, "--snakefile", str(ROOT / "Snakefile"), "--directory",
           str(workdir), "--cores", str(threads)]  # fmt: skip
    cmd += ["--configfile", str(configfile)] if configfile else []
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")
    log.info("workflow in %s: %s", workdir, " ".join(targets))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed in {workdir}:\n{proc.stderr[-4000:]}")


def yeast_labels(out: Path, threads: int) -> tuple[Path, Path]:
    """The demo's labels and genome code cache (the workflow run in ``out/run`` with the repo's config)."""
    run = out / "run"
    run.mkdir(parents=True, exist_ok=True)
    for name in ("config", "resources"):
        if not (run / name).exists():
            (run / name).symlink_to(ROOT / name)
    _snakemake(run, None, ["results/labels/labels.npz", "results/genome/codes.npy"], threads)
    return run / "results/labels/labels.npz", run / "results/genome/codes.npy"


def chip_labels(out: Path, threads: int, seed: int, sites: dict | None = None, suffix: str = "") -> tuple[Path, Path]:
    """The synthetic ChIP-seq project (:func:`make_chip_project`; ``sites`` per kind, default :data:`CHIP_SITES`)
    through the workflow to labels, in ``project{suffix}`` and ``run{suffix}`` under ``out``."""
    project = out / f"project{suffix}"
    if not (project / "samples.tsv").is_file():
        make_chip_project(project, seed, sites)
    config = {
        "track": "genome", "seed": seed, "samples": str(project / "samples.tsv"),
        "genome": {"fasta": str(project / "genome.fa")},
        "peaks": {"pvalue": 0.01, "reproducibility": "idr", "reference": None},
        "labels": {"bin_size": 200, "stride": 50},
        "splits": {"valid_chroms": CASES["chip"]["valid"], "test_chroms": CASES["chip"]["test"]},
        "reads": {}, "model": DEMO_MODEL, "train": {}, "evaluate": {}, "interpret": {},
        "motifs": {"enabled": False, "method": "ism"}, "baselines": {"motifs": [], "kmer": True},
    }  # fmt: skip
    (out / f"config{suffix}.yaml").write_text(yaml.safe_dump(config))
    run = out / f"run{suffix}"
    _snakemake(run, out / f"config{suffix}.yaml", ["results/labels/labels.npz", "results/genome/codes.npy"], threads)
    return run / "results/labels/labels.npz", run / "results/genome/codes.npy"


# ---------------------------------------------------------------------------------------------- the synthetic project

CHIP_CHROMS = {f"chr{i}": 1_200_000 for i in range(1, 7)}
CHIP_SITES = {"tf": 300, "tf_decoy": 900, "pioneer": 1200, "tf2": 700}
#: The bigger experiment of the same factor (``pretrained_big``): 3 x the bound sites, as many decoys, fewer TF2 sites.
BIG_SITES = {"tf": 900, "tf_decoy": 900, "pioneer": 1200, "tf2": 100}
BIG_SEED_OFFSET = 100  # the bigger project's seed: --seed + this (another genome, other sites)


def _plant(codes: dict, site, pwm: np.ndarray, rng: np.random.Generator, offset: int = 0) -> None:
    """A sampled instance of ``pwm`` (among the better half of 20 draws) at ``site.center + offset``, on its strand."""
    from cisflow.genome import reverse_complement_codes
    from cisflow.pwm import log_odds, sample_from_pwm

    draws = sample_from_pwm(pwm, rng, 20)
    lo = log_odds(pwm)
    scores = lo[draws, np.arange(draws.shape[1])].sum(axis=1)
    good = draws[scores >= np.median(scores)]
    motif = good[rng.integers(len(good))]
    start = site.center + offset - len(motif) // 2
    codes[site.chrom][start : start + len(motif)] = motif if site.strand == "+" else reverse_complement_codes(motif)


def make_chip_project(out: Path, seed: int, counts: dict | None = None) -> dict:
    """Write the chip case's genome, BAMs and sample sheet (see the module docstring); returns the sites.

    ``counts``: sites per kind (``tf``, ``tf_decoy``, ``pioneer``, ``tf2``), default :data:`CHIP_SITES`."""
    from cisflow._testing.testdata import _faidx, plant_sites, synthetic_genome, write_genome
    from cisflow.pwm import load_motif

    rng = np.random.default_rng(seed)
    (out / "reads").mkdir(parents=True, exist_ok=True)
    codes = synthetic_genome(None, CHIP_CHROMS, seed)
    counts = counts or CHIP_SITES
    every = plant_sites(codes, sum(counts.values()), seed + 1, min_spacing=1200)
    order = rng.permutation(len(every))
    sites, k = {}, 0
    for kind, n in counts.items():
        sites[kind] = sorted((every[i] for i in order[k : k + n]), key=lambda s: (s.chrom, s.center))
        k += n
    pwm = {name: load_motif(name)[1] for name in ("CEBPB_known1", "FOXA_known1", "NRF1_known1")}
    for site in sites["tf"]:
        _plant(codes, site, pwm["CEBPB_known1"], rng)
        if rng.random() < 0.75:
            _plant(codes, site, pwm["FOXA_known1"], rng, int(rng.choice([-1, 1]) * rng.integers(30, 80)))
    for kind, name in (("tf_decoy", "CEBPB_known1"), ("pioneer", "FOXA_known1"), ("tf2", "NRF1_known1")):
        for site in sites[kind]:
            _plant(codes, site, pwm[name], rng)
    write_genome(out / "genome.fa", codes)
    _faidx(out / "genome.fa")
    _simulate_reads(out, codes, sites, rng)
    return sites


def _simulate_reads(out: Path, codes: dict, sites: dict, rng: np.random.Generator) -> None:
    """ChIP replicates of TF and TF2 with one input, and ATAC at every bound and accessible site; the sheet."""
    from cisflow._testing.testdata import simulate_atac_bam, simulate_chip_bam, simulate_control_bam

    sizes = {c: len(v) for c, v in codes.items()}
    seeds = iter(rng.integers(0, 2**31, 8).tolist())
    bams, rows = {}, []
    for task, kind in (("TF", "tf"), ("TF2", "tf2")):
        strength = rng.integers(20, 80, len(sites[kind]))
        for rep in (1, 2):
            bams[f"{task}_rep{rep}"] = out / "reads" / f"{task}_rep{rep}.bam"
            simulate_chip_bam(bams[f"{task}_rep{rep}"], sizes, sites[kind], strength, 150_000, seed=next(seeds),
                              genome=codes, name_prefix=f"{task}_rep{rep}")  # fmt: skip
            rows.append((task, "synth", "chip", str(rep), str(bams[f"{task}_rep{rep}"]), str(out / "reads/input.bam")))
    simulate_control_bam(out / "reads" / "input.bam", sizes, 200_000, seed=next(seeds), genome=codes)
    open_sites = sorted([*sites["tf"], *sites["pioneer"], *sites["tf2"]], key=lambda s: (s.chrom, s.center))
    simulate_atac_bam(out / "reads" / "ATAC_rep1.bam", sizes, open_sites, rng.integers(30, 90, len(open_sites)),
                      100_000, seed=next(seeds), genome=codes)  # fmt: skip
    rows.append(("ATAC", "synth", "atac", "1", str(out / "reads/ATAC_rep1.bam"), ""))
    lines = ["task\tcell_type\tassay\treplicate\treads\tcontrol"] + ["\t".join(r) for r in rows]
    (out / "samples.tsv").write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------- datasets


def _subset_labels(labels_npz: Path, out: Path, tasks: list[str] | None, chroms: list[str] | None) -> Path:
    """Labels restricted to ``tasks`` (columns) and, for training, ``chroms`` (other bins left out)."""
    from cisflow.labels import Labels, load_labels, save_labels

    if out.is_file():
        return out
    lab = load_labels(labels_npz)
    cols = [lab.tasks.index(t) for t in tasks] if tasks else list(range(len(lab.tasks)))
    keep = {c: lab.keep[c] if chroms is None or c in chroms else np.zeros_like(lab.keep[c]) for c in lab.chroms}
    sub = Labels([lab.tasks[j] for j in cols], lab.bin_size, lab.stride, lab.chrom_sizes,
                 {c: lab.labels[c][:, cols] for c in lab.chroms}, keep, lab.mode, lab.params)  # fmt: skip
    save_labels(sub, out)
    return out


def make_data(out: Path, labels: Path, genome: Path, case: dict, seed: int) -> Path:
    """Datasets (train / sampled valid / every bin of test, splits.json) for ``labels`` in ``out``."""
    from cisflow.data import datasets_from_files

    if not (out / "splits.json").is_file():
        outputs = {s: out / f"{s}.npz" for s in ("train", "valid", "test")}
        datasets_from_files(labels, genome, outputs, valid_chroms=case["valid"], test_chroms=case["test"],
                            splits_json=out / "splits.json", input_length=1000, seed=seed,
                            valid_negative_ratio=VALID_NEGATIVE_RATIO)  # fmt: skip
    return out


def prepare(name: str, out: Path, threads: int, seed: int, big: bool = False) -> dict:
    """The case's labels and datasets: ``small`` (what is scored), ``pretrain`` (the bigger data) and ``all``
    (every task; chip only, the yeast case's ``pretrain`` is its full data already); with ``big`` (chip) also
    ``big``: ``TF`` of the bigger project of the same factor (its own genome, ``ctx["genomes"]["big"]``)."""
    case = CASES[name]
    if name == "yeast":
        labels, genome = yeast_labels(out, threads)
        keep = case["small_chroms"] + case["valid"] + case["test"]
        small = _subset_labels(labels, out / "labels_small.npz", None, keep)
        pretrain = labels
        sets = {"small": small, "pretrain": pretrain}
    else:
        labels, genome = chip_labels(out, threads, seed)
        small = _subset_labels(labels, out / "labels_small.npz", ["TF.synth"], None)
        pretrain = _subset_labels(labels, out / "labels_pretrain.npz", ["TF2.synth", "ATAC.synth"], None)
        sets = {"small": small, "pretrain": pretrain, "all": labels}
    genomes = dict.fromkeys(sets, genome)
    if big and name == "chip":
        big_labels, genomes["big"] = chip_labels(out, threads, seed + BIG_SEED_OFFSET, BIG_SITES, "_big")
        sets["big"] = _subset_labels(big_labels, out / "labels_big.npz", ["TF.synth"], None)
    ctx = {"case": case, "genome": genome, "genomes": genomes, "labels": sets,
           "data": {k: make_data(out / f"data_{k}", v, genomes[k], case, seed) for k, v in sets.items()}}  # fmt: skip
    ctx["labels"].setdefault("all", pretrain)
    ctx["data"].setdefault("all", ctx["data"]["pretrain"])
    return ctx


# ---------------------------------------------------------------------------------------------- models


def _variant(name: str, ctx: dict, out: Path) -> tuple[str, dict | None, dict, dict | None]:
    """(data key, model config, train config, init) of a variant."""
    known = {"motif_filters": "auto", "known_motifs": [ctx["case"]["pwm"]]}  # the run's baselines.motifs
    pretrain = ctx.get("pretrain_train", PRETRAIN_TRAIN)
    source = {"init_from": str(out / SOURCES[name])} if name in SOURCES else {}
    staged = {**source, "finetune": "head", "unfreeze_epoch": 4}
    fresh_row = {"init_from": str(renamed_source(out / SOURCES[name], "TF.other"))} if name.endswith("_fresh") else {}
    return {
        "prev_default": ("small", DEMO_MODEL, DEMO_TRAIN, None),
        "new_default": ("small", None, AUTO_TRAIN, known),
        "auto_unseeded": ("small", None, AUTO_TRAIN, {"motif_filters": []}),
        "pretrained": ("pretrain", PRETRAIN_MODEL, pretrain, None),
        "pretrained_seeded": ("pretrain", PRETRAIN_MODEL, pretrain, {"motif_filters": [ctx["case"]["pwm"]]}),
        "pretrained_all": ("all", PRETRAIN_MODEL, pretrain, {"motif_filters": [ctx["case"]["pwm"]]}),
        "finetuned_all": ("small", None, AUTO_TRAIN, source),
        "pretrained_big": ("big", None, AUTO_TRAIN, known),
        "finetuned_big": ("small", None, AUTO_TRAIN, source),
        "finetuned_big_fresh": ("small", None, AUTO_TRAIN, fresh_row),
        "finetuned": ("small", None, AUTO_TRAIN, source),
        "finetuned_head": ("small", None, AUTO_TRAIN, staged),
        "finetuned_seeded": ("small", None, AUTO_TRAIN, source),
        "finetuned_seeded_head": ("small", None, AUTO_TRAIN, staged),
        "finetuned_seeded_full": ("small", None, AUTO_TRAIN, {**source, "trunk_lr_scale": 1.0}),
    }[name]


def renamed_source(source: Path, task: str) -> Path:
    """A copy of the model in ``source`` (next to it, ``<name>_as_other_task``) whose one task is named ``task``."""
    import shutil

    copy = source.parent / f"{source.name}_as_other_task"
    if not (copy / "model.json").is_file():
        copy.mkdir(exist_ok=True)
        shutil.copy(source / "model.safetensors", copy / "model.safetensors")
        meta = json.loads((source / "model.json").read_text())
        (copy / "model.json").write_text(json.dumps({**meta, "tasks": [task]}, indent=2))
    return copy


def run_variant(name: str, ctx: dict, out: Path, seed: int, threads: int, suffix: str = "") -> dict:
    """Train (unless done) and evaluate a variant on the small case's test set; its table rows. ``suffix``
    names the variant's folder and rows (another model seed: ``@2``); a fine-tuned variant's source is not
    suffixed (every seed starts from the same pretrained model)."""
    from cisflow.evaluate import evaluate_model, evaluation_outputs
    from cisflow.loader import train_from_genome
    from cisflow.train import train_outputs

    key, model_cfg, train_cfg, init = _variant(name, ctx, out)
    where, data = out / f"{name}{suffix}", ctx["data"][key]
    if not (where / "model.json").is_file():
        start = time.process_time()
        genome = ctx["genomes"].get(key, ctx["genome"])
        train_from_genome(ctx["labels"][key], genome, data / "splits.json", data / "valid.npz", train_outputs(where),
                          model_cfg, train_cfg, seed, threads=threads, init=init, device="cpu")  # fmt: skip
        (where / "cpu_seconds.txt").write_text(f"{time.process_time() - start:.1f}\n")
    test = ctx["data"]["small"] / "test.npz"
    tasks = json.loads((where / "model.json").read_text())["tasks"]
    small_tasks = np.load(test)["tasks"].tolist()
    if tasks != small_tasks and set(small_tasks) <= set(tasks):  # a multi-task model: its own test set's bins
        test = data / "test.npz"
    if not (where / "test" / "metrics.json").is_file() and set(small_tasks) <= set(tasks):
        evaluate_model(where, test, evaluation_outputs(where / "test"), reverse_complement_average=True, device="cpu")
    rows = [_row(f"{name}{suffix}", where)]
    if tasks != small_tasks and (where / "test" / "metrics.json").is_file():  # the small task's output alone
        per_task = {t["task"]: t for t in json.loads((where / "test" / "metrics.json").read_text())["tasks"]}
        for task in small_tasks:
            short = task.split(".")[0]
            rows.append({**rows[0], "variant": f"{name}{suffix}:{short}", "test_auroc": per_task[task]["auroc"],
                         "test_auprc": per_task[task]["auprc"]})  # fmt: skip
    return rows


def _row(name: str, where: Path) -> dict:
    """A table row from a variant's model.json and test metrics."""
    meta = json.loads((where / "model.json").read_text())
    metrics_path = where / "test" / "metrics.json"
    test = json.loads(metrics_path.read_text())["mean"] if metrics_path.is_file() else {}
    return {
        "variant": name, "model": meta["name"], "n_pos": (meta.get("auto") or {}).get("n_positives", ""),
        "epochs": f"{meta['best_epoch']}/{meta['epochs_run']}", "valid_auprc": meta["best_value"],
        "test_auroc": test.get("auroc", float("nan")), "test_auprc": test.get("auprc", float("nan")),
        "cpu_s": float((where / "cpu_seconds.txt").read_text()) if (where / "cpu_seconds.txt").is_file() else
        float("nan"),
    }  # fmt: skip


def run_baselines(ctx: dict, out: Path, seed: int) -> list[dict]:
    """PWM, k-mer and gkm-SVM trained on the small case; rows of the table."""
    from cisflow.baselines import BASELINES, baseline_outputs
    from cisflow.baselines import run_baselines as run

    data = ctx["data"]["small"]
    table = out / "baselines" / "baselines.tsv"
    if not table.is_file():
        run(data / "train.npz", data / "valid.npz", data / "test.npz", baseline_outputs(out / "baselines", BASELINES),
            ctx["case"]["pwm"],
            C=[0.1, 1.0], seed=seed, gkm={"enabled": True})  # fmt: skip
    rows = []
    for line in table.read_text().splitlines()[1:]:
        cells = dict(zip(table.read_text().splitlines()[0].split("\t"), line.split("\t"), strict=True))
        rows.append({"variant": cells["baseline"], "model": cells["params"].strip(), "test_auroc":
                     float(cells["auroc"]), "test_auprc": float(cells["auprc"])})  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------- the table


def _suffix(variant: str) -> str:
    """The model-seed suffix of a row's variant name (``@2``), or ''."""
    return "@" + variant.split("@")[1].split(":")[0] if "@" in variant else ""


def seed_summary(rows: list[dict]) -> dict[str, dict]:
    """Per variant (row name without its ``@S``) with rows from more than one model seed: ``seeds`` (their
    number) and the mean and sample SD (ddof 1) of ``test_auroc`` and ``test_auprc`` over them."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if "cpu_s" in r or "epochs" in r:  # a trained model's row (the baselines have one row, no seed)
            groups.setdefault(r["variant"].replace(_suffix(r["variant"]), ""), []).append(r)
    summary = {}
    for name, group in groups.items():
        if len(group) > 1:
            summary[name] = {"seeds": len(group)}
            for key in ("test_auroc", "test_auprc"):
                values = np.array([r[key] for r in group], float)
                summary[name][key] = (float(values.mean()), float(values.std(ddof=1)))
    return summary


def _print_seeds(summary: dict[str, dict]) -> None:
    """The mean ± SD table of :func:`seed_summary`."""
    print(f"\n{'model (over seeds)':<24}{'seeds':>6}{'test auROC':>20}{'test auPRC':>20}")
    for name, s in summary.items():
        (roc, roc_sd), (prc, prc_sd) = s["test_auroc"], s["test_auprc"]
        print(f"{name:<24}{s['seeds']:>6}{f'{roc:.3f} +- {roc_sd:.3f}':>20}{f'{prc:.4f} +- {prc_sd:.4f}':>20}")


def _print_case(name: str, rows: list[dict]) -> None:
    """The case's table and its two verdicts (new default vs best baseline, fine-tuning vs scratch)."""
    print(f"\n== {name}")
    print(f"{'model':<24}{'architecture':<22}{'n_pos':>6}{'epochs':>8}{'valid auPRC':>12}{'test auROC':>11}"
          f"{'test auPRC':>11}{'CPU s':>8}")  # fmt: skip
    for r in rows:
        valid = f"{r['valid_auprc']:.3f}" if "valid_auprc" in r else ""
        cpu = f"{r['cpu_s']:.0f}" if r.get("cpu_s") == r.get("cpu_s") and "cpu_s" in r else ""
        print(f"{r['variant']:<24}{r['model'][:21]:<22}{r.get('n_pos', ''):>6}{r.get('epochs', ''):>8}{valid:>12}"
              f"{r['test_auroc']:>11.3f}{r['test_auprc']:>11.4f}{cpu:>8}")  # fmt: skip
    by = {r["variant"].replace(_suffix(r["variant"]), ""): r["test_auprc"] for r in rows}
    summary = seed_summary(rows)
    if summary:  # several model seeds: the verdicts on the means
        _print_seeds(summary)
        by |= {k: v["test_auprc"][0] for k, v in summary.items()}
    base = max((r for r in rows if r["variant"] in ("pwm", "kmer", "gkm")), key=lambda r: r["test_auprc"], default=None)
    if base is not None and "new_default" in by:
        verdict = ">=" if by["new_default"] >= base["test_auprc"] else "<"
        print(f"new default auPRC {by['new_default']:.3f} {verdict} best baseline ({base['variant']}) "
              f"{base['test_auprc']:.3f}")  # fmt: skip
    scratch = max(((by[k], k) for k in FROM_SCRATCH if k in by), default=None)
    for tuned in SOURCES:
        if tuned in by and scratch is not None:
            print(f"{tuned} auPRC {by[tuned]:.3f} {'>' if by[tuned] > scratch[0] else '<='} best from scratch "
                  f"({scratch[1]}) {scratch[0]:.3f}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/out/small_data")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines (e.g. in a short run)")
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=PRETRAIN_TRAIN["epochs"],
        help="epochs of the pretrained model at most (a checkpoint of fewer resumes)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--model-seed",
        type=int,
        nargs="+",
        default=None,
        help="train the variants with each of these seeds (default --seed) into NAME@SEED folders (NAME for "
        "--seed); the project, datasets and fine-tuned variants' pretrained sources stay those of --seed; with "
        "several seeds, a mean +- SD table",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import torch

    torch.set_num_threads(args.threads)
    for name in args.cases:
        out = args.out / name
        big = any("_big" in v for v in args.variants)
        ctx = prepare(name, out, args.threads, args.seed, big)
        ctx["pretrain_train"] = {**PRETRAIN_TRAIN, "epochs": args.pretrain_epochs}
        rows = [] if args.no_baselines else run_baselines(ctx, out, args.seed)
        variants = list(args.variants)
        if name != "chip" and any("_big" in v for v in variants):  # the bigger project of the factor: chip only
            log.info("%s: no bigger experiment of the same factor; the *_big variants are left out", name)
            variants = [v for v in variants if "_big" not in v]
        sources = [SOURCES[v] for v in variants if v in SOURCES]
        jobs = [(v, args.seed) for v in dict.fromkeys(sources)]  # the pretrained sources: seed --seed only
        for model_seed in dict.fromkeys(args.model_seed or [args.seed]):
            ordered = sorted(dict.fromkeys(variants), key=lambda v: not v.startswith("pretrained"))
            jobs += [(v, model_seed) for v in ordered if (v, model_seed) not in jobs]
        for variant, model_seed in jobs:
            suffix = "" if model_seed == args.seed else f"@{model_seed}"
            rows += run_variant(variant, ctx, out, model_seed, args.threads, suffix)
        _print_case(name, rows)


if __name__ == "__main__":
    main()
