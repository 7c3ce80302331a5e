"""Tests for cisflow.profile.tracks and cisflow.profile.shift: 5′ ends, shifts, bigWigs, the enzyme check."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from cisflow.errors import CisflowError
from cisflow.genome import Genome
from cisflow.profile.pipeline import make_tracks
from cisflow.profile.shift import detect_shift, palindrome_center, sample_ends, strand_offset
from cisflow.profile.tracks import read_five_prime_ends, read_windows, shift_ends, track_positions, write_count_bigwig

SIZES = {"c1": 100, "c2": 50}


def _tagalign(path, lines) -> str:
    with gzip.open(path, "wt") as handle:
        for chrom, start, end, strand in lines:
            handle.write(f"{chrom}\t{start}\t{end}\tr\t60\t{strand}\n")
    return str(path)


def test_five_prime_ends_and_shift(tmp_path) -> None:
    path = _tagalign(tmp_path / "a.tagAlign.gz", [("c1", 10, 20, "+"), ("c1", 30, 40, "-"), ("c2", 0, 5, "-")])
    ends = read_five_prime_ends(path, SIZES)
    assert ends["+"]["c1"].tolist() == [10] and ends["-"]["c1"].tolist() == [39] and ends["-"]["c2"].tolist() == [4]
    moved = shift_ends(ends, 4, 4, SIZES)  # + moves right, - moves left (read orientation)
    assert moved["+"]["c1"].tolist() == [14] and moved["-"]["c1"].tolist() == [35] and moved["-"]["c2"].tolist() == [0]
    assert shift_ends(ends, 0, 5, SIZES)["-"]["c2"].tolist() == []  # moved off the chromosome
    merged = track_positions(moved, "atac")
    assert sorted(merged["."]["c1"].tolist()) == [14, 35]


def test_bad_tagalign_inputs(tmp_path) -> None:
    frags = tmp_path / "frags.bed"
    frags.write_text("c1\t1\t20\tf\n")
    with pytest.raises(CisflowError, match="strand column"):
        read_five_prime_ends(frags, SIZES)
    other = _tagalign(tmp_path / "b.tagAlign.gz", [("chr1", 1, 5, "+")])
    with pytest.raises(CisflowError, match="chr1"):
        read_five_prime_ends(other, SIZES)
    with pytest.raises(CisflowError, match="does not exist"):
        read_five_prime_ends(tmp_path / "missing.tagAlign.gz", SIZES)


def test_count_bigwig_round_trip(tmp_path) -> None:
    bw = tmp_path / "t.bw"
    assert write_count_bigwig(bw, SIZES, {"c1": np.array([3, 3, 7, 99]), "c2": np.array([0])}) == 5
    win = read_windows([bw], ["c1", "c2", "c1"], np.array([0, -2, 95]), 10)
    assert win.shape == (3, 1, 10)
    assert win[0, 0].tolist() == [0, 0, 0, 2, 0, 0, 0, 1, 0, 0]
    assert win[1, 0].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]  # starts before the chromosome
    assert win[2, 0, 4] == 1 and win[2, 0, 5:].sum() == 0  # runs past its end
    with pytest.raises(CisflowError, match="chrX"):
        read_windows([bw], ["chrX"], np.array([0]), 5)


def test_make_tracks_chip_and_atac(tmp_path) -> None:
    path = _tagalign(tmp_path / "a.tagAlign.gz", [("c1", 10, 20, "+"), ("c1", 10, 20, "+"), ("c1", 30, 40, "-")])
    out = {"+": tmp_path / "p.bw", "-": tmp_path / "m.bw"}
    summary = make_tracks(path, SIZES, out, "chip", report=tmp_path / "r.json")
    assert summary["counts"] == {"+": 2, "-": 1} and summary["shift"]["plus"] == 0
    assert read_windows([out["+"], out["-"]], ["c1"], np.array([0]), 50)[0, :, [10, 39]].tolist() == [[2, 0], [0, 1]]
    atac = make_tracks(path, SIZES, {".": tmp_path / "a.bw"}, "atac", shift=[4, 4])
    track = read_windows([tmp_path / "a.bw"], ["c1"], np.array([0]), 50)[0, 0]
    assert atac["counts"] == {".": 3} and track[14] == 2 and track[35] == 1
    with pytest.raises(CisflowError, match="one bigWig each"):
        make_tracks(path, SIZES, {".": tmp_path / "x.bw"}, "chip")
    with pytest.raises(CisflowError, match="shift must be"):
        make_tracks(path, SIZES, {".": tmp_path / "x.bw"}, "atac", shift="left")
    with pytest.raises(CisflowError, match="needs the genome"):
        make_tracks(path, SIZES, {".": tmp_path / "x.bw"}, "atac", shift="auto")


def _tn5_genome(seed: int = 0) -> tuple[Genome, np.ndarray]:
    """A random genome and insertion centres drawn ∝ exp(score) of a strong 11-bp palindrome centred on them."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, 150_000).astype(np.uint8)
    half = rng.dirichlet(np.full(4, 0.3), size=5).T  # (4, 5) arm, strongly biased columns
    pwm = np.concatenate([half, np.full((4, 1), 0.25), half[::-1, ::-1]], axis=1)  # RC-symmetric around column 5
    logodds = np.log(pwm / 0.25)
    score = sum(logodds[codes[j : len(codes) - 10 + j], j] for j in range(11))
    p = np.exp(score - score.max())
    centres = rng.choice(len(p), size=20_000, p=p / p.sum()) + 5
    return Genome({"g": codes}), centres[(centres > 60) & (centres < len(codes) - 60)]


def test_detect_shift_finds_the_tn5_centre() -> None:
    genome, centres = _tn5_genome()
    raw = {"+": {"g": centres - 4}, "-": {"g": centres + 4}}  # the 9-bp duplication's two 5' ends
    found = detect_shift(genome, raw, "atac")
    assert (found["plus"], found["minus"]) == (4, 4) and found["contrast"] > 1.5
    encode_shifted = {"+": {"g": centres}, "-": {"g": centres - 1}}  # ENCODE's +4 / -5
    assert (lambda f: (f["plus"], f["minus"]))(detect_shift(genome, encode_shifted, "atac")) == (0, -1)
    dnase = detect_shift(genome, {"+": {"g": centres - 4}, "-": {"g": centres + 6}}, "dnase")
    assert (dnase["plus"], dnase["minus"]) == (0, 2)


def test_detect_shift_refuses_reads_without_a_motif() -> None:
    genome, _ = _tn5_genome()
    rng = np.random.default_rng(3)
    uniform = {s: {"g": rng.integers(100, 149_000, 20_000)} for s in "+-"}
    with pytest.raises(CisflowError, match="no clear Tn5 motif"):
        detect_shift(genome, uniform, "atac")
    with pytest.raises(CisflowError, match="not 'chip'"):
        detect_shift(genome, uniform, "chip")


def test_palindrome_and_strand_offset_on_hand_made_frequencies() -> None:
    rng = np.random.default_rng(1)
    freqs = np.full((4, 51), 0.25)
    arm = rng.dirichlet(np.ones(4), size=6).T
    freqs[:, 28:34] = arm
    freqs[:, 21:27] = arm[::-1, ::-1]  # mirror image around column 27 = middle (25) + 2
    assert palindrome_center(freqs)[0] == 2
    shifted = np.roll(freqs, 3, axis=1)
    assert strand_offset(freqs, shifted) == 3


def test_sample_ends_is_seeded_and_bounded() -> None:
    ends = {"+": {"a": np.arange(10), "b": np.arange(100, 105)}, "-": {"a": np.arange(3)}}
    one, two = sample_ends(ends, 4, seed=7), sample_ends(ends, 4, seed=7)
    assert sum(len(v) for v in one["+"].values()) == 4 and sum(len(v) for v in one["-"].values()) == 3
    assert all(np.array_equal(one["+"][c], two["+"][c]) for c in ("a", "b"))
