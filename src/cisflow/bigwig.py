"""Per-base signal from bigWigs as model input channels (FactorNet style), without torch.

Both the genome loader (:mod:`cisflow.loader`, training) and the datasets (:mod:`cisflow.data`, valid
and test) read signal through :func:`read_bigwig_tracks`, so the two see identical values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cisflow.errors import CisflowError, require_file


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
    path = Path(path)
    bw = open_bigwig(path)
    try:
        have = bw.chroms()
        missing = [c for c in chroms if c not in have]
        if missing:
            shown = ", ".join(list(have)[:3])
            raise CisflowError(f"chromosomes not in the bigWig: {', '.join(missing[:3])} (it has {shown} …)", path)
        out = []
        for chrom, size in zip(chroms, sizes, strict=True):
            if have[chrom] != size:
                raise CisflowError(f"{chrom} is {have[chrom]} bp in the bigWig but {size} bp in the genome", path)
            vals = np.asarray(bw.values(chrom, 0, size, numpy=True), dtype=np.float32)
            if np.nanmin(vals, initial=0.0) < 0:
                raise CisflowError(f"negative values on {chrom}; signal channels need non-negative coverage", path)
            out.append(np.log1p(np.nan_to_num(vals, nan=0.0)).astype(np.float16))
    finally:
        bw.close()
    return out


def signal_track_names(paths: Sequence[str | Path]) -> list[str]:
    """Channel names of signal bigWigs: their file names; CisflowError when two coincide."""
    names = [Path(p).name for p in paths]
    if len(set(names)) < len(names):
        raise CisflowError(f"signal bigWigs need distinct file names; got {', '.join(map(str, paths))}")
    return names
