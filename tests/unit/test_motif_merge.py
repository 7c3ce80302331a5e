"""Merging the patterns that are one signal before the hit fit (cisflow.motifs.merge)."""

from __future__ import annotations

import numpy as np
import pytest

from cisflow.errors import CisflowError
from cisflow.genome import encode, one_hot
from cisflow.motifs import call_hits, seqlet_recall
from cisflow.motifs.merge import MIN_CONFUSION, member_masks, merge_patterns, seqlet_confusion
from cisflow.motifs.modisco import Pattern, trim_bounds

X_SEQ = "TTACCCGGAA"  # one motif: patterns A (plus strand) and B (its reverse complement, another frame)
Y_SEQ = "GGGCATATGC"  # another motif: pattern C


def _revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _case(n: int = 40, length: int = 100, seed: int = 0):
    """Regions 0..2n-1 hold X at a random start, regions 2n..3n-1 hold Y; scores on planted bases, noise
    elsewhere (0.6-1.4 per planted base). Returns scores, x, hypothetical and the planted starts."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (3 * n, length)).astype(np.uint8)
    weight = np.abs(rng.normal(0, 0.05, codes.shape))
    starts = rng.integers(20, 70, 3 * n)
    for i, s in enumerate(starts):
        seq = X_SEQ if i < 2 * n else Y_SEQ
        codes[i, s : s + 10] = encode(seq)
        weight[i, s : s + 10] = rng.uniform(0.6, 1.4, 10)
    x = one_hot(codes).astype(np.float32)
    scores = (x * weight[:, None, :]).astype(np.float32)
    return scores, x, scores.copy(), starts


def _pattern(name: str, scores, x, idx, start, rc, width: int) -> Pattern:
    """A modisco-like pattern: the mean scores of its seqlets (untrimmed ``start``, ``rc``), trimmed."""
    track = scores * x
    wins = np.stack([track[i, :, s : s + width][::-1, ::-1] if r else track[i, :, s : s + width]
                     for i, s, r in zip(idx, start, rc, strict=True)])  # fmt: skip
    cwm = wins.mean(axis=0).astype(np.float64)
    seqlets = {"example_idx": [int(i) for i in idx], "start": [int(s) for s in start],
               "end": [int(s) + width for s in start], "is_revcomp": [bool(r) for r in rc]}  # fmt: skip
    return Pattern(name, cwm, np.full(cwm.shape, 0.25), cwm, trim_bounds(cwm), seqlets)


@pytest.fixture(scope="module")
def case() -> dict:
    """A: X's seqlets of regions 0-39 (plus strand, 3 bp flanks); B: X's seqlets of regions 40-79 read on the
    minus strand in a 20 bp frame (X's reverse complement at columns 4-13); C: Y's seqlets of regions 80-119."""
    scores, x, hyp, starts = _case()
    a_idx, b_idx, c_idx = np.arange(40), np.arange(40, 80), np.arange(80, 120)
    a = _pattern("A", scores, x, a_idx, starts[a_idx] - 3, np.zeros(40, bool), 16)
    b = _pattern("B", scores, x, b_idx, starts[b_idx] - 6, np.ones(40, bool), 20)
    c = _pattern("C", scores, x, c_idx, starts[c_idx] - 3, np.zeros(40, bool), 16)
    return {"scores": scores, "x": x, "hyp": hyp, "starts": starts, "patterns": [a, b, c]}


def test_seqlet_confusion_known_answer():
    # seqlets 0-1 of pattern 0, 2-4 of pattern 1, 5 of pattern 2; seqlet 1 fits pattern 1 better, seqlet 4 pattern 0
    best = np.array([[0.9, 0.5, 0.1], [0.6, 0.7, 0.1], [0.2, 0.9, 0.1], [0.3, 0.8, 0.2], [0.9, 0.4, 0.1],
                     [0.1, 0.1, 0.9]])  # fmt: skip
    conf = seqlet_confusion(best, np.array([0, 0, 1, 1, 1, 2]), 3)
    np.testing.assert_allclose(conf, [[0, 2 / 5, 0], [2 / 5, 0, 0], [0, 0, 0]])
    # a seqlet that no window fits (at a region's edge: -inf for every CWM) is nobody's evidence; a tie is confusion
    edge = np.vstack([best, [-np.inf, -np.inf, -np.inf], [0.5, 0.2, 0.5]])
    conf = seqlet_confusion(edge, np.array([0, 0, 1, 1, 1, 2, 2, 2]), 3)
    np.testing.assert_allclose(conf[:2, :2], [[0, 2 / 5], [2 / 5, 0]])
    np.testing.assert_allclose(conf[0, 2], 1 / 5)


def test_two_halves_of_one_motif_merge_and_a_different_motif_stays_apart(case):
    pats = case["patterns"]
    merge = merge_patterns(case["scores"], case["x"], case["hyp"], pats, "auto", seed=0)
    assert merge.groups == {"A": "merged_A", "B": "merged_A", "C": "C"}
    assert merge.confusion[0, 1] >= 0.2 and merge.confusion[0, 2] == 0 and merge.confusion[1, 2] == 0
    assert merge.threshold == MIN_CONFUSION and merge.null.max() < MIN_CONFUSION  # permuted CWMs claim nothing
    merged, c = merge.units
    assert [m.name for m in merge.units] == ["merged_A", "C"] and c is pats[2] and merged.n_seqlets == 80
    # B's minus-strand seqlets land on the plus strand of A's frame, at the planted start - 3
    assert merged.seqlets["start"] == (case["starts"][:80] - 3).tolist() and not any(merged.seqlets["is_revcomp"])
    assert merged.trim == (3, 13) and merged.trimmed_cwm.argmax(axis=0).tolist() == encode(X_SEQ).tolist()
    # the fit uses A and B in that frame (each its own seqlets' CWM, the merged trim), C as it is
    a, b, c2 = merge.motifs
    assert [a.name, b.name] == ["A", "B"] and a.trim == b.trim == (3, 13) and c2 is pats[2] and b.n_seqlets == 40
    assert b.trimmed_cwm.argmax(axis=0).tolist() == encode(X_SEQ).tolist()
    assert b.seqlets["start"][0] == case["starts"][40] - 3 and not b.seqlets["is_revcomp"][0]
    table = merge.table(["A", "B", "C"])
    assert table["merged_into"].tolist() == ["merged_A", "merged_A", "C"] and np.isnan(table["merge_confusion"][2])
    # a hit of either member recalls both halves' seqlets, C's hits its own
    ids = [f"r{i}" for i in range(120)]
    hits, _ = call_hits(case["scores"], case["x"], merge.motifs, ids, n_shuffles=2, seed=0, device="cpu")
    by_unit = hits.assign(pattern=hits["pattern"].map(merge.groups))
    masks = member_masks(merged, merge.groups)
    for name in ("A", "B"):
        rec = seqlet_recall(by_unit, [merged], ids, only={"merged_A": masks[name]})
        assert rec["n_seqlets"][0] == 40 and rec["recall"][0] >= 0.95
    assert seqlet_recall(hits, [c], ids)["recall"][0] >= 0.95


def test_merge_off_fixed_threshold_and_bad_option(case):
    pats = case["patterns"]
    off = merge_patterns(case["scores"], case["x"], case["hyp"], pats, False)
    assert off.groups == {"A": "A", "B": "B", "C": "C"} and off.motifs == off.units == pats and off.threshold == np.inf
    strict = merge_patterns(case["scores"], case["x"], case["hyp"], pats, 1.0)  # no pair is confused that much
    assert strict.groups == {"A": "A", "B": "B", "C": "C"} and len(strict.null) == 0
    with pytest.raises(CisflowError, match="hit option merge = 2 must be auto, a seqlet confusion in"):
        merge_patterns(case["scores"], case["x"], case["hyp"], pats, 2)
