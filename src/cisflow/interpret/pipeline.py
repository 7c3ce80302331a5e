"""The interpretation stage: scores for a trained model on a dataset split, plus checks against truth."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from cisflow.artifacts import SCORES, check_signal_names, geometry, read_datasets, write
from cisflow.errors import CisflowError
from cisflow.genome import one_hot
from cisflow.interpret._common import center, resolve_device
from cisflow.interpret.deepshap import deepshap_scores
from cisflow.interpret.gradients import input_gradients
from cisflow.interpret.ism import ism_fast
from cisflow.interpret.scoring import filter_motif_matches, filter_pwms, plot_filter_logos, positional_auprc
from cisflow.interpret.tracks import contribution_bigwig
from cisflow.io import atomic_open

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


def _write_filters(model: nn.Module, motifs, out_dir: Path) -> None:
    """``filters.tsv`` and ``filter_logos.png`` for the model's first convolution."""
    weight = _first_conv_weight(model)
    if weight is None:
        log.info("model has no first Conv1d over one-hot input; no filter matches")
        return
    table = filter_motif_matches(weight, _load_motifs(motifs))
    with atomic_open(out_dir / "filters.tsv") as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.6g")
    titles = [f"filter {r.filter}: {r.motif} ({r.strand}) r={r.similarity:.2f}" for r in table.itertuples()]
    plot_filter_logos(filter_pwms(weight), out_dir / "filter_logos.png", titles)


def interpret_model(
    model_path: str | Path,
    dataset_npz: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    methods: Sequence[str] = METHODS,
    task: int | str = 0,
    max_sequences: int = 200,
    positives_only: bool = True,
    embeddings_tsv: str | Path | None = None,
    motifs: Sequence[str] | Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
    n_references: int = 20,
    device: str | None = None,
    summary: str | Path | None = None,
    chrom_sizes: Mapping[str, int] | None = None,
    precision: str = "float32",
) -> dict[str, Path]:
    """Contribution scores of a saved model on a dataset split, written per method.

    Writes ``out_dir/{method}.npz`` (:data:`cisflow.artifacts.SCORES`: ``x`` one-hot float32 ``(N, 4, L)``,
    ``scores``, ``hypothetical``, ``ids``, ``task``, ``seed``, the dataset's geometry; DeepSHAP adds
    ``summation_error``), ``positional_prc.tsv``
    (``method auprc n_sequences``) when ``embeddings_tsv`` is given, and ``filters.tsv`` +
    ``filter_logos.png`` when ``motifs`` are given and the model has a first Conv1d, and ``summary``
    (one row per method: sequences, seconds, positional auPRC, DeepSHAP's worst summation error) when
    given. With ``chrom_sizes`` and genomic windows (``chrom``/``start`` in the dataset), each
    method's actual-base contributions are also written as ``out_dir/{method}.bw``. DeepSHAP runs in
    ``precision`` (``float32`` or ``float64``). Returns the paths.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise CisflowError(f"unknown interpretation method(s) {unknown}; choose from {', '.join(METHODS)}")
    if precision not in PRECISIONS:
        raise CisflowError(f"unknown DeepSHAP precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    from cisflow.models import load_model

    device = resolve_device(device)
    model, meta = load_model(model_path, device=device)
    paths = [dataset_npz] if isinstance(dataset_npz, str | Path) else list(dataset_npz)
    data = read_datasets(paths)
    t = _task_index(task, data["tasks"], paths[0])
    rows = select_sequences(data["labels"], t, max_sequences, positives_only, seed)
    if not len(rows):
        raise CisflowError(f"no sequences to interpret for task {data['tasks'][t]!r}", ", ".join(map(str, paths)))
    x, ids = one_hot(data["codes"][rows]), data["ids"][rows].astype(str)
    check_signal_names(data, meta.get("signal_names", []), paths[0], "model")
    signal = data["signal"][rows] if "signal" in data else None
    log.info("interpreting %d sequences of task %s with %s", len(rows), data["tasks"][t], ", ".join(methods))
    out_dir, written, prc, rows_out = Path(out_dir), {}, [], []
    for method in methods:
        start = time.perf_counter()
        result = compute_scores(model, x, method, t, seed, n_references, device, signal, precision)
        row = {"method": method, "n_sequences": len(x), "seconds": round(time.perf_counter() - start, 3)}
        if "summation_error" in result:
            row["max_summation_error"] = float(np.max(result["summation_error"]))
        rows_out.append(row)
        written[method] = out_dir / f"{method}.npz"
        coords = {k: data[k][rows] for k in ("chrom", "start") if k in data}
        arrays = {"x": x, "ids": ids, "task": str(data["tasks"][t]), "seed": seed, **coords, **result}
        write(written[method], SCORES, arrays | geometry(data))
        if chrom_sizes is not None and len(coords) == 2:
            written[f"{method}_bw"] = contribution_bigwig(
                result["scores"], x, coords["chrom"], coords["start"], chrom_sizes, out_dir / f"{method}.bw"
            )
        if embeddings_tsv is not None:
            auc, n = positional_auprc(result["scores"], x, embeddings_tsv, ids)
            prc.append({"method": method, "auprc": auc, "n_sequences": n})
            row["positional_auprc"] = auc
    if embeddings_tsv is not None:
        written["positional_prc"] = out_dir / "positional_prc.tsv"
        with atomic_open(written["positional_prc"]) as handle:
            pd.DataFrame(prc).to_csv(handle, sep="\t", index=False, float_format="%.6g")
    if motifs:
        _write_filters(model, motifs, out_dir)
        written["filters"] = out_dir / "filters.tsv"
    if summary is not None:
        with atomic_open(summary) as handle:
            pd.DataFrame(rows_out).to_csv(handle, sep="\t", index=False, float_format="%.6g")
        written["summary"] = Path(summary)
    return written
