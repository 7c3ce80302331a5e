"""Tests for cisflow.autosize (data-size defaults), positive repeats in the loader and the chance-aware patience."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from cisflow._testing.artifacts import write_dataset
from cisflow.autosize import (
    BASSET_MODEL,
    COMPACT_MODEL,
    auto_motif_filters,
    choose,
    count_positives,
    model_tier,
    positive_repeats,
    resolve_auto,
)
from cisflow.errors import CisflowError
from cisflow.genome import Genome
from cisflow.labels import Labels
from cisflow.loader import GenomeBatches
from cisflow.train import check_train_config, train_model, train_outputs
from cisflow.train.loop import _still_at_chance


def test_choose_known_answers() -> None:
    small = choose(200, bin_size=200)
    assert small["tier"] == "compact" and small["model"]["name"] == "deepbind"
    assert small["train"] == {"learning_rate": 0.001, "weight_decay": 0.0001, "epochs": 40, "patience": 6,
                              "positive_repeats": 13, "jitter": 100, "reverse_complement": True}  # fmt: skip
    big = choose(5000, bin_size=50)
    assert big["tier"] == "basset" and big["model"]["name"] == "basset"
    assert big["train"]["positive_repeats"] == 1 and big["train"]["jitter"] == 25
    assert big["train"]["learning_rate"] == 0.0003
    npz = choose(200)  # a fixed training set: no jitter, no repeats
    assert npz["train"]["positive_repeats"] == 1 and npz["train"]["jitter"] == 0
    assert [positive_repeats(n) for n in (0, 10, 156, 157, 2500, 2501, 10**6)] == [1, 16, 16, 16, 1, 1, 1]
    assert positive_repeats(200) == 13 and positive_repeats(1250) == 2
    assert count_positives(np.array([[1, 0], [0, 0], [-1, 1], [-1, 0]])) == 2
    with pytest.raises(CisflowError, match="number of positives must be >= 0"):
        choose(-1)


def test_resolve_auto_keeps_every_user_choice(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="cisflow.autosize"):
        model, train, record = resolve_auto({"name": "auto"}, {"epochs": 7}, 300, 100)
    assert model["name"] == "deepbind" and train["epochs"] == 7 and train["weight_decay"] == 0.0001
    assert record["tier"] == "compact" and "epochs" not in record["resolved"] and record["n_positives"] == 300
    assert len(caplog.records) == 1 and "300 positive training sequences (compact)" in caplog.text
    explicit = {"name": "basset", "params": {}}
    model, train, record = resolve_auto(explicit, {"learning_rate": "auto"}, 300, None)
    assert model == explicit and train["learning_rate"] == 0.001 and train["weight_decay"] == 0.0  # Adam's usual
    assert train["epochs"] == 40 and record["resolved"]["epochs"] == 40  # the budget follows the data size
    keys = ("learning_rate", "weight_decay", "epochs", "patience", "positive_repeats", "jitter", "reverse_complement")
    concrete = {k: 1 for k in keys} | {"reverse_complement": False, "jitter": 0}
    assert resolve_auto(explicit, concrete, 300, 100) == (explicit, concrete, None)


def test_a_source_architecture_brings_its_tiers_optimiser(caplog) -> None:
    """``from_source`` (an ``init_from`` model's architecture under ``name: auto``): learning rate and weight decay of
    the tier the architecture belongs to; the rest of the budget follows the data size, as always."""
    assert model_tier(COMPACT_MODEL) == "compact" and model_tier(BASSET_MODEL) == "basset"
    no_hidden = {k: v for k, v in COMPACT_MODEL["params"].items() if k != "hidden"}
    assert model_tier({"name": "deepbind", "params": no_hidden}) == "compact"  # hidden 32 is DeepBind's default
    assert model_tier({"name": "deepbind", "params": {"num_filters": 64}}) is None
    assert model_tier({"name": "basset", "params": {**BASSET_MODEL["params"], "dropout": 0.5}}) is None
    cases = ((COMPACT_MODEL, 0.001, 0.0001, "compact"), (BASSET_MODEL, 0.0003, 0.0, "basset"),
             ({"name": "deepbind", "params": {"num_filters": 8}}, 0.001, 0.0, None))  # fmt: skip
    for model_cfg, rate, decay, tier in cases:
        with caplog.at_level(logging.INFO, logger="cisflow.autosize"):
            _, train, record = resolve_auto(model_cfg, {}, 483, 200, from_source=True)
        assert (train["learning_rate"], train["weight_decay"], record["source_tier"]) == (rate, decay, tier)
        assert (train["epochs"], train["patience"], train["positive_repeats"]) == (40, 6, 6)  # 483 positives
        assert f"init_from model's tier ({tier or 'none: Adam'})" in caplog.records[-1].getMessage()
    _, train, record = resolve_auto(COMPACT_MODEL, {}, 483, 200)  # named explicitly: Adam's usual, no tier
    assert train["weight_decay"] == 0.0 and "source_tier" not in record
    _, train, record = resolve_auto(COMPACT_MODEL, {"weight_decay": 0.5}, 5000, 200, from_source=True)
    assert train["weight_decay"] == 0.5 and train["learning_rate"] == 0.001 and record["source_tier"] == "compact"


def test_train_config_auto_values_and_errors() -> None:
    cfg = check_train_config({"epochs": "auto", "positive_repeats": 3, "chance_auroc": None})
    assert cfg["epochs"] == "auto" and cfg["positive_repeats"] == 3 and cfg["chance_auroc"] is None
    for bad, message in (
        ({"epochs": "many"}, "train.epochs must be a positive integer or 'auto'"),
        ({"positive_repeats": 0}, "train.positive_repeats must be a positive integer or 'auto'"),
        ({"learning_rate": "fast"}, "train.learning_rate must be a non-negative number or 'auto'"),
        ({"jitter": -1}, "train.jitter must be a non-negative integer or 'auto'"),
        ({"reverse_complement": "yes"}, "train.reverse_complement must be true, false or 'auto'"),
        ({"chance_auroc": 1.0}, r"train.chance_auroc must be a number in \[0, 1\) or null"),
    ):
        with pytest.raises(CisflowError, match=message):
            check_train_config(bad)


def test_patience_waits_while_validation_is_at_chance() -> None:
    rows = [{"split": "train", "auroc": 0.9}, {"split": "valid", "auroc": 0.52}, {"split": "valid", "auroc": np.nan}]
    assert _still_at_chance(rows, 0.55)
    assert not _still_at_chance(rows, None) and not _still_at_chance(rows, 0.5)
    assert _still_at_chance([], 0.55)
    assert not _still_at_chance([*rows, {"split": "valid", "auroc": 0.56}], 0.55)


def test_loader_draws_each_positive_repeats_times() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, 1000).astype(np.uint8)
    nb = (1000 - 20) // 10 + 1
    mat = (rng.random((nb, 1)) < 0.1).astype(np.int8)
    genome, labels = Genome({"c": codes}), Labels(["t"], 20, 10, {"c": 1000}, {"c": mat}, {"c": np.ones(nb, bool)})
    once = GenomeBatches(genome, labels, ["c"], 60, negative_ratio=2.0, seed=1, jitter=5)
    thrice = GenomeBatches(genome, labels, ["c"], 60, negative_ratio=2.0, seed=1, jitter=5, positive_repeats=3)
    n_pos = int(mat.sum())
    assert thrice.n_samples == 3 * n_pos + 6 * n_pos and once.n_samples == 3 * n_pos
    plan = thrice.epoch_plan(0)
    bound = mat[plan["bin_start"] // 10, 0] == 1
    _, counts = np.unique(plan["bin_start"][bound], return_counts=True)
    assert counts.size == n_pos and (counts == 3).all()
    draws = plan["start"][bound]  # each draw its own jitter: the 3 copies of a positive rarely share a shift
    assert np.unique(np.stack([plan["bin_start"][bound], draws]), axis=1).shape[1] > 2 * n_pos
    assert thrice.describe()["positive_repeats"] == 3 and "positive_repeats" not in once.describe()
    sample = thrice.eval_sample(epoch=0)
    assert len(sample["codes"]) == np.unique(plan["rows"]).size  # distinct windows only
    with pytest.raises(CisflowError, match="positive_repeats must be a positive integer"):
        GenomeBatches(genome, labels, ["c"], 60, positive_repeats=0)


def test_train_model_auto_records_its_choice(tmp_path, one_torch_thread) -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (80, 30), dtype=np.uint8)
    labels = (rng.random((80, 1)) < 0.3).astype(np.int8)
    write_dataset(tmp_path / "t.npz", codes, labels, ["a"])
    write_dataset(tmp_path / "v.npz", codes[:40], labels[:40], ["a"])
    out = tmp_path / "m"
    train_cfg = {"epochs": 1, "weight_decay": "auto", "learning_rate": 0.01, "patience": 2, "jitter": 0,
                 "positive_repeats": 1, "reverse_complement": True}  # fmt: skip
    train_model(tmp_path / "t.npz", tmp_path / "v.npz", train_outputs(out), None, train_cfg, 0, "cpu")
    meta = json.loads((out / "model.json").read_text())
    assert meta["name"] == "deepbind" and meta["auto"]["tier"] == "compact"
    assert meta["auto"]["n_positives"] == int(labels.sum()) and set(meta["auto"]["resolved"]) == {
        "model",
        "weight_decay",
    }
    assert meta["train_config"]["weight_decay"] == 0.0001 and meta["train_config"]["learning_rate"] == 0.01


def test_a_config_without_model_and_train_gets_the_data_size_choice(tmp_path, caplog, one_torch_thread) -> None:
    """``cisflow train --config`` with no model section and only train.epochs: every other budget key and the
    model are the data-size default (the default of model.name and of those keys is auto), logged and in
    model.json; on an npz training set no repeats and no jitter."""
    from cisflow.cli import main

    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, (60, 40), dtype=np.uint8)
    labels = (rng.random((60, 1)) < 0.4).astype(np.int8)
    write_dataset(tmp_path / "t.npz", codes, labels, ["a"])
    write_dataset(tmp_path / "v.npz", codes[:30], labels[:30], ["a"])
    (tmp_path / "c.yaml").write_text("seed: 3\ntrain: {epochs: 1, batch_size: 16}\n")
    argv = ["train", "--train", str(tmp_path / "t.npz"), "--valid", str(tmp_path / "v.npz"), "--config",
            str(tmp_path / "c.yaml"), "--out-dir", str(tmp_path / "m"), "--device", "cpu"]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="cisflow.autosize"):
        assert main(argv) == 0
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    n = int(labels.sum())
    assert meta["name"] == "deepbind" and meta["params"]["num_filters"] == 64 and meta["epochs_run"] == 1
    assert meta["auto"]["tier"] == "compact" and meta["auto"]["n_positives"] == n
    resolved = meta["auto"]["resolved"]
    assert {k: v for k, v in resolved.items() if k != "model"} == {
        "learning_rate": 0.001, "weight_decay": 0.0001, "patience": 6, "positive_repeats": 1, "jitter": 0,
        "reverse_complement": True}  # fmt: skip
    assert {k: meta["train_config"][k] for k in ("epochs", "batch_size", "patience")} == {
        "epochs": 1, "batch_size": 16, "patience": 6}  # fmt: skip
    assert f"data-size defaults for {n} positive training sequences (compact)" in caplog.text


def test_auto_motif_filters_known_answers() -> None:
    known = ["CEBPB_known1", "TF2=NRF1_known1", "TF=CEBPB_known1", "TF=jaspar:MA0102.4"]
    compact = resolve_auto(None, {}, 529, 200)[2]
    assert auto_motif_filters(known, ["TF"], compact) == ["CEBPB_known1", "jaspar:MA0102.4"]
    assert auto_motif_filters(known, ["TF", "TF2"], compact) == ["CEBPB_known1", "NRF1_known1", "jaspar:MA0102.4"]
    assert auto_motif_filters("CEBPB_known1", ["TF"], compact) == ["CEBPB_known1"]
    assert auto_motif_filters([], ["TF"], compact) == []
    # the Basset tier, an explicit model (only train keys auto) and no auto at all: never seeded
    assert auto_motif_filters(known, ["TF"], resolve_auto(None, {}, 5000, 200)[2]) == []
    explicit = resolve_auto({"name": "deepbind", "params": {}}, {}, 529, 200)[2]
    assert explicit is not None and auto_motif_filters(known, ["TF"], explicit) == []
    assert auto_motif_filters(known, ["TF"], None) == []
