"""The ``baselines`` stage entry: fit and evaluate the PWM and k-mer baselines on the dataset npz files.

Both read the dataset npz contract (``codes`` uint8 ``(N, L)``, ``labels`` int8 ``(N, T)``, ``tasks``,
``ids``) and are evaluated with :func:`cisflow.evaluate.evaluate_predictions`, so their outputs sit
beside a trained model's and compare line by line (:func:`cisflow.evaluate.compare.compare_models`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cisflow import artifacts, metrics
from cisflow.artifacts import read_dataset
from cisflow.baselines.gkm import gkm_svm_scores
from cisflow.baselines.kmer import kmer_baseline_probs
from cisflow.baselines.pwm import pwm_baseline_scores
from cisflow.errors import CisflowError
from cisflow.evaluate.pipeline import evaluate_predictions, evaluation_outputs
from cisflow.io import write_tsv

log = logging.getLogger(__name__)

#: The baselines, by the name their outputs go under.
BASELINES = ("pwm", "kmer", "gkm")


def _motifs_by_task(motif_specs: Any, tasks: Sequence[str]) -> dict[str, str]:
    """Normalise motif specs to ``{task name: spec}``.

    Accepts None, one spec for every task, a mapping of task name or index to spec, or a sequence
    of ``"SPEC"`` / ``"TASK=SPEC"`` strings (CLI form).
    """
    if motif_specs is None:
        return {}
    if isinstance(motif_specs, str):
        motif_specs = [motif_specs]
    if not isinstance(motif_specs, Mapping):
        pairs: dict[Any, str] = {}
        for item in motif_specs:
            task, sep, spec = str(item).rpartition("=")
            if not sep:
                pairs.update(dict.fromkeys(tasks, spec))
            else:
                pairs[task] = spec
        motif_specs = pairs
    out = {}
    for key, spec in motif_specs.items():
        task = tasks[key] if isinstance(key, int | np.integer) and 0 <= key < len(tasks) else str(key)
        if task not in tasks:
            raise CisflowError(f"motif given for unknown task {key!r}; tasks are {', '.join(tasks)}")
        out[task] = str(spec)
    return out


def baseline_outputs(out_dir: str | Path, names: Sequence[str] = BASELINES) -> dict[str, Any]:
    """Default output paths of :func:`run_baselines` in ``out_dir``: ``table`` (``baselines.tsv``) and, per
    baseline name, its evaluation files in ``out_dir/<name>/`` (:func:`cisflow.evaluate.evaluation_outputs`)."""
    out_dir = Path(out_dir)
    return {"table": out_dir / "baselines.tsv"} | {name: evaluation_outputs(out_dir / name) for name in names}


def _run_pwm(test: dict, tasks: list[str], motifs: dict[str, str], outputs: Mapping, fdrs) -> pd.DataFrame:
    """Score the test set with each task's motif and evaluate the tasks that have one."""
    cols = [i for i, t in enumerate(tasks) if t in motifs]
    cache: dict[str, np.ndarray] = {}
    scores = np.zeros((test["codes"].shape[0], len(cols)), dtype=np.float32)
    for j, i in enumerate(cols):
        spec = motifs[tasks[i]]
        if spec not in cache:
            cache[spec] = pwm_baseline_scores(test["codes"], spec)
        scores[:, j] = cache[spec]
    names = [tasks[i] for i in cols]
    info = {"baseline": "pwm", "motifs": {t: motifs[t] for t in names}}
    geometry = artifacts.geometry(test)
    rows = evaluate_predictions(
        test["labels"][:, cols], scores, names, test["ids"], outputs, fdrs, info, geometry=geometry
    )
    return pd.DataFrame([{"baseline": "pwm", "params": f"motif={motifs[r['task']]}", **r} for r in rows])


def _run_kmer(
    train, valid, test, tasks, k: int, cs: Sequence[float], seed: int, outputs: Mapping, fdrs
) -> pd.DataFrame:
    """Fit one k-mer model per task on train (C chosen on valid) and evaluate on test."""
    probs, cs_chosen = kmer_baseline_probs(train, valid, test["codes"], k, cs, seed)
    chosen = dict(zip(tasks, cs_chosen, strict=True))
    for task, c in chosen.items():
        log.info("k-mer baseline %s: k=%d C=%g", task, k, c)
    info = {"baseline": "kmer", "k": k, "canonical": True, "C": chosen, "seed": seed}
    rows = evaluate_predictions(
        test["labels"], probs, tasks, test["ids"], outputs, fdrs, info, geometry=artifacts.geometry(test)
    )
    return pd.DataFrame([{"baseline": "kmer", "params": f"k={k} C={chosen[r['task']]:g}", **r} for r in rows])


def _run_gkm(train, valid, test, tasks, params: Mapping[str, Any], seed: int, outputs: Mapping, fdrs):
    """Fit one gapped k-mer SVM per task (:mod:`cisflow.baselines.gkm`, C chosen on valid) and evaluate on test."""
    opts = {k: v for k, v in params.items() if k != "enabled"}
    cs = opts.pop("C", (0.1, 1.0))
    scores = np.zeros(test["labels"].shape, dtype=np.float32)
    chosen = {}
    for i, task in enumerate(tasks):
        pair = (train["codes"], train["labels"][:, i]), (valid["codes"], valid["labels"][:, i])
        scores[:, i], chosen[task] = gkm_svm_scores(*pair, test["codes"], cs=cs, seed=seed, **opts)
    info = {"baseline": "gkm", **opts, "C": chosen, "seed": seed}
    rows = evaluate_predictions(
        test["labels"], scores, tasks, test["ids"], outputs, fdrs, info, geometry=artifacts.geometry(test)
    )
    desc = " ".join(f"{k}={v}" for k, v in opts.items())
    return pd.DataFrame([{"baseline": "gkm", "params": f"{desc} C={chosen[r['task']]:g}", **r} for r in rows])


def _check_tasks(datasets: Mapping[str, dict], paths: Mapping[str, Any]) -> list[str]:
    """The tasks shared by all splits; CisflowError naming the file that differs."""
    tasks = [str(t) for t in datasets["train"]["tasks"]]
    for split, data in datasets.items():
        if [str(t) for t in data["tasks"]] != tasks:
            raise CisflowError(f"tasks {list(map(str, data['tasks']))} differ from the training tasks", paths[split])
    return tasks


def run_baselines(
    train_npz: str | Path,
    valid_npz: str | Path,
    test_npz: str | Path,
    outputs: Mapping[str, Any],
    motif_specs: str | Mapping[str | int, str] | Sequence[str] | None = None,
    k: int = 6,
    C: float | Sequence[float] = 1.0,
    seed: int = 0,
    fdrs: Sequence[float] = metrics.DEFAULT_FDRS,
    kmer: bool = True,
    gkm: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Fit and evaluate the baselines on dataset npz files and write their outputs.

    Parameters
    ----------
    train_npz, valid_npz, test_npz
        Dataset npz files with the same tasks (:func:`cisflow.artifacts.read_dataset`).
    outputs
        ``table``: the TSV with one row per baseline × task (``baseline params task`` then metrics); ``pwm``,
        ``kmer`` and ``gkm``: each baseline's evaluation paths (:func:`cisflow.evaluate.evaluate_predictions`),
        needed for the baselines that run (:func:`baseline_outputs` gives the usual layout of a folder).
    motif_specs
        PWM motifs: one spec for every task, ``{task name or index: spec}``, or ``"TASK=SPEC"``
        strings. Tasks without a motif get no PWM row. None: no PWM baseline.
    k, C, seed
        k-mer length, inverse regularisation (several: chosen per task on validation auPRC), solver seed.
    fdrs
        FDRs for the recall-at-FDR metrics.
    kmer
        Run the k-mer baseline (False: PWM only).
    gkm
        Gapped k-mer SVM options (:func:`cisflow.baselines.gkm.gkm_svm_scores`: ``l``, ``k``, ``window``,
        ``max_train``, ``C``); run when given with ``enabled`` true (outputs in ``gkm/``).

    Returns
    -------
    pandas.DataFrame
        The rows of ``baselines.tsv``.
    """
    paths = {"train": train_npz, "valid": valid_npz, "test": test_npz}
    data = {split: read_dataset(path, f"{split} dataset") for split, path in paths.items()}
    tasks = _check_tasks(data, paths)
    motifs = _motifs_by_task(motif_specs, tasks)
    cs = [float(C)] if np.isscalar(C) else [float(c) for c in C]
    run_gkm = bool(gkm) and bool(gkm.get("enabled", True))
    if not motifs and not kmer and not run_gkm:
        raise CisflowError("no baseline to run: give a motif or enable the k-mer or gkm baseline")
    running = [name for name, on in (("pwm", bool(motifs)), ("kmer", kmer), ("gkm", run_gkm)) if on]
    missing = [k for k in ("table", *running) if k not in outputs]
    if missing:
        raise CisflowError(f"baseline outputs lack {', '.join(missing)}")
    frames = []
    if motifs:
        frames.append(_run_pwm(data["test"], tasks, motifs, outputs["pwm"], fdrs))
    if kmer:
        frames.append(_run_kmer(data["train"], data["valid"], data["test"], tasks, k, cs, seed, outputs["kmer"], fdrs))
    if run_gkm:
        frames.append(_run_gkm(data["train"], data["valid"], data["test"], tasks, gkm, seed, outputs["gkm"], fdrs))
    table = pd.concat(frames, ignore_index=True)
    write_tsv(table, outputs["table"])
    return table
