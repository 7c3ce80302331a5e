"""Reads inputs through Snakemake: a CRAM in the sample sheet is decoded with the workflow's genome, and an
unindexed BAM is filtered without anything written beside it (read-only storage works)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SIZES = {"chr1": 6000, "chr2": 3000, "chr3": 3000}
pytestmark = pytest.mark.workflow


def _bam(path: Path, seqs: dict[str, str], seed: int) -> Path:
    """Single-end 36-bp reads with their true sequence, coordinate-sorted, no index."""
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": len(s)} for c, s in seqs.items()]}
    starts = np.sort(np.random.default_rng(seed).integers(0, len(seqs["chr1"]) - 40, 300))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, start in enumerate(starts.tolist()):
            seg = pysam.AlignedSegment(out.header)
            seg.query_name, seg.flag, seg.reference_id = f"r{i}", 16 if i % 2 else 0, 0
            seg.reference_start, seg.mapping_quality, seg.cigarstring = start, 60, "36M"
            seg.query_sequence = seqs["chr1"][start : start + 36]
            seg.query_qualities = pysam.qualitystring_to_array("I" * 36)
            out.write(seg)
    return path


def test_cram_and_unindexed_bams_are_filtered(tmp_path):
    rng = np.random.default_rng(0)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in SIZES.items()}
    genome = tmp_path / "genome.fa"
    genome.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    storage = tmp_path / "storage"
    storage.mkdir()
    bam = _bam(storage / "rep1.bam", seqs, 1)
    _bam(storage / "rep2.bam", seqs, 2)
    _bam(storage / "input.bam", seqs, 3)
    pysam.faidx(str(genome))
    pysam.view("-C", "-T", str(genome), "-o", str(storage / "rep1.cram"), str(bam), catch_stdout=False)
    Path(f"{genome}.fai").unlink()  # the workflow makes its own index under results/
    (tmp_path / "samples.tsv").write_text(
        "task\tcell_type\tassay\treplicate\treads\tcontrol\n"
        f"TF\tK\tchip\t1\t{storage / 'rep1.cram'}\t{storage / 'input.bam'}\n"
        f"TF\tK\tchip\t2\t{storage / 'rep2.bam'}\t{storage / 'input.bam'}\n"
        f"BAM\tK\tchip\t1\t{bam}\t\n"
    )
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config.update(samples="samples.tsv", genome={"fasta": str(genome)})
    config["peaks"]["reference"] = None
    config["splits"].update(valid_chroms=["chr2"], test_chroms=["chr3"])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    before = sorted(storage.iterdir())
    targets = [f"results/reads/{s}.tagAlign.gz" for s in ("TF.K.rep1", "TF.K.rep2", "BAM.K.rep1")]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(tmp_path / "config.yaml"), "--cores", "2", *targets]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert sorted(storage.iterdir()) == before  # no index (nor anything else) written beside the reads

    def lines(sample: str) -> list[bytes]:
        return gzip.decompress((tmp_path / f"results/reads/{sample}.tagAlign.gz").read_bytes()).splitlines()

    assert len(lines("TF.K.rep1")) == 300 and lines("TF.K.rep1") == lines("BAM.K.rep1")  # the CRAM = its BAM
    assert lines("TF.K.rep2") != lines("TF.K.rep1")
