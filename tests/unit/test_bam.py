"""Tests for cisflow.bam: records written sorted and indexed, read back exactly."""

from __future__ import annotations

import numpy as np
import pysam

from cisflow.bam import fragment_records, write_bam_records


def test_fragments_round_trip_as_sorted_indexed_pairs(tmp_path):
    sizes = {"chr1": 1000, "chr2": 500}
    chrom = np.array(["chr2", "chr1", "chr1"], dtype=object)
    start, end = np.array([100, 300, 10]), np.array([130, 500, 70])
    records = fragment_records(chrom, start, end, read_length=50, names=np.array(["a", "b", "c"], dtype=object))
    assert write_bam_records(tmp_path / "x.bam", sizes, records) == 6
    assert (tmp_path / "x.bam.bai").is_file()
    with pysam.AlignmentFile(str(tmp_path / "x.bam")) as bam:
        assert dict(zip(bam.references, bam.lengths, strict=True)) == sizes
        got = [(r.reference_name, r.reference_start, r.query_name, r.flag, r.cigarstring, r.template_length,
                r.next_reference_start) for r in bam]  # fmt: skip
        assert bam.count("chr2") == 2  # the index answers region queries
    assert got == [
        ("chr1", 10, "c", 99, "50M", 60, 20),
        ("chr1", 20, "c", 147, "50M", -60, 10),
        ("chr1", 300, "b", 99, "50M", 200, 450),
        ("chr1", 450, "b", 147, "50M", -200, 300),
        ("chr2", 100, "a", 99, "30M", 30, 100),  # reads no longer than the fragment
        ("chr2", 100, "a", 147, "30M", -30, 100),
    ]
