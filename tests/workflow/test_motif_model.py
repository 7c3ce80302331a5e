"""The workflow's motif model (motif_model.enabled): a second model trained on the same data, evaluated beside
the model and explained instead of it (tiny simulation, seconds)."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import _planned, _run

pytestmark = pytest.mark.workflow


def _config(path: Path, motif_model: dict) -> Path:
    """The tiny simulation (simulation_tiny.yaml: a small SequenceDNN for 2 epochs) with a motif model; grad x
    input of 8 sequences, no motif stage."""
    config = yaml.safe_load((Path(__file__).parent / "simulation_tiny.yaml").read_text())
    config |= {"motif_model": motif_model, "baselines": {"kmer": True, "k": 4, "C": [1.0]},
               "interpret": {"methods": ["grad_x_input"], "max_sequences": 8},
               "motifs": {"enabled": False}}  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path


def test_motif_model_is_trained_evaluated_and_explained(tmp_path):
    work = tmp_path / "run"
    assert "train_motif_model" not in _planned(work, _config(tmp_path / "plain.yaml", {"enabled": False}))
    motif_model = {"enabled": True, "name": "deepbind", "params": {"num_filters": 16, "conv_width": 10, "hidden": 16},
                   "train": {"epochs": 4, "min_epochs": 4, "learning_rate": 0.01}}  # fmt: skip
    config = _config(tmp_path / "motif_model.yaml", motif_model)
    planned = _planned(work, config)
    assert planned["train"] == planned["train_motif_model"] == planned["evaluate_motif_model"] == 1

    _run(work, config, "results/evaluate/comparison.tsv", "results/interpret/summary.tsv")
    model = json.loads((work / "results/train/model.json").read_text())
    motifs = json.loads((work / "results/motif_model/model.json").read_text())
    assert (model["name"], motifs["name"]) == ("sequence_dnn", "deepbind")
    # motif_model.train overrides the train section's epochs, and only them
    assert (model["epochs_run"], motifs["epochs_run"]) == (2, 4)
    assert motifs["train_config"]["batch_size"] == model["train_config"]["batch_size"] == 32
    table = pd.read_csv(work / "results/evaluate/comparison.tsv", sep="\t").set_index("model")
    assert list(table.index[:2]) == ["cnn", "cnn_motifs"] and "kmer" in table.index
    own = json.loads((work / "results/motif_model/evaluate/metrics.json").read_text())["tasks"][0]
    assert table.loc["cnn_motifs", "auprc"] == pytest.approx(own["auprc"])
    # the interpretation read the motif model
    assert "model results/motif_model (deepbind)" in (work / "logs/interpret/interpret.log").read_text()
    # its settings are part of its identity: a change retrains it (and re-explains), not the model
    motif_model["train"]["learning_rate"] = 0.005
    again = _planned(work, _config(tmp_path / "epochs.yaml", motif_model), "results/interpret/summary.tsv")
    assert again.get("train_motif_model") == 1 and again.get("interpret") == 1 and "train" not in again
