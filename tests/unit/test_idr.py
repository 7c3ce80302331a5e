"""Tests for cisflow.idr: the copula mixture EM, global IDR, peak matching, and the CLI."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.idr import (
    _LOWER,
    _UPPER,
    _ca_round,
    _em_round,
    _m_step,
    _mixture_log_likelihood,
    _RankPair,
    compute_idr,
    fit_idr_model,
    global_idr,
    idr_peaks,
    match_peaks,
    mixture_cdf,
    posterior_reproducible,
    pseudo_values,
    rank_scores,
)
from cisflow.narrowpeak import make_peaks, read_narrowpeak, write_narrowpeak

TRUTH = {"mu": 3.0, "sigma": 1.0, "rho": 0.8, "pi": 0.5}


def _simulate(n: int, seed: int, mu=3.0, sigma=1.0, rho=0.8, pi=0.5):
    """Latent values of ``n`` matched peaks: reproducible N(mu, sigma, rho) first, then noise N(0, I)."""
    rng = np.random.default_rng(seed)
    n_rep = int(n * pi)
    cov = sigma**2 * np.array([[1.0, rho], [rho, 1.0]])
    z = np.vstack([rng.multivariate_normal([mu, mu], cov, n_rep), rng.standard_normal((n - n_rep, 2))])
    truth = np.r_[np.ones(n_rep, bool), np.zeros(n - n_rep, bool)]
    return z, truth


def _replicates(z: np.ndarray, seed: int = 0):
    """Two replicate peak tables at the same loci; signals are monotone transforms of ``z``."""
    n = len(z)
    rng = np.random.default_rng(seed)
    start = np.arange(n) * 1000
    jitter = rng.integers(-20, 20, size=(2, n))
    rep1 = make_peaks(
        ["chr1"] * n, start + jitter[0], start + 200 + jitter[0], signal=np.exp(z[:, 0]), pvalue=3 + np.exp(z[:, 0])
    )
    rep2 = make_peaks(
        ["chr1"] * n, start + jitter[1], start + 200 + jitter[1], signal=5 * np.exp(z[:, 1]) + 1, pvalue=np.exp(z[:, 1])
    )
    return rep1, rep2


def test_pseudo_values_invert_the_mixture_cdf():
    z = np.linspace(-6, 9, 61)
    u = mixture_cdf(z, 3.0, 1.5, 0.3)
    np.testing.assert_allclose(pseudo_values(u, 3.0, 1.5, 0.3), z, atol=1e-8)


def test_global_idr_known_answer():
    local = np.array([0.1, 0.3, 0.2, 0.3])
    # sorted 0.1 0.2 0.3 0.3 -> cumulative means 0.1 0.15 0.2 0.225; tied values take the last
    np.testing.assert_allclose(global_idr(local), [0.1, 0.225, 0.15, 0.225])


def test_rank_scores_are_ascending_and_break_ties_by_seed():
    u = rank_scores(np.array([5.0, 1.0, 3.0]))
    np.testing.assert_allclose(u, [3 / 4, 1 / 4, 2 / 4])
    tied = rank_scores(np.ones(50), seed=3)
    assert sorted(tied) == sorted((np.arange(50) + 1) / 51)
    np.testing.assert_array_equal(tied, rank_scores(np.ones(50), seed=3))


def test_em_converges_near_truth():
    z, _ = _simulate(4000, seed=7)
    fit = fit_idr_model(rank_scores(z[:, 0], 0), rank_scores(z[:, 1], 1))
    assert fit.converged
    assert abs(fit.mu - TRUTH["mu"]) < 0.3
    assert abs(fit.sigma - TRUTH["sigma"]) < 0.3
    assert abs(fit.rho - TRUTH["rho"]) < 0.1
    assert abs(fit.pi - TRUTH["pi"]) < 0.05


def test_compute_idr_recovers_reproducible_peaks_and_is_deterministic():
    z, truth = _simulate(1500, seed=11)
    local, glob, _ = compute_idr(np.exp(z[:, 0]), 10 * np.exp(z[:, 1]), seed=0)
    passed = glob <= 0.05
    assert passed[truth].mean() > 0.9
    assert (~truth[passed]).mean() < 0.1
    assert np.all(glob >= local.min()) and np.all(glob <= 1)
    local2, glob2, _ = compute_idr(np.exp(z[:, 0]), 10 * np.exp(z[:, 1]), seed=0)
    np.testing.assert_array_equal(glob, glob2)
    np.testing.assert_array_equal(local, local2)


def test_idr_peaks_on_replicate_tables():
    z, truth = _simulate(1000, seed=5)
    rep1, rep2 = _replicates(z)
    # a peak only in replicate 1 (far from the others)
    rep1 = pd.concat([rep1, make_peaks(["chr2"], [500], [700], signal=[1e6])], ignore_index=True)
    every = idr_peaks(rep1, rep2, keep_all=True)
    assert len(every) == 1001
    lonely = every[every["chrom"] == "chr2"]
    assert lonely["global_idr"].item() == 1.0 and lonely["local_idr"].item() == 1.0
    passed = idr_peaks(rep1, rep2, threshold=0.05)
    assert set(passed.columns) >= {"local_idr", "global_idr"}
    assert (passed["global_idr"] <= 0.05).all()
    kept_loci = set((passed["start"] + 100) // 1000)
    true_loci = set(np.flatnonzero(truth))
    assert len(kept_loci & true_loci) > 0.9 * len(true_loci)
    assert len(kept_loci - true_loci) < 0.1 * len(kept_loci)


def test_merging_without_oracle_sums_overlapping_peaks():
    rep1 = make_peaks(["chr1", "chr1", "chr1"], [100, 180, 1000], [200, 260, 1100], signal=[2.0, 3.0, 7.0])
    rep2 = make_peaks(["chr1", "chr1"], [150, 5000], [220, 5100], signal=[4.0, 1.0])
    merged = match_peaks(rep1, rep2, None, "signal")
    first = merged[merged["start"] == 100].iloc[0]
    assert (first["end"], first["score1"], first["score2"], first["matched"]) == (260, 5.0, 4.0, True)
    assert merged["matched"].sum() == 1 and len(merged) == 3


def test_oracle_coordinates_are_reported():
    z, _ = _simulate(300, seed=2)
    rep1, rep2 = _replicates(z)
    n = len(z)
    oracle = make_peaks(["chr1"] * n, np.arange(n) * 1000 + 50, np.arange(n) * 1000 + 150, signal=np.arange(n))
    every = idr_peaks(rep1, rep2, oracle=oracle, keep_all=True)
    assert sorted(every["start"]) == sorted(oracle["start"])
    assert (every["end"] - every["start"] == 100).all()
    np.testing.assert_allclose(np.sort(every["score1"]), np.sort(rep1["pvalue"]))


def test_oracle_picks_closest_summit():
    oracle = make_peaks(["chr1"], [100], [300], summit=[100])
    rep = make_peaks(["chr1", "chr1"], [90, 190], [150, 230], signal=[50.0, 1.0], summit=[10, 10])
    matched = match_peaks(rep, rep, oracle, "signal")
    assert matched["score1"].item() == 1.0  # summit 200 is closer to 200 than 100 is


def test_too_few_matched_peaks_gives_empty_set_and_warning(caplog):
    rep1 = make_peaks(["chr1"] * 5, np.arange(5) * 1000, np.arange(5) * 1000 + 100, signal=np.arange(5.0))
    rep2 = rep1.copy()
    with caplog.at_level(logging.WARNING, logger="cisflow.idr"):
        out = idr_peaks(rep1, rep2)
    assert out.empty and "local_idr" in out.columns
    assert "matched peaks" in caplog.text
    disjoint = rep1.assign(chrom="chr2")
    assert idr_peaks(rep1, disjoint).empty


def test_idr_ranks_by_pvalue_by_default():
    # p-values carry the reproducible ordering, signal values are noise: only p-value ranking finds the peaks
    z, truth = _simulate(600, seed=9)
    rep1, rep2 = _replicates(z)
    noise = np.random.default_rng(1).random((2, len(z)))
    rep1, rep2 = rep1.assign(signal=noise[0]), rep2.assign(signal=noise[1])
    default = idr_peaks(rep1, rep2)
    pd.testing.assert_frame_equal(default, idr_peaks(rep1, rep2, rank="pvalue"))
    assert len(default) > 0.8 * truth.sum()
    assert len(idr_peaks(rep1, rep2, rank="signal")) < 0.1 * truth.sum()


def _coordinatewise_argmax(z1, z2, theta) -> np.ndarray:
    """Brute force: per parameter, the best of 1001 values within ±0.05 (and the bounds), others fixed."""
    best = np.empty(4)
    for j in range(4):
        grid = np.linspace(max(_LOWER[j], theta[j] - 0.05), min(_UPPER[j], theta[j] + 0.05), 1001)
        lls = [_mixture_log_likelihood(z1, z2, np.r_[theta[:j], g, theta[j + 1 :]]) for g in grid]
        best[j] = grid[int(np.argmax(lls))]
    return best


def test_em_round_at_the_bounds_switches_to_bounded_coordinate_ascent():
    # pseudo-replicate-like data: correlation 0.999, so the EM update of rho leaves the bound 0.99
    z, _ = _simulate(1500, seed=4, rho=0.999, pi=0.4)
    ranks = _RankPair(rank_scores(z[:, 0], 0), rank_scores(z[:, 1], 1))
    start = np.array([2.0, 1.0, 0.9, 0.4])
    z1, z2 = ranks.pseudo(start)
    _, at_bound = _em_round(z1, z2, start, 1e-7)
    assert at_bound
    clipped = np.clip(_m_step(z1, z2, posterior_reproducible(z1, z2, start)), _LOWER, _UPPER)
    ascent = _ca_round(z1, z2, start, 1e-7)
    assert ((ascent >= _LOWER) & (ascent <= _UPPER)).all()
    assert _mixture_log_likelihood(z1, z2, ascent) > _mixture_log_likelihood(z1, z2, clipped)
    # each parameter sits at its best value within its bounds (rho at its bound 0.99, to fminbound's 1e-5)
    np.testing.assert_allclose(_coordinatewise_argmax(z1, z2, ascent), ascent, atol=1e-5)
    assert ascent[2] == pytest.approx(0.99, abs=1e-5)
    fit = fit_idr_model(ranks.values[ranks.i1], ranks.values[ranks.i2])
    assert fit.converged and fit.boundary_rounds > 0 and fit.rho <= 0.99
    # interior data never touch the bounds: plain EM throughout
    z, _ = _simulate(1500, seed=4)
    assert fit_idr_model(rank_scores(z[:, 0], 0), rank_scores(z[:, 1], 1)).boundary_rounds == 0


def test_bad_rank_is_an_error():
    rep = make_peaks(["chr1"], [0], [10])
    with pytest.raises(CisflowError, match="unknown IDR rank"):
        idr_peaks(rep, rep, rank="qvalue")


def test_cli_idr_writes_narrowpeak(tmp_path, capsys):
    z, _ = _simulate(400, seed=3)
    rep1, rep2 = _replicates(z)
    write_narrowpeak(rep1, tmp_path / "r1.narrowPeak")
    write_narrowpeak(rep2, tmp_path / "r2.narrowPeak")
    out, table = tmp_path / "idr.narrowPeak", tmp_path / "idr.tsv"
    argv = ["peaks", "idr", "--rep1", str(tmp_path / "r1.narrowPeak"), "--rep2", str(tmp_path / "r2.narrowPeak")]
    assert main([*argv, "--threshold", "0.05", "--out", str(out), "--table", str(table)]) == 0
    peaks = read_narrowpeak(out)
    assert 150 < len(peaks) < 260
    assert len(pd.read_csv(table, sep="\t")) == 400
    assert main([*argv[:5], str(tmp_path / "missing.narrowPeak"), "--out", str(out)]) == 2
    assert "missing.narrowPeak" in capsys.readouterr().err
