"""Tests for cisflow.samples: the sample sheet and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cisflow.errors import CisflowError
from cisflow.samples import read_sample_sheet

HEADER = "task\tcell_type\tassay\treplicate\treads\tcontrol\n"


@pytest.fixture
def files(tmp_path):
    for name in ("r1.bam", "r2.bam", "ctl.bam", "atac.bedpe.gz", "frags.tsv.gz"):
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def sheet(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "samples.tsv"
    path.write_text(header + "".join(r + "\n" for r in rows))
    return path


def test_valid_sheet(files):
    path = sheet(files, ["CTCF\tGM12878\tchip\t1\tr1.bam\tctl.bam", "CTCF\tGM12878\tchip\t2\tr2.bam\tctl.bam",
                         "ATAC\tGM12878\tatac\t1\tatac.bedpe.gz\t"])  # fmt: skip
    df = read_sample_sheet(path, base_dir=files)
    assert list(df["sample"]) == ["CTCF.GM12878.rep1", "CTCF.GM12878.rep2", "ATAC.GM12878.rep1"]
    assert list(df["group"]) == ["CTCF.GM12878", "CTCF.GM12878", "ATAC.GM12878"]
    assert list(df["format"]) == ["bam", "bam", "bedpe"]
    assert df["reads_path"][0] == str(files / "r1.bam") and df["control_path"][2] == ""
    assert df["replicate"].tolist() == [1, 2, 1]


def test_relative_to_working_directory(files, monkeypatch):
    monkeypatch.chdir(files)
    path = sheet(files, ["ATAC\tK562\tatac\t1\tfrags.tsv.gz"], header="task\tcell_type\tassay\treplicate\treads\n")
    df = read_sample_sheet(path)
    assert df["format"][0] == "fragments" and df["control"][0] == ""


@pytest.mark.parametrize(
    ("rows", "header", "match"),
    [
        (["CTCF\tGM\tchip\t1\tr1.bam"], "task\tcell_type\tassay\treads\n", "lacks column.*replicate"),
        ([], HEADER, "no samples"),
        (["CTCF\tGM\tdnase\t1\tr1.bam\t"], HEADER, "unknown assay 'dnase'"),
        (["CTCF\tGM\tchip\t1\tr1.bam\t", "CTCF\tGM\tchip\t1\tr2.bam\t"], HEADER, "duplicate replicate 1 for task CTCF"),
        (["CTCF\tGM\tchip\tone\tr1.bam\t"], HEADER, "replicate must be a positive integer"),
        (["ATAC\tGM\tatac\t1\tr1.bam\tctl.bam"], HEADER, "control is given for ATAC"),
        (["CTCF\tGM\tchip\t1\tmissing.bam\t"], HEADER, "reads file .*missing.bam does not exist"),
        (["CTCF\tGM\tchip\t1\tr1.bam\tnoctl.bam"], HEADER, "control file .*noctl.bam does not exist"),
        (["CTCF\tGM\tchip\t1\tr1.bam\t\tsam"], HEADER.rstrip() + "\tformat\n", "unknown format 'sam'"),
    ],
)
def test_sheet_errors(files, rows, header, match):
    path = sheet(files, rows, header)
    with pytest.raises(CisflowError, match=match) as info:
        read_sample_sheet(path, base_dir=files)
    assert str(info.value).startswith(str(path))


def test_missing_sheet(tmp_path):
    with pytest.raises(CisflowError, match="sample sheet does not exist"):
        read_sample_sheet(tmp_path / "nope.tsv")


def test_one_control_id_per_control_file(files, monkeypatch):
    monkeypatch.chdir(files)
    (files / "b").mkdir()
    (files / "b" / "ctl.bam").write_bytes(b"")
    (files / "in put.bam").write_bytes(b"")
    rows = ["CTCF\tGM\tchip\t1\tr1.bam\tctl.bam", "CTCF\tGM\tchip\t2\tr2.bam\t./ctl.bam",
            "REST\tGM\tchip\t1\tr1.bam\tb/ctl.bam", "MAX\tGM\tchip\t1\tr2.bam\tin put.bam",
            "ATAC\tGM\tatac\t1\tr1.bam\t"]  # fmt: skip
    ids = read_sample_sheet(sheet(files, rows))["control_id"].tolist()
    assert ids[0] == ids[1] != ids[2] and ids[0].startswith("ctl-") and ids[2].startswith("ctl-")
    assert ids[3:] == ["in_put", ""]
