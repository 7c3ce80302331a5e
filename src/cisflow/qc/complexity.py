"""ENCODE library complexity: NRF, PBC1, PBC2 and the duplication rate, from read or fragment positions.

ENCODE counts, over the filtered reads *before* duplicate removal (duplicates marked, not dropped),
how many reads (SE) or read pairs (PE) share each position: ``total`` reads, ``distinct``
positions, ``one`` positions seen exactly once and ``two`` positions seen exactly twice; then

* NRF = distinct / total (non-redundant fraction),
* PBC1 = one / distinct, PBC2 = one / two (PCR bottleneck coefficients; ``inf`` when ``two`` is 0),
* duplication rate = 1 − NRF (the share of reads that repeat an earlier read's position).

A position is ``(5' end, strand)`` of a single-end read and ``(start, end)`` of a paired-end
fragment (ENCODE: chrom, 5' ends and strands of both mates) on one chromosome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cisflow.errors import CisflowError

_SPAN = np.int64(1) << np.int64(31)


def se_keys(five_prime: np.ndarray, minus: np.ndarray) -> np.ndarray:
    """Position keys ``(n,)`` int64 of single-end reads: 5' end (0-based) and strand (``minus`` bool)."""
    five_prime = np.asarray(five_prime, dtype=np.int64)
    return five_prime * 2 + np.asarray(minus, dtype=np.int64)


def pe_keys(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Position keys ``(n,)`` int64 of paired-end fragments ``[start, end)`` (coordinates < 2**31)."""
    start, end = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
    if start.size and (start.min() < 0 or end.max() >= _SPAN):
        raise CisflowError(f"fragment coordinates must lie in [0, 2**31); got {start.min()}..{end.max()}")
    return start * _SPAN + end


@dataclass
class LibraryComplexity:
    """Running counts of ENCODE's library-complexity statistics.

    Feed every position of a chromosome with :meth:`add` (chunks of one chromosome are joined until
    the chromosome changes or :meth:`finish` is called); positions on different chromosomes never
    match.
    """

    total: int = 0
    distinct: int = 0
    one: int = 0
    two: int = 0

    def __post_init__(self) -> None:
        self._chrom: str | None = None
        self._parts: list[np.ndarray] = []

    def add(self, chrom: str, keys: np.ndarray) -> None:
        """Add position keys ``(n,)`` (:func:`se_keys` / :func:`pe_keys`) of reads on ``chrom``."""
        if chrom != self._chrom:
            self._count()
            self._chrom = chrom
        self._parts.append(np.asarray(keys, dtype=np.int64))

    def finish(self) -> LibraryComplexity:
        """Count the last chromosome; returns ``self``."""
        self._count()
        self._chrom = None
        return self

    def _count(self) -> None:
        if not self._parts:
            return
        keys = np.concatenate(self._parts)
        self._parts = []
        _, counts = np.unique(keys, return_counts=True)
        self.total += int(keys.size)
        self.distinct += int(counts.size)
        self.one += int((counts == 1).sum())
        self.two += int((counts == 2).sum())

    def metrics(self) -> dict[str, float | int]:
        """``total distinct one two nrf pbc1 pbc2 duplication_rate`` (NaN without reads; PBC2 inf if ``two`` is 0)."""
        self.finish()
        nan = math.nan
        nrf = self.distinct / self.total if self.total else nan
        return {
            "total": self.total,
            "distinct": self.distinct,
            "one": self.one,
            "two": self.two,
            "nrf": nrf,
            "pbc1": self.one / self.distinct if self.distinct else nan,
            "pbc2": (self.one / self.two if self.two else math.inf) if self.distinct else nan,
            "duplication_rate": 1.0 - nrf if self.total else nan,
        }
