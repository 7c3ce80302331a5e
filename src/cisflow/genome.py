"""Genome sequence as uint8 codes: indexed FASTA access, a memory-mapped code cache, one-hot encoding.

Codes: A=0, C=1, G=2, T=3, anything else (N, IUPAC) = 4. Soft-masked (lower-case) bases are
upper-cased. One-hot arrays are ``(4, L)`` or ``(N, 4, L)`` with channel order A C G T; code 4
(N) encodes as all zeros.

A :class:`Genome` reads its sequence from one of three places, chosen by :meth:`Genome.open`:

- a **code cache** (``codes.npy`` + ``codes.json``, :func:`write_code_cache`): every sequence's codes
  in one flat uint8 array, memory-mapped, so concurrent jobs share one copy through the page cache
  and a job's memory does not grow with the genome beyond the pages it touches;
- an **indexed FASTA** (plain or bgzip with ``.fai``, read through ``pysam.FastaFile``): only the
  requested intervals are read;
- any other FASTA (e.g. plain gzip) is parsed once into memory (small genomes; for large ones make
  an indexed copy with :func:`prepare_fasta`, which the workflow does under ``results/genome/``).

Which sequences count as chromosomes is :func:`select_chroms`'s rule (``genome.chroms`` in config):
by default alt / random / unplaced / decoy / patch contigs, EBV and the mitochondrion are dropped.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import logging
import mmap
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
#: The complement of each code (A↔T, C↔G, N stays N), and of each base letter.
COMPLEMENT_CODE = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
COMPLEMENT = {base: ALPHABET[code] for base, code in zip(ALPHABET, COMPLEMENT_CODE, strict=False)}
_WHITESPACE = b" \t\r\n\v\f"
_CHUNK = 1 << 24  # bytes read / encoded at a time
_BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark some editors put at the start of a text file
_IUPAC = b"RYSWKMBDHVryswkmbdhv"  # ambiguity codes (read as N)
CACHE_FORMAT = "cisflow-genome-codes-1"
_GATHER_BLOCK = 4096  # windows gathered from a code cache between releases of its pages

# Contigs dropped by default (names compared whole, case-insensitive): UCSC / GENCODE / Ensembl alt,
# random, unplaced, decoy, fix/novel patch and HLA contigs, EBV, and the mitochondrion.
DEFAULT_DROP = (
    r"(?i)(.*_(alt|random|decoy|fix|novel|hap\d*)|chrUn.*|Un_.*|.*_unlocalized|.*_unplaced"
    r"|(GL|KI|JH|KN|KQ|KV|KZ|ML|MU|JTFH)\d+(\.\d+)?|hs3[78]d\d*|chrEBV|EBV|HLA[-_].*|chrM|chrMT|M|MT)"
)


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
    return COMPLEMENT_CODE[np.asarray(codes)][..., ::-1]


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


# ----------------------------------------------------------------------------------------------
# FASTA text: a chunked scanner (bounded memory), in-memory parsing, writing


def fasta_compression(path: str | Path) -> str:
    """``"bgzf"`` (bgzip: random access with a .fai + .gzi), ``"gzip"`` (plain gzip) or ``"none"``."""
    with open(require_file(path, "FASTA file"), "rb") as handle:
        head = handle.read(18)
    if head[:2] != b"\x1f\x8b":
        return "none"
    has_extra = len(head) >= 4 and head[3] & 0x04
    return "bgzf" if has_extra and head[12:14] == b"BC" else "gzip"


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if fasta_compression(path) != "none" else open(path, "rb")


def _header_name(line: bytes, path: Path) -> str:
    try:
        return (line.decode("ascii").split() or [""])[0]
    except UnicodeDecodeError as exc:
        raise CisflowError("a FASTA header is not ASCII text", path) from exc


def _fasta_events(handle: IO[bytes], path: Path) -> Iterator[tuple[str, Any]]:
    """Yield ``("name", str)`` for each header and ``("seq", bytes)`` pieces of sequence text (with newlines).

    Reads ``_CHUNK`` bytes at a time, so memory stays bounded whatever the sequence lengths. Blank
    lines before the first header are skipped; any other text there means the file is not FASTA.
    """
    header, in_header, line_start, started = b"", False, True, False
    first = True
    while block := handle.read(_CHUNK):
        pos = len(_BOM) if first and block.startswith(_BOM) else 0
        first = False
        while pos < len(block):
            if in_header:
                nl = block.find(b"\n", pos)
                header += block[pos:] if nl < 0 else block[pos:nl]
                if nl < 0:
                    break
                yield "name", _header_name(header, path)
                in_header, line_start, pos = False, True, nl + 1
            elif line_start and block[pos : pos + 1] == b">":
                header, in_header, started, pos = b"", True, True, pos + 1
            elif not started:
                nl = block.find(b"\n", pos)
                end = len(block) if nl < 0 else nl + 1
                if block[pos:end].strip(_WHITESPACE):
                    raise CisflowError("not a FASTA file (first line does not start with '>')", path)
                line_start, pos = nl >= 0, end
            else:
                gt = block.find(b"\n>", pos)
                end = len(block) if gt < 0 else gt + 1
                yield "seq", block[pos:end]
                line_start, pos = block[end - 1 : end] == b"\n", end
    if in_header:
        yield "name", _header_name(header, path)
    if not started:
        raise CisflowError("not a FASTA file (first line does not start with '>')", path)


@contextlib.contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Turn decompression and I/O errors while reading ``path`` into one-line CisflowErrors."""
    try:
        yield
    except (EOFError, OSError, zlib.error) as exc:
        raise CisflowError(f"cannot read ({exc.__class__.__name__}: {exc}); truncated or corrupt?", path) from exc


def _scan_fasta(path: Path, counts: np.ndarray | None = None) -> Iterator[tuple[str, Iterator[np.ndarray]]]:
    """Yield ``(name, codes pieces)`` per record, streaming (bounded memory).

    The pieces iterator of a record must be used before the next record is requested (what is
    left of it is skipped). ``counts``, a ``(256,)`` int64 array, when given, gets the sequence
    text's byte counts added (for :func:`_warn_non_acgtn`).
    """
    with _read_errors(path), _open_binary(path) as handle:
        events = _fasta_events(handle, path)
        state = [next(events, None)]

        def pieces() -> Iterator[np.ndarray]:
            with _read_errors(path):
                while state[0] is not None and state[0][0] == "seq":
                    text = state[0][1].translate(None, _WHITESPACE)
                    state[0] = next(events, None)
                    if counts is not None:
                        counts[:] += np.bincount(np.frombuffer(text, dtype=np.uint8), minlength=256)
                    yield encode(text)

        while state[0] is not None:
            name = state[0][1]
            state[0] = next(events, None)
            record = pieces()
            yield name, record
            for _ in record:
                pass


def iter_fasta(path: str | Path) -> Iterator[tuple[str, Iterator[np.ndarray]]]:
    """Stream a (gzipped) FASTA as ``(name, pieces of codes)`` per record, in bounded memory.

    Consume a record's pieces before asking for the next record.
    """
    return _scan_fasta(require_file(path, "FASTA file"))


def read_fasta(path: str | Path) -> dict[str, np.ndarray]:
    """Read a (gzipped) FASTA into ``{name: codes (L,) uint8}``; the name is the first word.

    Streams the file (memory: the codes plus one record's text). For large genomes prefer
    :meth:`Genome.open` on an indexed FASTA or a code cache.

    Raises CisflowError on a missing file, a file that is not FASTA, duplicate or empty records.
    """
    path = require_file(path, "FASTA file")
    seqs: dict[str, np.ndarray] = {}
    counts = np.zeros(256, dtype=np.int64)
    for name, pieces in _scan_fasta(path, counts):
        if name in seqs:
            raise CisflowError(f"duplicate sequence name {name!r}", path)
        codes = np.concatenate([np.zeros(0, np.uint8), *pieces])
        if codes.size == 0:
            raise CisflowError(f"sequence {name!r} is empty", path)
        seqs[name] = codes
    _warn_non_acgtn(counts, path)
    return seqs


def _warn_non_acgtn(counts: np.ndarray, path: Path) -> int:
    """Log a warning with the number of IUPAC ambiguity codes and other non-ACGTN letters (read as N).

    ``counts`` is ``(256,)``: the sequence text's byte counts. Returns the number of such bases.
    """
    other = counts.copy()
    other[list(b"ACGTNacgtn")] = 0
    total = int(other.sum())
    if total:
        iupac = int(other[list(_IUPAC)].sum())
        top = ", ".join(f"{chr(b)} {int(other[b]):,}" for b in np.argsort(-other)[:5] if other[b])
        log.warning(
            "%s: %s bases are not A, C, G, T or N (%s IUPAC ambiguity codes; %s), read as N: bins holding "
            "them are left out of labels and training (labels.max_n_fraction)",
            path, f"{total:,}", f"{iupac:,}", top,
        )  # fmt: skip
    return total


def write_fasta(path: str | Path, records: Iterable[tuple[str, str]], width: int = 60) -> None:
    """Write ``(name, sequence)`` records as FASTA (gzip if the name ends in .gz), atomically."""
    from cisflow.io import atomic_open

    with atomic_open(path) as handle:
        for name, seq in records:
            handle.write(f">{name}\n")
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")


# ----------------------------------------------------------------------------------------------
# chromosome names


def check_same_chroms(
    names: Iterable[str], genome_names: Iterable[str], source: str | Path, genome_source: str | Path
) -> None:
    """Raise CisflowError if any name in ``names`` is not in the genome, naming both sides.

    The message shows the unknown names and the genome's names, e.g. ``22`` vs ``chr22``.
    """
    genome_set = list(genome_names)
    known = set(genome_set)
    missing = [n for n in dict.fromkeys(names) if n not in known]
    if missing:
        shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
        gshown = ", ".join(genome_set[:3]) + (" …" if len(genome_set) > 3 else "")
        raise CisflowError(f"chromosome names not in the genome {genome_source}: {shown} (genome has {gshown})", source)


def chrom_rule(keep: str | None = None) -> re.Pattern[str]:
    """The compiled regex of :func:`select_chroms` (``keep`` or the default drop rule); CisflowError if invalid."""
    try:
        return re.compile(DEFAULT_DROP if keep is None else keep)
    except re.error as exc:
        raise CisflowError(f"genome.chroms: not a valid regular expression ({exc}): {keep!r}") from exc


def select_chroms(names: Iterable[str], keep: str | None = None, exclude: Iterable[str] = ()) -> list[str]:
    """The chromosomes that count (for labels and splits), in the given order; logs what is dropped.

    Parameters
    ----------
    names
        Sequence names (e.g. the genome's, in FASTA order).
    keep
        A regex a name must match whole to be kept (e.g. ``chr[0-9XY]+``); None applies the default
        rule: drop names matching :data:`DEFAULT_DROP` (``*_alt``, ``*_random``, ``chrUn*``, decoys,
        patches, HLA, EBV, ``chrM``/``MT``) and keep the rest, so ``chr1``…``chrY``, ``1``…``Y`` and
        other organisms' chromosomes (e.g. yeast ``chrI``…``chrXVI``) stay.
    exclude
        Names dropped in any case.

    Returns
    -------
    list of str
        The kept names. The dropped ones are logged with their count.
    """
    names, rule, excluded = list(names), chrom_rule(keep), set(exclude)
    if keep is None:
        kept = [n for n in names if n not in excluded and not rule.fullmatch(n)]
    else:
        kept = [n for n in names if n not in excluded and rule.fullmatch(n)]
    dropped = [n for n in names if n not in set(kept)]
    if dropped:
        shown = ", ".join(dropped[:10]) + (" …" if len(dropped) > 10 else "")
        rule_name = keep or "default"
        log.info("chromosome rule %s dropped %d of %d sequences: %s", rule_name, len(dropped), len(names), shown)
    return kept


# ----------------------------------------------------------------------------------------------
# sequence stores behind Genome.chroms


class _MappedCodes(Mapping):
    """``{name: codes}`` over one flat uint8 array (a memory-mapped code cache, or an in-memory copy).

    With ``path`` (a cache file), each ``[name]`` maps that sequence alone, so a job scanning chromosomes
    one at a time holds at most one chromosome's pages (they leave its resident set when the view is
    dropped); :attr:`flat`, for random access over the whole genome, maps the file once, and
    :meth:`windows` drops the pages it touched from the resident set every few thousand windows, so
    windows drawn from all over the genome do not make a job's memory grow with the genome.
    """

    def __init__(
        self, codes: np.ndarray, index: Mapping[str, tuple[int, int]], path: Path | None = None, header: int = 0
    ) -> None:
        self._codes, self._index, self._path, self._header = codes, dict(index), path, header

    def __getitem__(self, name: str) -> np.ndarray:
        offset, length = self._index[name]
        if self._path is None or length == 0:
            return self._codes[offset : offset + length]
        return np.memmap(self._path, dtype=np.uint8, mode="r", offset=self._header + offset, shape=(length,))

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def length(self, name: str) -> int:
        """Length of ``name`` (bp) without touching its codes."""
        return self._index[name][1]

    def locate(self, names: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Offsets into the flat array and lengths ``(n,)`` int64 of the sequences ``names``."""
        rows = np.array([self._index[str(c)] for c in names], dtype=np.int64).reshape(-1, 2)
        return rows[:, 0], rows[:, 1]

    @property
    def flat(self) -> np.ndarray:
        """The flat uint8 array every sequence is a slice of."""
        return self._codes

    def gather(self, names: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
        """Codes ``(n, length)`` of windows on the sequences ``names``; off-sequence positions are N."""
        uniq, inv = np.unique(np.asarray(names, dtype=str), return_inverse=True)
        offs, sizes = self.locate(uniq)
        return self.windows(offs[inv], sizes[inv], np.asarray(starts, dtype=np.int64), length)

    def windows(self, offsets: np.ndarray, sizes: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
        """:func:`gather_windows` over :attr:`flat` ``(n, length)``; from a cache file, :data:`_GATHER_BLOCK`
        windows at a time with the touched pages released after each block (:func:`release_pages`)."""
        if self._path is None:
            return gather_windows(self._codes, offsets, sizes, starts, length)
        out = np.empty((len(starts), length), dtype=np.uint8)
        for lo in range(0, len(starts), _GATHER_BLOCK):
            block = slice(lo, lo + _GATHER_BLOCK)
            out[block] = gather_windows(self._codes, offsets[block], sizes[block], starts[block], length)
            release_pages(self._codes)
        return out


def release_pages(codes: np.ndarray) -> None:
    """Drop the pages of a read-only memory-mapped array from this process's resident set.

    The page cache keeps them (the next read faults them back in without I/O), so the resident set of a
    job reading windows from all over a code cache stays the size of what it reads at once. A no-op for
    an array in memory or where the system has no ``madvise``.
    """
    mapped = getattr(codes, "_mmap", None)
    if isinstance(mapped, mmap.mmap) and hasattr(mapped, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mapped.madvise(mmap.MADV_DONTNEED)


def gather_windows(
    flat: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, starts: np.ndarray, length: int
) -> np.ndarray:
    """Windows ``(n, length)`` uint8 of sequences stored at ``offsets`` with ``sizes`` ``(n,)`` in ``flat``.

    Window ``i`` is ``[starts[i], starts[i] + length)`` of its sequence; positions off the sequence are N.
    Windows inside their sequence (nearly all) come from one fancy-index gather of a strided view.
    """
    starts = np.asarray(starts, dtype=np.int64)
    inside = (starts >= 0) & (starts + length <= sizes)
    out = np.empty((starts.size, length), dtype=np.uint8)
    if inside.any():
        windows = np.lib.stride_tricks.sliding_window_view(flat, length)
        out[inside] = windows[offsets[inside] + starts[inside]]
    for i in np.flatnonzero(~inside):
        lo, hi = max(starts[i], 0), min(starts[i] + length, sizes[i])
        out[i] = N_CODE
        if hi > lo:
            out[i, lo - starts[i] : hi - starts[i]] = flat[offsets[i] + lo : offsets[i] + hi]
    return out


class _FastaCodes(Mapping):
    """``{name: codes}`` read on demand from an indexed FASTA through ``pysam.FastaFile``."""

    def __init__(self, path: Path) -> None:
        import pysam

        try:
            self._fasta = pysam.FastaFile(str(path))
        except (OSError, ValueError) as exc:
            raise CisflowError(f"cannot open the indexed FASTA ({exc})", path) from exc
        self._sizes = dict(zip(self._fasta.references, map(int, self._fasta.lengths), strict=True))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.segment(name, 0, self._sizes[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._sizes)

    def __len__(self) -> int:
        return len(self._sizes)

    def length(self, name: str) -> int:
        """Length of ``name`` (bp) from the index."""
        return self._sizes[name]

    def segment(self, name: str, start: int, end: int) -> np.ndarray:
        """Codes of ``[start, end)`` of ``name`` (inside the sequence)."""
        return encode(self._fasta.fetch(name, start, end))


@dataclass
class Genome:
    """A genome's sequence as uint8 codes per chromosome (see the module docstring for the stores).

    Attributes
    ----------
    chroms
        ``{name: codes (L,) uint8}`` in FASTA order: a dict in memory, or a read-only mapping over
        a memory-mapped code cache or an indexed FASTA (same interface).
    path
        Where it came from (for error messages).
    sizes
        ``{name: length}``.
    """

    chroms: Mapping[str, np.ndarray]
    path: str = "<memory>"
    sizes: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        length = getattr(self.chroms, "length", None)
        if length is not None:
            self.sizes = {k: int(length(k)) for k in self.chroms}
        else:
            self.sizes = {k: int(v.shape[0]) for k, v in self.chroms.items()}

    @classmethod
    def from_fasta(cls, path: str | Path, exclude: Iterable[str] = ()) -> Genome:
        """Load a FASTA (plain or gzipped) into memory, dropping chromosomes named in ``exclude``."""
        chroms = read_fasta(path)
        for name in exclude:
            chroms.pop(name, None)
        log.info("loaded genome %s: %d chromosomes, %d bp", path, len(chroms), sum(map(len, chroms.values())))
        return cls(chroms, str(path))

    @classmethod
    def open(cls, path: str | Path, exclude: Iterable[str] = ()) -> Genome:
        """Open a code cache (``*.npy``), an indexed FASTA (``.fai`` beside it), or load any other FASTA.

        Only an in-memory genome honours ``exclude`` by dropping sequences; the others keep every
        sequence (use :func:`select_chroms` to choose chromosomes).
        """
        path = require_file(path, "genome file")
        if path.suffix == ".npy":
            return open_code_cache(path)
        if fasta_index(path) is not None and (fasta_compression(path) == "none" or Path(f"{path}.gzi").is_file()):
            return cls(_FastaCodes(path), str(path))
        return cls.from_fasta(path, exclude)

    def flat(self) -> Genome:
        """This genome with every sequence a slice of one flat array (a code cache already is; else copied once)."""
        if isinstance(self.chroms, _MappedCodes):
            return self
        names = list(self.sizes)
        flat = (
            np.concatenate([np.asarray(self.chroms[c], dtype=np.uint8) for c in names])
            if names
            else np.zeros(0, np.uint8)
        )
        offsets = np.cumsum([0, *(self.sizes[c] for c in names)])[:-1]
        index = {c: (int(o), self.sizes[c]) for c, o in zip(names, offsets, strict=True)}
        return Genome(_MappedCodes(flat, index), self.path)

    @property
    def total_size(self) -> int:
        """Total length in bp."""
        return sum(self.sizes.values())

    def check_chroms(self, names: Iterable[str], source: str | Path) -> None:
        """Raise CisflowError if ``names`` (from ``source``) has a chromosome the genome lacks."""
        check_same_chroms(names, self.sizes, source, self.path)

    def fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Codes ``(end - start,)`` for a 0-based half-open interval; past the ends pads with N."""
        size = self.sizes[chrom]
        lo, hi = max(start, 0), min(end, size)
        segment = getattr(self.chroms, "segment", None)
        inner = segment(chrom, lo, hi) if segment is not None and hi > lo else None
        if lo == start and hi == end:
            return inner if inner is not None else np.array(self.chroms[chrom][start:end])
        out = np.full(end - start, N_CODE, dtype=np.uint8)
        if hi > lo:
            out[lo - start : hi - start] = inner if inner is not None else self.chroms[chrom][lo:hi]
        return out

    def fetch_many(self, chroms: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
        """Codes ``(N, length)`` for windows ``[start, start + length)`` on the given chromosomes (N-padded)."""
        gather = getattr(self.chroms, "gather", None)
        if gather is not None:
            self.check_chroms(np.unique(np.asarray(chroms, dtype=str)), "windows")
            return gather(np.asarray(chroms), np.asarray(starts), int(length))
        out = np.empty((len(starts), length), dtype=np.uint8)
        for i, (c, s) in enumerate(zip(chroms, starts, strict=True)):
            out[i] = self.fetch(str(c), int(s), int(s) + length)
        return out


# ----------------------------------------------------------------------------------------------
# indexed FASTA and the code cache (what the workflow makes under results/genome/)


def fasta_names(path: Path) -> list[str]:
    """Every header name of a FASTA in order (one streaming pass; repeats kept)."""
    with _read_errors(path), _open_binary(path) as handle:
        return [value for kind, value in _fasta_events(handle, path) if kind == "name"]


def _check_index(names: list[str], sizes: Mapping[str, int], path: Path) -> None:
    """The .fai must list every header once, none empty (samtools skips duplicates and empty records)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise CisflowError(f"duplicate sequence name {name!r}", path)
        seen.add(name)
        if sizes.get(name, 0) == 0:
            raise CisflowError(f"sequence {name!r} is empty", path)


def _has_bom(path: Path) -> bool:
    """Whether the (decompressed) text of ``path`` starts with a UTF-8 byte-order mark."""
    with _read_errors(path), _open_binary(path) as handle:
        return handle.read(len(_BOM)) == _BOM


def _copy_fasta(src: Path, out: Path, bgzip: bool) -> None:
    """Copy a (gzipped) FASTA's text into ``out``, bgzip-compressed or plain, without a byte-order mark."""
    from pysam.libcbgzf import BGZFile

    with _read_errors(src), _open_binary(src) as inp, BGZFile(str(out), "wb") if bgzip else open(out, "wb") as dst:
        head = inp.read(len(_BOM))
        if head != _BOM:
            dst.write(head)
        while block := inp.read(_CHUNK):
            dst.write(block)


def indexed_fasta_name(src: str | Path) -> str:
    """File name :func:`prepare_fasta` gives the indexed copy of ``src``: ``genome.fa`` or ``genome.fa.gz``."""
    return "genome.fa" if fasta_compression(src) == "none" else "genome.fa.gz"


def _link(src: Path, out: Path) -> None:
    """Point ``out`` at ``src`` with a symbolic link, replacing ``out`` atomically."""
    import os

    tmp = out.with_name(f".{out.name}.link")
    tmp.unlink(missing_ok=True)
    os.symlink(src.resolve(), tmp)
    os.replace(tmp, out)


def prepare_fasta(src: str | Path, out: str | Path) -> dict[str, int]:
    """Make ``out`` an indexed FASTA of ``src`` (``.fai``, and ``.gzi`` when compressed); return the sizes.

    A plain or bgzip ``src`` is linked (no copy); a plain-gzip one is recompressed with bgzip once, and
    one starting with a UTF-8 byte-order mark (which samtools cannot index) is copied without it.
    ``out`` must be named by :func:`indexed_fasta_name`. Checks every header against the index
    (duplicate and empty records are errors, as in :func:`read_fasta`).
    """
    import pysam

    from cisflow.io import atomic_path

    src, out = require_file(src, "FASTA file"), Path(out)
    kind = fasta_compression(src)
    if out.name.endswith(".gz") != (kind != "none"):
        raise CisflowError(f"indexed copy {out} must be named {indexed_fasta_name(src)} for a {kind} FASTA", src)
    names = fasta_names(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".fai", ".gzi"):
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    if kind == "gzip" or _has_bom(src):
        with atomic_path(out) as tmp:
            _copy_fasta(src, tmp, bgzip=kind != "none")
    else:
        _link(src, out)
    try:
        pysam.faidx(str(out))
    except pysam.utils.SamtoolsError as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise CisflowError(f"cannot index the FASTA ({msg}); lines of a record must be equally long", src) from exc
    sizes = read_chrom_sizes(f"{out}.fai")
    _check_index(names, sizes, src)
    log.info("indexed FASTA %s (%s input): %d sequences, %d bp", out, kind, len(sizes), sum(sizes.values()))
    return sizes


def _write_codes(fasta: Path, sizes: Mapping[str, int], handle: IO[bytes]) -> dict[str, int]:
    """Stream ``fasta``'s codes into ``handle`` in the order of ``sizes``; return non-N bases per sequence."""
    order, non_n = list(sizes), {}
    counts = np.zeros(256, dtype=np.int64)
    for k, (name, pieces) in enumerate(_scan_fasta(fasta, counts)):
        if k >= len(order) or name != order[k]:
            raise CisflowError(f"sequence {name!r} is not where the index has it (record {k + 1})", fasta)
        n, acgt = 0, 0
        for piece in pieces:
            handle.write(piece.tobytes())
            n, acgt = n + piece.size, acgt + int(np.count_nonzero(piece != N_CODE))
        if n != sizes[name]:
            raise CisflowError(f"sequence {name!r} has {n} bp but the index says {sizes[name]}", fasta)
        non_n[name] = acgt
    if len(non_n) != len(order):
        raise CisflowError(f"the FASTA has {len(non_n)} sequences but the index {len(order)}", fasta)
    _warn_non_acgtn(counts, fasta)
    return non_n


def write_code_cache(fasta: str | Path, out_npy: str | Path, non_n_out: str | Path | None = None) -> dict[str, Any]:
    """Write the code cache of an indexed FASTA: ``out_npy`` (uint8 ``(total,)``) and its JSON index.

    The index (``out_npy`` with suffix ``.json``) holds the format name, the source FASTA and per
    sequence ``[name, offset, length, non_n]`` (non-N bases). Memory is bounded by one read chunk.
    ``non_n_out``, when given, gets the genome's number of non-N bases on one line (MACS3's
    effective genome size when nothing better is known).

    Returns
    -------
    dict
        The index.
    """
    from cisflow.io import atomic_open, atomic_path, write_json

    fasta = require_file(fasta, "FASTA file")
    sizes = read_chrom_sizes(require_file(f"{fasta}.fai", "FASTA index (.fai)"))
    total = sum(sizes.values())
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False, "shape": (total,)}
    with atomic_path(out_npy) as tmp, open(tmp, "wb") as handle:
        np.lib.format.write_array_header_2_0(handle, header)
        non_n = _write_codes(fasta, sizes, handle)
    offsets = np.concatenate([[0], np.cumsum(list(sizes.values()))[:-1]]).astype(int) if sizes else []
    chroms = [[c, int(o), int(sizes[c]), int(non_n[c])] for c, o in zip(sizes, offsets, strict=True)]
    index = {"format": CACHE_FORMAT, "fasta": str(fasta), "chroms": chroms}
    write_json(cache_index_path(out_npy), index)
    if non_n_out is not None:
        with atomic_open(non_n_out) as handle:
            handle.write(f"{sum(non_n.values())}\n")
    log.info("code cache %s: %d sequences, %d bp, %d non-N", out_npy, len(chroms), total, sum(non_n.values()))
    return index


def cache_index_path(npy: str | Path) -> Path:
    """The JSON index beside a code cache ``.npy``."""
    return Path(npy).with_suffix(".json")


def read_cache_index(npy: str | Path) -> dict[str, Any]:
    """The JSON index of a code cache, checked."""
    path = require_file(cache_index_path(npy), "code cache index")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
        ok = index.get("format") == CACHE_FORMAT and all(len(row) == 4 for row in index["chroms"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CisflowError(f"not a code cache index ({exc})", path) from exc
    if not ok:
        raise CisflowError(f"not a code cache index (format {CACHE_FORMAT} expected)", path)
    return index


def open_code_cache(npy: str | Path) -> Genome:
    """A :class:`Genome` over a code cache, memory-mapped read-only."""
    npy = require_file(npy, "code cache")
    index = read_cache_index(npy)
    try:
        codes = np.load(npy, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise CisflowError(f"not a readable code cache ({exc})", npy) from exc
    total = sum(row[2] for row in index["chroms"])
    if codes.dtype != np.uint8 or codes.shape != (total,):
        raise CisflowError(f"code cache holds {codes.dtype} {codes.shape}, its index says uint8 ({total},)", npy)
    chroms = {c: (o, n) for c, o, n, _ in index["chroms"]}
    return Genome(_MappedCodes(codes, chroms, path=npy, header=int(codes.offset)), str(npy))


# ----------------------------------------------------------------------------------------------
# a user's FASTA index, checked


def fasta_index(fasta: str | Path) -> Path | None:
    """The ``.fai`` beside ``fasta``, checked against it; None when there is none.

    For a plain FASTA the check is what the index holds: every record ends where the index puts it
    (its length, offset and line layout), whatever the files' times. For a compressed one (whose
    index cannot be checked without reading it all) the ``.fai`` and ``.gzi`` must not be older.

    Raises
    ------
    CisflowError
        Naming the index, when it is stale.
    """
    fasta = Path(fasta)
    fai = Path(f"{fasta}.fai")
    if not fai.is_file():
        return None
    redo = f"rebuild it (samtools faidx {fasta}) or delete it"
    if fasta_compression(fasta) == "none":
        problem = _fai_layout_problem(fasta, fai)
        if problem:
            raise CisflowError(f"stale FASTA index: {problem} in {fasta}; {redo}", fai)
        return fai
    for index in (fai, Path(f"{fasta}.gzi")):
        if index.is_file() and index.stat().st_mtime < fasta.stat().st_mtime:
            raise CisflowError(f"stale FASTA index: older than {fasta}; {redo}", index)
    return fai


def _fai_layout_problem(fasta: Path, fai: Path) -> str | None:
    """Where a plain FASTA disagrees with its ``.fai`` (lengths, offsets, line layout), or None.

    Each record must end where the index puts it: at the next record's header (``>name``), or, for
    the last one, at the end of the file (trailing blank lines aside). One seek per record.
    """
    rows = [line.split("\t") for line in read_text_lines(fai) if line.strip()]
    if not rows:
        return "the index lists no sequence"
    with open(fasta, "rb") as handle:
        if _first_word(handle.read(4096).removeprefix(_BOM)) != f">{rows[0][0]}".encode():
            return f"the first sequence is not {rows[0][0]!r}"
        for k, row in enumerate(rows):
            try:
                length, offset, line_bases, line_width = map(int, row[1:5])
                full, rest = divmod(length, line_bases)
            except (ValueError, ZeroDivisionError):
                return f"line {k + 1} of the index is not 'name length offset linebases linewidth'"
            handle.seek(offset + full * line_width + (rest + line_width - line_bases if rest else 0))
            nxt = f">{rows[k + 1][0]}".encode() if k + 1 < len(rows) else b""
            if _first_word(handle.read(len(nxt) + 64 if nxt else 4096)) != nxt:
                return f"sequence {row[0]!r} does not end where the index says ({length} bp)"
    return None


def _first_word(text: bytes) -> bytes:
    """The first whitespace-separated word of ``text`` (b"" if none)."""
    words = text.split(maxsplit=1)
    return words[0] if words else b""


# ----------------------------------------------------------------------------------------------
# sizes files


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


def fasta_sizes(fasta: str | Path, index: str | Path | None = None) -> dict[str, int]:
    """``{name: length}`` of a FASTA: from ``{fasta}.fai`` (checked by :func:`fasta_index`), else ``index`` (a
    .fai made from it) when it is newer than the FASTA, else by one streaming pass over the sequence (remembered
    for the process)."""
    fasta = require_file(fasta, "FASTA file")
    fai = fasta_index(fasta)
    if fai is None and index is not None and Path(index).is_file():
        fai = Path(index) if Path(index).stat().st_mtime >= fasta.stat().st_mtime else None
    if fai is not None:
        return read_chrom_sizes(fai)
    return dict(_scanned_sizes(str(fasta.resolve()), fasta.stat().st_mtime_ns))


@functools.lru_cache(maxsize=4)
def _scanned_sizes(fasta: str, mtime_ns: int) -> tuple[tuple[str, int], ...]:
    """Sequence lengths by one streaming pass (no sequence kept); cached per file version."""
    path = Path(fasta)
    log.info("reading the sequence lengths of %s (no index yet)", path)
    sizes: dict[str, int] = {}
    with _read_errors(path), _open_binary(path) as handle:
        name = ""
        for kind, value in _fasta_events(handle, path):
            if kind == "name":
                name = value
                sizes[name] = 0
            else:
                sizes[name] += len(value.translate(None, _WHITESPACE))
    return tuple(sizes.items())


def non_n_bases(genome: str | Path) -> int:
    """Non-N bases of a genome: from a code cache's index, else by streaming the FASTA."""
    genome = require_file(genome, "genome file")
    if genome.suffix == ".npy":
        return int(sum(row[3] for row in read_cache_index(genome)["chroms"]))
    return int(sum(sum(int(np.count_nonzero(p != N_CODE)) for p in pieces) for _, pieces in _scan_fasta(genome)))


def write_genome_sizes(fasta: str | Path, out: str | Path, non_n_out: str | Path | None = None) -> dict[str, int]:
    """Write the chromosome sizes of a genome (FASTA, indexed FASTA or code cache); returns them.

    Sizes come from the index when there is one (no sequence is read). ``non_n_out``, when given,
    gets the number of non-N bases of the genome on one line (MACS3's effective genome size when
    nothing better is known).
    """
    from cisflow.io import atomic_open

    fasta = require_file(fasta, "genome file")
    if fasta.suffix == ".npy":
        sizes = {row[0]: int(row[2]) for row in read_cache_index(fasta)["chroms"]}
    elif (fai := fasta_index(fasta)) is not None:
        sizes = read_chrom_sizes(fai)
    else:
        sizes = {name: int(sum(p.size for p in pieces)) for name, pieces in _scan_fasta(fasta)}
    write_chrom_sizes(out, sizes)
    if non_n_out is not None:
        with atomic_open(non_n_out) as handle:
            handle.write(f"{non_n_bases(fasta)}\n")
    return sizes
