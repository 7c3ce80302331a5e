"""Tests for the profile models (BPNet, ChromBPNet) and their loss: known answers and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from cisflow.errors import CisflowError
from cisflow.models import build_model, check_model_config, load_model, model_params, save_model
from cisflow.models.bpnet import required_input_length
from cisflow.profile.losses import counts_loss_weight, log_total, multinomial_nll, profile_loss

TINY = {"filters": 4, "n_layers": 2, "conv1_kernel": 5, "profile_kernel": 7}  # shrink 4 + 4 + 8 + 6 = 22


def _x(n: int, length: int, seed: int = 0) -> torch.Tensor:
    idx = torch.from_numpy(np.random.default_rng(seed).integers(0, 4, (n, length)))
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()


def test_default_geometry_is_2114_to_1000() -> None:
    assert required_input_length(1000, 8) == 2114
    with torch.device("meta"):
        model = build_model("bpnet", 2, 2114)
    profile, counts = model(torch.zeros(3, 4, 2114, device="meta"))
    assert profile.shape == (3, 2, 2, 1000) and counts.shape == (3, 2)


def test_longer_input_crops_to_the_central_output() -> None:
    torch.manual_seed(0)
    short = build_model("bpnet", 1, 42, output_length=20, **TINY).eval()
    long = build_model("bpnet", 1, 62, output_length=40, **TINY).eval()
    long.load_state_dict(short.state_dict())
    x = _x(2, 62)
    # a valid-convolution net is translation equivariant: the central 20 outputs of the long input
    # are the outputs of its central 42 bases
    np.testing.assert_allclose(long(x)[0][..., 10:30].detach(), short(x[..., 10:52])[0].detach(), atol=1e-5)


@pytest.mark.parametrize(
    ("length", "output", "message"),
    [(41, 20, "too short"), (43, 20, "even"), (42, 0, "positive")],
)
def test_bad_geometry(length: int, output: int, message: str) -> None:
    with pytest.raises(CisflowError, match=message):
        build_model("bpnet", 1, length, output_length=output, **TINY)


def test_control_enters_the_counts_head_as_log1p_of_the_window_total() -> None:
    model = build_model("bpnet", 1, 42, output_length=20, n_control=2, **TINY).eval()
    with torch.no_grad():
        model.counts.weight.zero_()
        model.counts.weight[0, -1] = 1.0
        model.counts.bias.fill_(0.5)
    control = torch.zeros(1, 2, 42)
    control[0, 0, 11:31] = 2.0  # 20 bases x 2 inside the output window [11, 31)
    control[0, 1, 0:11] = 100.0  # outside the output window: no effect on counts
    _, counts = model(_x(1, 42), control)
    assert counts.item() == pytest.approx(np.log1p(40.0) + 0.5, rel=1e-6)
    with pytest.raises(CisflowError, match="control"):
        model(_x(1, 42))


def test_chrombpnet_combines_logits_and_counts() -> None:
    model = build_model("chrombpnet", 1, 42, output_length=20, bias_filters=3, bias_layers=1, **TINY).eval()
    x = _x(3, 42)
    profile, counts = model(x)
    tf_profile, tf_counts = model.corrected(x)
    bias_profile, bias_counts = model.bias(x)
    torch.testing.assert_close(profile, tf_profile + bias_profile)
    torch.testing.assert_close(counts, torch.log(torch.exp(tf_counts) + torch.exp(bias_counts)))


def test_frozen_bias_gets_no_update_and_stays_in_eval_mode() -> None:
    model = build_model("chrombpnet", 1, 42, output_length=20, bias_filters=3, bias_layers=1, **TINY)
    model.freeze_bias()
    model.train()
    assert not model.bias.training and model.model.training
    before = {k: v.clone() for k, v in model.bias.state_dict().items()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    profile, counts = model(_x(4, 42))
    (profile.square().mean() + counts.square().mean()).backward()
    optimizer.step()
    assert all(torch.equal(before[k], v) for k, v in model.bias.state_dict().items())
    assert all(p.grad is None for p in model.bias.parameters())


def test_profile_models_save_and_load(tmp_path) -> None:
    model = build_model("bpnet", 2, 42, output_length=20, n_strands=2, n_control=2, **TINY).eval()
    save_model(tmp_path, model, {"tasks": ["a", "b"]})
    loaded, meta = load_model(tmp_path)
    x, ctl = _x(2, 42), torch.rand(2, 2, 42)
    torch.testing.assert_close(loaded(x, ctl), model(x, ctl))
    assert meta["tasks"] == ["a", "b"] and meta["name"] == "bpnet"


def test_model_family_checks() -> None:
    assert model_params("bpnet")["filters"] == 64 and model_params("chrombpnet")["bias_layers"] == 4
    check_model_config({"name": "bpnet", "params": {"filters": 8}}, family="profile")
    with pytest.raises(CisflowError, match="not a classifier model"):
        check_model_config({"name": "bpnet"})
    with pytest.raises(CisflowError, match="not a profile model"):
        check_model_config({"name": "basset"}, family="profile")
    with pytest.raises(CisflowError, match="unknown parameter 'width'"):
        check_model_config({"name": "chrombpnet", "params": {"width": 3}}, family="profile")


def test_multinomial_nll_equals_scipy() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 2, 2, 5))
    counts = rng.integers(0, 6, size=(3, 2, 2, 5)).astype(float)
    counts[0, 1] = 0  # an empty profile has probability 1
    nll = multinomial_nll(torch.tensor(logits), torch.tensor(counts)).numpy()
    for i in range(3):
        for t in range(2):
            p = np.exp(logits[i, t].ravel()) / np.exp(logits[i, t].ravel()).sum()
            k = counts[i, t].ravel()
            expected = -stats.multinomial.logpmf(k, int(k.sum()), p) if k.sum() else 0.0
            assert nll[i, t] == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_profile_loss_weighs_counts_mse() -> None:
    logits = torch.zeros(2, 1, 1, 4)
    counts = torch.tensor([[[[1.0, 1.0, 1.0, 0.0]]], [[[0.0, 0.0, 0.0, 0.0]]]])
    log_counts = torch.tensor([[np.log(4.0)], [1.0]])
    loss, nll, mse = profile_loss(logits, log_counts, counts, counts_weight=2.0)
    # MSE: region 0 exact (log 4 = log1p 3), region 1 off by 1 -> mean 0.5
    assert mse.item() == pytest.approx(0.5)
    # NLL of region 0 under uniform p = 1/4: -(log 3! + 3 log 1/4); region 1: 0
    assert nll.item() == pytest.approx(-(np.log(6) + 3 * np.log(0.25)) / 2, rel=1e-6)
    assert loss.item() == pytest.approx(nll.item() + 1.0, rel=1e-6)
    torch.testing.assert_close(log_total(counts), torch.log1p(torch.tensor([[3.0], [0.0]])))


def test_counts_loss_weight_is_median_over_ten() -> None:
    assert counts_loss_weight(np.array([10, 30, 50, 1000])) == pytest.approx(4.0)
    with pytest.raises(CisflowError, match="median"):
        counts_loss_weight(np.zeros(5))
    with pytest.raises(CisflowError, match="no training regions"):
        counts_loss_weight(np.array([]))
