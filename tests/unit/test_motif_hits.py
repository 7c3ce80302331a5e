"""Tests for motif hit calling: the sparse CWM fit, its null calibration, the checks, the PWM scan, tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from cisflow.errors import CisflowError
from cisflow.genome import encode, one_hot
from cisflow.motifs import (
    Pattern,
    annotate_hits,
    call_hits,
    compare_with_pwm_scan,
    empirical_qvalues,
    fit_hits,
    motif_set,
    per_region_table,
    planted_recall_precision,
    pwm_scan,
    seqlet_recall,
    shuffle_positions,
    write_hits,
)
from cisflow.motifs.calibrate import seqlet_lambdas, shuffle_bases
from cisflow.motifs.checks import (
    distinct_seqlets,
    flagged_seqlets,
    missed_seqlets,
    self_alignment,
    seqlet_cosines,
    seqlet_placement,
    wilson_interval,
)
from cisflow.motifs.hits import central_window, summit_offsets
from cisflow.motifs.hitstage import known_targets
from cisflow.motifs.merge import merge_patterns
from cisflow.motifs.plots import cooccurrence, plot_hit_summary

A_SEQ = "TTACCCGGAA"  # pattern A's consensus
B_SEQ = "TTACCCGGTC"  # pattern B: A's first 8 bases, then two others (cosine with A = 0.8)
C_SEQ = "GGGCATATGC"  # pattern C: unrelated


def _cwm(seq: str, weight: float = 1.0) -> np.ndarray:
    """A CWM ``(4, W)``: ``weight`` on each consensus base."""
    return weight * one_hot(encode(seq)).astype(np.float64)


def _revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _regions(plants: list[list[tuple[str, int]]], length: int = 120, seed: int = 0, noise: float = 0.02) -> tuple:
    """Random one-hot regions with consensus sequences written at given starts; scores = 1 on planted
    bases + small noise everywhere (actual bases only)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (len(plants), length)).astype(np.uint8)
    weight = np.abs(rng.normal(0, noise, codes.shape))
    for i, items in enumerate(plants):
        for seq, start in items:
            codes[i, start : start + len(seq)] = encode(seq)
            weight[i, start : start + len(seq)] = 1.0
    x = one_hot(codes).astype(np.float32)
    return (x * weight[:, None, :]).astype(np.float32), x


def _pattern(name: str, seq: str, flank: int = 3, seqlets: dict | None = None) -> Pattern:
    """A modisco-like pattern: consensus CWM with ``flank`` weak bases each side, trimmed to the core."""
    cwm = np.full((4, len(seq) + 2 * flank), 0.01)
    cwm[:, flank : flank + len(seq)] = _cwm(seq)
    return Pattern(name, cwm, np.full(cwm.shape, 0.25), cwm, (flank, flank + len(seq)), seqlets or {})


def _hits(fit: dict) -> set[tuple[int, int, int]]:
    return set(zip(fit["region"].tolist(), fit["motif"].tolist(), fit["position"].tolist(), strict=True))


# ---------------------------------------------------------------- the CWM dictionary


def test_motif_set_both_strands_unit_norm_and_offsets():
    cwm = np.zeros((4, 12))
    cwm[:, 2:9] = _cwm("ACGTTGA", 2.0)
    ms = motif_set({"p": cwm, "q": _cwm("GGC")}, {"p": (2, 9)})
    assert ms.names == ("p", "q") and ms.cwms.shape == (4, 4, 7) and ms.width == 7
    np.testing.assert_allclose(np.linalg.norm(ms.cwms.reshape(4, -1), axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(ms.cwms[1], ms.cwms[0, ::-1, ::-1])  # reverse complement of p
    assert ms.widths.tolist() == [7, 7, 3, 3] and ms.offsets.tolist() == [2, 3, 0, 0]  # 12 - 9 = 3
    assert ms.masks[2].tolist() == [1, 1, 1, 0, 0, 0, 0] and not ms.cwms[2][:, 3:].any()


@pytest.mark.parametrize(
    ("cwms", "trims", "message"),
    [
        ({"p": np.ones((3, 5))}, None, r"finite \(4, W\)"),
        ({"p": np.full((4, 5), np.nan)}, None, r"finite \(4, W\)"),
        ({"p": np.ones((4, 5))}, {"p": (3, 9)}, r"trim \(3, 9\) outside its 5 bp"),
        ({"p": np.zeros((4, 5))}, None, "all zeros"),
        ({}, None, "no patterns"),
    ],
)
def test_motif_set_bad_inputs(cwms, trims, message):
    with pytest.raises(CisflowError, match=message):
        motif_set(cwms, trims)


# ---------------------------------------------------------------- the fit


def test_fit_finds_planted_instances_on_both_strands_and_nothing_else():
    plants = [[(A_SEQ, 10), (_revcomp(A_SEQ), 60)], [(C_SEQ, 30)], [], [(_revcomp(C_SEQ), 100), (A_SEQ, 45)]]
    scores, x = _regions(plants)
    ms = motif_set({"A": _cwm(A_SEQ), "C": _cwm(C_SEQ)})
    fit, regions = fit_hits(scores, x, ms, 0.7, device="cpu")
    # motif k: pattern k // 2 on strand "+-"[k % 2]
    assert _hits(fit) == {(0, 0, 10), (0, 1, 60), (1, 2, 30), (3, 3, 100), (3, 0, 45)}
    assert (fit["similarity"] > 0.99).all() and np.allclose(fit["contribution"], 10.0, atol=0.1)
    assert (fit["amplitude"] > 0).all() and (regions["gap"] <= 1e-4).all()
    assert regions["scale"][2] < 0.05 < regions["scale"][0]


def test_fit_lets_patterns_compete_for_the_same_bases():
    # B's cosine with an A instance is 0.8 ≥ λ, so an independent scan calls both; the joint fit only A
    plants = [[(A_SEQ, 20)], [(B_SEQ, 50)], [(A_SEQ, 5), (B_SEQ, 80)]]
    scores, x = _regions(plants, seed=1)
    ms = motif_set({"A": _cwm(A_SEQ), "B": _cwm(B_SEQ)})
    fit, _ = fit_hits(scores, x, ms, 0.7, device="cpu")
    assert _hits(fit) == {(0, 0, 20), (1, 2, 50), (2, 0, 5), (2, 2, 80)}
    cosine = (_cwm(A_SEQ) * _cwm(B_SEQ)).sum() / len(A_SEQ)
    assert cosine == pytest.approx(0.8)


def test_fit_lambda_is_the_cosine_threshold():
    # an instance matching 6 of A's 10 bases (cosine 0.6 with the CWM): called at λ = 0.5, not at λ = 0.7
    half = A_SEQ[:6] + "TTGC"
    scores, x = _regions([[(half, 30)]], seed=2, noise=0.0)
    ms = motif_set({"A": _cwm(A_SEQ)})
    similarity = (one_hot(encode(half)) * _cwm(A_SEQ)).sum() / len(A_SEQ)
    assert 0.5 < similarity < 0.7
    assert len(fit_hits(scores, x, ms, 0.7, device="cpu")[0]["region"]) == 0
    assert _hits(fit_hits(scores, x, ms, 0.5, device="cpu")[0]) == {(0, 0, 30)}


def test_fit_is_independent_of_batching_and_deterministic():
    plants = [[(A_SEQ, 7 * i % 60)] if i % 3 else [(C_SEQ, 30)] for i in range(5)]
    scores, x = _regions(plants, length=80, seed=3, noise=0.2)
    ms = motif_set({"A": _cwm(A_SEQ), "C": _cwm(C_SEQ)})
    one, _ = fit_hits(scores, x, ms, 0.7, batch_size=2, device="cpu", tol=1e-5)
    many, _ = fit_hits(scores, x, ms, 0.7, batch_size=64, device="cpu", tol=1e-5)
    assert _hits(one) == _hits(many)
    np.testing.assert_allclose(one["coefficient"], many["coefficient"], rtol=1e-2, atol=1e-3)
    again, _ = fit_hits(scores, x, ms, 0.7, batch_size=64, device="cpu", tol=1e-5)
    np.testing.assert_array_equal(many["coefficient"], again["coefficient"])


def test_fit_screening_and_active_set_keep_the_full_problems_optimum(monkeypatch):
    # many overlapping, similar patterns in noisy scores: the gap-safe screening and the active-set phase
    # must still end at the optimum of the FULL problem (its KKT conditions, checked with full convolutions)
    import cisflow.motifs.fit as fitmod

    calls = []
    real = fitmod._solve_active
    monkeypatch.setattr(fitmod, "_solve_active", lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(4)
    plants = [[(A_SEQ, int(rng.integers(0, 40))), (B_SEQ, int(rng.integers(50, 100)))] for _ in range(24)] + [[]] * 4
    scores, x = _regions(plants, seed=4, noise=0.3)
    ms = motif_set({"A": _cwm(A_SEQ), "B": _cwm(B_SEQ), "C": _cwm(C_SEQ)})
    lam = np.array([0.6, 0.7, 0.65])
    fit, regions = fit_hits(scores, x, ms, lam, device="cpu", tol=1e-6, post_filter=False)
    assert calls and (regions["gap"] <= 1e-6).all()
    plain, _ = fit_hits(scores, x, ms, lam, device="cpu", tol=1e-6, post_filter=False, screen=False)
    assert _hits(fit) == _hits(plain) and len(fit["region"]) >= 40
    np.testing.assert_allclose(fit["coefficient"], plain["coefficient"], rtol=1e-2, atol=1e-3)

    cwms, masks = torch.as_tensor(ms.cwms), torch.as_tensor(ms.masks)
    b = fitmod._prepare(scores, x, cwms, masks, 1.0, 10.0, torch.device("cpu"))
    c = torch.zeros_like(b.scale)
    c[fit["region"], fit["motif"], fit["position"]] = torch.as_tensor(fit["coefficient"])
    lam_k = torch.as_tensor(np.repeat(lam, 2), dtype=torch.float32)[None, :, None]
    slack = fitmod._adjoint(b.y - fitmod._forward(c, b, cwms, scatter_below=0), b, cwms) - lam_k
    assert float(slack.max()) < 0.01  # no coefficient left at zero would lower the objective
    assert float(slack[c > 0].abs().max()) < 0.01  # every non-zero one sits where its gradient vanishes

    none = torch.zeros(0, dtype=torch.int64)  # every coefficient screened out: the optimum is 0, gap 0
    unit = fitmod._unit_columns(b, lam_k)  # the variables the solver works in
    empty = fitmod._Active(none, none, none, torch.zeros(0), torch.zeros(0), unit)
    assert empty.adjoint(unit.y, cwms).shape == (0,) and torch.equal(
        empty.forward(empty.c, unit, cwms), torch.zeros_like(unit.y)
    )
    assert float(empty.dual_point(unit, cwms)[0].abs().max()) < 1e-3


def test_fit_bad_inputs():
    scores, x = _regions([[(A_SEQ, 3)]], length=30)
    ms = motif_set({"A": _cwm(A_SEQ)})
    with pytest.raises(CisflowError, match=r"scores must be \(N, 4, L\)"):
        fit_hits(scores[:, :3], x[:, :3], ms)
    with pytest.raises(CisflowError, match="one-hot x has shape"):
        fit_hits(scores, x[:, :, :20], ms)
    with pytest.raises(CisflowError, match="shorter than the widest pattern"):
        fit_hits(scores[:, :, :8], x[:, :, :8], ms)
    with pytest.raises(CisflowError, match="one λ > 0 per pattern"):
        fit_hits(scores, x, ms, 0.0)
    with pytest.raises(CisflowError, match="unknown device"):
        fit_hits(scores, x, ms, device="tpu")


@pytest.mark.gpu
def test_fit_on_gpu_matches_cpu():
    if not __import__("torch").cuda.is_available():
        pytest.skip("needs CUDA")
    plants = [[(A_SEQ, 3 * i)] for i in range(20)]
    scores, x = _regions(plants, seed=4, noise=0.2)
    ms = motif_set({"A": _cwm(A_SEQ), "C": _cwm(C_SEQ)})
    cpu, _ = fit_hits(scores, x, ms, device="cpu", tol=1e-6)
    gpu, _ = fit_hits(scores, x, ms, device="cuda", tol=1e-6)
    assert _hits(cpu) == _hits(gpu)


# ---------------------------------------------------------------- calibration


def test_shuffle_positions_keeps_each_regions_columns():
    scores, x = _regions([[(A_SEQ, 5)], [(C_SEQ, 40)]], length=60)
    s0, x0 = shuffle_positions(scores, x, seed=1, n_shuffles=3)
    assert s0.shape == (6, 4, 60)
    for row in range(6):
        orig = np.concatenate([scores[row % 2], x[row % 2]]).T
        shuf = np.concatenate([s0[row], x0[row]]).T
        assert sorted(map(tuple, orig)) == sorted(map(tuple, shuf))
    assert not np.array_equal(s0[0], scores[0])
    np.testing.assert_array_equal(shuffle_positions(scores, x, seed=1, n_shuffles=3)[0], s0)
    assert not np.array_equal(shuffle_positions(scores, x, seed=2, n_shuffles=3)[0], s0)
    with pytest.raises(CisflowError, match="n_shuffles must be ≥ 1"):
        shuffle_positions(scores, x, seed=1, n_shuffles=0)
    with pytest.raises(CisflowError, match=r"must both be \(N, 4, L\)"):
        shuffle_positions(scores, x[:1], seed=1)


def test_shuffle_bases_keeps_the_score_profile_and_composition():
    scores, x = _regions([[(A_SEQ, 5)], [(C_SEQ, 40)]], length=60)
    s0, x0 = shuffle_bases(scores, x, seed=3, n_shuffles=2)
    assert s0.shape == x0.shape == (4, 4, 60)
    for row in range(4):
        np.testing.assert_allclose(s0[row].sum(axis=0), (scores * x)[row % 2].sum(axis=0), rtol=1e-6)
        np.testing.assert_array_equal(x0[row].sum(axis=1), x[row % 2].sum(axis=1))  # base composition
        assert ((s0[row] != 0) <= (x0[row] == 1)).all()  # scores sit on the new bases only
    assert not np.array_equal(x0[0], x[0])


def test_seqlet_lambdas_known_answer():
    # seqlets: 3 exact instances (cosine 1) and one with 6 of 10 bases (cosine 0.6), one on the minus strand
    plants = [[(A_SEQ, 10)], [(_revcomp(A_SEQ), 20)], [(A_SEQ, 30)], [(A_SEQ[:6] + "TTGC", 40)]]
    scores, x = _regions(plants, length=80, noise=0.0)
    seqlets = {"example_idx": [0, 1, 2, 3], "start": [7, 17, 27, 37], "end": [23, 33, 43, 53],
               "is_revcomp": [False, True, False, False]}  # fmt: skip
    pattern = _pattern("A", A_SEQ, seqlets=seqlets)
    assert seqlet_lambdas(scores, x, [pattern], quantile=0.5) == {"A": pytest.approx(0.7)}  # capped
    assert seqlet_lambdas(scores, x, [pattern], quantile=0.0) == {"A": pytest.approx(0.6)}
    assert seqlet_lambdas(scores, x, [pattern], quantile=0.0, floor=0.65) == {"A": pytest.approx(0.65)}
    assert seqlet_lambdas(scores, x, [_pattern("C", C_SEQ)]) == {"C": 0.7}  # no seqlets: the cap


def test_empirical_qvalues_known_answer():
    # descending: FDR = null≥t / real≥t = 0/1, 0/2, 0/3, 1/4, 1/5 → q = running min from the bottom
    q = empirical_qvalues(np.array([3.0, 1.0, 5.0, 2.0, 4.0]), np.array([2.5, 0.5]))
    np.testing.assert_allclose(q, [0.0, 0.2, 0.0, 0.2, 0.0])
    # two shuffles halve the null count; ties count together; FDR is capped at 1
    np.testing.assert_allclose(empirical_qvalues(np.array([1.0, 1.0]), np.array([2.0, 2.0, 2.0, 2.0]), 2), [1, 1])
    np.testing.assert_allclose(empirical_qvalues(np.array([3.0, 1.0]), np.array([2.0]), 2), [0.0, 0.25])
    assert empirical_qvalues(np.array([]), np.array([1.0])).shape == (0,)


# ---------------------------------------------------------------- call_hits: fit + null + table


@pytest.fixture(scope="module")
def planted() -> dict:
    """40 regions of 150 bp: A planted (either strand) in the even ones, every ~50 bp; noisy scores."""
    rng = np.random.default_rng(5)
    plants, truth = [], []
    for i in range(40):
        items = []
        if i % 2 == 0:
            for start in range(int(rng.integers(5, 25)), 135, 50):
                seq = A_SEQ if rng.random() < 0.5 else _revcomp(A_SEQ)
                items.append((seq, start))
                truth.append((f"r{i}", "A", start, start + len(A_SEQ), "+" if seq == A_SEQ else "-"))
        plants.append(items)
    scores, x = _regions(plants, length=150, seed=6, noise=0.3)
    emb = pd.DataFrame(truth, columns=["seq_id", "motif", "start", "end", "strand"])
    return {"scores": scores, "x": x, "ids": [f"r{i}" for i in range(40)], "embeddings": emb}


def test_call_hits_recovers_planted_instances_at_the_fdr(planted):
    pats = [_pattern("A", A_SEQ), _pattern("C", C_SEQ)]
    hits, info = call_hits(planted["scores"], planted["x"], pats, planted["ids"], fdr=0.05, seed=0, device="cpu")
    checks = planted_recall_precision(hits, planted["embeddings"], planted["ids"], {"A": "A"})
    assert checks.loc[0, "recall"] == 1.0 and checks.loc[0, "precision"] >= 0.9
    assert list(hits.columns[:11]) == ["region", "pattern", "strand", "start", "end", "untrimmed_start", "score",
                                       "coefficient", "similarity", "contribution", "qvalue"]  # fmt: skip
    assert (hits["qvalue"] <= 0.05).all() and (hits["untrimmed_start"] == hits["start"] - 3).all()
    assert len(info["candidates"]) >= len(hits) and len(info["null_x"]) == 2 * 40
    assert info["regions"]["gap"].shape == (40,)
    # the motif-free (odd) regions: few hits kept (about what the FDR allows)
    assert hits["region"].isin([f"r{i}" for i in range(1, 40, 2)]).sum() <= 0.1 * len(hits)
    assert not (hits["pattern"] == "C").any()
    strict, _ = call_hits(planted["scores"], planted["x"], pats, planted["ids"], fdr=0.01, seed=0, device="cpu")
    assert set(map(tuple, strict.values)) <= set(map(tuple, hits.values))  # a stricter FDR keeps a subset


def test_call_hits_patterns_compete_on_fit_not_on_their_lambda():
    # B's exact instance: A's CWM matches it with cosine 0.8. With A's λ 0.3 as A's own L1 weight (B's 0.7),
    # the cheaper A would take B's bases; one shared L1 weight gives them to B, whose CWM matches them exactly.
    scores, x = _regions([[(B_SEQ, 20)], [(A_SEQ, 40)], [(B_SEQ, 10), (A_SEQ, 60)]], length=90, seed=7)
    pats = [_pattern("A", A_SEQ), _pattern("B", B_SEQ)]
    hits, info = call_hits(scores, x, pats, ["r0", "r1", "r2"], lambdas={"A": 0.3, "B": 0.7}, fdr=1.0, device="cpu")
    found = set(zip(hits["region"], hits["pattern"], hits["start"], strict=True))
    assert found == {("r0", "B", 20), ("r1", "A", 40), ("r2", "B", 10), ("r2", "A", 60)}
    assert info["lambdas"] == {"A": 0.3, "B": 0.7}
    # each pattern keeps only hits whose cosine reaches its own λ: B at 0.9 loses a 6-of-10 instance of B
    half = B_SEQ[:8] + "GA"  # cosine 0.8 with B, 0.6 with A
    scores, x = _regions([[(half, 30)]], length=80, seed=2, noise=0.0)
    hits, _ = call_hits(scores, x, [_pattern("B", B_SEQ)], lambdas={"B": 0.9}, fdr=1.0, device="cpu")
    assert hits.empty
    hits, _ = call_hits(scores, x, [_pattern("B", B_SEQ)], lambdas={"B": 0.75}, fdr=1.0, device="cpu")
    assert hits[["start", "strand"]].values.tolist() == [[30, "+"]]


def test_call_hits_null_ranks_by_similarity_so_weak_sites_next_to_strong_ones_count():
    # 40 regions: an exact A site carrying 0.8 of contribution a base, and a 40-bp stretch of random bases
    # carrying 3 a base (another factor's strong sites, as far as A is concerned). The null keeps the scores
    # and shuffles the bases: chance A-like words on the strong stretch give null hits of high score but
    # cosine ≤ 0.9, the real sites cosine ~1 at a lower score.
    plants = [[(A_SEQ if i % 2 else _revcomp(A_SEQ), 20)] for i in range(40)]
    scores, x = _regions(plants, length=120, seed=12, noise=0.02)
    scores = 0.8 * scores
    scores[:, :, 60:100] = 3.0 * x[:, :, 60:100]
    pats, ids = [_pattern("A", A_SEQ), _pattern("C", C_SEQ)], [f"r{i}" for i in range(40)]
    kw = {"lambdas": 0.6, "fdr": 0.05, "seed": 0, "device": "cpu"}
    hits, info = call_hits(scores, x, pats, ids, **kw)  # ranked by similarity (the default)
    null_a = info["null_hits"][info["null_hits"]["pattern"] == "A"]
    assert len(null_a) >= 20 and null_a["similarity"].max() <= 0.9 + 1e-6
    assert null_a["score"].max() > 2 * hits.loc[hits["start"] == 20, "score"].max()
    a = hits[hits["pattern"] == "A"]
    assert (a["start"] == 20).sum() == 40 and len(a) <= 44  # every site, few chance words
    by_score, _ = call_hits(scores, x, pats, ids, null_statistic="score", **kw)
    assert not (by_score["start"] == 20).any()  # ranked by score, the strong stretch's chance words hide them all
    with pytest.raises(CisflowError, match="null statistic must be one of similarity, score"):
        call_hits(scores, x, pats, null_statistic="coefficient")


def test_call_hits_window_and_bad_inputs(planted):
    pats = [_pattern("A", A_SEQ)]
    hits, info = call_hits(planted["scores"][:6], planted["x"][:6], pats, planted["ids"][:6], window=50, device="cpu")
    assert info["offset"] == 50 and hits["start"].between(50, 100 - len(A_SEQ)).all() and len(hits)
    assert central_window(150, None) == (0, 150)
    with pytest.raises(CisflowError, match=r"hit window 300 bp must be in 1\.\.150"):
        call_hits(planted["scores"], planted["x"], pats, window=300)
    with pytest.raises(CisflowError, match=r"fdr must be in \(0, 1\]"):
        call_hits(planted["scores"], planted["x"], pats, fdr=0)
    with pytest.raises(CisflowError, match="2 ids for 40 regions"):
        call_hits(planted["scores"], planted["x"], pats, ids=["a", "b"])


# ---------------------------------------------------------------- checks


def test_distinct_seqlets_known_answer():
    # r0: A's instance, r1: B's, r2: A's on the minus strand. Seqlets (untrimmed starts = core - 3):
    # A at r0 and r2 (distinct), B at r0 (A's instance: A's CWM matches it best) and at r1 (distinct).
    scores, x = _regions([[(A_SEQ, 20)], [(B_SEQ, 30)], [(_revcomp(A_SEQ), 40)]], length=80, seed=8)
    a = {"example_idx": [0, 2], "start": [17, 37], "is_revcomp": [False, True]}
    b = {"example_idx": [0, 1], "start": [17, 27], "is_revcomp": [False, False]}
    pats = [_pattern("A", A_SEQ, seqlets=a), _pattern("B", B_SEQ, seqlets=b), _pattern("C", C_SEQ)]
    flags = distinct_seqlets(scores, x, pats)
    assert flags["A"].tolist() == [True, True] and flags["B"].tolist() == [False, True] and flags["C"].size == 0
    hits = pd.DataFrame(
        {"region": ["r0", "r2"], "pattern": ["A", "A"], "strand": ["+", "-"], "untrimmed_start": [17, 37]}
    )
    recall = seqlet_recall(hits, pats, ["r0", "r1", "r2"]).set_index("pattern")
    only = seqlet_recall(hits, pats, ["r0", "r1", "r2"], only=flags).set_index("pattern")
    assert recall.loc["B", "n_seqlets"] == 2 and only.loc["B", "n_seqlets"] == 1 and only.loc["B", "n_recalled"] == 0
    assert only.loc["A", "recall"] == 1.0
    with pytest.raises(CisflowError, match="seqlet region index 2 outside the 2 regions"):
        distinct_seqlets(scores[:2], x[:2], pats)


def test_seqlet_cosines_count_the_core_a_shorter_cwm_leaves_out():
    # S is the middle 4 bases of C. Over its own 4-bp window S fits a C seqlet exactly (cosine 1, a tie with C's
    # own CWM), but over the seqlet's 10-bp core it explains 4 of 10 equal bases: cosine sqrt(0.4)
    scores, x = _regions([[(C_SEQ, 20)], [(C_SEQ[3:7], 40)]], length=80, seed=3, noise=0.0)
    c = {"example_idx": [0], "start": [17], "is_revcomp": [False]}
    s = {"example_idx": [1], "start": [37], "is_revcomp": [False]}
    pats = [_pattern("C", C_SEQ, seqlets=c), _pattern("S", C_SEQ[3:7], seqlets=s)]
    best = seqlet_cosines(scores, x, pats)
    np.testing.assert_allclose(best[0], [1.0, np.sqrt(0.4)], atol=1e-6)
    assert best[1, 1] == pytest.approx(1.0) and best[1, 0] < 0.9  # C over S's word leaves C's other 6 bases out
    flags = distinct_seqlets(scores, x, pats)  # C's seqlet is C's alone (with the window's cosine: a tie)
    assert flags["C"].tolist() == [True] and flags["S"].tolist() == [True]
    merge = merge_patterns(scores, x, scores, pats, 0.1)  # a tie counted as confusion (0.5) merged them
    assert merge.groups == {"C": "C", "S": "S"} and merge.confusion[0, 1] == 0


def test_seqlet_placement_known_answer():
    # A planted at r0:20 (+), r1:40 (-), r2:30 (+); seqlets (untrimmed starts = core - 3) at the planted place on
    # the planted strand (placed), 2 bp off (not), on the wrong strand (not: A is no palindrome), and r0's again
    scores, x = _regions([[(A_SEQ, 20)], [(_revcomp(A_SEQ), 40)], [(A_SEQ, 30)]], length=80, seed=9)
    seqlets = {"example_idx": [0, 1, 2, 2, 0], "start": [17, 37, 29, 27, 17],
               "is_revcomp": [False, True, False, True, False]}  # fmt: skip
    pats = [_pattern("A", A_SEQ, seqlets=seqlets), _pattern("C", C_SEQ)]
    flags = seqlet_placement(scores, x, pats)
    assert flags["A"].tolist() == [True, True, False, False, True] and flags["C"].size == 0
    table = flagged_seqlets(pats, flags, ["r0", "r1", "r2"]).set_index("pattern")
    assert table.loc["A", "n_seqlets"] == 4 and table.loc["A", "n_recalled"] == 2 and table.loc["A", "recall"] == 0.5
    # no shift: only the strands compete at the seqlet's own start (the wrong strand loses, 2 bp off is unknown)
    assert seqlet_placement(scores, x, pats, max_shift=0)["A"][[0, 1, 3, 4]].tolist() == [True, True, False, True]
    with pytest.raises(CisflowError, match="seqlet region index 2 outside the 2 regions"):
        seqlet_placement(scores[:2], x[:2], pats)


def test_wilson_interval_known_answer():
    low, high = wilson_interval(np.array([8, 0, 20, 0]), np.array([10, 10, 20, 0]))
    np.testing.assert_allclose(low[:3], [0.4902, 0.0, 0.8389], atol=1e-4)
    np.testing.assert_allclose(high[:3], [0.9433, 0.2775, 1.0], atol=1e-4)
    assert np.isnan(low[3]) and np.isnan(high[3])


def test_seqlet_recall_known_answer():
    seqlets = {"example_idx": [0, 0, 1, 2], "start": [7, 40, 12, 30], "end": [23, 56, 28, 46],
               "is_revcomp": [False, True, False, False]}  # fmt: skip
    pats = [_pattern("A", A_SEQ, seqlets=seqlets), _pattern("C", C_SEQ)]
    regions, names = ["r0", "r0", "r1", "r2", "r2"], ["A", "A", "A", "C", "A"]
    strands, starts = ["+", "+", "+", "+", "-"], [7, 40, 13, 30, 30]
    hits = pd.DataFrame({"region": regions, "pattern": names, "strand": strands, "untrimmed_start": starts})
    exact = seqlet_recall(hits, pats, ["r0", "r1", "r2"]).set_index("pattern")
    # r0:7 found; r0:40 is '-' but the hit '+'; r1:12 vs 13 off by one; r2:30 hit of C, or of A on '-'
    assert exact.loc["A", "n_seqlets"] == 4 and exact.loc["A", "n_recalled"] == 1 and exact.loc["A", "n_hits"] == 4
    assert exact.loc["A", "recall"] == 0.25 and np.isnan(exact.loc["C", "recall"])
    assert seqlet_recall(hits, pats, ["r0", "r1", "r2"], tolerance=1).set_index("pattern").loc["A", "n_recalled"] == 2
    with pytest.raises(CisflowError, match="tolerance must be ≥ 0"):
        seqlet_recall(hits, pats, ["r0"], tolerance=-1)
    with pytest.raises(CisflowError, match="seqlet region index 2 outside the 2 regions"):
        seqlet_recall(hits, pats, ["r0", "r1"])


def test_self_alignment_known_answer():
    cg = self_alignment(_cwm("CGCGCGCG"))  # 8 bp: C G alternating, its own reverse complement
    np.testing.assert_allclose(cg[0, 7 + np.arange(-3, 4)], [0, 0.75, 0, 1, 0, 0.75, 0])  # 2 bp on: 6 of 8 columns
    np.testing.assert_allclose(cg[1], cg[0])  # a palindrome: the other strand reads alike
    a = self_alignment(_cwm(A_SEQ))  # TTACCCGGAA; reverse complement TTCCGGGTAA
    assert a[0, 9] == 1 and np.delete(a[0], 9).max() == pytest.approx(0.5)
    np.testing.assert_allclose(a[1, 9 + np.arange(-1, 3)], [0.2, 0.6, 0.6, 0.4])  # one bp downstream: 6 of 10 bases
    assert not self_alignment(np.zeros((4, 5))).any()


def test_seqlet_recall_counts_placements_the_cwm_cannot_tell_apart():
    # P: CG repeat (trimmed 10 bp of 16: a copy 2 bp on matches 8 of 10 columns, 4 bp on 6 of 10; the other strand
    # at the same core alike); seqlets at r0 +10, r1 +20, r2 -30 (core 33), r3 +40
    p_seqlets = {"example_idx": [0, 1, 2, 3], "start": [10, 20, 30, 40], "end": [26, 36, 46, 56],
                 "is_revcomp": [False, False, True, False]}  # fmt: skip
    # A: TTACCCGGAA; seqlets r0 +10 (core 13), r1 -20 (core 23), r2 -20
    a_seqlets = {"example_idx": [0, 1, 2], "start": [10, 20, 20], "end": [26, 36, 36],
                 "is_revcomp": [False, True, True]}  # fmt: skip
    pats = [_pattern("P", "CGCGCGCGCG", seqlets=p_seqlets), _pattern("A", A_SEQ, seqlets=a_seqlets)]
    rows = [("r0", "P", "+", 12), ("r1", "P", "+", 21), ("r2", "P", "+", 30), ("r3", "P", "+", 44),
            ("r0", "A", "-", 11),  # A's reverse complement 1 bp downstream of the seqlet's core (6 of 10 bases)
            ("r1", "A", "+", 19),  # the seqlet reads A on '-': a '+' hit 1 bp upstream is A's copy 1 bp on, read back
            ("r2", "A", "+", 21)]  # fmt: skip  # ... and 1 bp downstream: 2 of 10 bases
    hits = pd.DataFrame(rows, columns=["region", "pattern", "strand", "untrimmed_start"])
    ids = ["r0", "r1", "r2", "r3"]
    trimmed = {p.name: p.trimmed_cwm for p in pats}
    exact = seqlet_recall(hits, pats, ids).set_index("pattern")
    assert exact["n_recalled"].tolist() == [0, 0]
    strict = seqlet_recall(hits, pats, ids, equivalent={n: (c, 0.7) for n, c in trimmed.items()}).set_index("pattern")
    assert strict["n_recalled"].tolist() == [2, 0]  # P: r0 (2 bp, 0.8) and r2 (other strand, 1.0); not r1, r3
    loose = seqlet_recall(hits, pats, ids, equivalent={n: (c, 0.55) for n, c in trimmed.items()}).set_index("pattern")
    assert loose["n_recalled"].tolist() == [3, 2] and loose["n_seqlets"].tolist() == [4, 3]  # P's r3 at 0.6
    with pytest.raises(CisflowError, match="pattern A: CWM \\(4, 16\\) for equivalent placements, not \\(4, 10\\)"):
        seqlet_recall(hits, pats, ids, equivalent={"A": (pats[1].cwm, 0.7)})


def test_missed_seqlets_lists_the_nearest_hit_over_the_core():
    # P (CG repeat, trimmed 10 of 16): seqlets r0 +10, r1 +20, r2 -30 (core 33), r3 +40, r4 +10 (no hit), r5 +10
    # (recalled); A (TTACCCGGAA): seqlets r1 -20 (core 23) and r2 -20, hits '+' with cores 22 and 24
    p_seqlets = {"example_idx": [0, 1, 2, 3, 4, 5], "start": [10, 20, 30, 40, 10, 10], "end": [26, 36, 46, 56, 26, 26],
                 "is_revcomp": [False, False, True, False, False, False]}  # fmt: skip
    a_seqlets = {"example_idx": [1, 2], "start": [20, 20], "end": [36, 36], "is_revcomp": [True, True]}
    pats = [_pattern("P", "CGCGCGCGCG", seqlets=p_seqlets), _pattern("A", A_SEQ, seqlets=a_seqlets)]
    rows = [("r0", "P", "+", 12), ("r0", "P", "-", 30), ("r1", "P", "+", 21), ("r2", "P", "+", 30),
            ("r3", "P", "+", 44), ("r5", "P", "+", 10), ("r1", "A", "+", 19), ("r2", "A", "+", 21)]  # fmt: skip
    hits = pd.DataFrame(rows, columns=["region", "pattern", "strand", "untrimmed_start"])
    hits["fitted"] = hits["pattern"] + np.where(hits["untrimmed_start"] == 30, "2", "")
    ids = [f"r{i}" for i in range(6)]
    p = missed_seqlets(hits, pats[0], ids)
    assert p["region"].tolist() == ["r0", "r1", "r2", "r3", "r4"]  # r5 recalled; r0's hit 20 bp off is not near
    assert p["shift"].tolist()[:4] == [2, 1, 0, 4] and np.isnan(p["shift"][4])
    assert p["other_strand"].tolist()[:4] == [False, False, True, False] and p["hit_pattern"][2] == "P2"
    np.testing.assert_allclose(p["self_cosine"][:4], [0.8, 0.0, 1.0, 0.6])
    a = missed_seqlets(hits, pats[1], ids)  # along the minus strand the '+' hit with core 22 lies 1 bp downstream
    assert a["shift"].tolist() == [1, -1] and a["other_strand"].all()
    np.testing.assert_allclose(a["self_cosine"], [0.6, 0.2])
    assert len(missed_seqlets(hits, pats[0], ids, only=np.array([1, 0, 0, 0, 0, 1], bool))) == 1
    with pytest.raises(CisflowError, match="pattern A: CWM \\(4, 16\\) for the shifts, not \\(4, 10\\)"):
        missed_seqlets(hits, pats[1], ids, cwm=pats[1].cwm)


def test_html_rows_give_the_equivalent_recall_where_it_differs(tmp_path):
    from cisflow.motifs.html import write_html

    pats = [_pattern("P", "CGCGCGCGCG"), _pattern("A", A_SEQ)]
    recall = pd.DataFrame({"pattern": ["P", "A", "equivalent:P", "equivalent:A"], "recall": [0.5, 0.9, 0.8, 0.9],
                           "lambda": [0.6, 0.7, 0.6, 0.7]})  # fmt: skip
    hits = pd.DataFrame({"region": ["r0", "r1"], "pattern": ["P", "A"]})
    matches = pd.DataFrame(columns=["pattern", "rank", "target_name", "target_id", "qvalue"])
    result = {"hits": hits, "recall": recall, "planted": pd.DataFrame(), "compare": pd.DataFrame()}
    write_html(tmp_path / "m.html", pats, matches, matches, result, tmp_path)
    page = (tmp_path / "m.html").read_text()
    assert "<td>0.50; 0.80 at placements its CWM cannot tell apart (λ 0.60)</td>" in page
    assert "<td>0.90 (λ 0.70)</td>" in page  # A: the same figure, said once


def test_planted_recall_precision_known_answer():
    emb = pd.DataFrame({"seq_id": ["s0", "s0", "s1", "s9"], "motif": ["M", "M", "M", "M"],
                        "start": [10, 50, 20, 0], "end": [20, 60, 30, 10]})  # fmt: skip
    hits = pd.DataFrame({"region": ["s0", "s0", "s1", "s1"], "pattern": ["p", "p", "p", "other"],
                         "start": [12, 80, 26, 20], "end": [22, 90, 36, 30]})  # fmt: skip
    table = planted_recall_precision(hits, emb, ["s0", "s1"], {"p": "M"}).iloc[0]
    # s0:10-20 overlapped 8 bp (found); s0:50-60 missed; s1:20-30 overlapped only 4 bp < 5; s9 not scored
    assert (table["n_planted"], table["n_recalled"], table["n_hits"], table["n_true"]) == (3, 1, 3, 1)
    assert table["recall"] == pytest.approx(1 / 3) and table["precision"] == pytest.approx(1 / 3)
    assert planted_recall_precision(hits, emb, ["s0", "s1"], {"p": "M"}, min_overlap=0.4).iloc[0]["n_recalled"] == 2
    with pytest.raises(CisflowError, match=r"min_overlap must be in \(0, 1\]"):
        planted_recall_precision(hits, emb, ["s0"], {"p": "M"}, min_overlap=0)


# ---------------------------------------------------------------- PWM scan


def test_pwm_scan_finds_planted_consensus_and_compares():
    pwm = one_hot(encode(A_SEQ)).astype(np.float64) * 0.97 + 0.01
    _, x = _regions([[(A_SEQ, 15)], [(_revcomp(A_SEQ), 70)], []], seed=7)
    scan = pwm_scan({"A": pwm}, x, ["r0", "r1", "r2"], threshold=1e-5)
    assert list(scan.columns) == ["motif", "region", "start", "end", "strand", "score", "pvalue"]
    assert scan[["region", "start", "end", "strand"]].values.tolist() == [["r0", 15, 25, "+"], ["r1", 70, 80, "-"]]
    assert (scan["pvalue"] < 1e-5).all()
    hits = pd.DataFrame({"region": ["r0", "r2"], "pattern": ["p", "p"], "start": [16, 40], "end": [25, 50]})
    row = compare_with_pwm_scan(hits, scan, ["r0", "r1", "r2", "r3"], {"A": ["p"]}, scan.iloc[:1], 2).iloc[0]
    assert (row["frac_hits"], row["frac_pwm"], row["frac_both"], row["frac_either"]) == (0.5, 0.5, 0.25, 0.75)
    assert row["jaccard"] == pytest.approx(1 / 3) and row["frac_hits_at_pwm"] == 0.5
    assert row["frac_pwm_at_hits"] == 0.5 and row["frac_pwm_null"] == 0.5
    # the overlaps are counted by row position, whatever the tables' index (other patterns' rows first)
    others = pd.DataFrame({"region": ["r1", "r1"], "pattern": ["q", "q"], "start": [0, 5], "end": [10, 15]})
    mixed = pd.concat([others, hits], ignore_index=True)
    mixed_scan = pd.concat([scan.assign(motif="B"), scan], ignore_index=True)  # B's matches first
    again = compare_with_pwm_scan(mixed, mixed_scan, ["r0", "r1", "r2", "r3"], {"A": ["p"]}).iloc[0]
    assert again["frac_hits_at_pwm"] == 0.5 and again["frac_pwm_at_hits"] == 0.5
    alone = compare_with_pwm_scan(hits, scan, ["r0", "r1", "r2", "r3"], {"A": []}).iloc[0]
    assert (alone["patterns"], alone["frac_hits"], alone["frac_pwm"]) == ("", 0.0, 0.5)  # no pattern matched A
    assert pwm_scan({"A": pwm}, x[2:], ["r2"], threshold=1e-9).empty
    with pytest.raises(CisflowError, match=r"one-hot \(N, 4, L\) and N ids"):
        pwm_scan({"A": pwm}, x, ["r0"])
    with pytest.raises(CisflowError, match="p-value threshold"):
        pwm_scan({"A": pwm}, x, ["r0", "r1", "r2"], threshold=2)


def test_known_targets_count_a_pattern_for_its_jaspar_and_truth_matches():
    def matches(rows):
        return pd.DataFrame(rows, columns=["pattern", "rank", "target_id", "qvalue"])

    jaspar = matches([("p", 1, "MA0363.3", 1e-5), ("p", 2, "MA0265.3", 0.3), ("q", 1, "MA0265.3", 0.5)])
    truth_df = matches([("p", 1, "T", 1e-3), ("q", 1, "T", 0.2)])
    pwm = one_hot(encode(A_SEQ)).astype(np.float64)
    by_motif, pwms = known_targets(jaspar, truth_df, {"T": pwm, "U": pwm}, "JASPAR2024", "fungi")
    assert by_motif == {"T": ["p"], "U": [], "MA0363.3": ["p"]}  # q's matches are not confident
    assert set(pwms) == {"T", "U", "MA0363.3"} and pwms["MA0363.3"].shape[0] == 4 and pwms["T"] is pwm


# ---------------------------------------------------------------- tables, files, plots


def _toy_hits() -> pd.DataFrame:
    columns = {
        "region": ["a", "a", "c"],
        "pattern": ["p", "q", "p"],
        "strand": ["+", "-", "+"],
        "start": [10, 40, 0],
        "end": [20, 48, 10],
        "score": [1.0, 3.0, 2.0],
        "similarity": [0.9, 0.75, 1.2],
        "_n": [0, 0, 2],
    }
    return pd.DataFrame(columns)


def test_per_region_table_known_answer():
    table = per_region_table(_toy_hits(), ["a", "b", "c"], ["p", "q", "r"])
    assert table.index.tolist() == ["a", "b", "c"] and table["n_hits"].tolist() == [2, 0, 1]
    assert table["best_pattern"].tolist() == ["q", "", "p"] and table["best_score"].tolist() == [3.0, 0.0, 2.0]
    assert table["p"].tolist() == [1, 0, 1] and table["p_best"].tolist() == [1.0, 0.0, 2.0]
    assert table["r"].tolist() == [0, 0, 0]
    assert cooccurrence(table, ["p", "q", "r"]).tolist() == [[2, 1, 0], [1, 1, 0], [0, 0, 0]]


def test_annotate_and_write_hits(tmp_path):
    hits = annotate_hits(_toy_hits(), 100, {"p": "REB1 (MA0363.3)"}, ["chrI", "chrI", "chrII"], [1000, 0, 500])
    assert hits["jaspar"].tolist() == ["REB1 (MA0363.3)", "", "REB1 (MA0363.3)"] and "_n" not in hits
    assert hits["genome_start"].tolist() == [1010, 1040, 500] and hits["chrom"].tolist() == ["chrI", "chrI", "chrII"]
    assert hits["center_offset"].tolist() == [-35.0, -6.0, -45.0]
    write_hits(hits, tmp_path / "h.tsv", tmp_path / "h.bed")
    bed = (tmp_path / "h.bed").read_text().splitlines()
    assert bed[0] == "chrI\t1010\t1020\tp:REB1\t900\t+" and bed[1] == "chrI\t1040\t1048\tq\t750\t-"
    assert bed[2] == "chrII\t500\t510\tp:REB1\t1000\t+"
    assert len(pd.read_csv(tmp_path / "h.tsv", sep="\t")) == 3
    regional = annotate_hits(_toy_hits(), 100)
    write_hits(regional, tmp_path / "r.tsv", tmp_path / "r.bed")
    assert (tmp_path / "r.bed").read_text().splitlines()[0] == "a\t10\t20\tp\t900\t+"


def test_summit_offsets_known_answer():
    summits = {"chrI": np.array([100, 300])}
    out = summit_offsets(np.array(["chrI", "chrI", "chrI", "chrII"]), np.array([90.0, 210.0, 400.5, 5.0]), summits)
    np.testing.assert_allclose(out[:3], [-10.0, -90.0, 100.5])
    assert np.isnan(out[3])


def test_plot_hit_summary_writes_png(tmp_path):
    hits = annotate_hits(_toy_hits(), 100)
    table = per_region_table(_toy_hits(), ["a", "b", "c"], ["p", "q"])
    plot_hit_summary(hits, table, ["p", "q"], tmp_path / "s.png", span=50)
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    empty = annotate_hits(_toy_hits().iloc[:0], 100)
    plot_hit_summary(empty, per_region_table(empty, ["a"], ["p"]), ["p"], tmp_path / "e.png", span=50)
    assert (tmp_path / "e.png").is_file()


def test_check_table_names_placement_rows_and_gives_intervals():
    from cisflow.motifs.hitstage import CHECK_COLUMNS, _check_table

    recall = pd.DataFrame({"pattern": ["A", "placement:A", "equivalent:A"], "n_seqlets": [10, 10, 10],
                           "n_recalled": [8, 10, 8], "recall": [0.8, 1.0, 0.8],
                           "n_hits": [12, np.nan, 12]})  # fmt: skip
    planted = pd.DataFrame({"motif": ["M"], "n_planted": [20], "n_recalled": [20], "recall": [1.0], "n_hits": [25],
                            "precision": [0.8]})  # fmt: skip
    table = _check_table(recall, planted)
    assert list(table.columns) == CHECK_COLUMNS
    assert table[["check", "subject"]].values.tolist() == [
        ["seqlet_recall", "A"], ["seqlet_placement", "A"], ["seqlet_recall_equivalent", "A"], ["planted_instances", "M"]
    ]  # fmt: skip
    np.testing.assert_allclose(table["fraction_low"], [0.4902, 0.7225, 0.4902, 0.8389], atol=1e-4)
    np.testing.assert_allclose(table["fraction_high"], [0.9433, 1.0, 0.9433, 1.0], atol=1e-4)
