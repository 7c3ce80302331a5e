"""Tests for cisflow.interpret: ISM (naive, fast), gradients, DeepSHAP, positional auPRC, filter matches."""

from __future__ import annotations

import importlib
import platform
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.interpret import (
    deepshap,
    deepshap_scores,
    filter_motif_matches,
    gradient_x_input,
    hypothetical_gradients,
    input_gradients,
    ism,
    ism_fast,
    plot_filter_logos,
    positional_auprc,
    shuffled_references,
)
from cisflow.interpret._fastism import GlobalPoolHead, block_starts, chained, plan_fast_ism, staged
from cisflow.models import build_model

torch.set_num_threads(1)


def _onehot(n: int, length: int, seed: int = 0) -> np.ndarray:
    codes = np.random.default_rng(seed).integers(0, 4, (n, length))
    return np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1).copy()


class Linear(nn.Module):
    """f(x) = Σ W[t] · x + c: a dense layer on the flattened one-hot."""

    def __init__(self, length: int, n_tasks: int = 2) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(4 * length, n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))

    def w(self, task: int) -> np.ndarray:
        return self.fc.weight.detach().numpy()[task].reshape(4, -1).astype(np.float64)


class OddConvNet(nn.Module):
    """'same' even-width conv, batch-norm, functional ReLU, padded strided max-pool, dilated conv, avg-pool."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.c1, self.bn = nn.Conv1d(4, 6, 4, padding="same"), nn.BatchNorm1d(6)
        self.pool = nn.MaxPool1d(3, stride=2, padding=1)
        self.c2, self.avg = nn.Conv1d(6, 4, 4, padding=3, dilation=2), nn.AvgPool1d(4)
        self.fc = nn.Linear(4 * 12, 3)
        self.bn.running_mean.normal_()
        self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(torch.relu(self.bn(self.c1(x))))
        h = self.avg(nn.functional.gelu(self.c2(h)))
        return self.fc(h.flatten(1))


class Untraceable(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.conv, self.fc = nn.Conv1d(4, 3, 5), nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x))
        h = h.amax(-1) if h.sum() > 0 else h.mean(-1)
        return self.fc(h)


def _small_dnn(length: int = 90) -> nn.Module:
    torch.manual_seed(0)
    params = {"num_filters": [4, 4, 4], "conv_width": [5, 5, 5], "pool_width": 10, "dropout": 0.2}
    return build_model("sequence_dnn", 2, length, **params)


# ---------------------------------------------------------------- known answers on a linear model
def test_ism_linear_equals_weight_differences():
    x = _onehot(3, 20)
    x[1, :, 4] = 0  # an N: every base is a mutation from nothing
    model = Linear(20)
    w = model.w(1)
    expected = w[None] - (w[None] * x).sum(axis=1, keepdims=True)
    for fn in (ism, ism_fast):
        got = fn(model, x, task=1, device="cpu")
        assert got.shape == x.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert np.all(got[x == 1] == 0)
    centred = ism(model, x, task=1, centered=True, device="cpu")
    np.testing.assert_allclose(centred, expected - expected.mean(axis=1, keepdims=True), atol=1e-5)


def test_gradients_linear_equal_weights():
    x = _onehot(2, 15)
    model = Linear(15)
    w = model.w(0)
    np.testing.assert_allclose(input_gradients(model, x, 0, device="cpu"), np.broadcast_to(w, x.shape), atol=1e-6)
    np.testing.assert_allclose(gradient_x_input(model, x, 0, device="cpu"), w * x, atol=1e-6)
    hyp = hypothetical_gradients(model, x, 0, device="cpu")
    np.testing.assert_allclose(hyp, np.broadcast_to(w - w.mean(axis=0), x.shape), atol=1e-6)


def test_deeplift_linear_equals_weights_times_difference():
    x, ref = _onehot(2, 15, seed=1), _onehot(1, 15, seed=2)
    model = Linear(15)
    w = model.w(1)
    hyp, err = deepshap_scores(model, x, task=1, references=ref, device="cpu", dtype=torch.float64)
    np.testing.assert_allclose(hyp, np.broadcast_to(w - (w * ref[0]).sum(axis=0), x.shape), atol=1e-6)
    contrib = deepshap(model, x, task=1, references=ref, device="cpu")  # float32 by default
    np.testing.assert_allclose(contrib.sum(axis=1), (w * (x - ref)).sum(axis=1), atol=1e-6)
    assert err.max() < 1e-9


# ---------------------------------------------------------------- fast ISM == naive ISM
def _deepbind() -> nn.Module:
    torch.manual_seed(4)
    return build_model("deepbind", 2, 40, num_filters=5, conv_width=6, hidden=4, pooling="max_avg")


class SoftPoolNet(nn.Module):
    """A tail that is neither a dense layer nor a global max / mean: log-sum-exp over positions."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.conv, self.fc = nn.Conv1d(4, 3, 5), nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.logsumexp(torch.relu(self.conv(x)), dim=-1))


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize(
    "make, length",
    [
        (_small_dnn, 90),
        (OddConvNet, 100),
        (Untraceable, 30),
        (lambda: _basset_with_stats().eval(), 64),
        (_deepbind, 40),  # global max and mean: updated from the reference's maxima outside the patch
        (lambda: build_model("deepbind", 1, 40, num_filters=5, conv_width=6, hidden=4, activation="exp", crop=24), 40),
        (SoftPoolNet, 30),  # the tail runs in full on the patched trunk output
    ],
)
@pytest.mark.parametrize("batch_size", [3, 97])  # one position of one sequence per pass; blocks of 16 positions
def test_ism_fast_matches_naive(make, length, batch_size):
    model = make() if make is not _small_dnn else make(length)
    x = _onehot(2, length, seed=3)
    x[0, :, 7] = 0  # an N: 4 mutants at that position, 3 elsewhere
    task = model(torch.zeros(1, 4, length)).shape[1] - 1
    naive = ism(model, x, task=task, device="cpu")
    fast = ism_fast(model, x, task=task, batch_size=batch_size, device="cpu")
    assert np.abs(fast - naive).max() < 1e-4
    assert np.abs(naive).max() > 1e-3  # not trivially zero


@pytest.mark.parametrize("make, length", [(lambda: _basset_with_stats().eval(), 64), (_small_dnn, 90)])
def test_ism_fast_on_two_threads_runs_batches_side_by_side_with_the_same_numbers(make, length):
    """The staged path (Basset) and the chain path (SequenceDNN) in two worker threads at once."""
    model = make() if make is not _small_dnn else make(length).eval()
    x = _onehot(5, length, seed=8)
    x[3, :, 20] = 0
    naive = ism(model, x, device="cpu")
    torch.set_num_threads(2)
    try:
        fast = ism_fast(model, x, batch_size=9, device="cpu")  # batches of 3 and 2 sequences side by side
    finally:
        torch.set_num_threads(1)
    assert torch.get_num_threads() == 1
    assert np.abs(fast - naive).max() < 1e-4 and np.abs(naive).max() > 1e-3


class StagedNet(nn.Module):
    """Stages the fused path takes: a padded first conv (blocks start off position 0), functional ReLU and
    dropout, max-pools of 2 and 3, a padded conv with a ReLU method, then a dense layer."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.c1, self.c2, self.c3 = nn.Conv1d(4, 5, 6, padding=2), nn.Conv1d(5, 4, 3), nn.Conv1d(4, 3, 4, padding=1)
        self.drop, self.pool2, self.pool3 = nn.Dropout(0.3), nn.MaxPool1d(2), nn.MaxPool1d(3)
        self.fc = nn.Linear(3 * 3, 2)  # 50 columns: 49, 24, 22, 7, 6, 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool2(self.drop(nn.functional.relu(self.c1(x))))
        h = self.pool3(torch.relu(self.c2(h)))
        h = self.pool2(self.c3(h).relu())
        return self.fc(h.flatten(1))


def _naive_fast_layered(model: nn.Module, length: int, batch_size: int, path: str, seed: int):
    """3 sequences with N columns at both ends and inside, and their naive ISM, fast ISM, and fast ISM with the
    planner ``_fastism.<path>`` returning None (the layer-by-layer path); the model's last task."""
    x = _onehot(3, length, seed=seed)
    x[1, :, 0] = x[2, :, 11] = x[0, :, length - 1] = 0
    task = model(torch.zeros(1, 4, length)).shape[1] - 1
    naive = ism(model, x, task=task, device="cpu")
    fast = ism_fast(model, x, task=task, batch_size=batch_size, device="cpu")
    with patch(f"cisflow.interpret._fastism.{path}", return_value=None):
        layered = ism_fast(model, x, task=task, batch_size=batch_size, device="cpu")
    return x, naive, fast, layered


@pytest.mark.parametrize("make, length", [(lambda: _basset_with_stats().eval(), 64), (StagedNet, 50)])
@pytest.mark.parametrize("batch_size", [3, 30, 97])
def test_ism_fast_staged_path_equals_the_layer_path_and_naive(make, length, batch_size):
    """The fused stage-by-stage path (one kernel pass per stage after each convolution, blocks aligned to the
    first pool) gives naive ISM's numbers and the layer-by-layer path's, N positions included."""
    model = make().eval()
    plan = plan_fast_ism(model, length)
    assert plan.stages is not None and staged(plan, torch.device("cpu"))
    _, naive, fast, layered = _naive_fast_layered(model, length, batch_size, "_stages", seed=9)
    assert np.abs(fast - naive).max() < 1e-5 and np.abs(fast - layered).max() < 1e-5
    assert np.abs(naive).max() > 1e-2


class ChainNet(nn.Module):
    """A chain the per-mutant path takes: a padded first conv, functional ReLU and dropout, a padded conv with no
    activation (it reads the first one's padding), a padded conv with a ReLU method and eval-mode dropout, a
    max-pool of 3 dropping the last column, then a dense layer to 3 tasks."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.c1, self.c2 = nn.Conv1d(4, 5, 6, padding=2), nn.Conv1d(5, 4, 3, padding=1)
        self.c3 = nn.Conv1d(4, 3, 5, padding=2)
        self.drop, self.pool = nn.Dropout(0.3), nn.MaxPool1d(3)
        self.fc = nn.Linear(3 * 16, 3)  # 50 columns: 49, 49, 49, 16 pooled (the last one dropped)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.dropout(nn.functional.relu(self.c1(x)), 0.2, training=False)
        h = self.c3(self.c2(h)).relu()
        return self.fc(self.pool(self.drop(h)).flatten(1))


@pytest.mark.parametrize("make, length", [(_small_dnn, 90), (ChainNet, 50)])
@pytest.mark.parametrize("batch_size", [1, 5, 97])  # passes of 4, 20 and 388 mutants
def test_ism_fast_chain_path_equals_the_layer_path_and_naive(make, length, batch_size):
    """The per-mutant path (each mutant's own window of each convolution's change, one kernel pass per ReLU and
    one for the pool and the dense layer) gives naive ISM's numbers and the layer-by-layer path's, at the
    sequences' ends and at N positions."""
    model = (make(length) if make is _small_dnn else make()).eval()
    plan = plan_fast_ism(model, length)
    assert plan.chain is not None and chained(plan, torch.device("cpu")) and plan.stages is None
    x, naive, fast, layered = _naive_fast_layered(model, length, batch_size, "_chain", seed=10)
    assert np.abs(fast - naive).max() < 1e-5 and np.abs(fast - layered).max() < 1e-5
    assert np.abs(naive).max() > 1e-2 and np.all(fast[x == 1] == 0)


def test_chain_plan_windows_and_nan_as_brute_force():
    plan = plan_fast_ism(ChainNet().eval(), 50)  # i reaches columns i − 3 ... i + 2, i − 4 ... i + 3, i − 6 ... i + 5
    assert plan.chain.relu == [True, False, True] and plan.chain.pool == 3
    assert plan.chain.offsets == [-3, -4, -6] and plan.chain.widths == [6, 8, 12]
    dnn = plan_fast_ism(_small_dnn(90).eval(), 90)  # SequenceDNN: F.dropout traced from eval-mode dropout
    assert dnn.chain.convs == [0, 3, 6] and dnn.chain.offsets == [-4, -8, -12] and dnn.chain.widths == [5, 9, 13]
    assert plan_fast_ism(_basset_with_stats().eval(), 64).chain is None  # stages: pools between convolutions
    assert plan_fast_ism(OddConvNet().eval(), 100).chain is None
    assert plan_fast_ism(_deepbind().eval(), 40).chain is None  # global pooling head
    model = ChainNet().eval()
    with torch.no_grad():
        model.c3.bias[1] = float("nan")  # every pooled value of one channel NaN, so every logit
    x = _onehot(2, 50, seed=11)
    naive, fast = ism(model, x, device="cpu"), ism_fast(model, x, device="cpu")
    assert np.array_equal(np.isnan(fast), np.isnan(naive)) and np.isnan(fast).sum() == 2 * 3 * 50


def test_malloc_thresholds_are_set_once_on_glibc():
    from cisflow.interpret.ism import _keep_freed_blocks

    first = _keep_freed_blocks()
    assert _keep_freed_blocks() is first
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert first


def test_block_starts_align_to_the_first_pool():
    plan = plan_fast_ism(StagedNet().eval(), 50)  # first conv: width 6, left padding 2; first pool: 2
    assert [s.pool for s in plan.stages] == [2, 3, 2] and [s.relu for s in plan.stages] == [True, True, True]
    assert [s.next_pad for s in plan.stages] == [0, 1, 0]
    assert block_starts(plan, 10, 4) == [(0, 1), (1, 4), (5, 4), (9, 1)]  # i reaches columns i − 3 ... i + 2
    basset = plan_fast_ism(_basset_with_stats().eval(), 64)  # width 7, pool 2: i reaches i − 6 ... i
    assert [s.pool for s in basset.stages] == [2, 2]
    assert block_starts(basset, 12, 5) == [(0, 4), (4, 4), (8, 4)]
    assert block_starts(basset, 12, 7) == [(0, 8), (8, 4)]  # the nearest multiple of 2 to 7: 8
    assert block_starts(basset, 11, 1) == [(0, 2), (2, 2), (4, 2), (6, 2), (8, 2), (10, 1)]
    plan.stages[0].pool = 3  # phase (6 − 1 − 2) mod 3 = 0
    assert block_starts(plan, 8, 4) == [(0, 3), (3, 3), (6, 2)]
    plan.stages[0].pool = 4  # phase 3: a first block of 3
    assert block_starts(plan, 13, 9) == [(0, 3), (3, 8), (11, 2)]
    assert block_starts(None, 10, 4) == [(0, 4), (4, 4), (8, 2)]
    assert plan_fast_ism(OddConvNet().eval(), 100).stages is None  # strided pool with padding, avg-pool
    assert plan_fast_ism(_deepbind().eval(), 40).stages is None  # global pooling head
    assert plan_fast_ism(_small_dnn().eval(), 90).stages is None  # convolutions without a pool between them


def test_fast_plan_splits_sequence_dnn_after_pool():
    plan = plan_fast_ism(_small_dnn().eval(), 90)
    assert plan is not None and [la.window for la in plan.trunk].count(True) == 4  # 3 convs + max-pool
    assert plan.head is not None and tuple(plan.head.weight.shape) == (2, 4, 7)  # flatten + dense: 4 filters x 7 pools
    pool = plan.trunk[-1]
    assert pool.tiled_max and plan.trunk[6].cover is pool  # the last conv recomputes whole pool windows
    assert plan_fast_ism(Untraceable().eval(), 30) is None
    deepbind = plan_fast_ism(_deepbind().eval(), 40)
    assert isinstance(deepbind.head, GlobalPoolHead) and deepbind.head.kinds == ["amax", "mean"]
    soft = plan_fast_ism(SoftPoolNet().eval(), 30)
    assert soft is not None and soft.head is None


# ---------------------------------------------------------------- DeepSHAP
class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.body = nn.Sequential(nn.Conv1d(4, 8, 7), nn.ReLU(), nn.Conv1d(8, 8, 5), nn.ReLU(), nn.MaxPool1d(6))
        self.fc = nn.Linear(8 * 9, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).flatten(1))


class UntraceableConvNet(ConvNet):
    """ConvNet with data-dependent control flow (torch.fx cannot trace it): DeepSHAP's hook fallback."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        if bool(torch.isfinite(h).all()):
            h = h.flatten(1)
        return self.fc(h)


def _basset_with_stats() -> nn.Module:
    """A small Basset whose BatchNorm layers hold non-trivial running statistics."""
    torch.manual_seed(2)
    model = build_model(
        "basset", 1, 64, num_filters=[6, 6], conv_width=[7, 5], pool_width=[2, 2], hidden=[8], dropout=0.0
    )
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize(
    "make",
    [
        ConvNet,
        UntraceableConvNet,
        lambda: build_model("deepbind", 1, 64, num_filters=6, conv_width=8),
        lambda: build_model("deepbind", 1, 64, num_filters=6, conv_width=8, pooling="max_avg"),
        lambda: build_model("deepbind", 1, 64, num_filters=6, conv_width=8, activation="exp", crop=40),
        lambda: _basset_with_stats(),
    ],
    ids=["convnet", "untraceable", "deepbind", "deepbind-max-avg", "deepbind-exp-crop", "basset"],
)
def test_deepshap_sums_to_delta(make):
    model = make().eval()
    x = _onehot(3, 64, seed=4)
    task = model(torch.as_tensor(x)).shape[1] - 1
    contrib = deepshap(model, x, task=task, n_references=5, seed=7, device="cpu")
    refs = shuffled_references(x, 5, seed=7)
    with torch.no_grad():
        fx = model(torch.as_tensor(x))[:, task].double().numpy()
        fr = model(torch.as_tensor(refs.reshape(-1, 4, 64)))[:, task].double().numpy().reshape(3, 5)
    np.testing.assert_allclose(contrib.sum(axis=(1, 2)), fx - fr.mean(axis=1), atol=1e-3)  # float32 default
    hyp32, err32 = deepshap_scores(model, x, task, n_references=5, seed=7, device="cpu")
    hyp64, err64 = deepshap_scores(model, x, task, n_references=5, seed=7, device="cpu", dtype=torch.float64)
    assert err32.max() < 1e-3 and err64.max() < 1e-9
    np.testing.assert_allclose(hyp32, hyp64, atol=1e-4 * np.abs(hyp64).max())
    grad_sum = (input_gradients(model, x, task, device="cpu") * (x - refs.mean(axis=1))).sum(axis=(1, 2))
    assert np.abs(grad_sum - (fx - fr.mean(axis=1))).max() > 1e-3  # the rescale rule is doing something


def test_fused_kernels_equal_torch():
    from cisflow.interpret._rescale import maxpool1d_indices, maxpool_backward, relu_backward, relu_ratio

    g = torch.Generator().manual_seed(0)
    xi = torch.randn(3, 5, 40, generator=g)
    ri = torch.randn(3, 5, 40, generator=g)
    ri[0] = xi[0]  # exact ties: the derivative 1[xi > 0]
    ri[1, :, :5] = xi[1, :, :5] + 1e-9
    for dtype in (torch.float32, torch.float64):
        a, b = xi.to(dtype), ri.to(dtype)
        fused, plain = relu_ratio(a, b), relu_ratio(a, b, fused=False)
        assert torch.equal(fused, plain)
        assert torch.equal(fused[0], (a[0] > 0).to(dtype))
        grad = torch.randn(6, 5, 40, generator=g).to(dtype)  # 2 references of each of 3 inputs
        refs = b.repeat_interleave(2, dim=0) + torch.randn(6, 5, 40, generator=g).to(dtype) * (dtype == torch.float32)
        want = grad * relu_ratio(a.repeat_interleave(2, dim=0), refs, fused=False)
        assert torch.equal(relu_backward(grad.clone(), a, refs), want)
        assert torch.equal(relu_backward(grad.clone(), a, refs, fused=False), want)
        for kernel, stride, dilation in ((3, 3, 1), (4, 2, 1), (3, 1, 2), (35, 35, 1)):
            h = torch.relu(a)  # many tied zeros: the first maximum wins, as in torch
            got = maxpool1d_indices(h, kernel, stride, dilation)
            want = nn.functional.max_pool1d(h, kernel, stride, 0, dilation, return_indices=True)
            assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
            # the max rule at the pool's input: fused (no repeats) = the torch expression, bit for bit
            pool = nn.MaxPool1d(kernel, stride, dilation=dilation)
            ref_h = torch.relu(refs)  # ties within a window and between input and reference
            out_grad = torch.randn(6, 5, got[0].shape[-1], generator=g).to(dtype)
            fused = maxpool_backward(out_grad, h, ref_h, pool)
            assert torch.equal(fused, maxpool_backward(out_grad, h, ref_h, pool, fused=False))
            assert fused.abs().sum() > 0 and (fused != 0).sum() <= 2 * out_grad.numel()


def test_chain_conv_backward_is_the_input_gradient():
    from cisflow.interpret._chain import _conv_input_grad

    g = torch.Generator().manual_seed(1)
    for length, (cin, cout, k, stride, pad, dil, groups) in (
        (50, (4, 6, 7, 1, 0, 1, 1)),
        (50, (4, 6, 7, 2, 3, 1, 2)),  # a stride whose last input columns reach no output
        (51, (6, 6, 5, 3, 1, 2, 3)),
        (40, (4, 8, 3, 1, 1, 4, 1)),
    ):
        conv = nn.Conv1d(cin, cout, k, stride, pad, dil, groups)
        x = torch.randn(3, cin, length, generator=g, requires_grad=True)
        out = conv(x)
        grad = torch.randn(out.shape, generator=g)
        (want,) = torch.autograd.grad(out, x, grad)
        got = _conv_input_grad(conv, grad, length)
        assert got.shape == x.shape
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["max", "max_avg"])
def test_global_max_rule_equals_the_generic_rule(pooling, monkeypatch):
    """DeepBind's ``amax(dim=-1)`` takes the arg-max rule (globalmax); it gives the generic max rule's numbers,
    also where a sequence repeats a window, so each filter's maximum is tied."""
    module = importlib.import_module("cisflow.interpret.deepshap")
    from cisflow.models.pooling import last_dim_max

    model = build_model("deepbind", 1, 64, num_filters=6, conv_width=8, pooling=pooling).eval()
    x = _onehot(4, 64, seed=5)
    x[1] = np.tile(x[1, :, :8], 8)  # one 8-mer over and over: every filter's maximum is tied
    gm = module.fold_batchnorm(model)
    kinds = [module._nonlinear(None, n.op, n.target, (torch.zeros(2, 6, 57),), n.kwargs) for n in gm.graph.nodes
             if n.op == "call_method" and n.target == "amax"]  # fmt: skip
    assert [k[0] for k in kinds] == ["globalmax"]
    h = torch.relu(model.conv(torch.as_tensor(x)))
    values, _, tied = last_dim_max(h)
    assert torch.equal(values, h.amax(-1)) and tied[1].all()
    assert all(torch.equal(a, b) for a, b in zip(last_dim_max(h), last_dim_max(h, fused=False), strict=True))
    for dtype in (torch.float32, torch.float64):
        fast, err = deepshap_scores(model, x, 0, n_references=6, seed=2, device="cpu", dtype=dtype)
        with monkeypatch.context() as m:
            m.setattr(module, "_is_last_dim_max", lambda args, kwargs: False)  # the generic rule (amax's gradient)
            plain, err_plain = deepshap_scores(model, x, 0, n_references=6, seed=2, device="cpu", dtype=dtype)
        np.testing.assert_allclose(fast, plain, rtol=1e-6 if dtype == torch.float32 else 1e-12, atol=1e-9)
        assert max(err.max(), err_plain.max()) < (1e-3 if dtype == torch.float32 else 1e-9)


def test_fold_batchnorm_keeps_the_function():
    from cisflow.interpret._common import fold_batchnorm

    model = _basset_with_stats().eval()
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules())  # the original is untouched
    x = torch.as_tensor(_onehot(4, 64, seed=9))
    with torch.no_grad():
        np.testing.assert_allclose(folded(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "make", [ConvNet, lambda: _basset_with_stats(), lambda: _small_dnn(64)], ids=["conv", "basset", "dnn"]
)
def test_chain_backward_equals_autograd(make, monkeypatch):
    module = importlib.import_module("cisflow.interpret.deepshap")

    model = make().eval()
    x = _onehot(3, 64, seed=8)
    assert module.chain_layers(module.fold_batchnorm(model)) is not None
    chain, err = deepshap_scores(model, x, 0, n_references=4, seed=3, device="cpu", dtype=torch.float64)
    monkeypatch.setattr(module, "chain_layers", lambda gm: None)  # the autograd two-pass path
    auto, err_auto = deepshap_scores(model, x, 0, n_references=4, seed=3, device="cpu", dtype=torch.float64)
    np.testing.assert_allclose(chain, auto, atol=1e-10)
    assert err.max() < 1e-9 and err_auto.max() < 1e-9
    joint, err_joint = deepshap_scores(model, x, 0, 4, 3, device="cpu", dtype=torch.float64, joint=True)  # [x; r]
    np.testing.assert_allclose(joint, auto, atol=1e-10)
    assert err_joint.max() < 1e-9
    with pytest.raises(CisflowError, match="joint"):
        deepshap_scores(UntraceableConvNet().eval(), _onehot(1, 64), 0, 2, device="cpu", joint=True)


def test_shuffled_references_keep_dinucleotides():
    x = _onehot(2, 50, seed=5)
    refs = shuffled_references(x, 3, seed=0)
    assert refs.shape == (2, 3, 4, 50)
    codes, shuf = x.argmax(1), refs.argmax(2)
    for n in range(2):
        pairs = sorted(zip(codes[n, :-1], codes[n, 1:], strict=True))
        for r in range(3):
            assert sorted(zip(shuf[n, r, :-1], shuf[n, r, 1:], strict=True)) == pairs


# ---------------------------------------------------------------- scoring against truth
def _embedding_case(n: int = 40, length: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = _onehot(n, length, seed)
    starts = rng.integers(0, length - 8, n)
    table = pd.DataFrame({"seq_id": [f"s{i}" for i in range(n)], "motif": "m", "start": starts, "end": starts + 8})
    table["strand"] = "+"
    truth = np.zeros((n, length))
    for i, s in enumerate(starts):
        truth[i, s : s + 8] = 1
    return x, table, truth, [f"s{i}" for i in range(n)] + ["none"]


def test_positional_auprc_perfect_and_random():
    x, table, truth, ids = _embedding_case()
    x = np.concatenate([x, _onehot(1, 60, 9)])  # one sequence without an embedding: ignored
    perfect = np.concatenate([truth, np.zeros((1, 60))])[:, None, :] * x
    auc, n = positional_auprc(perfect, x, table, ids)
    assert auc == pytest.approx(1.0) and n == 40
    noise = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    auc, _ = positional_auprc(noise, x, table, ids)
    assert abs(auc - 8 / 60) < 0.05


def test_positional_auprc_reads_tsv_and_rejects_bad_input(tmp_path):
    x, table, truth, ids = _embedding_case(5, 30)
    path = tmp_path / "emb.tsv"
    table.to_csv(path, sep="\t", index=False)
    auc, n = positional_auprc(truth[:, None, :] * x, x, path, ids[:5])
    assert auc == pytest.approx(1.0) and n == 5
    with pytest.raises(CisflowError, match="do not match"):
        positional_auprc(x[:, :, :10], x, table, ids[:5])
    (tmp_path / "bad.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(CisflowError, match=r"bad\.tsv: embeddings table lacks column"):
        positional_auprc(x, x, tmp_path / "bad.tsv", ids[:5])


def test_filter_match_finds_planted_motif(tmp_path):
    rng = np.random.default_rng(0)
    motifs = {f"m{k}": rng.dirichlet(np.full(4, 0.2), size=6).T for k in range(4)}
    weight = rng.normal(scale=0.05, size=(3, 4, 10))
    weight[0, :, 2:8] = 3 * np.log(motifs["m2"] + 0.01)
    weight[1, :, 1:7] = 3 * np.log(motifs["m1"][::-1, ::-1] + 0.01)  # reverse complement
    table = filter_motif_matches(weight, motifs)
    assert list(table.columns[:5]) == ["filter", "motif", "offset", "strand", "similarity"]
    first, second = table.iloc[0], table.iloc[1]
    assert (first.motif, first.offset, first.strand) == ("m2", 2, "+") and first.similarity > 0.9
    assert (second.motif, second.offset, second.strand) == ("m1", 1, "-") and second.similarity > 0.9
    assert table.tomtom_pvalue.between(0, 1).all()
    with pytest.raises(CisflowError, match="no motifs"):
        filter_motif_matches(weight, {})
    plot_filter_logos(np.stack(list(motifs.values())), tmp_path / "logos.png")
    assert (tmp_path / "logos.png").read_bytes()[:4] == b"\x89PNG"


def test_filter_match_tomtom_errors(monkeypatch):
    """Without memelite the p/q-values are NaN (logged); any other TOMTOM failure is raised, not swallowed."""
    from cisflow.interpret import scoring

    rng = np.random.default_rng(1)
    motifs = {"m": rng.dirichlet(np.ones(4), size=6).T}
    weight = rng.normal(size=(2, 4, 8))

    def missing(*args, **kwargs):
        raise ImportError("No module named 'memelite'")

    monkeypatch.setattr(scoring, "tomtom", missing)
    table = filter_motif_matches(weight, motifs)
    assert table.tomtom_pvalue.isna().all() and table.tomtom_qvalue.isna().all()
    assert table.similarity.notna().all()

    def broken(*args, **kwargs):
        raise ValueError("bad matrix")

    monkeypatch.setattr(scoring, "tomtom", broken)
    with pytest.raises(ValueError, match="bad matrix"):
        filter_motif_matches(weight, motifs)


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs_raise():
    model = Linear(10)
    with pytest.raises(CisflowError, match=r"shape \(N, 4, L\)"):
        ism(model, np.zeros((2, 10)), device="cpu")
    with pytest.raises(CisflowError, match="task 5 out of range"):
        gradient_x_input(model, _onehot(1, 10), task=5, device="cpu")
    with pytest.raises(CisflowError, match="references must be"):
        deepshap(model, _onehot(2, 10), references=_onehot(1, 9), device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_matches_cpu():
    model, x = _small_dnn(), _onehot(2, 90, seed=6)
    np.testing.assert_allclose(ism_fast(model, x, device="cuda"), ism(model, x, device="cpu"), atol=1e-4)
    np.testing.assert_allclose(
        deepshap(model, x, n_references=3, device="cuda"), deepshap(model, x, n_references=3, device="cpu"), atol=1e-5
    )


def test_contribution_bigwig_averages_overlaps_and_clips(tmp_path):
    import pyBigWig

    from cisflow.interpret.tracks import contribution_bigwig

    x = np.zeros((2, 4, 4), np.float32)
    x[:, 0, :] = 1.0  # all A
    scores = np.zeros((2, 4, 4), np.float32)
    scores[0, 0] = [1, 2, 3, 4]
    scores[1, 0] = [10, 20, 30, 40]
    scores[:, 1] = 99.0  # hypothetical scores at absent bases must not count
    out = tmp_path / "c.bw"
    contribution_bigwig(scores, x, np.array(["chrA", "chrA"]), np.array([2, 4]), {"chrA": 7, "chrB": 5}, out)
    bw = pyBigWig.open(str(out))
    values = bw.values("chrA", 0, 7)
    assert np.isnan(values[0]) and np.isnan(values[1])
    np.testing.assert_allclose(values[2:], [1, 2, (3 + 10) / 2, (4 + 20) / 2, 30])


# ---------------------------------------------------------------- models with signal channels
class GatedBySignal(nn.Module):
    """f(x, s) = Σ_p s_p · Σ_b w_b x_{b,p}: the DNA counts only where the signal channel is on."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, -2.0, 0.5, 3.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dna, signal = x[:, :4], x[:, 4]
        return ((dna * self.w[None, :, None].to(x.dtype)).sum(dim=1) * signal).sum(dim=1, keepdim=True)


@pytest.mark.parametrize("method", ["ism", "grad_x_input", "deepshap"])
def test_signal_models_explain_the_dna_given_its_signal(method):
    from cisflow.interpret.pipeline import compute_scores

    model, length = GatedBySignal().eval(), 30
    x = _onehot(3, length, seed=5)
    signal = np.random.default_rng(6).random((3, 1, length)).astype(np.float32) * 2
    signal[:, :, :10] = 0.0  # no signal here: the DNA cannot matter
    result = compute_scores(model, x, method, 0, seed=1, n_references=4, device="cpu", signal=signal)
    w = model.w.detach().numpy()[None, :, None]
    s = signal  # (N, 1, L) broadcasts over the 4 bases
    if method == "ism":
        np.testing.assert_allclose(result["hypothetical"], s * (w - w.mean()), atol=1e-5)
    elif method == "grad_x_input":
        np.testing.assert_allclose(result["scores"], s * (w - w.mean()) * x, atol=1e-6)  # centred gradient · x
    else:  # DeepSHAP of a model linear in the DNA: sums to f(x, s) − mean over references f(ref, s)
        refs = shuffled_references(x[:1], 4, seed=1)[0]
        xs = torch.as_tensor(np.concatenate([x[:1], np.repeat(signal[:1], 1, axis=0)], axis=1))
        rs = torch.as_tensor(np.concatenate([refs, np.repeat(signal[:1], 4, axis=0)], axis=1))
        with torch.no_grad():
            delta = float(model(xs)[0, 0] - model(rs)[:, 0].mean())
        assert result["scores"][0].sum() == pytest.approx(delta, abs=1e-4)
        assert result["summation_error"].max() < 1e-4
    assert np.abs(result["scores"][:, :, :10]).max() < 1e-6
    assert np.abs(result["scores"][:, :, 10:]).max() > 1e-2
