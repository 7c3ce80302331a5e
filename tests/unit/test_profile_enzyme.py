"""Tests for cisflow.profile.enzyme: the enzyme's insertion matrix from cut sites, and bias patterns sorted by it."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from cisflow.errors import CisflowError
from cisflow.genome import Genome
from cisflow.motifs import jaspar_matrices
from cisflow.profile.bias_motifs import bias_pattern_table, classify_bias_patterns
from cisflow.profile.enzyme import (
    genome_composition,
    insertion_matrix,
    read_pattern_table,
    sites_matrix,
    tf_motif_check,
)
from cisflow.profile.pipeline import enzyme_matrix, make_tracks
from cisflow.pwm import read_meme, write_meme

COMPOSITION = np.array([0.3, 0.2, 0.2, 0.3])  # an AT-rich genome, as yeast's
FLANK = 12


def _planted(seed: int = 0) -> tuple[Genome, np.ndarray, dict]:
    """A random genome, a non-palindromic 7-bp matrix planted at columns 9..15 (centre 12), and 5' ends of
    unshifted Tn5 reads (+ at centre − 4, − at centre + 4) whose insertion centres are drawn ∝ the matrix's odds
    in read orientation: the − strand's reads at sites of its reverse complement. So the bases around the cut
    sites follow the matrix exactly, and the genome's composition elsewhere."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(4, size=200_000, p=COMPOSITION).astype(np.uint8)
    motif = rng.dirichlet(np.full(4, 0.4), size=7).T  # (4, 7)
    truth = np.repeat(COMPOSITION[:, None], 2 * FLANK + 1, axis=1)
    truth[:, FLANK - 3 : FLANK + 4] = motif
    ends = {}
    for strand, mat, offset in (("+", motif, -4), ("-", motif[::-1, ::-1], +4)):
        odds = np.log(mat / COMPOSITION[:, None])
        score = sum(odds[codes[j : len(codes) - 6 + j], j] for j in range(7))
        p = np.exp(score - score.max())
        centres = rng.choice(len(p), size=30_000, p=p / p.sum()) + 3
        centres = centres[(centres > 40) & (centres < len(codes) - 40)]
        ends[strand] = {"g": centres + offset}
    return Genome({"g": codes}), truth, ends


def _tagalign(path, ends) -> str:
    with gzip.open(path, "wt") as handle:
        for pos in ends["+"]["g"]:
            handle.write(f"g\t{pos}\t{pos + 36}\tr\t60\t+\n")
        for pos in ends["-"]["g"]:
            handle.write(f"g\t{pos - 35}\t{pos + 1}\tr\t60\t-\n")
    return str(path)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_insertion_matrix_recovers_a_planted_preference(tmp_path) -> None:
    genome, truth, ends = _planted()
    found = insertion_matrix(genome, ends, 4, 4, flank=FLANK)
    pfm, bg = found["pfm"], found["background"]
    assert pfm.shape == (4, 2 * FLANK + 1) and np.allclose(pfm.sum(axis=0), 1)
    assert np.abs(bg - COMPOSITION).max() < 0.01
    dev, true_dev = pfm - bg[:, None], truth - COMPOSITION[:, None]
    assert _cosine(dev, true_dev) > 0.98 and np.abs(pfm - truth).max() < 0.06
    planted = slice(FLANK - 3, FLANK + 4)
    assert (pfm[:, planted].argmax(axis=0) == truth[:, planted].argmax(axis=0)).all()
    true_info = (truth * np.log2(truth / COMPOSITION[:, None])).sum(axis=0)  # bits relative to the genome
    assert np.abs(found["information"] - true_info).max() < 0.1
    assert np.delete(found["information"], planted).max() < 0.02
    assert found["sites"]["+"] > 25_000 and found["sites"]["-"] > 25_000
    # each strand alone gives the matrix (the − strand's windows reverse complemented into read orientation)
    for strand in "+-":
        alone = insertion_matrix(genome, {strand: ends[strand]}, 4, 4, background=bg)["pfm"]
        assert _cosine(alone - bg[:, None], true_dev) > 0.97
    # the wrong shift (the cut sites 4 bp off) loses it
    assert _cosine(insertion_matrix(genome, ends, 0, 0, background=bg)["pfm"] - bg[:, None], true_dev) < 0.5

    # the stage: the tracks' report gives the shift, the MEME file the matrix with the genome's composition
    tag = _tagalign(tmp_path / "r.tagAlign.gz", ends)
    tracks = make_tracks(tag, genome.sizes, {".": tmp_path / "t.bw"}, "atac", shift=[4, 4], report=tmp_path / "t.json")
    assert tracks["shift"]["plus"] == 4
    summary = enzyme_matrix(tag, genome, tmp_path / "t.json", tmp_path / "e.meme", report=tmp_path / "e.json", seed=1)
    meme = read_meme(tmp_path / "e.meme")
    assert np.abs(meme["enzyme"] - pfm).max() < 1e-5 and summary["consensus"] == found["consensus"]
    assert np.abs(meme["enzyme_sites"] - found["sites_matrix"]).max() < 1e-5
    assert "Background letter frequencies" in (text := (tmp_path / "e.meme").read_text()) and "A 0.29" in text
    assert json.loads((tmp_path / "e.json").read_text())["shift"] == [4, 4]
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CisflowError, match="no shift"):
        enzyme_matrix(tag, genome, tmp_path / "bad.json", tmp_path / "x.meme")
    assert not (tmp_path / "x.meme").exists()
    with pytest.raises(CisflowError, match="no cut site"):
        insertion_matrix(genome, {"+": {"g": np.array([3])}, "-": {}}, 0, 0)


def test_sites_matrix_sharpens_the_odds_and_trims_flat_ends() -> None:
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    pfm = np.repeat(bg[:, None], 7, axis=1)
    pfm[:, 2] = [0.2, 0.4, 0.2, 0.2]  # C twice as likely as in the genome
    pfm[:, 4] = [0.45, 0.1, 0.15, 0.3]
    sites = sites_matrix(pfm, bg, 10_000, power=3, trim=0.25)
    assert sites.shape == (4, 3)  # columns 2..4: the flat ends are cut, the flat column between kept
    odds = (pfm[:, 2:5] / bg[:, None]) ** 3 * bg[:, None]
    np.testing.assert_allclose(sites, odds / odds.sum(axis=0), rtol=1e-9)
    assert np.allclose(sites[:, 1], bg) and sites[1, 0] > 0.6  # (0.4 / 0.2)^3: C at 8x its genome odds
    # a deviation that few sites cannot tell from noise is not sharpened into a motif
    noisy = pfm.copy()
    noisy[:, 0] = [0.31, 0.19, 0.2, 0.3]
    np.testing.assert_allclose(sites_matrix(noisy, bg, 10_000, power=3, trim=0.25), sites, rtol=1e-9)
    assert sites_matrix(noisy, bg, 20, power=3) is None  # 20 sites: no column significant


def test_genome_composition_counts_bases_not_n() -> None:
    genome = Genome({"a": np.array([0, 0, 1, 4, 4, 2, 3, 3], np.uint8), "b": np.array([3, 4], np.uint8)})
    assert genome_composition(genome).tolist() == [2 / 7, 1 / 7, 1 / 7, 3 / 7]


def test_bias_patterns_the_enzyme_is_not_a_tf(tmp_path) -> None:
    jaspar = jaspar_matrices("JASPAR2024", "fungi")
    # an enzyme matrix that JASPAR takes for the GAL4 zinc cluster, as Tn5's palindrome is on yeast
    enzyme = 0.7 * jaspar["MA0299.1"] + 0.3 * 0.25
    patterns = {"enzyme_copy": enzyme, "reb1": jaspar["MA0363.3"]}
    table = classify_bias_patterns(patterns, enzyme, jaspar, {"MA0299.1": "GAL4", "MA0363.3": "REB1"}).set_index(
        "pattern"
    )
    assert table.loc["enzyme_copy", "tf_name"] == "GAL4" and table.loc["enzyme_copy", "jaspar_significant"]
    assert table.loc["enzyme_copy", "enzyme_like"] and not table.loc["enzyme_copy", "tf_like"]
    assert table.loc["reb1", "tf_like"] and not table.loc["reb1", "enzyme_like"]
    assert table.loc["reb1", "tf_qvalue"] <= 0.05 < table.loc["reb1", "enzyme_qvalue"]
    assert classify_bias_patterns({}, enzyme, jaspar).empty
    with pytest.raises(CisflowError, match="named 'enzyme'"):
        classify_bias_patterns(patterns, enzyme, {"enzyme": enzyme})

    # the stage: a motif folder's patterns -> bias_patterns.tsv -> chrombpnet's check row
    write_meme(tmp_path / "patterns.meme", patterns)
    write_meme(tmp_path / "enzyme.meme", {"enzyme": np.full((4, 5), 0.25), "enzyme_sites": enzyme})
    (tmp_path / "m.tsv").write_text(
        "pattern\trank\ttarget_id\ttarget_name\n"
        + "".join(
            f"{p}\t1\t{i}\t{n}\n" for p, i, n in (("enzyme_copy", "MA0299.1", "GAL4"), ("reb1", "MA0363.3", "REB1"))
        )
    )
    written = bias_pattern_table(tmp_path / "m.tsv", tmp_path / "patterns.meme", tmp_path / "enzyme.meme",
                                 tmp_path / "bias_patterns.tsv", release="JASPAR2024", taxon="fungi")  # fmt: skip
    row = tf_motif_check(read_pattern_table(tmp_path / "bias_patterns.tsv"))
    assert row["value"] == 1 and not row["passed"] and len(written) == 2
    assert (
        "2 match JASPAR at q <= 0.05, 1 match the enzyme" in row["note"]
        and "taken as the enzyme: enzyme_copy (GAL4)" in row["note"]
    )
    only_enzyme = tf_motif_check(written[written["pattern"] != "reb1"])
    assert only_enzyme["value"] == 0 and only_enzyme["passed"]
    with pytest.raises(CisflowError, match="no motif named 'enzyme'"):
        bias_pattern_table(tmp_path / "m.tsv", tmp_path / "patterns.meme", tmp_path / "patterns.meme", tmp_path / "x")
    # cut sites without an enzyme preference (no enzyme_sites matrix): every significant JASPAR match counts
    write_meme(tmp_path / "flat.meme", {"enzyme": np.full((4, 5), 0.25)})
    flat = bias_pattern_table(tmp_path / "m.tsv", tmp_path / "patterns.meme", tmp_path / "flat.meme",
                              tmp_path / "flat.tsv", release="JASPAR2024", taxon="fungi")  # fmt: skip
    assert flat["tf_like"].sum() == 2 and flat["enzyme_pvalue"].isna().all()
    assert "no enzyme preference" in tf_motif_check(flat)["note"]
    with pytest.raises(CisflowError, match="not a bias patterns table: no tf_id"):
        read_pattern_table(tmp_path / "m.tsv")
