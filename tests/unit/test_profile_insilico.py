"""Tests for cisflow.profile.insilico and .interpret on hand-built models with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.genome import encode
from cisflow.models import build_model
from cisflow.profile.insilico import (
    ablate_instances,
    find_instances,
    footprint_check,
    insert,
    marginal_footprint,
    shuffled_backgrounds,
    spacing_curve,
)
from cisflow.profile.interpret import HeadTarget, profile_contributions
from cisflow.pwm import log_odds

pytestmark = pytest.mark.usefixtures("one_torch_thread")

A, B = "GCATTC", "TTAGG"


def _match(x: torch.Tensor, motif: str) -> torch.Tensor:
    """1 at the centre of every exact forward match of ``motif`` in one-hot ``x``, else 0: ``(N, L)``."""
    w = torch.nn.functional.one_hot(torch.from_numpy(encode(motif)).long(), 4).T.float()[None]
    score = torch.nn.functional.conv1d(x, w, padding=len(motif) // 2)[:, 0, : x.shape[2]]
    return (score > len(motif) - 0.5).float()


class MotifModel(nn.Module):
    """Counts ``log(1 + 10·#A + 5·#B + 30·#(B centred 7 bp right of A))``; profile: A's footprint at −3 (+) / +3 (−)."""

    n_tasks, n_strands, n_control = 1, 2, 0

    def forward(self, x: torch.Tensor, control=None) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = _match(x, A), _match(x, B)
        pair = (a[:, :-7] * b[:, 7:]).sum(dim=1)
        counts = torch.log1p(10 * a.sum(1) + 5 * b.sum(1) + 30 * pair)[:, None]
        plus, minus = torch.roll(a, -3, dims=1), torch.roll(a, 3, dims=1)
        return 6 * torch.stack([plus, minus], dim=1)[:, None], counts


def _backgrounds(n: int = 8, length: int = 101) -> np.ndarray:
    rng = np.random.default_rng(0)
    return shuffled_backgrounds(rng.integers(0, 4, (3, length)).astype(np.uint8), n, seed=1)


def test_insert_places_the_motif_and_its_reverse_complement() -> None:
    seqs = np.zeros((1, 11), dtype=np.uint8)
    assert insert(seqs, "ACG", 5)[0, 4:7].tolist() == encode("ACG").tolist()
    assert insert(seqs, "ACG", 5, "-")[0, 4:7].tolist() == encode("CGT").tolist()
    with pytest.raises(CisflowError, match="does not fit"):
        insert(seqs, "ACGTACGTACGT", 5)


def test_marginal_footprint_recovers_the_built_in_footprint() -> None:
    fp = marginal_footprint(MotifModel(), _backgrounds(), A)
    mid = 101 // 2
    assert int(np.argmax(fp["normalised"][0, 0])) == mid - 3 and int(np.argmax(fp["normalised"][0, 1])) == mid + 3
    assert fp["with"].shape == (1, 2, 101) and fp["log2_fold_change"][0] > 1
    # on poly-A backgrounds nothing else matches: log(1 + 10) forward, log(1) for the reverse complement
    plain = marginal_footprint(MotifModel(), np.zeros((2, 101), dtype=np.uint8), A)
    assert plain["log_counts_with"][0] == pytest.approx(np.log(6)) and plain["log_counts_without"][0] == 0


def test_footprint_check_flags_a_footprint() -> None:
    table = footprint_check(MotifModel(), _backgrounds(), {"A": A, "B": B})
    flagged = dict(zip(table["motif"], table["passed"], strict=True))
    assert flagged == {"A": False, "B": True} and table["threshold"].iloc[0] == pytest.approx(3 / 202)


def test_spacing_curve_peaks_at_the_built_in_spacing() -> None:
    poly_a = np.zeros((2, 101), dtype=np.uint8)  # no chance matches: exact answers
    curve = spacing_curve(MotifModel(), poly_a, A, B, range(-20, 21), orientations=("++", "+-"))
    plus = curve[curve["orientation"] == "++"].set_index("spacing")["cooperativity"]
    assert plus[7] == pytest.approx(np.log2(3), rel=1e-4)  # 10 + 5 + 30 counts instead of 10 + 5
    assert plus.drop(7).abs().max() < 1e-4
    mixed = curve[(curve["orientation"] == "+-") & (curve["spacing"] > 0)]  # B reversed: never the pair
    assert mixed["cooperativity"].abs().max() < 1e-4
    assert not (curve["spacing"].abs() < 6).any()  # overlapping placements skipped


def test_find_and_ablate_instances() -> None:
    seqs = insert(_backgrounds(4), A, 30)
    pwm = np.eye(4)[encode(A)].T
    hits = find_instances(seqs, log_odds(pwm), threshold=10.0)
    assert (hits[hits["start"] == 27]["seq"].tolist()) == [0, 1, 2, 3] and set(hits["strand"]) >= {"+"}
    poly_a = insert(np.zeros((2, 101), dtype=np.uint8), A, 30)  # the instance is the only match
    ablated = ablate_instances(MotifModel(), poly_a, hits[hits["start"] == 27][:2], seed=0, n_shuffles=3)
    np.testing.assert_allclose(ablated["delta_log_counts"], -np.log(11.0), rtol=1e-5)
    assert (ablated["profile_jsd"] > 0.5).all()


def test_head_target_deepshap_sums_to_delta() -> None:
    torch.manual_seed(0)
    tiny = {"filters": 4, "n_layers": 2, "conv1_kernel": 5, "profile_kernel": 7}
    codes = np.random.default_rng(0).integers(0, 4, (3, 62)).astype(np.uint8)
    bpnet = build_model("bpnet", 2, 62, output_length=40, n_control=2, **tiny).eval()
    chrom = build_model("chrombpnet", 1, 62, output_length=40, bias_filters=3, bias_layers=1, **tiny).eval()
    for model, target, head in [(bpnet, "counts", "full"), (bpnet, "profile", "full"), (chrom, "profile", "corrected"),
                                (chrom, "counts", "bias")]:  # fmt: skip
        result = profile_contributions(model, codes, target, task=0, head=head, n_references=4)
        assert result["summation_error"].max() < 1e-6 and result["scores"].shape == (3, 4, 62)
    with pytest.raises(CisflowError, match="needs a ChromBPNet"):
        HeadTarget(bpnet, "profile", head="bias")
    with pytest.raises(CisflowError, match="task 2 out of range"):
        HeadTarget(bpnet, "counts", task=2)
    with pytest.raises(CisflowError, match="unknown target"):
        HeadTarget(bpnet, "shape")
