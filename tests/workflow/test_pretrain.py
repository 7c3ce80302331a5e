"""The workflow's transfer-learning path (pretrain.enabled): one multi-task model trained first, the model
started from it, evaluated as usual (tiny simulation, seconds)."""

import hashlib
import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_workflow import _planned, _run

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow
MOTIFS = ["CTCF_known1", "TAL1_known4"]


def _config(path: Path, pretrain: dict) -> Path:
    """Two tasks (one per motif); the model fine-tunes only its output layer from the pretrain model."""
    config = {
        "track": "simulation", "seed": 5,
        "simulation": {"kind": "multi_motif_embedding", "motifs": MOTIFS, "input_length": 200, "num_pos": 200,
                       "num_neg": 200, "min_motifs": 1, "max_motifs": 2},
        "model": {"name": "sequence_dnn", "params": {"num_filters": [8], "conv_width": [10], "pool_width": 20,
                                                     "dropout": 0.1}},
        "train": {"epochs": 2, "batch_size": 32, "patience": 2, "monitor": "auroc"},
        "pretrain": pretrain,
        "evaluate": {}, "baselines": {"kmer": False},
        "interpret": {"methods": ["grad_x_input"], "max_sequences": 8}, "motifs": {"enabled": False},
    }  # fmt: skip
    if pretrain["enabled"]:
        config["model"]["finetune"] = "head"
    path.write_text(yaml.safe_dump(config))
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pretrained_model_is_where_the_model_starts(tmp_path):
    work = tmp_path / "run"
    plain = _config(tmp_path / "plain.yaml", {"enabled": False})
    assert "pretrain" not in _planned(work, plain)
    config = _config(tmp_path / "pretrain.yaml", {"enabled": True, "tasks": MOTIFS[:1]})
    planned = _planned(work, config)
    assert planned["pretrain"] == 1 and planned["train"] == 1 and planned["evaluate"] == 1

    _run(work, config, "results/evaluate/metrics.json")
    source = json.loads((work / "results/pretrain/model.json").read_text())
    model = json.loads((work / "results/train/model.json").read_text())
    assert source["tasks"] == MOTIFS[:1] and model["tasks"] == MOTIFS
    init = model["init"]
    assert init["source"]["sha256"] == _sha256(work / "results/pretrain/model.safetensors")
    assert init["tasks"]["mapped"] == MOTIFS[:1] and init["tasks"]["new"] == MOTIFS[1:]
    assert init["finetune"] == "head"
    assert "initialised from results/pretrain" in (work / "logs/train/train.log").read_text()
    # finetune: head keeps the pretrain model's trunk exactly; the output layer trained
    before = load_file(work / "results/pretrain/model.safetensors")
    after = load_file(work / "results/train/model.safetensors")
    head = [k for k in after if after[k].shape[:1] == (2,)]
    assert head and all(torch.equal(before[k], after[k]) for k in after if k not in head)
    assert any(not torch.equal(before[k][0], after[k][0]) for k in head)
    metrics = json.loads((work / "results/evaluate/metrics.json").read_text())
    assert [t["task"] for t in metrics["tasks"]] == MOTIFS
    # the pretrain model's tasks are part of its identity: all tasks → pretrain and train again
    again = _planned(work, _config(tmp_path / "all.yaml", {"enabled": True}), "results/evaluate/metrics.json")
    assert again["pretrain"] == 1 and again["train"] == 1
