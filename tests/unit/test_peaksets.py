"""Tests for cisflow.peaksets: ENCODE's conservative / optimal / relaxed sets on simulated ChIP-seq."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from cisflow._testing.testdata import plant_sites, simulate_chip_bam, simulate_control_bam, synthetic_genome
from cisflow.errors import CisflowError
from cisflow.labels import make_labels
from cisflow.macs3 import call_peaks
from cisflow.narrowpeak import make_peaks, read_narrowpeak
from cisflow.peaksets import encode_peak_sets
from cisflow.reads import filter_reads, pool_reads, pseudo_replicates

HAVE_MACS3 = (Path(sys.executable).parent / "macs3").is_file() or shutil.which("macs3") is not None
SIZES = {"chr1": 300_000, "chr2": 200_000}


@pytest.fixture(scope="module")
def rescue_case(tmp_path_factory):
    """Two ChIP replicates and a control; replicate 2 has a sixth of the site reads (a weak replicate)."""
    out = tmp_path_factory.mktemp("rescue")
    codes = synthetic_genome(None, SIZES, 1)
    sites = plant_sites(codes, 60, 2)
    strength = np.random.default_rng(0).integers(10, 60, len(sites))
    simulate_chip_bam(out / "r1.bam", SIZES, sites, strength, 8000, seed=3, name_prefix="r1")
    simulate_chip_bam(out / "r2.bam", SIZES, sites, np.maximum(strength // 6, 1), 2000, seed=4, name_prefix="r2")
    simulate_control_bam(out / "c.bam", SIZES, 10000, seed=5)
    for name in ("r1", "r2", "c"):
        filter_reads(out / f"{name}.bam", SIZES, out / f"{name}.tag.gz", assay="chip")
    pool_reads([out / "r1.tag.gz", out / "r2.tag.gz"], out / "pool.tag.gz")
    for name in ("r1", "r2", "pool"):
        pseudo_replicates(out / f"{name}.tag.gz", out / f"{name}.pr1.tag.gz", out / f"{name}.pr2.tag.gz", 1)

    def call(stem: str):
        peaks = out / f"{stem}.narrowPeak"
        call_peaks(out / f"{stem}.tag.gz", peaks, SIZES, control=out / "c.tag.gz", assay="chip", gsize=500_000)
        return read_narrowpeak(peaks)

    names = {"rep1": "r1", "rep2": "r2", "rep1.pr1": "r1.pr1", "rep1.pr2": "r1.pr2", "rep2.pr1": "r2.pr1",
             "rep2.pr2": "r2.pr2", "pooled": "pool", "pooled.pr1": "pool.pr1", "pooled.pr2": "pool.pr2"}  # fmt: skip
    return {
        "calls": {k: out / f"{v}.narrowPeak" for k, v in names.items()},
        "replicates": [call("r1"), call("r2")],
        "self": [(call("r1.pr1"), call("r1.pr2")), (call("r2.pr1"), call("r2.pr2"))],
        "pooled": call("pool"),
        "pooled_pr": (call("pool.pr1"), call("pool.pr2")),
    }


@pytest.mark.skipif(not HAVE_MACS3, reason="needs the macs3 executable")
def test_optimal_set_rescued_by_pooled_pseudoreplicates_changes_the_labels(rescue_case):
    c = rescue_case
    sets = encode_peak_sets(c["replicates"], c["self"], c["pooled"], c["pooled_pr"])
    rep = sets.reproducibility
    # the weak replicate limits the true-replicate IDR set; pooling both rescues it
    assert rep["optimal"] == "pooled" and rep["n_optimal"] == len(sets.optimal) > len(sets.conservative)
    assert rep["n_conservative"] == len(sets.conservative) == rep["n_true"] and rep["true_pair"] == "rep1_rep2"
    assert rep["rescue_ratio"] == pytest.approx(rep["n_pooled"] / rep["n_true"])
    assert set(sets.idr_tables) == {"self_rep1", "self_rep2", "rep1_rep2", "pooled_pseudoreps"}

    # DREAM's relaxed set: the pooled peaks also called (any overlap) in both pooled pseudo-replicates,
    # whatever their IDR; it holds the optimal (here pooled-pseudo-replicate) set
    def called_in(peak, calls):
        return ((calls["chrom"] == peak.chrom) & (calls["start"] < peak.end) & (calls["end"] > peak.start)).any()

    both = [p for p in c["pooled"].itertuples() if all(called_in(p, pr) for pr in c["pooled_pr"])]
    assert len(sets.relaxed) == len(both) < len(c["pooled"])
    key = {(p.chrom, p.start) for p in sets.relaxed.itertuples()}
    assert {(p.chrom, p.start) for p in sets.optimal.itertuples()} <= key
    pooled_rule = encode_peak_sets(c["replicates"], c["self"], c["pooled"], c["pooled_pr"], relaxed="pooled")
    assert len(pooled_rule.relaxed) == len(c["pooled"])
    # DREAM labels from the optimal set bind more bins than from the conservative set, and only
    # bins the conservative labels left ambiguous or bound: nothing unbound becomes bound
    by_set = {
        name: make_labels({"TF": peaks}, {"TF": sets.relaxed}, SIZES).labels
        for name, peaks in (("optimal", sets.optimal), ("conservative", sets.conservative))
    }
    opt = np.concatenate([by_set["optimal"][ch][:, 0] for ch in SIZES])
    cons = np.concatenate([by_set["conservative"][ch][:, 0] for ch in SIZES])
    assert (opt == 1).sum() > (cons == 1).sum()
    gained = (opt == 1) & (cons != 1)
    assert gained.any() and (cons[gained] != 0).all()


def test_single_replicate_and_bad_inputs():
    peaks = make_peaks(["chr1"] * 30, np.arange(30) * 1000, np.arange(30) * 1000 + 200, pvalue=np.arange(30.0))
    pr1 = peaks.assign(pvalue=np.arange(30.0) + np.random.default_rng(0).random(30))
    sets = encode_peak_sets([peaks], [(pr1, peaks)], peaks, None, relaxed="pooled")
    assert sets.reproducibility["optimal"] == "self" and len(sets.optimal) == len(sets.conservative)
    assert sets.reproducibility["reproducibility"] == "n/a" and len(sets.relaxed) == 30
    overlap = encode_peak_sets([peaks], [(pr1, peaks)], peaks, None, method="overlap")
    assert len(overlap.conservative) == 30 and overlap.idr_tables == {}  # every peak overlaps itself
    with pytest.raises(CisflowError, match="reproducibility method"):
        encode_peak_sets([peaks], [(pr1, peaks)], peaks, None, method="vote")
    with pytest.raises(CisflowError, match="relaxed-set rule"):
        encode_peak_sets([peaks], [(pr1, peaks)], peaks, None, relaxed="all")
    with pytest.raises(CisflowError, match="pooled pseudo-replicates"):
        encode_peak_sets([peaks, peaks], [(pr1, peaks), (pr1, peaks)], peaks, None)
    with pytest.raises(CisflowError, match="pseudo-replicate pair each"):
        encode_peak_sets([peaks, peaks], [(pr1, peaks)], peaks, (pr1, peaks))


def test_filter_peaks_blacklist_and_chromosomes():
    import pandas as pd

    from cisflow.peaksets import filter_peaks

    peaks = make_peaks(["chr1", "chr1", "chr1", "chrUn_x", "chr2"], [100, 500, 900, 0, 50], [200, 600, 1000, 80, 90])
    blacklist = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [199, 600], "end": [300, 900]})
    # [100, 200) touches the blacklist by 1 bp: dropped; [500, 600) ends where [600, 900) starts: kept
    kept = filter_peaks(peaks, blacklist, keep_chroms=["chr1", "chr2"])
    assert list(zip(kept["chrom"], kept["start"], strict=True)) == [("chr1", 500), ("chr1", 900), ("chr2", 50)]
    assert len(filter_peaks(peaks)) == 5


@pytest.mark.skipif(not HAVE_MACS3, reason="needs the macs3 executable")
def test_write_peak_sets_files_summary_and_off_genome_reference(rescue_case, tmp_path):
    import json

    from cisflow.narrowpeak import read_narrowpeak, write_narrowpeak
    from cisflow.peaksets import write_peak_sets

    optimal = encode_peak_sets(rescue_case["replicates"], rescue_case["self"], rescue_case["pooled"],
                               rescue_case["pooled_pr"]).optimal  # fmt: skip
    reference = make_peaks(["chr1", "chr1", "chr9"], [int(optimal["start"].iloc[0]), 299_950, 10],
                           [int(optimal["end"].iloc[0]), 300_050, 20])  # fmt: skip
    write_narrowpeak(reference, tmp_path / "ref.narrowPeak")
    blacklisted = optimal.iloc[1]
    (tmp_path / "bl.bed").write_text(f"{blacklisted['chrom']}\t{blacklisted['start']}\t{blacklisted['start'] + 1}\n")
    outputs = {k: tmp_path / f"{k}.narrowPeak" for k in ("conservative", "optimal", "relaxed")}
    outputs |= {"summary": tmp_path / "summary.json", "idr": tmp_path / "idr"}
    summary = write_peak_sets(rescue_case["calls"], 2, SIZES, outputs, reference=tmp_path / "ref.narrowPeak",
                              blacklist=tmp_path / "bl.bed")  # fmt: skip
    text = (tmp_path / "summary.json").read_text()
    assert json.loads(text)["optimal"] == summary["optimal"] and "NaN" not in text and "Infinity" not in text
    assert (
        summary["reproducibility"]["optimal"] == "pooled"
        and len(read_narrowpeak(outputs["optimal"])) == summary["optimal"]
    )
    written = read_narrowpeak(outputs["optimal"])
    assert not ((written["chrom"] == blacklisted["chrom"]) & (written["start"] == blacklisted["start"])).any()
    # one reference region on an unknown chromosome, one past chr1's end: both off the genome
    assert summary["reference"]["off_genome"] == 2 and summary["reference"]["optimal"]["reference_hit"] == 1
    assert {p.name for p in (tmp_path / "idr").iterdir()} == {"self_rep1.tsv", "self_rep2.tsv", "rep1_rep2.tsv",
                                                            "pooled_pseudoreps.tsv"}  # fmt: skip
