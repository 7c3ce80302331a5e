"""Tests for cisflow.macs3: MACS3 arguments, effective genome size, fold enrichment, and MACS3 end to end."""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.genome import Genome, encode
from cisflow.macs3 import call_peaks, fold_enrichment_bigwig, genome_size, macs3_callpeak_args
from cisflow.narrowpeak import read_narrowpeak

SIZES = {"chr1": 10_000, "chr2": 5_000}
GOOD = "chr1\t100\t200\tp1\t50\t.\t5.5\t10.2\t8.1\t40\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# MACS3 arguments, genome size, signal
# ---------------------------------------------------------------------------------------------


def test_macs3_args_atac_cut_sites_follow_encode():
    args = macs3_callpeak_args("t.bed.gz", None, "x", "out", fmt="BED", assay="atac", gsize=12_000_000, pvalue=0.01)
    joined = " ".join(args)
    assert joined.startswith("callpeak -t t.bed.gz -f BED -n x --outdir out -g 12000000 -p 0.01")
    assert "--nomodel --shift -75 --extsize 150" in joined
    assert "--keep-dup all" in joined and "-B --SPMR" in joined and "--call-summits" not in joined
    assert "-c" not in args


def test_macs3_args_paired_and_chip():
    pe = macs3_callpeak_args("f.bedpe", None, "x", "o", fmt="bedpe", assay="atac", gsize="hs", call_summits=True)
    assert "--shift" not in pe and "--extsize" not in pe and "--call-summits" in pe and "BEDPE" in pe
    chip = macs3_callpeak_args("t.bam", "c.bam", "x", "o", fmt="BAM", assay="chip", gsize=100, bedgraph=False)
    assert chip[chip.index("-c") + 1] == "c.bam"
    assert "--fix-bimodal" in chip and chip[chip.index("--extsize") + 1] == "200" and "--nomodel" not in chip
    assert "-B" not in chip
    fixed = macs3_callpeak_args("t.bam", None, "x", "o", fmt="BAM", assay="chip", gsize=100, shift=0, extsize=180)
    assert "--nomodel" in fixed and "--fix-bimodal" not in fixed
    with pytest.raises(CisflowError, match="unknown MACS3 format"):
        macs3_callpeak_args("t", None, "x", "o", fmt="FASTQ", gsize=1)
    with pytest.raises(CisflowError, match="unknown assay"):
        macs3_callpeak_args("t", None, "x", "o", assay="rna", gsize=1)


def test_genome_size_counts_non_n_bases():
    genome = Genome({"a": encode("ACGTNNNN"), "b": encode("nnAC")})
    assert genome_size(genome) == 6
    assert genome_size({"a": 8, "b": 4}) == 12


def test_fold_enrichment_bigwig_known_answer(tmp_path):
    treat = _write(tmp_path / "t.bdg", 'track type=bedGraph name="t"\nchr1\t0\t10\t2\nchr1\t10\t30\t6\nchr2\t0\t5\t1\n')
    ctrl = _write(tmp_path / "c.bdg", "chr1\t0\t20\t2\nchr1\t20\t30\t3\nchr2\t0\t5\t0\n")
    out = fold_enrichment_bigwig(treat, ctrl, {"chr1": 25, "chr2": 5}, tmp_path / "fe.bw")
    bw = pyBigWig.open(str(out))
    assert bw.intervals("chr1") == ((0, 10, 1.0), (10, 20, 3.0), (20, 25, 2.0))
    assert bw.intervals("chr2") == ((0, 5, 0.0),)
    bw.close()


# ---------------------------------------------------------------------------------------------
# MACS3 end to end (needs the macs3 executable)
# ---------------------------------------------------------------------------------------------

HAVE_MACS3 = (Path(sys.executable).parent / "macs3").is_file() or shutil.which("macs3") is not None
SITES = {"chr1": [8_000, 30_000], "chr2": [12_000]}
TINY = {"chr1": 40_000, "chr2": 20_000}


def _tiny_cut_sites(path: Path, seed: int = 0) -> None:
    """Tn5 cut sites (tagAlign): 400 around each of 3 sites plus 3000 uniform background cuts."""
    rng = np.random.default_rng(seed)
    rows = []
    for chrom, size in TINY.items():
        pos = list(rng.integers(0, size - 1, 3000 * size // 60_000))
        for site in SITES.get(chrom, []):
            pos += list(site + np.round(rng.normal(0, 40, 400)).astype(int))
        rows += [(chrom, int(p), "+-"[i % 2]) for i, p in enumerate(pos)]
    with gzip.open(path, "wt") as handle:
        for chrom, p, strand in rows:
            handle.write(f"{chrom}\t{p}\t{p + 1}\tN\t1000\t{strand}\n")


@pytest.mark.macs3
@pytest.mark.skipif(not HAVE_MACS3, reason="macs3 not installed")
def test_call_peaks_finds_the_three_sites(tmp_path):
    reads = tmp_path / "cuts.tagAlign.gz"
    _tiny_cut_sites(reads)
    out = call_peaks(reads, tmp_path / "s.narrowPeak.gz", TINY, gsize=60_000, pvalue=1e-5, max_peaks=10,
                     fe_bigwig=tmp_path / "s.fe.bw")  # fmt: skip
    peaks = read_narrowpeak(out, TINY)
    assert 3 <= len(peaks) <= 10
    top = peaks.sort_values("pvalue", ascending=False).head(3)
    assert top["name"].tolist() == ["Peak_1", "Peak_2", "Peak_3"]
    for chrom, sites in SITES.items():
        for site in sites:
            hit = top[(top.chrom == chrom) & (top.start <= site) & (top.end > site)]
            assert len(hit) == 1, (chrom, site)
            assert abs(int(hit.start.item() + hit.summit.item()) - site) < 60
    bw = pyBigWig.open(str(tmp_path / "s.fe.bw"))
    assert bw.stats("chr1", 7_950, 8_050)[0] > 5 * bw.stats("chr1", 20_000, 25_000)[0]
    bw.close()


@pytest.mark.macs3
@pytest.mark.skipif(not HAVE_MACS3, reason="macs3 not installed")
def test_call_peaks_reports_macs3_failure(tmp_path):
    reads = _write(tmp_path / "junk.bed", "this is not a bed file\n")
    with pytest.raises(CisflowError, match=r"MACS3 failed|no peaks") as info:
        call_peaks(reads, tmp_path / "x.narrowPeak", TINY, gsize=60_000)
    assert "junk.bed" in str(info.value)


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def test_cli_call_missing_reads(tmp_path, capsys):
    sizes = _write(tmp_path / "g.sizes", "chr1\t1000\n")
    argv = ["peaks", "call", "-t", str(tmp_path / "none.bed"), "-o", str(tmp_path / "x.narrowPeak")]
    assert main([*argv, "--chrom-sizes", str(sizes)]) == 2
    assert "none.bed" in capsys.readouterr().err
