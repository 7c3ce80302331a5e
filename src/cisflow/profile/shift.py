"""The enzyme shift checked against the data's own enzyme motif (as chrombpnet checks its bigWigs).

Tn5 inserts as a dimer and duplicates 9 bp: the two read 5′ ends of one insertion lie 8 bp apart and
its sequence preference is a palindrome centred on the middle base of the duplication. Seen from each
read (its 5′ end at index 0, read orientation), the motif's centre of symmetry sits 4 bp in when the
reads are unshifted and at 0 when they carry the +4 / −4 shift chrombpnet wants (ENCODE's +4 / −5 leaves
the − strand one base short, centre −1). :func:`palindrome_center` finds that centre in the base
frequencies around the cut sites, so the shift needed is read off the data rather than assumed.
DNase-I has no palindrome; there :func:`strand_offset` aligns the two strands' motifs instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from cisflow.errors import CisflowError
from cisflow.genome import reverse_complement_codes

log = logging.getLogger(__name__)

#: Largest centre offset (bp) searched; a Tn5 centre further out means no Tn5 motif was found.
MAX_OFFSET = 8


def cut_site_frequencies(genome, ends: Mapping[str, np.ndarray], strand: str, flank: int = 25) -> np.ndarray:
    """Base frequencies ``(4, 2·flank + 1)`` around 5′ ends, in read orientation (index ``flank`` = the end).

    Parameters
    ----------
    genome
        A :class:`cisflow.genome.Genome` (``sizes``, ``fetch_many``).
    ends
        ``{chrom: 0-based 5′-end positions}`` of one strand's reads.
    strand
        ``+`` or ``-``; − strand windows are reverse complemented (read orientation).
    flank
        Bases on each side of the end.
    """
    counts = cut_site_counts(genome, ends, strand, flank)
    if counts.sum() == 0:
        raise CisflowError(f"no {strand} strand cut sites away from the chromosome ends")
    return counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)


#: Cut-site windows fetched at once by :func:`cut_site_counts` (memory: this many × the window's width bytes).
SITE_CHUNK = 1 << 20


def cut_site_counts(genome, sites: Mapping[str, np.ndarray], strand: str, flank: int) -> np.ndarray:
    """Base counts ``(4, 2·flank + 1)`` of the windows centred on ``sites`` ``{chrom: 0-based positions}``, in read
    orientation (``-``: reverse complemented); sites without a full window inside their chromosome and N bases
    are not counted; zeros when none is left. Windows are fetched per chromosome in chunks of :data:`SITE_CHUNK`.
    """
    counts = np.zeros((4, 2 * flank + 1), dtype=np.float64)
    for chrom, pos in sites.items():
        pos = np.asarray(pos, dtype=np.int64)
        pos = pos[(pos - flank >= 0) & (pos + flank < genome.sizes[chrom])]
        for lo in range(0, len(pos), SITE_CHUNK):
            starts = pos[lo : lo + SITE_CHUNK] - flank
            codes = genome.fetch_many(np.full(len(starts), chrom, dtype=object), starts, 2 * flank + 1)
            if strand == "-":
                codes = reverse_complement_codes(codes)
            counts += np.stack([(codes == b).sum(axis=0) for b in range(4)])
    return counts


def _deviation(freqs: np.ndarray, edge: int = 5) -> np.ndarray:
    """Frequencies minus the composition of the outermost ``edge`` columns on each side."""
    background = freqs[:, np.r_[0:edge, freqs.shape[1] - edge : freqs.shape[1]]].mean(axis=1, keepdims=True)
    return freqs - background


def palindrome_center(freqs: np.ndarray, max_offset: int = MAX_OFFSET, arm: int = 10) -> tuple[int, float]:
    """Offset of the centre of reverse-complement symmetry from the middle column, and its contrast.

    For each candidate centre ``c`` the score is ``Σ_{k=1..arm} Σ_b D[b, c+k] · D[b̄, c−k]`` with ``D`` the
    frequencies minus the flanks' composition and ``b̄`` the complement of ``b``: positive where the
    motif reads the same on both strands around ``c``.

    Returns
    -------
    tuple
        ``(offset, contrast)``: the best centre relative to the middle column (bp, read orientation)
        and how far its score stands above the other candidates' (best / largest other, ≥ 1 when clear).
    """
    dev = _deviation(freqs)
    mid = freqs.shape[1] // 2
    if mid < max_offset + arm:
        raise CisflowError(f"need at least {max_offset + arm} bases on each side of the cut sites")
    offsets = np.arange(-max_offset, max_offset + 1)
    scores = np.array(
        [sum(float(dev[:, mid + c + k] @ dev[::-1, mid + c - k]) for k in range(1, arm + 1)) for c in offsets]
    )
    best = int(np.argmax(scores))
    others = np.delete(scores, range(max(best - 1, 0), min(best + 2, len(scores))))
    contrast = float(scores[best] / max(others.max(initial=0.0), 1e-12))
    return int(offsets[best]), contrast


def strand_offset(plus: np.ndarray, minus: np.ndarray, max_offset: int = MAX_OFFSET) -> int:
    """Shift ``d`` (bp) that best aligns the − strand's read-orientation frequencies with the + strand's.

    ``d`` maximises ``Σ_i D₊[:, i] · D₋[:, i + d]`` over the central columns; 0 when the two strands'
    cut sites are placed alike.
    """
    dp, dm = _deviation(plus), _deviation(minus)
    lo, hi = max_offset, plus.shape[1] - max_offset
    scores = [float((dp[:, lo:hi] * dm[:, lo + d : hi + d]).sum()) for d in range(-max_offset, max_offset + 1)]
    return int(np.argmax(scores)) - max_offset


def detect_shift(genome, ends: Mapping[str, Mapping[str, np.ndarray]], assay: str) -> dict:
    """Measure the read-orientation shift that puts each strand's cut sites on the enzyme's cut centre.

    Parameters
    ----------
    genome
        A :class:`cisflow.genome.Genome`.
    ends
        ``{"+": {chrom: positions}, "-": {chrom: positions}}`` 5′ ends (a sample is enough).
    assay
        ``atac`` (Tn5: each strand's palindrome centre) or ``dnase`` (the − strand aligned to the +).

    Returns
    -------
    dict
        ``plus`` and ``minus`` (bp to move each 5′ end in read orientation), ``contrast`` (ATAC: the
        weaker strand's palindrome contrast) and the frequency matrices ``freqs_plus`` / ``freqs_minus``.

    Raises
    ------
    CisflowError
        ATAC data whose cut sites show no Tn5 palindrome, or a centre far from any standard shift.
    """
    freqs = {s: cut_site_frequencies(genome, ends[s], s) for s in ("+", "-")}
    out = {"freqs_plus": freqs["+"], "freqs_minus": freqs["-"]}
    if assay == "dnase":
        return out | {"plus": 0, "minus": strand_offset(freqs["+"], freqs["-"]), "contrast": float("nan")}
    if assay != "atac":
        raise CisflowError(f"the enzyme shift is checked for atac and dnase reads, not {assay!r}")
    (plus, c_plus), (minus, c_minus) = palindrome_center(freqs["+"]), palindrome_center(freqs["-"])
    contrast = min(c_plus, c_minus)
    if contrast < 1.5 or max(abs(plus), abs(minus)) > 6:
        raise CisflowError(
            f"no clear Tn5 motif around the cut sites (centres {plus:+d} / {minus:+d} bp, contrast {contrast:.2f}); "
            "are these ATAC-seq reads on this genome?"
        )
    log.info("Tn5 motif centre at %+d (+ strand) and %+d (- strand) bp from the 5' ends", plus, minus)
    return out | {"plus": plus, "minus": minus, "contrast": contrast}


def sample_ends(ends: Mapping[str, Mapping[str, np.ndarray]], n: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """At most ``n`` 5′ ends per strand, drawn without replacement with ``seed`` (chromosomes kept)."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, np.ndarray]] = {}
    for strand, by_chrom in ends.items():
        sizes = np.array([len(v) for v in by_chrom.values()], dtype=np.int64)
        keep = np.zeros(sizes.sum(), dtype=bool)
        keep[rng.choice(sizes.sum(), size=min(n, int(sizes.sum())), replace=False)] = True
        parts = np.split(keep, np.cumsum(sizes)[:-1])
        out[strand] = {c: np.asarray(v)[m] for (c, v), m in zip(by_chrom.items(), parts, strict=True)}
    return out
