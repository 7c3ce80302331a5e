"""Tests for cisflow.denovo: de novo seed motifs from enriched gapped words."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cisflow.denovo import discover_seed_motifs, seed_sequences, write_seed_motifs
from cisflow.errors import CisflowError
from cisflow.genome import decode, encode, gc_fraction, reverse_complement_codes, write_fasta
from cisflow.labels import Labels, save_labels
from cisflow.narrowpeak import make_peaks, write_narrowpeak
from cisflow.pwm import load_motifs, read_meme
from cisflow.seeding import seed_filters

REB1 = "TTACCCGG"  # REB1's core (a contiguous word)
ABF1 = "TCACNNNNNACGA"  # an ABF1-like bipartite site: TCAC, 5 random bp, ACGA


def _plant(rng: np.random.Generator, n: int, length: int, words: dict[str, float]) -> np.ndarray:
    """``n`` random sequences; each word planted at a random place and strand in the given fraction of them
    (an N of a word: a random base at each site)."""
    codes = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    for word, fraction in words.items():
        for row in np.flatnonzero(rng.random(n) < fraction):
            site = encode(word)
            site[site == 4] = rng.integers(0, 4, size=int((site == 4).sum()))
            start = rng.integers(0, length - len(site))
            codes[row, start : start + len(site)] = site if rng.random() < 0.5 else reverse_complement_codes(site)
    return codes


def test_planted_words_are_found_first_with_their_gap_and_pwm() -> None:
    rng = np.random.default_rng(0)
    bound = _plant(rng, 400, 100, {REB1: 0.3, ABF1: 0.25})
    background = _plant(rng, 1200, 100, {})
    words = discover_seed_motifs(bound, background, n_motifs=4)
    assert len(words) == 2  # nothing else passes the Bonferroni bound
    by_gap = {w.gap: w for w in words}
    reb1, abf1 = by_gap[0], by_gap[5]
    assert reb1.word in (REB1, decode(reverse_complement_codes(encode(REB1))))
    assert abf1.word.replace("n", "") in ("TCACACGA", "TCGTGTGA")
    # the PWM's consensus spells the planted site (oriented as the word), flanks uniform-ish
    site = reb1.pwm[:, 4:12].argmax(axis=0).astype(np.uint8)
    assert decode(site) == reb1.word
    assert reb1.pwm[:, 4:12].max(axis=0).min() > 0.9 and reb1.pwm[:, :4].max() < 0.6
    gap = abf1.pwm[:, 8:13]  # the gap's columns come from the sites: random bases, no base above ~half
    assert abf1.pwm[:, [4, 5, 6, 7, 13, 14, 15, 16]].max(axis=0).min() > 0.9 and gap.max() < 0.5
    assert reb1.n_bound == pytest.approx(0.3 * 400, abs=25) and reb1.n_background < 5 and reb1.z > 10


def test_a_word_is_erased_before_the_next_round() -> None:
    """One strong motif gives one seed, not its shifted or one-base variants."""
    rng = np.random.default_rng(1)
    bound = _plant(rng, 300, 100, {"GATTACAGATTACA": 0.5})
    words = discover_seed_motifs(bound, _plant(rng, 900, 100, {}), n_motifs=5, max_gap=2)
    assert len(words) == 1 and words[0].n_sites >= 100


def test_no_enrichment_no_seeds_and_a_forced_threshold() -> None:
    rng = np.random.default_rng(2)
    bound, background = _plant(rng, 300, 80, {}), _plant(rng, 900, 80, {})
    assert discover_seed_motifs(bound, background, n_motifs=3, max_gap=2) == []
    forced = discover_seed_motifs(bound, background, n_motifs=3, max_gap=2, min_z=-np.inf, min_sites=2)
    assert [w.name for w in forced] == ["denovo_1", "denovo_2", "denovo_3"]


def test_bad_inputs() -> None:
    rng = np.random.default_rng(3)
    with pytest.raises(CisflowError, match="shorter than a word"):
        discover_seed_motifs(_plant(rng, 5, 12, {}), _plant(rng, 5, 12, {}), max_gap=8)
    with pytest.raises(CisflowError, match="need bound and background codes"):
        discover_seed_motifs(np.zeros((0, 50), np.uint8), _plant(rng, 5, 50, {}))


def test_seeds_round_trip_into_filters(tmp_path) -> None:
    """The MEME file is what motif_filters reads; a file without motifs seeds nothing."""
    import torch

    from cisflow.models import build_model

    rng = np.random.default_rng(4)
    words = discover_seed_motifs(_plant(rng, 300, 100, {REB1: 0.4}), _plant(rng, 900, 100, {}), n_motifs=2)
    write_seed_motifs(words, tmp_path / "seeds.meme", tmp_path / "seeds.tsv")
    table = pd.read_csv(tmp_path / "seeds.tsv", sep="\t")
    assert table["name"].tolist() == ["denovo_1"] and table["consensus"][0][4:12] == words[0].word
    motifs = load_motifs([str(tmp_path / "seeds.meme")])
    assert list(motifs) == ["denovo_1"] and np.allclose(motifs["denovo_1"], words[0].pwm, atol=1e-6)
    torch.manual_seed(0)
    model = build_model("deepbind", 1, 100, num_filters=8, conv_width=15)
    record = seed_filters(model, motifs)
    assert [r["filter"] for r in record] == [0, 1] and len({r["pwm_sha256"] for r in record}) == 1
    other = seed_filters(model, {"denovo_1": np.roll(words[0].pwm, 1, axis=1)})  # same name, other matrix
    assert other[0]["pwm_sha256"] != record[0]["pwm_sha256"]  # so a checkpoint of other seeds is not resumed
    write_seed_motifs([], tmp_path / "none.meme", tmp_path / "none.tsv")
    assert load_motifs([str(tmp_path / "none.meme")]) == {}
    assert pd.read_csv(tmp_path / "none.tsv", sep="\t").empty
    with pytest.raises(CisflowError, match=r"missing\.meme"):
        load_motifs([str(tmp_path / "missing.meme")])
    (tmp_path / "notes.meme").write_text("denovo_1 TTACCCGG\n")  # not a MEME file: an error, not "no motifs"
    with pytest.raises(CisflowError, match=r"notes\.meme: not a MEME motif file"):
        load_motifs([str(tmp_path / "notes.meme")])
    assert read_meme(tmp_path / "seeds.meme")["denovo_1"].shape == words[0].pwm.shape


def _world(tmp_path, rng):
    """Three chromosomes (train, valid, test) with peaks every 2 kb; the training peaks hold REB1 at the
    summit, the test chromosome's peaks another word (which must never be read)."""
    bin_size, stride, size = 200, 50, 40_000
    chroms = {c: rng.integers(0, 4, size).astype(np.uint8) for c in ("chrA", "chrV", "chrT")}
    chroms["chrA"][:1000] = 4  # an N run: no window is drawn there
    rows = []
    for chrom, word in (("chrA", REB1), ("chrV", "GGGGCCCC"), ("chrT", "CATCATCATGG")):
        for summit in range(2_000, size - 2_000, 2_000):
            site = encode(word)
            chroms[chrom][summit - 4 : summit - 4 + len(site)] = site
            rows.append((chrom, summit - 150, summit + 150, 150))
    peaks = make_peaks([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], summit=[r[3] for r in rows])
    write_narrowpeak(peaks, tmp_path / "peaks.narrowPeak")
    write_fasta(tmp_path / "g.fa", [(c, decode(v)) for c, v in chroms.items()])
    labels, keep = {}, {}
    for chrom in chroms:
        n = (size - bin_size) // stride + 1
        lab = np.zeros((n, 1), np.int8)
        starts = np.arange(n) * stride
        for c, lo, hi, _ in rows:
            if c == chrom:
                lab[(starts < hi) & (starts + bin_size > lo), 0] = 1
        labels[chrom], keep[chrom] = lab, np.ones(n, bool)
    save_labels(Labels(["T"], bin_size, stride, {c: size for c in chroms}, labels, keep), tmp_path / "labels.npz")
    splits = {"splits": {"chrA": "train", "chrV": "valid", "chrT": "test"}, "negative_ratio": 1.0}
    (tmp_path / "splits.json").write_text(json.dumps(splits))
    return [tmp_path / "labels.npz", tmp_path / "g.fa", tmp_path / "splits.json"]


def test_seed_sequences_read_the_training_split_only(tmp_path) -> None:
    rng = np.random.default_rng(5)
    files = _world(tmp_path, rng)
    bound, background = seed_sequences({"T": tmp_path / "peaks.narrowPeak"}, *files, window=100, seed=3)
    assert bound.shape == (18, 100) and background.shape == (54, 100)
    assert all(REB1 in decode(s) for s in bound)  # the training chromosome's summits, centred
    assert not any("CATCATCATGG" in decode(s) or "GGGGCCCC" in decode(s) for s in np.r_[bound, background])
    assert (background < 4).all() and abs(gc_fraction(background).mean() - gc_fraction(bound).mean()) < 0.05
    again = seed_sequences({"T": tmp_path / "peaks.narrowPeak"}, *files, window=100, seed=3)
    assert np.array_equal(again[1], background)  # seeded
    words = discover_seed_motifs(bound, background, n_motifs=2, min_sites=5)
    assert words[0].word in (REB1, decode(reverse_complement_codes(encode(REB1))))
    with pytest.raises(CisflowError, match="peaks given for X, which is not a task"):
        seed_sequences({"X": tmp_path / "peaks.narrowPeak"}, *files)
    # max_peaks: the summits with the highest signal value
    peaks = pd.read_csv(tmp_path / "peaks.narrowPeak", sep="\t", header=None)
    peaks[6] = np.arange(len(peaks), dtype=float)  # signal rises along the file: chrA's last 4 are the strongest
    peaks.to_csv(tmp_path / "ranked.narrowPeak", sep="\t", header=False, index=False)
    top, _ = seed_sequences({"T": tmp_path / "ranked.narrowPeak"}, *files, window=100, max_peaks=4)
    assert np.array_equal(top, bound[-4:])


def test_cli_writes_the_seeds(tmp_path, capsys) -> None:
    from cisflow.cli import main

    labels, fasta, splits = _world(tmp_path, np.random.default_rng(6))
    out = str(tmp_path / "o")
    common = ["--labels", str(labels), "--genome", str(fasta), "--splits", str(splits), "--out-dir", out]
    assert main(["denovo", "--peaks", f"T={tmp_path / 'peaks.narrowPeak'}", "--min-sites", "5", *common]) == 0
    assert "denovo_1" in capsys.readouterr().out
    assert next(iter(read_meme(tmp_path / "o/seeds.meme"))) == "denovo_1"
    assert main(["denovo", "--peaks", f"X={tmp_path / 'peaks.narrowPeak'}", *common]) == 2
    assert "peaks given for X, which is not a task of the labels" in capsys.readouterr().err
