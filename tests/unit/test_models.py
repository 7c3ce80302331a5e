"""Tests for cisflow.models: shapes, known answers, config checks, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cisflow.errors import CisflowError
from cisflow.genome import encode, one_hot
from cisflow.models import build_model, check_model_config, load_model, model_params, save_model, save_model_files
from cisflow.models.basset import basset_flat_size
from cisflow.models.sequence_dnn import PRESETS, RandDropout, sequence_dnn_flat_size

SMALL = {
    "sequence_dnn": {"num_filters": [4, 3], "conv_width": [5, 3], "pool_width": 7},
    "deepbind": {"num_filters": 4, "conv_width": 8, "hidden": 5},
    "basset": {"num_filters": [6, 5, 4], "conv_width": [5, 3, 3], "pool_width": [2, 2, 2], "hidden": [8, 8]},
    "danq": {"num_filters": 6, "conv_width": 7, "pool_width": 5, "lstm_hidden": 4, "hidden": 8},
    "deepsea": {"num_filters": [6, 5, 4], "conv_width": [5, 3, 3], "pool_width": [2, 2], "hidden": 8},
}


def _x(n: int, length: int, seed: int = 0) -> torch.Tensor:
    codes = np.random.default_rng(seed).integers(0, 5, (n, length), dtype=np.uint8)
    return torch.from_numpy(one_hot(codes))


@pytest.mark.parametrize("name", list(SMALL))
@pytest.mark.parametrize("length", [60, 101, 250])
@pytest.mark.parametrize("n_tasks", [1, 3])
def test_output_shape(name: str, length: int, n_tasks: int) -> None:
    model = build_model(name, n_tasks, length, **SMALL[name]).eval()
    assert model(_x(5, length)).shape == (5, n_tasks)


def test_extra_input_channels() -> None:
    model = build_model("sequence_dnn", 2, 80, in_channels=6, **SMALL["sequence_dnn"])
    assert model(torch.zeros(3, 6, 80)).shape == (3, 2)


def test_sequence_dnn_dragonn_defaults_and_flat_size() -> None:
    model = build_model("sequence_dnn", 1, 1000, **PRESETS["multilayer"])
    # DragoNN multilayer preset: three 15x10 convs, pool 35 -> 15 * ((1000 - 27) // 35) = 15 * 27
    assert sequence_dnn_flat_size(1000, [15, 15, 15], [10, 10, 10], 35) == 405
    assert model.dense.in_features == 405
    defaults = model_params("sequence_dnn")
    assert list(defaults["num_filters"]) == [15, 15, 15] and defaults["pool_width"] == 35


def test_basset_defaults_flat_size_600bp() -> None:
    # Basset on 600 bp: 600-18=582 /3=194, -10=184 /4=46, -6=40 /4=10 -> 200 * 10 = 2000 features
    assert basset_flat_size(600, (19, 11, 7), (3, 4, 4), 200) == 2000
    with torch.device("meta"):
        model = build_model("basset", 164, 600)
    assert model.dense[0].in_features == 2000 and model.dense[0].out_features == 1000


def test_danq_and_deepsea_published_sizes() -> None:
    with torch.device("meta"):
        danq, deepsea = build_model("danq", 919, 1000), build_model("deepsea", 919, 1000)
    # DanQ: 1000 - 25 = 975 // 13 = 75 steps of 2 x 320 LSTM outputs; Keras counts 46,926,479 parameters,
    # PyTorch's LSTM has a second bias per gate (2 directions x 4 gates x 320 = 2,560 more)
    assert danq.dense.in_features == 75 * 640 and danq.lstm.bidirectional
    assert sum(p.numel() for p in danq.parameters()) == 46_926_479 + 2_560
    # DeepSEA: 1000 - 7 = 993 // 4 = 248, - 7 = 241 // 4 = 60, - 7 = 53 positions of 960 filters
    assert deepsea.dense.in_features == 53 * 960 and deepsea.dense.out_features == 925
    convs = [m for m in deepsea.convs if isinstance(m, torch.nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(320, 8), (480, 8), (960, 8)]
    with pytest.raises(CisflowError, match="pool_width one fewer"):
        build_model("deepsea", 1, 1000, pool_width=[4, 4, 4])
    with pytest.raises(CisflowError, match="too short"):
        build_model("deepsea", 1, 60)
    with pytest.raises(CisflowError, match="too short"):
        build_model("danq", 1, 30)


def _ac_detector(model_conv: torch.nn.Conv1d) -> None:
    """Set a width-2, 1-filter conv to fire 1 exactly at 'AC' (ReLU(A + C - 1))."""
    with torch.no_grad():
        model_conv.weight.zero_()
        model_conv.weight[0, 0, 0] = 1.0  # A at offset 0
        model_conv.weight[0, 1, 1] = 1.0  # C at offset 1
        model_conv.bias.fill_(-1.0)


def test_sequence_dnn_known_answer() -> None:
    # L=9, conv width 2 -> 8 positions, pool 4 -> 2 windows; dense weights (1, 10), bias 0.5:
    # logit = 1*[AC starts in 0..3] + 10*[AC starts in 4..7] + 0.5
    model = build_model("sequence_dnn", 1, 9, num_filters=[1], conv_width=[2], pool_width=4).eval()
    _ac_detector(model.convs[0])
    with torch.no_grad():
        model.dense.weight[:] = torch.tensor([[1.0, 10.0]])
        model.dense.bias.fill_(0.5)
    seqs = ["ACGTTTTAC", "GGGGGGGAC", "ACTTTTTTT", "TTTTTTTTT", "NNNNNNNNN"]
    x = torch.from_numpy(one_hot(np.stack([encode(s) for s in seqs])))
    expected = torch.tensor([[11.5], [10.5], [1.5], [0.5], [0.5]])
    assert torch.equal(model(x), expected)


def test_deepbind_known_answer() -> None:
    model = build_model("deepbind", 1, 6, num_filters=1, conv_width=2, hidden=1, dropout=0.5).eval()
    _ac_detector(model.conv)
    with torch.no_grad():
        model.hidden.weight.fill_(1.0)
        model.hidden.bias.zero_()
        model.out.weight.fill_(2.0)
        model.out.bias.fill_(-1.0)
    x = torch.from_numpy(one_hot(np.stack([encode("TTTTAC"), encode("GGGGGG")])))
    assert torch.equal(model(x), torch.tensor([[1.0], [-1.0]]))


def test_deepbind_max_avg_pooling_counts_sites() -> None:
    """max_avg: hidden sees [max, mean] of the detector; two AC sites double the mean, not the max."""
    model = build_model("deepbind", 1, 9, num_filters=1, conv_width=2, hidden=1, pooling="max_avg").eval()
    _ac_detector(model.conv)
    with torch.no_grad():
        model.hidden.weight.copy_(torch.tensor([[0.0, 8.0]]))  # the mean only (8 conv positions)
        model.hidden.bias.zero_()
        model.out.weight.fill_(1.0)
        model.out.bias.zero_()
    x = torch.from_numpy(one_hot(np.stack([encode("ACGGGGGGG"), encode("ACGGGGGAC"), encode("GGGGGGGGG")])))
    assert torch.allclose(model(x), torch.tensor([[1.0], [2.0], [0.0]]))
    with pytest.raises(CisflowError, match="pooling must be 'max' or 'max_avg'"):
        build_model("deepbind", 1, 30, pooling="mean")


def test_deepbind_exp_activation_and_crop_known_answer() -> None:
    """activation="exp": the hidden layer sees exp of the detector's best score (AC: 1, G next to G or A: −1); crop:
    only the central ``crop`` bp are scanned, so an AC in the flanks counts for nothing."""
    model = build_model("deepbind", 1, 10, num_filters=1, conv_width=2, hidden=1, activation="exp", crop=4).eval()
    _ac_detector(model.conv)
    with torch.no_grad():
        model.hidden.weight.fill_(1.0)
        model.hidden.bias.zero_()
        model.out.weight.fill_(1.0)
        model.out.bias.zero_()
    x = torch.from_numpy(one_hot(np.stack([encode("GGGGACGGGG"), encode("ACGGGGGGAC"), encode("GGGGGGGGGG")])))
    expected = torch.tensor([[np.e], [1 / np.e], [1 / np.e]])  # exp(1); exp(−1): the ACs lie outside the crop
    assert torch.allclose(model(x), expected)
    model.train()  # the plain (unfused) pooling in training mode: the same outputs without dropout
    model.dropout.p = 0.0
    assert torch.allclose(model(x), expected)
    with pytest.raises(CisflowError, match="activation must be 'relu' or 'exp'"):
        build_model("deepbind", 1, 30, conv_width=8, activation="sigmoid")
    with pytest.raises(CisflowError, match="crop 40 must lie between conv_width 8 and input_length 30"):
        build_model("deepbind", 1, 30, conv_width=8, crop=40)


@pytest.mark.parametrize("pooling", ["max", "max_avg"])
def test_deepbind_training_pool_has_autograds_gradients(pooling: str) -> None:
    """In training mode DeepBind pools through one fused node (cisflow.models.pooling): the same outputs and
    parameter gradients, bit for bit, as the plain relu → amax / mean graph of eval mode (no dropout here),
    also for a sequence that repeats one 6-mer, where every filter's maximum is tied (amax splits its gradient)."""
    torch.manual_seed(3)
    model = build_model("deepbind", 2, 40, num_filters=5, conv_width=6, hidden=4, dropout=0.0, pooling=pooling)
    codes = np.random.default_rng(0).integers(0, 4, (6, 40)).astype(np.uint8)
    codes[2] = np.tile(codes[2, :8], 5)
    x = torch.from_numpy(one_hot(codes))
    weights = torch.randn(6, 2)
    grads = []
    for train in (True, False):
        model.train(train)
        model.zero_grad()
        out = model(x)
        (out * weights).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    assert torch.equal(grads[0][0], grads[1][0])
    assert all(torch.equal(fused, plain) for fused, plain in zip(grads[0][1], grads[1][1], strict=True))
    from cisflow.models.pooling import ReluGlobalPool, last_dim_max

    pre = torch.tensor([[[1.0, 3.0, 3.0, -1.0], [-1.0, -2.0, -1.0, -3.0]]], requires_grad=True)  # a tie; all off
    ReluGlobalPool.apply(pre, pooling == "max_avg").sum().backward()
    mean = 0.25 if pooling == "max_avg" else 0.0
    assert pre.grad.tolist() == [[[mean, 0.5 + mean, 0.5 + mean, 0.0], [0.0, 0.0, 0.0, 0.0]]]
    values, indices, tied = last_dim_max(pre.detach())
    assert values.tolist() == [[3.0, -1.0]] and indices.tolist() == [[1, 0]] and tied.tolist() == [[True, True]]
    plain = last_dim_max(pre.detach(), fused=False)
    assert all(torch.equal(a, b) for a, b in zip(plain, (values, indices, tied), strict=True))


def test_l1_regularization() -> None:
    model = build_model("sequence_dnn", 2, 50, l1=0.1, **SMALL["sequence_dnn"])
    expected = 0.1 * model.dense.weight.abs().sum()
    assert torch.isclose(model.regularization(), expected)
    assert float(build_model("sequence_dnn", 2, 50, **SMALL["sequence_dnn"]).regularization().detach()) == 0.0


def test_rand_dropout() -> None:
    drop = RandDropout(0.25)
    x = torch.ones(200, 500)
    torch.manual_seed(0)
    y = drop.train()(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.75))
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(RandDropout(0.0).train()(x), x)


def test_unknown_model_name() -> None:
    valid = "sequence_dnn, deepbind, basset, danq, deepsea"
    with pytest.raises(CisflowError, match=rf"unknown model 'resnet'; valid models: {valid}"):
        build_model("resnet", 1, 100)


def test_unknown_param_lists_valid_ones() -> None:
    with pytest.raises(CisflowError, match=r"unknown parameter 'filters' for model 'deepbind'; valid parameters: "):
        build_model("deepbind", 1, 100, filters=3)


def test_bad_param_values() -> None:
    with pytest.raises(CisflowError, match="same length"):
        build_model("sequence_dnn", 1, 100, num_filters=[3, 3], conv_width=[5])
    with pytest.raises(CisflowError, match="too short"):
        build_model("sequence_dnn", 1, 30, num_filters=[3], conv_width=[10], pool_width=35)
    with pytest.raises(CisflowError, match="shorter than conv_width"):
        build_model("deepbind", 1, 10)
    with pytest.raises(CisflowError, match="too short"):
        build_model("basset", 1, 50)
    with pytest.raises(CisflowError, match="bad parameters"):
        build_model("deepbind", 1, 100, num_filters="many")


def test_check_model_config() -> None:
    check_model_config({"name": "basset", "params": {"dropout": 0.1}})
    check_model_config({"name": "basset"}, input_length=600)
    with pytest.raises(CisflowError, match="unknown model 'cnn'"):
        check_model_config({"name": "cnn", "params": {}})
    with pytest.raises(CisflowError, match="unknown parameter 'widths'"):
        check_model_config({"name": "sequence_dnn", "params": {"widths": [1]}})
    with pytest.raises(CisflowError, match="mapping with 'name'"):
        check_model_config(["sequence_dnn"])
    with pytest.raises(CisflowError, match="params must be a mapping"):
        check_model_config({"name": "deepbind", "params": [1, 2]})
    with pytest.raises(CisflowError, match="too short"):
        check_model_config({"name": "basset"}, input_length=100)


@pytest.mark.parametrize("name", list(SMALL))
def test_save_load_round_trip(tmp_path, name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 2, 64, **SMALL[name])
    model.train()
    model(_x(8, 64))  # update batch-norm running statistics so buffers are non-trivial
    model.eval()
    save_model(tmp_path / "m", model, {"tasks": ["a", "b"], "seed": 7})
    loaded, meta = load_model(tmp_path / "m")
    assert not loaded.training
    x = _x(4, 64, seed=1)
    assert torch.equal(model(x), loaded(x))
    assert meta["name"] == name and meta["tasks"] == ["a", "b"] and meta["seed"] == 7
    assert meta["n_tasks"] == 2 and meta["input_length"] == 64 and meta["in_channels"] == 4
    assert json.loads((tmp_path / "m" / "model.json").read_text())["params"] == SMALL[name]
    state = load_file(str(tmp_path / "m" / "model.safetensors"))  # safetensors: no pickle involved
    assert set(state) == set(model.state_dict())
    loaded2, _ = load_model(tmp_path / "m" / "model.json")
    assert torch.equal(loaded2(x), loaded(x))
    assert not list(tmp_path.joinpath("m").glob(".*"))  # no temporary files left


def test_load_model_errors(tmp_path) -> None:
    with pytest.raises(CisflowError, match="model metadata does not exist"):
        load_model(tmp_path)
    model = build_model("deepbind", 1, 40, **SMALL["deepbind"])
    save_model(tmp_path, model, {"tasks": ["t"], "seed": 0})
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CisflowError, match=r"model.safetensors: cannot load weights"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(CisflowError, match=r"model.json: not valid JSON"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text('{"name": "deepbind"}')
    with pytest.raises(CisflowError, match="lacks params, n_tasks, input_length"):
        load_model(tmp_path)


def test_save_model_needs_metadata(tmp_path) -> None:
    with pytest.raises(CisflowError, match="lacks name"):
        save_model(tmp_path, torch.nn.Linear(2, 2), {})


def test_save_model_files_any_names_in_one_folder(tmp_path) -> None:
    model = build_model("deepbind", 2, 40, **SMALL["deepbind"])
    save_model_files(tmp_path / "best.safetensors", tmp_path / "best.json", model, {"tasks": ["a", "b"]})
    loaded, meta = load_model(tmp_path / "best.json")
    assert meta["weights"] == "best.safetensors" and meta["tasks"] == ["a", "b"]
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value)
    with pytest.raises(CisflowError, match="must sit beside their metadata"):
        save_model_files(tmp_path / "w" / "m.safetensors", tmp_path / "m.json", model)
