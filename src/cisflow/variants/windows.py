"""Reference and alternate input windows of the model's length with the variant centred.

For a window of ``L`` bp the variant's first REF base sits at index ``c = L // 2``, as in
variant-scorer: the reference window is the genome over ``[start - c, start - c + L)``; the alternate
window is the same left flank, then ALT, then the genome after REF, cut to ``L`` bp. A deletion thus
pulls in more right flank, an insertion pushes it out; both windows keep the model's input length.
Positions past a chromosome's ends are N (all-zero one-hot), as everywhere in cisflow.

The centre is the first base that changes: the bases REF and ALT share in front and behind (a VCF
indel's anchor base) are trimmed first (:func:`cisflow.variants.alleles.trim`), so a variant scores the
same whichever way it is written (``TCT → T`` at 300 in a VCF, ``CT → -`` at 301 in a TSV).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cisflow.genome import Genome, decode, encode
from cisflow.variants.alleles import Allele, trim


def centre(length: int) -> int:
    """Index of the variant's first base in a window of ``length`` bp."""
    return length // 2


def segment_length(alleles: Sequence[Allele], length: int) -> int:
    """Genome bases to fetch per window: ``length`` plus the longest REF (the trimmed bases behind included)."""
    return length + max((len(a.ref) for a in alleles), default=0)


def fetch_segments(genome: Genome, alleles: Sequence[Allele], length: int) -> np.ndarray:
    """Genome codes ``(n, segment_length)`` uint8 starting ``length // 2`` bp before each (trimmed) variant."""
    chroms = np.array([a.chrom for a in alleles], dtype=object)
    starts = np.array([trim(a)[0].start for a in alleles], dtype=np.int64) - centre(length)
    return genome.fetch_many(chroms, starts, segment_length(alleles, length))


def genome_ref(segments: np.ndarray, alleles: Sequence[Allele], length: int) -> list[str]:
    """The genome's bases where each allele's whole REF lies (``""`` for an empty REF)."""
    c, out = centre(length), []
    for seg, a in zip(segments, alleles, strict=True):
        front = trim(a)[1]
        out.append(decode(seg[c - front : c - front + len(a.ref)]))
    return out


def splice(segment: np.ndarray, ref: str, alt: str, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference and alternate windows ``(length,)`` from one segment with ``ref`` put at the centre.

    ``segment`` holds at least ``length + len(ref) - len(alt)`` codes starting ``length // 2`` bp
    before the variant; REF is written over it first (so a shuffled segment carries the alleles too).
    """
    c = centre(length)
    seg = np.array(segment, dtype=np.uint8, copy=True)
    seg[c : c + len(ref)] = encode(ref)
    alt_window = np.concatenate([seg[:c], encode(alt), seg[c + len(ref) :]])[:length]
    return seg[:length], alt_window


def allele_windows(segments: np.ndarray, alleles: Sequence[Allele], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference and alternate windows ``(n, length)`` uint8 of each allele (see the module docstring).

    Substitutions (REF and ALT of one length, nearly all variants) are written in one vectorised step;
    insertions and deletions are spliced one by one.
    """
    c = centre(length)
    cores = [trim(a)[0] for a in alleles]
    ref = np.ascontiguousarray(segments[:, :length])
    alt = ref.copy()
    snv = np.flatnonzero([len(a.ref) == 1 and len(a.alt) == 1 for a in cores])
    if snv.size:
        alt[snv, c] = encode("".join(cores[i].alt for i in snv))
    for i in np.setdiff1d(np.arange(len(cores)), snv):
        ref[i], alt[i] = splice(segments[i], cores[i].ref, cores[i].alt, length)
    return ref, alt


def profile_alignment(ref_len: int, alt_len: int, centre_index: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(width - |Δ|,)`` of the reference and alternate profiles that face each other across an indel.

    As variant-scorer aligns indel profiles: the longer allele loses the bases it has beyond the
    shorter one (after ``centre_index + shorter length``), the shorter allele loses its last ``|Δ|``
    positions (the flank the other pushed out). For a substitution both are ``arange(width)``.
    """
    delta = ref_len - alt_len
    keep_all = np.arange(width)
    if delta == 0:
        return keep_all, keep_all
    short, d = min(ref_len, alt_len), abs(delta)
    cut = min(max(centre_index + short, 0), width)
    longer = np.concatenate([keep_all[:cut], keep_all[min(cut + d, width) :]])
    shorter = keep_all[: len(longer)]
    return (longer, shorter) if delta > 0 else (shorter, longer)
