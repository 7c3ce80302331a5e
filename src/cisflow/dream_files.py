"""The ENCODE-DREAM challenge's own files: label TSVs, region lists and submission names.

* Label TSV (``<TF>.train.labels.tsv.gz``): header ``chr start stop CELL…``, one row per 200 bp bin
  every 50 bp (blacklisted bins left out), one letter per cell type: ``B`` bound, ``U`` unbound,
  ``A`` ambiguous. :func:`labels_from_dream_tsv` reads it as :class:`cisflow.labels.Labels` (tasks
  ``<TF>.<CELL>``, bins absent from the file marked not kept), so training and evaluation run on the
  challenge's labels unchanged.
* Region list (``ladder_regions.blacklistfiltered.bed.gz``, ``test_regions…``): ``chr start stop``
  bins to predict, in the order a submission must list them (:func:`read_regions`).
* Submission names: ``<L|F|B>.<TF>.<CELL>.tab.gz`` (leaderboard, final, within-cell-type rounds;
  :func:`submission_name`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Mapping
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.io import open_text
from cisflow.labels import Labels, n_bins

log = logging.getLogger(__name__)

_CODES = {"B": 1, "U": 0, "A": -1}
ROUNDS = ("L", "F", "B")
_NAME = re.compile(r"^[A-Za-z0-9_+-]+$")


def tf_from_label_path(path: str | Path) -> str:
    """The TF of a challenge label file: ``CTCF.train.labels.tsv.gz`` → ``CTCF``."""
    return Path(path).name.split(".")[0]


def _chunks(path: Path, header: list[str], chunksize: int) -> Iterator[pd.DataFrame]:
    dtypes = {"chr": str, "start": np.int64, "stop": np.int64} | dict.fromkeys(header[3:], str)
    try:
        with open_text(path) as handle:
            yield from pd.read_csv(handle, sep="\t", dtype=dtypes, chunksize=chunksize)
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        raise CisflowError(f"cannot read the label TSV ({exc.__class__.__name__}: {exc})", path) from exc


def _header(path: Path) -> list[str]:
    with open_text(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
    if header[:3] != ["chr", "start", "stop"] or len(header) < 4:
        raise CisflowError(f"header must be chr, start, stop and at least one cell type; got {header[:4]}", path)
    return header


def _geometry(first: pd.DataFrame, path: Path) -> tuple[int, int]:
    """Bin width (constant stop − start) and stride (gcd of start steps) from the first rows."""
    widths = (first["stop"] - first["start"]).unique()
    if len(widths) != 1 or widths[0] <= 0:
        raise CisflowError(f"bins must all have one width; got {sorted(widths.tolist())[:5]}", path)
    steps = first.groupby("chr", sort=False)["start"].diff().dropna().astype(np.int64)
    steps = steps[steps > 0]
    stride = int(reduce(math.gcd, steps.tolist(), 0)) or int(widths[0])
    return int(widths[0]), stride


def labels_from_dream_tsv(
    path: str | Path,
    chrom_sizes: Mapping[str, int] | None = None,
    *,
    tf: str | None = None,
    chunksize: int = 1_000_000,
) -> Labels:
    """Read a challenge label TSV as :class:`~cisflow.labels.Labels` (streaming, chunk by chunk).

    Parameters
    ----------
    path
        ``chr start stop CELL…`` TSV (gzip fine) with letters B / U / A.
    chrom_sizes
        The genome's ``{chrom: length}``; chromosomes of the file must be in it. None: each
        chromosome ends at its last bin's stop.
    tf
        Task prefix (default the file name's first field, e.g. ``CTCF``); tasks are ``<TF>.<CELL>``.

    Returns
    -------
    Labels
        Bins ``[i * stride, i * stride + width)`` with the file's width and stride (challenge: 200
        and 50); bins not in the file are ``keep = False`` (label 0).
    """
    path = require_file(path, "DREAM label TSV")
    header = _header(path)
    tf = tf or tf_from_label_path(path)
    chunks = _chunks(path, header, chunksize)
    first = next(chunks, None)
    if first is None or first.empty:
        raise CisflowError("no bins in the label TSV", path)
    width, stride = _geometry(first, path)
    grid = _Grid(width, stride, chrom_sizes, path)
    for chunk in (first, *chunks):
        grid.add(chunk, header[3:])
    sizes = {c: chrom_sizes[c] for c in chrom_sizes if c in grid.labels} if chrom_sizes is not None else grid.sizes
    out = Labels(
        tasks=[f"{tf}.{cell}" for cell in header[3:]], bin_size=width, stride=stride, chrom_sizes=sizes,
        labels={c: grid.labels[c][: n_bins(s, width, stride)] for c, s in sizes.items()},
        keep={c: grid.keep[c][: n_bins(s, width, stride)] for c, s in sizes.items()},
        mode="dream", params={"source": str(path)},
    )  # fmt: skip
    log.info("%s: %d bins of %d tasks", path, sum(int(k.sum()) for k in out.keep.values()), len(out.tasks))
    return out


class _Grid:
    """Per-chromosome label and keep arrays on a ``width`` / ``stride`` bin grid, grown as rows arrive."""

    def __init__(self, width: int, stride: int, chrom_sizes: Mapping[str, int] | None, path: Path) -> None:
        self.width, self.stride, self.given, self.path = width, stride, chrom_sizes, path
        self.labels: dict[str, np.ndarray] = {}
        self.keep: dict[str, np.ndarray] = {}
        self.sizes: dict[str, int] = {}

    def _check(self, chunk: pd.DataFrame, cells: list[str]) -> np.ndarray:
        """int8 codes ``(rows, cells)`` of a chunk after checking its bins and letters."""
        off = ((chunk["stop"] - chunk["start"]) != self.width) | (chunk["start"] % self.stride != 0)
        if off.any():
            bad = chunk[off].iloc[0]
            where = f"{bad['chr']}:{bad['start']}-{bad['stop']}"
            raise CisflowError(f"bin {where} is off the {self.width} bp / {self.stride} bp grid", self.path)
        letters = chunk[cells].to_numpy(dtype=str)
        bad = ~np.isin(letters, list(_CODES))
        if bad.any():
            raise CisflowError(f"label {str(letters[bad][0])!r} is not B, U or A", self.path)
        return np.select([letters == "B", letters == "U"], [1, 0], default=-1).astype(np.int8)

    def add(self, chunk: pd.DataFrame, cells: list[str]) -> None:
        """Place one chunk of rows."""
        codes = self._check(chunk, cells)
        for chrom, rows in chunk.groupby("chr", sort=False).indices.items():
            if self.given is not None and chrom not in self.given:
                raise CisflowError(f"chromosome {chrom!r} is not in the genome sizes", self.path)
            idx = chunk["start"].to_numpy()[rows] // self.stride
            stop = int(chunk["stop"].to_numpy()[rows].max())
            if self.given is not None and stop > self.given[chrom]:
                raise CisflowError(
                    f"bin ending at {stop} is past the end of {chrom} ({self.given[chrom]} bp)", self.path
                )
            self._grow(chrom, int(idx.max()) + 1, codes.shape[1])
            self.labels[chrom][idx], self.keep[chrom][idx] = codes[rows], True
            self.sizes[chrom] = max(self.sizes.get(chrom, 0), stop)

    def _grow(self, chrom: str, n: int, n_tasks: int) -> None:
        old = self.labels.get(chrom, np.zeros((0, n_tasks), np.int8))
        if old.shape[0] >= n:
            return
        if self.given is not None:
            n = max(n, n_bins(self.given[chrom], self.width, self.stride))
        new = np.zeros((max(n, 2 * old.shape[0]), n_tasks), np.int8)
        new[: old.shape[0]] = old
        keep = np.zeros(new.shape[0], bool)
        keep[: old.shape[0]] = self.keep.get(chrom, np.zeros(0, bool))
        self.labels[chrom], self.keep[chrom] = new, keep


def read_regions(path: str | Path) -> pd.DataFrame:
    """A challenge region list (``chr start stop``, no header, gzip fine) as ``chr start stop``, file order kept."""
    path = require_file(path, "DREAM region list")
    try:
        with open_text(path) as handle:
            table = pd.read_csv(handle, sep="\t", header=None, usecols=[0, 1, 2], names=["chr", "start", "stop"],
                                dtype={0: str})  # fmt: skip
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        raise CisflowError(f"not a 'chr start stop' region list ({exc.__class__.__name__}: {exc})", path) from exc
    if not pd.api.types.is_integer_dtype(table["start"]) or not pd.api.types.is_integer_dtype(table["stop"]):
        raise CisflowError("start / stop must be integers (no header line allowed)", path)
    if table.empty or (table["stop"] <= table["start"]).any() or (table["start"] < 0).any():
        raise CisflowError("regions need 0 ≤ start < stop (and at least one region)", path)
    return table


def submission_name(tf: str, cell: str, round: str = "F") -> str:
    """The challenge's submission file name ``<round>.<TF>.<CELL>.tab.gz`` (round L, F or B)."""
    if round not in ROUNDS:
        raise CisflowError(f"unknown challenge round {round!r}; use L (leaderboard), F (final) or B (within)")
    for part in (tf, cell):
        if not _NAME.match(part):
            raise CisflowError(f"{part!r} cannot be part of a submission name (letters, digits, _ + - only)")
    return f"{round}.{tf}.{cell}.tab.gz"


def dream_labels_to_files(
    labels_tsv: str | Path,
    out: str | Path,
    *,
    chrom_sizes: Mapping[str, int] | None = None,
    tf: str | None = None,
    summary: str | Path | None = None,
) -> Labels:
    """Read a challenge label TSV (:func:`labels_from_dream_tsv`) and save it as a cisflow labels npz.

    ``summary``, if given, gets the per-task bound / ambiguous / unbound counts (TSV).
    """
    from cisflow.io import atomic_open
    from cisflow.labels import label_summary, save_labels

    labels = labels_from_dream_tsv(labels_tsv, chrom_sizes, tf=tf)
    save_labels(labels, out)
    if summary is not None:
        with atomic_open(summary) as handle:
            label_summary(labels).to_csv(handle, sep="\t", index=False)
    return labels
