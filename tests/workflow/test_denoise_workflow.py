"""Snakemake end to end for denoising: the test project's paired-end ATAC sample → models → metrics."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cisflow.cli import main

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow


def test_denoise_target_from_bams_to_metrics(tmp_path):
    from cisflow._testing import make_test_project

    project = make_test_project(tmp_path / "data", seed=0, absolute_paths=True)
    config = {
        "track": "genome",
        "seed": 3,
        "samples": project["samples"],
        "genome": {"fasta": project["genome"]},
        "reads": {"min_mapq": 30, "dedup": "flag"},
        "peaks": {"pvalue": 0.01, "reproducibility": "idr", "reference": None},
        "labels": {},
        "splits": {"valid_chroms": ["chr2"], "test_chroms": ["chr3"]},
        "model": {"name": "sequence_dnn", "params": {"num_filters": [8], "conv_width": [10], "pool_width": 20}},
        "train": {},
        "evaluate": {},
        "interpret": {},
        "motifs": {"enabled": False},
        "denoise": {
            "enabled": True,
            "fractions": [0.3],
            "depth_series": [0.3, 1.0],
            "flank": 20,
            "model": {
                "name": "denoising_resnet",
                "params": {
                    "channels": 4,
                    "kernel_size": 5,
                    "dilation": 2,
                    "n_blocks": 1,
                    "class_channels": 4,
                    "class_kernel_size": 5,
                    "class_blocks": 1,
                },
            },
            "epochs": 2,
            "interval": 5000,
            "learning_rate": 0.005,
        },
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
           str(tmp_path / "run"), "--configfile", str(tmp_path / "c.yaml"), "--cores", "2", "denoise"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-6000:]
    base = tmp_path / "run" / "results" / "denoise" / "ATAC.synth.rep1"
    assert not (tmp_path / "run" / "results" / "train").exists()  # the target runs the denoising only
    for seed in (3, 4):  # the training sample and the next seed's (never seen by the model)
        run = base / "f0.3" / f"on_f0.3_s{seed}"
        rows = list(csv.DictReader(open(run / "metrics.tsv"), delimiter="\t"))
        methods = {r["method"] for r in rows}
        assert methods == {"noisy", "denoised", "macs3_noisy", "macs3_depth", "equivalent_depth"}
        assert {r["region"] for r in rows if r["method"] == "denoised"} == {"all", "in_peaks", "outside_peaks"}
        summary = json.loads((run / "summary.json").read_text())
        assert summary["depth"] == pytest.approx(0.3, abs=0.05)
        assert (run / "metrics.png").read_bytes()[:4] == b"\x89PNG"
        assert (run / "denoised.bw").is_file() and (run / "peaks.narrowPeak").is_file()
    meta = json.loads((base / "f0.3" / "model" / "model.json").read_text())
    assert meta["splits"]["chr3"] == "test" and meta["flank"] == 20 and meta["seed"] == 3

    # the same YAML through the CLI (cisflow denoise train --config) trains with the same settings
    pair, cli = base / "f0.3" / "s3", tmp_path / "cli"
    argv = ["denoise", "train", "--noisy", pair / "noisy.bw", "--clean", base / "clean.bw", "--peaks",
            base / "clean.narrowPeak", "--genome", tmp_path / "run/results/genome/chrom.sizes", "--valid", "chr2",
            "--test", "chr3", "--threads", "1", "--config", tmp_path / "c.yaml", "--out-dir", cli]  # fmt: skip
    assert main([str(arg) for arg in argv]) == 0
    same = ("train_config", "seed", "splits", "flank", "interval", "pad", "model")
    got = json.loads((cli / "model.json").read_text())
    assert {k: got.get(k) for k in same} == {k: meta.get(k) for k in same}
    assert got["train_config"]["epochs"] == 2 and got["train_config"]["learning_rate"] == 0.005
