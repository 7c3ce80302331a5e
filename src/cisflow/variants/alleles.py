"""Variant alleles as the scorer sees them: one REF → ALT change per row, and what is done with it.

A VCF record with several ALT alleles becomes one :class:`Allele` per ALT (multi-allelic records
split); a variant-scorer ``chrombpnet`` TSV row is one allele (``allele1`` the reference, ``allele2``
the alternate, ``-`` an empty allele). Positions are 1-based as in the input; ``start`` is the 0-based
first base of REF (for an empty REF, the base the insertion goes before).

:func:`classify` decides, from the allele strings alone, whether an allele can be scored:

- ``symbolic``: symbolic (``<DEL>``), breakend, spanning-deletion (``*``) or missing (``.``) ALT;
- ``n_allele``: REF or ALT holds N or another non-ACGT base;
- ``no_change``: ALT equals REF;
- ``long_indel``: an insertion or deletion longer than ``max_indel_length`` bp;
- ``candidate``: to be checked against the genome (REF mismatches become ``ref_mismatch``) and scored.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cisflow.errors import CisflowError

CANDIDATE, SCORED, REF_MISMATCH = "candidate", "scored", "ref_mismatch"
SYMBOLIC, N_ALLELE, NO_CHANGE, LONG_INDEL = "symbolic", "n_allele", "no_change", "long_indel"
#: Why an allele was not scored, in the order the summary lists them.
SKIPPED = (REF_MISMATCH, SYMBOLIC, N_ALLELE, NO_CHANGE, LONG_INDEL)

_ACGT = re.compile(r"[ACGT]*")
_LETTERS = re.compile(r"[A-Za-z]*")
_SYMBOLIC = re.compile(r"<[^<>]+>|\*|\.|.*[\[\]].*|\.[A-Za-z]+|[A-Za-z]+\.")


class Allele(NamedTuple):
    """One REF → ALT change.

    Attributes
    ----------
    chrom
        Chromosome name as in the input.
    pos
        1-based position of REF's first base (as in VCF).
    ref, alt
        Upper-case alleles; ``""`` for an empty allele (``-`` in a TSV).
    id
        The input's identifier (``.`` when it has none).
    record
        0-based index of the input record (VCF line or TSV row) the allele comes from.
    index
        0-based index of this ALT among the record's ALT alleles.
    """

    chrom: str
    pos: int
    ref: str
    alt: str
    id: str
    record: int
    index: int

    @property
    def start(self) -> int:
        """0-based position of REF's first base."""
        return self.pos - 1

    @property
    def key(self) -> str:
        """``chrom:pos:ref:alt`` (``-`` for an empty allele), for messages and file names."""
        return f"{self.chrom}:{self.pos}:{self.ref or '-'}:{self.alt or '-'}"


def trim(allele: Allele) -> tuple[Allele, int, int]:
    """The allele without the bases REF and ALT share in front, then behind (a VCF indel's anchor base).

    Returns the trimmed allele (``pos`` moved past the shared leading bases) and how many bases were
    trimmed in front and behind, so ``AT → ATGT`` at 10 becomes ``- → GT`` at 12 and an anchored
    deletion ``TCT → T`` at 300 becomes ``CT → -`` at 301, as a TSV would write them.
    """
    ref, alt = allele.ref, allele.alt
    front = 0
    while front < min(len(ref), len(alt)) and ref[front] == alt[front]:
        front += 1
    ref, alt = ref[front:], alt[front:]
    back = 0
    while back < min(len(ref), len(alt)) and ref[-1 - back] == alt[-1 - back]:
        back += 1
    core = allele._replace(pos=allele.pos + front, ref=ref[: len(ref) - back], alt=alt[: len(alt) - back])
    return core, front, back


def is_symbolic(allele: str) -> bool:
    """A symbolic (``<DEL>``), breakend, spanning-deletion (``*``) or missing (``.``) allele."""
    return bool(_SYMBOLIC.fullmatch(allele))


def check_allele_text(allele: str, what: str, symbolic_ok: bool) -> None:
    """Raise CisflowError unless ``allele`` is letters (or, with ``symbolic_ok``, a symbolic / missing allele)."""
    if _LETTERS.fullmatch(allele) and allele:
        return
    if symbolic_ok and _SYMBOLIC.fullmatch(allele):
        return
    raise CisflowError(f"{what} {allele!r} is not a DNA allele")


def classify(ref: str, alt: str, max_indel_length: int) -> str:
    """What to do with one allele, from its strings alone (see the module docstring).

    Parameters
    ----------
    ref, alt
        The alleles as given (any case; ``""`` for an empty allele).
    max_indel_length
        Longest insertion or deletion scored (bp, as ``|len(ref) - len(alt)|``).

    Returns
    -------
    str
        ``candidate`` or the reason it is skipped (``symbolic``, ``n_allele``, ``no_change``, ``long_indel``).
    """
    if is_symbolic(alt):
        return SYMBOLIC
    ref, alt = ref.upper(), alt.upper()
    if not _ACGT.fullmatch(ref) or not _ACGT.fullmatch(alt):
        return N_ALLELE
    if ref == alt:
        return NO_CHANGE
    if abs(len(ref) - len(alt)) > max_indel_length:
        return LONG_INDEL
    return CANDIDATE


def check_fits(allele: Allele, input_length: int) -> None:
    """Raise CisflowError if REF or ALT does not fit the model's window with the variant centred.

    The allele starts at the window's centre (``input_length // 2``), so each allele may hold at most
    ``input_length - input_length // 2`` bases.
    """
    room = input_length - input_length // 2
    longest = max(len(allele.ref), len(allele.alt))
    if longest > room:
        raise CisflowError(
            f"the allele {allele.key[:80]} ({longest} bp) is longer than the model's {input_length} bp window holds "
            f"from its centre ({room} bp); remove such variants (e.g. bcftools view -i 'strlen(REF)<={room} && "
            f"strlen(ALT)<={room}')"
        )
