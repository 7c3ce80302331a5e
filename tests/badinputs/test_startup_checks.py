"""Config mistakes that the inputs make knowable are reported before the first job, naming the key.

Each case writes a config into its own folder and dry-runs the workflow there (all cases through one
Snakemake process, :mod:`snakemake_batch`); the run must fail with one line naming the config file
and the key, and plan no job. Inputs are generated here: a three-chromosome genome and a sample
sheet whose reads files are placeholders (a dry run reads none of them).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cisflow.config import check_inputs, check_samples_config, validate_config
from cisflow.errors import CisflowError
from cisflow.samples import read_sample_sheet

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SIZES = {"chr1": 3000, "chr2": 2000, "chr3": 2000}


def _genome_config(data: Path) -> dict:
    return {
        "track": "genome",
        "seed": 1,
        "samples": str(data / "samples.tsv"),
        "genome": {"fasta": str(data / "genome.fa")},
        "labels": {"bin_size": 200, "stride": 50},
        "splits": {"valid_chroms": ["chr2"], "test_chroms": ["chr3"], "input_length": 400},
        "model": {"name": "sequence_dnn", "params": {"num_filters": [4], "conv_width": [5], "pool_width": 5}},
        "train": {"epochs": 2},
        "evaluate": {},
        "baselines": {},
        "reads": {},
        "peaks": {},
        "interpret": {"methods": ["grad_x_input"]},
        "motifs": {"method": "grad_x_input"},
    }


def _simulation_config() -> dict:
    return yaml.safe_load((REPO / "tests/workflow/simulation_tiny.yaml").read_text())


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """genome.fa (no index: its sizes come from one scan), placeholder reads, samples.tsv (3 tasks, 2 cell types)."""
    d = tmp_path_factory.mktemp("inputs")
    (d / "genome.fa").write_text(
        "".join(f">{c} some description\n" + "ACGT" * (n // 4) + "\n" for c, n in SIZES.items())
    )
    rows = [("TF", "K562", "chip", "a.bam"), ("TF", "HepG2", "chip", "b.bam"), ("ATAC", "K562", "atac", "c.bam")]
    for *_, bam in rows:
        (d / bam).write_text(f"placeholder {bam}\n")  # distinct contents: the sheet refuses a copied file
    lines = ["task\tcell_type\tassay\treplicate\treads"] + [f"{t}\t{c}\t{a}\t1\t{d / b}" for t, c, a, b in rows]
    (d / "samples.tsv").write_text("\n".join(lines) + "\n")
    return d


def _set(config: dict, dotted: str, value) -> dict:
    config = copy.deepcopy(config)
    *path, key = dotted.split(".")
    node = config
    for part in path:
        node = node.setdefault(part, {})
    node[key] = value
    return config


GENOME_CASES = {
    "test-chrom-not-in-genome": ({"splits.test_chroms": ["chr9"]}, ["splits.test_chroms: chr9 is not in the genome"]),
    "valid-chrom-naming-style": ({"splits.valid_chroms": ["2"]}, ["splits.valid_chroms: 2", "(did you mean chr2?)"]),
    "valid-and-test-overlap": (
        {"splits.valid_chroms": ["chr2"], "splits.test_chroms": ["chr2", "chr3"]},
        ["chr2 is in both splits.valid_chroms and splits.test_chroms"],
    ),
    "nothing-left-for-training": (
        {"splits.valid_chroms": ["chr1", "chr2"]},
        ["nothing left for training", "splits.valid_chroms"],
    ),
    "nothing-left-after-exclude": (
        {"genome.exclude_chroms": ["chr1"]},
        ["nothing left for training", "genome.exclude_chroms"],
    ),
    "test-chrom-not-labelled": (
        {"genome.chroms": "chr[12]"},
        ["splits.test_chroms: chr3 is left out by genome.chroms"],
    ),
    "test-chrom-excluded": (
        {"genome.exclude_chroms": ["chr3"]},
        ["splits.test_chroms: chr3 is also in genome.exclude_chroms"],
    ),
    "region-past-chromosome-end": ({"splits.test_regions": ["chr1:0-5000"]}, ["splits.test_regions: chr1:0-5000 ends"]),
    "region-not-in-genome": ({"splits.test_regions": ["chrX:0-500"]}, ["splits.test_regions: chrX is not in"]),
    "regions-overlap": (
        {"splits.test_regions": ["chr1:0-1000", "chr1:800-1600"]},
        ["chr1:800-1000 is held out twice in splits.test_regions"],
    ),
    "region-in-a-valid-chromosome": (
        {"splits.test_regions": ["chr2:0-500"]},
        ["chr2:0-500 is in both splits.valid_chroms and splits.test_regions"],
    ),
    "valid-and-test-regions-overlap": (
        {"splits.valid_chroms": [], "splits.valid_regions": ["chr1:0-1000"], "splits.test_regions": ["chr1:600-1400"]},
        ["chr1:600-1000 is in both splits.valid_regions and splits.test_regions"],
    ),
    "no-valid-chromosome": ({"splits.valid_chroms": []}, ["splits.valid_chroms: no valid chromosome or region"]),
    "unknown-heldout-cell-type": (
        {"splits.heldout_cell_types": ["HeLa"]},
        ["splits.heldout_cell_types: 'HeLa' is not a cell type", "(it has HepG2, K562)"],
    ),
    "every-cell-type-held-out": (
        {"splits.heldout_cell_types": ["K562", "HepG2"]},
        ["splits.heldout_cell_types", "no task is left"],
    ),
    "interpret-task-out-of-range": (
        {"interpret.task": 3},
        ["interpret.task 3 is out of range", "3 task(s) (ATAC.K562, TF.HepG2, TF.K562)"],
    ),
    "interpret-task-held-out": (
        {"splits.heldout_cell_types": ["HepG2"], "interpret.task": 2},
        ["interpret.task 2 is out of range", "(ATAC.K562, TF.K562)"],
    ),
    "eval-negative-ratio-negative": (
        {"splits.eval_negative_ratio": -1},
        ["splits.eval_negative_ratio: -1 is negative"],
    ),
    "valid-negative-ratio-negative": (
        {"splits.valid_negative_ratio": -0.5},
        ["splits.valid_negative_ratio: -0.5 is negative"],
    ),
    "stride-larger-than-bin": ({"labels.stride": 300}, ["labels.stride (300) is larger than labels.bin_size (200)"]),
    "input-shorter-than-bin": (
        {"splits.input_length": 150},
        ["splits.input_length (150) is smaller than labels.bin_size (200)"],
    ),
    "summit-flank-too-wide": (
        {"labels.mode": "summit", "labels.summit_flank": 100},
        ["labels.summit_flank (100) must be less than half labels.bin_size (200)"],
    ),
    "test-chrom-reads-dropped": (
        {"reads.drop_chroms": ["chrM", "chr3"]},
        ["splits.test_chroms: chr3 is also in reads.drop_chroms"],
    ),
    "model-does-not-fit-input": (
        {"model.params": {"num_filters": [4], "conv_width": [500], "pool_width": 5}},
        ["model: sequence_dnn: input_length 400 is too short for conv_width [500]"],
    ),
    "motif-window-longer-than-input": (
        {"motifs.window": 500},
        ["motifs.window (500) is longer than the model's input (400 bp)"],
    ),
    "hit-window-longer-than-input": (
        {"motifs.hits": {"window": 401}},
        ["motifs.hits.window (401) is longer than the model's input"],
    ),
    "baseline-motif-unknown-task": (
        {"baselines.motifs": ["CTCF=jaspar:MA0139.1"]},
        ["baselines.motifs: 'CTCF=jaspar:MA0139.1' names task 'CTCF', not a task of the data (ATAC.K562,"],
    ),
    "baseline-motif-unknown": ({"baselines.motifs": ["jaspar:MA9999.9"]}, ["baselines.motifs: ", "MA9999.9"]),
}
SIMULATION_CASES = {
    "valid-fraction-zero": ({"simulation.valid_fraction": 0}, ["simulation.valid_fraction: 0 of 300 sequences"]),
    "valid-fraction-empties-split": ({"simulation.valid_fraction": 0.001}, ["simulation.valid_fraction: 0.001 of 300"]),
    "interpret-task-out-of-range": ({"interpret.task": 1}, ["interpret.task 1 is out of range", "1 task(s)"]),
    "option-of-another-kind": (
        {"simulation.spacing": [2, 5]},
        ["simulation.spacing does not apply to kind 'density_localization' (it takes center"],
    ),
    "unknown-motif": ({"simulation.motifs": ["NOT_A_MOTIF_known1"]}, ["simulation: ", "NOT_A_MOTIF_known1"]),
    "model-does-not-fit-input": (
        {"model.params": {"num_filters": [4], "conv_width": [300], "pool_width": 5}},
        ["model: sequence_dnn: input_length 200 is too short"],
    ),
}


@pytest.fixture(scope="module")
def outcomes(data, tmp_path_factory) -> dict[str, dict]:
    """Dry-run every case, and the two good configs, through the workflow (one process); ``{case: outcome}``."""
    root = tmp_path_factory.mktemp("cases")
    configs = {"genome-good": _genome_config(data), "sim-good": _simulation_config()}
    for track, cases in (("genome", GENOME_CASES), ("sim", SIMULATION_CASES)):
        for name, (edits, _) in cases.items():
            config = configs[f"{track}-good"]
            for key, value in edits.items():
                config = _set(config, key, value)
            configs[f"{track}-{name}"] = config
    args = []
    for name, config in configs.items():
        (root / name).mkdir()
        (root / name / "config.yaml").write_text(yaml.safe_dump(config))
        args.append(f"{root / name}={root / name / 'config.yaml'}")
    proc = subprocess.run(
        [sys.executable, str(HERE / "snakemake_batch.py"), str(REPO / "Snakefile"), *args],
        capture_output=True, text=True, timeout=600, cwd=root,
    )  # fmt: skip
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == len(configs), proc.stderr[-3000:]
    return dict(zip(configs, lines, strict=True))


def _assert_stopped_before_any_job(outcome: dict, needles: list[str]) -> None:
    work = Path(outcome["workdir"])
    assert not outcome["ok"], f"the workflow was planned: {outcome}"
    error = outcome["error"]
    assert error.startswith("CisflowError: "), error  # ours, not a third-party exception from a later step
    error = error.removeprefix("CisflowError: ")
    assert "\n" not in error
    assert error.startswith(f"{work / 'config.yaml'}: "), error
    for needle in needles:
        assert needle in error, f"{needle!r} not in {error!r}"
    assert not (work / "results").exists(), "a job ran"


def test_good_configs_plan_their_jobs(outcomes):
    assert outcomes["genome-good"]["ok"], outcomes["genome-good"]
    assert outcomes["sim-good"]["ok"], outcomes["sim-good"]


@pytest.mark.parametrize("case", list(GENOME_CASES))
def test_genome_config_mistake_stops_before_any_job(outcomes, case):
    _assert_stopped_before_any_job(outcomes[f"genome-{case}"], GENOME_CASES[case][1])


@pytest.mark.parametrize("case", list(SIMULATION_CASES))
def test_simulation_config_mistake_stops_before_any_job(outcomes, case):
    _assert_stopped_before_any_job(outcomes[f"sim-{case}"], SIMULATION_CASES[case][1])


def test_snakemake_dry_run_exits_non_zero_with_one_line(data, tmp_path):
    """The command a user types: ``snakemake -n`` exits non-zero, the message names the file and key."""
    config = tmp_path / "my config.yaml"
    config.write_text(yaml.safe_dump(_set(_genome_config(data), "splits.test_chroms", ["chr9"])))
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--snakefile", str(REPO / "Snakefile"),
           "--configfile", str(config)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode != 0
    assert f"{config}: splits.test_chroms: chr9 is not in the genome" in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("form", ["indexed", "plain-gzip"])
def test_split_checks_read_the_genome_as_given(data, tmp_path, form):
    """An indexed FASTA is checked from its .fai; a plain-gzip one (no index possible) is read once."""
    import gzip

    import pysam

    text = (data / "genome.fa").read_bytes()
    if form == "indexed":
        fasta = tmp_path / "g.fa"
        fasta.write_bytes(text)
        pysam.faidx(str(fasta))
    else:
        fasta = tmp_path / "g.fa.gz"
        fasta.write_bytes(gzip.compress(text))
    config = validate_config(_set(_genome_config(data), "genome.fasta", str(fasta)))
    check_inputs(config, "g.yaml", base_dir=tmp_path)
    assert not (tmp_path / "results").exists()
    bad = validate_config(_set(config, "splits.test_regions", ["chr3:1000-2500"]))
    with pytest.raises(CisflowError, match=r"g.yaml: splits.test_regions: chr3:1000-2500 ends past .* \(2000 bp\)"):
        check_inputs(bad, "g.yaml", base_dir=tmp_path)


def test_sample_checks_in_process(data):
    samples = read_sample_sheet(data / "samples.tsv")
    config = validate_config(_genome_config(data))
    check_samples_config(config, samples, "g.yaml")
    config["interpret"]["task"] = 2
    check_samples_config(config, samples, "g.yaml")
    config["splits"]["heldout_cell_types"] = ["k562"]
    with pytest.raises(CisflowError, match=r"g.yaml: splits.heldout_cell_types: 'k562' is not a cell type"):
        check_samples_config(config, samples, "g.yaml")
