"""Tests for cisflow.baselines.gkm: gapped k-mer features against brute force, a planted motif, bad inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cisflow import baselines, metrics
from cisflow.baselines.gkm import gapped_patterns, gkm_features, gkm_svm_scores
from cisflow.errors import CisflowError
from cisflow.genome import decode, encode, reverse_complement_codes


def _brute(seq: str, l: int, k: int) -> dict[tuple, int]:  # noqa: E741
    """Gapped k-mer counts of both strands by Python loops: {(pattern offsets, bases): count}."""
    rc = decode(reverse_complement_codes(encode(seq)))
    counts: dict[tuple, int] = {}
    for strand in (seq, rc):
        for i in range(len(strand) - l + 1):
            window = strand[i : i + l]
            if "N" in window:
                continue
            for pattern in itertools.combinations(range(l), k):
                key = (pattern, "".join(window[o] for o in pattern))
                counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.parametrize("seq, l, k", [("ACGTTGCAAC", 4, 2), ("AACGNTTTGCAG", 3, 2), ("GATTACA", 5, 3)])
def test_features_equal_brute_force_counts(seq, l, k):  # noqa: E741
    x = gkm_features(encode(seq)[None], l, k).toarray()[0]
    patterns = [tuple(p) for p in gapped_patterns(l, k)]
    want = np.zeros_like(x)
    for (pattern, bases), n in _brute(seq, l, k).items():
        code = int("".join(str("ACGT".index(b)) for b in bases), 4)
        want[patterns.index(pattern) * 4**k + code] = n
    np.testing.assert_allclose(x, want / np.linalg.norm(want))
    assert x.shape == (len(patterns) * 4**k,)


def test_features_center_window_and_all_n():
    codes = np.stack([encode("NNNNACGTACGTNNNN"), np.full(16, 4, np.uint8)])
    x = gkm_features(codes, 3, 2, window=8)
    np.testing.assert_allclose(x[0].toarray(), gkm_features(encode("ACGTACGT")[None], 3, 2).toarray())
    assert x[1].nnz == 0  # all N: no window, a zero row


def _planted(n: int, length: int, seed: int, site: str = "TTGACGTCA") -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length), dtype=np.uint8)
    labels = (rng.random(n) < 0.5).astype(np.int8)
    for i in np.flatnonzero(labels):
        pos = rng.integers(0, length - len(site))
        codes[i, pos : pos + len(site)] = encode(site)
    return codes, labels


def test_gkm_svm_finds_a_planted_site():
    train, valid = _planted(300, 80, 0), _planted(100, 80, 1)
    test_codes, test_labels = _planted(200, 80, 2)
    train[1][:10] = -1  # ambiguous: left out
    scores, c = gkm_svm_scores(train, valid, test_codes, l=6, k=4, window=None, cs=(0.1, 1.0), max_train=200)
    assert scores.shape == (200,) and scores.dtype == np.float32 and c in (0.1, 1.0)
    assert metrics.auroc(test_labels, scores) > 0.95


def test_bad_inputs():
    with pytest.raises(CisflowError, match="1 <= k <= l"):
        gapped_patterns(3, 4)
    with pytest.raises(CisflowError, match="genome codes"):
        gkm_features(np.full((2, 10), 7, np.uint8), 3, 2)
    codes, _ = _planted(20, 30, 3)
    with pytest.raises(CisflowError, match="bound and unbound"):
        gkm_svm_scores((codes, np.zeros(20, np.int8)), (codes, np.zeros(20, np.int8)), codes, 4, 2)


def test_run_baselines_with_gkm(tmp_path):
    from cisflow._testing.artifacts import write_dataset

    paths = {}
    for seed, split in enumerate(("train", "valid", "test")):
        codes, labels = _planted(120, 60, seed + 10)
        paths[split] = tmp_path / f"{split}.npz"
        ids = np.array([f"{split}{i}" for i in range(120)])
        write_dataset(paths[split], codes, labels[:, None], ["t"], ids)
    gkm = {"enabled": True, "l": 6, "k": 4, "window": None, "max_train": 100, "C": [1.0]}
    table = baselines.run_baselines(*paths.values(), baselines.baseline_outputs(tmp_path / "out"), kmer=False, gkm=gkm)
    assert list(table["baseline"]) == ["gkm"] and table["auroc"].iloc[0] > 0.9
    assert table["params"].iloc[0] == "l=6 k=4 window=None max_train=100 C=1"
    for name in ("metrics.json", "predictions.npz"):
        assert (tmp_path / "out" / "gkm" / name).is_file()
    with pytest.raises(CisflowError, match="no baseline to run"):
        baselines.run_baselines(
            *paths.values(), baselines.baseline_outputs(tmp_path / "none"), kmer=False, gkm={"enabled": False}
        )
