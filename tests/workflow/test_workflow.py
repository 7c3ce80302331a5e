"""Snakemake end to end on tiny inputs: the simulation track and the genome track (reads → model)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
pytestmark = pytest.mark.workflow


def _run(workdir: Path, configfile: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")
    cmd = [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(configfile), "--cores", "2", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    if check and proc.returncode != 0:
        pytest.fail(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def _planned(workdir: Path, configfile: Path, *extra: str) -> dict[str, int]:
    """Jobs a dry run plans, counted by rule (Snakemake's 'Job stats' table); {} when nothing is to be done."""
    proc = _run(workdir, configfile, "--dry-run", *extra)
    output = proc.stdout + proc.stderr
    if "Nothing to be done" in output:
        return {}
    counts = {}
    for line in output.split("Job stats:", 1)[1].splitlines()[3:]:  # past the header and its rule
        rule, count = line.split()
        if rule == "total":
            return counts
        counts[rule] = int(count)
    raise AssertionError(f"no job table in the dry run's output:\n{output[-3000:]}")


def _reversed_keys(value):
    """``value`` with every mapping's keys in reverse order, recursively (the same content)."""
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(list(value))}
    return value


def _write_reordered(configfile: Path, path: Path) -> Path:
    """A copy of ``configfile`` with every section's keys (and the sections) in reverse order."""
    config = yaml.safe_load(configfile.read_text())
    path.write_text(yaml.safe_dump(_reversed_keys(config), sort_keys=False))
    assert path.read_text() != configfile.read_text()
    return path


def _check_reruns_only_what_changed(work: Path, configfile: Path) -> None:
    """After a finished run: reordered keys plan no job; a new IDR threshold plans IDR and what follows.

    What follows IDR is what a forced rerun of reproducible_peaks plans (on the unchanged config): labels,
    datasets, training, ..., but no read filtering and no MACS3 call.
    """
    assert _planned(work, _write_reordered(configfile, work / "reordered.yaml")) == {}
    downstream = _planned(work, configfile, "--forcerun", "reproducible_peaks")
    config = yaml.safe_load(configfile.read_text())
    config["peaks"]["idr_threshold"] = 0.1
    (work / "idr.yaml").write_text(yaml.safe_dump(config))
    planned = _planned(work, work / "idr.yaml")
    assert planned == downstream
    assert planned["reproducible_peaks"] == 2 and {"labels", "train", "evaluate"} <= set(planned)
    assert not {"filter_reads", "filter_control", "call_peaks", "call_peaks_pseudoreplicate", "signal_bigwig"} & set(
        planned
    )


def test_misspelled_key_fails_before_any_job(tmp_path):
    config = yaml.safe_load((REPO / "tests/workflow/simulation_tiny.yaml").read_text())
    config["train"]["epoch"] = config["train"].pop("epochs")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = _run(tmp_path, path, check=False)
    assert proc.returncode != 0
    assert "unknown key 'epoch' (did you mean 'epochs'?) in train" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_simulation_track_end_to_end_is_deterministic(tmp_path):
    config = REPO / "tests/workflow/simulation_tiny.yaml"
    runs = []
    for name in ("a", "b"):
        _run(tmp_path / name, config)
        runs.append(json.loads((tmp_path / name / "results/evaluate/metrics.json").read_text()))
    assert runs[0]["tasks"] == runs[1]["tasks"]
    work = tmp_path / "a"
    assert _planned(work, _write_reordered(config, tmp_path / "reordered.yaml")) == {}
    for path in [
        "results/simulate/embeddings.tsv",
        "results/train/model.safetensors",
        "results/train/learning_curve.png",
        "results/evaluate/curves.png",
        "results/interpret/ism.npz",
        "results/interpret/deepshap.npz",
        "logs/train/train.log",
    ]:
        assert (work / path).is_file(), path
    assert "Train Loss" in (work / "logs/train/train.log").read_text()
    summary = (work / "results/interpret/summary.tsv").read_text()
    assert "ism" in summary and "deepshap" in summary
    scores = np.load(work / "results/interpret/ism.npz")
    assert scores["scores"].shape == scores["x"].shape


def _genome_config(project: dict, path: Path) -> Path:
    config = {
        "track": "genome",
        "seed": 3,
        "samples": project["samples"],
        "genome": {"fasta": project["genome"]},
        "reads": {"min_mapq": 30, "dedup": "flag"},
        "peaks": {"pvalue": 0.01, "reproducibility": "idr", "reference": None},
        "labels": {"bin_size": 200, "stride": 50},
        "splits": {"valid_chroms": ["chr2"], "test_chroms": ["chr3"], "input_length": 400, "eval_negative_ratio": 3},
        "model": {"name": "sequence_dnn", "params": {"num_filters": [8], "conv_width": [10], "pool_width": 20}},
        # not the data-size defaults (auto): each positive once per epoch, no jitter, patience 5
        "train": {"epochs": 2, "batch_size": 32, "patience": 5, "positive_repeats": 1, "jitter": 0},
        "evaluate": {},
        "interpret": {"methods": ["ism", "grad_x_input", "deepshap"], "max_sequences": 12, "deepshap_references": 3},
        "motifs": {"n_leiden_runs": 2, "min_metacluster_size": 3, "final_min_cluster_size": 3, "taxon": "fungi"},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _check_qc_report(work: Path, config: Path) -> None:
    """The QC files reach MultiQC (when installed: the qc extra) and the Snakemake report's QC category."""
    if shutil.which("multiqc", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}"):
        html = (work / "results/qc/multiqc_report.html").read_text(encoding="utf-8")  # the qc rule ran MultiQC
        for section in ("cisflow_qc", "fragment_lengths", "cross_correlation", "idr_TF.synth", "read_filters"):
            assert f'id="mqc-module-section-{section}"' in html, section
        general = pd.read_csv(work / "results/qc/multiqc_report_data/multiqc_general_stats.txt", sep="\t")
        assert set(general["Sample"]) == {"TF.synth.rep1", "TF.synth.rep2", "ATAC.synth.rep1"}
    _run(work, config, "--report", str(work / "report.html"))
    page = (work / "report.html").read_text(encoding="utf-8")
    categories = json.loads(re.search(r"var categories = (\{.*?\});", page).group(1))
    in_qc = {Path(f).name for files in categories["QC"].values() for f in files}
    plots = {"fragment_lengths.png", "tss_profile.png", "cross_correlation.png", "read_filters_mqc.png"}
    assert {"qc.tsv", "idr_TF.synth_mqc.png", "idr_ATAC.synth_mqc.png"} | plots <= in_qc


def test_genome_track_from_bams_to_interpretation(tmp_path):
    from cisflow._testing import make_test_project

    project = make_test_project(tmp_path / "data", seed=0, absolute_paths=True)
    config = _genome_config(project, tmp_path / "genome.yaml")
    work = tmp_path / "run"
    _run(work, config)
    _check_reruns_only_what_changed(work, config)
    for group, truth in (("TF.synth", "TF"), ("ATAC.synth", "ATAC")):
        summary = json.loads((work / f"results/peaks/{group}.summary.json").read_text())
        assert summary["conservative"] > 0 and summary["relaxed"] >= summary["conservative"]
        sites = project["sites"][truth]
        for kind, min_recall in (("relaxed", 0.9), ("conservative", 0.4)):
            path = work / f"results/peaks/{group}.{kind}.narrowPeak"
            peaks = [line.split("\t")[:3] for line in path.read_text().splitlines()]
            hit = [any(c == s.chrom and int(a) <= s.center < int(b) for s in sites) for c, a, b in peaks]
            found = sum(any(c == s.chrom and int(a) <= s.center < int(b) for c, a, b in peaks) for s in sites)
            assert found >= min_recall * len(sites), f"{group} {kind}: {found}/{len(sites)} planted sites"
            assert sum(hit) >= 0.9 * len(peaks), f"{group} {kind}: {sum(hit)}/{len(peaks)} peaks at planted sites"
    labels = (work / "results/labels/labels.tsv.gz").read_bytes()
    assert labels[:2] == b"\x1f\x8b"
    header = (work / "results/labels/summary.tsv").read_text().splitlines()
    assert any(line.startswith("TF.synth") for line in header[1:])
    metrics = json.loads((work / "results/evaluate/metrics.json").read_text())
    assert [t["task"] for t in metrics["tasks"]] == ["ATAC.synth", "TF.synth"]
    assert (work / "results/signal/TF.synth.rep1.cpm.bw").is_file()
    scored = np.load(work / "results/interpret/deepshap.npz")
    assert set(scored["chrom"]) <= {"chr3"} and scored["start"].shape == scored["ids"].shape
    assert (work / "results/motifs/motifs.html").is_file()
    assert (work / "results/interpret/deepshap.bw").is_file()
    filtered = json.loads((work / "results/reads/TF.synth.rep1.stats.json").read_text())
    assert filtered["kept"] > 0
    # the control both TF replicates name is filtered once; MACS3's work files are gone, its log kept
    assert [p.name for p in (work / "results/reads/controls").glob("*.tagAlign.gz")] == ["tf_control.tagAlign.gz"]
    assert not list((work / "results/peaks/macs3").glob("*_macs3"))
    assert "callpeak" in (work / "logs/call_peaks/TF.synth.pooled.macs3.log").read_text()
    # MACS3 runs: each replicate and the pool with a fold-enrichment track, pseudo-replicates peaks only; ATAC's
    # one replicate is its pool (the same reads), so it is called once
    calls = sorted(p.name.removesuffix(".macs3.log") for p in (work / "logs/call_peaks").glob("*.macs3.log"))
    assert calls == ["ATAC.synth.pooled", "ATAC.synth.pr1", "ATAC.synth.pr2", "TF.synth.pooled", "TF.synth.pr1",
                     "TF.synth.pr2", "TF.synth.rep1", "TF.synth.rep1.pr1", "TF.synth.rep1.pr2", "TF.synth.rep2",
                     "TF.synth.rep2.pr1", "TF.synth.rep2.pr2"]  # fmt: skip
    tracks = sorted(p.name for p in (work / "results/signal").glob("*.fe.bw"))
    assert tracks == ["ATAC.synth.pooled.fe.bw", "TF.synth.pooled.fe.bw", "TF.synth.rep1.fe.bw", "TF.synth.rep2.fe.bw"]
    qc = pd.read_csv(work / "results/qc/qc.tsv", sep="\t").set_index("sample")
    assert set(qc.index) == {"TF.synth.rep1", "TF.synth.rep2", "ATAC.synth.rep1"}
    assert qc.loc["ATAC.synth.rep1", "nfr_fraction"] > 0.5
    assert abs(qc.loc["TF.synth.rep1", "fragment_length"] - 200) <= 20  # the simulated fragments are 200 bp
    assert qc.loc["TF.synth.rep1", "reproducibility"] in ("pass", "borderline", "fail")
    assert (qc[["frip_conservative", "frip_relaxed", "nrf", "pbc1"]] > 0).all().all()
    assert {"nrf_flag", "frip_relaxed_flag", "rsc_flag"} <= set(qc.columns)
    _check_qc_report(work, config)
    dream = (work / "results/evaluate/dream_scores.tsv").read_text().splitlines()
    assert {line.split("\t")[1] for line in dream[1:]} == {"cnn", "kmer"}
    submission = work / "results/evaluate/submissions/F.TF.synth.tab.gz"  # the challenge's file name
    assert submission.read_bytes()[:2] == b"\x1f\x8b"
    assert (work / "results/evaluate/curves_vs_baselines.png").read_bytes()[:4] == b"\x89PNG"
    dna_only = {t["task"]: t["auroc"] for t in metrics["tasks"]}

    # FactorNet-style: the ATAC coverage the workflow made becomes a fifth input channel; rerun in place
    with_signal = yaml.safe_load(config.read_text())
    with_signal["inputs"] = {"signal_bigwigs": ["results/signal/ATAC.synth.rep1.cpm.bw"]}
    with_signal["train"].update(epochs=8, learning_rate=0.01)
    config.write_text(yaml.safe_dump(with_signal))
    _run(work, config)
    meta = json.loads((work / "results/train/model.json").read_text())
    assert meta["in_channels"] == 5 and meta["signal_names"] == ["ATAC.synth.rep1.cpm.bw"]
    with np.load(work / "results/data/test.npz") as test:  # coordinates: windows and signal made when scored
        assert "codes" not in test and "signal" not in test and test["signal_names"].tolist() == meta["signal_names"]
    metrics = json.loads((work / "results/evaluate/metrics.json").read_text())
    with_cov = {t["task"]: t["auroc"] for t in metrics["tasks"]}
    # the ATAC task's own coverage ranks its bins almost perfectly (a known answer, not a use case)
    assert with_cov["ATAC.synth"] > max(0.95, dna_only["ATAC.synth"]), (dna_only, with_cov)
    deepshap_npz = work / "results/interpret/deepshap.npz"
    assert deepshap_npz.stat().st_mtime > (work / "results/train/model.safetensors").stat().st_mtime
    scored = np.load(deepshap_npz)  # DNA contributions of the new model, its signal held fixed
    assert scored["scores"].shape[1] == 4 and np.abs(scored["scores"]).max() > 0
    assert float(scored["summation_error"].max()) < 1e-3

    # de novo seeds: the word most enriched in the training peaks is the planted motif, and it seeds the model
    from cisflow.genome import decode, encode, reverse_complement_codes

    seeded = yaml.safe_load(config.read_text())
    seeded["model"]["motif_filters"] = ["denovo"]
    seeded["denovo_seeds"] = {"n_motifs": 2, "min_sites": 3, "window": 100}
    config.write_text(yaml.safe_dump(seeded))
    _run(work, config, "results/train/model.json")
    seeds = pd.read_csv(work / "results/denovo/seeds.tsv", sep="\t")
    planted = {project["motif"], decode(reverse_complement_codes(encode(project["motif"])))}
    assert any(seeds["consensus"][0][4:12] in m for m in planted), seeds
    meta = json.loads((work / "results/train/model.json").read_text())
    assert [f["motif"] for f in meta["init"]["seeded_filters"]][:2] == ["denovo_1", "denovo_1"]
