"""Tests for cisflow.predict: known answers of a linear model, batching, both strands, signal channels, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.genome import one_hot, reverse_complement_codes
from cisflow.models import build_model
from cisflow.predict import check_signal, codes_to_tensor, inference_model, predict, predict_logits, resolve_device

SMALL = {
    "sequence_dnn": {"num_filters": [4, 3], "conv_width": [5, 3], "pool_width": 7},
    "deepbind": {"num_filters": 4, "conv_width": 8, "hidden": 5},
    "basset": {"num_filters": [6, 5, 4], "conv_width": [5, 3, 3], "pool_width": [2, 2, 2], "hidden": [8, 8]},
}


class _Linear(nn.Module):
    """logits[n, t] = Σ_c,i w[t, c, i] · x[n, c, i] + b[t], for checking predictions by hand."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(weight, dtype=torch.float32))
        self.bias = nn.Parameter(torch.tensor(bias, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nci,tci->nt", x, self.weight) + self.bias


def test_linear_model_known_answer_with_signal():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, (11, 6), dtype=np.uint8)  # N (4) rows are all-zero one-hot
    signal = rng.random((11, 2, 6)).astype(np.float32)
    weight, bias = rng.normal(size=(3, 6, 6)), np.array([0.5, -1.0, 0.0])
    model = _Linear(weight, bias)
    x = np.concatenate([one_hot(codes), signal], axis=1).astype(np.float64)
    expected = np.einsum("nci,tci->nt", x, weight) + bias
    logits = predict_logits(model, codes, batch_size=4, device="cpu", signal=signal)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    probs = predict(model, codes, batch_size=3, device="cpu", signal=signal)
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-expected)), rtol=1e-5, atol=1e-6)
    # both strands: the reverse complement with the signal reversed along the sequence
    rc_x = np.concatenate([one_hot(reverse_complement_codes(codes)), signal[:, :, ::-1]], axis=1).astype(np.float64)
    rc = 1 / (1 + np.exp(-(np.einsum("nci,tci->nt", rc_x, weight) + bias)))
    avg = predict(model, codes, device="cpu", signal=signal, reverse_complement_average=True)
    np.testing.assert_allclose(avg, (1 / (1 + np.exp(-expected)) + rc) / 2, rtol=1e-5, atol=1e-6)


def test_codes_to_tensor_appends_signal_after_dna():
    codes = np.array([[0, 1, 2, 3, 4]], dtype=np.uint8)
    signal = np.full((1, 1, 5), 7.0, dtype=np.float16)
    x = codes_to_tensor(codes, torch.device("cpu"), signal)
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, 5, 5)
    np.testing.assert_array_equal(x[0, :4].numpy(), one_hot(codes)[0])
    assert (x[0, 4] == 7.0).all()


def test_empty_input_gives_empty_output():
    model = build_model("deepbind", 2, 40, **SMALL["deepbind"])
    assert predict(model, np.zeros((0, 40), np.uint8), device="cpu").shape == (0, 2)
    assert predict_logits(model, np.zeros((0, 40), np.uint8), device="cpu").shape == (0, 2)


def test_signal_checks():
    codes = np.zeros((3, 10), np.uint8)
    with pytest.raises(CisflowError, match=r"signal must be \(N, S, L\) = \(3, S, 10\)"):
        check_signal(np.zeros((3, 1, 9)), codes)
    with_signal = build_model("deepbind", 1, 10, in_channels=5, num_filters=2, conv_width=3, hidden=2)
    with pytest.raises(CisflowError, match=r"takes 5 input channels \(4 DNA \+ 1 signal\) but the data has 4"):
        predict(with_signal, codes, device="cpu")
    assert check_signal(np.zeros((3, 1, 10)), codes, with_signal).shape == (3, 1, 10)
    assert check_signal(None, codes, nn.Identity()) is None  # modules not built by cisflow are not checked


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(CisflowError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(CisflowError, match="has 0 CUDA device"):
            resolve_device("cuda")


def test_predict_matches_sigmoid_and_batching() -> None:
    torch.manual_seed(0)
    model = build_model("sequence_dnn", 3, 50, dropout=0.5, **{k: v for k, v in SMALL["sequence_dnn"].items()})
    codes = np.random.default_rng(1).integers(0, 5, (23, 50), dtype=np.uint8)
    model.train()
    probs = predict(model, codes, batch_size=5, device="cpu")
    assert model.training  # mode restored
    assert probs.shape == (23, 3) and probs.dtype == np.float32
    with torch.no_grad():
        expected = torch.sigmoid(model.eval()(torch.from_numpy(one_hot(codes)))).numpy()
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predict(model, codes, batch_size=100, device="cpu"), probs, rtol=1e-5, atol=1e-6)
    logits = predict_logits(model, codes, batch_size=7, device="cpu")
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), probs, rtol=1e-5, atol=1e-6)


def test_predict_reverse_complement_average() -> None:
    torch.manual_seed(0)
    model = build_model("deepbind", 2, 40, **SMALL["deepbind"])
    codes = np.random.default_rng(2).integers(0, 4, (9, 40), dtype=np.uint8)
    fwd = predict(model, codes, device="cpu")
    rev = predict(model, reverse_complement_codes(codes), device="cpu")
    avg = predict(model, codes, batch_size=4, device="cpu", reverse_complement_average=True)
    np.testing.assert_allclose(avg, (fwd + rev) / 2, rtol=1e-5, atol=1e-6)


def test_predict_bad_codes() -> None:
    model = build_model("deepbind", 1, 40, **SMALL["deepbind"])
    with pytest.raises(CisflowError, match=r"codes must be an \(N, L\) integer array"):
        predict(model, np.zeros(40, dtype=np.uint8))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_predict_on_cuda_close_to_cpu() -> None:
    torch.manual_seed(0)
    model = build_model("basset", 2, 120, **SMALL["basset"]).eval()
    codes = np.random.default_rng(3).integers(0, 4, (16, 120), dtype=np.uint8)
    cpu = predict(model, codes, device="cpu")
    gpu = predict(model, codes, device="cuda")  # bf16 autocast
    np.testing.assert_allclose(gpu, cpu, atol=2e-2)


def test_inference_model_folds_batchnorm_and_relus_in_place():
    """Prediction runs a copy with batch-norm folded and ReLUs in place where nothing else reads their input:
    the same probabilities (to float rounding); a ReLU whose input also feeds a skip connection stays a copy,
    and an untraceable model is used as it is."""

    torch.manual_seed(0)
    model = build_model("basset", 1, 100, num_filters=[4, 4, 4], conv_width=[5, 3, 3], pool_width=[2, 2, 2], hidden=[8])
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    fast = inference_model(model)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in fast.modules())
    assert all(m.inplace for m in fast.modules() if isinstance(m, nn.ReLU))
    assert not any(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))  # the model is untouched
    codes = np.random.default_rng(1).integers(0, 4, (16, 100)).astype(np.uint8)
    np.testing.assert_allclose(predict(fast, codes), predict(model, codes), atol=1e-6)

    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.act, self.out = nn.Conv1d(4, 4, 3, padding=1), nn.ReLU(), nn.Linear(4, 1)

        def forward(self, x):
            h = self.conv(x)
            return self.out((self.act(h) + h).mean(-1))  # h is read after the ReLU

    skip = Skip().eval()
    assert not inference_model(skip).act.inplace
    x = torch.randn(3, 4, 20)
    with torch.no_grad():
        assert torch.equal(inference_model(skip)(x), skip(x))

    class Untraceable(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 1)

        def forward(self, x):
            return self.fc(x.mean(-1)) if x.sum() > 0 else self.fc(x.amax(-1))

    untraceable = Untraceable()
    assert inference_model(untraceable) is untraceable
