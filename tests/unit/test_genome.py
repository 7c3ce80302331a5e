import gzip

import numpy as np
import pytest

from cisflow.errors import CisflowError
from cisflow.genome import (
    Genome,
    check_same_chroms,
    decode,
    encode,
    gc_fraction,
    one_hot,
    one_hot_to_codes,
    read_chrom_sizes,
    read_fasta,
    reverse_complement,
    reverse_complement_codes,
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
