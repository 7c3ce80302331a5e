"""Tests for cisflow.peaks: narrowPeak IO, overlaps, reproducible sets, MACS3 and the CLI."""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.genome import Genome, encode
from cisflow.peaks import (
    COLUMNS,
    call_peaks,
    cap_peaks,
    fold_enrichment_bigwig,
    genome_size,
    macs3_callpeak_args,
    make_peaks,
    naive_overlap,
    overlap_pairs,
    read_narrowpeak,
    reference_overlap,
    reference_recall,
    relaxed_peaks,
    reproducible_peaks,
    write_narrowpeak,
)

SIZES = {"chr1": 10_000, "chr2": 5_000}
GOOD = "chr1\t100\t200\tp1\t50\t.\t5.5\t10.2\t8.1\t40\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# narrowPeak IO
# ---------------------------------------------------------------------------------------------


def test_read_skips_headers_and_parses_types(tmp_path):
    path = _write(tmp_path / "a.narrowPeak", 'track type=narrowPeak name="x"\nbrowser position chr1\n# c\n' + GOOD)
    df = read_narrowpeak(path, SIZES)
    assert list(df.columns) == COLUMNS
    row = df.iloc[0]
    assert (row.chrom, row.start, row.end, row.summit, row.pvalue) == ("chr1", 100, 200, 40, 10.2)
    assert df["start"].dtype == np.int64 and df["signal"].dtype == np.float64


def test_write_is_sorted_and_roundtrips_gzip(tmp_path):
    df = make_peaks(["chr2", "chr1", "chr1"], [50, 300, 10], [90, 400, 20], signal=[1.0, 2.0, 3.0])
    out = tmp_path / "x.narrowPeak.gz"
    write_narrowpeak(df, out)
    back = read_narrowpeak(out, SIZES)
    assert list(zip(back.chrom, back.start, strict=True)) == [("chr1", 10), ("chr1", 300), ("chr2", 50)]
    assert gzip.open(out, "rt").readline().count("\t") == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chr1\t100\t200\tp\t0\t.\t1\t1\t1\n", "line 1: expected 10 columns"),
        ("chr1\tabc\t200\tp\t0\t.\t1\t1\t1\t5\n", "line 1: start must be an integer"),
        ("chr1\t1.5\t200\tp\t0\t.\t1\t1\t1\t5\n", "start must be an integer"),
        ("chr1\t100\t200\tp\t0\t.\tx\t1\t1\t5\n", "signal must be a number"),
        (GOOD + "chr1\t-5\t200\tp\t0\t.\t1\t1\t1\t5\n", "line 2: start must be >= 0"),
        ("chr1\t200\t200\tp\t0\t.\t1\t1\t1\t0\n", "start must be < end"),
        ("chr1\t9000\t10001\tp\t0\t.\t1\t1\t1\t5\n", "end beyond the chromosome size"),
        ("1\t100\t200\tp\t0\t.\t1\t1\t1\t5\n", "chromosome names not in the genome"),
        ("chr1\t100\t200\tp\t0\t.\t1\t1\t1\t100\n", "summit outside the peak"),
        ("chr1\t100\t200\tp\t0\t*\t1\t1\t1\t10\n", "strand must be"),
    ],
)
def test_read_rejects_bad_lines(tmp_path, text, message):
    path = _write(tmp_path / "bad.narrowPeak", text)
    with pytest.raises(CisflowError, match=message) as info:
        read_narrowpeak(path, SIZES)
    assert "bad.narrowPeak" in str(info.value)


def test_empty_file_is_an_error_unless_allowed(tmp_path):
    path = _write(tmp_path / "empty.narrowPeak", "track type=narrowPeak\n")
    with pytest.raises(CisflowError, match="no peaks"):
        read_narrowpeak(path)
    assert read_narrowpeak(path, allow_empty=True).empty
    with pytest.raises(CisflowError, match="does not exist"):
        read_narrowpeak(tmp_path / "nope.narrowPeak")


def test_summit_minus_one_is_allowed(tmp_path):
    path = _write(tmp_path / "a.narrowPeak", "chr1\t100\t200\tp\t0\t.\t1\t1\t1\t-1\n")
    assert read_narrowpeak(path, SIZES)["summit"].item() == -1


# ---------------------------------------------------------------------------------------------
# overlaps
# ---------------------------------------------------------------------------------------------


def test_overlap_pairs_matches_brute_force():
    rng = np.random.default_rng(0)
    starts_a, starts_b = rng.integers(0, 5000, 80), rng.integers(0, 5000, 120)
    a = make_peaks(rng.choice(["c1", "c2"], 80), starts_a, starts_a + rng.integers(1, 300, 80))
    b = make_peaks(rng.choice(["c1", "c3", "c2"], 120), starts_b, starts_b + rng.integers(1, 600, 120))
    ia, ib, bp = overlap_pairs(a, b)
    got = {(int(i), int(j), int(o)) for i, j, o in zip(ia, ib, bp, strict=True)}
    want = set()
    for i, ra in a.iterrows():
        for j, rb in b.iterrows():
            o = min(ra.end, rb.end) - max(ra.start, rb.start)
            if ra.chrom == rb.chrom and o > 0:
                want.add((i, j, o))
    assert got == want


def _hand_sets():
    """Pooled P1..P6 and two replicates; by hand, naive overlap keeps P1, P3, P6 (see comments)."""
    pooled = make_peaks(
        ["chr1", "chr1", "chr1", "chr2", "chr1", "chr1"],
        [100, 1000, 2000, 0, 5000, 3000],
        [200, 1100, 2400, 100, 5100, 3100],
        name=["P1", "P2", "P3", "P4", "P5", "P6"],
    )
    rep1 = make_peaks(
        ["chr1", "chr1", "chr1", "chr2", "chr1", "chr1"],
        # P1: 50/100 = 0.5 of pooled -> kept; P2: 49/100 of both -> not; P3: 40/40 of rep peak -> kept;
        # P4: full; P5: adjacent (no shared base); P6: 50/100 of pooled (0.25 of rep) -> kept
        [150, 1051, 2100, 0, 5100, 3050],
        [250, 1151, 2140, 100, 5200, 3250],
    )
    rep2 = make_peaks(
        ["chr1", "chr1", "chr1", "chr1", "chr1", "chr1", "chr1"],
        # P1 full, P2 full, P3: 10/400 and 10/110 fail but 2300-2340 is inside; P4 only on chr1;
        # P5 full; P6: 50/100 of both
        [100, 1000, 2390, 2300, 0, 5000, 2950],
        [200, 1100, 2500, 2340, 100, 5100, 3050],
    )
    return pooled, rep1, rep2


def test_naive_overlap_hand_counted():
    pooled, rep1, rep2 = _hand_sets()
    assert list(naive_overlap(pooled, rep1, rep2)["name"]) == ["P1", "P3", "P6"]
    assert list(naive_overlap(pooled, rep1, rep2, min_fraction=0.6)["name"]) == ["P3"]
    assert list(naive_overlap(pooled, rep1, rep2, min_fraction=0.49)["name"]) == ["P1", "P2", "P3", "P6"]


def test_reference_overlap_counts():
    peaks = make_peaks(["chr1", "chr1", "chr2"], [0, 500, 0], [100, 600, 50])
    ref = make_peaks(["chr1", "chr1", "chr1", "chr2"], [50, 90, 1000, 50], [60, 120, 1100, 70])
    result = reference_overlap(peaks, ref)
    assert result["recall"] == 0.5 and result["precision"] == 1 / 3
    assert (result["reference_hit"], result["peaks_hit"]) == (2, 1)
    assert reference_recall(peaks, ref) == 0.5


def test_reproducible_overlap_takes_largest_pair_and_pseudoreps():
    pooled, rep1, rep2 = _hand_sets()
    rep3 = pooled.copy()
    # pairs: (1,2) -> 3 peaks, (1,3) -> P1 P3 P4 P6 (P2 fails on rep1, P5 adjacent), (2,3) -> P1 P2 P3 P5 P6
    out = reproducible_peaks("overlap", [rep1, rep2, rep3], None, pooled)
    assert list(out["name"]) == ["P1", "P2", "P3", "P6", "P5"]  # coordinate order
    single = reproducible_peaks("overlap", [rep3], (rep1, rep2), pooled)
    assert list(single["name"]) == ["P1", "P3", "P6"]
    with pytest.raises(CisflowError, match="two replicates"):
        reproducible_peaks("overlap", [rep1], None, pooled)
    with pytest.raises(CisflowError, match="unknown reproducibility method"):
        reproducible_peaks("vote", [rep1, rep2], None, pooled)


def test_reproducible_idr_uses_pooled_coordinates():
    rng = np.random.default_rng(0)
    n = 300
    z = rng.standard_normal((n, 2))
    z[:150] = rng.multivariate_normal([3, 3], [[1, 0.8], [0.8, 1]], 150)
    start = np.arange(n) * 1000
    rep1 = make_peaks(["chr1"] * n, start, start + 200, pvalue=np.exp(z[:, 0]))
    rep2 = make_peaks(["chr1"] * n, start + 10, start + 210, pvalue=np.exp(z[:, 1]))
    pooled = make_peaks(["chr1"] * n, start + 5, start + 105, signal=np.ones(n))
    out = reproducible_peaks("idr", [rep1, rep2], None, pooled, threshold=0.05)
    assert 120 < len(out) < 175
    assert ((out["start"] - 5) % 1000 == 0).all() and ((out["end"] - out["start"]) == 100).all()


def test_relaxed_peaks_caps_by_pvalue():
    df = make_peaks(["chr1"] * 4, [0, 100, 200, 300], [50, 150, 250, 350], pvalue=[3.0, 9.0, 1.0, 5.0])
    assert list(relaxed_peaks(df, 2)["start"]) == [100, 300]
    assert list(cap_peaks(df, 3)["pvalue"]) == [9.0, 5.0, 3.0]


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


def test_cli_overlap_and_recall(tmp_path, capsys):
    pooled, rep1, rep2 = _hand_sets()
    paths = {}
    for name, df in {"pooled": pooled, "rep1": rep1, "rep2": rep2}.items():
        paths[name] = tmp_path / f"{name}.narrowPeak"
        write_narrowpeak(df, paths[name])
    out = tmp_path / "overlap.narrowPeak"
    argv = ["peaks", "overlap", "--pooled", str(paths["pooled"]), "--rep1", str(paths["rep1"])]
    assert main([*argv, "--rep2", str(paths["rep2"]), "--out", str(out)]) == 0
    assert list(read_narrowpeak(out)["name"]) == ["P1", "P3", "P6"]
    assert main(["peaks", "recall", "--peaks", str(out), "--reference", str(paths["pooled"])]) == 0
    assert '"recall": 0.5' in capsys.readouterr().out
    bad = _write(tmp_path / "bad.narrowPeak", "chr1\t5\t1\n")
    assert main(["peaks", "recall", "--peaks", str(bad), "--reference", str(paths["pooled"])]) == 2
    err = capsys.readouterr().err
    assert "cisflow peaks: error:" in err and "bad.narrowPeak" in err and "expected 10 columns" in err


def test_cli_call_missing_reads(tmp_path, capsys):
    sizes = _write(tmp_path / "g.sizes", "chr1\t1000\n")
    argv = ["peaks", "call", "-t", str(tmp_path / "none.bed"), "-o", str(tmp_path / "x.narrowPeak")]
    assert main([*argv, "--chrom-sizes", str(sizes)]) == 2
    assert "none.bed" in capsys.readouterr().err


def test_peak_table_helpers_make_valid_frames():
    df = make_peaks(["chr1"], [10], [30])
    assert df["summit"].item() == 10 and df["name"].item() == "peak_1"
    assert isinstance(df, pd.DataFrame) and list(df.columns) == COLUMNS
