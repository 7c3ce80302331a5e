"""Sample sheets that used to run and give a wrong result with exit 0 now stop, naming the sheet, rows and column.

The cases of issue 17: an ATAC row among ChIP rows of the same task and cell type (processed as a ChIP
replicate), the same BAM for two replicates (IDR comparing a replicate with itself), a BAM as its own
control (0 bound bins). Real BAMs written with pysam; nothing reads shared data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest
import yaml

from cisflow.errors import CisflowError
from cisflow.samples import read_sample_sheet

REPO = Path(__file__).resolve().parents[2]
SIZES = {"chr1": 5000, "chr2": 3000, "chr3": 3000}
HEADER = "task\tcell_type\tassay\treplicate\treads\tcontrol\n"


def _bam(path: Path, seed: int, paired: bool = False) -> Path:
    """A coordinate-sorted BAM of 40 reads (pairs when ``paired``) at random places on chr1."""
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": n} for c, n in SIZES.items()]}
    starts = np.sort(np.random.default_rng(seed).integers(0, 4800, 40))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, start in enumerate(starts):
            seg = pysam.AlignedSegment(out.header)
            seg.query_name, seg.flag, seg.reference_id = f"r{i // 2 if paired else i}", 0, 0
            seg.reference_start, seg.mapping_quality, seg.cigarstring = int(start), 60, "36M"
            if paired:
                seg.flag = 99 if i % 2 == 0 else 147
            out.write(seg)
    return path


@pytest.fixture
def bams(tmp_path):
    out = {name: _bam(tmp_path / f"{name}.bam", seed) for seed, name in enumerate(["rep1", "rep2", "input"])}
    out["atac"] = _bam(tmp_path / "atac.bam", 9, paired=True)
    out["rep1_copy"] = tmp_path / "copies" / "rep1.bam"
    out["rep1_copy"].parent.mkdir()
    shutil.copyfile(out["rep1"], out["rep1_copy"])
    return out


def _sheet(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "samples.tsv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def _fails(path: Path, *needles: str) -> str:
    with pytest.raises(CisflowError) as info:
        read_sample_sheet(path, base_dir=path.parent)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text, text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    return text


def test_atac_row_in_a_chip_group(tmp_path, bams):
    path = _sheet(tmp_path, ["CTCF\tK562\tchip\t1\trep1.bam\tinput.bam", "CTCF\tK562\tchip\t2\trep2.bam\tinput.bam",
                             "CTCF\tK562\tatac\t3\tatac.bam\t"])  # fmt: skip
    _fails(path, "rows 2 and 4, column assay", "mixes assays chip and atac")


@pytest.mark.parametrize("second", ["rep1.bam", "copies/rep1.bam"], ids=["same-path", "copied-bam"])
def test_the_same_bam_for_two_replicates(tmp_path, bams, second):
    path = _sheet(tmp_path, ["CTCF\tK562\tchip\t1\trep1.bam\tinput.bam", f"CTCF\tK562\tchip\t2\t{second}\tinput.bam"])
    _fails(path, "rows 2 and 3, column reads", "rep1.bam", "each replicate needs its own reads")


@pytest.mark.parametrize("control", ["rep1.bam", "copies/rep1.bam"], ids=["same-path", "copied-bam"])
def test_a_bam_as_its_own_control(tmp_path, bams, control):
    path = _sheet(tmp_path, [f"CTCF\tK562\tchip\t1\trep1.bam\t{control}", "CTCF\tK562\tchip\t2\trep2.bam\tinput.bam"])
    _fails(path, "row 2, columns reads and control", "the reads are their own control")


def test_a_control_shared_by_name_is_one_control(tmp_path, bams):
    path = _sheet(tmp_path, ["CTCF\tK562\tchip\t1\trep1.bam\tinput.bam", "CTCF\tK562\tchip\t2\trep2.bam\t./input.bam",
                             "ATAC\tK562\tatac\t1\tatac.bam\t"])  # fmt: skip
    df = read_sample_sheet(path, base_dir=tmp_path)
    assert df["control_id"].tolist() == ["input", "input", ""]


def test_the_workflow_stops_before_any_job(tmp_path, bams):
    """The Snakefile reads the sheet at start-up: the mix-up is reported before a job runs or a file is made."""
    rng = np.random.default_rng(0)
    (tmp_path / "genome.fa").write_text("".join(f">{c}\n{''.join(rng.choice(list('ACGT'), n))}\n"
                                                for c, n in SIZES.items()))  # fmt: skip
    _sheet(tmp_path, ["CTCF\tK562\tchip\t1\trep1.bam\tinput.bam", "CTCF\tK562\tatac\t2\tatac.bam\t"])
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config.update(samples="samples.tsv", genome={"fasta": "genome.fa"})
    config["peaks"]["reference"] = None
    config["splits"].update(valid_chroms=["chr2"], test_chroms=["chr3"])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(tmp_path / "config.yaml"), "--cores", "1"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    assert "samples.tsv: rows 2 and 3, column assay: task CTCF in cell type K562 mixes assays" in proc.stderr
    assert not (tmp_path / "results").exists()
