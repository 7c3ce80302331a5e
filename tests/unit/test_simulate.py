"""Tests for cisflow.simulate: backgrounds, dinucleotide shuffle, simulation kinds, outputs, CLI."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from cisflow.artifacts import write_datasets
from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.genome import gc_fraction, read_fasta, reverse_complement_codes
from cisflow.pwm import load_encode_motif, log_odds, scan_log_odds
from cisflow.simulate import (
    dinucleotide_frequencies,
    dinucleotide_markov,
    dinucleotide_shuffle,
    dinucleotide_shuffles,
    fasta_dinucleotide_frequencies,
    heterodimer_grammar,
    kind_params,
    motif_counting,
    motif_density_localization,
    multi_motif_embedding,
    simulate,
    single_motif_detection,
    split_simulation,
    write_simulation,
    zero_order,
)

TAL1 = "TAL1_known4"


def _check_instances(sim, pwms):
    """Every embedding matches its PWM's support on its strand and instances never overlap."""
    row = {sid: i for i, sid in enumerate(sim.ids)}
    for seq_id, group in sim.embeddings.groupby("seq_id"):
        spans = sorted(zip(group["start"], group["end"], strict=True))
        assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(spans)), "instances overlap"
        for motif, start, end, strand in group[["motif", "start", "end", "strand"]].itertuples(index=False):
            site = sim.codes[row[seq_id], start:end]
            site = reverse_complement_codes(site) if strand == "-" else site
            assert (pwms[motif][site, np.arange(end - start)] > 0).all()


def _counts(sim):
    return sim.embeddings.groupby("seq_id").size().reindex(sim.ids, fill_value=0).to_numpy()


def test_single_motif_instances_score_high_and_negatives_are_empty():
    sim = single_motif_detection([TAL1], input_length=200, num_pos=40, num_neg=40, seed=3)
    pwm = load_encode_motif(TAL1)
    assert sim.codes.shape == (80, 200) and sim.codes.dtype == np.uint8
    assert sim.labels.shape == (80, 1) and sim.labels.dtype == np.int8 and sim.labels.sum() == 40
    assert list(sim.embeddings.columns) == ["seq_id", "motif", "start", "end", "strand"]
    np.testing.assert_array_equal(_counts(sim), sim.labels[:, 0])  # one per positive, none per negative
    _check_instances(sim, {TAL1: pwm})
    scores = scan_log_odds(sim.codes, log_odds(pwm))
    row = {sid: i for i, sid in enumerate(sim.ids)}
    for seq_id, start, strand in sim.embeddings[["seq_id", "start", "strand"]].itertuples(index=False):
        assert scores[row[seq_id], int(strand == "-"), start] > 10.0  # 6 fixed columns alone give 12 bits
    assert set(sim.embeddings["strand"]) == {"+", "-"}


def test_density_positions_inside_window_and_counts_in_range():
    sim = motif_density_localization([TAL1], input_length=400, num_pos=60, num_neg=60, center=100, seed=5)
    assert sim.tasks == [f"{TAL1}_localized"]
    counts = _counts(sim)
    assert counts.min() >= 2 and counts.max() <= 4 and set(counts) == {2, 3, 4}
    label = dict(zip(sim.ids, sim.labels[:, 0], strict=True))
    centres = sim.embeddings["start"] + 10 // 2
    positive = sim.embeddings["seq_id"].map(label) == 1
    assert centres[positive].between(150, 249).all()  # window [400//2 - 50, 400//2 + 50)
    assert not centres[~positive].between(150, 249).all()
    _check_instances(sim, {TAL1: load_encode_motif(TAL1)})


def test_heterodimer_spacing_and_negatives_hold_both_motifs():
    m1, m2 = "SPI1_known4", "IRF_known20"
    pwms = {m: load_encode_motif(m) for m in (m1, m2)}
    sim = heterodimer_grammar([m1, m2], input_length=300, num_pos=50, num_neg=50, spacing=(3, 6), seed=2)
    assert sim.tasks == [f"{m1}_{m2}_grammar"]
    label = dict(zip(sim.ids, sim.labels[:, 0], strict=True))
    for seq_id, group in sim.embeddings.groupby("seq_id"):
        assert sorted(group["motif"]) == sorted([m1, m2])
        if label[seq_id] == 1:
            first, second = group.sort_values("start").to_dict("records")
            assert 3 <= second["start"] - first["end"] <= 6
            assert first["strand"] == second["strand"]
            assert first["motif"] == (m1 if first["strand"] == "+" else m2)
    assert len(sim.embeddings) == 200
    _check_instances(sim, pwms)


def test_multi_motif_labels_match_embeddings():
    names = ["CTCF_known1", "SIX5_known1", TAL1]
    sim = multi_motif_embedding(names, input_length=300, num_pos=60, num_neg=20, min_motifs=1, max_motifs=2, seed=4)
    assert sim.tasks == names and sim.labels.shape == (80, 3)
    present = pd.crosstab(sim.embeddings["seq_id"], sim.embeddings["motif"]).reindex(sim.ids, fill_value=0)
    np.testing.assert_array_equal(present[names].to_numpy(), sim.labels)
    assert set(sim.labels.sum(axis=1)) == {0, 1, 2} and (sim.labels.sum(axis=1) == 0).sum() == 20
    _check_instances(sim, {m: load_encode_motif(m) for m in names})


def test_motif_counting_ranges():
    sim = motif_counting([TAL1], input_length=300, num_pos=30, num_neg=30, pos_counts=(3, 5), neg_counts=(0, 2), seed=1)
    counts = _counts(sim)
    assert set(counts[sim.labels[:, 0] == 1]) <= {3, 4, 5} and set(counts[sim.labels[:, 0] == 0]) <= {0, 1, 2}
    with pytest.raises(CisflowError, match="overlap"):
        motif_counting([TAL1], input_length=300, num_pos=3, num_neg=3, pos_counts=(2, 5), neg_counts=(0, 2))


def test_pwms_given_as_arrays():
    pwm = np.zeros((4, 4))
    pwm[[0, 1, 2, 3], [0, 1, 2, 3]] = 1  # ACGT, its own reverse complement
    sim = simulate("single_motif_detection", {"acgt": pwm}, input_length=30, num_pos=5, num_neg=0, seed=0)
    for i, (start, end) in enumerate(zip(sim.embeddings["start"], sim.embeddings["end"], strict=True)):
        assert sim.codes[i, start:end].tolist() == [0, 1, 2, 3]


def test_same_seed_same_output_other_seed_differs():
    kw = {"input_length": 150, "num_pos": 10, "num_neg": 10, "center": 60}
    a = motif_density_localization([TAL1], seed=7, **kw)
    b = motif_density_localization([TAL1], seed=7, **kw)
    c = motif_density_localization([TAL1], seed=8, **kw)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.embeddings, b.embeddings)
    assert not np.array_equal(a.codes, c.codes)
    assert a.params["seed"] == 7 and a.params["center"] == 60


def test_zero_order_gc_within_tolerance():
    codes = zero_order(400, 1000, 0.4, np.random.default_rng(0))
    assert codes.dtype == np.uint8 and codes.max() <= 3
    assert gc_fraction(codes.ravel()) == pytest.approx(0.4, abs=0.003)
    freqs = np.bincount(codes.ravel(), minlength=4) / codes.size
    np.testing.assert_allclose(freqs, [0.3, 0.2, 0.2, 0.3], atol=0.003)
    sim = single_motif_detection([TAL1], input_length=500, num_pos=100, num_neg=100, gc_fraction=0.6, seed=0)
    assert gc_fraction(sim.codes[sim.labels[:, 0] == 0].ravel()) == pytest.approx(0.6, abs=0.01)


def test_dinucleotide_markov_reproduces_frequencies():
    target = np.array([[0.10, 0.02, 0.05, 0.08], [0.02, 0.03, 0.01, 0.04], [0.06, 0.05, 0.04, 0.05]])
    target = np.vstack([target, [0.07, 0.05, 0.10, 0.23]])
    target = target / target.sum()
    codes = dinucleotide_markov(200, 1000, np.random.default_rng(1), target)
    observed = dinucleotide_frequencies(codes)
    transitions = target / target.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(observed / observed.sum(axis=1, keepdims=True), transitions, atol=0.01)
    uniform = dinucleotide_markov(100, 1000, np.random.default_rng(2))
    np.testing.assert_allclose(dinucleotide_frequencies(uniform), np.full((4, 4), 1 / 16), atol=0.003)


def test_dinucleotide_background_in_simulate_and_from_fasta(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACACACNACA\n>b\nCACA\n")
    freqs = fasta_dinucleotide_frequencies(fasta)
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 0] = 5, 5  # AC x5, CA x5 (pairs with N skipped)
    np.testing.assert_allclose(freqs, expected / 10)
    kw = {"background": "dinucleotide", "seed": 1, "dinucleotide_frequencies": freqs}
    sim = simulate("single_motif_detection", [TAL1], 60, 0, 4, **kw)
    assert all(set(map(tuple, np.lib.stride_tricks.sliding_window_view(c, 2))) <= {(0, 1), (1, 0)} for c in sim.codes)
    with pytest.raises(CisflowError, match="unknown background"):
        simulate("single_motif_detection", [TAL1], 200, 5, 5, background="markov2")
    with pytest.raises(CisflowError, match="only to background='dinucleotide'"):
        simulate("single_motif_detection", [TAL1], 200, 5, 5, dinucleotide_frequencies=freqs)


def test_dinucleotide_shuffle_preserves_counts_and_ends():
    rng = np.random.default_rng(0)
    seq = rng.integers(0, 4, size=500).astype(np.uint8)
    seq[100:110] = 4  # N is a fifth letter
    shuffled = dinucleotide_shuffle(seq, rng, n_shuffles=20)
    assert shuffled.shape == (20, 500) and shuffled.dtype == np.uint8

    def pairs(x):
        return np.bincount(x[:-1].astype(int) * 5 + x[1:], minlength=25)

    for s in shuffled:
        np.testing.assert_array_equal(pairs(s), pairs(seq))
        assert s[0] == seq[0] and s[-1] == seq[-1]
    assert not (shuffled == seq).all(axis=1).any()
    assert dinucleotide_shuffle(seq, rng).shape == (500,)
    np.testing.assert_array_equal(dinucleotide_shuffle(seq[:2], rng), seq[:2])
    with pytest.raises(CisflowError, match=r"shape \(L,\)"):
        dinucleotide_shuffle(np.zeros((2, 5), np.uint8), rng)


def test_dinucleotide_shuffle_is_uniform_over_valid_sequences():
    seq = np.array([0, 1, 0, 2, 1, 0, 2, 0], dtype=np.uint8)  # ACAGCAGA
    every = np.array(list(itertools.product(range(4), repeat=len(seq))), dtype=np.uint8)
    key = np.bincount(seq[:-1] * 4 + seq[1:], minlength=16)
    keys = np.stack([np.bincount(r[:-1] * 4 + r[1:], minlength=16) for r in every[every[:, 0] == seq[0]]])
    valid = {tuple(r) for r in every[every[:, 0] == seq[0]][(keys == key).all(axis=1)]}
    draws = dinucleotide_shuffle(seq, np.random.default_rng(3), n_shuffles=3000)
    seen = pd.Series([tuple(r) for r in draws.tolist()]).value_counts()
    assert set(seen.index) == valid
    expected = 3000 / len(valid)
    assert ((seen - expected).abs() < 5 * np.sqrt(expected)).all()


def test_dinucleotide_shuffle_draws_are_pinned_to_the_seed():
    """The same generator gives the same shuffles as every earlier release (DeepSHAP's references, so its scores,
    depend on them): a known answer drawn before the Eulerian walk was compiled."""
    from cisflow.genome import decode, encode

    out = dinucleotide_shuffle(encode("ACGTTGCAANNACGGTACCA"), np.random.default_rng(7), n_shuffles=3)
    assert [decode(row) for row in out] == ["ACGCCACGGTTGTAANNACA", "ANNACGTTGTACGGCCACAA", "ACCGTGGCAANNACACGTTA"]


def test_batched_dinucleotide_shuffles_keep_counts_and_are_uniform():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, size=(6, 300)).astype(np.uint8)
    out = dinucleotide_shuffles(codes, np.arange(6))
    assert out.shape == codes.shape and out.dtype == np.uint8
    for s, c in zip(out, codes, strict=True):
        np.testing.assert_array_equal(np.bincount(s[:-1] * 5 + s[1:], minlength=25),
                                      np.bincount(c[:-1] * 5 + c[1:], minlength=25))  # fmt: skip
        assert s[0] == c[0] and s[-1] == c[-1] and not np.array_equal(s, c)
    np.testing.assert_array_equal(dinucleotide_shuffles(codes[:2], [4, 5]), dinucleotide_shuffles(codes[:2], [4, 5]))
    seq = np.array([0, 1, 0, 2, 1, 0, 2, 0], dtype=np.uint8)  # ACAGCAGA: the same valid set as above
    every = np.array(list(itertools.product(range(4), repeat=len(seq))), dtype=np.uint8)
    key = np.bincount(seq[:-1] * 4 + seq[1:], minlength=16)
    keys = np.stack([np.bincount(r[:-1] * 4 + r[1:], minlength=16) for r in every[every[:, 0] == seq[0]]])
    valid = {tuple(r) for r in every[every[:, 0] == seq[0]][(keys == key).all(axis=1)]}
    draws = dinucleotide_shuffles(np.tile(seq, (3000, 1)), np.arange(3000))
    seen = pd.Series([tuple(r) for r in draws.tolist()]).value_counts()
    assert set(seen.index) == valid
    expected = 3000 / len(valid)
    assert ((seen - expected).abs() < 5 * np.sqrt(expected)).all()
    with pytest.raises(CisflowError, match=r"codes \(B, L\) and B seeds"):
        dinucleotide_shuffles(seq, [0])


def test_bad_kind_motif_and_params():
    with pytest.raises(CisflowError, match="unknown simulation kind 'nope'"):
        simulate("nope", [TAL1])
    with pytest.raises(CisflowError, match="unknown ENCODE motif"):
        simulate("single_motif_detection", ["NOT_A_MOTIF"], 100, 2, 2)
    with pytest.raises(CisflowError, match="does not take center"):
        simulate("single_motif_detection", [TAL1], 100, 2, 2, center=50)
    with pytest.raises(CisflowError, match="exactly 2 motif"):
        simulate("heterodimer_grammar", [TAL1], 100, 2, 2)
    with pytest.raises(CisflowError, match="gc_fraction"):
        simulate("single_motif_detection", [TAL1], 100, 2, 2, gc_fraction=1.5)
    with pytest.raises(CisflowError, match="could not place"):
        simulate("density_localization", [TAL1], 100, 2, 2, center=12, min_motifs=4, max_motifs=4)
    with pytest.raises(CisflowError, match="longer than the sequence"):
        simulate("single_motif_detection", [TAL1], 5, 2, 2)
    assert kind_params("heterodimer_grammar") == {"spacing": (2, 10)}


def test_outputs_round_trip(tmp_path):
    sim = motif_density_localization([TAL1], input_length=120, num_pos=15, num_neg=15, center=50, seed=1)
    write_simulation(sim, tmp_path / "s.fa.gz", tmp_path / "labels.tsv", tmp_path / "emb.tsv")
    seqs = read_fasta(tmp_path / "s.fa.gz")
    assert list(seqs) == sim.ids
    np.testing.assert_array_equal(np.stack(list(seqs.values())), sim.codes)
    labels = pd.read_csv(tmp_path / "labels.tsv", sep="\t")
    assert list(labels.columns) == ["id", *sim.tasks] and labels[sim.tasks[0]].tolist() == sim.labels[:, 0].tolist()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "emb.tsv", sep="\t"), sim.embeddings)

    splits = split_simulation(sim, valid_fraction=0.2, test_fraction=0.2, seed=0)
    assert [len(splits[s]["ids"]) for s in ("train", "valid", "test")] == [18, 6, 6]
    all_ids = np.concatenate([splits[s]["ids"] for s in splits])
    assert sorted(all_ids) == sorted(sim.ids)
    write_datasets(splits, {s: tmp_path / f"{s}.npz" for s in splits})
    with np.load(tmp_path / "train.npz") as data:
        assert data["codes"].dtype == np.uint8 and data["codes"].shape == (18, 120)
        assert data["labels"].dtype == np.int8 and data["labels"].shape == (18, 1)
        assert data["tasks"].tolist() == sim.tasks and data["ids"].shape == (18,)
    with pytest.raises(CisflowError, match="fractions"):
        split_simulation(sim, 0.5, 0.5)
    with pytest.raises(CisflowError, match="no dataset for split"):
        write_datasets(splits, {"other": tmp_path / "o.npz"})


def test_cli_simulate_writes_everything(tmp_path, capsys, caplog):
    out = tmp_path / "sim"
    argv = ["simulate", "--kind", "heterodimer_grammar", "--motif", "SPI1_known4", "--motif", "IRF_known20"]
    argv += ["--input-length", "120", "--num-pos", "10", "--num-neg", "10", "--spacing", "2", "4", "--seed", "1"]
    assert main([*argv, "--out-dir", str(out)]) == 0
    for name in ("sequences.fa.gz", "labels.tsv", "embeddings.tsv", "params.json", "train.npz", "valid.npz"):
        assert (out / name).is_file()
    assert '"spacing": [\n    2,\n    4\n  ]' in (out / "params.json").read_text()
    assert json.loads((out / "params.json").read_text())["input_length"] == 120
    # the old flag name still works, with a one-line warning
    with caplog.at_level("WARNING", logger="cisflow.cli.simulate"):
        assert main([*argv[:7], "--length", "90", *argv[9:], "--out-dir", str(tmp_path / "old")]) == 0
    assert json.loads((tmp_path / "old" / "params.json").read_text())["input_length"] == 90
    assert caplog.messages == ["cisflow simulate: --length is deprecated, use --input-length"]


def test_cli_simulate_errors(tmp_path, capsys):
    argv = ["simulate", "--kind", "single_motif_detection", "--motif", TAL1, "--num-pos", "2", "--num-neg", "2"]
    assert main([*argv, "--spacing", "1", "2", "--out-dir", str(tmp_path)]) == 2
    assert "does not take spacing" in capsys.readouterr().err
    assert main([*argv[:3], "--motif", "TAL1_knwn4", "--out-dir", str(tmp_path)]) == 2
    assert "unknown ENCODE motif 'TAL1_knwn4'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_fasta_dinucleotides_streamed_in_pieces_count_pairs_across_pieces(tmp_path, monkeypatch):
    from cisflow import genome as genome_mod
    from cisflow.genome import write_fasta
    from cisflow.simulate import fasta_dinucleotide_frequencies

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), n)) for n in (500, 1, 77)]
    write_fasta(tmp_path / "g.fa.gz", [(f"s{i}", s) for i, s in enumerate(seqs)], width=13)
    whole = fasta_dinucleotide_frequencies(tmp_path / "g.fa.gz")
    monkeypatch.setattr(genome_mod, "_CHUNK", 5)
    np.testing.assert_allclose(fasta_dinucleotide_frequencies(tmp_path / "g.fa.gz"), whole)
    counts = sum(_pairs(s) for s in seqs)  # by hand: pairs within a record only, N pairs skipped
    np.testing.assert_allclose(whole, counts / counts.sum())


def _pairs(seq: str) -> np.ndarray:
    counts = np.zeros((4, 4))
    for a, b in itertools.pairwise(seq):
        if a in "ACGT" and b in "ACGT":
            counts["ACGT".index(a), "ACGT".index(b)] += 1
    return counts
