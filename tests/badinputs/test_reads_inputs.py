"""Reads inputs of issue 17: a replicate with no usable reads, unindexed BAMs on storage not ours, CRAM.

A replicate whose reads all fail the filters is an error naming the file and the filters that took
them (before MACS3 sees an empty file); a BAM is streamed without an index, so nothing is written
beside it; a CRAM is read with the reference it was made against, or refused saying how to convert it.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pysam
import pytest

from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.reads import filter_reads

SIZES = {"chr1": 5000, "chr2": 3000}


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("genome")
    rng = np.random.default_rng(0)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in SIZES.items()}
    for name, records in (("ref", seqs), ("other", {c: s[::-1] for c, s in seqs.items()})):
        path = d / f"{name}.fa"
        path.write_text("".join(f">{c}\n" + "".join(s[i : i + 60] + "\n" for i in range(0, len(s), 60))
                                for c, s in records.items()))  # fmt: skip
        pysam.faidx(str(path))
    (d / "sizes").write_text("".join(f"{c}\t{n}\n" for c, n in SIZES.items()))
    return {"dir": d, "seqs": seqs, "ref": d / "ref.fa", "other": d / "other.fa", "sizes": d / "sizes"}


def _bam(path: Path, seqs: dict, n: int = 50, flag: int = 0, mapq: int = 60, paired: bool = False) -> Path:
    """Reads with their true sequence on chr1 (a pair per two records when ``paired``)."""
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": len(s)} for c, s in seqs.items()]}
    starts = np.sort(np.random.default_rng(1).integers(0, 4900, n))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, start in enumerate(starts.tolist()):
            seg = pysam.AlignedSegment(out.header)
            seg.query_name, seg.flag, seg.reference_id = f"r{i // 2 if paired else i}", flag, 0
            seg.reference_start, seg.mapping_quality, seg.cigarstring = start, mapq, "36M"
            seg.query_sequence = seqs["chr1"][start : start + 36]
            seg.query_qualities = pysam.qualitystring_to_array("I" * 36)
            out.write(seg)
    return path


def _cli_fails(capsys, argv: list, *needles: str) -> str:
    code = main([str(a) for a in argv])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


@pytest.mark.parametrize(
    ("flag", "mapq", "needle"),
    [
        (0, 5, "of 50 records: 50 MAPQ below 30 (reads.min_mapq)"),
        (4, 0, "of 50 records: 50 unmapped"),
        (65, 60, "of 50 records: 50 not in a proper pair"),  # read 1 of pairs, no proper-pair flag
        (99, 60, "of 50 records: 50 mate filtered out or missing"),  # proper pairs whose mates are absent
    ],
    ids=["low-mapq", "unmapped", "read1-only", "mates-missing"],
)
def test_a_replicate_with_no_usable_reads_is_an_error_naming_it(tmp_path, capsys, genome, flag, mapq, needle):
    bam = _bam(tmp_path / "rep1.bam", genome["seqs"], flag=flag, mapq=mapq)
    out = tmp_path / "out"
    line = _cli_fails(capsys, ["reads", "filter", bam, "--genome-sizes", genome["sizes"], "--assay", "chip",
                               "--out", out / "t.tagAlign.gz", "--stats", out / "s.json"], needle)  # fmt: skip
    assert line.startswith(f"cisflow reads: error: {bam}: no reads passed the filters (")
    assert not out.exists() or not list(out.iterdir())


def test_an_unindexed_bam_is_streamed_and_nothing_is_written_beside_it(tmp_path, genome):
    folder = tmp_path / "storage"
    folder.mkdir()
    bam = _bam(folder / "rep1.bam", genome["seqs"])
    before = (sorted(folder.iterdir()), folder.stat().st_mtime_ns)
    folder.chmod(0o555)  # read-only storage (root may still write: the listing is what counts)
    try:
        stats = filter_reads(bam, genome["sizes"], tmp_path / "t.tagAlign", assay="chip")
    finally:
        folder.chmod(0o755)
    assert stats["kept"] == 50
    assert (sorted(folder.iterdir()), folder.stat().st_mtime_ns) == before


@pytest.fixture
def cram(tmp_path, genome) -> dict:
    bam = _bam(tmp_path / "rep1.bam", genome["seqs"])
    out = tmp_path / "rep1.cram"
    pysam.view("-C", "-T", str(genome["ref"]), "-o", str(out), str(bam), catch_stdout=False)
    return {"bam": bam, "cram": out}


def test_a_cram_is_read_with_its_reference(tmp_path, genome, cram):
    want = filter_reads(cram["bam"], genome["sizes"], tmp_path / "from_bam.tagAlign", assay="chip")
    got = filter_reads(cram["cram"], genome["sizes"], tmp_path / "from_cram.tagAlign", assay="chip",
                       reference=genome["ref"])  # fmt: skip
    assert got["kept"] == want["kept"] == 50
    assert (tmp_path / "from_cram.tagAlign").read_text() == (tmp_path / "from_bam.tagAlign").read_text()
    renamed = tmp_path / "looks_like.bam"  # told apart by its contents, not its name
    renamed.write_bytes(cram["cram"].read_bytes())
    filter_reads(renamed, genome["sizes"], tmp_path / "renamed.tagAlign", assay="chip", reference=genome["ref"])
    assert (tmp_path / "renamed.tagAlign").read_text() == (tmp_path / "from_bam.tagAlign").read_text()


def test_a_cram_through_the_cli(tmp_path, capsys, genome, cram):
    out = tmp_path / "out"
    argv = ["reads", "filter", cram["cram"], "--genome-sizes", genome["sizes"], "--assay", "chip",
            "--out", out / "t.tagAlign.gz"]  # fmt: skip
    _cli_fails(capsys, argv, str(cram["cram"]), "a CRAM is read with the reference FASTA",
               "samtools view -b -T REF.fa -o reads.bam reads.cram")  # fmt: skip
    assert not out.exists() or not list(out.iterdir())
    assert main([str(a) for a in [*argv, "--reference", genome["ref"]]]) == 0
    assert len(gzip.decompress((out / "t.tagAlign.gz").read_bytes()).splitlines()) == 50


def test_a_cram_with_another_reference_or_truncated(tmp_path, genome, cram):
    out = tmp_path / "out" / "t.tagAlign"
    with pytest.raises(CisflowError, match=r"cannot decode the CRAM .* is it the FASTA the CRAM was made against"):
        filter_reads(cram["cram"], genome["sizes"], out, assay="chip", reference=genome["other"])
    assert not out.parent.exists() or not list(out.parent.iterdir())
    cut = tmp_path / "cut.cram"
    cut.write_bytes(cram["cram"].read_bytes()[:-38])
    with pytest.raises(CisflowError, match="CRAM is truncated"):
        filter_reads(cut, genome["sizes"], out, assay="chip", reference=genome["ref"])
