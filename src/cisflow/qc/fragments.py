"""Fragment-length distribution of paired-end reads and ENCODE's nucleosome fractions.

ENCODE's ATAC-seq QC (``encode_lib_frag_len.py``, on Picard's insert-size histogram of the final
filtered BAM, sizes up to 1,000 bp) reports

* NFR fraction = fragments shorter than 150 bp / all fragments (ENCODE check: ≥ 0.4),
* mono-nucleosome fraction = fragments of 151–300 bp / all fragments,
* NFR / mono-nucleosome ratio = fragments < 150 bp / fragments of 151–300 bp (check: ≥ 2.5).

Fragment length is the distance from the + read's start to the − read's end, before any Tn5 shift
(Picard's insert size).
"""

from __future__ import annotations

import math

import numpy as np

NFR_MAX = 150  # fragments < 150 bp are nucleosome-free
MONO_RANGE = (150, 300)  # 150 < length <= 300 is mono-nucleosomal
HISTOGRAM_MAX = 1000


class FragmentLengths:
    """Histogram of fragment lengths 0..``max_length`` bp; longer fragments are counted apart."""

    def __init__(self, max_length: int = HISTOGRAM_MAX) -> None:
        self.max_length = int(max_length)
        self.counts = np.zeros(self.max_length + 1, dtype=np.int64)
        self.longer = 0

    def add(self, lengths: np.ndarray) -> None:
        """Add fragment lengths ``(n,)`` in bp (non-negative integers)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        inside = lengths <= self.max_length
        self.longer += int((~inside).sum())
        self.counts += np.bincount(lengths[inside], minlength=self.max_length + 1)

    def metrics(self) -> dict[str, float | int]:
        """``fragments nfr_fraction mono_fraction nfr_mono_ratio`` over fragments up to ``max_length`` (as Picard)."""
        total = int(self.counts.sum())
        nfr = int(self.counts[:NFR_MAX].sum())
        mono = int(self.counts[MONO_RANGE[0] + 1 : MONO_RANGE[1] + 1].sum())
        return {
            "fragments": total,
            "nfr_fraction": nfr / total if total else math.nan,
            "mono_fraction": mono / total if total else math.nan,
            "nfr_mono_ratio": nfr / mono if mono else (math.inf if nfr else math.nan),
        }
