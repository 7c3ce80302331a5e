"""Tests for cisflow.transfer: initialisation from a trained model, fine-tuning modes, motif-seeded training."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cisflow._testing.artifacts import write_dataset
from cisflow.errors import CisflowError
from cisflow.genome import encode
from cisflow.models import MODELS, build_model, save_model
from cisflow.seeding import first_conv, motif_filter
from cisflow.train import train_model, train_outputs
from cisflow.transfer import (
    InitParams,
    head_layer,
    make_optimizer,
    pretrain_model_configs,
    read_source,
    resolve_motif_filters,
    set_trainable,
    source_model_config,
    split_model_config,
    transfer_weights,
    trunk_frozen,
)

DEEPBIND = {"name": "deepbind", "params": {"num_filters": 8, "conv_width": 6, "hidden": 8, "dropout": 0.1}}
BASSET = {
    "name": "basset",
    "params": {"num_filters": [4, 4], "conv_width": [5, 3], "pool_width": [2, 2], "hidden": [8], "dropout": 0.1},
}
TRAIN = {
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 0.02,
    "patience": 10,
    "monitor": "loss",
    "reverse_complement": False,
    "precise_bn_batches": 3,
    "weight_decay": 0.0,  # not the data-size default (auto): a model: auto run resolves only the model here
    "positive_repeats": 1,
    "jitter": 0,
}
MOTIFS = {"gata": "GATAAG", "ebox": "CAGCTG"}


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Tiny models train faster on one thread."""


def _planted(n: int, seed: int, tasks: tuple[str, ...]) -> dict[str, np.ndarray]:
    """40 bp random sequences; task ``t`` is bound iff its motif (:data:`MOTIFS`) is planted."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, 40), dtype=np.uint8)
    labels = np.zeros((n, len(tasks)), np.int8)
    for j, task in enumerate(tasks):
        bound = rng.random(n) < 0.35
        for i in np.flatnonzero(bound):
            pos = 3 + 17 * j + rng.integers(0, 12)
            codes[i, pos : pos + 6] = encode(MOTIFS[task.rstrip("2")])
        labels[:, j] = bound
    return {"codes": codes, "labels": labels, "tasks": np.array(tasks), "ids": np.arange(n).astype(str)}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    """Datasets: both tasks (pretraining), ``gata`` alone and ``gata2`` (a new name for the same factor)."""
    root = tmp_path_factory.mktemp("transfer")
    paths = {}
    for name, tasks in (("both", ("gata", "ebox")), ("gata", ("gata",)), ("gata2", ("gata2",))):
        for split, n, seed in (("train", 300, 0), ("valid", 120, 1)):
            paths[name, split] = root / f"{name}.{split}.npz"
            write_dataset(paths[name, split], **_planted(n, seed, tasks))
    return paths


@pytest.fixture(scope="module")
def pretrained(data, tmp_path_factory) -> dict:
    """DeepBind and Basset models trained on both tasks."""
    root = tmp_path_factory.mktemp("pretrained")
    torch.set_num_threads(1)
    for cfg in (DEEPBIND, BASSET):
        train_model(
            data["both", "train"], data["both", "valid"], train_outputs(root / cfg["name"]), cfg, TRAIN, 0, "cpu"
        )
    return {cfg["name"]: root / cfg["name"] for cfg in (DEEPBIND, BASSET)}


def _fit(data, name: str, out, model_cfg, train_cfg, seed: int, init) -> dict:
    """Train on dataset ``name`` into folder ``out`` on the CPU."""
    split = data[name, "train"], data[name, "valid"]
    return train_model(*split, train_outputs(out), model_cfg, train_cfg, seed, "cpu", init=init)


def _weights(path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "model.safetensors"))


# ---------------------------------------------------------------------------------------------- parameters


def test_init_params_defaults_and_errors() -> None:
    init = InitParams.coerce(None)
    assert init == InitParams() and not init.active
    assert InitParams.coerce({"motif_filters": "REB1_known1"}).motif_filters == ("REB1_known1",)
    auto = InitParams.coerce({"motif_filters": "auto", "known_motifs": "REB1_known1"})
    assert auto.motif_filters == "auto" and auto.known_motifs == ("REB1_known1",) and not auto.active
    assert InitParams.coerce({"init_from": "m", "finetune": "head", "unfreeze_epoch": 3}).active
    bad = [
        ({"finetune": "trunk", "init_from": "m"}, "finetune must be"),
        ({"init_from": "m", "trunk_lr_scale": 0}, "trunk_lr_scale"),
        ({"init_from": "m", "trunk_lr_scale": 2.0}, "trunk_lr_scale"),
        ({"init_from": "m", "trunk_lr_scale": True}, "trunk_lr_scale"),
        ({"init_from": "m", "finetune": "head", "unfreeze_epoch": 0}, "unfreeze_epoch"),
        ({"init_from": "m", "unfreeze_epoch": 2}, "needs model.finetune: head"),
        ({"finetune": "head"}, "needs model.init_from"),
        ({"init_from": "m", "motif_filters": ["REB1_known1"]}, "cannot be combined"),
        ({"init_from": 3}, "model directory"),
        ({"init": "m"}, "unknown model key 'init'"),
    ]
    for cfg, message in bad:
        with pytest.raises(CisflowError, match=message):
            InitParams.coerce(cfg)


def test_trunk_frozen_schedule() -> None:
    assert not any(trunk_frozen(InitParams(init_from="m"), e) for e in (1, 5))
    assert all(trunk_frozen(InitParams(init_from="m", finetune="head"), e) for e in (1, 50))
    staged = InitParams(init_from="m", finetune="head", unfreeze_epoch=3)
    assert [trunk_frozen(staged, e) for e in (1, 2, 3, 4)] == [True, True, False, False]


# ---------------------------------------------------------------------------------------------- head and transfer


@pytest.mark.parametrize("name", sorted(MODELS))
def test_head_layer_is_the_output(name: str) -> None:
    model = build_model(name, 3, 200)
    key, layer = head_layer(model, 3)
    x = torch.zeros(2, 4, 200)
    with torch.no_grad():
        layer.bias.fill_(7.0)
        layer.weight.zero_()
        assert torch.equal(model.eval()(x), torch.full((2, 3), 7.0))  # the output layer alone decides the logits
    assert key in ("out", "dense")


def test_transfer_weights_maps_tasks_by_name() -> None:
    torch.manual_seed(0)
    source = build_model("deepbind", 3, 50, num_filters=4, conv_width=5, hidden=6)
    torch.manual_seed(1)
    target = build_model("deepbind", 3, 50, num_filters=4, conv_width=5, hidden=6)
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    report = transfer_weights(target, source.state_dict(), ["a", "b", "c"], ["c", "new", "a"])
    assert report == {"trunk_tensors": 4, "mapped": ["c", "a"], "new": ["new"], "dropped": ["b"]}
    got, src = target.state_dict(), source.state_dict()
    for key in ("conv.weight", "conv.bias", "hidden.weight", "hidden.bias"):
        assert torch.equal(got[key], src[key])
    for key in ("out.weight", "out.bias"):
        assert torch.equal(got[key][0], src[key][2]) and torch.equal(got[key][2], src[key][0])
        assert torch.equal(got[key][1], fresh[key][1])  # a new task keeps its seeded fresh row


def test_transfer_weights_errors() -> None:
    source = build_model("deepbind", 1, 50, num_filters=4, conv_width=5, hidden=6).state_dict()
    with pytest.raises(CisflowError, match=r"conv.weight is \(4, 4, 5\) in the init_from model, \(8, 4, 5\) here"):
        transfer_weights(build_model("deepbind", 1, 50, num_filters=8, conv_width=5, hidden=6), source, ["a"], ["a"])
    with pytest.raises(CisflowError, match=r"has no 'convs\.0\.weight'"):
        transfer_weights(build_model("basset", 1, 200), source, ["a"], ["a"])
    with pytest.raises(CisflowError, match="does not fit 2 trained tasks"):
        transfer_weights(
            build_model("deepbind", 1, 50, num_filters=4, conv_width=5, hidden=6), source, ["a", "b"], ["a"]
        )


def test_read_source_and_config(tmp_path) -> None:
    model = build_model("deepbind", 2, 50, num_filters=4, conv_width=5)
    save_model(tmp_path / "m", model, {"tasks": ["a", "b"]})
    state, meta, digest = read_source(tmp_path / "m")
    assert meta["tasks"] == ["a", "b"] and len(digest) == 64 and torch.equal(state["conv.weight"], model.conv.weight)
    assert read_source(tmp_path / "m" / "model.json")[2] == digest
    theirs = {"name": "deepbind", "params": {"num_filters": 4, "conv_width": 5}}
    assert source_model_config(None, meta, "m") == theirs
    assert source_model_config({"name": "auto"}, meta, "m") == theirs
    assert (
        source_model_config(
            {"name": "deepbind", "params": {"num_filters": 4, "conv_width": 5, "hidden": 32}}, meta, "m"
        )
        == theirs
    )  # fmt: skip  (hidden 32 is the default)
    with pytest.raises(CisflowError, match=r"m: model deepbind \{'num_filters': 8\} differs"):
        source_model_config({"name": "deepbind", "params": {"num_filters": 8}}, meta, "m")
    with pytest.raises(CisflowError, match=r"model\.json missing"):
        read_source(tmp_path / "nothing")


def test_optimizer_groups_and_freezing() -> None:
    model = build_model("basset", 2, 60, num_filters=[4], conv_width=[5], pool_width=[4], hidden=[6])
    init = InitParams(init_from="m", finetune="head", trunk_lr_scale=0.25)
    opt = make_optimizer(model, init, 2, 0.01, 0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.0025, 0.01]
    assert opt.param_groups[1]["params"] == list(model.out.parameters())
    model.train()
    assert set_trainable(model, init, 2, 1)
    assert not model.convs.training and not model.dense.training and model.out.training
    assert [p.requires_grad for p in model.parameters()] == [False] * 8 + [True, True]
    model.train()
    assert not set_trainable(model, InitParams(init_from="m"), 2, 1)
    assert all(p.requires_grad for p in model.parameters()) and model.convs.training
    assert len(make_optimizer(model, InitParams(), 2, 0.01, 0.0).param_groups) == 1


# ---------------------------------------------------------------------------------------------- training


def test_finetune_all_maps_heads_and_records_the_source(tmp_path, data, pretrained) -> None:
    init = {"init_from": str(pretrained["deepbind"])}
    out = tmp_path / "ft"
    summary = _fit(data, "gata", out, None, {**TRAIN, "epochs": 2}, 5, init)
    assert summary["valid"]["auroc"] > 0.9
    meta = json.loads((out / "model.json").read_text())
    assert meta["name"] == "deepbind" and meta["params"] == DEEPBIND["params"]
    record = meta["init"]
    assert record["tasks"] == {"trunk_tensors": 4, "mapped": ["gata"], "new": [], "dropped": ["ebox"]}
    assert record["source"]["sha256"] == read_source(pretrained["deepbind"])[2]
    assert record["source"]["tasks"] == ["gata", "ebox"] and record["finetune"] == "all"


def test_finetuning_gets_the_optimiser_of_the_source_architectures_tier(tmp_path, data) -> None:
    """``init_from`` with ``name: auto``: a source of the compact tier's architecture brings that tier's weight decay
    (1e-4, as the same model from scratch gets), recorded in model.json and used by both optimiser groups; the
    same architecture named explicitly keeps an explicit model's (no weight decay)."""
    from cisflow.autosize import COMPACT_MODEL

    source = tmp_path / "compact"
    _fit(data, "gata", source, COMPACT_MODEL, {**TRAIN, "epochs": 2}, 0, None)
    train = {**TRAIN, "epochs": 1, "learning_rate": "auto", "weight_decay": "auto"}
    for model_cfg, decay, tier in ((None, 0.0001, {"source_tier": "compact"}), (COMPACT_MODEL, 0.0, {})):
        out = tmp_path / f"ft_{decay}"
        _fit(data, "gata", out, model_cfg, train, 0, {"init_from": str(source)})
        meta = json.loads((out / "model.json").read_text())
        assert meta["train_config"]["weight_decay"] == decay and meta["train_config"]["learning_rate"] == 0.001
        assert meta["auto"]["resolved"]["weight_decay"] == decay
        assert {k: v for k, v in meta["auto"].items() if k == "source_tier"} == tier
        groups = torch.load(out / "checkpoint.pt", weights_only=True)["optimizer"]["param_groups"]
        assert [(g["lr"], g["weight_decay"]) for g in groups] == [(0.0001, decay), (0.001, decay)]


@pytest.mark.parametrize("name", ["deepbind", "basset"])
def test_head_only_keeps_the_trunk_exactly(tmp_path, data, pretrained, name) -> None:
    init = {"init_from": str(pretrained[name]), "finetune": "head"}
    out = tmp_path / "head"
    summary = train_model(
        data["gata2", "train"], data["gata2", "valid"], train_outputs(out), {"name": "auto"}, TRAIN, 5, "cpu", init=init
    )
    before, after = _weights(pretrained[name]), _weights(out)
    head = "out"
    for key in after:
        if key.startswith(head + "."):
            assert after[key].shape[0] == 1 and not torch.equal(after[key], before[key][:1])
        else:
            assert torch.equal(after[key], before[key]), key  # weights and BatchNorm statistics untouched
    assert summary["valid"]["auroc"] > 0.9  # a new head on the pretrained trunk finds the factor
    assert json.loads((out / "model.json").read_text())["init"]["tasks"]["new"] == ["gata2"]


def test_staged_unfreeze_resumes_exactly(tmp_path, data, pretrained) -> None:
    init = {"init_from": str(pretrained["basset"]), "finetune": "head", "unfreeze_epoch": 2, "trunk_lr_scale": 0.5}

    def run(out, **kw):
        return train_model(
            data["gata", "train"],
            data["gata", "valid"],
            train_outputs(tmp_path / out),
            None,
            TRAIN,
            5,
            "cpu",
            init=init,
            **kw,
        )

    run("cut", stop_after_epoch=1)
    ckpt = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    source = _weights(pretrained["basset"])
    assert torch.equal(ckpt["model"]["convs.0.weight"], source["convs.0.weight"])  # frozen in epoch 1
    run("cut")
    run("full")
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["convs.0.weight"], source["convs.0.weight"])  # trained from epoch 2


def test_checkpoint_of_another_source_is_not_resumed(tmp_path, data, pretrained, caplog) -> None:
    out = tmp_path / "ft"
    args = (data["gata", "train"], data["gata", "valid"], train_outputs(out), None, TRAIN, 5, "cpu")
    train_model(*args, init={"init_from": str(pretrained["deepbind"])}, stop_after_epoch=1)
    other = tmp_path / "other"
    other.mkdir()
    for name in ("model.json", "model.safetensors"):
        (other / name).write_bytes((pretrained["deepbind"] / name).read_bytes())
    with caplog.at_level(logging.INFO, logger="cisflow.train"):
        train_model(*args, init={"init_from": str(other)}, stop_after_epoch=2)  # same weights, moved: resumed
    assert "resumed from" in caplog.text and "starting over" not in caplog.text
    weights = load_file(str(other / "model.safetensors"))
    weights["out.bias"] = weights["out.bias"] + 1.0
    from safetensors.torch import save_file

    save_file(weights, str(other / "model.safetensors"), metadata={"name": "deepbind"})
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cisflow.train"):
        train_model(*args, init={"init_from": str(other)})
    assert "starting over" in caplog.text


def test_transfer_errors_name_the_source(tmp_path, data, pretrained) -> None:
    args = (data["gata", "train"], data["gata", "valid"], train_outputs(tmp_path / "x"))
    with pytest.raises(CisflowError, match=r"model\.json missing"):
        train_model(*args, None, TRAIN, 0, "cpu", init={"init_from": str(tmp_path / "none")})
    with pytest.raises(CisflowError, match="differs from the init_from model's deepbind"):
        train_model(*args, BASSET, TRAIN, 0, "cpu", init={"init_from": str(pretrained["deepbind"])})
    short = tmp_path / "short.npz"
    d = _planted(50, 3, ("gata",))
    write_dataset(short, **{**d, "codes": d["codes"][:, :30]})
    with pytest.raises(CisflowError, match="reads 40 bp windows; this training set has 30 bp"):
        train_model(
            short,
            short,
            train_outputs(tmp_path / "y"),
            None,
            TRAIN,
            0,
            "cpu",
            init={"init_from": str(pretrained["deepbind"])},
        )


def test_motif_seeded_initialisation_and_training(tmp_path, data) -> None:
    from cisflow.pwm import load_motif
    from cisflow.transfer import initialise

    torch.manual_seed(0)
    model = build_model("deepbind", 1, 40, **DEEPBIND["params"])
    record = initialise(model, InitParams(motif_filters=("GATA_known1",)), ["gata"], 40)
    seeded = motif_filter(load_motif("GATA_known1")[1], 6)[0]
    np.testing.assert_allclose(first_conv(model).weight[:2].detach().numpy(), seeded, atol=1e-6)
    assert [(f["filter"], f["strand"]) for f in record["seeded_filters"]] == [(0, "+"), (1, "-")]
    out = tmp_path / "seeded"
    init = {"motif_filters": ["GATA_known1"]}
    _fit(data, "gata", out, DEEPBIND, {**TRAIN, "epochs": 1}, 0, init)
    meta = json.loads((out / "model.json").read_text())
    assert meta["init"]["seeded_filters"] == record["seeded_filters"] and "source" not in meta["init"]


def test_auto_motif_filters_seed_only_the_compact_model(tmp_path, data, caplog) -> None:
    # the 'ebox' motif is of a task not trained here: left out (it would not even load)
    init = {"motif_filters": "auto", "known_motifs": ["ebox=NO_SUCH_MOTIF", "gata=GATA_known1", "GATA_known1"]}
    train = {**TRAIN, "epochs": 1}
    with caplog.at_level(logging.INFO, logger="cisflow.transfer"):
        _fit(data, "gata", tmp_path / "auto", None, train, 0, init)
    meta = json.loads((tmp_path / "auto" / "model.json").read_text())
    assert meta["name"] == "deepbind" and meta["auto"]["resolved"]["motif_filters"] == ["GATA_known1"]
    assert [(f["filter"], f["motif"], f["strand"]) for f in meta["init"]["seeded_filters"]] == [
        (0, "GATA_known1", "+"),
        (1, "GATA_known1", "-"),
    ]
    assert meta["init"]["motif_filters"] == ["GATA_known1"]
    assert "seeded with the known motifs GATA_known1 (model.motif_filters: auto" in caplog.text
    # an explicit model, motif_filters [] and init_from are never seeded by 'auto'
    _fit(data, "gata", tmp_path / "explicit", DEEPBIND, train, 0, init)
    _fit(data, "gata", tmp_path / "off", None, train, 0, {**init, "motif_filters": []})
    for name in ("explicit", "off"):
        meta = json.loads((tmp_path / name / "model.json").read_text())
        assert "init" not in meta and "motif_filters" not in (meta.get("auto") or {}).get("resolved", {})
    source = InitParams(init_from="m", motif_filters="auto", known_motifs=("GATA_known1",))
    record = {"n_positives": 10, "tier": "compact", "resolved": {"model": {}}}
    resolved, same = resolve_motif_filters(source, ["gata"], record)
    assert resolved.motif_filters == () and resolved.init_from == "m" and same == record


def test_split_model_config() -> None:
    arch, init = split_model_config({"name": "auto", "params": {}, "init_from": "m", "finetune": "head"})
    assert arch == {"name": "auto", "params": {}} and init == InitParams(init_from="m", finetune="head")
    arch, init = split_model_config(DEEPBIND, {"motif_filters": ["GATA_known1"]})
    assert arch == DEEPBIND and init.motif_filters == ("GATA_known1",)
    # keys given apart override the section's
    assert split_model_config({"name": "auto", "init_from": "a"}, {"init_from": "b"})[1].init_from == "b"
    assert split_model_config(None) == (None, InitParams())
    with pytest.raises(CisflowError, match="unknown model key 'layers'; valid keys: name, params, init_from"):
        split_model_config({"name": "basset", "layers": 3})
    with pytest.raises(CisflowError, match="must be a mapping"):
        split_model_config(["basset"])


def test_pretrain_model_configs_split_the_model_section() -> None:
    """The workflow's pretrain path: the pretrain model gets the architecture and seeding, the model the source
    and the fine-tuning keys (and no seeding: its first layer is the source's)."""
    section = {"name": "auto", "params": {}, "init_from": None, "finetune": "head", "trunk_lr_scale": 0.2,
               "unfreeze_epoch": 3, "motif_filters": ["GATA_known1"]}  # fmt: skip
    pretrain, model = pretrain_model_configs(section, "results/pretrain")
    assert pretrain == {"name": "auto", "params": {}, "motif_filters": ["GATA_known1"]}
    assert model == section | {"init_from": "results/pretrain", "motif_filters": []}
    init = split_model_config(model)[1]
    assert init == InitParams(init_from="results/pretrain", finetune="head", trunk_lr_scale=0.2, unfreeze_epoch=3)
    assert split_model_config(pretrain)[1] == InitParams(motif_filters=("GATA_known1",))
    with pytest.raises(CisflowError, match=r"model.init_from \(m\) would name a second source: set one of them"):
        pretrain_model_configs(section | {"init_from": "m"}, "results/pretrain")


def test_cli_train_from_a_trained_model(tmp_path, data, pretrained) -> None:
    """``cisflow train --init-from DIR --finetune head`` over a config's model section: the trunk is kept."""
    import yaml

    from cisflow.cli import main

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "auto"}, "train": TRAIN, "seed": 5}))
    out = tmp_path / "cli"
    argv = ["train", "--train", str(data["gata", "train"]), "--valid", str(data["gata", "valid"])]
    argv += ["--config", str(config), "--out-dir", str(out), "--device", "cpu"]
    assert main([*argv, "--init-from", str(pretrained["deepbind"]), "--finetune", "head"]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["name"] == "deepbind" and meta["init"]["finetune"] == "head"
    assert meta["init"]["source"]["sha256"] == read_source(pretrained["deepbind"])[2]
    before, after = _weights(pretrained["deepbind"]), _weights(out)
    assert all(torch.equal(after[k], before[k]) for k in after if not k.startswith("out."))
    assert main([*argv, "--finetune", "head"]) == 2  # head-only needs a model to start from
    # --task: a model of one task of the two-task datasets (the CLI's way to pretrain on some tasks)
    both = ["train", "--train", str(data["both", "train"]), "--valid", str(data["both", "valid"]), "--config",
            str(config), "--out-dir", str(tmp_path / "ebox"), "--device", "cpu", "--task", "ebox"]  # fmt: skip
    assert main(both) == 0
    assert json.loads((tmp_path / "ebox" / "model.json").read_text())["tasks"] == ["ebox"]


def test_train_config_from_yaml_passes_the_known_motifs_like_the_workflow(tmp_path) -> None:
    """``cisflow train --config``: name and motif_filters auto take baselines.motifs as known motifs (the train
    rule's train_model_params); an explicit model or motif list does not."""
    import yaml

    from cisflow.train.pipeline import read_training_config

    def model_of(config: dict) -> dict:
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(config))
        return read_training_config(path)[0]

    motifs = {"baselines": {"motifs": ["jaspar:MA0363.2"]}}
    assert model_of({"model": {"name": "auto"}, **motifs})["known_motifs"] == ["jaspar:MA0363.2"]
    assert model_of({"model": {"name": "auto", "motif_filters": "auto"}, **motifs})["known_motifs"] == [
        "jaspar:MA0363.2"
    ]
    assert "known_motifs" not in model_of({"model": {"name": "auto", "motif_filters": []}, **motifs})
    assert "known_motifs" not in model_of({"model": {"name": "basset", "params": {}}, **motifs})
    assert "known_motifs" not in model_of({"model": {"name": "auto"}})
