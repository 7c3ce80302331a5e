"""File I/O of the denoising stage: cut sites from reads, subsampled reads, bigWig tracks, peak BEDs, tables.

Reads are the filtered tagAlign (``chrom start end name score strand``, Tn5-shifted: the cut site is
``start`` on + and ``end - 1`` on -) or a fragments BED (``chrom start end [name]``, shifted: cut
sites ``start`` and ``end - 1``). Tracks are bigWigs with one value per base run.
"""

from __future__ import annotations

import csv
import logging
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cisflow.bigwig import open_bigwig
from cisflow.denoise.coverage import keep_by_name, window
from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_open, atomic_path, open_text

log = logging.getLogger(__name__)

_CHUNK = 500_000


def _first_fields(path: Path) -> list[str]:
    """Fields of the first data line (CisflowError if there is none)."""
    with open_text(path) as handle:
        for line in handle:
            if line.strip() and not line.startswith(("#", "track", "browser")):
                return line.rstrip("\n").split("\t")
    raise CisflowError("no reads", path)


def _chunks(path: Path) -> Iterator[tuple[pd.DataFrame, bool]]:
    """Chunks of ``chrom, start, end[, strand]`` and whether the file is stranded (tagAlign)."""
    first = _first_fields(path)
    stranded = len(first) >= 6 and first[5] in ("+", "-")
    if not stranded and len(first) < 3:
        raise CisflowError("need at least chrom, start, end columns (tagAlign or fragments BED)", path)
    cols = [0, 1, 2, 5] if stranded else [0, 1, 2]
    try:
        reader = pd.read_csv(path, sep="\t", header=None, usecols=cols, comment="#", chunksize=_CHUNK,
                             dtype={0: str, 1: np.int64, 2: np.int64}, compression="infer")  # fmt: skip
        with reader:
            for df in reader:
                yield df, stranded
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        raise CisflowError(f"cannot read reads ({exc.__class__.__name__}: {exc}); truncated or corrupt?", path) from exc


def _sites(df: pd.DataFrame, stranded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Chromosome names and cut-site positions of one chunk (two sites per fragment line)."""
    start, end, chrom = df[1].to_numpy(), df[2].to_numpy(), df[0].to_numpy()
    if stranded:
        return chrom, np.where(df[5].to_numpy() == "-", end - 1, start)
    return np.concatenate([chrom, chrom]), np.concatenate([start, end - 1])


def read_cut_sites(path: str | Path, sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Tn5 cut sites per chromosome from a tagAlign or fragments BED, streaming in chunks.

    Returns
    -------
    dict
        ``{chrom: int64 positions (M,)}`` for every chromosome of ``sizes`` (empty where no read).

    Raises
    ------
    CisflowError
        A chromosome absent from ``sizes`` (naming both sides) or a site outside its chromosome.
    """
    path = require_file(path, "reads file")
    parts: dict[str, list[np.ndarray]] = {c: [] for c in sizes}
    for df, stranded in _chunks(path):
        chrom, pos = _sites(df, stranded)
        names, inverse = np.unique(chrom, return_inverse=True)
        for i, name in enumerate(names):
            if name not in parts:
                shown = ", ".join(list(sizes)[:3])
                raise CisflowError(f"chromosome {name!r} is not in the genome (it has {shown} …)", path)
            part = pos[inverse == i]
            if part.size and (part.min() < 0 or part.max() >= sizes[name]):
                raise CisflowError(f"cut sites outside {name} (length {sizes[name]})", path)
            parts[name].append(part.astype(np.int64))
    return {c: np.concatenate(p) if p else np.zeros(0, dtype=np.int64) for c, p in parts.items()}


def _name_lines(path: Path) -> Iterator[list[tuple[str, str]]]:
    """Batches of ``(line, fragment name)``; lines named ``N`` / ``.`` (or unnamed) are their own fragment."""
    batch: list[tuple[str, str]] = []
    with open_text(path) as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.split("\t", 4)
            name = fields[3].rstrip("\n") if len(fields) > 3 else "."
            batch.append((line if line.endswith("\n") else line + "\n", f"\0{lineno}" if name in ("N", ".") else name))
            if len(batch) >= _CHUNK:
                yield batch
                batch = []
    yield batch


def subsample_reads(path: str | Path, out: str | Path, fraction: float, seed: int) -> dict[str, int]:
    """Keep a seeded random ``fraction`` of the fragments of a tagAlign / fragments file, streaming.

    Both ends of a paired-end fragment share its name and stay together; subsamples with one seed
    are nested (see :func:`~cisflow.denoise.coverage.keep_by_name`). Writes ``out`` atomically
    (gzip if it ends in .gz).

    Returns
    -------
    dict
        ``lines_in``, ``lines_out``.
    """
    path = require_file(path, "reads file")
    n_in = n_out = 0
    with atomic_open(out) as handle:
        for batch in _name_lines(path):
            keep = keep_by_name([name for _, name in batch], fraction, seed)
            handle.write("".join(line for (line, _), k in zip(batch, keep, strict=True) if k))
            n_in, n_out = n_in + len(batch), n_out + int(keep.sum())
        if n_in == 0:
            raise CisflowError("no reads to subsample", path)
    log.info("%s: kept %d of %d lines (fraction %g, seed %d) → %s", path, n_out, n_in, fraction, seed, out)
    return {"lines_in": n_in, "lines_out": n_out}


class BigWigWriter:
    """Write per-base tracks, one chromosome at a time, as a bigWig of constant-value runs, atomically.

    Zero runs are left out. Use as a context manager; the file appears under its name only when
    the block ends without error. Chromosomes must be added in the order of ``sizes``.
    """

    def __init__(self, path: str | Path, sizes: Mapping[str, int]) -> None:
        self.path, self.sizes = Path(path), dict(sizes)

    def __enter__(self) -> BigWigWriter:
        import pyBigWig

        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._bw = pyBigWig.open(str(tmp), "w")
        self._bw.addHeader([(c, int(n)) for c, n in self.sizes.items()])
        return self

    def add(self, chrom: str, values: np.ndarray) -> None:
        """Add one chromosome's values ``(size,)``."""
        values = np.asarray(values, dtype=np.float32)
        if len(values) != self.sizes.get(chrom):
            raise CisflowError(
                f"{chrom}: {len(values)} values for a chromosome of {self.sizes.get(chrom)} bp", self.path
            )
        starts = np.flatnonzero(np.diff(values, prepend=np.float32(np.nan)) != 0)
        ends = np.append(starts[1:], len(values))
        nz = values[starts] != 0
        if nz.any():
            self._bw.addEntries([chrom] * int(nz.sum()), starts[nz].tolist(), ends=ends[nz].tolist(),
                                values=values[starts[nz]].astype(float).tolist())  # fmt: skip

    def __exit__(self, *exc: Any) -> None:
        self._bw.close()
        self._atomic.__exit__(*exc)


def write_bigwig(path: str | Path, sizes: Mapping[str, int], tracks: Iterator[tuple[str, np.ndarray]]) -> None:
    """Write ``(chrom, values (size,))`` pairs, in the order of ``sizes``, with :class:`BigWigWriter`."""
    with BigWigWriter(path, sizes) as writer:
        for chrom, values in tracks:
            writer.add(chrom, values)


class TrackReader:
    """Windows of one or more bigWigs, zero outside the chromosomes and where no value is stored.

    Parameters
    ----------
    paths
        bigWigs; every one must hold every chromosome of ``sizes`` with the same length.
    sizes
        ``{chrom: length}``.
    """

    def __init__(self, paths: Sequence[str | Path], sizes: Mapping[str, int]) -> None:
        self.paths = [Path(p) for p in paths]
        self.sizes = dict(sizes)
        self._bws = [open_bigwig(p, "bigWig track") for p in self.paths]
        for bw, path in zip(self._bws, self.paths, strict=True):
            have = bw.chroms()
            for chrom, size in self.sizes.items():
                if have.get(chrom) != size:
                    self.close()
                    got = "absent" if chrom not in have else f"{have[chrom]} bp"
                    raise CisflowError(f"{chrom} is {got} in the bigWig but {size} bp in the genome", path)

    def chromosome(self, chrom: str) -> np.ndarray:
        """float32 ``(K, size)``: the K tracks over the whole chromosome."""
        return self.window(chrom, 0, self.sizes[chrom])

    def window(self, chrom: str, start: int, end: int) -> np.ndarray:
        """float32 ``(K, end - start)`` over ``[start, end)``; zeros off the chromosome."""
        s, e = max(start, 0), min(end, self.sizes[chrom])
        out = np.zeros((len(self._bws), end - start), dtype=np.float32)
        if e > s:
            for k, bw in enumerate(self._bws):
                vals = np.nan_to_num(np.asarray(bw.values(chrom, s, e, numpy=True), dtype=np.float32), nan=0.0)
                out[k] = window(vals, start - s, end - s)
        return out

    def close(self) -> None:
        """Close every bigWig."""
        for bw in self._bws:
            bw.close()

    def __enter__(self) -> TrackReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_table(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write dict rows as a TSV (columns of the first row; floats with 6 significant digits), atomically."""
    if not rows:
        raise CisflowError("no rows to write", path)
    columns = list(rows[0])
    with atomic_open(path) as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([f"{row.get(c):.6g}" if isinstance(row.get(c), float) else row.get(c, "") for c in columns])
