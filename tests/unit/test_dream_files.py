"""Tests for cisflow.dream_files: the challenge's label TSVs, region lists and submission names."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from cisflow.dream_files import labels_from_dream_tsv, read_regions, submission_name, tf_from_label_path
from cisflow.errors import CisflowError
from cisflow.labels import export_dream_tsv, load_labels, save_labels


def _write(path, lines):
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")


@pytest.fixture
def label_tsv(tmp_path):
    # chr1: bins at 0, 50, 100, (150 blacklisted: absent), 200; chr2: 0, 50
    rows = ["chr\tstart\tstop\tHepG2\tK562", "chr1\t0\t200\tU\tB", "chr1\t50\t250\tB\tA", "chr1\t100\t300\tA\tU",
            "chr1\t200\t400\tU\tU", "chr2\t0\t200\tB\tB", "chr2\t50\t250\tU\tU"]  # fmt: skip
    path = tmp_path / "CTCF.train.labels.tsv.gz"
    _write(path, rows)
    return path


def test_label_tsv_becomes_labels(label_tsv, tmp_path):
    labels = labels_from_dream_tsv(label_tsv, {"chr1": 420, "chr2": 260, "chr3": 1000}, chunksize=2)
    assert labels.tasks == ["CTCF.HepG2", "CTCF.K562"] and (labels.bin_size, labels.stride) == (200, 50)
    assert labels.chrom_sizes == {"chr1": 420, "chr2": 260}  # chr3 has no labels
    assert labels.labels["chr1"].tolist() == [[0, 1], [1, -1], [-1, 0], [0, 0], [0, 0]]
    assert labels.keep["chr1"].tolist() == [True, True, True, False, True]
    assert labels.labels["chr2"].tolist() == [[1, 1], [0, 0]]
    save_labels(labels, tmp_path / "l.npz")
    export_dream_tsv(load_labels(tmp_path / "l.npz"), tmp_path / "back.tsv")
    back = (tmp_path / "back.tsv").read_text().splitlines()
    assert back[0] == "chr\tstart\tstop\tCTCF.HepG2\tCTCF.K562" and back[1:] == [
        "chr1\t0\t200\tU\tB", "chr1\t50\t250\tB\tA", "chr1\t100\t300\tA\tU", "chr1\t200\t400\tU\tU",
        "chr2\t0\t200\tB\tB", "chr2\t50\t250\tU\tU"]  # fmt: skip
    inferred = labels_from_dream_tsv(label_tsv, tf="X")
    assert inferred.chrom_sizes == {"chr1": 400, "chr2": 250} and inferred.tasks[0] == "X.HepG2"
    assert tf_from_label_path(label_tsv) == "CTCF"


def test_bad_label_files(tmp_path):
    bad = tmp_path / "bad.tsv.gz"
    _write(bad, ["chr\tstart\tstop\tHepG2", "chr1\t0\t200\tU", "chr1\t50\t250\tX"])
    with pytest.raises(CisflowError, match="'X' is not B, U or A"):
        labels_from_dream_tsv(bad)
    _write(bad, ["chr\tstart\tstop\tHepG2", "chr1\t0\t200\tU", "chr1\t50\t260\tU"])
    with pytest.raises(CisflowError, match="one width"):
        labels_from_dream_tsv(bad)
    _write(bad, ["chr\tstart\tstop\tHepG2", "chr1\t0\t200\tU", "chr1\t50\t250\tU", "chr1\t75\t275\tU"])
    with pytest.raises(CisflowError, match="off the 200 bp / 50 bp grid"):
        labels_from_dream_tsv(bad, chunksize=2)
    _write(bad, ["chrom\tstart\tend\tHepG2", "chr1\t0\t200\tU"])
    with pytest.raises(CisflowError, match="header"):
        labels_from_dream_tsv(bad)
    _write(bad, ["chr\tstart\tstop\tHepG2", "chr9\t0\t200\tU"])
    with pytest.raises(CisflowError, match="chr9"):
        labels_from_dream_tsv(bad, {"chr1": 1000})
    with pytest.raises(CisflowError, match="past the end"):
        labels_from_dream_tsv(bad, {"chr9": 150})


def test_regions_and_submission_names(tmp_path):
    path = tmp_path / "ladder_regions.blacklistfiltered.bed.gz"
    _write(path, ["chr2\t0\t200", "chr1\t50\t250"])
    regions = read_regions(path)
    assert regions["chr"].tolist() == ["chr2", "chr1"] and regions["start"].tolist() == [0, 50]
    _write(path, ["chr\tstart\tstop", "chr1\t0\t200"])
    with pytest.raises(CisflowError, match="integers"):
        read_regions(path)
    assert submission_name("CTCF", "induced_pluripotent_stem_cell") == "F.CTCF.induced_pluripotent_stem_cell.tab.gz"
    assert submission_name("JUND", "liver", round="L") == "L.JUND.liver.tab.gz"
    with pytest.raises(CisflowError, match="round"):
        submission_name("CTCF", "K562", round="X")
    with pytest.raises(CisflowError, match="submission name"):
        submission_name("CTCF", "K.562")
    assert np.array_equal(regions.columns, ["chr", "start", "stop"])


def test_dream_labels_to_files(label_tsv, tmp_path):
    from cisflow.dream_files import dream_labels_to_files

    out, summary = tmp_path / "l.npz", tmp_path / "s.tsv"
    dream_labels_to_files(label_tsv, out, chrom_sizes={"chr1": 420, "chr2": 260}, summary=summary)
    labels = load_labels(out)
    assert labels.tasks == ["CTCF.HepG2", "CTCF.K562"] and labels.chrom_sizes == {"chr1": 420, "chr2": 260}
    assert summary.read_text().splitlines()[1].split("\t")[:4] == ["CTCF.HepG2", "2", "1", "3"]


def test_cli_labels_from_a_challenge_tsv(label_tsv, tmp_path, capsys):
    from cisflow.cli import main

    sizes = tmp_path / "sizes"
    sizes.write_text("chr1\t420\nchr2\t260\n")
    out, summary = tmp_path / "l.npz", tmp_path / "s.tsv"
    argv = ["labels", "--dream-labels", str(label_tsv), "--chrom-sizes", str(sizes), "--out", str(out)]
    assert main([*argv, "--summary", str(summary)]) == 0
    labels = load_labels(out)
    assert labels.tasks == ["CTCF.HepG2", "CTCF.K562"] and labels.chrom_sizes == {"chr1": 420, "chr2": 260}
    assert summary.read_text().splitlines()[1].split("\t")[:4] == ["CTCF.HepG2", "2", "1", "3"]
    assert main(["labels", "--out", str(out), "--chrom-sizes", str(sizes)]) == 2
    assert "either --conservative peak files or --dream-labels" in capsys.readouterr().err
