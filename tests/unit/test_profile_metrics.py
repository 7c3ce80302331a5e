"""Tests for cisflow.profile.metrics and .bias: JSD against scipy, bounds, counts metrics, bias rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from cisflow.errors import CisflowError
from cisflow.profile.bias import bias_threshold, low_count_background
from cisflow.profile.metrics import counts_metrics, jensen_shannon, jsd_bounds, profile_jsd, region_table, summarise


def test_jensen_shannon_equals_scipy() -> None:
    rng = np.random.default_rng(0)
    p, q = rng.integers(0, 5, (6, 30)).astype(float), rng.random((6, 30))
    q[0, :10] = 0
    expected = [jensenshannon(a / a.sum(), b / b.sum()) for a, b in zip(p, q, strict=True)]
    np.testing.assert_allclose(jensen_shannon(p, q), expected, rtol=1e-10)
    assert np.isnan(jensen_shannon(np.zeros((1, 4)), np.ones((1, 4)))[0])  # an empty region has no profile


def test_profile_jsd_uses_one_softmax_over_both_strands() -> None:
    counts = np.zeros((1, 1, 2, 3))
    counts[0, 0, 0, 1] = 4.0  # all reads on the + strand, middle base
    logits = np.full((1, 1, 2, 3), -50.0)
    logits[0, 0, 0, 1] = 0.0
    assert profile_jsd(counts, logits)[0, 0] == pytest.approx(0.0, abs=1e-9)
    logits[0, 0, 1, 1] = 0.0  # half the mass on the wrong strand
    assert profile_jsd(counts, logits)[0, 0] == pytest.approx(jensenshannon([1, 0], [0.5, 0.5]))


def test_bounds() -> None:
    counts = np.random.default_rng(1).integers(0, 9, (5, 1, 1, 40)).astype(float)
    bounds = jsd_bounds(counts, seed=0, replicates=(counts, counts))
    np.testing.assert_allclose(bounds["replicate"], 0.0, atol=1e-7)
    assert (bounds["uniform"] > 0).all() and (bounds["shuffled"] > 0).all()
    flat = np.ones((2, 1, 2, 10))
    np.testing.assert_allclose(jsd_bounds(flat, seed=0)["uniform"], 0.0, atol=1e-7)


def test_counts_metrics_known_values() -> None:
    m = counts_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 9.0]))
    assert m["counts_spearman"] == pytest.approx(1.0)
    assert m["counts_pearson"] == pytest.approx(11.5 / np.sqrt(5 * 26.75))
    assert m["counts_mse"] == pytest.approx((1 + 4 + 9 + 25) / 4) and m["n_regions"] == 4
    assert np.isnan(counts_metrics(np.ones(4), np.arange(4.0))["counts_pearson"])


def test_region_table_and_summary() -> None:
    counts = np.zeros((4, 1, 1, 5))
    counts[:, 0, 0, 2] = [9, 19, 0, 3]
    logits = np.zeros((4, 1, 1, 5))
    data = {"chrom": np.array(["c"] * 4), "center": np.arange(4), "is_peak": np.array([1, 1, 0, 0], bool),
            "tasks": np.array(["T"])}  # fmt: skip
    table = region_table(data, logits, np.log1p([[9.0], [19.0], [0.0], [3.0]]), counts, seed=0)
    assert table["region"].tolist() == ["peaks", "peaks", "background", "background"]
    assert np.isnan(table["jsd"].iloc[2]) and table["observed_log_counts"].iloc[1] == pytest.approx(np.log(20))
    summary = summarise(table).set_index("regions")
    assert summary.loc["all", "counts_mse"] == pytest.approx(0.0) and summary.loc["peaks", "n_regions"] == 2
    assert summary.loc["peaks", "median_jsd"] == pytest.approx(jensenshannon([0, 0, 1, 0, 0], [0.2] * 5))


def test_bias_threshold_and_background_selection() -> None:
    peaks = np.arange(1, 101, dtype=float)  # 1 % quantile = 1.99
    assert bias_threshold(peaks) == pytest.approx(0.5 * np.quantile(peaks, 0.01))
    totals = np.array([0.1, 0.5, 0.9, 5.0, 0.2])
    is_peak = np.array([False, False, False, False, True])
    keep = low_count_background(totals, is_peak, threshold=1.0, outlier=0.9)
    assert keep.tolist() == [False, True, False, False, False]  # 0.1 and 0.9 are the outliers; 5.0 too high
    with pytest.raises(CisflowError, match="no background region"):
        low_count_background(totals, is_peak, threshold=0.05)
    with pytest.raises(CisflowError, match="counts ceiling is 0"):
        bias_threshold(np.zeros(10))
