import gzip

import numpy as np
import pytest

from cisflow import genome as genome_mod
from cisflow.errors import CisflowError
from cisflow.genome import (
    Genome,
    check_same_chroms,
    decode,
    encode,
    fasta_compression,
    gc_fraction,
    indexed_fasta_name,
    non_n_bases,
    one_hot,
    one_hot_to_codes,
    open_code_cache,
    prepare_fasta,
    read_chrom_sizes,
    read_fasta,
    reverse_complement,
    reverse_complement_codes,
    select_chroms,
    write_code_cache,
    write_fasta,
    write_genome_sizes,
)


def test_encode_decode_and_soft_mask():
    codes = encode("ACGTNacgtRn")
    assert codes.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4]
    assert decode(codes) == "ACGTNACGTNN"


def test_one_hot_known_answer_and_inverse():
    x = one_hot(encode("ACGTN"))
    expected = np.array(
        [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0]],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(x, expected)
    batch = one_hot(np.stack([encode("AACG"), encode("TTNA")]))
    assert batch.shape == (2, 4, 4)
    np.testing.assert_array_equal(one_hot_to_codes(batch), [[0, 0, 1, 2], [3, 3, 4, 0]])


def test_reverse_complement_one_hot_matches_codes():
    codes = encode("AACGTN")
    assert decode(reverse_complement_codes(codes)) == "NACGTT"
    np.testing.assert_array_equal(reverse_complement(one_hot(codes)), one_hot(reverse_complement_codes(codes)))


def test_gc_fraction_ignores_n():
    assert gc_fraction(encode("GGCCNNAT"))[()] == pytest.approx(4 / 6)
    assert np.isnan(gc_fraction(encode("NNN")))


def test_fasta_round_trip_gz_and_fetch_padding(tmp_path):
    path = tmp_path / "g.fa.gz"
    write_fasta(path, [("chr1", "ACGTACGTAC"), ("chr2", "ggnn")], width=4)
    genome = Genome.from_fasta(path)
    assert genome.sizes == {"chr1": 10, "chr2": 4}
    assert decode(genome.fetch("chr2", 0, 4)) == "GGNN"
    assert decode(genome.fetch("chr1", -2, 3)) == "NNACG"
    assert decode(genome.fetch("chr1", 8, 12)) == "ACNN"
    windows = genome.fetch_many(np.array(["chr1", "chr2"]), np.array([0, 2]), 3)
    assert [decode(w) for w in windows] == ["ACG", "NNN"]


def test_fasta_errors(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text("ACGT\n")
    with pytest.raises(CisflowError, match=r"bad.fa: not a FASTA"):
        read_fasta(bad)
    dup = tmp_path / "dup.fa"
    dup.write_text(">a\nAC\n>a\nGT\n")
    with pytest.raises(CisflowError, match="duplicate sequence name 'a'"):
        read_fasta(dup)
    trunc = tmp_path / "trunc.fa.gz"
    seq = "".join(np.random.default_rng(0).choice(list("ACGT"), 5000)).encode()
    whole = gzip.compress(b">a\n" + seq + b"\n")
    trunc.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CisflowError, match=r"trunc.fa.gz: cannot read"):
        read_fasta(trunc)
    with pytest.raises(CisflowError, match="does not exist"):
        read_fasta(tmp_path / "missing.fa")


def test_chrom_name_mismatch_names_both_sides():
    with pytest.raises(CisflowError, match=r"reads.bam: .*genome.fa: 22 \(genome has chr22\)"):
        check_same_chroms(["22"], ["chr22"], "reads.bam", "genome.fa")
    check_same_chroms(["chr22"], ["chr22", "chr1"], "reads.bam", "genome.fa")


def test_write_genome_sizes_and_non_n_bases(tmp_path):
    write_fasta(tmp_path / "g.fa", [("chrA", "ACGTNNNNac"), ("chrB", "NNNN"), ("chrC", "acgtn")])
    sizes = write_genome_sizes(tmp_path / "g.fa", tmp_path / "sizes", tmp_path / "non_n")
    assert sizes == {"chrA": 10, "chrB": 4, "chrC": 5}
    assert read_chrom_sizes(tmp_path / "sizes") == sizes
    assert (tmp_path / "non_n").read_text() == "10\n"  # 6 + 0 + 4 (soft-masked bases count, N does not)


def test_chrom_sizes_reader(tmp_path):
    path = tmp_path / "sizes"
    path.write_text("chr1\t100\nchr2\t50\n")
    assert read_chrom_sizes(path) == {"chr1": 100, "chr2": 50}
    path.write_text("chr1\tabc\n")
    with pytest.raises(CisflowError, match="line 1"):
        read_chrom_sizes(path)


# ----------------------------------------------------------------------------------------------
# streaming FASTA, indexed copies, code cache, chromosome rule

_RECORDS = [("chr1", "ACGTNacgtnRYKM" * 7 + "GA"), ("chr2 some description", "ggccAATT"), ("chrUn_x", "n" * 5 + "A")]


def _truth():
    return {name.split()[0]: encode(seq) for name, seq in _RECORDS}


def _bgzip(src, out):
    import pysam

    pysam.tabix_compress(str(src), str(out), force=True)


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_streaming_fasta_parse_is_independent_of_chunk_size(tmp_path, monkeypatch, chunk):
    path = tmp_path / "g.fa.gz"
    write_fasta(path, _RECORDS, width=9)
    monkeypatch.setattr(genome_mod, "_CHUNK", chunk)
    seqs = read_fasta(path)
    assert list(seqs) == ["chr1", "chr2", "chrUn_x"]
    for name, codes in _truth().items():
        np.testing.assert_array_equal(seqs[name], codes)


def test_fasta_with_leading_blank_lines_and_crlf(tmp_path):
    path = tmp_path / "g.fa"
    path.write_bytes(b"\n\n>a x\r\nAC\r\ngt\r\n>b\r\nNN\r\n")
    seqs = read_fasta(path)
    assert decode(seqs["a"]) == "ACGT" and decode(seqs["b"]) == "NN"
    empty = tmp_path / "empty.fa"
    empty.write_text(">a\n>b\nAC\n")
    with pytest.raises(CisflowError, match="sequence 'a' is empty"):
        read_fasta(empty)


@pytest.mark.parametrize("kind", ["none", "gzip", "bgzf"])
def test_prepare_fasta_indexes_every_kind_and_matches_the_text(tmp_path, kind):
    plain = tmp_path / "in.fa"
    write_fasta(plain, _RECORDS, width=10)
    src = {"none": plain, "gzip": tmp_path / "in.fa.gz", "bgzf": tmp_path / "in.bgz.fa.gz"}[kind]
    if kind == "gzip":
        write_fasta(src, _RECORDS, width=10)
    elif kind == "bgzf":
        _bgzip(plain, src)
    assert fasta_compression(src) == kind
    out = tmp_path / "results" / indexed_fasta_name(src)
    sizes = prepare_fasta(src, out)
    assert sizes == {n: len(c) for n, c in _truth().items()}
    assert (kind == "none") == (out.name == "genome.fa")
    assert out.is_symlink() == (kind != "gzip")
    assert fasta_compression(out) == ("none" if kind == "none" else "bgzf")
    genome = Genome.open(out)
    assert type(genome.chroms).__name__ == "_FastaCodes" and genome.sizes == sizes
    assert decode(genome.fetch("chr1", 3, 12)) == "TNACGTNNN"  # soft-mask upper-cased, IUPAC -> N
    assert decode(genome.fetch("chr2", -2, 3)) == "NNGGC"
    assert decode(genome.fetch("chr2", 6, 10)) == "TTNN"
    np.testing.assert_array_equal(genome.chroms["chr1"], _truth()["chr1"])


def test_prepare_fasta_refuses_bad_inputs(tmp_path):
    cases = {
        "dup.fa": (">a\nAC\n>a\nGT\n", "duplicate sequence name 'a'"),
        "empty.fa": (">a\n>b\nAC\n", "sequence 'a' is empty"),
        "ragged.fa": (">a\nACGT\nAC\nACGT\n", "cannot index the FASTA"),
        "text.fa": ("hello\n>a\nAC\n", "not a FASTA file"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(CisflowError, match=rf"{name}: {message}"):
            prepare_fasta(tmp_path / name, tmp_path / "out" / "genome.fa")
    trunc = tmp_path / "trunc.fa.gz"
    seq = "".join(np.random.default_rng(0).choice(list("ACGT"), 50000)).encode()
    whole = gzip.compress(b">a\n" + seq + b"\n")
    trunc.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CisflowError, match=r"trunc.fa.gz: cannot read"):
        prepare_fasta(trunc, tmp_path / "out" / "genome.fa.gz")
    write_fasta(tmp_path / "ok.fa", _RECORDS)
    with pytest.raises(CisflowError, match=r"must be named genome\.fa for a none FASTA"):
        prepare_fasta(tmp_path / "ok.fa", tmp_path / "out" / "genome.fa.gz")


def test_code_cache_equals_the_fasta_and_is_memory_mapped(tmp_path, monkeypatch):
    monkeypatch.setattr(genome_mod, "_CHUNK", 5)
    write_fasta(tmp_path / "in.fa.gz", _RECORDS, width=7)
    fasta = tmp_path / "genome.fa.gz"
    prepare_fasta(tmp_path / "in.fa.gz", fasta)
    index = write_code_cache(fasta, tmp_path / "codes.npy")
    truth = _truth()
    assert [row[:3] for row in index["chroms"]] == [["chr1", 0, 100], ["chr2", 100, 8], ["chrUn_x", 100 + 8, 6]]
    assert [row[3] for row in index["chroms"]] == [int((c != 4).sum()) for c in truth.values()]
    genome = open_code_cache(tmp_path / "codes.npy")
    assert isinstance(genome.chroms["chr1"], np.memmap)
    assert genome.sizes == {n: len(c) for n, c in truth.items()}
    for name, codes in truth.items():
        np.testing.assert_array_equal(genome.chroms[name], codes)
    rng = np.random.default_rng(0)
    names = rng.choice(list(truth), 300)
    starts = rng.integers(-15, 110, 300)
    got = genome.fetch_many(names, starts, 12)
    memory = Genome(truth)
    for i in range(300):  # brute force against the in-memory genome, windows off the ends included
        np.testing.assert_array_equal(got[i], memory.fetch(names[i], int(starts[i]), int(starts[i]) + 12))
    np.testing.assert_array_equal(memory.fetch_many(names, starts, 12), got)
    assert non_n_bases(tmp_path / "codes.npy") == sum(int((c != 4).sum()) for c in truth.values())
    assert Genome.open(tmp_path / "codes.npy").sizes == genome.sizes
    with pytest.raises(CisflowError, match=r"windows: .*chrZ"):
        genome.fetch_many(np.array(["chrZ"]), np.array([0]), 3)


def test_code_cache_errors(tmp_path):
    write_fasta(tmp_path / "g.fa", _RECORDS)
    prepare_fasta(tmp_path / "g.fa", tmp_path / "genome.fa")
    write_code_cache(tmp_path / "genome.fa", tmp_path / "codes.npy")
    np.save(tmp_path / "short.npy", np.zeros(5, np.uint8))
    (tmp_path / "short.json").write_text((tmp_path / "codes.json").read_text())
    with pytest.raises(CisflowError, match=r"short.npy: code cache holds uint8 \(5,\)"):
        open_code_cache(tmp_path / "short.npy")
    (tmp_path / "bad.npy").write_bytes(b"x")
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(CisflowError, match=r"bad.json: not a code cache index"):
        open_code_cache(tmp_path / "bad.npy")
    with pytest.raises(CisflowError, match=r"missing.npy: code cache does not exist"):
        open_code_cache(tmp_path / "missing.npy")
    (tmp_path / "genome.fa.fai").write_text("chr1\t100\t6\t100\t101\nchr2\t9\t0\t9\t10\nchrUn_x\t6\t0\t6\t7\n")
    with pytest.raises(CisflowError, match="sequence 'chr2' has 8 bp but the index says 9"):
        write_code_cache(tmp_path / "genome.fa", tmp_path / "again.npy")


def test_genome_sizes_from_the_index_and_the_cache(tmp_path):
    write_fasta(tmp_path / "g.fa", _RECORDS)
    prepare_fasta(tmp_path / "g.fa", tmp_path / "genome.fa")
    write_code_cache(tmp_path / "genome.fa", tmp_path / "codes.npy")
    want = {n: len(c) for n, c in _truth().items()}
    non_n = sum(int((c != 4).sum()) for c in _truth().values())
    for src in ("genome.fa", "codes.npy", "g.fa"):
        assert write_genome_sizes(tmp_path / src, tmp_path / f"{src}.sizes", tmp_path / f"{src}.nonn") == want
        assert (tmp_path / f"{src}.nonn").read_text() == f"{non_n}\n"


HG38_LIKE = [
    *(f"chr{i}" for i in range(1, 23)), "chrX", "chrY", "chrM", "chr1_KI270706v1_random", "chrUn_KI270302v1",
    "chr6_GL000250v2_alt", "chrEBV", "chrUn_JTFH01000001v1_decoy", "chr1_KN196472v1_fix", "chr4_KQ983257v1_novel",
    "HLA-A*01:01:01:01",
]  # fmt: skip
ENSEMBL_LIKE = [*(str(i) for i in range(1, 23)), "X", "Y", "MT", "KI270728.1", "GL000009.2", "hs37d5", "GL000192.1"]
YEAST = ["chrI", "chrII", "chrIII", "chrIV", "chrV", "chrVI", "chrVII", "chrVIII", "chrIX", "chrX", "chrXI", "chrXII",
         "chrXIII", "chrXIV", "chrXV", "chrXVI", "chrM"]  # fmt: skip


def test_default_chromosome_rule_keeps_primary_assemblies():
    assert select_chroms(HG38_LIKE) == [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
    assert select_chroms(ENSEMBL_LIKE) == [str(i) for i in range(1, 23)] + ["X", "Y"]
    assert select_chroms(YEAST) == YEAST[:16]
    mouse = ["chr19", "chrX", "chr4_GL456216_random", "chrUn_GL456239", "chrY_JH584300_random", "JH584295.1"]
    assert select_chroms(mouse) == ["chr19", "chrX"]
    assert select_chroms(["2L", "2R", "3L", "4", "X", "Y", "mitochondrion_genome"]) == [
        "2L", "2R", "3L", "4", "X", "Y", "mitochondrion_genome"
    ]  # fmt: skip


def test_keep_regex_and_exclusions(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="cisflow.genome"):
        assert select_chroms(HG38_LIKE, keep=r"chr(\d+|X)") == [f"chr{i}" for i in range(1, 23)] + ["chrX"]
    assert "dropped 10 of 33 sequences: chrY, chrM" in caplog.text
    assert select_chroms(YEAST, exclude=["chrXII"]) == [c for c in YEAST[:16] if c != "chrXII"]
    with pytest.raises(CisflowError, match=r"genome.chroms: not a valid regular expression .*'chr\('"):
        select_chroms(YEAST, keep="chr(")


def test_flat_genome_gathers_windows_like_fetch():
    truth = _truth()
    memory = Genome(truth)
    flat = memory.flat()
    assert flat.flat() is flat and flat.sizes == memory.sizes
    offsets, sizes = flat.chroms.locate(["chr2", "chr1"])
    assert offsets.tolist() == [100, 0] and sizes.tolist() == [8, 100]
    rng = np.random.default_rng(1)
    names, starts = rng.choice(list(truth), 200), rng.integers(-20, 110, 200)
    want = np.stack([memory.fetch(str(c), int(s), int(s) + 15) for c, s in zip(names, starts, strict=True)])
    np.testing.assert_array_equal(flat.fetch_many(names, starts, 15), want)


def _resident_file_kb() -> int:
    """This process's file-backed resident set (kB), from /proc/self/status."""
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("RssFile:"))


@pytest.mark.skipif(not genome_mod.Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_windows_from_a_code_cache_leave_no_pages_resident(tmp_path, monkeypatch):
    """Windows drawn from all over a 24 Mb cache: the same codes as in memory, and its pages released after
    every block, so the resident set does not grow with the genome read (it does when nothing is released)."""
    rng = np.random.default_rng(1)
    truth = {"chrA": rng.integers(0, 5, 16_000_000), "chrB": rng.integers(0, 4, 8_000_000)}
    truth = {name: codes.astype(np.uint8) for name, codes in truth.items()}
    write_fasta(tmp_path / "genome.fa", [(n, decode(c)) for n, c in truth.items()])
    prepare_fasta(tmp_path / "genome.fa", tmp_path / "indexed" / "genome.fa")
    write_code_cache(tmp_path / "indexed" / "genome.fa", tmp_path / "codes.npy")
    monkeypatch.setattr(genome_mod, "_GATHER_BLOCK", 500)
    genome = open_code_cache(tmp_path / "codes.npy")
    names = np.array(["chrA"] * 2000 + ["chrB"] * 1000)
    starts = np.concatenate([np.arange(2000) * 8000 - 50, np.arange(1000) * 8000 + 30])  # one per 8 kb, ends too
    before = _resident_file_kb()
    got = genome.fetch_many(names, starts, 300)
    grown = _resident_file_kb() - before
    np.testing.assert_array_equal(got, Genome(truth).fetch_many(names, starts, 300))
    assert grown < 4_000, f"{grown} kB of the cache left resident"
    monkeypatch.setattr(genome_mod, "release_pages", lambda codes: None)
    before = _resident_file_kb()
    genome.fetch_many(names, starts, 300)
    assert _resident_file_kb() - before > 3000 * 4  # a page per window stays without the release
    genome_mod.release_pages(np.zeros(3, np.uint8))  # an array in memory: nothing to release
