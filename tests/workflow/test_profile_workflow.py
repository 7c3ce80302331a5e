"""Snakemake end to end for the profile models: the test project's ChIP (BPNet with its control) and ATAC
(bias model, then ChromBPNet) groups from BAMs to metrics, checks, motifs and the summary table."""

import gzip
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest
import yaml

from cisflow.cli import main
from cisflow.params import logged_params
from cisflow.pwm import read_meme

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow


def _config(project: dict) -> dict:
    tiny = {"filters": 8, "n_layers": 2, "profile_kernel": 25}
    return {
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
        "interpret": {"methods": ["deepshap"]},
        "motifs": {"n_leiden_runs": 2, "min_metacluster_size": 3, "final_min_cluster_size": 3, "taxon": "fungi"},
        "profile": {
            "enabled": True,
            "peak_set": "relaxed",
            "shift": [0, 0],  # the simulated ATAC reads carry no Tn5 preference to measure a shift from
            "input_length": 200,
            "output_length": 100,
            "jitter": 8,
            "background_ratio": 2.0,
            "model": tiny,
            "bias": {"params": tiny, "epochs": 2},
            "train": {"epochs": 2, "batch_size": 16, "background_ratio": 0.5},
            "interpret": {"max_regions": 30, "n_references": 3},
        },
    }


def _track_total(path: Path) -> float:
    with pyBigWig.open(str(path)) as bw:
        return sum(np.nansum(bw.values(c, 0, n, numpy=True)) for c, n in bw.chroms().items())


def _five_prime_ends(tagalign: Path) -> dict[str, int]:
    """Reads per strand of a tagAlign (each is one 5' end: one count in the tracks)."""
    with gzip.open(tagalign, "rt") as fh:
        strands = [line.split("\t")[5].strip() for line in fh]
    return {s: strands.count(s) for s in "+-"}


def test_profile_target_from_bams_to_summary(tmp_path, caplog):
    from cisflow._testing import make_test_project

    project = make_test_project(tmp_path / "data", seed=0, absolute_paths=True)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(_config(project)))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(run),
           "--configfile", str(tmp_path / "c.yaml"), "--cores", "2", "profile"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert not (run / "results" / "train").exists()  # the target runs the profile models only
    res = run / "results"

    # tracks: one count per 5' end of the pooled reads (ChIP per strand, ATAC both strands in one track)
    chip = _five_prime_ends(res / "reads" / "TF.synth.pooled.tagAlign.gz")
    assert _track_total(res / "profile/tracks/TF.synth.pooled.plus.bw") == chip["+"]
    assert _track_total(res / "profile/tracks/TF.synth.pooled.minus.bw") == chip["-"]
    atac = _five_prime_ends(res / "reads" / "ATAC.synth.pooled.tagAlign.gz")
    assert _track_total(res / "profile/tracks/ATAC.synth.pooled.bw") == atac["+"] + atac["-"]
    assert (res / "profile/tracks/TF.synth.control.plus.bw").is_file()

    # datasets held out as the rest of the workflow: chr3 test, chr2 valid
    for group in ("TF.synth", "ATAC.synth"):
        for split, chroms in (("train", {"chr1"}), ("valid", {"chr2"}), ("test", {"chr3"})):
            data = np.load(res / "profile" / group / "data" / f"{split}.npz")
            assert set(data["chrom"].astype(str)) == chroms, (group, split)
    assert "control" in np.load(res / "profile/TF.synth/data/train.npz")  # BPNet's control input
    assert "control" not in np.load(res / "profile/ATAC.synth/data/train.npz")

    bpnet = pd.read_csv(res / "profile/TF.synth/evaluate/metrics.tsv", sep="\t")
    assert set(bpnet["model"]) == {"full"} and {"peaks", "background", "all"} <= set(bpnet["regions"])
    chrombpnet = pd.read_csv(res / "profile/ATAC.synth/evaluate/metrics.tsv", sep="\t")
    assert set(chrombpnet["model"]) == {"full", "corrected", "bias"}
    peaks = chrombpnet[(chrombpnet["model"] == "full") & (chrombpnet["regions"] == "peaks")].iloc[0]
    # the model's JSD lies between the pseudo-replicate bound and the shuffled-counts bound
    assert np.isfinite(peaks["median_jsd"]) and peaks["median_jsd"] < peaks["median_jsd_shuffled"]

    checks = pd.read_csv(res / "profile/ATAC.synth/checks.tsv", sep="\t")
    assert list(checks["check"].str.split().str[0]) == ["bias", "bias", "Tn5", "bias-model"]
    # the enzyme's matrix from the cut sites (25 columns around them), against which the bias patterns are judged
    assert read_meme(res / "profile/tracks/ATAC.synth.enzyme.meme")["enzyme"].shape == (4, 25)
    assert "better than the enzyme" in checks["check"].iloc[3] and "taken as the enzyme" in checks["note"].iloc[3]
    patterns = pd.read_csv(res / "profile/ATAC.synth/bias_patterns.tsv", sep="\t")
    assert checks["value"].iloc[3] == patterns["tf_like"].sum()
    assert not (res / "profile/TF.synth/checks.tsv").exists()  # chrombpnet's checks are for ChromBPNet only

    summary = pd.read_csv(res / "profile/ATAC.synth/summary.tsv", sep="\t")
    sections = set(summary["section"])
    assert {"full model, ATAC.synth, peaks", "bias model, ATAC.synth, peaks", "ChromBPNet checks"} <= sections
    for head in ("corrected", "bias"):
        scores = np.load(res / f"profile/ATAC.synth/interpret/{head}/profile.npz")
        assert scores["scores"].shape == scores["x"].shape and scores["x"].shape[1:] == (4, 200)
        assert (res / f"profile/ATAC.synth/motifs/{head}.profile/jaspar_matches.tsv").is_file()
    assert (res / "profile/TF.synth/motifs/full.profile/jaspar_matches.tsv").is_file()

    _same_parameters_through_the_cli(tmp_path, res, res / "genome" / "codes.npy", caplog)


def _same_parameters_through_the_cli(tmp_path: Path, res: Path, genome: Path, caplog) -> None:
    """The same YAML through ``cisflow profile datasets|bias --config`` and ``cisflow motifs --config`` gives the
    library what the rules gave it: the same datasets, the bias model's settings, the motif stage's parameters."""
    cfg, cli, tracks = tmp_path / "c.yaml", tmp_path / "cli", res / "profile/tracks"
    peaks = res / "peaks/TF.synth.relaxed.narrowPeak"
    track = f"TF.synth={tracks}/TF.synth.pooled.plus.bw,{tracks}/TF.synth.pooled.minus.bw"
    controls = [arg for strand in ("plus", "minus") for arg in ("--control", tracks / f"TF.synth.control.{strand}.bw")]
    _run(["profile", "datasets", "--genome", genome, "--peaks", peaks, "--track", track, *controls,
          "--out-dir", cli / "data", "--config", cfg])  # fmt: skip
    for split in ("train", "valid", "test"):
        with np.load(res / f"profile/TF.synth/data/{split}.npz") as snake, np.load(cli / f"data/{split}.npz") as got:
            assert sorted(got.files) == sorted(snake.files)
            for key in snake.files:
                np.testing.assert_array_equal(got[key], snake[key], err_msg=f"{split}.npz {key}")

    data = res / "profile/ATAC.synth/data"
    _run(["profile", "bias", "--train", data / "train.npz", "--valid", data / "valid.npz", "--threads", "1",
          "--out-dir", cli / "bias", "--config", cfg])  # fmt: skip
    snake, got = (json.loads((d / "model.json").read_text()) for d in (res / "profile/ATAC.synth/bias", cli / "bias"))
    assert got["train_config"] == snake["train_config"] and got["seed"] == snake["seed"] == 3
    assert snake["train_config"]["epochs"] == 2 and got.get("model") == snake.get("model")

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cisflow.params"):
        _run(["-v", "motifs", "--scores", res / "profile/TF.synth/interpret/full/profile.npz", "--peaks", peaks,
              "--out-dir", cli / "motifs", "--config", cfg])  # fmt: skip
    expected = logged_params((res.parent / "logs/profile_motifs/TF.synth.full.profile.log").read_text())["motifs"]
    assert logged_params(caplog.text)["motifs"] == expected
    assert expected["taxon"] == "fungi" and expected["n_leiden_runs"] == 2 and expected["seed"] == 3


def _run(argv: list) -> None:
    assert main([str(arg) for arg in argv]) == 0
