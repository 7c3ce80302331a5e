"""The ``baselines`` stage entry: fit and evaluate the PWM and k-mer baselines on the dataset npz files.

Both read the dataset npz contract (``codes`` uint8 ``(N, L)``, ``labels`` int8 ``(N, T)``, ``tasks``,
and the rows' names, :func:`cisflow.artifacts.row_keys`) and are evaluated with
:func:`cisflow.evaluate.evaluate_predictions`, so their outputs sit beside a trained model's and compare line
by line (:func:`cisflow.evaluate.compare.compare_models`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cisflow import artifacts, metrics
from cisflow.artifacts import read_dataset
from cisflow.baselines.gkm import decision_values, fit_best_gkm_svm
from cisflow.baselines.kmer import fit_kmer_models, predict_kmer_models
from cisflow.baselines.pwm import pwm_baseline_scores
from cisflow.data import dataset_codes
from cisflow.errors import CisflowError
from cisflow.evaluate.pipeline import evaluate_predictions, evaluation_outputs
from cisflow.io import write_tsv
from cisflow.params import StageParams, log_params
from cisflow.splits import map_outputs, task_sources

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


def capped_sample(labels: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """At most ``cap`` rows, sorted: every row when there are fewer, else a seeded sample stratified by
    whether a row is bound in any task (each stratum keeps its share, at least one row when it has any)."""
    n = len(labels)
    if cap is None or n <= cap:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    pos = (np.asarray(labels) == 1).any(axis=1)
    strata = [np.flatnonzero(pos), np.flatnonzero(~pos)]
    quota = [max(round(cap * len(s) / n), int(len(s) > 0)) for s in strata]
    return np.sort(
        np.concatenate([rng.choice(s, min(q, len(s)), replace=False) for s, q in zip(strata, quota, strict=True)])
    )


def _training_split(data: Mapping[str, np.ndarray], genome: Any, cap: int | None, seed: int) -> dict[str, np.ndarray]:
    """``codes`` and ``labels`` of a capped, stratified sample of a split (codes made from the genome if need be)."""
    rows = capped_sample(data["labels"], cap, seed)
    if len(rows) < len(data["labels"]):
        log.info("baselines train on %d of %d rows (stratified sample)", len(rows), len(data["labels"]))
    codes = dataset_codes(data, genome, rows)
    return {"codes": codes, "labels": data["labels"][rows]}


def _score_in_chunks(test: Mapping[str, np.ndarray], genome: Any, score, n_cols: int, chunk: int) -> np.ndarray:
    """float32 ``(N, n_cols)``: ``score(codes)`` of the test windows, ``chunk`` windows at a time."""
    n = len(test["labels"])
    out = np.zeros((n, n_cols), dtype=np.float32)
    for lo in range(0, n, chunk):
        codes = dataset_codes(test, genome, np.arange(lo, min(lo + chunk, n)))
        out[lo : lo + len(codes)] = np.asarray(score(codes), dtype=np.float32).reshape(len(codes), n_cols)
    return out


def _run_pwm(test, genome, tasks, motifs: dict[str, str], outputs: Mapping, fdrs, chunk: int) -> pd.DataFrame:
    """Score the test set with each task's motif and evaluate the tasks that have one."""
    cols = [i for i, t in enumerate(tasks) if t in motifs]
    specs = [motifs[tasks[i]] for i in cols]

    def score(codes: np.ndarray) -> np.ndarray:
        cache = {spec: pwm_baseline_scores(codes, spec) for spec in dict.fromkeys(specs)}
        return np.stack([cache[spec] for spec in specs], axis=1)

    scores = _score_in_chunks(test, genome, score, len(cols), chunk)
    names = [tasks[i] for i in cols]
    info = {"baseline": "pwm", "motifs": {t: motifs[t] for t in names}}
    geometry = artifacts.geometry(test)
    rows = evaluate_predictions(
        test["labels"][:, cols], scores, names, artifacts.row_keys(test), outputs, fdrs, info, geometry=geometry
    )
    return pd.DataFrame([{"baseline": "pwm", "params": f"motif={motifs[r['task']]}", **r} for r in rows])


def _run_kmer(train, valid, test, genome, tasks, opts: Mapping[str, Any], outputs: Mapping, fdrs) -> pd.DataFrame:
    """Fit one k-mer model per task on train (C chosen on valid) and evaluate on test, scored in chunks (a
    held-out cell type's test task by its factor's trained models, ``opts["sources"]``)."""
    k, seed, sources = opts["k"], opts["seed"], opts["sources"]
    models, cs_chosen = fit_kmer_models(train, valid, k, opts["cs"], seed, opts.get("threads", 1))
    probs = _score_in_chunks(
        test, genome, lambda codes: map_outputs(predict_kmer_models(models, codes, k), sources), len(sources),
        opts["chunk"],
    )  # fmt: skip
    chosen = dict(zip(tasks, cs_chosen, strict=True))
    for task, c in chosen.items():
        log.info("k-mer baseline %s: k=%d C=%g", task, k, c)
    info = {
        "baseline": "kmer",
        "k": k,
        "canonical": True,
        "C": chosen,
        "seed": seed,
        "trained_on": len(train["labels"]),
    }
    test_tasks = [str(t) for t in test["tasks"]]
    rows = evaluate_predictions(
        test["labels"],
        probs,
        test_tasks,
        artifacts.row_keys(test),
        outputs,
        fdrs,
        info,
        geometry=artifacts.geometry(test),
    )
    c_of = {t: "/".join(f"{cs_chosen[m]:g}" for m in cols) for t, cols in zip(test_tasks, sources, strict=True)}
    return pd.DataFrame([{"baseline": "kmer", "params": f"k={k} C={c_of[r['task']]}", **r} for r in rows])


def _run_gkm(train, valid, test, genome, tasks, params: Mapping[str, Any], opts, outputs: Mapping, fdrs):
    """Fit one gapped k-mer SVM per task (:mod:`cisflow.baselines.gkm`, C chosen on valid) and evaluate on test."""
    gkm = {"l": 8, "k": 5, "window": 200} | {k: v for k, v in params.items() if k not in ("enabled", "C")}
    shape = {k: gkm[k] for k in ("l", "k", "window")}
    cs, seed = params.get("C", (0.1, 1.0)), opts["seed"]
    scores = np.zeros((len(test["labels"]), len(tasks)), dtype=np.float32)
    chosen = {}
    for i, task in enumerate(tasks):
        pair = (train["codes"], train["labels"][:, i]), (valid["codes"], valid["labels"][:, i])
        model, chosen[task] = fit_best_gkm_svm(*pair, cs=cs, seed=seed, **gkm)
        score = lambda codes, m=model: decision_values(m, codes, **shape)  # noqa: E731 - bound per task
        scores[:, i] = _score_in_chunks(test, genome, score, 1, opts["chunk"])[:, 0]
    info = {"baseline": "gkm", **gkm, "C": chosen, "seed": seed}
    test_tasks, sources = [str(t) for t in test["tasks"]], opts["sources"]
    rows = evaluate_predictions(test["labels"], map_outputs(scores, sources), test_tasks, artifacts.row_keys(test),
                                outputs, fdrs, info, geometry=artifacts.geometry(test))  # fmt: skip
    desc = " ".join(f"{k}={v}" for k, v in gkm.items())
    c_of = {t: "/".join(f"{chosen[tasks[m]]:g}" for m in cols) for t, cols in zip(test_tasks, sources, strict=True)}
    return pd.DataFrame([{"baseline": "gkm", "params": f"{desc} C={c_of[r['task']]}", **r} for r in rows])


def _check_tasks(datasets: Mapping[str, dict], paths: Mapping[str, Any]) -> tuple[list[str], list[list[int]]]:
    """The training tasks (valid's too) and the training tasks predicting each test task (a held-out cell type's
    by its factor's, :func:`cisflow.splits.task_sources`); CisflowError naming the file that differs."""
    tasks = [str(t) for t in datasets["train"]["tasks"]]
    if [str(t) for t in datasets["valid"]["tasks"]] != tasks:
        raise CisflowError(f"tasks {list(map(str, datasets['valid']['tasks']))} differ from the training tasks",
                           paths["valid"])  # fmt: skip
    test_tasks = [str(t) for t in datasets["test"]["tasks"]]
    try:
        return tasks, task_sources(test_tasks, tasks)
    except CisflowError as exc:
        raise CisflowError(f"tasks {test_tasks} differ from the training tasks: {exc}", paths["test"]) from exc


def _gkm_defaults() -> dict[str, Any]:
    return {"enabled": False, "l": 8, "k": 5, "window": 200, "max_train": 4000, "C": [0.1, 1.0]}


@dataclasses.dataclass(frozen=True)
class BaselinesParams(StageParams):
    """The config's ``baselines`` section (:func:`run_baselines`): PWM motifs, k-mer and gapped k-mer models."""

    SECTION: ClassVar[str] = "baselines"
    motifs: tuple[str, ...] = ()
    kmer: bool = True
    k: int = 6
    max_train: int | None = 50_000
    C: tuple[float, ...] = (0.1, 1.0)
    gkm: dict[str, Any] = dataclasses.field(default_factory=_gkm_defaults)


def run_baselines(
    train_npz: str | Path,
    valid_npz: str | Path,
    test_npz: str | Path,
    outputs: Mapping[str, Any],
    motif_specs: str | Mapping[str | int, str] | Sequence[str] | None = None,
    k: int = BaselinesParams.k,
    C: float | Sequence[float] = BaselinesParams.C,
    seed: int = 0,
    fdrs: Sequence[float] = metrics.DEFAULT_FDRS,
    kmer: bool = BaselinesParams.kmer,
    gkm: Mapping[str, Any] | None = None,
    genome: str | Path | None = None,
    max_train: int | None = BaselinesParams.max_train,
    chunk: int = 20_000,
    threads: int = 1,
) -> pd.DataFrame:
    """Fit and evaluate the baselines on dataset npz files and write their outputs.

    Parameters
    ----------
    train_npz, valid_npz, test_npz
        Dataset npz files with the same tasks (:func:`cisflow.artifacts.read_dataset`), except that test
        may add held-out cell types' tasks, predicted by their factor's trained models
        (:func:`cisflow.splits.task_sources`); coordinate datasets (no codes) have their windows made from
        ``genome``.
    outputs
        ``table``: the TSV with one row per baseline × task (``baseline params task`` then metrics); ``pwm``,
        ``kmer`` and ``gkm``: each baseline's evaluation paths (:func:`cisflow.evaluate.evaluate_predictions`),
        needed for the baselines that run (:func:`baseline_outputs` gives the usual layout of a folder).
    motif_specs
        PWM motifs: one spec for every task, ``{task name or index: spec}``, or ``"TASK=SPEC"``
        strings. Tasks without a motif get no PWM row. None: no PWM baseline.
    k, C, seed
        k-mer length, inverse regularisation (several: chosen per task on validation auPRC; default 0.1 and 1,
        :class:`BaselinesParams`), solver seed.
    fdrs
        FDRs for the recall-at-FDR metrics.
    kmer
        Run the k-mer baseline (False: PWM only).
    gkm
        Gapped k-mer SVM options (:func:`cisflow.baselines.gkm.gkm_svm_scores`: ``l``, ``k``, ``window``,
        ``max_train``, ``C``); run when given with ``enabled`` true (outputs in ``gkm/``).
    genome
        The genome of coordinate datasets (code cache or FASTA).
    max_train
        The k-mer and gkm models train (and choose ``C``) on at most this many rows of train (and of
        valid): a seeded sample stratified by bound / unbound rows (None: all rows).
    chunk
        Test windows scored at a time, so memory does not grow with the test set.
    threads
        The k-mer model's C values fitted this many at a time (the same models as one at a time).

    Returns
    -------
    pandas.DataFrame
        The rows of ``baselines.tsv``.
    """
    log_params("baselines", {"motifs": motif_specs, "k": k, "C": C, "seed": seed, "fdrs": list(fdrs), "kmer": kmer,
                             "gkm": gkm, "max_train": max_train})  # fmt: skip
    paths = {"train": train_npz, "valid": valid_npz, "test": test_npz}
    data = {split: read_dataset(path, f"{split} dataset") for split, path in paths.items()}
    tasks, sources = _check_tasks(data, paths)
    motifs = _motifs_by_task(motif_specs, tasks)
    cs = [float(C)] if np.isscalar(C) else [float(c) for c in C]
    run_gkm = bool(gkm) and bool(gkm.get("enabled", True))
    if not motifs and not kmer and not run_gkm:
        raise CisflowError("no baseline to run: give a motif or enable the k-mer or gkm baseline")
    running = [name for name, on in (("pwm", bool(motifs)), ("kmer", kmer), ("gkm", run_gkm)) if on]
    missing = [k for k in ("table", *running) if k not in outputs]
    if missing:
        raise CisflowError(f"baseline outputs lack {', '.join(missing)}")
    from cisflow.genome import Genome

    ref = Genome.open(genome) if genome is not None else None
    test, frames = data["test"], []
    if motifs:
        test_tasks = [str(t) for t in test["tasks"]]
        by_test = {t: motifs[tasks[c[0]]] for t, c in zip(test_tasks, sources, strict=True) if tasks[c[0]] in motifs}
        frames.append(_run_pwm(test, ref, test_tasks, by_test, outputs["pwm"], fdrs, chunk))
    if kmer or run_gkm:
        train, valid = (_training_split(data[s], ref, max_train, seed + i) for i, s in enumerate(("train", "valid")))
        opts = {"k": k, "cs": cs, "seed": seed, "chunk": chunk, "sources": sources, "threads": threads}
        if kmer:
            frames.append(_run_kmer(train, valid, test, ref, tasks, opts, outputs["kmer"], fdrs))
        if run_gkm:
            frames.append(_run_gkm(train, valid, test, ref, tasks, gkm, opts, outputs["gkm"], fdrs))
    table = pd.concat(frames, ignore_index=True)
    write_tsv(table, outputs["table"])
    return table
