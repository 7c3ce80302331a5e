"""Tests for cisflow.seeding: motif-seeded first-layer filters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.genome import encode, reverse_complement_codes
from cisflow.models import MODELS, build_model
from cisflow.pwm import load_motif, load_motifs, log_odds, scan_log_odds
from cisflow.seeding import PEAK, PSEUDOCOUNT, first_conv, motif_filter, seed_filters

# TAL1_known4 (ENCODE collection), columns sum to 1
TAL1 = np.array(
    [
        [0.25, 0, 0, 1, 0, 0, 0, 0, 0.2, 0],
        [0, 1, 1, 0, 0.2, 1, 0, 0, 0.4, 0.4],
        [0.25, 0, 0, 0, 0.4, 0, 0, 1, 0.2, 0],
        [0.5, 0, 0, 0, 0.4, 0, 1, 0, 0.2, 0.6],
    ]
)


def _one_hot(codes: np.ndarray, channels: int = 4) -> torch.Tensor:
    x = np.zeros((1, channels, codes.size), np.float32)
    x[0, codes[codes < 4], np.flatnonzero(codes < 4)] = 1
    return torch.from_numpy(x)


def test_consensus_column_known_answer() -> None:
    # a one-column motif certain of C: log2((1 + pc) / (1 + 4 pc) / 0.25) for C, log2(pc / (1 + 4 pc) / 0.25) else
    pwm = np.array([[0.0], [1.0], [0.0], [0.0]])
    weight, bias, kept = motif_filter(pwm, width=3)
    hit, miss = np.log2((1 + PSEUDOCOUNT) / 1.4 / 0.25), np.log2(PSEUDOCOUNT / 1.4 / 0.25)
    centred = np.array([miss, hit, miss, miss]) - (hit + 3 * miss) / 4
    expected = np.zeros((4, 3))
    expected[:, 1] = centred * PEAK / centred.max()
    np.testing.assert_allclose(weight[0], expected, rtol=1e-6)
    np.testing.assert_allclose(weight[1], expected[::-1, ::-1], rtol=1e-6)  # G in the middle of the minus strand
    assert bias.tolist() == [-PEAK / 2, -PEAK / 2] and kept == 1.0


def test_filter_scores_are_the_pwm_scan_rescaled() -> None:
    """Brute force: on every window the seeded filter equals the log-odds scan, affinely rescaled."""
    weight, _, kept = motif_filter(TAL1, width=14)
    assert kept == 1.0
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, 300).astype(np.uint8)
    lo = log_odds(TAL1, pseudocount=PSEUDOCOUNT)
    scan = scan_log_odds(codes[None], lo)  # (1, 2, n windows): forward, reverse complement
    conv = nn.functional.conv1d(_one_hot(codes), torch.from_numpy(weight)).numpy()[0]  # (2, 300 - 14 + 1)
    start = (14 - 10) // 2  # the motif sits in filter columns 2..11: filter window j scores motif window j + 2
    scan = scan[:, :, start : start + conv.shape[-1]]
    scale = PEAK / (lo - lo.mean(axis=0)).max(axis=0).sum()
    offset = lo.mean(axis=0).sum()
    np.testing.assert_allclose(conv[0], scale * (scan[0, 0] - offset), atol=1e-4)
    np.testing.assert_allclose(conv[1], scale * (scan[0, 1] - offset), atol=1e-4)


def test_best_match_scores_peak_on_both_strands() -> None:
    consensus = encode("TCCATCTGCT")  # TAL1's best bases (T at ties)
    weight, _, _ = motif_filter(TAL1, width=12)
    for strand, codes in enumerate((consensus, reverse_complement_codes(consensus))):
        padded = np.concatenate([encode("A"), codes, encode("A")])
        out = nn.functional.conv1d(_one_hot(padded), torch.from_numpy(weight[strand : strand + 1]))
        assert float(out.max()) == pytest.approx(PEAK, rel=1e-5)


def test_wide_motif_is_trimmed_to_its_informative_core() -> None:
    # 6 uninformative columns, then TAL1, then 6 more: a 14 bp filter keeps the 10 informative ones
    flat = np.full((4, 6), 0.25)
    wide = np.concatenate([flat, TAL1, flat], axis=1)
    weight, _, kept = motif_filter(wide, width=10)
    assert kept == pytest.approx(1.0)
    np.testing.assert_allclose(weight, motif_filter(TAL1, width=10)[0], atol=1e-6)
    _, _, kept = motif_filter(TAL1, width=4)
    assert 0 < kept < 1


def test_signal_channels_get_zero_weights() -> None:
    weight, _, _ = motif_filter(TAL1, width=12, in_channels=6)
    assert weight.shape == (2, 6, 12) and not weight[:, 4:].any()


def test_motif_filter_bad_inputs() -> None:
    with pytest.raises(CisflowError, match="non-negative"):
        motif_filter(np.ones((3, 5)), 10)
    with pytest.raises(CisflowError, match="without information"):
        motif_filter(np.full((4, 5), 0.25), 10)
    with pytest.raises(CisflowError, match="input channels"):
        motif_filter(TAL1, 10, in_channels=3)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_seed_filters_every_model(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 2, 200)
    conv = first_conv(model)
    before = conv.weight.detach().clone()
    seeded = seed_filters(model, {"TAL1": TAL1, "REB1": load_motif("jaspar:MA0363.2")[1]})
    assert [(s["filter"], s["motif"], s["strand"]) for s in seeded] == [
        (0, "TAL1", "+"), (1, "TAL1", "-"), (2, "REB1", "+"), (3, "REB1", "-"),
    ]  # fmt: skip
    width = conv.weight.shape[-1]
    np.testing.assert_allclose(conv.weight[0].detach().numpy(), motif_filter(TAL1, width)[0][0], atol=1e-6)
    assert torch.equal(conv.weight[4:], before[4:])  # the rest stay random


def test_seed_filters_errors() -> None:
    model = build_model("deepbind", 1, 100, num_filters=3)
    with pytest.raises(CisflowError, match="2 motifs need 4 filters"):
        seed_filters(model, {"a": TAL1, "b": TAL1})
    with pytest.raises(CisflowError, match="no convolution"):
        first_conv(nn.Sequential(nn.Linear(4, 1)))


def test_load_motifs() -> None:
    motifs = load_motifs(["TAL1_known4", "jaspar:MA0363.2"])
    assert list(motifs) == ["TAL1_known4", "MA0363.2_REB1"]
    np.testing.assert_allclose(motifs["TAL1_known4"], TAL1, atol=1e-6)
    with pytest.raises(CisflowError, match="given twice"):
        load_motifs(["TAL1_known4", "encode:TAL1_known4"])
    with pytest.raises(CisflowError, match="unknown ENCODE motif"):
        load_motifs(["TAL1_known99"])
