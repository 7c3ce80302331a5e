"""The read-level QC accumulators that the read filter feeds while it streams a sample.

:class:`ReadQC` bundles what ENCODE measures on the filtered reads of one sample: mapped reads per
chromosome (mitochondrial fraction), library complexity over the reads that pass every filter but
duplicate removal, the fragment-length histogram of paired-end fragments, and the strand
cross-correlation of single-end ChIP reads. The filter calls the ``add_*`` methods per chromosome
(or per chunk of one chromosome, chromosomes in order); :meth:`ReadQC.result` gives a JSON-ready dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cisflow.qc.complexity import LibraryComplexity, pe_keys, se_keys
from cisflow.qc.fragments import FragmentLengths
from cisflow.qc.xcor import StrandCrossCorrelation

MITO_NAMES = ("chrM", "MT", "chrMT", "M")


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
    mito
        Names that count as the mitochondrial chromosome.
    """

    def __init__(
        self, chrom_sizes: Mapping[str, int], paired: bool, assay: str, mito: Sequence[str] = MITO_NAMES
    ) -> None:
        self.paired, self.assay, self.mito = paired, assay, set(mito)
        self.mapped_by_chrom: dict[str, int] = {}
        self.complexity = LibraryComplexity()
        self.lengths = FragmentLengths() if paired else None
        self.xcor = StrandCrossCorrelation(chrom_sizes) if (assay == "chip" and not paired) else None
        self._read_lengths: list[np.ndarray] = []
        self._n_lengths = 0

    def add_read_lengths(self, lengths: np.ndarray) -> None:
        """Aligned lengths of kept reads (the first 10,000 are kept for the median read length)."""
        if self._n_lengths < 10_000:
            part = np.asarray(lengths, dtype=np.int64)[: 10_000 - self._n_lengths]
            self._read_lengths.append(part)
            self._n_lengths += part.size

    def add_mapped(self, chrom: str, n: int = 1) -> None:
        """Count ``n`` primary mapped records on ``chrom`` (before any other filter)."""
        self.mapped_by_chrom[chrom] = self.mapped_by_chrom.get(chrom, 0) + int(n)

    def add_candidate_reads(self, chrom: str, five_prime: np.ndarray, minus: np.ndarray) -> None:
        """Single-end reads that passed every filter except duplicate removal (library complexity)."""
        self.complexity.add(chrom, se_keys(five_prime, minus))

    def add_candidate_fragments(self, chrom: str, start: np.ndarray, end: np.ndarray) -> None:
        """Paired-end fragments ``[start, end)`` that passed every filter except duplicate removal."""
        self.complexity.add(chrom, pe_keys(start, end))

    def add_kept_reads(self, chrom: str, five_prime: np.ndarray, minus: np.ndarray, length: np.ndarray) -> None:
        """Kept single-end reads: 5' ends, strands and aligned lengths (cross-correlation)."""
        if self.xcor is not None:
            self.xcor.add(chrom, five_prime, minus, length)

    def add_kept_fragments(self, start: np.ndarray, end: np.ndarray) -> None:
        """Kept paired-end fragments ``[start, end)`` before any Tn5 shift (fragment lengths)."""
        if self.lengths is not None:
            self.lengths.add(np.asarray(end, dtype=np.int64) - np.asarray(start, dtype=np.int64))

    def result(self) -> dict[str, Any]:
        """JSON-ready ``read_length mapped mito_reads mito_fraction complexity`` (+ ``fragment_lengths`` / ``xcor``)."""
        mapped = sum(self.mapped_by_chrom.values())
        mito = sum(n for c, n in self.mapped_by_chrom.items() if c in self.mito)
        lengths = np.concatenate([np.zeros(0, np.int64), *self._read_lengths])
        out: dict[str, Any] = {
            "read_length": float(np.median(lengths)) if lengths.size else float("nan"),
            "mapped": mapped,
            "mito_reads": mito,
            "mito_fraction": mito / mapped if mapped else float("nan"),
            "complexity": self.complexity.metrics(),
        }
        if self.lengths is not None:
            out["fragment_lengths"] = self.lengths.metrics() | {
                "histogram": self.lengths.counts.tolist(),
                "longer": self.lengths.longer,
            }
        if self.xcor is not None:
            profile = self.xcor.profile()
            out["xcor"] = self.xcor.metrics() | {
                "shifts": self.xcor.shifts.tolist(),
                "profile": [float(x) for x in profile],
            }
        return out
