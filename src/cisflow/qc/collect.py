"""The read-level QC accumulators that the read filter feeds while it streams a sample.

:class:`ReadQC` bundles what ENCODE measures on the filtered reads of one sample: mapped records
per chromosome (mitochondrial fraction), library complexity over the reads that pass every filter
but duplicate removal, the fragment-length histogram of kept paired-end fragments, the strand
cross-correlation of kept single-end ChIP reads, and the reads' median length. The filter calls
one method per record, read or fragment, on coordinate-sorted input; :meth:`ReadQC.result` gives a
JSON-ready dict (stored as the ``qc`` section of the read statistics).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cisflow.qc.complexity import LibraryComplexity
from cisflow.qc.fragments import FragmentLengths
from cisflow.qc.xcor import StrandCrossCorrelation

MITO_NAMES = ("chrM", "MT", "chrMT", "M")
_FLUSH = 100_000
_MAX_LENGTHS = 10_000


class ReadQC:
    """Read-level QC of one sample.

    Parameters
    ----------
    chrom_sizes
        ``{chrom: length}`` of the genome.
    paired
        Paired-end input (fragments) or single-end reads.
    assay
        ``chip`` or ``atac``; strand cross-correlation is computed for single-end ChIP.
    sorted_input
        Coordinate-sorted input (BAM): library-complexity counts are settled as the input moves on.
    mito
        Names that count as the mitochondrial chromosome.
    """

    def __init__(
        self,
        chrom_sizes: Mapping[str, int],
        paired: bool,
        assay: str,
        sorted_input: bool = True,
        mito: Sequence[str] = MITO_NAMES,
    ) -> None:
        self.paired, self.assay, self.mito = paired, assay, set(mito)
        self.mapped_by_chrom: dict[str, int] = {}
        self.complexity = LibraryComplexity(bounded=sorted_input)
        self.lengths = FragmentLengths() if paired else None
        self.xcor = StrandCrossCorrelation(chrom_sizes) if (assay == "chip" and not paired) else None
        self._frag_lengths: list[int] = []
        self._read_lengths: list[int] = []
        self._xcor_chrom: str | None = None
        self._xcor_reads: list[tuple[int, bool, int]] = []

    def mapped(self, chrom: str) -> None:
        """One primary mapped record on ``chrom`` (counted before any other filter)."""
        self.mapped_by_chrom[chrom] = self.mapped_by_chrom.get(chrom, 0) + 1

    def candidate_read(self, chrom: str, start: int, end: int, minus: bool) -> None:
        """A single-end read that passed every filter except duplicate removal."""
        self.complexity.add_read(chrom, start, end, minus)

    def candidate_fragment(self, chrom: str, start: int, end: int, at: int | None = None) -> None:
        """A paired-end fragment that passed every filter except duplicate removal, met at input position ``at``."""
        self.complexity.add_fragment(chrom, start, end, at)

    def kept_read(self, chrom: str, start: int, end: int, minus: bool) -> None:
        """A kept single-end read ``[start, end)`` (unshifted): read length and cross-correlation."""
        if len(self._read_lengths) < _MAX_LENGTHS:
            self._read_lengths.append(end - start)
        if self.xcor is None:
            return
        if chrom != self._xcor_chrom:
            self._flush_xcor()
            self._xcor_chrom = chrom
        self._xcor_reads.append((end - 1 if minus else start, minus, end - start))
        if len(self._xcor_reads) >= _FLUSH:  # handed on in blocks: memory does not grow with a chromosome's reads
            self._flush_xcor()

    def kept_fragment(self, start: int, end: int, len1: int, len2: int) -> None:
        """A kept paired-end fragment ``[start, end)`` before any Tn5 shift, with its reads' lengths."""
        if len(self._read_lengths) < _MAX_LENGTHS:
            self._read_lengths += [len1, len2]
        if self.lengths is not None:
            self._frag_lengths.append(end - start)
            if len(self._frag_lengths) >= _FLUSH:
                self._flush_lengths()

    def _flush_lengths(self) -> None:
        if self.lengths is not None and self._frag_lengths:
            self.lengths.add(np.array(self._frag_lengths, dtype=np.int64))
        self._frag_lengths = []

    def _flush_xcor(self) -> None:
        if self.xcor is not None and self._xcor_reads:
            five, minus, length = (np.array(col) for col in zip(*self._xcor_reads, strict=True))
            self.xcor.add(self._xcor_chrom, five, minus.astype(bool), length)
        self._xcor_reads = []

    def result(self) -> dict[str, Any]:
        """JSON-ready ``read_length mapped mito_reads mito_fraction complexity`` (+ ``fragment_lengths`` / ``xcor``)."""
        self._flush_lengths()
        self._flush_xcor()
        mapped = sum(self.mapped_by_chrom.values())
        mito = sum(n for c, n in self.mapped_by_chrom.items() if c in self.mito)
        out: dict[str, Any] = {
            "read_length": float(np.median(self._read_lengths)) if self._read_lengths else float("nan"),
            "mapped": mapped,
            "mito_reads": mito,
            "mito_fraction": mito / mapped if mapped else float("nan"),
            "complexity": self.complexity.metrics(),
        }
        if self.lengths is not None:
            hist = {"histogram": self.lengths.counts.tolist(), "longer": self.lengths.longer}
            out["fragment_lengths"] = self.lengths.metrics() | hist
        if self.xcor is not None:
            shifts = {"shifts": self.xcor.shifts.tolist(), "profile": [float(x) for x in self.xcor.profile()]}
            out["xcor"] = self.xcor.metrics() | shifts
        return out
