"""FASTA inputs of issue 17: a UTF-8 byte-order mark, IUPAC ambiguity codes, a stale ``.fai``.

A FASTA saved with a BOM reads like the same file without it (plain, gzip, bgzip; and through the
indexed copy the workflow makes); IUPAC codes become N with a warning that counts them; a ``.fai``
that does not describe its FASTA is an error naming it, in the library and the CLI.
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path

import numpy as np
import pysam
import pytest

from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.genome import (
    N_CODE,
    Genome,
    decode,
    fasta_index,
    fasta_sizes,
    prepare_fasta,
    read_fasta,
    write_code_cache,
    write_genome_sizes,
)
from cisflow.reads import load_genome_sizes

BOM = b"\xef\xbb\xbf"


def _seq(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


def _fasta_text(records: dict[str, str], width: int = 60) -> str:
    return "".join(f">{name} description\n" + "".join(s[i : i + width] + "\n" for i in range(0, len(s), width))
                   for name, s in records.items())  # fmt: skip


RECORDS = {"chr1": _seq(1000, 1), "chr2": _seq(500, 2), "chr10": _seq(130, 3)}


def _write(path: Path, data: bytes, kind: str) -> Path:
    if kind == "gzip":
        path.write_bytes(gzip.compress(data))
    elif kind == "bgzf":
        with pysam.libcbgzf.BGZFile(str(path), "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", ["none", "gzip", "bgzf"])
def test_a_fasta_with_a_byte_order_mark_reads_as_without(tmp_path, kind):
    suffix = "" if kind == "none" else ".gz"
    plain = _write(tmp_path / f"plain.fa{suffix}", _fasta_text(RECORDS).encode(), kind)
    bom = _write(tmp_path / f"bom.fa{suffix}", BOM + _fasta_text(RECORDS).encode(), kind)
    want = {name: decode(codes) for name, codes in read_fasta(plain).items()}
    assert {name: decode(codes) for name, codes in read_fasta(bom).items()} == want == RECORDS
    assert fasta_sizes(bom) == {name: len(s) for name, s in RECORDS.items()}
    out = tmp_path / "indexed" / ("genome.fa" + suffix)
    assert prepare_fasta(bom, out) == fasta_sizes(bom)
    assert not out.is_symlink()  # a copy without the mark (samtools cannot index one with it)
    genome = Genome.open(out)
    assert decode(genome.fetch("chr10", 0, 130)) == RECORDS["chr10"]
    write_code_cache(out, tmp_path / "codes.npy")
    assert decode(Genome.open(tmp_path / "codes.npy").fetch("chr2", 100, 200)) == RECORDS["chr2"][100:200]
    if kind == "none":
        assert load_genome_sizes(bom) == fasta_sizes(bom)


def test_iupac_codes_become_n_with_a_warning_that_counts_them(tmp_path, caplog):
    seq = list(RECORDS["chr1"])
    for i, code in zip(range(10, 400, 10), "RYKMSWBDHVRYKMSWBDHVRYKMSWBDHVRYKMSWBDH", strict=False):
        seq[i] = code
    seq[500] = "n"
    records = {**RECORDS, "chr1": "".join(seq)}
    path = tmp_path / "iupac.fa"
    path.write_text(_fasta_text(records))
    with caplog.at_level(logging.WARNING, logger="cisflow.genome"):
        codes = read_fasta(path)
    assert int((codes["chr1"] == N_CODE).sum()) == 40
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"{path}: 39 bases are not A, C, G, T or N (39 IUPAC ambiguity codes;" in warnings[0]
    assert "R 4" in warnings[0] and "max_n_fraction" in warnings[0]
    caplog.clear()
    out = tmp_path / "genome.fa"
    prepare_fasta(path, out)
    with caplog.at_level(logging.WARNING, logger="cisflow.genome"):
        write_code_cache(out, tmp_path / "codes.npy")
    assert "39 bases are not A, C, G, T or N" in caplog.text
    caplog.clear()
    (tmp_path / "clean.fa").write_text(_fasta_text(RECORDS))
    with caplog.at_level(logging.WARNING, logger="cisflow.genome"):
        read_fasta(tmp_path / "clean.fa")
    assert caplog.text == ""


@pytest.fixture
def indexed(tmp_path):
    fasta = tmp_path / "genome.fa"
    fasta.write_text(_fasta_text(RECORDS))
    pysam.faidx(str(fasta))
    return fasta


def _edit(fasta: Path, records: dict[str, str], width: int = 60) -> None:
    fasta.write_text(_fasta_text(records, width))


@pytest.mark.parametrize(
    ("records", "width"),
    [
        ({**RECORDS, "chr2": RECORDS["chr2"] + "ACGT"}, 60),  # a record grew
        ({**RECORDS, "chr1": RECORDS["chr1"][:-60]}, 60),  # one shrank by a whole line
        (RECORDS, 70),  # same sequence, other line width
        ({"chr1": RECORDS["chr1"], "chr10": RECORDS["chr10"], "chr2": RECORDS["chr2"]}, 60),  # reordered
        ({**RECORDS, "chrM": _seq(80, 4)}, 60),  # a record added at the end
    ],
    ids=["grown", "shrunk-by-a-line", "line-width", "reordered", "appended"],
)
def test_a_stale_index_is_an_error_naming_it(indexed, records, width):
    _edit(indexed, records, width)
    fai = f"{indexed}.fai"
    for call in (fasta_index, fasta_sizes, Genome.open, load_genome_sizes):
        with pytest.raises(CisflowError, match="stale FASTA index") as info:
            call(indexed)
        assert str(info.value).startswith(f"{fai}: stale FASTA index: ") and "samtools faidx" in str(info.value)
    with pytest.raises(CisflowError, match="stale FASTA index"):
        write_genome_sizes(indexed, indexed.parent / "sizes.txt")


def test_an_index_that_still_describes_its_fasta_is_used(indexed):
    """Same layout (a base changed, soft-masking): the index is right whatever the files' times."""
    old = os.stat(f"{indexed}.fai").st_mtime
    _edit(indexed, {**RECORDS, "chr2": RECORDS["chr2"][:100].lower() + "N" + RECORDS["chr2"][101:]})
    os.utime(f"{indexed}.fai", (old - 100, old - 100))
    assert fasta_index(indexed) == Path(f"{indexed}.fai")
    assert (
        decode(Genome.open(indexed).fetch("chr2", 99, 102)) == RECORDS["chr2"][99].upper() + "N" + RECORDS["chr2"][101]
    )


def test_a_compressed_fasta_newer_than_its_index(tmp_path):
    fasta = _write(tmp_path / "genome.fa.gz", _fasta_text(RECORDS).encode(), "bgzf")
    pysam.faidx(str(fasta))
    assert fasta_index(fasta) == Path(f"{fasta}.fai")
    later = os.stat(fasta).st_mtime + 100
    os.utime(fasta, (later, later))
    with pytest.raises(CisflowError, match=r"genome.fa.gz.(fai|gzi): stale FASTA index: older than"):
        Genome.open(fasta)


def test_the_cli_names_a_stale_index(indexed, capsys):
    _edit(indexed, {**RECORDS, "chr2": RECORDS["chr2"] + "ACGT"})
    peaks = indexed.parent / "peaks.narrowPeak"
    peaks.write_text("chr1\t100\t300\t.\t0\t.\t5\t10\t8\t100\n")
    out = indexed.parent / "out"
    code = main(["labels", "--conservative", f"TF={peaks}", "--genome", str(indexed), "--out", str(out / "l.npz")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"cisflow labels: error: {indexed}.fai: stale FASTA index: sequence 'chr2' does not end")
    assert not out.exists()
