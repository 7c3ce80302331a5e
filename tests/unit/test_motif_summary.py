"""The per-pattern table: distinct loci, same-motif groups (cisflow.motifs.summary)."""

import numpy as np
import pandas as pd

from cisflow.motifs.checks import motif_frame, motif_recall
from cisflow.motifs.modisco import Pattern
from cisflow.motifs.summary import SUMMARY_COLUMNS, count_loci, cwm_alignment, cwm_similarity, pattern_summary

rng = np.random.default_rng(0)


def _pattern(name, cwm, idx, starts, width=10):
    seqlets = {"example_idx": list(idx), "start": list(starts), "end": [s + width for s in starts],
               "is_revcomp": [False] * len(idx)}  # fmt: skip
    return Pattern(name, cwm, np.full_like(cwm, 0.25), cwm, (0, cwm.shape[1]), seqlets)


def test_count_loci_overlapping_intervals_once():
    iv = pd.DataFrame({"locus": ["a", "a", "a", "a", "b"], "start": [0, 4, 5, 30, 0], "end": [10, 14, 15, 40, 10]})
    # [0,10) and [4,14) overlap by 6 ≥ 5: one locus; [5,15) overlaps [0,10) by 5 ≥ 5: same; 30 and chrom b new
    assert count_loci(iv) == 3
    assert count_loci(iv.iloc[[0, 3]]) == 2
    assert count_loci(iv.iloc[:0]) == 0


def test_cwm_similarity_shift_and_reverse_complement():
    a = rng.normal(size=(4, 8))
    shifted = np.pad(a, ((0, 0), (3, 0)))
    assert np.isclose(cwm_similarity(a, shifted), 1.0)
    assert np.isclose(cwm_similarity(a, a[::-1, ::-1]), 1.0)
    b = rng.normal(size=(4, 8))
    assert cwm_similarity(a, b) < 0.9
    assert cwm_similarity(a, np.zeros((4, 5))) == 0.0
    assert cwm_alignment(a, shifted)[1:] == (-3, False)  # shifted's column j + 3 is a's column j
    assert cwm_alignment(a, a[::-1, ::-1][:, 1:5])[1:] == (3, True)  # its reverse complement is a[:, 3:7]


def _trimmed(name, cwm, trim, idx, starts, revcomp):
    seqlets = {"example_idx": list(idx), "start": list(starts), "end": [s + cwm.shape[1] for s in starts],
               "is_revcomp": list(revcomp)}  # fmt: skip
    return Pattern(name, cwm, np.full_like(cwm, 0.25), cwm, trim, seqlets)


def test_motif_frame_and_recall_align_members_on_the_representative():
    a = rng.normal(size=(4, 10))
    rep = _trimmed("p0", a, (0, 10), [0], [70], [False])
    # p1 is a's reverse complement, trimmed to its columns 2..8: a[:, 2:8] on the other strand
    member = _trimmed("p1", a[::-1, ::-1].copy(), (2, 8), [0, 1, 1], [30, 12, 50], [False, True, False])
    other = _trimmed("p2", rng.normal(size=(4, 10)), (0, 10), [1], [5], [False])
    groups = {"p0": "p0", "p1": "p0", "p2": "p2"}
    seqlets = pd.DataFrame({"region": ["r0", "r1"], "pattern": ["p1", "p1"], "strand": ["+", "-"],
                            "untrimmed_start": [30, 12]})  # fmt: skip
    framed = motif_frame(seqlets, [rep, member, other], groups)
    # p1 + at 30: trimmed core [32, 38) is a[:, 2:8] on the minus strand, so a itself spans [30, 40) on minus
    assert framed[["motif", "motif_strand", "motif_start"]].values.tolist() == [["p0", "-", 30], ["p0", "+", 12]]
    hits = pd.DataFrame({"region": ["r0", "r1", "r1", "r0", "r1"], "pattern": ["p0", "p0", "p2", "p0", "p2"],
                         "strand": ["-", "+", "+", "+", "+"], "untrimmed_start": [30, 12, 50, 70, 5]})  # fmt: skip
    recall = motif_recall(hits, [rep, member, other], ["r0", "r1"], groups).set_index("pattern")
    # p1's seqlets at r0:30+ and r1:12- found by p0's hits on the aligned strand; r1:50 by nobody of its motif
    assert recall.loc["p1", ["n_seqlets", "n_recalled", "n_hits"]].tolist() == [3, 2, 3]
    assert recall.loc["p0", ["n_seqlets", "n_recalled"]].tolist() == [1, 1]
    assert recall.loc["p2", ["n_seqlets", "n_recalled", "n_hits"]].tolist() == [1, 1, 2]
    assert recall.loc["group:p0", ["n_seqlets", "n_recalled"]].tolist() == [4, 3]
    assert "group:p2" not in recall.index
    wrong_strand = hits.assign(strand=["+", "-", "+", "+", "+"])
    assert motif_recall(wrong_strand, [rep, member, other], ["r0", "r1"], groups).iloc[1]["n_recalled"] == 0


def test_pattern_summary_loci_groups_and_matches():
    a, b = rng.normal(size=(4, 10)), rng.normal(size=(4, 10))
    ids = np.array(["r0", "r1", "r2"])
    chrom, start = np.array(["chr1", "chr1", "chr2"]), np.array([0, 100, 0])
    # p0: region 0 at 150 and region 1 at 50 are the same genome position (chr1:150); region 2 apart
    p0 = _pattern("p0", a, [0, 1, 2], [150, 50, 150])
    p1 = _pattern("p1", a[::-1, ::-1].copy(), [0], [300])  # a's reverse complement: same motif as p0
    p2 = _pattern("p2", b, [0, 2], [400, 400])  # its own motif, but the same JASPAR TF as p3
    p3 = _pattern("p3", -b, [1], [10])
    jaspar = pd.DataFrame(
        {
            "pattern": ["p0", "p2", "p3", "p3"],
            "rank": [1, 1, 1, 2],
            "target_id": ["MA1", "MA2", "MA2", "MA9"],
            "target_name": ["X", "Y", "Y", "Z"],
            "qvalue": [0.2, 0.01, 0.04, 0.001],
        }
    )
    table = pattern_summary([p0, p1, p2, p3], jaspar, ids, chrom, start)
    assert list(table.columns) == SUMMARY_COLUMNS
    assert table["n_seqlets"].tolist() == [3, 1, 2, 1]
    assert table["n_loci"].tolist() == [2, 1, 2, 1]
    assert table["n_regions"].tolist() == [3, 1, 2, 1]
    assert table["match"].tolist() == ["", "", "Y", "Y"]  # p0's match is not confident (q 0.2)
    assert table["match_id"].tolist() == ["MA1", "", "MA2", "MA2"]
    assert table["same_motif_as"].tolist() == ["p0", "p0", "p2", "p2"]
    assert table["group_loci"].tolist() == [3, 3, 3, 3]
    # without genome coordinates the loci are per region
    assert pattern_summary([p0], jaspar, ids)["n_loci"].tolist() == [3]


def test_group_recall_counts_hits_of_any_member():
    from cisflow.motifs.hitstage import _check_table, group_recall

    a = rng.normal(size=(4, 10))
    ids = np.array(["r0", "r1"])
    p0 = _pattern("p0", a, [0, 1], [5, 20])
    p1 = _pattern("p1", a, [1], [40])
    solo = _pattern("p2", a, [0], [60])
    hits = pd.DataFrame(
        {
            "region": ["r0", "r1", "r0"],
            "pattern": ["p1", "p0", "p2"],  # p0's seqlet in r0 found by p1; p1's seqlet at 40 by nobody
            "strand": ["+", "+", "+"],
            "untrimmed_start": [5, 20, 60],
        }
    )
    groups = {"p0": "p0", "p1": "p0", "p2": "p2"}
    recall = group_recall(hits, [p0, p1, solo], ids, groups, tolerance=0)
    assert recall[["pattern", "n_seqlets", "n_recalled", "n_hits"]].values.tolist() == [
        ["motif:p0", 2, 2, 2], ["motif:p1", 1, 0, 2], ["motif:p2", 1, 1, 1], ["group:p0", 3, 2, 2]
    ]  # fmt: skip
    table = _check_table(
        recall, pd.DataFrame(columns=["motif", "n_planted", "n_recalled", "recall", "n_hits", "precision"])
    )
    assert table[["check", "subject"]].values.tolist() == [
        ["seqlet_recall_motif", "p0"], ["seqlet_recall_motif", "p1"], ["seqlet_recall_motif", "p2"],
        ["seqlet_recall_group", "p0"],
    ]  # fmt: skip
    alone = group_recall(hits, [p0, solo], ids, {"p0": "p0", "p2": "p2"}, 0)
    assert not alone["pattern"].str.startswith("group:").any()
