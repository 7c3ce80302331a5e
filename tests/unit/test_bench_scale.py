"""benchmarks/scale.py builds its BAMs with numpy: they must read back through pysam exactly as meant."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pysam
import pytest

REPO = Path(__file__).resolve().parents[2]


def _scale():
    spec = importlib.util.spec_from_file_location("bench_scale", REPO / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_numpy_built_bam_reads_back_and_indexes(tmp_path):
    scale = _scale()
    sizes = {"chr1": 300_000, "chrM": 16_569}
    rng = np.random.default_rng(0)
    n = 500
    records = scale.paired_end(
        (np.zeros(n, np.int32), rng.integers(1_000, 290_000, n)), rng, np.array([300_000, 16_569])
    )
    scale.write_bam(tmp_path / "x.bam", sizes, records, prefix="x.")
    with pysam.AlignmentFile(str(tmp_path / "x.bam")) as bam:
        got = list(bam.fetch("chr1"))  # through the .bai
        header = bam.header
        assert header.to_dict()["HD"]["SO"] == "coordinate"
    assert len(got) == 2 * n
    starts = [r.reference_start for r in got]
    assert starts == sorted(starts) and sorted(starts) == sorted(records["pos"].tolist())
    by_name: dict[str, list] = {}
    for r in got:
        assert r.cigarstring == "50M" and r.query_sequence is None and r.flag in (99, 147)
        same = pysam.AlignedSegment(header)  # htslib computes the bin of the same alignment
        same.reference_id, same.reference_start, same.cigarstring = 0, r.reference_start, "50M"
        assert r.bin == same.bin
        by_name.setdefault(r.query_name, []).append(r)
    assert len(by_name) == n and all(len(v) == 2 for v in by_name.values())
    for first, second in by_name.values():
        assert first.next_reference_start == second.reference_start and first.template_length == -second.template_length
    with pysam.AlignmentFile(str(tmp_path / "x.bam")) as bam:  # region queries find every read (valid bins)
        assert sum(bam.count("chr1", lo, lo + 10_000) for lo in range(0, 300_000, 10_000)) >= 2 * n
        assert bam.count("chr1", 0, 300_000) == 2 * n


def test_simulated_sites_are_reproducible_between_pseudo_replicates():
    """Reads drawn by the sites' strengths: a site's read counts in two halves of a ChIP library rank alike,
    so IDR keeps most sites (with equal strengths the ranks are counting noise and IDR keeps none)."""
    from scipy.stats import spearmanr

    from cisflow.idr import compute_idr

    scale = _scale()
    rng = np.random.default_rng(4)
    sites = {"chr1": np.arange(1, 2001) * 10_000}
    strength = scale.site_strengths(2000, np.random.default_rng(1))
    assert strength.sum() == pytest.approx(1.0) and strength.max() / strength.min() > 100
    tid, centre = scale._at_sites(sites, ["chr1"], 100_000, 30, rng)
    site = np.round(centre / 10_000).astype(int) - 1
    half = rng.random(site.size) < 0.5
    counts = [np.bincount(site[h], minlength=2000) + rng.random(2000) for h in (half, ~half)]
    assert (tid == 0).all() and spearmanr(*counts)[0] > 0.8
    _, idr, _ = compute_idr(*counts)
    assert (idr <= 0.05).mean() > 0.5
    equal = [rng.poisson(25, 2000) + rng.random(2000) for _ in range(2)]
    assert (compute_idr(*equal)[1] <= 0.05).sum() < 20
