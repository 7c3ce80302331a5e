"""Per-base signal from bigWigs as model input channels (FactorNet style), without torch.

Both the genome loader (:mod:`cisflow.loader`, training) and the datasets (:mod:`cisflow.data`, valid
and test) read signal through :class:`SignalWindows` (or :func:`read_bigwig_tracks`, the same values in
memory), so the two see identical values. :class:`SignalWindows` writes the values a block at a time to
an unlinked temporary file and reads each window from it, so a genome's worth of signal (2 bytes a base
per track) is never held in memory.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cisflow.errors import CisflowError, require_file

_BLOCK = 1 << 22  # bases of a chromosome read from a bigWig at once


def open_bigwig(path: str | Path, what: str = "bigWig file") -> Any:
    """Open a bigWig for reading (a ``pyBigWig`` handle); CisflowError naming the file if it is not one."""
    import pyBigWig

    path = require_file(path, what)
    try:
        bw = pyBigWig.open(str(path))
    except RuntimeError as exc:
        raise CisflowError("cannot open as bigWig", path) from exc
    if bw is None or not bw.isBigWig():
        raise CisflowError("not a bigWig file", path)
    return bw


def read_bigwig_tracks(path: str | Path, chroms: Sequence[str], sizes: Sequence[int]) -> list[np.ndarray]:
    """Per-base values of a bigWig on ``chroms``, ``log1p``-transformed, missing → 0.

    Parameters
    ----------
    path
        bigWig file.
    chroms, sizes
        Chromosome names and their genome lengths (bp); each must be in the bigWig with the same length.

    Returns
    -------
    list of numpy.ndarray
        float16 ``(size,)`` per chromosome (``log1p`` keeps the values small enough for float16's
        three significant digits).
    """
    out = [np.zeros(int(size), np.float16) for size in sizes]
    for k, lo, block in _track_blocks(path, chroms, sizes):
        out[k][lo : lo + block.size] = block
    return out


class SignalWindows:
    """Windows of one bigWig's ``log1p`` values on some chromosomes (0 off their ends), read from a temporary file.

    The values of :func:`read_bigwig_tracks` are written once, a block at a time, laid out ``[pad 0 |
    chrom 0 | pad 0 | pad 0 | chrom 1 | pad 0 …]`` (2 bytes a base) to a file that is unlinked at once
    (its space is freed with the object); each window is then one ``pread`` of it. Nothing of the track
    stays in the process: the file's pages live in the page cache, not in its resident set (a
    memory map would count them, and a page fault maps a whole large folio, hundreds of kB a window).

    Parameters
    ----------
    path, chroms, sizes
        As :func:`read_bigwig_tracks`.
    length
        Window length (bp).
    pad
        How far (bp) a window may start before a chromosome or end after it.
    directory
        Where the temporary file is made (default: the system's temporary directory).
    """

    def __init__(
        self,
        path: str | Path,
        chroms: Sequence[str],
        sizes: Sequence[int],
        length: int,
        pad: int,
        directory: str | Path | None = None,
    ) -> None:
        sizes = [int(n) for n in sizes]
        self.length, self.pad = int(length), int(pad)
        self._offsets = (np.cumsum([0, *(n + 2 * pad for n in sizes)], dtype=np.int64) + pad)[: len(sizes)]
        self._sizes = np.asarray(sizes, dtype=np.int64)
        fd, name = tempfile.mkstemp(prefix="cisflow-signal-", suffix=".f16", dir=directory)
        os.unlink(name)
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        os.ftruncate(fd, 2 * (sum(sizes) + 2 * pad * len(sizes)))  # sparse zeros: pads and bases without values
        for k, lo, block in _track_blocks(path, chroms, sizes):
            os.pwrite(fd, block.tobytes(), 2 * int(self._offsets[k] + lo))

    def gather(self, chrom_idx: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """float16 ``(n, length)``: the windows at ``starts`` ``(n,)`` on chromosomes ``chrom_idx`` ``(n,)``
        (each within ``pad`` of its chromosome)."""
        starts, chrom_idx = np.asarray(starts, dtype=np.int64), np.asarray(chrom_idx, dtype=np.int64)
        if ((starts < -self.pad) | (starts + self.length > self._sizes[chrom_idx] + self.pad)).any():
            raise CisflowError(f"signal windows must lie within {self.pad} bp of their chromosome")
        out = np.empty((starts.size, self.length), np.float16)
        for row, at in zip(out, (2 * (self._offsets[chrom_idx] + starts)).tolist(), strict=True):
            os.preadv(self._fd, [row], at)
        return out


def _track_blocks(
    path: str | Path, chroms: Sequence[str], sizes: Sequence[int]
) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(k, start, float16 log1p values)`` of each block of at most :data:`_BLOCK` bases of ``chroms[k]`` that the
    bigWig has values in; CisflowError naming the file for a chromosome it lacks, another length or a negative value."""
    path = Path(path)
    bw = open_bigwig(path)
    try:
        have = bw.chroms()
        missing = [c for c in chroms if c not in have]
        if missing:
            shown = ", ".join(list(have)[:3])
            raise CisflowError(f"chromosomes not in the bigWig: {', '.join(missing[:3])} (it has {shown} …)", path)
        for k, (chrom, size) in enumerate(zip(chroms, sizes, strict=True)):
            if have[chrom] != size:
                raise CisflowError(f"{chrom} is {have[chrom]} bp in the bigWig but {size} bp in the genome", path)
            for lo in range(0, int(size), _BLOCK):
                vals = np.asarray(bw.values(chrom, lo, min(lo + _BLOCK, int(size)), numpy=True), dtype=np.float32)
                if np.nanmin(vals, initial=0.0) < 0:
                    raise CisflowError(f"negative values on {chrom}; signal channels need non-negative coverage", path)
                yield k, lo, np.log1p(np.nan_to_num(vals, nan=0.0)).astype(np.float16)
    finally:
        bw.close()


def signal_track_names(paths: Sequence[str | Path]) -> list[str]:
    """Channel names of signal bigWigs: their file names; CisflowError when two coincide."""
    names = [Path(p).name for p in paths]
    if len(set(names)) < len(names):
        raise CisflowError(f"signal bigWigs need distinct file names; got {', '.join(map(str, paths))}")
    return names
