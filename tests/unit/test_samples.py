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
    for name in ("in put.bam", "r3.bam", "r4.bam", "r5.bam"):
        (files / name).write_bytes(b"")
    rows = ["CTCF\tGM\tchip\t1\tr1.bam\tctl.bam", "CTCF\tGM\tchip\t2\tr2.bam\t./ctl.bam",
            "REST\tGM\tchip\t1\tr3.bam\tb/ctl.bam", "MAX\tGM\tchip\t1\tr4.bam\tin put.bam",
            "ATAC\tGM\tatac\t1\tr5.bam\t"]  # fmt: skip
    ids = read_sample_sheet(sheet(files, rows))["control_id"].tolist()
    assert ids[0] == ids[1] != ids[2] and ids[0].startswith("ctl-") and ids[2].startswith("ctl-")
    assert ids[3:] == ["in_put", ""]


def _bam_like(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def test_rows_counted_as_a_person_counts_them(files):
    """Header row 1, comments and blank lines counted: the bad value on the file's row 5 is reported as row 5."""
    path = sheet(files, ["# replicates of CTCF", "CTCF\tGM\tchip\t1\tr1.bam\tctl.bam", "",
                         "CTCF\tGM\tchip\tzero\tr2.bam\tctl.bam"])  # fmt: skip
    with pytest.raises(CisflowError, match=r"samples.tsv: row 5, column replicate: .*positive integer, not 'zero'"):
        read_sample_sheet(path, base_dir=files)
    ok = sheet(files, ["# replicates of CTCF", "CTCF\tGM\tchip\t1\tr1.bam\tctl.bam", "", "CTCF\tGM\tchip\t2\tr2.bam\t"])
    assert read_sample_sheet(ok, base_dir=files)["row"].tolist() == [3, 5]


def test_hash_inside_a_path_is_part_of_it(files):
    (files / "run#2").mkdir()
    (files / "run#2" / "r1.bam").write_bytes(b"x")
    path = sheet(files, ["#comment", "CTCF\tGM\tchip\t1\trun#2/r1.bam\t#ctl.bam"])
    (files / "#ctl.bam").write_bytes(b"y")
    df = read_sample_sheet(path, base_dir=files)
    assert df["reads_path"][0] == str(files / "run#2" / "r1.bam") and df["control"][0] == "#ctl.bam"


def test_bom_crlf_and_left_off_optional_columns(files):
    path = files / "samples.tsv"
    path.write_bytes(
        "\ufefftask\tcell_type\tassay\treplicate\treads\tcontrol\r\nATAC\tGM\tatac\t1\tr1.bam\r\n".encode()
    )
    df = read_sample_sheet(path, base_dir=files)
    assert df["task"].tolist() == ["ATAC"] and df["control"].tolist() == [""]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (HEADER.replace("\n", "\t\n"), r"row 1, column 7: empty column name \(a trailing tab"),
        (HEADER + "CTCF\tGM\tchip\t1\tr1.bam\tctl.bam\t\n", r"row 2: 7 fields .*trailing tab after column 'control'"),
        (HEADER + "CTCF\tGM\tchip\t1\tr1.bam\tctl.bam\tr2.bam\n", "row 2: 7 fields .*more values than columns"),
        ("task\tcell_type\tassay\treplicate\treads\treads\n", r"row 1: column 'reads' appears twice \(columns 5 and 6"),
        ("task\tcell_type\tassay\treplicate\treads\tcontorl\n", "column 6: unknown column 'contorl'; did you mean"),
        ("task cell_type assay replicate reads\nCTCF GM chip 1 r1.bam\n", "row 1: the columns are separated by spaces"),
        ("task,cell_type,assay,replicate,reads\n", "row 1: the columns are separated by commas"),
        (HEADER + "CTCF GM chip 1 r1.bam ctl.bam\n", "row 2: the columns are separated by spaces, not tabs"),
        (HEADER + "CTCF\tGM\tchip\t1\n", r"row 2, column reads: no value \(4 of 6 fields\)"),
        (HEADER + "CTCF\tGM\tchip\t1\t\tctl.bam\n", "row 2, column reads: must not be empty"),
        (HEADER + "CTCF\tGM 12878\tchip\t1\tr1.bam\t\n", "row 2, column cell_type: 'GM 12878' may hold only letters"),
        (HEADER + "CTCF\tGM\tchip\t0\tr1.bam\t\n", "row 2, column replicate: .*positive integer, not 0"),
        ("# only comments\n\n", "sample sheet is empty"),
        (HEADER + "CTCF\tGM\tchip\t1\tr1.txt\t\n", "row 2, column reads: cannot infer the format of r1.txt"),
    ],
    ids=["trailing-tab-header", "trailing-tab-rows", "extra-field", "duplicate-column", "unknown-column",
         "space-separated", "comma-separated", "space-separated-row", "short-row", "empty-reads", "bad-name",
         "replicate-zero", "no-header", "unknown-format"],
)  # fmt: skip
def test_parsing_problems_name_sheet_row_and_column(files, text, match):
    (files / "r1.txt").write_bytes(b"")
    path = files / "samples.tsv"
    path.write_text(text)
    with pytest.raises(CisflowError, match=match) as info:
        read_sample_sheet(path, base_dir=files)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_not_utf8(files):
    path = files / "samples.tsv"
    path.write_bytes(HEADER.encode() + "CTCF\tGM\tchip\t1\tr1.bam\tcontr\xf4le.bam\n".encode("latin-1"))
    with pytest.raises(CisflowError, match="not UTF-8 text"):
        read_sample_sheet(path, base_dir=files)


def test_one_assay_per_group(files):
    """An ATAC row among ChIP rows of the same task and cell type would be processed as a ChIP replicate."""
    path = sheet(files, ["CTCF\tGM\tchip\t1\tr1.bam\tctl.bam", "CTCF\tGM\tchip\t2\tr2.bam\tctl.bam",
                         "CTCF\tGM\tatac\t3\tatac.bedpe.gz\t"])  # fmt: skip
    with pytest.raises(CisflowError, match=r"rows 2 and 4, column assay: task CTCF in cell type GM mixes assays chip "
                                           r"and atac"):  # fmt: skip
        read_sample_sheet(path, base_dir=files)


def test_the_same_reads_twice(files):
    """The same path twice (also spelt differently, or through a link), or a copy: never two replicates."""
    (files / "link.bam").symlink_to(files / "r1.bam")
    for other in ("r1.bam", "./r1.bam", "link.bam"):
        path = sheet(files, ["TF\tGM\tchip\t1\tr1.bam\t", f"TF\tGM\tchip\t2\t{other}\t"])
        with pytest.raises(CisflowError, match=r"rows 2 and 3, column reads: .* is named twice; each replicate needs"):
            read_sample_sheet(path, base_dir=files)
    payload = b"BAM\x01" + bytes(range(256)) * 5000
    _bam_like(files / "a.bam", payload), _bam_like(files / "copy.bam", payload)
    path = sheet(files, ["TF\tGM\tchip\t1\ta.bam\t", "OTHER\tGM\tchip\t1\tcopy.bam\t"])
    with pytest.raises(CisflowError, match=r"rows 2 and 3, column reads: .*a.bam and .*copy.bam have the same content"):
        read_sample_sheet(path, base_dir=files)
    _bam_like(files / "copy.bam", payload[:100] + b"!" + payload[101:])  # same size, another start: another file
    assert len(read_sample_sheet(path, base_dir=files)) == 2


def test_reads_as_their_own_control(files):
    _bam_like(files / "r1.bam", b"reads")
    _bam_like(files / "ctl.bam", b"input")
    _bam_like(files / "r1copy.bam", b"reads")
    _bam_like(files / "ctlcopy.bam", b"input")
    for reads in ("ctl.bam", "ctlcopy.bam"):  # a replicate whose reads are the group's shared control
        path = sheet(files, ["TF\tGM\tchip\t1\tr1.bam\tctl.bam", f"TF\tGM\tchip\t2\t{reads}\tctl.bam"])
        with pytest.raises(CisflowError, match=r"row 3, columns reads and control: the reads are their own control"):
            read_sample_sheet(path, base_dir=files)
    path = sheet(files, ["TF\tGM\tchip\t1\tr1.bam\tr1.bam"])
    with pytest.raises(CisflowError, match=r"row 2, columns reads and control: the reads are their own control"):
        read_sample_sheet(path, base_dir=files)


def test_shared_control_named_once_or_refused_as_a_copy(files, caplog):
    _bam_like(files / "r1.bam", b"rep1")
    _bam_like(files / "r2.bam", b"rep2")
    _bam_like(files / "ctl.bam", b"input")
    _bam_like(files / "ctl_copy.bam", b"input")
    path = sheet(files, ["TF\tGM\tchip\t1\tr1.bam\tctl.bam", "TF\tGM\tchip\t2\tr2.bam\tctl.bam"])
    assert read_sample_sheet(path, base_dir=files)["control_id"].tolist() == ["ctl", "ctl"]
    path = sheet(files, ["TF\tGM\tchip\t1\tr1.bam\tctl.bam", "TF\tGM\tchip\t2\tr2.bam\tctl_copy.bam"])
    with pytest.raises(CisflowError, match=r"rows 2 and 3, column control: .*have the same content.*; name a control"):
        read_sample_sheet(path, base_dir=files)
    # reads of one task used as the control of another: allowed, with a warning
    path = sheet(files, ["TF\tGM\tchip\t1\tr1.bam\t", "TF2\tGM\tchip\t1\tr2.bam\tr1.bam"])
    assert len(read_sample_sheet(path, base_dir=files)) == 2
    assert "used both as reads and as a control" in caplog.text
