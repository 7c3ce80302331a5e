"""Read processing: checked BAM input, filtering to tagAlign / fragments, pooling, pseudo-replicates, signal.

All coordinates are 0-based half-open. A tagAlign file has one line per read end (cut site for
ATAC) with the columns ``chrom start end name score strand``; the name identifies the fragment, so
the two ends of one paired-end fragment share it. A fragments file has ``chrom start end name``.
ATAC reads are shifted as ENCODE does (Tn5): +4 on the + strand, -5 on the - strand.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np
import pysam

from cisflow.bam import fragment_records, write_bam_records
from cisflow.errors import CisflowError, require_file
from cisflow.genome import check_same_chroms
from cisflow.io import atomic_path, open_text
from cisflow.params import StageParams, log_params
from cisflow.qc.collect import ReadQC

log = logging.getLogger(__name__)

FORMATS = ("bam", "cram", "bed", "bedpe", "fragments")
DEDUP_MODES = ("flag", "position", "none")
TN5_PLUS, TN5_MINUS = 4, -5
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_CRAM3_EOF = bytes.fromhex("0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b")
_ORDER_PEEK = 10000
_GZ_LEVEL = 4
_DEDUP_PRUNE = 1 << 16  # keys held before the first pruning of a chromosome's set

# ----------------------------------------------------------------------------------------------
# inputs


def load_genome_sizes(genome: Mapping[str, int] | str | Path) -> dict[str, int]:
    """``{chrom: length}`` from a mapping, a chrom.sizes / .fai file, or a FASTA (its .fai if present)."""
    if isinstance(genome, Mapping):
        return {str(k): int(v) for k, v in genome.items()}
    from cisflow.genome import fasta_sizes, read_chrom_sizes

    path = require_file(genome, "genome sizes file")
    with open_text(path) as handle:
        first = handle.read(1)
    if first != ">":
        return read_chrom_sizes(path)
    return fasta_sizes(path)  # its .fai, else one streaming pass (no sequence kept)


def infer_format(path: str | Path) -> str:
    """Read-file format from the name: ``bam``, ``cram``, ``bedpe``, ``fragments`` (``*frag*.bed/tsv``) or ``bed``."""
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith(".bam"):
        return "bam"
    if name.endswith(".cram"):
        return "cram"
    if name.endswith(".bedpe"):
        return "bedpe"
    if "frag" in name and name.endswith((".bed", ".tsv", ".txt")):
        return "fragments"
    if name.endswith((".bed", ".tagalign")):
        return "bed"
    raise CisflowError(f"cannot infer the reads format from the name; give it ({'|'.join(FORMATS)})", path)


def _check_container(path: Path) -> bool:
    """Check a BAM's BGZF or a CRAM's magic and end-of-file marker (not truncated); return whether it is a CRAM."""
    with open(path, "rb") as handle:
        head = handle.read(6)
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - len(_CRAM3_EOF)))
        tail = handle.read()
    if head[:4] == b"CRAM":
        if head[4:5] >= b"\x03" and tail != _CRAM3_EOF:
            raise CisflowError("CRAM is truncated (no end-of-file container)", path)
        return True
    if head[:2] != b"\x1f\x8b":
        raise CisflowError("not a BAM or CRAM file (no BGZF/gzip or CRAM magic)", path)
    if tail[-len(_BGZF_EOF) :] != _BGZF_EOF:
        raise CisflowError("BAM is truncated (no BGZF end-of-file marker)", path)
    return False


def _open_bam(path: Path, reference: str | Path | None = None) -> pysam.AlignmentFile:
    """Open a BAM, or a CRAM with the reference FASTA it was made against (htslib's messages about a
    missing CRAM index silenced: none is needed to stream)."""
    cram = reference is not None
    quiet = pysam.set_verbosity(0) if cram else None
    try:
        if cram:
            return pysam.AlignmentFile(str(path), "rc", check_sq=False, reference_filename=str(reference))
        return pysam.AlignmentFile(str(path), "rb", check_sq=False)
    except (ValueError, OSError) as exc:
        raise CisflowError(f"not a readable {'CRAM' if cram else 'BAM'} file ({exc})", path) from exc
    finally:
        if quiet is not None:
            pysam.set_verbosity(quiet)


def _read_error(exc: OSError, path: Path, reference: str | Path | None) -> CisflowError:
    """The error of a BAM that cannot be read on, or of a CRAM that cannot be decoded with ``reference``."""
    if reference is not None:
        return CisflowError(
            f"cannot decode the CRAM ({exc}) with the reference {reference}: is it the FASTA the CRAM was made "
            "against?",
            path,
        )
    return CisflowError(f"BAM is corrupt or truncated ({exc})", path)


def _check_order(bam: pysam.AlignmentFile, path: Path, limit: int, reference: str | Path | None = None) -> int:
    """Check that the first ``limit`` records are coordinate-sorted; return how many were read."""
    prev, n = (-1, -1), 0
    try:
        for rec in bam:
            n += 1
            key = (rec.reference_id, rec.reference_start)
            if key[0] >= 0:
                if key < prev:
                    raise CisflowError(f"BAM is not coordinate-sorted (record {n}, {rec.query_name}); sort it", path)
                prev = key
            if n >= limit:
                break
    except OSError as exc:
        raise _read_error(exc, path, reference) from exc
    return n


def open_checked_bam(path: str | Path, reference: str | Path | None = None) -> pysam.AlignmentFile:
    """Open a coordinate-sorted BAM (or CRAM) for streaming after checking it; no index is needed or made.

    Checks: a BGZF file (or a CRAM) with its end-of-file marker (not truncated), readable by pysam,
    at least one record, header ``SO`` (if present) is ``coordinate``, and the first records are in
    coordinate order (an unsorted file without ``SO`` is caught here or while streaming). Nothing is
    written beside the file, so reads on read-only storage work.

    Parameters
    ----------
    path
        The BAM or CRAM (told apart by their contents).
    reference
        The FASTA a CRAM was made against (with its ``.fai``); required for a CRAM, unused for a BAM.

    Raises
    ------
    CisflowError
        One line naming the file and the problem (a CRAM without a reference says how to convert it).
    """
    path = require_file(path, "reads BAM")
    cram = _check_container(path)
    if cram and reference is None:
        raise CisflowError(
            "a CRAM is read with the reference FASTA it was made against, and none was given (the CLI's "
            "--reference); or convert it to BAM: samtools view -b -T REF.fa -o reads.bam reads.cram",
            path,
        )
    reference = reference if cram else None
    with _open_bam(path, reference) as bam:
        so = bam.header.to_dict().get("HD", {}).get("SO")
        if so is not None and so != "coordinate":
            raise CisflowError(f"BAM is not coordinate-sorted (header SO:{so}); sort it (samtools sort)", path)
        if _check_order(bam, path, _ORDER_PEEK, reference) == 0:
            raise CisflowError("BAM has no reads", path)
    return _open_bam(path, reference)


def _check_bam_chrom(bam: pysam.AlignmentFile, chrom: str, opts: dict[str, Any]) -> None:
    """A chromosome with reads must be in the genome (or dropped), with the same length."""
    sizes, path, genome_src = opts["sizes"], opts["path"], opts["genome_src"]
    if chrom in opts["drop"]:
        return
    check_same_chroms([chrom], sizes, path, genome_src)
    if bam.get_reference_length(chrom) != sizes[chrom]:
        raise CisflowError(
            f"{chrom} is {bam.get_reference_length(chrom)} bp in the BAM but {sizes[chrom]} bp in the genome "
            f"{genome_src} (different assembly?)",
            path,
        )


def _text_fields(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, tab/space-split fields)`` of a (gzipped) BED-like file, skipping headers."""
    import zlib

    try:
        with open_text(path) as handle:
            for i, line in enumerate(handle, 1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                yield i, line.split()
    except (EOFError, OSError, zlib.error) as exc:
        raise CisflowError(f"cannot read ({exc.__class__.__name__}: {exc}); truncated or corrupt?", path) from exc
    except UnicodeDecodeError as exc:
        raise CisflowError("not a text file", path) from exc


# ----------------------------------------------------------------------------------------------
# filtering


class _UnsortedError(Exception):
    """Internal: text input is not sorted by chromosome and start (bounded de-duplication impossible)."""


class _Dedup:
    """Position de-duplication on coordinate-sorted input, in memory bounded by the local depth.

    Keys are ``(last, other)`` tuples where ``last`` is the last input position at which the same
    key can still occur; the set of one chromosome is pruned of keys with ``last`` behind the current
    position whenever it has doubled since the last pruning. ``bounded=False`` keeps every key of a
    chromosome (for unsorted text input).
    """

    def __init__(self, enabled: bool, bounded: bool = True) -> None:
        self.enabled, self.bounded = enabled, bounded
        self.chrom: str | None = None
        self.done: dict[str, set[tuple[int, int]]] = {}  # finished chromosomes (their keys when unbounded)
        self.pos = -1
        self.seen: set[tuple[int, int]] = set()
        self.limit = _DEDUP_PRUNE
        self.duplicates = 0

    def advance(self, chrom: str, pos: int) -> None:
        """Move to input position ``(chrom, pos)``; _UnsortedError if the input went backwards."""
        if chrom != self.chrom:
            if chrom in self.done and self.bounded:
                raise _UnsortedError(chrom)
            if self.chrom is not None:
                self.done[self.chrom] = set() if self.bounded else self.seen
            self.chrom, self.pos, self.seen, self.limit = chrom, pos, self.done.pop(chrom, set()), _DEDUP_PRUNE
        elif pos < self.pos and self.bounded:
            raise _UnsortedError(chrom)
        self.pos = max(self.pos, pos)

    def new(self, key: tuple[int, int]) -> bool:
        """Whether ``key`` is new on the current chromosome (and remember it)."""
        if not self.enabled:
            return True
        if key in self.seen:
            self.duplicates += 1
            return False
        self.seen.add(key)
        if self.bounded and len(self.seen) > self.limit:
            self.seen = {k for k in self.seen if k[0] >= self.pos}
            self.limit = max(_DEDUP_PRUNE, 2 * len(self.seen))
        return True


class _Sink:
    """Writes shifted tagAlign lines and fragment lines, deduplicates by position, counts."""

    def __init__(
        self, sizes: Mapping[str, int], shift: bool, dedup: _Dedup, tag: IO[str], frag: IO[str] | None
    ) -> None:
        self.sizes, self.shift, self.dedup = sizes, shift, dedup
        self.tag, self.frag = tag, frag
        self.buf: list[str] = []
        self.fbuf: list[str] = []
        self.kept_reads = self.kept_fragments = 0
        self.qc: ReadQC | None = None  # QC accumulators (cisflow.qc.collect), fed below

    @property
    def duplicate_position(self) -> int:
        """Reads (SE) or fragments (PE) dropped as position duplicates."""
        return self.dedup.duplicates

    def _line(self, chrom: str, start: int, end: int, name: str, score: int, strand: str) -> None:
        if self.shift:
            delta = TN5_PLUS if strand == "+" else TN5_MINUS
            start, end = start + delta, end + delta
        if start < 0 or end > self.sizes[chrom]:  # (rare) clip to the chromosome
            start, end = max(start, 0), min(end, self.sizes[chrom])
            if end <= start:  # clipped away at a chromosome end: keep one base inside
                start, end = (end - 1, end) if start >= self.sizes[chrom] else (start, start + 1)
        self.buf.append(f"{chrom}\t{start}\t{end}\t{name}\t{score}\t{strand}\n")
        self.kept_reads += 1
        if len(self.buf) >= 100_000:
            self.flush()

    def read(self, chrom: str, start: int, end: int, name: str, score: int, strand: str) -> None:
        """One single-end read at input position ``start``; position dedup by 5' end and strand."""
        self.dedup.advance(chrom, start)
        if self.qc is not None:
            self.qc.candidate_read(chrom, start, end, strand == "-")
        if self.dedup.new((start, 0) if strand == "+" else (end, 1)):
            self._line(chrom, start, end, name, score, strand)
            if self.qc is not None:
                self.qc.kept_read(chrom, start, end, strand == "-")

    def fragment(
        self, chrom: str, start: int, end: int, name: str, score: int, len1: int, len2: int, at: int | None = None
    ) -> None:
        """One fragment ``[start, end)`` seen at input position ``at`` (default ``start``).

        Writes two tagAlign lines (ends of ``len1``/``len2`` bp) and a fragment line. A duplicate
        fragment is met at an input position in ``[start, end)``, so its key lives until ``end - 1``.
        """
        self.dedup.advance(chrom, start if at is None else at)
        if self.qc is not None:
            self.qc.candidate_fragment(chrom, start, end, at)
        if not self.dedup.new((end - 1, start)):
            return
        if self.qc is not None:
            self.qc.kept_fragment(start, end, len1, len2)
        self._line(chrom, start, start + len1, name, score, "+")
        self._line(chrom, end - len2, end, name, score, "-")
        self.kept_fragments += 1
        if self.frag is not None:
            fs, fe = (start + TN5_PLUS, end + TN5_MINUS) if self.shift else (start, end)
            fs, fe = max(fs, 0), min(max(fe, fs + 1), self.sizes[chrom])
            self.fbuf.append(f"{chrom}\t{fs}\t{fe}\t{name}\n")

    def flush(self) -> None:
        self.tag.write("".join(self.buf))
        self.buf.clear()
        if self.frag is not None:
            self.frag.write("".join(self.fbuf))
            self.fbuf.clear()


def _record_reason(flag: int, chrom: str | None, mapq: int, opts: dict[str, Any], stats: dict[str, Any]) -> str | None:
    """First record-level filter a BAM record fails (counted in ``stats``), or None."""
    if flag & 0x4:
        reason = "unmapped"
    elif chrom in opts["drop"]:
        stats["dropped_chroms"][chrom] = stats["dropped_chroms"].get(chrom, 0) + 1
        return "dropped_chrom"
    elif chrom not in opts["sizes"]:
        check_same_chroms([chrom], opts["sizes"], opts["path"], opts["genome_src"])
        reason = None
    elif flag & 0x200:
        reason = "qcfail"
    elif opts["paired"] and (flag & 0x3 != 0x3 or flag & 0x8):
        reason = "not_proper_pair"
    elif mapq < opts["min_mapq"]:
        reason = "low_mapq"
    elif opts["dedup"] == "flag" and flag & 0x400:
        reason = "duplicate_flag"
    else:
        return None
    stats[reason] += 1
    return reason


def _stream_bam(bam: pysam.AlignmentFile, sink: _Sink, opts: dict[str, Any], stats: dict[str, Any]) -> None:
    """Filter a coordinate-sorted BAM record by record into ``sink`` (pairs joined by name)."""
    pending: dict[str, tuple[int, int, int, bool, bool]] = {}  # start, end, MAPQ, reverse, duplicate-flagged
    failed: set[str] = set()
    prev, path = (-1, -1), opts["path"]
    try:
        for rec in bam:
            stats["records"] += 1
            flag = rec.flag
            if flag & 0x100 or flag & 0x800:
                stats["secondary" if flag & 0x100 else "supplementary"] += 1
                continue
            key = (rec.reference_id, rec.reference_start)
            if key[0] >= 0:
                if key < prev:
                    raise CisflowError(f"BAM is not coordinate-sorted (at {rec.query_name}); sort it", path)
                if key[0] != prev[0]:
                    _check_bam_chrom(bam, rec.reference_name, opts)
                prev = key
            if sink.qc is not None and not flag & 0x4:
                sink.qc.mapped(rec.reference_name)
            reason = _record_reason(flag, rec.reference_name, rec.mapping_quality, opts, stats)
            if not opts["paired"]:
                if reason == "duplicate_flag" and sink.qc is not None:  # counted for library complexity
                    sink.qc.candidate_read(
                        rec.reference_name, rec.reference_start, rec.reference_end, bool(flag & 0x10)
                    )
                if reason is None:
                    strand = "-" if flag & 0x10 else "+"
                    sink.read(rec.reference_name, rec.reference_start, rec.reference_end, rec.query_name,
                              rec.mapping_quality, strand)  # fmt: skip
                continue
            _pair_step(rec, reason, pending, failed, sink, stats)
    except OSError as exc:
        raise _read_error(exc, path, opts.get("reference")) from exc
    stats["mate_filtered"] += sum(1 for mate in pending.values() if not mate[4])


def _pair_step(rec: Any, reason: str | None, pending: dict, failed: set, sink: _Sink, stats: dict) -> None:
    """Join one primary PE record with its mate; emit the fragment when both passed.

    A duplicate-flagged record joins its mate too, so that the pair reaches the library-complexity
    count; the fragment is then not written (its other mate counts as ``mate_filtered``).
    """
    name = rec.query_name
    dup = reason == "duplicate_flag"
    if reason is not None and not dup:
        mate = pending.pop(name, None)
        if mate is not None:
            stats["mate_filtered"] += not mate[4]
        elif name in failed:
            failed.discard(name)
        else:
            failed.add(name)
        return
    if name in failed:
        failed.discard(name)
        stats["mate_filtered"] += not dup
        return
    mine = (rec.reference_start, rec.reference_end, rec.mapping_quality, bool(rec.flag & 0x10), dup)
    mate = pending.pop(name, None)
    if mate is None:
        pending[name] = mine
        return
    plus, minus = (mate, mine) if not mate[3] else (mine, mate)
    if plus[3] == minus[3] or minus[1] <= plus[0]:
        stats["not_proper_pair"] += 2 - dup - mate[4]
        return
    if dup or mate[4]:
        stats["mate_filtered"] += (not dup) + (not mate[4])
        if sink.qc is not None:
            sink.qc.candidate_fragment(rec.reference_name, plus[0], minus[1], rec.reference_start)
        return
    sink.fragment(rec.reference_name, plus[0], minus[1], name, min(plus[2], minus[2]),
                  plus[1] - plus[0], minus[1] - minus[0], at=rec.reference_start)  # fmt: skip


def _is_paired(path: Path, reference: str | Path | None = None) -> bool:
    with _open_bam(path, reference) as bam:
        for i, rec in enumerate(bam):
            if rec.flag & 0x1:
                return True
            if i >= 1000:
                break
    return False


def _int(fields: list[str], i: int, lineno: int, path: Path) -> int:
    try:
        return int(fields[i])
    except (IndexError, ValueError) as exc:
        raise CisflowError(f"line {lineno}: column {i + 1} is not an integer", path) from exc


def _text_chrom_ok(chrom: str, opts: dict[str, Any], stats: dict[str, Any]) -> bool:
    if opts.get("qc") is not None:
        opts["qc"].mapped(chrom)
    if chrom in opts["drop"]:
        stats["dropped_chroms"][chrom] = stats["dropped_chroms"].get(chrom, 0) + 1
        return False
    if chrom not in opts["sizes"]:
        check_same_chroms([chrom], opts["sizes"], opts["path"], opts["genome_src"])
    return True


def _stream_text(fmt: str, sink: _Sink, opts: dict[str, Any], stats: dict[str, Any]) -> None:
    """Filter BED reads (6 columns with strand), BEDPE (3 or ≥ 6 columns) or fragments into ``sink``."""
    path = opts["path"]
    for lineno, f in _text_fields(path):
        stats["records"] += 1
        if not _text_chrom_ok(f[0], opts, stats):
            continue
        start, end = _int(f, 1, lineno, path), _int(f, 2, lineno, path)
        if end <= start:
            raise CisflowError(f"line {lineno}: end {end} <= start {start}", path)
        if fmt == "bed":
            if len(f) < 6 or f[5] not in "+-":
                raise CisflowError(f"line {lineno}: BED reads need 6 columns with strand + or - in column 6", path)
            sink.read(f[0], start, end, f[3], 0, f[5])
            continue
        name = f"{Path(path).name.split('.')[0]}.{lineno}"
        if fmt == "bedpe" and len(f) >= 6 and f[3] == f[0]:
            start, end = min(start, _int(f, 4, lineno, path)), max(end, _int(f, 5, lineno, path))
            name = f[6] if len(f) > 6 else name
        elif fmt == "fragments" and len(f) > 3:
            name = f[3]
        sink.fragment(f[0], start, end, name, 0, 1, 1)


def _new_stats(fmt: str, paired: bool) -> dict[str, Any]:
    keys = ("records", "secondary", "supplementary", "unmapped", "qcfail", "not_proper_pair", "low_mapq")
    stats: dict[str, Any] = {"format": fmt, "paired": paired, **dict.fromkeys(keys, 0)}
    stats.update(duplicate_flag=0, mate_filtered=0, dropped_chroms={})
    return stats


def _open_out(tmp: Path, final: str | Path) -> IO[str]:
    if str(final).endswith(".gz"):
        return gzip.open(tmp, "wt", encoding="utf-8", compresslevel=_GZ_LEVEL)
    return open(tmp, "w", encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class ReadsParams(StageParams):
    """The config's ``reads`` section: filters of :func:`filter_reads`, bin of :func:`signal_bigwig` (bp)."""

    SECTION: ClassVar[str] = "reads"
    min_mapq: int = 30
    dedup: str = "position"
    drop_chroms: tuple[str, ...] = ("chrM",)
    tn5_shift: bool = True
    signal_bin_size: int = 10


def filter_reads(
    reads_path: str | Path,
    genome_sizes: Mapping[str, int] | str | Path,
    out_tagalign: str | Path,
    *,
    fmt: str | None = None,
    assay: str,
    min_mapq: int = 30,
    dedup: str = "flag",
    drop_chroms: Sequence[str] = ("chrM",),
    tn5_shift: bool = True,
    out_fragments: str | Path | None = None,
    out_stats: str | Path | None = None,
    reference: str | Path | None = None,
) -> dict[str, Any]:
    """Filter reads into a tagAlign (and for paired-end input a fragments BED), streaming.

    BAM records are dropped, in this order and counted once under the first reason: secondary,
    supplementary, unmapped, on a chromosome in ``drop_chroms`` (counted per chromosome), QC-fail,
    not a proper pair (PE), MAPQ < ``min_mapq``, duplicate flag (``dedup="flag"``); a PE record whose
    mate was dropped counts as ``mate_filtered``. Kept PE pairs become one fragment (leftmost +
    read start to - read end); ``dedup="position"`` then drops repeated fragments (PE, by chrom,
    start, end) or reads (SE, by chrom, 5' end, strand). BED (SE reads with strand), BEDPE
    (unshifted fragments) and fragment files (already shifted; never shifted again) are accepted
    too; their lines are written as 1-bp cut sites. ATAC reads are Tn5-shifted (+4 / -5). Reads on
    a chromosome absent from the genome and not dropped raise an error naming both sides.

    Parameters
    ----------
    reads_path
        BAM or CRAM (coordinate-sorted; no index needed), BED, BEDPE or fragments file (gz ok).
    genome_sizes
        ``{chrom: length}`` or a chrom.sizes / .fai / FASTA path.
    out_tagalign
        Output tagAlign (``chrom start end name score strand``; gzip if it ends in .gz); lines are
        in input order (not re-sorted); score is the MAPQ (0 for text input).
    fmt
        ``bam|cram|bed|bedpe|fragments``; None infers it from the name (a BAM and a CRAM are told apart by
        their contents either way).
    assay
        ``chip`` or ``atac`` (ATAC gets the Tn5 shift when ``tn5_shift``).
    min_mapq, dedup, drop_chroms, tn5_shift
        Filters, see above.
    out_fragments
        Fragments BED (``chrom start end name``, shifted for ATAC); paired input only.
    out_stats
        Optional JSON copy of the returned statistics.
    reference
        The FASTA (with ``.fai``) a CRAM was made against; required for a CRAM.

    Returns
    -------
    dict
        Record counts per filter (``records``, ``secondary``, ``supplementary``, ``unmapped``,
        ``qcfail``, ``not_proper_pair``, ``low_mapq``, ``duplicate_flag``, ``mate_filtered``,
        ``dropped_chroms`` {chrom: records}); ``duplicate_position`` and ``kept`` in reads (SE) or
        fragments (PE); ``kept_reads`` (tagAlign lines), ``kept_fragments``; ``format``, ``paired``.
    """
    path = require_file(reads_path, "reads file")
    fmt = fmt or infer_format(path)
    log_params("filter_reads", {"min_mapq": min_mapq, "dedup": dedup, "drop_chroms": list(drop_chroms),
                                "tn5_shift": tn5_shift, "assay": assay, "fmt": fmt})  # fmt: skip
    _check_options(fmt, assay, dedup, path)
    src = str(genome_sizes) if not isinstance(genome_sizes, Mapping) else "<genome sizes>"
    sizes = load_genome_sizes(genome_sizes)
    opts = {"path": path, "sizes": sizes, "drop": set(drop_chroms), "genome_src": src, "min_mapq": min_mapq,
            "dedup": dedup, "paired": fmt != "bed"}  # fmt: skip
    bam = None
    if fmt in ("bam", "cram"):
        bam = open_checked_bam(path, reference)
        opts["reference"] = reference if bam.is_cram else None
        opts["paired"] = _is_paired(path, opts["reference"])
    if out_fragments is not None and not opts["paired"]:
        raise CisflowError("a fragments output needs paired-end reads (these are single-end)", path)
    opts["shift"] = tn5_shift and assay == "atac" and fmt != "fragments"
    opts["assay"] = assay
    if bam is not None:
        with bam:
            stats, sink = _filter_into(bam, fmt, opts, out_tagalign, out_fragments, bounded=True)
    else:
        try:
            stats, sink = _filter_into(None, fmt, opts, out_tagalign, out_fragments, bounded=True)
        except _UnsortedError as exc:
            log.warning("%s is not sorted by position (at %s): de-duplicating with every position of a "
                        "chromosome in memory; sort it (sort -k1,1 -k2,2n) for bounded memory", path, exc)  # fmt: skip
            stats, sink = _filter_into(None, fmt, opts, out_tagalign, out_fragments, bounded=False)
    return _finish_stats(stats, sink, path, out_stats)


def _filter_into(
    bam: pysam.AlignmentFile | None,
    fmt: str,
    opts: dict[str, Any],
    out_tagalign: str | Path,
    out_fragments: str | Path | None,
    bounded: bool,
) -> tuple[dict[str, Any], _Sink]:
    """One filtering pass into atomically written outputs; returns the statistics and the sink."""
    stats = _new_stats(fmt, opts["paired"])
    dedup = _Dedup(opts["dedup"] == "position", bounded=bounded)
    with _outputs(out_tagalign, out_fragments) as (tag, frag):
        sink = _Sink(opts["sizes"], opts["shift"], dedup, tag, frag)
        sink.qc = opts["qc"] = ReadQC(opts["sizes"], opts["paired"], opts["assay"], sorted_input=bounded)
        if bam is not None:
            _stream_bam(bam, sink, opts, stats)
        else:
            _stream_text(fmt, sink, opts, stats)
        sink.flush()
        if sink.kept_reads == 0:  # inside the atomic outputs: nothing is left behind
            raise CisflowError(f"no reads passed the filters ({_top_reasons(stats, opts)})", opts["path"])
    stats["qc"] = sink.qc.result()
    return stats, sink


_REASONS = {
    "secondary": "secondary alignments",
    "supplementary": "supplementary alignments",
    "unmapped": "unmapped",
    "qcfail": "QC-failed",
    "not_proper_pair": "not in a proper pair",
    "low_mapq": "MAPQ below {min_mapq} (reads.min_mapq)",
    "duplicate_flag": "flagged duplicates (reads.dedup: flag)",
    "mate_filtered": "mate filtered out or missing",
}


def _top_reasons(stats: dict[str, Any], opts: dict[str, Any]) -> str:
    """The filters that dropped most records, in words, e.g. ``of 120 records: 100 MAPQ below 30, 20 unmapped``."""
    counts = {_REASONS[k].format(**opts): stats[k] for k in _REASONS if stats[k]}
    for chrom, n in stats["dropped_chroms"].items():
        counts[f"on {chrom} (reads.drop_chroms)"] = n
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    return f"of {stats['records']:,} records: " + ", ".join(f"{n:,} {what}" for what, n in top) if top else "no records"


def _check_options(fmt: str, assay: str, dedup: str, path: Path) -> None:
    if fmt not in FORMATS:
        raise CisflowError(f"unknown reads format {fmt!r} (expected one of {', '.join(FORMATS)})", path)
    if assay not in ("chip", "atac"):
        raise CisflowError(f"unknown assay {assay!r} (expected chip or atac)", path)
    if dedup not in DEDUP_MODES:
        raise CisflowError(f"unknown dedup mode {dedup!r} (expected one of {', '.join(DEDUP_MODES)})", path)


@contextlib.contextmanager
def _outputs(tagalign: str | Path, fragments: str | Path | None) -> Iterator[tuple[IO[str], IO[str] | None]]:
    """Open the tagAlign (and optional fragments) outputs atomically; yields ``(tag, frag or None)``."""
    with contextlib.ExitStack() as stack:
        tag = stack.enter_context(_open_out(stack.enter_context(atomic_path(tagalign)), tagalign))
        frag = None
        if fragments is not None:
            frag = stack.enter_context(_open_out(stack.enter_context(atomic_path(fragments)), fragments))
        yield tag, frag


def _finish_stats(stats: dict[str, Any], sink: _Sink, path: Path, out_stats: str | Path | None) -> dict[str, Any]:
    stats["duplicate_position"] = sink.duplicate_position
    stats["kept_reads"], stats["kept_fragments"] = sink.kept_reads, sink.kept_fragments
    stats["kept"] = sink.kept_fragments if stats["paired"] else sink.kept_reads
    for chrom, n in stats["dropped_chroms"].items():
        log.info("%s: dropped %d records on %s", path, n, chrom)
    log.info("%s: kept %d %s", path, stats["kept"], "fragments" if stats["paired"] else "reads")
    if out_stats is not None:
        from cisflow.io import write_json

        write_json(out_stats, stats)
    return stats


# ----------------------------------------------------------------------------------------------
# pooling, pseudo-replicates, signal, BEDPE → BAM


def _copy_lines(src: Path, out: IO[str]) -> int:
    """Append the lines of a (gzipped) text file to ``out``; return how many."""
    n, buf = 0, []
    for _, fields in _text_fields(src):
        buf.append("\t".join(fields) + "\n")
        n += 1
        if len(buf) >= 100_000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    return n


def pool_reads(inputs: Sequence[str | Path], out: str | Path) -> int:
    """Concatenate tagAlign (or fragment) files into ``out`` (gzip if .gz), atomically; returns the line count."""
    paths = [require_file(p, "reads file to pool") for p in inputs]
    if not paths:
        raise CisflowError("nothing to pool (no inputs)", out)
    total = 0
    with atomic_path(out) as tmp, _open_out(tmp, out) as handle:
        for p in paths:
            total += _copy_lines(p, handle)
    log.info("pooled %d files into %s: %d lines", len(paths), out, total)
    return total


def _name_hash(name: str, key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8, key=key).digest(), "little")


def _line_name(fields: list[str], lineno: int, path: Path) -> str:
    """The fragment name of a tagAlign line; names ``N``/``.`` (ENCODE) count as one read per line."""
    if len(fields) < 4:
        raise CisflowError(f"line {lineno}: a tagAlign needs a name in column 4", path)
    return fields[3] if fields[3] not in ("N", ".") else f"\0{lineno}"


_BUCKET_SHIFT = 48  # the top 16 bits of a name hash pick its histogram bucket
_BATCH = 1 << 18


def _hash_pass(path: Path, key: bytes, out: IO[bytes]) -> np.ndarray:
    """Write every line's name hash (uint64) to ``out``; return the histogram of name hashes by top bits.

    Lines of one name on consecutive lines (both ends of a fragment) count once in the histogram.
    """
    hist = np.zeros(1 << (64 - _BUCKET_SHIFT), np.int64)
    line_h: list[int] = []
    name_h: list[int] = []
    prev, h = None, 0

    def flush() -> None:
        np.asarray(line_h, dtype=np.uint64).tofile(out)
        hist[:] += np.bincount(np.asarray(name_h, dtype=np.uint64) >> np.uint64(_BUCKET_SHIFT), minlength=hist.size)
        line_h.clear()
        name_h.clear()

    for lineno, fields in _text_fields(path):
        name = _line_name(fields, lineno, path)
        if name != prev:
            prev, h = name, _name_hash(name, key)
            name_h.append(h)
        line_h.append(h)
        if len(line_h) >= _BATCH:
            flush()
    flush()
    return hist


def _median_hash(hashes: np.ndarray, hist: np.ndarray) -> int:
    """The hash of rank ``n // 2`` among the ``n = hist.sum()`` names (from the one bucket holding it)."""
    rank = int(hist.sum()) // 2
    cum = np.cumsum(hist)
    bucket = int(np.searchsorted(cum, rank, side="right"))
    within = rank - (int(cum[bucket - 1]) if bucket else 0)
    found = [c[(c >> np.uint64(_BUCKET_SHIFT)) == bucket] for c in _chunks(hashes)]
    members = np.unique(np.concatenate(found))
    return int(members[min(within, members.size - 1)])


def _chunks(array: np.ndarray, size: int = 1 << 22) -> Iterator[np.ndarray]:
    for lo in range(0, array.shape[0], size):
        yield np.asarray(array[lo : lo + size])


def _split_pass(path: Path, hashes: np.ndarray, threshold: int, outs: tuple[IO[str], IO[str]]) -> list[int]:
    """Write each line to ``outs[0]`` (hash below ``threshold``) or ``outs[1]``; return the line counts."""
    counts, buf, lo = [0, 0], [], 0

    def flush() -> None:
        upper = np.asarray(hashes[lo : lo + len(buf)]) >= np.uint64(threshold)
        for which in (0, 1):
            chosen = [line for line, up in zip(buf, upper.tolist(), strict=True) if up == which]
            outs[which].write("".join(chosen))
            counts[which] += len(chosen)

    for _, fields in _text_fields(path):
        buf.append("\t".join(fields) + "\n")
        if len(buf) >= _BATCH:
            flush()
            lo, buf = lo + len(buf), []
    flush()
    return counts


def pseudo_replicates(tagalign: str | Path, out1: str | Path, out2: str | Path, seed: int) -> tuple[int, int]:
    """Split a tagAlign into two random halves of its fragments; lines sharing a name stay together.

    Each name gets a seeded 64-bit hash; names with the lower half of the hashes go to ``out1``,
    the rest to ``out2`` (exact halves of the names, ±1, when the lines of a name are consecutive,
    as in the tagAligns :func:`filter_reads` writes). Streaming in bounded memory: one pass writes
    every line's hash to a temporary file beside ``out1`` and histograms the hashes by their top
    16 bits, the median is then found within its one bucket, and a last pass writes the halves.

    Returns
    -------
    tuple of int
        Lines written to ``out1`` and ``out2``.
    """
    import tempfile

    path = require_file(tagalign, "tagAlign")
    key = int(seed).to_bytes(8, "little", signed=True)
    Path(out1).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(out1).parent, prefix=".pseudoreps.") as tmp:
        hash_file = Path(tmp) / "hashes.u64"
        with open(hash_file, "wb") as handle:
            hist = _hash_pass(path, key, handle)
        if hist.sum() == 0:
            raise CisflowError("no reads to split into pseudo-replicates", path)
        hashes = np.memmap(hash_file, dtype=np.uint64, mode="r")
        threshold = _median_hash(hashes, hist)
        with atomic_path(out1) as t1, atomic_path(out2) as t2, _open_out(t1, out1) as h1, _open_out(t2, out2) as h2:
            counts = _split_pass(path, hashes, threshold, (h1, h2))
        del hashes
    log.info("pseudo-replicates of %s: %d and %d lines", path, *counts)
    return counts[0], counts[1]


def _signal_chunks(path: Path) -> Iterator[Any]:
    """Chunks (pandas DataFrames: chrom, start, end[, strand]) of a tagAlign or fragments file."""
    import zlib

    import pandas as pd

    first = next(_text_fields(path), None)
    if first is None:
        raise CisflowError("no reads for the signal track", path)
    stranded = len(first[1]) >= 6 and first[1][5] in ("+", "-")
    cols = [0, 1, 2, 5] if stranded else [0, 1, 2]
    try:
        reader = pd.read_csv(path, sep="\t", header=None, usecols=cols, comment="#", chunksize=500_000,
                             dtype={0: str, 1: np.int64, 2: np.int64}, compression="infer")  # fmt: skip
        with reader:
            yield from reader
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        raise CisflowError(f"cannot read ({exc.__class__.__name__}: {exc}); truncated or corrupt?", path) from exc


def _add_counts(bins: dict[str, np.ndarray], df: Any, bin_size: int, sizes: Mapping[str, int], src: Path) -> int:
    """Add cut sites (stranded) or fragment overlaps (unstranded) of ``df`` to per-chromosome bin counts.

    Only the span of bins the chunk touches is counted (not a whole-chromosome array per chunk).
    """
    check_same_chroms(df[0].unique(), sizes, src, "<genome sizes>")
    for chrom, part in df.groupby(0, sort=False):
        counts, size = bins[chrom], sizes[chrom]
        start, end = part[1].to_numpy(), part[2].to_numpy()
        if 5 in part.columns:
            site = np.where(part[5].to_numpy() == "-", end - 1, start).clip(0, size - 1) // bin_size
            lo = int(site.min())
            add = np.bincount(site - lo)
            counts[lo : lo + add.size] += add.astype(counts.dtype)
        else:
            first = start.clip(0, size - 1) // bin_size
            last = (end.clip(1, size) - 1) // bin_size
            lo, hi = int(first.min()), int(last.max()) + 2
            diff = np.bincount(first - lo, minlength=hi - lo) - np.bincount(last + 1 - lo, minlength=hi - lo)
            span = np.cumsum(diff)[: min(hi, len(counts)) - lo]
            counts[lo : lo + span.size] += span.astype(counts.dtype)
    return len(df)


def signal_bigwig(
    tagalign_or_fragments: str | Path,
    genome_sizes: Mapping[str, int] | str | Path,
    out_bw: str | Path,
    bin_size: int = 10,
    normalize: str = "cpm",
) -> int:
    """Write a binned signal bigWig: cut sites per bin (tagAlign) or fragments overlapping each bin.

    A tagAlign (6 columns with strand) counts each line's 5' end (start on +, end - 1 on -; the
    Tn5 shift is already in the file); a fragments BED (no strand column) counts every fragment
    once in each bin it overlaps. ``normalize="cpm"`` scales by 1e6 / (number of lines);
    ``"none"`` writes raw counts. Only non-zero bins are written (bins of ``bin_size`` bp, the
    last bin of a chromosome clipped at its end).

    Returns
    -------
    int
        Number of lines (cut sites or fragments) counted.
    """
    import pyBigWig

    path = require_file(tagalign_or_fragments, "tagAlign/fragments file")
    if normalize not in ("cpm", "none"):
        raise CisflowError(f"unknown normalisation {normalize!r} (expected cpm or none)", path)
    sizes = load_genome_sizes(genome_sizes)
    bins = {c: np.zeros(-(-n // bin_size), dtype=np.int32) for c, n in sizes.items()}  # 4 bytes per bin
    total = sum(_add_counts(bins, df, bin_size, sizes, path) for df in _signal_chunks(path))
    scale = 1e6 / total if normalize == "cpm" and total else 1.0
    with atomic_path(out_bw) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(n)) for c, n in sizes.items()])
            for chrom, counts in bins.items():
                nz = np.flatnonzero(counts)
                if len(nz):
                    starts = nz * bin_size
                    ends = np.minimum(starts + bin_size, sizes[chrom])
                    bw.addEntries([chrom] * len(nz), starts.tolist(), ends=ends.tolist(),
                                  values=(counts[nz] * scale).astype(float).tolist())  # fmt: skip
        finally:
            bw.close()
    log.info("%s: %d lines → %s", path, total, out_bw)
    return total


def bedpe_to_bam(
    bedpe: str | Path,
    genome_sizes: Mapping[str, int] | str | Path,
    out_bam: str | Path,
    read_length: int = 50,
    name_prefix: str | None = None,
) -> dict[str, int]:
    """Make a coordinate-sorted, indexed paired-end BAM from BEDPE fragments (``chrom start end``).

    Each fragment becomes a proper pair (MAPQ 60, flags 99/147, CIGAR ``{len}M`` with
    ``len = min(read_length, fragment length)``, SEQ ``*``, no qualities) named
    ``{name_prefix}.{line}``. Fragments on chromosomes absent from ``genome_sizes`` (or past a
    chromosome end) are dropped and counted in the log.

    Returns
    -------
    dict
        ``fragments`` written, ``dropped`` {chrom: count}, ``records``.
    """
    path = require_file(bedpe, "BEDPE file")
    sizes = load_genome_sizes(genome_sizes)
    prefix = name_prefix or path.name.split(".")[0]
    chrom, start, end, names, dropped = [], [], [], [], {}
    for lineno, f in _text_fields(path):
        s, e = _int(f, 1, lineno, path), _int(f, 2, lineno, path)
        if f[0] not in sizes or e > sizes[f[0]] or s < 0 or e <= s:
            dropped[f[0]] = dropped.get(f[0], 0) + 1
            continue
        chrom.append(f[0])
        start.append(s)
        end.append(e)
        names.append(f"{prefix}.{lineno}")
    for c, n in dropped.items():
        log.warning("%s: dropped %d fragments on %s (absent from the genome or out of range)", path, n, c)
    if not chrom:
        raise CisflowError("no fragments on the genome's chromosomes", path)
    records = fragment_records(np.array(chrom, dtype=object), np.array(start), np.array(end), read_length,
                               np.array(names, dtype=object))  # fmt: skip
    n = write_bam_records(out_bam, sizes, records)
    return {"fragments": len(chrom), "dropped": dropped, "records": n}
