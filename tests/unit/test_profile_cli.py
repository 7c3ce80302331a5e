"""Tests for ``cisflow profile``: a tiny run through the steps, and bad inputs as one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cisflow.cli import main
from cisflow.reads import filter_reads

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = json.dumps({"filters": 4, "n_layers": 2, "conv1_kernel": 5, "profile_kernel": 7})


def test_steps_from_simulation_to_summary(tmp_path) -> None:
    sim = tmp_path / "sim"
    assert main(["profile", "simulate", "--out-dir", str(sim), "--n-chroms", "3", "--chrom-length", "40000"]) == 0
    sizes = str(sim / "genome.chrom.sizes")
    filter_reads(sim / "reads" / "rep1.bam", sizes, tmp_path / "rep1.tagAlign.gz", assay="chip", dedup="none")
    bws = [str(tmp_path / "plus.bw"), str(tmp_path / "minus.bw")]
    assert main(["profile", "tracks", "--tagalign", str(tmp_path / "rep1.tagAlign.gz"), "--sizes", sizes,
                 "--assay", "chip", "--out", bws[0], "--out", bws[1]]) == 0  # fmt: skip
    data = tmp_path / "data"
    assert main(["profile", "datasets", "--genome", str(sim / "genome.fa"), "--peaks",
                 str(sim / "truth" / "peaks.narrowPeak"), "--track", f"TF={bws[0]},{bws[1]}", "--valid-chrom", "chr2",
                 "--test-chrom", "chr3", "--out-dir", str(data), "--input-length", "122", "--output-length", "100",
                 "--jitter", "4"]) == 0  # fmt: skip
    one_epoch = '{"epochs": 1}'
    assert main(["profile", "train", "--train", str(data / "train.npz"), "--valid", str(data / "valid.npz"),
                 "--out-dir", str(tmp_path / "model"), "--params", TINY, "--train-config", one_epoch]) == 0  # fmt: skip
    assert main(["profile", "evaluate", "--model", str(tmp_path / "model"), "--data", str(data / "test.npz"),
                 "--out-dir", str(tmp_path / "eval")]) == 0  # fmt: skip
    summary = tmp_path / "summary.tsv"
    assert main(["profile", "summary", "--metrics", str(tmp_path / "eval" / "metrics.tsv"), "--out", str(summary)]) == 0
    table = pd.read_csv(summary, sep="\t")
    assert set(table["measure"]) >= {"counts_pearson", "median_jsd", "median_jsd_uniform"}


def test_bad_inputs_are_one_line_errors(tmp_path, capsys) -> None:
    missing = tmp_path / "missing.tagAlign.gz"
    assert main(["profile", "tracks", "--tagalign", str(missing), "--sizes", str(tmp_path / "x.sizes"),
                 "--assay", "atac", "--out", str(tmp_path / "a.bw"), "--shift", "none"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "x.sizes" in err
    (tmp_path / "x.sizes").write_text("c1\t100\n")
    assert main(["profile", "tracks", "--tagalign", str(missing), "--sizes", str(tmp_path / "x.sizes"),
                 "--assay", "chip", "--out", str(tmp_path / "a.bw")]) == 2  # fmt: skip
    assert "give --out 2 time(s)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["profile", "train", "--train", "a", "--valid", "b", "--out-dir", "c", "--params", "{filters"])
    assert exc.value.code == 2 and "not valid JSON" in capsys.readouterr().err
