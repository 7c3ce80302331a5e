"""ENCODE library complexity: NRF, PBC1, PBC2 and the duplication rate, counted while reads stream.

ENCODE counts, over the filtered reads *before* duplicate removal (duplicates marked, not dropped),
how many reads (SE) or read pairs (PE) share each position: ``total`` reads, ``distinct``
positions, ``one`` positions seen exactly once and ``two`` positions seen exactly twice; then

* NRF = distinct / total (non-redundant fraction),
* PBC1 = one / distinct, PBC2 = one / two (PCR bottleneck coefficients; ``inf`` when ``two`` is 0),
* duplication rate = 1 − NRF (the share of reads that repeat an earlier read's position).

A position is ``(start, end, strand)`` of a single-end read (ENCODE: chrom, start, end, strand of
the read) and ``(start, end)`` of a paired-end fragment (ENCODE keeps the two mate orientations
apart too; proper pairs of one library rarely differ in it) on one chromosome.

On coordinate-sorted input (``bounded=True``) each key carries the last input position at which
it can occur again (a read's start; a fragment's end − 1, since its second mate is met inside it),
so counts of keys the input has moved past are settled and dropped: memory follows the local depth,
not the chromosome. ``bounded=False`` (unsorted text input) keeps every key until the end.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

_PRUNE = 1 << 16  # keys held before the first settling of a chromosome's counts


class LibraryComplexity:
    """Running counts of ENCODE's library-complexity statistics, fed one read or fragment at a time."""

    def __init__(self, bounded: bool = True) -> None:
        self.total = self.distinct = self.one = self.two = 0
        self.bounded = bounded
        self._chrom: str | None = None
        self._counts: dict[tuple[int, str, Hashable], int] = {}
        self._limit = _PRUNE

    def add(self, chrom: str, pos: int, key: Hashable, last: int) -> None:
        """Count one read at input position ``(chrom, pos)`` with position ``key``, repeatable until ``last``."""
        if chrom != self._chrom and self.bounded:
            self._settle(None)
            self._limit = _PRUNE
        self._chrom = chrom
        full = (last, chrom, key)
        self._counts[full] = self._counts.get(full, 0) + 1
        if self.bounded and len(self._counts) > self._limit:
            self._settle(pos)
            self._limit = max(_PRUNE, 2 * len(self._counts))

    def add_read(self, chrom: str, start: int, end: int, minus: bool) -> None:
        """A single-end read ``[start, end)`` (input sorted by start)."""
        self.add(chrom, start, (start, end, minus), start)

    def add_fragment(self, chrom: str, start: int, end: int, at: int | None = None) -> None:
        """A paired-end fragment ``[start, end)`` met at input position ``at`` (default ``start``)."""
        self.add(chrom, start if at is None else at, (start, end), end - 1)

    def _settle(self, before: int | None) -> None:
        """Move counts of keys whose ``last`` is before ``before`` (all if None) into the totals."""
        done = [k for k in self._counts if before is None or k[0] < before]
        for k in done:
            n = self._counts.pop(k)
            self.total += n
            self.distinct += 1
            self.one += n == 1
            self.two += n == 2

    def metrics(self) -> dict[str, float | int]:
        """``total distinct one two nrf pbc1 pbc2 duplication_rate`` (NaN without reads; PBC2 inf if ``two`` is 0)."""
        self._settle(None)
        self._chrom = None
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
