"""One YAML, one set of parameters: a stage run through Snakemake and through the CLI (``--config``) on the
same YAML hands the library the same values.

Each stage function logs what it received (``parameters of STAGE {json}``, :func:`cisflow.params.log_params`)
and training records its resolved ``train`` settings in model.json; the CLI is run in-process on the
Snakemake run's own inputs and the records are compared. The YAML leaves out the keys on which the two
faces used to disagree (train.epochs and reverse_complement, reads.dedup, evaluate.reverse_complement_average,
baselines.C, interpret.methods, simulation.valid_fraction), so each face's defaults are what is compared.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from cisflow.cli import main
from cisflow.params import logged_params

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
pytestmark = pytest.mark.workflow


def _snakemake(work: Path, configfile: Path, *targets: str) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")
    cmd = [*SNAKEMAKE, "--directory", str(work), "--configfile", str(configfile), "--cores", "2", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")


def _cli(argv: list, caplog) -> dict:
    """Run ``cisflow -v ARGV`` in-process; the parameter records the library logged."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cisflow.params"):
        assert main(["-v", *map(str, argv)]) == 0
    return logged_params(caplog.text)


def _recorded(work: Path, log: str, stage: str) -> dict:
    return logged_params((work / "logs" / log).read_text())[stage]


def test_simulation_stages_get_the_same_parameters_from_both_faces(tmp_path, caplog, one_torch_thread):
    config = yaml.safe_load((REPO / "tests/workflow/simulation_tiny.yaml").read_text())
    config["train"] = {"epochs": 3, "batch_size": 32, "patience": 3, "monitor": "auroc", "learning_rate": 0.01}
    config["evaluate"] = {"fdrs": [0.1, 0.5]}
    config["baselines"] = {"k": 3}
    config["interpret"] = {"max_sequences": 4, "task": 0}
    config["motifs"] = {"enabled": False}
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(config))
    work, cfg = tmp_path / "run", ["--config", path]
    targets = ["results/train/model.json", "results/evaluate/metrics.json", "results/baselines/baselines.tsv",
               "results/interpret/summary.tsv"]  # fmt: skip
    _snakemake(work, path, *targets)
    data, out = work / "results/data", tmp_path / "cli"

    _cli(["simulate", "--out-dir", out / "sim", *cfg], caplog)  # same sequences, labels and split as the rule's
    for split in ("train", "valid", "test"):
        with np.load(data / f"{split}.npz") as snake, np.load(out / "sim" / f"{split}.npz") as cli:
            assert cli["ids"].tolist() == snake["ids"].tolist() and (cli["codes"] == snake["codes"]).all()

    _cli(["train", "--train", data / "train.npz", "--valid", data / "valid.npz", "--out-dir", out / "train", *cfg],
         caplog)  # fmt: skip
    snake, cli = (json.loads((d / "model.json").read_text()) for d in (work / "results/train", out / "train"))
    assert cli["train_config"] == snake["train_config"]
    assert snake["train_config"]["reverse_complement"] is True and snake["train_config"]["epochs"] == 3

    model = work / "results/train"
    got = _cli(["evaluate", "--model", model, "--test", data / "test.npz", "--out-dir", out / "eval", *cfg], caplog)
    assert got["evaluate"] == _recorded(work, "evaluate/evaluate.log", "evaluate")
    assert got["evaluate"] == {"fdrs": [0.1, 0.5], "batch_size": 256, "reverse_complement_average": True}

    argv = ["baselines", "--train", data / "train.npz", "--valid", data / "valid.npz", "--test", data / "test.npz"]
    got = _cli([*argv, "--out-dir", out / "baselines", *cfg], caplog)
    assert got["baselines"] == _recorded(work, "baselines/baselines.log", "baselines")
    assert got["baselines"]["C"] == [0.1, 1.0] and got["baselines"]["k"] == 3 and got["baselines"]["seed"] == 7

    argv = ["interpret", "--model", model, "--data", data / "test.npz", "--out-dir", out / "interpret"]
    got = _cli([*argv, "--embeddings", work / "results/simulate/embeddings.tsv", *cfg], caplog)
    assert got["interpret"] == _recorded(work, "interpret/interpret.log", "interpret")
    assert got["interpret"]["methods"] == ["ism", "grad_x_input"] and got["interpret"]["motifs"] == ["TAL1_known4"]


def test_genome_stages_get_the_same_parameters_from_both_faces(tmp_path, caplog):
    from cisflow._testing import make_test_project

    project = make_test_project(tmp_path / "data", seed=0, absolute_paths=True)
    config = {
        "track": "genome",
        "seed": 3,
        "samples": project["samples"],
        "genome": {"fasta": project["genome"]},
        "reads": {"min_mapq": 20, "drop_chroms": ["chrM", "chrY"]},  # dedup and tn5_shift: the defaults
        "peaks": {"reference": None, "pvalue": 0.02},  # max_peaks, call_summits, genome_size: the defaults
        "labels": {"stride": 100},
        "splits": {"valid_chroms": ["chr2"], "test_chroms": ["chr3"], "input_length": 400, "eval_negative_ratio": 3},
        "model": {"name": "sequence_dnn", "params": {}},
        "train": {},
        "evaluate": {},
        "interpret": {},
        "motifs": {"enabled": False},
        "denovo_seeds": {"n_motifs": 2, "min_sites": 5},
    }
    path = tmp_path / "genome.yaml"
    path.write_text(yaml.safe_dump(config))
    work = tmp_path / "run"
    _snakemake(work, path, "results/data/splits.json", "results/denovo/seeds.tsv")
    bam = next(Path(project["samples"]).parent.rglob("tf_rep1.bam"))  # the sheet's TF.synth rep1
    argv = ["reads", "filter", bam, "--genome-sizes", work / "results/genome/chrom.sizes", "--assay", "chip"]
    got = _cli([*argv, "--out", tmp_path / "cli.tagAlign.gz", "--config", path], caplog)
    expected = _recorded(work, "filter_reads/TF.synth.rep1.log", "filter_reads")
    assert got["filter_reads"] == expected
    assert expected["dedup"] == "position" and expected["min_mapq"] == 20 and expected["tn5_shift"] is True

    reads, control = (work / "results/reads" / name for name in ("TF.synth.rep1.tagAlign.gz", "controls"))
    argv = ["peaks", "call", "-t", reads, "-c", next(control.glob("*.tagAlign.gz")), "--assay", "chip"]
    got = _cli([*argv, "--genome", project["genome"], "--out", tmp_path / "p.narrowPeak", "--config", path], caplog)
    expected = _recorded(work, "call_peaks/TF.synth.rep1.log", "call_peaks")
    assert got["call_peaks"] == expected
    assert expected["pvalue"] == 0.02 and expected["max_peaks"] == 300_000 and expected["call_summits"] is False

    res, groups = work / "results", ("ATAC.synth", "TF.synth")
    peaks = [arg for g in groups for arg in ("--conservative", f"{g}={res}/peaks/{g}.optimal.narrowPeak",
                                             "--relaxed", f"{g}={res}/peaks/{g}.relaxed.narrowPeak")]  # fmt: skip
    codes = res / "genome/codes.npy"
    got = _cli(["labels", *peaks, "--genome", codes, "--out", tmp_path / "labels.npz", "--config", path], caplog)
    expected = _recorded(work, "labels/labels.log", "labels")
    assert got["labels"] == expected and expected["stride"] == 100 and expected["mode"] == "dream"

    argv = ["splits", "--labels", res / "labels/labels.npz", "--genome", codes, "--coordinates"]
    _cli([*argv, "--out-dir", tmp_path / "data", "--config", path], caplog)
    snake, cli = (json.loads((d / "splits.json").read_text()) for d in (res / "data", tmp_path / "data"))
    assert cli == snake and snake["input_length"] == 400 and snake["negative_ratio"] == 1.0 and snake["seed"] == 3

    peaks = [f"{g}={res}/peaks/{g}.optimal.narrowPeak" for g in groups]
    argv = ["denovo", *(a for p in peaks for a in ("--peaks", p)), "--labels", res / "labels/labels.npz",
            "--genome", codes, "--splits", res / "data/splits.json", "--out-dir", tmp_path / "denovo",
            "--config", path]  # fmt: skip
    got = _cli(argv, caplog)
    expected = _recorded(work, "denovo_seeds/denovo_seeds.log", "denovo_seeds")
    assert got["denovo_seeds"] == expected and expected["n_motifs"] == 2 and expected["max_gap"] == 8
    assert expected["seed"] == 3
    assert (tmp_path / "denovo/seeds.tsv").read_text() == (res / "denovo/seeds.tsv").read_text()
