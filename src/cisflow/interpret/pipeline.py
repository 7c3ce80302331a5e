"""The interpretation stage: scores for a trained model on a dataset split, plus checks against truth."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from cisflow.artifacts import SCORES, check_signal_names, geometry, read_datasets, row_ids, write
from cisflow.cellsignal import SignalSpec, tracks_for
from cisflow.errors import CisflowError
from cisflow.genome import one_hot
from cisflow.interpret._common import center, resolve_device
from cisflow.interpret.deepshap import deepshap_scores
from cisflow.interpret.gradients import input_gradients
from cisflow.interpret.ism import ism_fast
from cisflow.interpret.scoring import (
    FILTER_COLUMNS,
    filter_motif_matches,
    filter_pwms,
    plot_filter_logos,
    positional_auprc,
)
from cisflow.interpret.tracks import contribution_bigwig
from cisflow.io import atomic_open
from cisflow.params import StageParams, log_params
from cisflow.splits import cell_type_of

log = logging.getLogger(__name__)

METHODS = ("ism", "grad_x_input", "deepshap")
PRECISIONS = {"float32": torch.float32, "float64": torch.float64}


def _task_index(task: int | str, tasks: Sequence[str], path: str | Path) -> int:
    """Resolve a task given as an index or a name."""
    names = [str(t) for t in tasks]
    if isinstance(task, str) and not task.isdigit():
        if task not in names:
            raise CisflowError(f"task {task!r} not among the dataset's tasks {names}", path)
        return names.index(task)
    index = int(task)
    if not 0 <= index < len(names):
        raise CisflowError(f"task {index} out of range: the dataset has {len(names)} task(s)", path)
    return index


def select_sequences(labels: np.ndarray, task: int, max_sequences: int, positives_only: bool, seed: int) -> np.ndarray:
    """Row indices to explain: positives for ``task`` (if asked), at most ``max_sequences``, sorted."""
    rows = np.flatnonzero(labels[:, task] == 1) if positives_only else np.arange(len(labels))
    if len(rows) > max_sequences:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_sequences, replace=False))
    return rows


class SignalConditioned(nn.Module):
    """A model with signal input channels seen as a sequence model, for one window's signal.

    ``forward(x)`` with ``x`` ``(B, 4, L)`` returns ``model(cat(x, signal))`` with the window's signal
    ``(S, L)`` repeated over the batch: mutants (ISM) and shuffled references (DeepSHAP) keep the signal
    of the window they came from, so contributions are those of the DNA given its signal.
    """

    def __init__(self, model: nn.Module, signal: np.ndarray) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("signal", torch.as_tensor(np.asarray(signal, dtype=np.float32))[None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T)`` of ``x`` ``(B, 4, L)`` beside the stored signal."""
        return self.model(torch.cat([x, self.signal.to(x.dtype).expand(x.shape[0], -1, -1)], dim=1))


def compute_scores(
    model: nn.Module,
    x: np.ndarray,
    method: str,
    task: int,
    seed: int = 0,
    n_references: int = 20,
    device=None,
    signal: np.ndarray | None = None,
    precision: str = "float32",
) -> dict[str, np.ndarray]:
    """One method's ``scores`` (actual-base, ``(N, 4, L)``) and ``hypothetical`` scores (``(N, 4, L)``).

    Every method's scores are hypothetical · x, so motif discovery (hypothetical · x) and hit calling
    (scores) see the same numbers. ``ism``: hypothetical = ISM centred per position (``f(x) − mean_b f(x_b)``
    at the actual base). ``grad_x_input``: hypothetical = the gradient centred per position (its mean over
    the 4 bases removed). ``deepshap``: DeepSHAP hypothetical contributions in ``precision`` (``float32`` or
    ``float64``), plus ``summation_error`` ``(N,)``.
    With ``signal`` ``(N, S, L)`` (a model with signal channels) each window is explained on its own
    through :class:`SignalConditioned`: contributions of its DNA, its signal held fixed.
    """
    if signal is not None:
        args = (method, task, seed, n_references, device, None, precision)
        parts = [compute_scores(SignalConditioned(model, signal[i]), x[i : i + 1], *args) for i in range(len(x))]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if method == "ism":
        hyp = ism_fast(model, x, task, centered=True, device=device)
        return {"scores": hyp * x, "hypothetical": hyp}
    if method == "grad_x_input":
        hyp = center(input_gradients(model, x, task, device=device))
        return {"scores": hyp * x, "hypothetical": hyp}
    if method == "deepshap":
        if precision not in PRECISIONS:
            raise CisflowError(f"unknown DeepSHAP precision {precision!r}; choose from {', '.join(PRECISIONS)}")
        hyp, err = deepshap_scores(model, x, task, n_references, seed, device=device, dtype=PRECISIONS[precision])
        return {"scores": hyp * x, "hypothetical": hyp, "summation_error": err}
    raise CisflowError(f"unknown interpretation method {method!r}; choose from {', '.join(METHODS)}")


def _first_conv_weight(model: nn.Module) -> np.ndarray | None:
    """Weights ``(F, 4, W)`` of the first Conv1d over 4 input channels, if any."""
    for m in model.modules():
        if isinstance(m, nn.Conv1d) and m.in_channels == 4 and m.groups == 1:
            return m.weight.detach().cpu().numpy()
    return None


def _load_motifs(motifs: Sequence[str] | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Motif specs (see :func:`cisflow.pwm.load_motif`) or a name → PWM mapping, as a dict."""
    if isinstance(motifs, Mapping):
        return {str(k): np.asarray(v, dtype=np.float64) for k, v in motifs.items()}
    from cisflow.pwm import load_motif

    return dict(load_motif(spec) for spec in motifs)


def _write_filters(model: nn.Module, motifs, table_path: Path, logos_path: Path) -> None:
    """The filter–motif table (TSV) and logos (PNG) of the model's first convolution (both empty without one)."""
    weight = _first_conv_weight(model)
    if weight is None:
        log.info("model has no first Conv1d over one-hot input; no filter matches")
        table, pwms = pd.DataFrame(columns=list(FILTER_COLUMNS)), np.zeros((0, 4, 1))
    else:
        table, pwms = filter_motif_matches(weight, _load_motifs(motifs)), filter_pwms(weight)
    with atomic_open(table_path) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.6g")
    titles = [f"filter {r.filter}: {r.motif} ({r.strand}) r={r.similarity:.2f}" for r in table.itertuples()]
    plot_filter_logos(pwms, logos_path, titles)


def interpret_outputs(
    out_dir: str | Path,
    methods: Sequence[str] = METHODS,
    *,
    tracks: bool = False,
    positional_prc: bool = False,
    filters: bool = False,
    summary: bool = False,
) -> dict[str, Any]:
    """The usual output paths of :func:`interpret_model` in ``out_dir``: ``{method}.npz`` per method, and when
    asked ``{method}.bw``, ``positional_prc.tsv``, ``filters.tsv`` + ``filter_logos.png`` and ``summary.tsv``."""
    out = Path(out_dir)
    paths: dict[str, Any] = {"scores": {m: out / f"{m}.npz" for m in methods}}
    if tracks:
        paths["tracks"] = {m: out / f"{m}.bw" for m in methods}
    if positional_prc:
        paths["positional_prc"] = out / "positional_prc.tsv"
    if filters:
        paths |= {"filters": out / "filters.tsv", "filter_logos": out / "filter_logos.png"}
    if summary:
        paths["summary"] = out / "summary.tsv"
    return paths


def _check_outputs(outputs: Mapping[str, Any], methods: Sequence[str], wanted: Mapping[str, bool]) -> dict[str, Any]:
    """``outputs`` with empty entries dropped; CisflowError when a method or a wanted output has no path."""
    out = {k: v for k, v in outputs.items() if v}
    missing = [f"scores of {m}" for m in methods if m not in out.get("scores", {})]
    missing += [f"tracks of {m}" for m in methods if "tracks" in out and m not in out["tracks"]]
    missing += [k for k, on in wanted.items() if on and k not in out]
    if missing:
        raise CisflowError(f"interpretation outputs lack {', '.join(missing)}")
    return out


@dataclasses.dataclass(frozen=True)
class InterpretParams(StageParams):
    """The config's ``interpret`` section: :func:`interpret_model`'s settings and the splits scored."""

    SECTION: ClassVar[str] = "interpret"
    methods: tuple[str, ...] = ("ism", "grad_x_input")
    splits: tuple[str, ...] = ("test",)
    max_sequences: int = 200
    task: int = 0
    deepshap_references: int = 20
    deepshap_precision: str = "float32"


def interpret_model(
    model_path: str | Path,
    dataset_npz: str | Path | Sequence[str | Path],
    outputs: Mapping[str, Any],
    methods: Sequence[str] = InterpretParams.methods,
    task: int | str = InterpretParams.task,
    max_sequences: int = InterpretParams.max_sequences,
    positives_only: bool = True,
    embeddings_tsv: str | Path | None = None,
    motifs: Sequence[str] | Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
    n_references: int = InterpretParams.deepshap_references,
    device: str | None = None,
    chrom_sizes: Mapping[str, int] | None = None,
    precision: str = InterpretParams.deepshap_precision,
    genome: str | Path | None = None,
    signal_bigwigs: SignalSpec = (),
    peaks: Mapping[str, str | Path] | None = None,
) -> dict[str, Path]:
    """Contribution scores of a saved model on a dataset split, written per method.

    ``outputs`` (:func:`interpret_outputs` gives the usual names in a folder) holds ``scores``:
    ``{method: npz}`` (:data:`cisflow.artifacts.SCORES`: ``x`` one-hot float32 ``(N, 4, L)``, ``scores``,
    ``hypothetical``, ``ids``, ``task``, ``seed``, the dataset's geometry; DeepSHAP adds ``summation_error``)
    and, each written when present: ``tracks`` ``{method: bigWig}`` of the actual-base contributions
    (genomic windows and ``chrom_sizes`` needed), ``positional_prc`` (TSV ``method auprc n_sequences``;
    needed with ``embeddings_tsv``), ``filters`` and ``filter_logos`` (the first convolution's filters
    matched to ``motifs``; needed with ``motifs``) and ``summary`` (one row per method: sequences,
    seconds, positional auPRC, DeepSHAP's worst summation error). DeepSHAP runs in ``precision``
    (``float32`` or ``float64``). Coordinate datasets (no codes) have only the rows interpreted made
    from ``genome`` (and ``signal_bigwigs``, their signal channels: one list, or ``{cell_type: [bigWig, ...]}`` of which
    the interpreted task's cell type's are read, :mod:`cisflow.cellsignal`). With ``peaks`` (``{task: narrowPeak}``)
    the windows are one per peak of the task's file on the datasets' chromosomes, centred on its summit
    (:func:`cisflow.interpret.windows.summit_windows`), instead of the datasets' bound bins; their ``ids``
    name the peaks. ``methods`` defaults to the config's (:class:`InterpretParams`: ISM and gradient × input;
    DeepSHAP when asked). Returns the paths written.
    """
    log_params("interpret", {"methods": list(methods), "task": task, "max_sequences": max_sequences,
                             "positives_only": positives_only, "motifs": motifs, "seed": seed,
                             "n_references": n_references, "precision": precision})  # fmt: skip
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise CisflowError(f"unknown interpretation method(s) {unknown}; choose from {', '.join(METHODS)}")
    if precision not in PRECISIONS:
        raise CisflowError(f"unknown DeepSHAP precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    wanted = {"positional_prc": embeddings_tsv is not None, "filters": bool(motifs), "filter_logos": bool(motifs)}
    outputs = _check_outputs(outputs, methods, wanted)
    if "tracks" in outputs and chrom_sizes is None:
        raise CisflowError("contribution bigWigs need the chromosome sizes")
    from cisflow.models import load_model

    device = resolve_device(device)
    model, meta = load_model(model_path, device=device)
    paths = [dataset_npz] if isinstance(dataset_npz, str | Path) else list(dataset_npz)
    data = read_datasets(paths, tasks=meta.get("tasks"))  # a test split's held-out cell types are not the model's
    t = _task_index(task, data["tasks"], paths[0])
    check_signal_names(data, meta.get("signal_names", []), paths[0], "model")
    if peaks:
        name = str(data["tasks"][t])
        if name not in peaks:
            raise CisflowError(f"no peaks given for task {name!r} (peaks of {', '.join(map(str, peaks))})")
        data = _peak_dataset(data, [peaks[name]], genome, max_sequences, seed, paths[0])
        rows = np.arange(len(data["labels"]))
    else:
        rows = select_sequences(data["labels"], t, max_sequences, positives_only, seed)
    if not len(rows):
        raise CisflowError(f"no sequences to interpret for task {data['tasks'][t]!r}", ", ".join(map(str, paths)))
    codes, signal = _rows_arrays(data, rows, genome, _task_tracks(signal_bigwigs, str(data["tasks"][t]), paths[0]))
    sample = {"x": one_hot(codes), "ids": row_ids(data, rows).astype(str), "task": str(data["tasks"][t])}
    sample |= {k: data[k][rows] for k in ("chrom", "start") if k in data} | {"seed": seed} | geometry(data)
    if "tracks" in outputs and "chrom" not in sample:
        raise CisflowError("contribution bigWigs need genomic windows (chrom, start)", paths[0])
    log.info("interpreting %d sequences of task %s with %s: model %s (%s)", len(rows), sample["task"],
             ", ".join(methods), Path(model_path).parent, meta.get("name", "?"))  # fmt: skip
    written, summary = {}, []
    for method in methods:
        start = time.perf_counter()
        result = compute_scores(model, sample["x"], method, t, seed, n_references, device, signal, precision)
        summary.append({"method": method, "n_sequences": len(rows), "seconds": round(time.perf_counter() - start, 3)})
        written |= _write_method(method, sample, result, outputs, chrom_sizes, embeddings_tsv, summary[-1])
    written |= _write_tables(model, motifs, summary, outputs)
    return written


def _peak_dataset(data, peaks, genome, max_sequences: int, seed: int, path) -> dict[str, np.ndarray]:
    """``data`` with its windows replaced by one summit-centred window per peak on its chromosomes."""
    from cisflow.genome import Genome
    from cisflow.interpret.windows import read_peak_summits, summit_windows

    if "chrom" not in data or genome is None:
        raise CisflowError("summit-centred windows need a genome dataset (chrom, start) and the genome", path)
    chroms = sorted(set(np.asarray(data["chrom"]).astype(str).tolist()))
    windows = summit_windows(
        read_peak_summits(peaks), chroms, Genome.open(genome).sizes, int(data["input_length"]), max_sequences, seed
    )
    log.info("one summit-centred window per peak: %d peaks on %d chromosomes", len(windows["ids"]), len(chroms))
    labels = np.ones((len(windows["ids"]), len(data["tasks"])), dtype=np.int8)
    replaced = ("codes", "signal", "labels", "ids", "chrom", "start", "bin_start")
    kept = {k: v for k, v in data.items() if k not in replaced}
    return kept | {"labels": labels, "ids": windows["ids"], "chrom": windows["chrom"], "start": windows["start"]}


def _task_tracks(signal: SignalSpec, task: str, path) -> list[str]:
    """The bigWigs of ``task``'s cell type (:func:`cisflow.cellsignal.tracks_for`); CisflowError naming ``path``."""
    try:
        return tracks_for(signal, cell_type_of(task))
    except CisflowError as exc:
        raise CisflowError(f"task {task}: {exc}", path) from exc


def _rows_arrays(data, rows: np.ndarray, genome, signal_bigwigs) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes and signal of the rows interpreted (made from the genome for a coordinate dataset)."""
    from cisflow.data import dataset_arrays
    from cisflow.genome import Genome

    return dataset_arrays(data, Genome.open(genome) if genome is not None else None, rows, signal_bigwigs)


def _write_method(method, sample, result, outputs, chrom_sizes, embeddings_tsv, row: dict) -> dict[str, Path]:
    """One method's scores npz (and bigWig), its positional auPRC and worst summation error in ``row``."""
    written = {method: Path(outputs["scores"][method])}
    write(written[method], SCORES, sample | result)
    if "tracks" in outputs:
        written[f"{method}_bw"] = contribution_bigwig(
            result["scores"], sample["x"], sample["chrom"], sample["start"], chrom_sizes, outputs["tracks"][method]
        )
    if "summation_error" in result:
        row["max_summation_error"] = float(np.max(result["summation_error"]))
    if embeddings_tsv is not None:
        row["positional_auprc"], row["n_embedded"] = positional_auprc(
            result["scores"], sample["x"], embeddings_tsv, sample["ids"]
        )
    return written


def _write_tables(model: nn.Module, motifs, summary: list[dict], outputs: Mapping[str, Any]) -> dict[str, Path]:
    """The positional auPRC table, the filter matches and the per-method summary that ``outputs`` ask for."""
    written = {}
    if "positional_prc" in outputs:
        prc = [{"method": r["method"], "auprc": r["positional_auprc"], "n_sequences": r["n_embedded"]} for r in summary]
        written["positional_prc"] = Path(outputs["positional_prc"])
        with atomic_open(written["positional_prc"]) as handle:
            pd.DataFrame(prc).to_csv(handle, sep="\t", index=False, float_format="%.6g")
    if motifs:
        _write_filters(model, motifs, Path(outputs["filters"]), Path(outputs["filter_logos"]))
        written |= {"filters": Path(outputs["filters"]), "filter_logos": Path(outputs["filter_logos"])}
    if "summary" in outputs:
        written["summary"] = Path(outputs["summary"])
        rows = [{k: v for k, v in r.items() if k != "n_embedded"} for r in summary]
        with atomic_open(written["summary"]) as handle:
            pd.DataFrame(rows).to_csv(handle, sep="\t", index=False, float_format="%.6g")
    return written
