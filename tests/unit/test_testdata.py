"""Tests for cisflow._testing: the synthetic genome, sites and simulated reads are what they claim."""

from __future__ import annotations

import hashlib

import numpy as np
import pysam
import pytest

from cisflow import reads
from cisflow._testing import testdata
from cisflow.cli import main
from cisflow.genome import N_CODE, decode, read_fasta
from cisflow.samples import read_sample_sheet


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return testdata.make_test_project(tmp_path_factory.mktemp("proj"), seed=7)


def test_genome_and_motif(project):
    genome = read_fasta(project["genome"])
    assert {c: len(v) for c, v in genome.items()} == testdata.TEST_CHROMS
    chrom, s, e = project["n_run"]
    assert (genome[chrom][s:e] == N_CODE).all() and (genome["chr1"] < N_CODE).all()
    m = len(project["motif"])
    for site in project["sites"]["TF"]:
        seq = decode(genome[site.chrom][site.center - m // 2 : site.center - m // 2 + m])
        want = project["motif"] if site.strand == "+" else decode(testdata.reverse_complement_codes(
            testdata.encode(project["motif"])))  # fmt: skip
        assert seq == want


def test_gapped_motif_gets_random_gap_bases_and_the_same_sites():
    """An N of a planted motif is a random base per site; the sites are those of the motif without Ns."""
    gapped = testdata.synthetic_genome(None, {"chr1": 60_000}, 3)
    plain = {c: v.copy() for c, v in gapped.items()}
    sites = testdata.plant_sites(gapped, 12, 5, motif="TCACNNNNNACGA", min_spacing=2000)
    assert sites == testdata.plant_sites(plain, 12, 5, motif="TCACAAAAAACGA", min_spacing=2000)
    seqs = [decode(gapped["chr1"][s.center - 6 : s.center + 7]) for s in sites]
    seqs = [q if s.strand == "+" else decode(testdata.reverse_complement_codes(testdata.encode(q)))
            for q, s in zip(seqs, sites, strict=True)]  # fmt: skip
    assert all(q[:4] == "TCAC" and q[9:] == "ACGA" and "N" not in q for q in seqs)
    assert len({q[4:9] for q in seqs}) > 6  # the gaps differ between sites


def test_sheet_and_files(project):
    df = read_sample_sheet(project["samples"], base_dir=project["out_dir"])
    assert list(df["sample"]) == ["TF.synth.rep1", "TF.synth.rep2", "ATAC.synth.rep1"]
    assert set(df["assay"]) == {"chip", "atac"}
    for bam in project["bams"].values():
        reads.open_checked_bam(bam).close()


def _starts(bam_path, chrom, lo, hi, reverse):
    with pysam.AlignmentFile(bam_path) as bam:
        return [r.reference_start if not r.is_reverse else r.reference_end for r in bam.fetch(chrom, lo, hi)
                if r.is_reverse == reverse and not r.is_duplicate]  # fmt: skip


def test_chip_pileups_and_strand_shift(project):
    bam = project["bams"]["tf_rep1"]
    genome_size = sum(testdata.TEST_CHROMS.values())
    with pysam.AlignmentFile(bam) as handle:
        total = handle.mapped
    per_kb_background = total / genome_size * 1000
    for site, strength in zip(project["sites"]["TF"], project["strengths"]["TF"], strict=True):
        plus = _starts(bam, site.chrom, site.center - 400, site.center + 400, False)
        minus = _starts(bam, site.chrom, site.center - 400, site.center + 400, True)
        assert len(plus) + len(minus) > 0.6 * strength + 0.8 * per_kb_background  # window is 0.8 kb
        assert np.mean(plus) < site.center < np.mean(minus)  # + reads upstream, - reads downstream
    ctl = project["bams"]["tf_control"]
    site = project["sites"]["TF"][0]
    assert len(_starts(ctl, site.chrom, site.center - 400, site.center + 400, False)) < 10


def test_no_reads_in_n_run(project):
    chrom, s, e = project["n_run"]
    for bam in project["bams"].values():
        with pysam.AlignmentFile(bam) as handle:
            assert handle.count(chrom, s, e) == 0


def test_atac_fragments_at_sites(project, tmp_path):
    frag = tmp_path / "f.bed"
    stats = reads.filter_reads(project["bams"]["atac_rep1"], project["chrom_sizes"], tmp_path / "t.gz",
                               assay="atac", out_fragments=frag)  # fmt: skip
    assert stats["paired"] and stats["low_mapq"] > 0 and stats["duplicate_flag"] > 0
    rows = [line.split("\t") for line in frag.read_text().splitlines()]
    mids = {}
    for c, s, e, _ in rows:
        mids.setdefault(c, []).append((int(s) + int(e)) // 2)
    for site in project["sites"]["ATAC"]:
        near = np.abs(np.array(mids[site.chrom]) - site.center) < 150
        assert near.sum() >= 20


def test_deterministic(project, tmp_path):
    again = testdata.make_test_project(tmp_path / "again", seed=7)
    for name, path in project["bams"].items():
        digest = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in (path, again["bams"][name])]
        assert digest[0] == digest[1]
    assert again["sites"] == project["sites"]
    other = testdata.make_test_project(tmp_path / "other", seed=8)
    assert other["sites"] != project["sites"]


def test_cli_testdata(tmp_path):
    assert main(["reads", "testdata", "--out-dir", str(tmp_path / "p"), "--seed", "1"]) == 0
    assert (tmp_path / "p" / "samples.tsv").is_file() and (tmp_path / "p" / "reads" / "tf_rep1.bam.bai").is_file()
