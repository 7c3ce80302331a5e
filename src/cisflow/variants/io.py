"""Variant files in and out: VCF / VCF.gz / BCF (through pysam) and variant-scorer's ``chrombpnet`` TSV.

Readers yield :class:`Record` s, one per VCF line or TSV row, checked as they stream:

- a compressed VCF or a BCF must be bgzip-compressed and indexed (``.tbi`` / ``.csi``), so its
  chromosomes are known before anything is scored; VCF records must be sorted (chromosomes
  contiguous, positions non-decreasing within one);
- a line htslib cannot parse, a POS below 1 or an allele that is not DNA is a one-line
  CisflowError naming the file and the line.

The ``chrombpnet`` TSV has five tab-separated columns without a header (``chr pos allele1 allele2
variant_id``, 1-based ``pos``, ``-`` for an empty allele), in any order; ``#`` lines are skipped.

Writers stream to temporary names beside their targets (:class:`TextSink`), renamed into place only
when the whole run succeeded.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.io import atomic_path, open_text
from cisflow.variants.alleles import check_allele_text

log = logging.getLogger(__name__)

VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
TSV_COLUMNS = ("chr", "pos", "allele1", "allele2", "variant_id")
_GZIP_MAGIC = b"\x1f\x8b"


class Record(NamedTuple):
    """One input record: a VCF line (``raw`` its pysam record) or a TSV row (``raw`` None)."""

    index: int
    chrom: str
    pos: int
    id: str
    ref: str
    alts: tuple[str, ...]
    raw: Any = None


def input_format(path: str | Path) -> str:
    """``vcf`` or ``tsv``: by suffix (``.vcf``, ``.vcf.gz``, ``.vcf.bgz``, ``.bcf``: VCF), else by content."""
    name = str(path).lower()
    if name.endswith(VCF_SUFFIXES):
        return "vcf"
    with open_text(path) as handle:
        try:
            first = handle.readline()
        except (OSError, UnicodeDecodeError, EOFError):
            return "vcf"
    return "vcf" if first.startswith("##fileformat=VCF") else "tsv"


@contextlib.contextmanager
def _quiet_htslib() -> Iterator[None]:
    """htslib's own warnings off (they go to stderr, outside logging) for the block; restored after."""
    import pysam

    old = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(old)


def _compression(path: Path) -> str:
    """``none``, ``gzip`` (plain) or ``bgzf`` from the first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    if not head.startswith(_GZIP_MAGIC):
        return "none"
    # BGZF: FEXTRA set and an extra subfield 'BC'
    return "bgzf" if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC" else "gzip"


def _check_compressed(path: Path) -> None:
    """A compressed VCF / a BCF must be bgzip-compressed and have an index beside it."""
    kind = _compression(path)
    if kind == "gzip":
        why = "gzip- but not bgzip-compressed, so it cannot be indexed: recompress it with bgzip and index it"
        raise CisflowError(f"{why} with tabix -p vcf (or bcftools view -Oz, then bcftools index -t)", path)
    if kind == "bgzf" and not any(Path(f"{path}{s}").is_file() for s in (".tbi", ".csi")):
        why = "not indexed (no .tbi or .csi beside it): index it with bcftools index -t"
        raise CisflowError(f"{why} (after bcftools sort if it is unsorted)", path)


class VcfReader:
    """Records of a VCF / VCF.gz / BCF, checked as they stream (see the module docstring).

    Parameters
    ----------
    path
        The variant file.
    """

    def __init__(self, path: str | Path) -> None:
        import pysam

        self.path = require_file(path, "variant file")
        _check_compressed(self.path)
        try:
            with _quiet_htslib():
                self._vf = pysam.VariantFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise CisflowError(f"not a readable VCF or BCF file ({exc})", self.path) from exc
        self.is_bcf = self._vf.is_bcf
        self.header_text = str(self._vf.header)
        self._n_header = 0 if self.is_bcf else _header_lines(self.path)

    def contigs(self) -> list[str] | None:
        """Chromosomes holding records, from the index (None without one)."""
        index = self._vf.index
        return None if index is None else [str(c) for c in index]

    def close(self) -> None:
        """Close the file."""
        self._vf.close()

    def __enter__(self) -> VcfReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _where(self, index: int) -> str:
        """``line N`` of a text VCF, ``record N`` of a BCF."""
        return f"record {index + 1}" if self.is_bcf else f"line {self._n_header + index + 1}"

    def _raw_line(self, index: int) -> str:
        """The text of record ``index`` (empty for a BCF or an unreadable file)."""
        if self.is_bcf:
            return ""
        try:
            with open_text(self.path) as handle:
                line = next(itertools.islice(handle, self._n_header + index, None), "")
        except (OSError, UnicodeDecodeError, EOFError):
            return ""
        return line.rstrip("\n")[:120]

    def _malformed(self, index: int, why: str | None) -> CisflowError:
        text = self._raw_line(index)
        why = why or _diagnose(text) or "htslib cannot parse it"
        shown = f": {text!r}" if text else ""
        return CisflowError(f"{self._where(index)}: malformed VCF record ({why}){shown}", self.path)

    def __iter__(self) -> Iterator[Record]:
        order = _SortCheck(self)
        records = iter(self._vf)
        for index in itertools.count():
            try:
                with _quiet_htslib():
                    rec = next(records)
            except StopIteration:
                return
            except (OSError, ValueError) as exc:
                raise self._malformed(index, None) from exc
            record = self._record(index, rec)
            order.check(record)
            yield record

    def _record(self, index: int, rec: Any) -> Record:
        """Check one pysam record and wrap it."""
        if rec.pos < 1:
            raise self._malformed(index, f"POS {rec.pos} is below 1")
        alts = tuple(rec.alts or (".",))
        try:
            check_allele_text(rec.ref, "REF", symbolic_ok=False)
            for alt in alts:
                check_allele_text(alt, "ALT", symbolic_ok=True)
        except CisflowError as exc:
            raise self._malformed(index, str(exc)) from None
        return Record(index, str(rec.chrom), int(rec.pos), rec.id or ".", rec.ref, alts, rec)


def _header_lines(path: Path) -> int:
    """Lines before the first record of a text VCF (plain or bgzip)."""
    count = 0
    with open_text(path) as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            count += 1
    return count


def _diagnose(line: str) -> str | None:
    """What is wrong with a VCF data line htslib refused, when it is one of the usual faults."""
    fields = line.split("\t")
    if len(fields) < 8:
        return f"{len(fields)} tab-separated columns, VCF needs at least 8"
    if not fields[1].isdigit():
        return f"POS {fields[1]!r} is not a positive integer"
    return None


class _SortCheck:
    """Chromosomes contiguous and positions non-decreasing within each, or a CisflowError."""

    def __init__(self, reader: VcfReader) -> None:
        self.reader, self.done, self.chrom, self.pos = reader, set(), None, 0

    def check(self, record: Record) -> None:
        if record.chrom != self.chrom:
            if record.chrom in self.done:
                self._unsorted(record, f"{record.chrom} appears again after {self.chrom}")
            if self.chrom is not None:
                self.done.add(self.chrom)
            self.chrom, self.pos = record.chrom, 0
        if record.pos < self.pos:
            self._unsorted(record, f"{record.chrom}:{record.pos} comes after {record.chrom}:{self.pos}")
        self.pos = record.pos

    def _unsorted(self, record: Record, why: str) -> None:
        where = self.reader._where(record.index)
        hint = "sort it with bcftools sort (and index it with bcftools index -t)"
        raise CisflowError(f"{where}: not sorted ({why}); {hint}", self.reader.path)


class TsvReader:
    """Rows of a variant-scorer ``chrombpnet`` TSV (``chr pos allele1 allele2 variant_id``), checked as they stream."""

    header_text = None
    is_bcf = False

    def __init__(self, path: str | Path) -> None:
        self.path = require_file(path, "variant file")

    def contigs(self) -> None:
        """Unknown until read (rows may come in any order)."""
        return None

    def close(self) -> None:
        """Nothing held open between iterations."""

    def __enter__(self) -> TsvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Record]:
        index = 0
        try:
            with open_text(self.path) as handle:
                for number, line in enumerate(handle, start=1):
                    fields = line.rstrip("\r\n").split("\t")
                    if not line.strip() or line.startswith("#") or (index == 0 and fields[1:2] == ["pos"]):
                        continue
                    yield self._row(index, number, fields)
                    index += 1
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise CisflowError(
                f"cannot read ({exc.__class__.__name__}: {exc}); truncated or corrupt?", self.path
            ) from exc

    def _row(self, index: int, number: int, fields: list[str]) -> Record:
        """Check one row (line ``number``) and wrap it."""

        def bad(why: str) -> CisflowError:
            return CisflowError(f"line {number}: malformed variant row ({why})", self.path)

        if len(fields) != len(TSV_COLUMNS):
            raise bad(f"expected {len(TSV_COLUMNS)} tab-separated columns {' '.join(TSV_COLUMNS)}, found {len(fields)}")
        chrom, pos, ref, alt, vid = (f.strip() for f in fields)
        if not re.fullmatch(r"[0-9]+", pos) or int(pos) < 1:
            raise bad(f"pos {pos!r} is not a positive integer")
        ref, alt = ("" if a == "-" else a for a in (ref, alt))
        for allele, what in ((ref, "allele1"), (alt, "allele2")):
            if allele:
                try:
                    check_allele_text(allele, what, symbolic_ok=False)
                except CisflowError as exc:
                    raise bad(str(exc)) from None
        return Record(index, chrom, int(pos), vid or ".", ref, (alt,))


def open_variants(path: str | Path, fmt: str | None = None) -> VcfReader | TsvReader:
    """A reader for ``path``: ``fmt`` ``vcf`` or ``tsv`` (None: :func:`input_format`)."""
    path = require_file(path, "variant file")
    fmt = fmt or input_format(path)
    if fmt not in ("vcf", "tsv"):
        raise CisflowError(f"unknown variant format {fmt!r} (use vcf or tsv)", path)
    return VcfReader(path) if fmt == "vcf" else TsvReader(path)


# ---------------------------------------------------------------------------------------------- writers


class TextSink:
    """Lines written to a temporary file beside ``path`` (bgzip-compressed when it ends in ``.gz``).

    Use inside a :class:`contextlib.ExitStack` with :meth:`enter`: the file is renamed to ``path`` when the
    stack closes without an error and removed otherwise.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle: IO[bytes] | None = None

    def enter(self, stack: contextlib.ExitStack) -> TextSink:
        """Open the temporary file; its rename (or removal) is registered on ``stack``."""
        import pysam

        tmp = stack.enter_context(atomic_path(self.path))
        bgzf = str(self.path).endswith(".gz")
        self._handle = stack.enter_context(pysam.BGZFile(str(tmp), "wb") if bgzf else open(tmp, "wb"))
        return self

    def write(self, text: str) -> None:
        """Append ``text`` (UTF-8)."""
        self._handle.write(text.encode("utf-8"))

    def write_table(self, table: pd.DataFrame, header: bool) -> None:
        """Append a DataFrame as TSV rows (``%.7g`` floats, NA for NaN)."""
        self.write(table.to_csv(sep="\t", index=False, header=header, float_format="%.7g", na_rep="NA"))


def info_key(name: str, task: str | None = None) -> str:
    """An INFO key ``CFV_<NAME>[_<task>]`` (characters VCF does not allow in a key become ``_``)."""
    key = f"CFV_{name.upper()}" + ("" if task is None else f"_{task}")
    return re.sub(r"[^0-9A-Za-z_.]", "_", key)


def info_header(effects: Sequence[str], tasks: Sequence[str], descriptions: Mapping[str, str]) -> list[str]:
    """``##INFO`` lines: ``CFV_STATUS`` and one Float per effect score and task (all ``Number=A``)."""
    status = "scored, or why the allele was not (ref_mismatch, symbolic, n_allele, no_change, long_indel)"
    lines = [f'##INFO=<ID=CFV_STATUS,Number=A,Type=String,Description="cisflow variants: {status}">']
    for name in effects:
        for task in tasks:
            what = f"cisflow variants: {descriptions.get(name, name)} (task {task})".replace('"', "'")
            lines.append(f'##INFO=<ID={info_key(name, task)},Number=A,Type=Float,Description="{what}">')
    return lines


def _format(value: float) -> str:
    return "." if not np.isfinite(value) else f"{value:.6g}"


def info_fields(status: Sequence[str], values: Mapping[str, np.ndarray], tasks: Sequence[str]) -> str:
    """INFO text of one record: ``CFV_STATUS`` per ALT, then each effect ``(n_alts, T)`` per task (``.``: unscored)."""
    parts = ["CFV_STATUS=" + ",".join(status)]
    for name, array in values.items():
        for t, task in enumerate(tasks):
            parts.append(f"{info_key(name, task)}=" + ",".join(_format(v) for v in array[:, t]))
    return ";".join(parts)


def add_info(line: str, info: str) -> str:
    """A VCF data line (no newline) with ``info`` appended to its INFO column."""
    fields = line.split("\t")
    if len(fields) < 8:
        fields += ["."] * (8 - len(fields))
    fields[7] = info if fields[7] in ("", ".") else f"{fields[7]};{info}"
    return "\t".join(fields)


def vcf_header(header_text: str | None, contigs: Mapping[str, int], extra: Sequence[str]) -> str:
    """The annotated VCF's header: the input's plus ``extra`` before ``#CHROM`` (or a new one with ``contigs``)."""
    if header_text is None:
        lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
        lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    else:
        lines = header_text.rstrip("\n").split("\n")
    return "\n".join([*lines[:-1], *extra, lines[-1]]) + "\n"


# ---------------------------------------------------------------------------------------------- motif hits

HIT_COLUMNS = ("chrom", "genome_start", "genome_end", "pattern", "strand")


class MotifHits:
    """Motif hits in genome coordinates (the motif stage's hits TSV) for overlap look-ups.

    Parameters
    ----------
    path
        TSV with at least ``chrom genome_start genome_end pattern strand`` (0-based half-open), and
        optionally ``jaspar`` (the pattern's known-motif label). A table without genome coordinates
        (the simulation track's, whose regions are whole sequences) uses ``region start end``.
    """

    def __init__(self, path: str | Path) -> None:
        path = require_file(path, "motif hits table")
        try:
            table = pd.read_csv(path, sep="\t", dtype={"chrom": str, "region": str, "pattern": str, "jaspar": str})
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise CisflowError(f"cannot read motif hits ({exc})", path) from exc
        if "chrom" not in table and {"region", "start", "end"} <= set(table.columns):
            table = table.assign(chrom=table["region"], genome_start=table["start"], genome_end=table["end"])
        missing = [c for c in HIT_COLUMNS if c not in table.columns]
        if missing:
            need = "chrom genome_start genome_end pattern strand, or region start end pattern strand"
            raise CisflowError(f"motif hits table lacks column(s) {', '.join(missing)} (needs {need})", path)
        label = table["jaspar"].fillna("").astype(str) if "jaspar" in table else pd.Series("", index=table.index)
        names = table["pattern"].astype(str) + np.where(label != "", "=" + label.str.split(" ").str[0], "")
        table = table.assign(name=names + "(" + table["strand"].astype(str) + ")").sort_values(
            ["chrom", "genome_start"]
        )
        self._by_chrom = {
            str(c): (g["genome_start"].to_numpy(np.int64), g["genome_end"].to_numpy(np.int64), g["name"].to_numpy(str))
            for c, g in table.groupby("chrom", sort=False)
        }
        self._longest = int((table["genome_end"] - table["genome_start"]).max()) if len(table) else 0

    def overlapping(self, chrom: str, start: int, end: int) -> str:
        """Names (``pattern=label(strand)``, comma-separated) of hits overlapping ``[start, end)``; ``""`` if none."""
        if chrom not in self._by_chrom:
            return ""
        starts, ends, names = self._by_chrom[chrom]
        lo = np.searchsorted(starts, start - self._longest, side="left")
        hi = np.searchsorted(starts, max(end, start + 1), side="left")
        hit = (ends[lo:hi] > start) & (starts[lo:hi] < max(end, start + 1))
        return ",".join(names[lo:hi][hit])


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` if the block succeeds, else is removed."""
    import os
    import shutil
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
