"""Atomic writes and small readers shared by every stage.

Every output is written to a temporary name beside its target and renamed into place only
when complete, so an interrupted job never leaves a file that looks finished.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.resources
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from cisflow.errors import CisflowError

if TYPE_CHECKING:
    import pandas as pd


def _umask() -> int:
    """The process umask (read without changing it for long)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps the final suffixes (e.g. ``.npz``, ``.png``) so writers that infer
    the format from the name behave the same. On error the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name.split('.')[0]}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file for writing (gzip if ``path`` ends in .gz); rename on success."""
    with atomic_path(path) as tmp:
        opener = gzip.open if str(path).endswith(".gz") else open
        kwargs = {"encoding": "utf-8"} if "b" not in mode else {}
        if opener is gzip.open and "b" not in mode:
            mode = mode + "t"
        with opener(tmp, mode, **kwargs) as handle:
            yield handle


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(path) as handle:
        json.dump(obj, handle, indent=2, sort_keys=False)
        handle.write("\n")


def save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Save arrays to a compressed npz, atomically."""
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


def open_text(path: str | Path) -> IO[str]:
    """Open a UTF-8 text file, gzipped or not (by magic bytes), for reading (a leading byte-order mark dropped)."""
    path = Path(path)
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def read_text_lines(path: str | Path) -> list[str]:
    """Read all lines of a (possibly gzipped) text file; a truncated gzip is a CisflowError."""
    try:
        with open_text(path) as handle:
            return handle.read().splitlines()
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        raise CisflowError(f"cannot read ({exc.__class__.__name__}: {exc}); truncated or corrupt?", path) from exc
    except UnicodeDecodeError as exc:
        raise CisflowError("not a text file", path) from exc


def file_digest(path: str | Path, chunk: int = 1 << 22) -> str:
    """BLAKE2b-128 (hex) of a file's bytes, read ``chunk`` bytes at a time (memory bounded by the chunk)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def array_digest(arrays: Mapping[str, Any]) -> str:
    """BLAKE2b-128 (hex) of named arrays: each name, dtype, shape and C-order bytes, names sorted.

    The digest of what the data is, not of how it was stored (npz compression, file times, key order).
    """
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        if arr.dtype.hasobject:
            arr = arr.astype(str)
        digest.update(f"{name}\0{arr.dtype.str}\0{arr.shape}\0".encode())
        digest.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")
    return digest.hexdigest()


class ChunkedNpz:
    """An npz written a block of rows at a time, in bounded memory, renamed into place when complete.

    Each large array is preallocated as a memory-mapped ``.npy`` in a temporary folder beside ``path``;
    :meth:`write` fills rows, :meth:`close` zips the arrays (numpy copies them in buffered pieces) plus
    any small ones into ``path`` and removes the folder. Leaving the ``with`` block on an error leaves
    no ``path``.

    Parameters
    ----------
    path
        The npz to write.
    n_rows
        Rows of every chunked array.
    columns
        ``{name: (dtype, trailing shape)}`` of the chunked arrays, e.g. ``{"probs": (np.float32, (T,))}``.
    """

    def __init__(self, path: str | Path, n_rows: int, columns: dict[str, tuple[Any, tuple[int, ...]]]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self.arrays = {
            name: np.lib.format.open_memmap(self._tmp / f"{name}.npy", mode="w+", dtype=dtype, shape=(n_rows, *tail))
            for name, (dtype, tail) in columns.items()
        }

    def write(self, lo: int, **chunks: np.ndarray) -> None:
        """Rows ``lo .. lo + len(chunk) - 1`` of each named array."""
        for name, chunk in chunks.items():
            self.arrays[name][lo : lo + len(chunk)] = chunk

    def close(self, **small: np.ndarray) -> None:
        """Write the npz (the chunked arrays and ``small``), atomically, and remove the temporary folder."""
        save_npz(self.path, **self.arrays, **small)
        self._cleanup()

    def _cleanup(self) -> None:
        import shutil

        self.arrays = {}
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> ChunkedNpz:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._cleanup()


def format_cell(value: Any) -> str:
    """A TSV cell: floats to 6 significant digits, NaN as ``nan``, anything else as ``str``."""
    if isinstance(value, float | np.floating):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def write_tsv(table: pd.DataFrame, path: str | Path) -> None:
    """Write a table as TSV with a header (cells by :func:`format_cell`), atomically; CisflowError if empty."""
    if table.empty:
        raise CisflowError("empty table", path)
    with atomic_open(path) as handle:
        handle.write("\t".join(map(str, table.columns)) + "\n")
        for row in table.itertuples(index=False):
            handle.write("\t".join(format_cell(v) for v in row) + "\n")


def package_file(relative: str) -> Path:
    """A data file shipped inside the ``cisflow`` package (e.g. ``resources/schemas/config.schema.yaml``).

    Found through :mod:`importlib.resources`, so it works from an installed wheel as from a checkout;
    a missing file is a CisflowError (a broken installation).
    """
    path = Path(str(importlib.resources.files("cisflow").joinpath(relative)))
    if not path.is_file():
        raise CisflowError("package data file missing; reinstall cisflow", path)
    return path
