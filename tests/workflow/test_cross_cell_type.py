"""Cross-cell-type prediction on the genome track, the ENCODE-DREAM way: one TF in two cell types, each with its
own accessibility bigWig (high at its bound sites), the model trained on one cell type (its labels and track) on
the training chromosomes, the held-out cell type predicted from its own track and scored on the test chromosome
with its own labels (neither seen in training)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow
HELD, TRAINED = "HepG2", "K562"


def _config(project: dict, signal: dict) -> dict:
    return {
        "track": "genome", "seed": 3, "samples": project["samples"], "genome": {"fasta": project["genome"]},
        "reads": {"min_mapq": 30, "dedup": "flag"},
        "peaks": {"pvalue": 0.01, "reproducibility": "overlap", "reference": None},
        "labels": {"bin_size": 200, "stride": 50},
        "splits": {"valid_chroms": ["chr2"], "test_chroms": ["chr3"], "heldout_cell_types": [HELD],
                   "input_length": 400, "eval_negative_ratio": 3},
        "model": {"name": "sequence_dnn", "params": {"num_filters": [8], "conv_width": [10], "pool_width": 20}},
        "train": {"epochs": 8, "batch_size": 32, "learning_rate": 0.01, "positive_repeats": 4, "jitter": 20,
                  "patience": 5},
        "evaluate": {},
        "interpret": {"methods": ["grad_x_input"], "max_sequences": 12},
        "motifs": {"enabled": False}, "inputs": {"signal_bigwigs": signal},
    }  # fmt: skip


def _at_sites(preds: dict, sites: list) -> np.ndarray:
    """Rows of the predictions whose 200 bp bin holds a site's centre."""
    chrom, start = preds["chrom"], preds["bin_start"]
    hit = np.zeros(len(chrom), bool)
    for s in sites:
        hit |= (chrom == s.chrom) & (start <= s.center) & (s.center < start + 200)
    return hit


def test_held_out_cell_type_scored_on_its_own_labels(tmp_path):
    from sklearn.metrics import roc_auc_score

    from cisflow._testing.celltypes import make_cell_type_project, sites_on, write_cell_signal

    project = make_cell_type_project(tmp_path / "data", cell_types=(HELD, TRAINED))
    signal = write_cell_signal(tmp_path / "data/signal", project)
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(_config(project, signal)))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(run),
           "--configfile", str(tmp_path / "x.yaml"), "--cores", "2"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-6000:]
    held, trained = f"TF.{HELD}", f"TF.{TRAINED}"

    # training never saw the held-out cell type's labels or track
    meta = json.loads((run / "results/train/model.json").read_text())
    assert meta["tasks"] == [trained] and meta["signal_names"] == ["signal_1"]
    train_log = (run / "logs/train/train.log").read_text()
    assert f"signal channels signal_1 read from {signal[TRAINED][0]}\n" in train_log
    assert signal[HELD][0] not in train_log
    for split in ("train", "valid"):
        with np.load(run / f"results/data/{split}.npz") as data:
            assert list(data["tasks"]) == [trained] and set(data["chrom"]) == {"chr1" if split == "train" else "chr2"}
    with np.load(run / "results/labels/labels.npz") as labels:
        assert list(labels["tasks"]) == [held, trained]

    # the held-out cell type is predicted on the test chromosome and scored on its own labels
    with np.load(run / "results/evaluate/predictions.npz") as npz:
        preds = {k: npz[k] for k in ("chrom", "bin_start", "labels", "probs", "tasks")}
    assert list(preds["tasks"]) == [held, trained]
    assert set(preds["chrom"]) == {"chr3"}
    sites = {kind: sites_on(v, "chr3") for kind, v in project["sites"].items()}
    only_held, only_trained, shared = _at_sites(preds, sites["first"]), _at_sites(preds, sites["second"]), \
        _at_sites(preds, sites["shared"])  # fmt: skip
    # the same trained output, each column from its own cell type's track: a site open only in the held-out
    # cell type scores higher with its track than with the trained cell type's, and the other way round
    probs = preds["probs"]
    assert (probs[only_held, 0] > probs[only_held, 1]).all() and (probs[only_trained, 1] > probs[only_trained, 0]).all()
    np.testing.assert_allclose(probs[shared, 0], probs[shared, 1], atol=1e-6)  # both tracks open there
    assert only_held.any() and only_trained.any() and shared.any()
    assert (preds["labels"][only_held, 0] == 1).all() and (preds["labels"][only_held, 1] == 0).all()
    assert (preds["labels"][only_trained, 0] == 0).all() and (preds["labels"][only_trained, 1] == 1).all()
    assert (preds["labels"][shared] == 1).all()
    # motif sites bound only in the held-out cell type score like the trained cell type's sites
    background = (preds["labels"] == 0).all(axis=1)
    assert preds["probs"][only_held, 0].mean() > preds["probs"][background, 0].mean() + 0.2

    summary = json.loads((run / "results/evaluate/metrics.json").read_text())
    assert summary["heldout_tasks"] == [held] and summary["predicted_from"][held] == [trained]
    assert summary["cell_types"] == {held: HELD, trained: TRAINED} and summary["signal_tracks"] == signal
    rows = {r["task"]: r for r in summary["tasks"]}
    y = preds["labels"][:, 0]
    assert rows[held]["num_positives"] == int((y == 1).sum()) != rows[trained]["num_positives"]
    assert rows[held]["auroc"] == pytest.approx(roc_auc_score(y[y >= 0], preds["probs"][y >= 0, 0]), abs=1e-6)
    assert rows[held]["auroc"] > 0.8

    baselines = (run / "results/baselines/baselines.tsv").read_text()
    assert f"\t{held}\t" in baselines and (run / "results/evaluate/dream_scores.tsv").is_file()
    assert len(list((run / "results/evaluate/submissions").glob(f"*.TF.{HELD}.tab.gz"))) == 1
