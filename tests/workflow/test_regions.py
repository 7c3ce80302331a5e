"""A genome of one chromosome runs to the end, held out by regions (splits.valid_regions / test_regions)."""

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


def _regions(sites: list, size: int, flank: int) -> tuple[str, str]:
    """A validation region around four of the chromosome's planted sites, a test region around the last two."""
    centres = sorted(s.center for s in sites if s.chrom == "chr1")
    assert len(centres) >= 8, centres
    valid = (centres[-6] - 2000, centres[-3] + 2000)
    test = (max(centres[-2] - 2000, valid[1] + 2 * flank), min(centres[-1] + 2000, size))
    return f"chr1:{valid[0]}-{valid[1]}", f"chr1:{test[0]}-{test[1]}"


def test_one_chromosome_genome_runs_to_the_end(tmp_path):
    from cisflow._testing import make_test_project
    from cisflow.genome import decode, read_fasta, write_fasta

    project = make_test_project(tmp_path / "data", seed=0, absolute_paths=True)
    chr1 = read_fasta(project["genome"])["chr1"]
    write_fasta(tmp_path / "chr1.fa.gz", [("chr1", decode(chr1))])  # the genome: chr1 alone
    valid, test = _regions(project["sites"]["TF"], chr1.size, 400)
    config = {
        "track": "genome", "seed": 3, "samples": project["samples"],
        "genome": {"fasta": str(tmp_path / "chr1.fa.gz")},
        "reads": {"min_mapq": 30, "dedup": "flag", "drop_chroms": ["chrM", "chr2", "chr3"]},
        "peaks": {"pvalue": 0.01, "reproducibility": "overlap", "reference": None},
        "labels": {"bin_size": 200, "stride": 50},
        "splits": {"valid_regions": [valid], "test_regions": [test], "input_length": 400, "eval_negative_ratio": 3},
        "model": {"name": "sequence_dnn", "params": {"num_filters": [8], "conv_width": [10], "pool_width": 20}},
        # learns (chance-level training is an error); not the data-size defaults (auto)
        "train": {"epochs": 8, "batch_size": 32, "learning_rate": 0.01, "patience": 5, "positive_repeats": 1,
                  "jitter": 0},
        "evaluate": {},
        "interpret": {"methods": ["grad_x_input"], "max_sequences": 12},
        "motifs": {"method": "grad_x_input", "n_leiden_runs": 2, "min_metacluster_size": 3,
                   "final_min_cluster_size": 3, "taxon": "fungi"},
    }  # fmt: skip
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(run),
           "--configfile", str(tmp_path / "one.yaml"), "--cores", "2"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-6000:]
    assert json.loads((run / "results/data/splits.json").read_text())["test_regions"] == [test]
    windows = {}
    for split in ("train", "valid", "test"):
        with np.load(run / f"results/data/{split}.npz") as data:
            assert set(data["chrom"]) == {"chr1"} and data["labels"].shape[0] > 0, split
            windows[split] = (data["start"], data["bin_start"])
    for split, region in (("valid", valid), ("test", test)):
        lo, hi = (int(x) for x in region.split(":")[1].split("-"))
        assert ((windows[split][1] >= lo) & (windows[split][1] + 200 <= hi)).all()
    for split in windows:  # no window of one split reaches a bin of another
        others = np.concatenate([windows[o][1] for o in windows if o != split])
        for start in windows[split][0]:
            assert not ((start < others + 200) & (others < start + 400)).any()
    assert (run / "results/evaluate/metrics.json").is_file() and (run / "results/motifs/motifs.html").is_file()
