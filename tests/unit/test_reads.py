"""Tests for cisflow.reads: filters on hand-made BAMs, Tn5 shifts, pseudo-replicates, bigWig, bad inputs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest

from cisflow import reads
from cisflow.cli import main
from cisflow.errors import CisflowError

SIZES = {"chr1": 1000, "chr2": 500}
SIZES_M = {"chr1": 1000, "chr2": 500, "chrM": 100}


def write_bam(path: Path, records: list[tuple], sizes: dict = SIZES_M, so: str | None = "coordinate", index=True):
    """Write records ``(name, flag, chrom, pos, length, mapq[, mate_pos, tlen])`` in the given order."""
    hd = {"VN": "1.6", **({"SO": so} if so else {})}
    header = pysam.AlignmentHeader.from_dict({"HD": hd, "SQ": [{"SN": c, "LN": n} for c, n in sizes.items()]})
    names = list(sizes)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for name, flag, chrom, pos, length, mapq, *mate in records:
            seg = pysam.AlignedSegment(header)
            seg.query_name, seg.flag, seg.mapping_quality = name, flag, mapq
            seg.reference_id = names.index(chrom) if chrom else -1
            seg.reference_start = pos
            if not flag & 4:
                seg.cigarstring = f"{length}M"
            if mate:
                seg.next_reference_id, seg.next_reference_start, seg.template_length = names.index(chrom), *mate
            out.write(seg)
    if index:
        pysam.index(str(path))
    return path


SE_RECORDS = [
    ("ok1", 0, "chr1", 100, 20, 60),
    ("sec", 256, "chr1", 110, 20, 60),
    ("sup", 2048, "chr1", 120, 20, 60),
    ("qc", 512, "chr1", 130, 20, 60),
    ("lowq", 0, "chr1", 140, 20, 10),
    ("dupflag", 1024, "chr1", 150, 20, 60),
    ("ok2", 16, "chr1", 200, 20, 60),
    ("posdup", 16, "chr1", 200, 20, 60),
    ("mito", 0, "chrM", 10, 20, 60),
    ("unmapped", 4, None, -1, 0, 0),
]


def read_lines(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as handle:
        return [line.split("\t") for line in handle.read().splitlines()]


@pytest.fixture
def se_bam(tmp_path):
    return write_bam(tmp_path / "se.bam", SE_RECORDS)


def test_se_filters_counts(se_bam, tmp_path):
    out = tmp_path / "o.tagAlign.gz"
    stats = reads.filter_reads(se_bam, SIZES, out, assay="chip")
    expected = {"records": 10, "secondary": 1, "supplementary": 1, "qcfail": 1, "low_mapq": 1, "duplicate_flag": 1}
    expected |= {"unmapped": 1, "dropped_chroms": {"chrM": 1}, "duplicate_position": 0, "kept": 3, "paired": False}
    assert {k: stats[k] for k in expected} == expected
    assert [r[3] for r in read_lines(out)] == ["ok1", "ok2", "posdup"]


@pytest.mark.parametrize(
    ("dedup", "kept"), [("position", ["ok1", "dupflag", "ok2"]), ("none", ["ok1", "dupflag", "ok2", "posdup"])]
)
def test_se_dedup_modes(se_bam, tmp_path, dedup, kept):
    out = tmp_path / "o.tagAlign.gz"
    stats = reads.filter_reads(se_bam, SIZES, out, assay="chip", dedup=dedup)
    assert [r[3] for r in read_lines(out)] == kept
    assert stats["duplicate_position"] == (1 if dedup == "position" else 0)
    assert stats["duplicate_flag"] == 0


def test_se_tn5_shift_exact(se_bam, tmp_path):
    out = tmp_path / "o.tagAlign"
    reads.filter_reads(se_bam, SIZES, out, assay="atac", min_mapq=0, dedup="none", drop_chroms=("chrM",))
    lines = {r[3]: r for r in (line.split("\t") for line in out.read_text().splitlines())}
    assert lines["ok1"][:3] == ["chr1", "104", "124"] and lines["ok1"][5] == "+"
    assert lines["ok2"][:3] == ["chr1", "195", "215"] and lines["ok2"][5] == "-"
    assert lines["lowq"][:3] == ["chr1", "144", "164"]
    chip = tmp_path / "c.tagAlign"
    reads.filter_reads(se_bam, SIZES, chip, assay="chip")
    assert chip.read_text().splitlines()[0].split("\t")[:3] == ["chr1", "100", "120"]
    reads.filter_reads(se_bam, SIZES, chip, assay="atac", tn5_shift=False)
    assert chip.read_text().splitlines()[0].split("\t")[:3] == ["chr1", "100", "120"]


PE_RECORDS = [
    ("A", 99, "chr1", 100, 20, 60, 250, 170),
    ("B", 99, "chr1", 100, 20, 60, 300, 220),
    ("Adup", 99, "chr1", 100, 20, 60, 250, 170),
    ("C", 65, "chr1", 120, 20, 60, 400, 300),
    ("D", 99, "chr1", 130, 20, 60, 260, 150),
    ("A", 147, "chr1", 250, 20, 60, 100, -170),
    ("Adup", 147, "chr1", 250, 20, 60, 100, -170),
    ("D", 147, "chr1", 260, 20, 5, 130, -150),
    ("B", 147, "chr1", 300, 20, 60, 100, -220),
    ("C", 129, "chr1", 400, 20, 60, 120, -300),
    ("M", 99, "chrM", 10, 20, 60, 60, 70),
    ("M", 147, "chrM", 60, 20, 60, 10, -70),
]


@pytest.fixture
def pe_bam(tmp_path):
    return write_bam(tmp_path / "pe.bam", PE_RECORDS)


def test_pe_pairs_fragments_and_shift(pe_bam, tmp_path):
    tag, frag = tmp_path / "o.tagAlign.gz", tmp_path / "o.frag.bed.gz"
    stats = reads.filter_reads(pe_bam, SIZES, tag, assay="atac", out_fragments=frag, dedup="position")
    assert stats["paired"] is True
    assert stats["not_proper_pair"] == 2 and stats["low_mapq"] == 1 and stats["mate_filtered"] == 1
    assert stats["dropped_chroms"] == {"chrM": 2}
    assert stats["duplicate_position"] == 1 and stats["kept"] == 2 and stats["kept_reads"] == 4
    assert read_lines(frag) == [["chr1", "104", "265", "A"], ["chr1", "104", "315", "B"]]
    assert read_lines(tag)[:2] == [["chr1", "104", "124", "A", "60", "+"], ["chr1", "245", "265", "A", "60", "-"]]


def test_pe_chip_no_shift_and_flag_dedup(pe_bam, tmp_path):
    frag = tmp_path / "f.bed"
    stats = reads.filter_reads(pe_bam, SIZES, tmp_path / "t.bed", assay="chip", out_fragments=frag)
    assert stats["kept"] == 3  # A, Adup (no flag) and B
    assert frag.read_text().splitlines()[0] == "chr1\t100\t270\tA"


def test_text_inputs(tmp_path):
    bed = tmp_path / "r.bed.gz"
    with gzip.open(bed, "wt") as h:
        h.write("chr1\t100\t120\tr1\t0\t+\nchr1\t200\t220\tr2\t0\t-\nchrM\t1\t5\tr3\t0\t+\n")
    stats = reads.filter_reads(bed, SIZES, tmp_path / "a.tagAlign", assay="atac")
    assert stats["kept"] == 2 and stats["dropped_chroms"] == {"chrM": 1}
    assert (tmp_path / "a.tagAlign").read_text().splitlines()[1] == "chr1\t195\t215\tr2\t0\t-"
    bedpe = tmp_path / "x.bedpe"
    bedpe.write_text("chr1\t100\t300\nchr1\t100\t300\nchr2\t10\t60\n")
    frag = tmp_path / "x.frag.bed"
    stats = reads.filter_reads(
        bedpe, SIZES, tmp_path / "b.tagAlign", assay="atac", out_fragments=frag, dedup="position"
    )
    assert stats["kept"] == 2 and stats["duplicate_position"] == 1
    assert frag.read_text().splitlines() == ["chr1\t104\t295\tx.1", "chr2\t14\t55\tx.3"]
    cuts = (tmp_path / "b.tagAlign").read_text().splitlines()[:2]
    assert [c.split("\t")[1:3] for c in cuts] == [["104", "105"], ["294", "295"]]
    frags = tmp_path / "y.fragments.tsv"
    frags.write_text("chr1\t104\t295\tf1\n")
    reads.filter_reads(frags, SIZES, tmp_path / "c.tagAlign", assay="atac", out_fragments=tmp_path / "c.bed")
    assert (tmp_path / "c.bed").read_text() == "chr1\t104\t295\tf1\n"


def test_pseudo_replicates_partition(tmp_path):
    rng = np.random.default_rng(1)
    tag = tmp_path / "t.tagAlign.gz"
    lines = []
    for i in range(400):
        s = int(rng.integers(0, 800))
        lines += [f"chr1\t{s}\t{s + 20}\tf{i}\t60\t+", f"chr1\t{s + 150}\t{s + 170}\tf{i}\t60\t-"]
    with gzip.open(tag, "wt") as h:
        h.write("\n".join(lines) + "\n")
    o1, o2 = tmp_path / "p1.tagAlign.gz", tmp_path / "p2.tagAlign.gz"
    n1, n2 = reads.pseudo_replicates(tag, o1, o2, seed=3)
    a, b = ["\t".join(r) for r in read_lines(o1)], ["\t".join(r) for r in read_lines(o2)]
    assert n1 == len(a) and n2 == len(b) and n1 == n2 == 400
    assert sorted(a + b) == sorted(lines)
    names_a, names_b = {x.split("\t")[3] for x in a}, {x.split("\t")[3] for x in b}
    assert not names_a & names_b
    reads.pseudo_replicates(tag, tmp_path / "q1.gz", tmp_path / "q2.gz", seed=3)
    assert read_lines(tmp_path / "q1.gz") == read_lines(o1)
    reads.pseudo_replicates(tag, tmp_path / "q1.gz", tmp_path / "q2.gz", seed=4)
    assert read_lines(tmp_path / "q1.gz") != read_lines(o1)


def test_pool_reads(tmp_path):
    (tmp_path / "a.bed").write_text("chr1\t1\t2\ta\t0\t+\n")
    with gzip.open(tmp_path / "b.bed.gz", "wt") as h:
        h.write("chr2\t3\t4\tb\t0\t-\n")
    assert reads.pool_reads([tmp_path / "a.bed", tmp_path / "b.bed.gz"], tmp_path / "p.gz") == 2
    assert [r[3] for r in read_lines(tmp_path / "p.gz")] == ["a", "b"]


def test_bigwig_hand_counts(tmp_path):
    tag = tmp_path / "t.tagAlign"
    tag.write_text(
        "chr1\t0\t20\ta\t0\t+\nchr1\t5\t25\tb\t0\t+\nchr1\t11\t31\tc\t0\t+\nchr1\t0\t20\td\t0\t-\nchr2\t490\t500\te\t0\t-\n"
    )
    bw_path = tmp_path / "s.bw"
    assert reads.signal_bigwig(tag, SIZES, bw_path, bin_size=10, normalize="none") == 5
    with pyBigWig.open(str(bw_path)) as bw:
        assert bw.intervals("chr1") == ((0, 10, 2.0), (10, 20, 2.0))  # cuts at 0, 5 | 11, 19
        assert bw.intervals("chr2") == ((490, 500, 1.0),)
    reads.signal_bigwig(tag, SIZES, bw_path, bin_size=10)
    with pyBigWig.open(str(bw_path)) as bw:
        assert bw.intervals("chr1")[0][2] == pytest.approx(2e6 / 5)
    frag = tmp_path / "f.bed"
    frag.write_text("chr1\t5\t25\tx\nchr1\t20\t30\ty\n")
    reads.signal_bigwig(frag, SIZES, bw_path, bin_size=10, normalize="none")
    with pyBigWig.open(str(bw_path)) as bw:
        assert bw.intervals("chr1") == ((0, 10, 1.0), (10, 20, 1.0), (20, 30, 2.0))


def test_bedpe_to_bam_round_trip(tmp_path):
    bedpe = tmp_path / "frags.bedpe.gz"
    with gzip.open(bedpe, "wt") as h:
        h.write("chr2\t10\t200\nchr1\t300\t330\nchr1\t50\t400\nchrQ\t1\t100\n")
    info = reads.bedpe_to_bam(bedpe, SIZES, tmp_path / "f.bam", read_length=50)
    assert info == {"fragments": 3, "dropped": {"chrQ": 1}, "records": 6}
    assert (tmp_path / "f.bam.bai").is_file()
    with pysam.AlignmentFile(str(tmp_path / "f.bam")) as bam:
        recs = [(r.reference_name, r.reference_start, r.flag, r.cigarstring, r.template_length) for r in bam]
    assert recs[0] == ("chr1", 50, 99, "50M", 350) and recs[1] == ("chr1", 300, 99, "30M", 30)
    frag = tmp_path / "back.bed"
    reads.filter_reads(tmp_path / "f.bam", SIZES, tmp_path / "t.bed", assay="chip", out_fragments=frag)
    assert sorted(frag.read_text().splitlines()) == ["chr1\t300\t330\tfrags.2", "chr1\t50\t400\tfrags.3",
                                                     "chr2\t10\t200\tfrags.1"]  # fmt: skip


# ---------------------------------------------------------------------------------------------- bad inputs


def assert_fails(tmp_path, reads_path, match, sizes=SIZES, **kw):
    out = tmp_path / "out" / "o.tagAlign.gz"
    with pytest.raises(CisflowError, match=match) as info:
        reads.filter_reads(reads_path, sizes, out, assay=kw.pop("assay", "chip"), **kw)
    assert str(reads_path) in str(info.value)
    assert not out.exists()
    assert not [p for p in (tmp_path / "out").glob("*")] if (tmp_path / "out").exists() else True


def test_chrom_name_mismatch(tmp_path):
    bam = write_bam(tmp_path / "n.bam", [("r", 0, "22", 5, 10, 60)], sizes={"22": 100})
    assert_fails(tmp_path, bam, r"22 \(genome has chr22", sizes={"chr22": 100})


def test_chrom_length_mismatch(tmp_path):
    bam = write_bam(tmp_path / "n.bam", [("r", 0, "chr1", 5, 10, 60)], sizes={"chr1": 999})
    assert_fails(tmp_path, bam, "999 bp in the BAM but 1000")


def test_unsorted_bam_with_and_without_so(tmp_path):
    recs = [("a", 0, "chr1", 500, 10, 60), ("b", 0, "chr1", 100, 10, 60)]
    bam = write_bam(tmp_path / "u1.bam", recs, so="unsorted", index=False)
    assert_fails(tmp_path, bam, "not coordinate-sorted .header SO:unsorted")
    bam = write_bam(tmp_path / "u2.bam", recs, so=None, index=False)
    assert_fails(tmp_path, bam, "not coordinate-sorted")
    assert not Path(f"{bam}.bai").exists()


def test_unsorted_caught_while_streaming(tmp_path, monkeypatch):
    recs = [("a", 0, "chr1", 100, 10, 60), ("b", 0, "chr1", 500, 10, 60), ("c", 0, "chr1", 200, 10, 60)]
    bam = write_bam(tmp_path / "u3.bam", sorted(recs, key=lambda r: r[3]), so=None)  # leaves a valid .bai
    write_bam(bam, recs, so=None, index=False)  # same name, now unsorted, stale index kept
    monkeypatch.setattr(reads, "_ORDER_PEEK", 1)
    assert_fails(tmp_path, bam, r"not coordinate-sorted \(at c\)")


def test_empty_corrupt_truncated_bam(tmp_path):
    empty = write_bam(tmp_path / "e.bam", [], index=False)
    assert_fails(tmp_path, empty, "no reads")
    junk = tmp_path / "j.bam"
    junk.write_bytes(b"this is not a bam file at all")
    assert_fails(tmp_path, junk, "not a BAM")
    good = write_bam(tmp_path / "g.bam", SE_RECORDS, index=False)
    cut = tmp_path / "cut.bam"
    cut.write_bytes(good.read_bytes()[:-40])
    assert_fails(tmp_path, cut, "truncated")


def test_truncated_gzip_bed(tmp_path):
    full = gzip.compress(("chr1\t100\t120\tr\t0\t+\n" * 5000).encode())
    bed = tmp_path / "t.bed.gz"
    bed.write_bytes(full[: len(full) // 2])
    assert_fails(tmp_path, bed, "truncated or corrupt")


def test_no_index_needed_nor_made(tmp_path):
    bam = write_bam(tmp_path / "i.bam", SE_RECORDS, index=False)
    reads.open_checked_bam(bam).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.bam"]


def test_option_errors(se_bam, tmp_path):
    assert_fails(tmp_path, se_bam, "fragments output needs paired-end", out_fragments=tmp_path / "out" / "f.bed")
    assert_fails(tmp_path, se_bam, "unknown dedup mode", dedup="maybe")
    assert_fails(tmp_path, se_bam, "unknown assay", assay="dnase")
    sam = tmp_path / "x.sam"
    sam.write_text("x")
    with pytest.raises(CisflowError, match="cannot infer the reads format"):
        reads.filter_reads(sam, SIZES, tmp_path / "o", assay="chip")


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_filter_and_bigwig(se_bam, tmp_path, capsys):
    sizes = tmp_path / "g.chrom.sizes"
    sizes.write_text("chr1\t1000\nchr2\t500\n")
    tag, stats = tmp_path / "o.tagAlign.gz", tmp_path / "s.json"
    argv = ["reads", "filter", str(se_bam), "--genome-sizes", str(sizes), "--assay", "chip", "--out", str(tag)]
    assert main([*argv, "--stats", str(stats)]) == 0
    assert json.loads(stats.read_text())["kept"] == 3
    assert main(["reads", "bigwig", str(tag), "--genome-sizes", str(sizes), "--out", str(tmp_path / "s.bw")]) == 0
    assert (tmp_path / "s.bw").is_file()
    assert (
        main(["reads", "pseudoreps", str(tag), "--out1", str(tmp_path / "1.gz"), "--out2", str(tmp_path / "2.gz")]) == 0
    )


def test_cli_error_exit_code(tmp_path, capsys):
    bam = write_bam(tmp_path / "n.bam", [("r", 0, "22", 5, 10, 60)], sizes={"22": 100})
    sizes = tmp_path / "g.chrom.sizes"
    sizes.write_text("chr22\t100\n")
    code = main(["reads", "filter", str(bam), "--genome-sizes", str(sizes), "--assay", "chip", "--out",
                 str(tmp_path / "o.gz")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "cisflow reads: error:" in err and "n.bam" in err and "chr22" in err
    assert len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------- bounded memory


def _random_se_bam(path: Path, rng: np.random.Generator, n: int = 3000) -> Path:
    """SE reads on two chromosomes with many position duplicates (same 5' end, different lengths)."""
    chrom = rng.choice(["chr1", "chr2"], n)
    start = rng.integers(0, 400, n)
    length = rng.integers(5, 40, n)
    flag = np.where(rng.random(n) < 0.5, 16, 0)
    recs = {"chrom": chrom, "start": start, "length": length, "flag": flag, "mapq": np.full(n, 60),
            "name": np.array([f"r{i}" for i in range(n)])}  # fmt: skip
    reads.write_bam_records(path, SIZES, recs)
    return path


def _brute_dedup(lines: list[list[str]], paired: bool) -> list[str]:
    """Names kept by a first-seen rule over the whole file: (chrom, 5' end, strand) or (chrom, start, end)."""
    seen, kept = set(), []
    step = 2 if paired else 1
    for i in range(0, len(lines), step):
        c, s, e, name, _, strand = lines[i]
        if paired:
            key = (c, s, lines[i + 1][2])
        else:
            key = (c, s if strand == "+" else e, strand)
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


@pytest.mark.parametrize("prune", [1, 4, 1 << 16])
def test_position_dedup_with_pruning_equals_whole_file_dedup(tmp_path, monkeypatch, prune):
    monkeypatch.setattr(reads, "_DEDUP_PRUNE", prune)
    rng = np.random.default_rng(prune)
    se = _random_se_bam(tmp_path / "se.bam", rng)
    reads.filter_reads(se, SIZES, tmp_path / "all.tag", assay="chip", min_mapq=0, dedup="none")
    stats = reads.filter_reads(se, SIZES, tmp_path / "dd.tag", assay="chip", min_mapq=0, dedup="position")
    every = [line.split("\t") for line in (tmp_path / "all.tag").read_text().splitlines()]
    kept = [line.split("\t")[3] for line in (tmp_path / "dd.tag").read_text().splitlines()]
    assert kept == _brute_dedup(every, paired=False) and stats["duplicate_position"] == len(every) - len(kept) > 500
    n = 2000
    start = rng.integers(0, 300, n)
    end = start + rng.choice([30, 60, 95], n)
    chrom = rng.choice(["chr1", "chr2"], n)
    names = np.array([f"f{i}" for i in range(n)])
    reads.write_bam_records(tmp_path / "pe.bam", SIZES, reads.fragment_records(chrom, start, end, 20, names))
    reads.filter_reads(tmp_path / "pe.bam", SIZES, tmp_path / "all.pe", assay="chip", dedup="none")
    stats = reads.filter_reads(tmp_path / "pe.bam", SIZES, tmp_path / "dd.pe", assay="chip", dedup="position")
    every = [line.split("\t") for line in (tmp_path / "all.pe").read_text().splitlines()]
    kept = [line.split("\t")[3] for line in (tmp_path / "dd.pe").read_text().splitlines()[::2]]
    assert kept == _brute_dedup(every, paired=True) and stats["duplicate_position"] == n - len(kept) > 100


def test_unsorted_text_is_deduplicated_whole_with_a_warning(tmp_path, monkeypatch, caplog):
    import logging

    monkeypatch.setattr(reads, "_DEDUP_PRUNE", 1)
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t300\t320\ta\t0\t+\nchr1\t100\t120\tb\t0\t+\nchr2\t5\t9\tc\t0\t-\nchr1\t300\t330\td\t0\t+\n"
                   "chr1\t100\t110\te\t0\t+\n")  # fmt: skip
    with caplog.at_level(logging.WARNING):
        stats = reads.filter_reads(bed, SIZES, tmp_path / "o.tag", assay="chip", dedup="position")
    assert [line.split("\t")[3] for line in (tmp_path / "o.tag").read_text().splitlines()] == ["a", "b", "c"]
    assert stats["duplicate_position"] == 2 and stats["records"] == 5
    assert "r.bed is not sorted by position (at chr1)" in caplog.text
    sorted_bed = tmp_path / "s.bed"
    sorted_bed.write_text("chr1\t100\t120\tb\t0\t+\nchr1\t100\t110\te\t0\t+\nchr1\t300\t320\ta\t0\t+\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        reads.filter_reads(sorted_bed, SIZES, tmp_path / "p.tag", assay="chip", dedup="position")
    assert "not sorted" not in caplog.text


def _old_pseudo_replicates(lines: list[str], seed: int) -> tuple[list[str], list[str]]:
    """The whole-file split (every name hash held in memory), as the streaming one must reproduce."""
    key = int(seed).to_bytes(8, "little", signed=True)
    names = [f[3] if f[3] not in ("N", ".") else f"\0{i + 1}" for i, f in enumerate(x.split("\t") for x in lines)]
    hashes = [reads._name_hash(n, key) for n in names]
    threshold = int(np.unique(np.array(hashes, dtype=np.uint64))[len(set(hashes)) // 2])
    pairs = list(zip(lines, hashes, strict=True))
    return [x for x, h in pairs if h < threshold], [x for x, h in pairs if h >= threshold]


@pytest.mark.parametrize(("shift", "batch"), [(58, 5), (62, 1), (48, 1 << 18)])
def test_streamed_pseudo_replicates_equal_the_whole_file_split(tmp_path, monkeypatch, shift, batch):
    monkeypatch.setattr(reads, "_BUCKET_SHIFT", shift)
    monkeypatch.setattr(reads, "_BATCH", batch)
    rng = np.random.default_rng(shift)
    lines = []
    for i in range(301):
        s = int(rng.integers(0, 900))
        if i % 3:
            lines += [f"chr1\t{s}\t{s + 20}\tf{i}\t60\t+", f"chr1\t{s + 50}\t{s + 70}\tf{i}\t60\t-"]
        else:
            lines.append(f"chr2\t{s % 400}\t{s % 400 + 20}\tN\t0\t+")
    tag = tmp_path / "t.tagAlign.gz"
    with gzip.open(tag, "wt") as h:
        h.write("\n".join(lines) + "\n")
    n1, n2 = reads.pseudo_replicates(tag, tmp_path / "a.gz", tmp_path / "b.gz", seed=11)
    want = _old_pseudo_replicates(lines, 11)
    got = ["\t".join(r) for r in read_lines(tmp_path / "a.gz")], ["\t".join(r) for r in read_lines(tmp_path / "b.gz")]
    assert got == want and (n1, n2) == (len(want[0]), len(want[1]))
    assert not list(tmp_path.glob(".pseudoreps.*"))


@pytest.mark.parametrize("stranded", [True, False])
def test_bigwig_counts_equal_brute_force(tmp_path, stranded):
    rng = np.random.default_rng(int(stranded))
    start = rng.integers(300, 990, 400)
    end = np.minimum(start + rng.integers(1, 60, 400), 1000)
    strand = rng.choice(["+", "-"], 400)
    path = tmp_path / ("t.tagAlign" if stranded else "f.bed")
    triples = list(zip(start, end, strand, strict=True))
    rows = [f"chr1\t{s}\t{e}\tr{i}" + (f"\t0\t{d}" if stranded else "") for i, (s, e, d) in enumerate(triples)]
    path.write_text("\n".join(rows) + "\n")
    reads.signal_bigwig(path, SIZES, tmp_path / "s.bw", bin_size=10, normalize="none")
    want = np.zeros(100)
    for s, e, d in triples:
        if stranded:
            want[(e - 1 if d == "-" else s) // 10] += 1
        else:
            want[s // 10 : (e - 1) // 10 + 1] += 1
    with pyBigWig.open(str(tmp_path / "s.bw")) as bw:
        got = np.nan_to_num(np.array(bw.stats("chr1", 0, 1000, type="mean", nBins=100), dtype=float))
    np.testing.assert_array_equal(got, want)
