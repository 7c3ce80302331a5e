"""Genome sequence held as uint8 codes per chromosome, and one-hot encoding.

Codes: A=0, C=1, G=2, T=3, anything else (N, IUPAC) = 4. Soft-masked (lower-case) bases are
upper-cased. One-hot arrays are ``(4, L)`` or ``(N, 4, L)`` with channel order A C G T; code 4
(N) encodes as all zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cisflow.errors import CisflowError, require_file
from cisflow.io import read_text_lines

log = logging.getLogger(__name__)

ALPHABET = "ACGT"
N_CODE = 4
_LOOKUP = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate(ALPHABET):
    _LOOKUP[ord(_b)] = _i
    _LOOKUP[ord(_b.lower())] = _i
_EYE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])
_COMPLEMENT_CODE = np.array([3, 2, 1, 0, 4], dtype=np.uint8)


def encode(seq: str | bytes) -> np.ndarray:
    """Encode a DNA string as uint8 codes ``(L,)``; case-insensitive, non-ACGT → 4."""
    raw = seq.encode("ascii") if isinstance(seq, str) else seq
    return _LOOKUP[np.frombuffer(raw, dtype=np.uint8)]


def decode(codes: np.ndarray) -> str:
    """Decode uint8 codes ``(L,)`` back to an upper-case string (4 → N)."""
    return np.frombuffer(b"ACGTN", dtype=np.uint8)[np.asarray(codes)].tobytes().decode("ascii")


def one_hot(codes: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """One-hot encode codes ``(L,)`` → ``(4, L)`` or ``(N, L)`` → ``(N, 4, L)``; N → zeros."""
    codes = np.asarray(codes)
    return np.moveaxis(_EYE[codes], -1, -2).astype(dtype, copy=False)


def one_hot_to_codes(x: np.ndarray) -> np.ndarray:
    """Invert :func:`one_hot`: ``(..., 4, L)`` → codes ``(..., L)``; all-zero columns → 4."""
    x = np.asarray(x)
    codes = x.argmax(axis=-2).astype(np.uint8)
    codes[x.sum(axis=-2) == 0] = N_CODE
    return codes


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of codes ``(..., L)``."""
    return _COMPLEMENT_CODE[np.asarray(codes)][..., ::-1]


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot ``(..., 4, L)`` (ACGT order makes it a flip of both axes)."""
    return np.asarray(x)[..., ::-1, ::-1]


def gc_fraction(codes: np.ndarray) -> np.ndarray:
    """GC fraction over the last axis of codes ``(..., L)``, ignoring N; NaN where all N."""
    codes = np.asarray(codes)
    acgt = (codes < N_CODE).sum(axis=-1)
    gc = ((codes == 1) | (codes == 2)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return gc / acgt


def read_fasta(path: str | Path) -> dict[str, np.ndarray]:
    """Read a (gzipped) FASTA into ``{name: codes (L,) uint8}``; the name is the first word.

    Raises CisflowError on a missing file, a file that is not FASTA, duplicate or empty records.
    """
    path = require_file(path, "FASTA file")
    lines = read_text_lines(path)
    if not lines or not lines[0].startswith(">"):
        raise CisflowError("not a FASTA file (first line does not start with '>')", path)
    seqs: dict[str, np.ndarray] = {}
    name, chunks = None, []
    for line in [*lines, ">"]:
        if line.startswith(">"):
            if name is not None:
                if name in seqs:
                    raise CisflowError(f"duplicate sequence name {name!r}", path)
                if not chunks:
                    raise CisflowError(f"sequence {name!r} is empty", path)
                seqs[name] = encode("".join(chunks).strip())
            name, chunks = (line[1:].split() or [""])[0], []
        else:
            chunks.append(line.strip())
    return seqs


def write_fasta(path: str | Path, records: Iterable[tuple[str, str]], width: int = 60) -> None:
    """Write ``(name, sequence)`` records as FASTA (gzip if the name ends in .gz), atomically."""
    from cisflow.io import atomic_open

    with atomic_open(path) as handle:
        for name, seq in records:
            handle.write(f">{name}\n")
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")


def check_same_chroms(
    names: Iterable[str], genome_names: Iterable[str], source: str | Path, genome_source: str | Path
) -> None:
    """Raise CisflowError if any name in ``names`` is not in the genome, naming both sides.

    The message shows the unknown names and the genome's names, e.g. ``22`` vs ``chr22``.
    """
    genome_set = list(genome_names)
    missing = [n for n in dict.fromkeys(names) if n not in set(genome_set)]
    if missing:
        shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
        gshown = ", ".join(genome_set[:3]) + (" …" if len(genome_set) > 3 else "")
        raise CisflowError(f"chromosome names not in the genome {genome_source}: {shown} (genome has {gshown})", source)


@dataclass
class Genome:
    """A genome held once in memory as uint8 codes per chromosome.

    Attributes
    ----------
    chroms
        ``{name: codes (L,) uint8}`` in FASTA order.
    path
        The FASTA it came from (for error messages).
    """

    chroms: dict[str, np.ndarray]
    path: str = "<memory>"
    sizes: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.sizes = {k: int(v.shape[0]) for k, v in self.chroms.items()}

    @classmethod
    def from_fasta(cls, path: str | Path, exclude: Iterable[str] = ()) -> Genome:
        """Load a FASTA (plain or gzipped), dropping chromosomes named in ``exclude``."""
        chroms = read_fasta(path)
        for name in exclude:
            chroms.pop(name, None)
        log.info("loaded genome %s: %d chromosomes, %d bp", path, len(chroms), sum(map(len, chroms.values())))
        return cls(chroms, str(path))

    @property
    def total_size(self) -> int:
        """Total length in bp."""
        return sum(self.sizes.values())

    def check_chroms(self, names: Iterable[str], source: str | Path) -> None:
        """Raise CisflowError if ``names`` (from ``source``) has a chromosome the genome lacks."""
        check_same_chroms(names, self.sizes, source, self.path)

    def fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Codes ``(end - start,)`` for a 0-based half-open interval; past the ends pads with N."""
        seq = self.chroms[chrom]
        lo, hi = max(start, 0), min(end, seq.shape[0])
        if lo == start and hi == end:
            return seq[start:end]
        out = np.full(end - start, N_CODE, dtype=np.uint8)
        if hi > lo:
            out[lo - start : hi - start] = seq[lo:hi]
        return out

    def fetch_many(self, chroms: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
        """Codes ``(N, length)`` for windows ``[start, start + length)`` on the given chromosomes."""
        out = np.empty((len(starts), length), dtype=np.uint8)
        for i, (c, s) in enumerate(zip(chroms, starts, strict=True)):
            out[i] = self.fetch(str(c), int(s), int(s) + length)
        return out


def write_chrom_sizes(path: str | Path, sizes: Mapping[str, int]) -> None:
    """Write a two-column chromosome sizes file, atomically."""
    from cisflow.io import atomic_open

    with atomic_open(path) as handle:
        for name, size in sizes.items():
            handle.write(f"{name}\t{size}\n")


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """Read a two-column (name, length) file such as a .fai or .chrom.sizes."""
    sizes: dict[str, int] = {}
    for i, line in enumerate(read_text_lines(require_file(path, "chromosome sizes file")), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        try:
            sizes[fields[0]] = int(fields[1])
        except (IndexError, ValueError) as exc:
            raise CisflowError(f"line {i}: expected 'name<TAB>length'", path) from exc
    return sizes


def write_genome_sizes(fasta: str | Path, out: str | Path, non_n_out: str | Path | None = None) -> dict[str, int]:
    """Write the chromosome sizes of a FASTA as a two-column file; returns them.

    ``non_n_out``, when given, gets the number of non-N bases of the genome on one line (MACS3's
    effective genome size when nothing better is known).
    """
    from cisflow.io import atomic_open

    genome = Genome.from_fasta(fasta)
    write_chrom_sizes(out, genome.sizes)
    if non_n_out is not None:
        non_n = sum(int(np.count_nonzero(codes != N_CODE)) for codes in genome.chroms.values())
        with atomic_open(non_n_out) as handle:
            handle.write(f"{non_n}\n")
    return genome.sizes
