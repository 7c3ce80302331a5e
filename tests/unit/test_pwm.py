"""Tests for cisflow.pwm: loading, log-odds scanning, sampling, MEME round trip."""

from __future__ import annotations

import numpy as np
import pytest

from cisflow.errors import CisflowError
from cisflow.genome import encode, reverse_complement_codes
from cisflow.pwm import (
    consensus_codes,
    list_encode_motifs,
    load_encode_motif,
    load_jaspar_motif,
    load_motif,
    load_motifs,
    log_odds,
    max_log_odds,
    read_meme,
    sample_from_pwm,
    scan_log_odds,
    write_meme,
)

TAL1 = np.array(  # TAL1_known4 as in the ENCODE collection (columns sum to 1)
    [
        [0.25, 0, 0, 1, 0, 0, 0, 0, 0.2, 0],
        [0, 1, 1, 0, 0.2, 1, 0, 0, 0.4, 0.4],
        [0.25, 0, 0, 0, 0.4, 0, 0, 1, 0.2, 0],
        [0.5, 0, 0, 0, 0.4, 0, 1, 0, 0.2, 0.6],
    ]
)


def test_encode_collection_lists_and_loads_tal1():
    names = list_encode_motifs()
    assert len(names) == 2067 and "TAL1_known4" in names
    np.testing.assert_allclose(load_encode_motif("TAL1_known4"), TAL1, atol=1e-6)


def test_unknown_encode_motif_lists_close_names():
    with pytest.raises(CisflowError, match=r"unknown ENCODE motif 'TAL1_known99'.*TAL1_known4"):
        load_encode_motif("TAL1_known99")


def test_bad_encode_file(tmp_path):
    bad = tmp_path / "m.txt"
    bad.write_text(">A\nA 0.1 0.2\n")
    with pytest.raises(CisflowError, match=r"m.txt: line 2: expected"):
        list_encode_motifs(bad)


def test_jaspar_offline_reb1():
    name, pwm = load_jaspar_motif("MA0363.2")
    assert name == "REB1" and pwm.shape == (4, 15)
    np.testing.assert_allclose(pwm.sum(axis=0), 1.0)
    assert "".join("ACGT"[i] for i in consensus_codes(pwm)[5:11]) == "TACCCG"  # Reb1 core TTACCCG
    assert load_motif("jaspar:MA0363.2")[0] == "MA0363.2_REB1"
    assert load_motif("jaspar:JASPAR2020:MA0265.1")[0] == "MA0265.1_ABF1"


def test_jaspar_bad_inputs():
    with pytest.raises(CisflowError, match="not found in JASPAR2024"):
        load_jaspar_motif("MA9999.9")
    with pytest.raises(CisflowError, match="unknown JASPAR release"):
        load_jaspar_motif("MA0363.2", release="JASPAR1999")
    with pytest.raises(CisflowError, match="bad JASPAR motif spec"):
        load_motif("jaspar:")


def test_log_odds_known_values():
    lo = log_odds(TAL1, pseudocount=0.0 + 1e-12)
    assert lo[1, 1] == pytest.approx(2.0)  # p = 1 vs 0.25 background: 2 bits
    assert lo[0, 0] == pytest.approx(0.0)  # p = 0.25: 0 bits
    with pytest.raises(CisflowError, match="background"):
        log_odds(TAL1, background=(0.5, 0.5, 0, 0))
    with pytest.raises(CisflowError, match=r"shape \(4, W\)"):
        log_odds(np.ones((3, 5)))


def test_scan_finds_planted_consensus_on_both_strands():
    lo = log_odds(TAL1)
    site = consensus_codes(TAL1)
    codes = np.zeros((2, 50), dtype=np.uint8)  # poly-A background
    codes[0, 7:17] = site
    codes[1, 30:40] = reverse_complement_codes(site)
    scores = scan_log_odds(codes, lo)
    assert scores.shape == (2, 2, 41) and scores.dtype == np.float32
    assert np.unravel_index(scores[0].argmax(), scores[0].shape) == (0, 7)
    assert np.unravel_index(scores[1].argmax(), scores[1].shape) == (1, 30)
    best = lo.max(axis=0).sum()
    np.testing.assert_allclose(max_log_odds(codes, lo), [best, best], rtol=1e-5)


def test_scan_n_scores_zero_on_both_strands():
    lo = log_odds(TAL1)
    scores = scan_log_odds(encode("N" * 12), lo)
    np.testing.assert_array_equal(scores, 0)
    with pytest.raises(CisflowError, match="shorter than the motif"):
        scan_log_odds(encode("ACG"), lo)


def test_scan_equals_one_hot_dot_product():
    from cisflow.genome import one_hot

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, size=(3, 30)).astype(np.uint8)
    lo = log_odds(TAL1)
    x = one_hot(codes)
    j = 11
    expected_plus = (x[:, :, j : j + 10] * lo).sum(axis=(1, 2))
    expected_minus = (x[:, :, j : j + 10] * lo[::-1, ::-1]).sum(axis=(1, 2))
    np.testing.assert_allclose(scan_log_odds(codes, lo)[:, 0, j], expected_plus, rtol=1e-5)
    np.testing.assert_allclose(scan_log_odds(codes, lo)[:, 1, j], expected_minus, rtol=1e-5)


def test_sample_from_pwm_frequencies():
    samples = sample_from_pwm(TAL1, np.random.default_rng(1), 20000)
    assert samples.shape == (20000, 10) and samples.dtype == np.uint8
    freqs = np.stack([(samples == b).mean(axis=0) for b in range(4)])
    np.testing.assert_allclose(freqs, TAL1, atol=0.015)
    assert (samples[:, 1] == 1).all()  # deterministic column is always C


def test_meme_round_trip(tmp_path):
    motifs = {"TAL1_known4": TAL1, "two": np.full((4, 3), 0.25)}
    path = tmp_path / "m.meme"
    write_meme(path, motifs, nsites=7)
    text = path.read_text()
    assert text.startswith("MEME version 4") and "nsites= 7" in text
    back = read_meme(path)
    assert list(back) == list(motifs)
    for name, pwm in motifs.items():
        np.testing.assert_allclose(back[name], pwm, atol=1e-6)


def test_load_motifs_takes_specs_and_meme_files(tmp_path):
    """Specs give one motif each, a MEME file all of its motifs in order; an empty MEME file none; a name twice
    and a file that is not MEME are errors."""
    write_meme(tmp_path / "m.meme", {"one": TAL1, "two": np.full((4, 3), 0.25)})
    motifs = load_motifs(["jaspar:MA0363.3", str(tmp_path / "m.meme")])
    assert list(motifs) == ["MA0363.3_REB1", "one", "two"]
    np.testing.assert_allclose(motifs["one"], TAL1, atol=1e-6)
    np.testing.assert_allclose(motifs["MA0363.3_REB1"], load_motif("jaspar:MA0363.3")[1])
    assert list(load_motifs(str(tmp_path / "m.meme"))) == ["one", "two"]
    write_meme(tmp_path / "none.meme", {})
    assert load_motifs([str(tmp_path / "none.meme")]) == {}
    with pytest.raises(CisflowError, match="no motifs found"):
        read_meme(tmp_path / "none.meme")
    with pytest.raises(CisflowError, match=r"motif 'one' \(.*m\.meme\) is given twice"):
        load_motifs([str(tmp_path / "m.meme"), str(tmp_path / "m.meme")])
    (tmp_path / "x.meme").write_text("one TTACCCGG\n")
    with pytest.raises(CisflowError, match=r"x\.meme: not a MEME motif file"):
        load_motifs([str(tmp_path / "x.meme")])


def test_meme_bad_inputs(tmp_path):
    not_meme = tmp_path / "x.txt"
    not_meme.write_text("hello\n")
    with pytest.raises(CisflowError, match=r"x\.txt: not a MEME motif file"):
        read_meme(not_meme)
    with pytest.raises(CisflowError, match="does not exist"):
        read_meme(tmp_path / "missing.meme")
    with pytest.raises(CisflowError, match="without whitespace"):
        write_meme(tmp_path / "y.meme", {"a b": TAL1})
