"""Tests for cisflow.qc: each metric against a brute-force computation on small BAMs made here."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from cisflow._testing.testdata import plant_sites, simulate_atac_bam, simulate_chip_bam, synthetic_genome
from cisflow.errors import CisflowError
from cisflow.qc.collect import ReadQC
from cisflow.qc.complexity import LibraryComplexity
from cisflow.qc.enrichment import FRiP, TSSProfile, merge_intervals, normalized_profile, tss_enrichment, tss_table
from cisflow.qc.fragments import FragmentLengths
from cisflow.qc.reproducibility import reproducibility_flag, reproducibility_qc
from cisflow.qc.standards import Standard, flag_metrics, standards
from cisflow.qc.xcor import StrandCrossCorrelation, chromosome_correlation, lagged_products, median_of_counts

SIZES = {"chr1": 60_000, "chr2": 40_000}


def _records(path):
    """(chrom, start, end, reverse, flag, name) of every record of a BAM."""
    with pysam.AlignmentFile(str(path)) as bam:
        return [(r.reference_name, r.reference_start, r.reference_end, r.is_reverse, r.flag, r.query_name) for r in bam]


@pytest.fixture(scope="module")
def chip_bam(tmp_path_factory):
    path = tmp_path_factory.mktemp("qc") / "chip.bam"
    codes = synthetic_genome(None, SIZES, 1)
    sites = plant_sites(codes, 12, 2)
    simulate_chip_bam(path, SIZES, sites, 60, 1500, fragment_length=180, read_length=36, seed=3, dup_fraction=0.1)
    return path


@pytest.fixture(scope="module")
def atac_bam(tmp_path_factory):
    path = tmp_path_factory.mktemp("qc") / "atac.bam"
    codes = synthetic_genome(None, SIZES, 4)
    sites = plant_sites(codes, 10, 5)
    simulate_atac_bam(path, SIZES, sites, 50, 1500, read_length=50, seed=6, dup_fraction=0.1)
    return path


# ------------------------------------------------------------------------------------ complexity


def _brute_complexity(positions):
    """NRF, PBC1, PBC2 by counting identical position tuples."""
    counts = Counter(positions)
    total, distinct = sum(counts.values()), len(counts)
    one = sum(1 for c in counts.values() if c == 1)
    two = sum(1 for c in counts.values() if c == 2)
    return distinct / total, one / distinct, (one / two if two else math.inf)


def test_single_end_complexity_matches_brute_force(chip_bam, monkeypatch):
    import cisflow.qc.complexity as complexity

    monkeypatch.setattr(complexity, "_PRUNE", 8)  # settle counts often: memory bounded by local depth
    recs = _records(chip_bam)  # duplicates are flagged, not removed: ENCODE counts them
    brute = _brute_complexity([(c, s, e, rev) for c, s, e, rev, *_ in recs])
    qc = LibraryComplexity()
    for c, s, e, rev, *_ in recs:  # coordinate-sorted, as the filter meets them
        qc.add_read(c, s, e, rev)
    m = qc.metrics()
    assert m["total"] == len(recs) and m["duplication_rate"] == pytest.approx(1 - m["nrf"])
    assert (m["nrf"], m["pbc1"], m["pbc2"]) == pytest.approx(brute)
    assert m["nrf"] < 0.95  # the 10 % flagged duplicates are seen
    assert len(qc._counts) == 0


def test_paired_end_complexity_matches_brute_force(atac_bam, monkeypatch):
    import cisflow.qc.complexity as complexity

    monkeypatch.setattr(complexity, "_PRUNE", 8)
    recs = _records(atac_bam)
    plus = {r[5]: r for r in recs if not r[3]}
    # a fragment is complete when the filter meets its second (- strand) mate, in input order
    frags = [(c, plus[name][1], e, s) for c, s, e, rev, _, name in recs if rev]
    brute = _brute_complexity([(c, s, e) for c, s, e, _ in frags])
    qc = LibraryComplexity()
    for c, s, e, at in frags:
        qc.add_fragment(c, s, e, at)
    assert (qc.metrics()["nrf"], qc.metrics()["pbc1"], qc.metrics()["pbc2"]) == pytest.approx(brute)


def test_complexity_hand_example_and_edges():
    qc = LibraryComplexity()
    for pos in (5, 5, 5, 7, 7, 9):  # positions with 3, 2, 1 reads
        qc.add("chr1", pos, pos, pos)
    qc.add("chr2", 5, 5, 5)  # same key, other chromosome: distinct
    m = qc.metrics()
    assert (m["total"], m["distinct"], m["one"], m["two"]) == (7, 4, 2, 1)
    assert (m["nrf"], m["pbc1"], m["pbc2"]) == (4 / 7, 0.5, 2.0)
    only_once = LibraryComplexity()
    for pos in range(10):
        only_once.add_read("chr1", pos, pos + 36, False)
    assert only_once.metrics()["pbc2"] == math.inf
    assert math.isnan(LibraryComplexity().metrics()["nrf"])


# ------------------------------------------------------------------------------------ fragment lengths


def test_fragment_lengths_match_brute_force(atac_bam):
    with pysam.AlignmentFile(str(atac_bam)) as bam:
        lengths = [r.template_length for r in bam if r.template_length > 0]
    hist = FragmentLengths()
    hist.add(np.array(lengths))
    m = hist.metrics()
    nfr = sum(1 for x in lengths if x < 150)
    mono = sum(1 for x in lengths if 150 < x <= 300)
    assert m["fragments"] == len(lengths)
    assert m["nfr_fraction"] == pytest.approx(nfr / len(lengths))
    assert m["mono_fraction"] == pytest.approx(mono / len(lengths))
    assert m["nfr_mono_ratio"] == pytest.approx(nfr / mono)


def test_fragment_length_boundaries():
    hist = FragmentLengths(max_length=400)
    hist.add(np.array([149, 150, 151, 300, 301, 400, 401, 5000]))
    m = hist.metrics()
    # < 150: 149; (150, 300]: 151, 300; 150 is neither; 401 and 5000 are past the histogram (as Picard's W)
    assert (m["fragments"], hist.longer) == (6, 2)
    assert m["nfr_fraction"] == pytest.approx(1 / 6) and m["mono_fraction"] == pytest.approx(2 / 6)
    assert m["nfr_mono_ratio"] == pytest.approx(0.5)


# ------------------------------------------------------------------------------------ cross-correlation


def _brute_scc(plus, minus, max_lag, outlier=10.0):
    """The documented correlation with dense vectors and a loop over shifts (outlier bins dropped first)."""
    pb, pc = np.unique(plus, return_counts=True)
    mb, mc = np.unique(minus, return_counts=True)
    limit = outlier * (pc.sum() + mc.sum()) / (len(pb) + len(mb))
    pb, pc, mb, mc = pb[pc < limit], pc[pc < limit], mb[mc < limit], mc[mc < limit]
    lo, hi = min(pb.min(), mb.min()), max(pb.max(), mb.max())
    p = np.zeros(hi - lo + 1)
    m = np.zeros(hi - lo + 1 + max_lag)
    p[pb - lo], m[mb - lo] = pc, mc
    n, big_p, big_m = p.size, p.sum(), m.sum()
    sd = np.sqrt(((p**2).sum() - big_p**2 / n) * ((m**2).sum() - big_m**2 / n))
    return np.array([(p @ m[k : k + n] - big_p * big_m / n) / sd for k in range(max_lag + 1)])


def test_lagged_products_across_fft_blocks(monkeypatch):
    import cisflow.qc.xcor as xcor

    monkeypatch.setattr(xcor, "_BLOCK", 64)  # many blocks on a small example
    rng = np.random.default_rng(0)
    plus, minus = rng.integers(0, 500, 300), rng.integers(0, 500, 300)
    p, m = np.bincount(plus, minlength=500), np.bincount(minus, minlength=560)
    brute = [float(p @ m[k : k + 500]) for k in range(41)]
    np.testing.assert_array_equal(lagged_products(plus, minus, 500, 40), brute)


def test_chromosome_correlation_matches_dense_pearson(chip_bam):
    recs = [r for r in _records(chip_bam) if r[0] == "chr1"]
    five = np.array([e - 1 if rev else s for _, s, e, rev, *_ in recs]) // 5
    rev = np.array([r[3] for r in recs])
    r = chromosome_correlation(five[~rev], five[rev], 60)
    np.testing.assert_allclose(r, _brute_scc(five[~rev], five[rev], 60), rtol=1e-9, atol=1e-12)


def test_cross_correlation_recovers_the_fragment_length(tmp_path):
    # sharp ChIP sites plus broad enriched domains (real ChIP has broad background correlation)
    sizes = {"chr1": 400_000, "chr2": 300_000}
    codes = synthetic_genome(None, sizes, 1)
    sites, broad = plant_sites(codes, 150, 2), plant_sites(codes, 40, 5, margin=5000, min_spacing=12000)
    xc = StrandCrossCorrelation(sizes)
    simulate_chip_bam(tmp_path / "a.bam", sizes, sites, 40, 20000, fragment_length=200, read_length=36, seed=3)
    simulate_chip_bam(
        tmp_path / "b.bam", sizes, broad, 800, 0, fragment_length=200, read_length=36, seed=4, site_sd=3000
    )
    recs = _records(tmp_path / "a.bam") + _records(tmp_path / "b.bam")
    for chrom in sizes:
        mine = [r for r in recs if r[0] == chrom]
        five = np.array([e - 1 if rev else s for _, s, e, rev, *_ in mine])
        xc.add(chrom, five, np.array([r[3] for r in mine]), np.array([r[2] - r[1] for r in mine]))
    m = xc.metrics()
    assert abs(m["fragment_length"] - 200) <= 20  # within 10 % of the simulated 200 bp
    assert m["read_length"] == 36 and m["nsc"] > 1.05 and m["rsc"] > 1.0
    cc = xc.profile()
    assert m["nsc"] == pytest.approx(m["cc_fragment"] / cc.min()) and cc.max() == pytest.approx(m["cc_fragment"])


def test_median_of_counts_equals_numpy_median():
    rng = np.random.default_rng(2)
    for n in (1, 2, 3, 10, 101, 1000):
        values = rng.integers(0, 60, n) * rng.integers(0, 2)  # some all-zero cases
        assert median_of_counts(np.bincount(values)) == np.median(values)
    assert median_of_counts(np.array([0, 2, 0, 2])) == 2.0 and math.isnan(median_of_counts(np.zeros(5, np.int64)))


def test_cross_correlation_memory_does_not_grow_with_the_reads():
    """Many blocks of reads on chromosome after chromosome: nothing per block is kept once a chromosome is
    done (a deep sample costs what a shallow one does), and the read length is the median of the first
    1,000 lengths of each block."""
    import tracemalloc

    sizes, n = {f"chr{i}": 2_000_000 for i in range(1, 9)}, 5000

    def block(i: int) -> tuple:  # the i-th block of reads, made afresh (the test keeps none of them)
        rng = np.random.default_rng([9, i])
        return f"chr{i // 6 + 1}", np.sort(rng.integers(0, 1_900_000, n)), rng.random(n) < 0.5, rng.integers(30, 60, n)

    xc, held = StrandCrossCorrelation(sizes), []
    tracemalloc.start()
    try:
        for i in range(6 * len(sizes)):
            xc.add(*block(i))
            if i % 6 == 5:
                held.append(tracemalloc.get_traced_memory()[0])
        m = xc.metrics()
    finally:
        tracemalloc.stop()
    assert held[-1] - held[1] < 100_000  # 36 blocks of 5,000 reads later: < 100 kB more (was 8 B per read)
    assert m["read_length"] == np.median(np.concatenate([block(i)[3][:1000] for i in range(6 * len(sizes))]))


# ------------------------------------------------------------------------------------ FRiP and TSS


def test_frip_matches_brute_force(chip_bam):
    recs = _records(chip_bam)
    peaks = pd.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr2"], "start": [100, 150, 5000, 30000],
                          "end": [200, 260, 9000, 39000]})  # fmt: skip
    frip = FRiP({"all": peaks, "first": peaks.iloc[:1]})
    for chrom in SIZES:
        mine = [r for r in recs if r[0] == chrom]
        frip.add(chrom, np.array([r[1] for r in mine]), np.array([r[2] for r in mine]))

    def brute(table):
        hit = sum(any(c == p.chrom and s < p.end and e > p.start for p in table.itertuples()) for c, s, e, *_ in recs)
        return hit / len(recs)

    m = frip.metrics()
    assert m["all"] == pytest.approx(brute(peaks)) and m["first"] == pytest.approx(brute(peaks.iloc[:1]))
    starts, ends = merge_intervals(np.array([5, 1, 10, 20]), np.array([8, 5, 12, 30]))
    assert starts.tolist() == [1, 10, 20] and ends.tolist() == [8, 12, 30]  # touching intervals merge


def _brute_tss(cuts_by_chrom, tss, flank, read_length):
    """Per TSS: a per-base coverage array of read_length-wide boxes centred on each cut site, summed."""
    total = np.zeros(2 * flank + 1)
    before = (read_length - 1) // 2
    for row in tss.itertuples():
        for cut in cuts_by_chrom.get(row.chrom, []):
            lo, hi = cut - (read_length - 1 - before), cut + before  # box covering [lo, hi]
            for x in range(lo, hi + 1):
                off = x - row.pos if row.strand == "+" else row.pos - x
                if -flank <= off <= flank:
                    total[off + flank] += 1
    return total


def test_tss_profile_matches_brute_force():
    rng = np.random.default_rng(2)
    tss = tss_table(pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [300, 900, 200], "end": [600, 1500, 700],
                                  "strand": ["+", "-", "+"]}))  # fmt: skip
    assert tss["pos"].tolist() == [300, 1499, 200]
    cuts = {"chr1": rng.integers(0, 2000, 400), "chr2": rng.integers(0, 1000, 200)}
    prof = TSSProfile(tss, flank=120, read_length=7)
    for chrom, c in cuts.items():
        prof.add(chrom, c[: len(c) // 2])
        prof.add(chrom, c[len(c) // 2 :])
    np.testing.assert_array_equal(prof.profile(), _brute_tss(cuts, tss, 120, 7))


def test_tss_enrichment_definition():
    coverage = np.ones(401)
    coverage[200:210] = 12.0  # one 10 bp bin (offsets 0..9) at 12x the flanks
    assert tss_enrichment(coverage, bin_size=10, edge=100) == pytest.approx(12.0)
    prof = normalized_profile(np.r_[np.full(100, 2.0), np.full(200, 4.0), np.full(100, 2.0), 9.0], 10, 100)
    assert prof[0] == 1.0 and prof.max() == 2.0
    assert math.isnan(tss_enrichment(np.r_[np.zeros(100), np.ones(200), np.zeros(101)]))
    with pytest.raises(CisflowError, match="strand"):
        tss_table(pd.DataFrame({"chrom": ["c"], "start": [1], "end": [2], "strand": ["."]}))


def test_tss_enrichment_on_simulated_atac(tmp_path):
    sizes = {"chr1": 300_000}
    codes = synthetic_genome(None, sizes, 7)
    sites = plant_sites(codes, 40, 8, margin=3000, min_spacing=5000)
    simulate_atac_bam(tmp_path / "a.bam", sizes, sites, 60, 3000, read_length=50, seed=9)
    tss = tss_table(pd.DataFrame({"chrom": "chr1", "start": [s.center for s in sites],
                                  "end": [s.center + 1 for s in sites], "strand": "+"}))  # fmt: skip
    random = tss_table(pd.DataFrame({"chrom": "chr1", "start": np.arange(5000, 295000, 7000),
                                     "end": np.arange(5001, 295001, 7000), "strand": "+"}))  # fmt: skip
    recs = _records(tmp_path / "a.bam")
    cuts = np.array([e - 1 if rev else s for _, s, e, rev, *_ in recs])
    at_sites, elsewhere = TSSProfile(tss, read_length=50), TSSProfile(random, read_length=50)
    at_sites.add("chr1", cuts)
    elsewhere.add("chr1", cuts)
    assert at_sites.metrics()["tss_enrichment"] > 10 > 5 > elsewhere.metrics()["tss_enrichment"]


# ------------------------------------------------------------------------------------ the bundle


def test_read_qc_bundle_mito_and_json():
    qc = ReadQC(SIZES, paired=True, assay="atac")
    for chrom, n in (("chr1", 90), ("chrM", 10)):
        for _ in range(n):
            qc.mapped(chrom)
    for start, end, at in ((0, 100, 50), (0, 100, 60), (5, 400, 350)):
        qc.candidate_fragment("chr1", start, end, at)
    qc.kept_fragment(0, 100, 50, 50)
    qc.kept_fragment(5, 400, 36, 36)
    out = qc.result()
    assert out["mito_fraction"] == pytest.approx(0.1) and out["complexity"]["nrf"] == pytest.approx(2 / 3)
    assert out["fragment_lengths"]["fragments"] == 2 and out["fragment_lengths"]["histogram"][100] == 1
    assert out["read_length"] == 43 and "xcor" not in out
    se = ReadQC(SIZES, paired=False, assay="chip")
    se.kept_read("chr1", 100, 136, False)
    se.kept_read("chr1", 300, 336, True)
    res = se.result()
    assert "xcor" in res and "fragment_lengths" not in res and math.isnan(res["mito_fraction"])
    assert res["read_length"] == 36 and len(res["xcor"]["profile"]) == 301


def test_read_qc_cross_correlation_in_blocks_equals_whole_chromosomes(monkeypatch):
    """Kept reads reach the cross-correlation a block at a time (memory bounded on a deep chromosome): same profile."""
    rng = np.random.default_rng(5)
    reads = [(c, int(s), bool(m)) for c in SIZES for s, m in zip(np.sort(rng.integers(0, SIZES[c] - 300, 3000)),
                                                                  rng.random(3000) < 0.5, strict=True)]  # fmt: skip

    def profile() -> dict:
        qc = ReadQC(SIZES, paired=False, assay="chip")
        for chrom, start, minus in reads:
            qc.kept_read(chrom, start, start + 36, minus)
        return qc.result()["xcor"]

    whole = profile()
    monkeypatch.setattr("cisflow.qc.collect._FLUSH", 7)
    assert json.dumps(profile()) == json.dumps(whole)  # the same reads in the same order: identical


# ------------------------------------------------------------------------------------ reproducibility, flags


def test_reproducibility_rescue_and_self_consistency():
    rescue = reproducibility_qc(n_true=400, n_pooled=1000, n_self=[900, 1100])
    assert rescue["optimal"] == "pooled" and rescue["n_optimal"] == 1000 and rescue["n_conservative"] == 400
    assert rescue["rescue_ratio"] == 2.5 and rescue["self_consistency_ratio"] == pytest.approx(1100 / 900)
    assert rescue["reproducibility"] == "borderline"
    good = reproducibility_qc(900, 1000, [950, 1000])
    assert good["optimal"] == "pooled" and good["reproducibility"] == "pass"
    assert reproducibility_qc(1000, 900, [100, 1000])["optimal"] == "true"
    assert reproducibility_flag(3.0, 5.0) == "fail" and reproducibility_flag(math.nan, 1.0) == "pass"
    single = reproducibility_qc(None, None, [700])
    assert single["n_optimal"] == single["n_conservative"] == 700 and single["reproducibility"] == "n/a"
    assert reproducibility_qc(0, 10, [0, 5])["rescue_ratio"] == math.inf
    with pytest.raises(CisflowError, match="pooled"):
        reproducibility_qc(10, None, [1, 2])
    with pytest.raises(CisflowError, match="one self-consistency"):
        reproducibility_qc(None, None, [1, 2])


def test_flags_against_encode_thresholds():
    values = {"nrf": 0.95, "pbc1": 0.85, "pbc2": 0.5, "tss_enrichment": 6.0, "frip_relaxed": 0.31,
              "nfr_fraction": 0.39, "reproducibility": "borderline", "mito_fraction": 0.3}  # fmt: skip
    atac = flag_metrics(values, "atac")
    assert atac == {"nrf_flag": "ideal", "pbc1_flag": "acceptable", "pbc2_flag": "concerning",
                    "tss_enrichment_flag": "acceptable", "frip_relaxed_flag": "ideal",
                    "nfr_fraction_flag": "concerning", "reproducibility_flag": "acceptable"}  # fmt: skip
    chip = flag_metrics({"nsc": 1.07, "rsc": 0.7, "pbc2": 12.0, "nrf": math.nan}, "chip")
    assert chip == {"nsc_flag": "acceptable", "rsc_flag": "concerning", "pbc2_flag": "ideal", "nrf_flag": "n/a"}
    assert flag_metrics({"tss_enrichment": 8.0}, "atac", "mm10")["tss_enrichment_flag"] == "concerning"
    assert Standard(0.1, 0.2, "x", higher_is_better=False).flag(0.15) == "acceptable"
    assert all(s.source for s in standards("chip").values())
    with pytest.raises(CisflowError, match="TSS-enrichment standard"):
        standards("atac", "sacCer3")


# ------------------------------------------------------------------------------------ the stage


def _stats_with_qc(bam, tagalign, tmp_path, assay):
    """Filter a BAM and add a ``qc`` section computed from its records (as the read filter's hook does)."""
    import json

    from cisflow.reads import filter_reads

    stats = filter_reads(bam, SIZES, tagalign, assay=assay, dedup="position")
    qc = ReadQC(SIZES, paired=stats["paired"], assay=assay)
    recs = _records(bam)
    plus = {r[5]: r for r in recs if not r[3]}
    for c, s, e, rev, _, name in recs:
        qc.mapped(c)
        if rev:
            qc.candidate_fragment(c, plus[name][1], e, s)
            qc.kept_fragment(plus[name][1], e, plus[name][2] - plus[name][1], e - s)
    stats["qc"] = qc.result()
    path = tmp_path / f"{Path(bam).stem}.stats.json"
    path.write_text(json.dumps(stats))
    return path


def _atac_qc_inputs(tmp_path, atac_bam):
    """One ATAC sample's QC inputs: its read statistics, tagAlign, peak sets (3 and 1 peaks) and a TSS BED."""
    from cisflow.narrowpeak import make_peaks, write_narrowpeak
    from cisflow.qc.pipeline import GroupInputs, SampleInputs

    tag = tmp_path / "atac.tagAlign.gz"
    stats = _stats_with_qc(atac_bam, tag, tmp_path, "atac")
    peaks = make_peaks(["chr1", "chr1", "chr2"], [1000, 20000, 5000], [3000, 26000, 9000])
    write_narrowpeak(peaks, tmp_path / "cons.narrowPeak")
    write_narrowpeak(peaks.iloc[:1], tmp_path / "one.narrowPeak")
    (tmp_path / "tss.bed").write_text("chr1\t1999\t2000\tg1\t0\t+\nchr2\t7000\t9000\tg2\t0\t-\n")
    group = GroupInputs({"conservative": tmp_path / "cons.narrowPeak", "relaxed": tmp_path / "one.narrowPeak"},
                        {"n_conservative": 3, "n_optimal": 3, "rescue_ratio": 1.2, "self_consistency_ratio": 2.5,
                         "reproducibility": "borderline"})  # fmt: skip
    return SampleInputs("A.x.rep1", "A.x", "atac", stats, tag), group, peaks


def test_run_qc_writes_table_multiqc_files_and_plots(tmp_path, atac_bam):
    from cisflow.qc.io import read_qc_table
    from cisflow.qc.pipeline import SampleInputs, qc_outputs, run_qc

    sample, group, peaks = _atac_qc_inputs(tmp_path, atac_bam)
    stats, tag = sample.stats, sample.tagalign
    table = run_qc([sample], {"A.x": group}, qc_outputs(tmp_path / "qc", ["A.x"]), tss_bed=tmp_path / "tss.bed")
    row = read_qc_table(tmp_path / "qc" / "qc.tsv").loc["A.x.rep1"]
    lines = pd.read_csv(tag, sep="\t", header=None)
    hit = [any(c == p.chrom and s < p.end and e > p.start for p in peaks.itertuples()) for c, s, e in
           zip(lines[0], lines[1], lines[2], strict=True)]  # fmt: skip
    assert row["frip_conservative"] == pytest.approx(np.mean(hit), abs=1e-6)
    assert row["frip_conservative"] > row["frip_relaxed"] > 0
    assert row["pbc1"] == pytest.approx(table.loc["A.x.rep1", "pbc1"]) and row["reproducibility_flag"] == "acceptable"
    for col in ("nrf_flag", "pbc2_flag", "frip_conservative_flag", "tss_enrichment_flag", "nfr_fraction_flag"):
        assert row[col] in ("ideal", "acceptable", "concerning")
    assert row["tss_enrichment"] > 0 and row["mito_fraction"] == 0.0
    names = {p.name for p in (tmp_path / "qc").iterdir()}
    assert names == {"qc.tsv", "cisflow_general_stats_mqc.tsv", "cisflow_qc_mqc.tsv", "fragment_lengths_mqc.json",
                     "tss_profile_mqc.json", "cross_correlation_mqc.json", "fragment_lengths.png", "tss_profile.png",
                     "cross_correlation.png", "read_filters_mqc.png", "idr_A.x_mqc.png"}  # fmt: skip
    graphs = {n: json.loads((tmp_path / "qc" / n).read_text())["data"] for n in names if n.endswith("_mqc.json")}
    assert set(graphs["fragment_lengths_mqc.json"]) == set(graphs["tss_profile_mqc.json"]) == {"A.x.rep1"}
    assert graphs["cross_correlation_mqc.json"] == {}  # no single-end ChIP sample
    with pytest.raises(CisflowError, match="no peak sets given"):
        run_qc([SampleInputs("B.x.rep1", "B.x", "atac", stats, tag)], {}, qc_outputs(tmp_path / "qc2", []))
    with pytest.raises(CisflowError, match=r"QC outputs lack idr_A\.x"):
        run_qc([sample], {"A.x": group}, qc_outputs(tmp_path / "qc2", ["B.x"]))
    with pytest.raises(CisflowError, match="QC outputs lack table"):
        run_qc([sample], {"A.x": group}, {})
    assert not (tmp_path / "qc2").exists()
    with pytest.raises(CisflowError, match="TSS annotation"):
        (tmp_path / "bad.bed").write_text("chr1\t1\t2\n")
        run_qc([sample], {"A.x": group}, qc_outputs(tmp_path / "qc3", ["A.x"]), tss_bed=tmp_path / "bad.bed")


@pytest.mark.skipif(shutil.which("multiqc") is None, reason="multiqc not installed (the qc extra)")
def test_multiqc_picks_up_the_qc_files(tmp_path, atac_bam):
    from cisflow.qc.pipeline import qc_outputs, run_multiqc, run_qc

    sample, group, _ = _atac_qc_inputs(tmp_path, atac_bam)
    run_qc([sample], {"A.x": group}, qc_outputs(tmp_path / "qc", ["A.x"]), tss_bed=tmp_path / "tss.bed")
    general_tsv = (tmp_path / "qc" / "cisflow_general_stats_mqc.tsv").read_text().splitlines()
    assert not [c for c in general_tsv[-2].split("\t") if c.endswith("_flag")]  # General Statistics: numbers only
    report = run_multiqc(tmp_path / "qc", tmp_path / "mqc" / "multiqc.html")
    data = tmp_path / "mqc" / "multiqc_data"
    general = pd.read_csv(data / "multiqc_general_stats.txt", sep="\t").set_index("Sample")
    table = pd.read_csv(tmp_path / "qc" / "qc.tsv", sep="\t").set_index("sample")
    for metric in ("nrf", "pbc1", "frip_conservative", "tss_enrichment", "nfr_fraction"):
        (column,) = [c for c in general.columns if c.endswith(f"-{metric}")]
        assert general.loc["A.x.rep1", column] == pytest.approx(table.loc["A.x.rep1", metric], rel=1e-5)
    assert (data / "multiqc_cisflow_qc.txt").is_file()  # the full table, flags included
    assert (data / "multiqc_fragment_lengths_plot.txt").is_file() and (data / "multiqc_tss_profile_plot.txt").is_file()
    html = report.read_text(encoding="utf-8")
    assert 'id="mqc-module-section-cisflow_qc"' in html and 'id="mqc-module-section-idr_A.x"' in html


def test_reads_at_each_filter_step():
    from cisflow.qc.pipeline import reads_at_steps

    stats = {"records": 100, "secondary": 2, "supplementary": 1, "unmapped": 7, "dropped_chroms": {"chrM": 10},
             "qcfail": 0, "not_proper_pair": 4, "low_mapq": 6, "duplicate_flag": 0, "mate_filtered": 6,
             "duplicate_position": 5, "paired": True}  # fmt: skip
    steps = reads_at_steps(stats)
    assert steps["reads_input"] == 100 and steps["reads_after_primary"] == 97 and steps["reads_after_mapped"] == 90
    assert steps["reads_after_kept_chroms"] == 80 and steps["reads_after_mapq"] == 70
    assert steps["reads_after_deduplicated"] == 54  # 64 records minus 5 duplicate fragments (10 records)


# ------------------------------------------------------------------------------------ through the read filter


@pytest.mark.parametrize("dedup", ["flag", "position"])
def test_filter_reads_fills_qc_like_brute_force_se(tmp_path, dedup):
    from cisflow.reads import filter_reads

    sizes = {**SIZES, "chrM": 5000}
    codes = synthetic_genome(None, SIZES, 1)
    sites = plant_sites(codes, 12, 2)
    bam = tmp_path / "se.bam"
    simulate_chip_bam(bam, sizes, sites, 60, 1500, fragment_length=180, read_length=36, seed=3, dup_fraction=0.1,
                      low_mapq_fraction=0.05)  # fmt: skip
    stats = filter_reads(bam, SIZES, tmp_path / "se.tag.gz", assay="chip", dedup=dedup, drop_chroms=["chrM"])
    with pysam.AlignmentFile(str(bam)) as handle:
        recs = [(r.reference_name, r.reference_start, r.reference_end, r.is_reverse, r.mapping_quality) for r in handle]
    passing = [(c, s, e, rev) for c, s, e, rev, q in recs if q >= 30 and c != "chrM"]  # duplicates included
    nrf, pbc1, pbc2 = _brute_complexity(passing)
    qc = stats["qc"]
    assert (qc["complexity"]["nrf"], qc["complexity"]["pbc1"], qc["complexity"]["pbc2"]) == pytest.approx(
        (nrf, pbc1, pbc2)
    )
    assert qc["mito_fraction"] == pytest.approx(sum(r[0] == "chrM" for r in recs) / len(recs))
    assert qc["read_length"] == 36 and abs(qc["xcor"]["fragment_length"] - 180) <= 18


def test_filter_reads_fills_qc_like_brute_force_pe(tmp_path):
    from cisflow.reads import filter_reads

    codes = synthetic_genome(None, SIZES, 4)
    sites = plant_sites(codes, 10, 5)
    bam = tmp_path / "pe.bam"
    simulate_atac_bam(bam, SIZES, sites, 50, 1500, read_length=50, seed=6, dup_fraction=0.1, low_mapq_fraction=0.05)
    stats = filter_reads(bam, SIZES, tmp_path / "pe.tag.gz", assay="atac", dedup="flag")
    with pysam.AlignmentFile(str(bam)) as handle:
        recs = list(handle)
    mates: dict[str, list] = {}
    for r in recs:
        mates.setdefault(r.query_name, []).append(r)
    frags = [
        (
            a.reference_name,
            min(a.reference_start, b.reference_start),
            max(a.reference_end, b.reference_end),
            a.flag,
        )
        for a, b in mates.values()
        if min(a.mapping_quality, b.mapping_quality) >= 30
    ]
    nrf, pbc1, pbc2 = _brute_complexity([f[:3] for f in frags])
    cx = stats["qc"]["complexity"]
    assert (cx["nrf"], cx["pbc1"], cx["pbc2"]) == pytest.approx((nrf, pbc1, pbc2)) and cx["total"] == len(frags)
    kept = [e - s for _, s, e, flag in frags if not flag & 0x400]  # dedup by flag: the flagged copies are not kept
    fl = stats["qc"]["fragment_lengths"]
    assert fl["fragments"] == len(kept) == stats["kept"]
    assert fl["nfr_fraction"] == pytest.approx(np.mean(np.array(kept) < 150))
    from cisflow.qc.pipeline import reads_at_steps

    # every record is accounted for once: what the filter steps leave is what was written
    assert reads_at_steps(stats)["reads_after_deduplicated"] == stats["kept_reads"] == 2 * len(kept)


def test_group_inputs_from_the_peaks_summary(tmp_path):
    import json

    from cisflow.qc.pipeline import group_inputs

    idr = tmp_path / "g.idr"
    idr.mkdir()
    for name in ("pooled_pseudoreps", "rep1_rep2", "self_rep1"):
        (idr / f"{name}.tsv").write_text("score1\tscore2\tglobal_idr\n")
    rep = {"optimal": "pooled", "true_pair": "rep1_rep2", "n_conservative": 5, "n_optimal": 9}
    (tmp_path / "s.json").write_text(json.dumps({"conservative": 5, "reproducibility": rep}))
    group = group_inputs(tmp_path / "s.json", {"optimal": "o.narrowPeak"}, idr)
    assert group.idr_table == idr / "pooled_pseudoreps.tsv" and group.reproducibility["n_optimal"] == 9
    (tmp_path / "s.json").write_text(json.dumps({"conservative": 5, "reproducibility": rep | {"optimal": "true"}}))
    assert group_inputs(tmp_path / "s.json", {}, idr).idr_table == idr / "rep1_rep2.tsv"
    (tmp_path / "old.json").write_text(json.dumps({"conservative": 7}))  # a summary without reproducibility
    old = group_inputs(tmp_path / "old.json", {})
    assert old.reproducibility == {"n_conservative": 7} and old.idr_table is None
