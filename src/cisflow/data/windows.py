"""What a dataset's windows hold: genome codes (N-padded off a chromosome's ends) and signal bigWig channels
(``log1p`` float16), for stored datasets and for coordinate datasets whose windows are made when used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cisflow.bigwig import SignalWindows, signal_track_names
from cisflow.cellsignal import role_names
from cisflow.errors import CisflowError
from cisflow.genome import Genome
from cisflow.labels import Labels

_FETCH_CHUNK = 20_000


def _window_starts(labels: Labels, bin_idx: np.ndarray, input_length: int) -> np.ndarray:
    """Start of the ``input_length`` window centred on each bin ``(n,)`` int64."""
    return bin_idx * labels.stride + labels.bin_size // 2 - input_length // 2


def _fetch(genome: Genome, chroms: Sequence[str], chrom_idx: np.ndarray, starts: np.ndarray, length: int):
    """Codes ``(n, length)`` of windows on ``chroms[chrom_idx]`` starting at ``starts``."""
    names = np.asarray(chroms, dtype=object)[chrom_idx] if len(chroms) else np.zeros(0, object)
    return genome.fetch_many(names, starts, length)


def _signal_windows(
    path: str | Path, genome: Genome, chroms: Sequence[str], chrom_idx: np.ndarray, starts: np.ndarray, length: int
) -> np.ndarray:
    """float16 ``(n, length)`` ``log1p`` signal of one bigWig under the windows (0 off a chromosome's ends),
    gathered :data:`_FETCH_CHUNK` windows at a time from a memory-mapped copy (:class:`SignalWindows`)."""
    used = [chroms[k] for k in np.unique(chrom_idx)]
    index = np.full(len(chroms), -1, np.int64)
    index[np.unique(chrom_idx)] = np.arange(len(used))
    windows = SignalWindows(path, used, [genome.sizes[c] for c in used], length, length)
    out = np.zeros((starts.size, length), np.float16)
    for lo in range(0, starts.size, _FETCH_CHUNK):
        out[lo : lo + _FETCH_CHUNK] = windows.gather(
            index[chrom_idx[lo : lo + _FETCH_CHUNK]], starts[lo : lo + _FETCH_CHUNK]
        )
    return out


def add_signal(
    dataset: dict[str, np.ndarray], genome: Genome, signal_bigwigs: Sequence[str | Path]
) -> dict[str, np.ndarray]:
    """Add ``signal`` float16 ``(N, S, L)`` and ``signal_names`` ``(S,)`` of ``signal_bigwigs`` to a dataset.

    The windows are the dataset's (``chrom``, ``start``, and ``L`` from ``codes``); values are those of
    :func:`cisflow.bigwig.read_bigwig_tracks`, so training batches streamed from the genome and these
    arrays agree exactly.
    """
    names = signal_track_names(signal_bigwigs)
    n, length = dataset["codes"].shape
    order = list(genome.sizes)
    chroms = sorted(set(dataset["chrom"].tolist()), key=order.index)
    chrom_idx = np.array([chroms.index(c) for c in dataset["chrom"]], dtype=np.int64).reshape(n)
    signal = np.zeros((n, len(names), length), np.float16)
    for j, path in enumerate(signal_bigwigs):
        signal[:, j] = _signal_windows(path, genome, chroms, chrom_idx, dataset["start"], length)
    return {**dataset, "signal": signal, "signal_names": np.asarray(names, dtype=str)}


def dataset_arrays(
    data: Mapping[str, np.ndarray],
    genome: Genome | None,
    rows: np.ndarray | None = None,
    signal_bigwigs: Sequence[str | Path] = (),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes ``(n, L)`` uint8 and signal ``(n, S, L)`` float16 (or None) of a dataset's rows (default all).

    Read from the dataset when it stores them, else made from ``genome`` (and ``signal_bigwigs``, the
    dataset's ``signal_names`` in order), exactly as :func:`build_datasets` would have stored them.
    Meant for subsets (a baseline's capped training sample, the windows interpreted); genome-wide
    splits are scored in batches (:func:`cisflow.loader.dataset_windows`).
    """
    rows = np.arange(len(data["labels"])) if rows is None else np.asarray(rows)
    if "codes" in data:
        return data["codes"][rows], (data["signal"][rows] if "signal" in data else None)
    check_dataset_signal(data, signal_bigwigs)
    codes = dataset_codes(data, genome, rows)
    length, starts = int(data["input_length"]), np.asarray(data["start"])[rows]
    if not signal_bigwigs:
        return codes, None
    chroms = sorted(set(data["chrom"][rows].tolist()), key=list(genome.sizes).index)
    chrom_idx = np.array([chroms.index(c) for c in data["chrom"][rows]], dtype=np.int64).reshape(len(rows))
    signal = np.stack([_signal_windows(p, genome, chroms, chrom_idx, starts, length) for p in signal_bigwigs], axis=1)
    return codes, signal


def dataset_codes(data: Mapping[str, np.ndarray], genome: Genome | None, rows: np.ndarray | None = None) -> np.ndarray:
    """Codes ``(n, L)`` uint8 of a dataset's rows (default all): its sequence only, for models that read no
    signal channels (the baselines); stored codes when it has them, else made from ``genome``."""
    rows = np.arange(len(data["labels"])) if rows is None else np.asarray(rows)
    if "codes" in data:
        return data["codes"][rows]
    if genome is None:
        raise CisflowError("a coordinate dataset (no codes) needs the genome to make its windows")
    return genome.flat().fetch_many(data["chrom"][rows], np.asarray(data["start"])[rows], int(data["input_length"]))


def check_dataset_signal(data: Mapping[str, np.ndarray], signal_bigwigs: Sequence[str | Path]) -> None:
    """CisflowError unless ``signal_bigwigs`` are the dataset's signal channels: by file name, in order, or as many
    as its per-cell-type roles (:func:`cisflow.cellsignal.role_names`: any cell type's tracks)."""
    names = [str(n) for n in data.get("signal_names", [])]
    if names and names == role_names(len(signal_bigwigs)):
        return
    if signal_track_names(signal_bigwigs) != names:
        raise CisflowError(f"signal bigWigs {signal_track_names(signal_bigwigs)} are not the dataset's {names}")
