"""A known-answer ChIP simulation for profile models: planted motifs, strand-specific footprints, a preferred spacing.

Motif instances planted in a random genome draw single-end reads whose 5′ ends pile up with a known
footprint (per strand, relative to the motif and its orientation), plus uniform background reads and a
control BAM of background alone. Motif ``A`` draws :data:`STRENGTH` ``["A"]`` reads per instance, ``B``
fewer; an ``A`` followed by a ``B`` exactly ``spacing`` bp downstream (centre to centre, same
orientation) draws ``synergy`` times the reads of the two alone (cooperative binding), at any other
spacing just their sum. Everything is deterministic given the seed, and the truth (sites, regions,
footprint, expected rates per base) comes back for scoring a trained model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cisflow.genome import decode, encode, reverse_complement_codes, write_chrom_sizes, write_fasta
from cisflow.io import atomic_open, write_json
from cisflow.reads import write_bam_records

log = logging.getLogger(__name__)

MOTIFS = {"A": "CAGGTGTCTA", "B": "AATGCCTTGG"}
STRENGTH = {"A": 120.0, "B": 60.0}
#: Footprint of a + strand motif: per strand, (weight, kind, offset from the motif centre, scale) components.
FOOTPRINT = {
    "+": [(0.7, "laplace", -12.0, 3.0), (0.3, "normal", -45.0, 15.0)],
    "-": [(0.7, "laplace", 8.0, 3.0), (0.3, "normal", 40.0, 15.0)],
}
FLANK = 150
READ_LENGTH = 36
#: Region kinds and their shares.
KINDS = {"A": 0.25, "AA": 0.1, "B": 0.15, "AB": 0.2, "AB_planted": 0.3}


def footprint(flank: int = FLANK) -> np.ndarray:
    """Read 5′-end probabilities around a + strand motif centre: ``(2, 2·flank + 1)`` (+, − strand), total 1."""
    x = np.arange(-flank, flank + 1, dtype=np.float64)
    out = np.zeros((2, len(x)))
    for row, strand in enumerate(("+", "-")):
        for weight, kind, loc, scale in FOOTPRINT[strand]:
            dens = np.exp(-np.abs(x - loc) / scale) if kind == "laplace" else np.exp(-0.5 * ((x - loc) / scale) ** 2)
            out[row] += 0.5 * weight * dens / dens.sum()
    return out


def oriented_footprint(strand: str, flank: int = FLANK) -> np.ndarray:
    """:func:`footprint` for a motif on ``strand``: a − strand motif mirrors the positions and swaps the strands."""
    fp = footprint(flank)
    return fp if strand == "+" else fp[::-1, ::-1]


def _region_sites(kind: str, center: int, spacing: int, rng: np.random.Generator) -> list[tuple[str, int, str]]:
    """Motif instances ``(motif, centre, strand)`` of one region of ``kind`` around ``center``."""
    strand = "+" if rng.random() < 0.5 else "-"
    sign = 1 if strand == "+" else -1
    a = center + int(rng.integers(-30, 31))
    if kind == "A":
        return [("A", a, strand)]
    if kind == "B":
        return [("B", a, strand)]
    if kind == "AA":
        return [("A", a - 40, strand), ("A", a + 40, "+" if rng.random() < 0.5 else "-")]
    gap = spacing if kind == "AB_planted" else _random_gap(spacing, rng)
    return [("A", a - sign * gap // 2, strand), ("B", a - sign * gap // 2 + sign * gap, strand)]


def _random_gap(spacing: int, rng: np.random.Generator) -> int:
    """A spacing in 12–80 bp at least 3 bp from the planted one."""
    while True:
        gap = int(rng.integers(12, 81))
        if abs(gap - spacing) > 2:
            return gap


def _plant(codes: dict[str, np.ndarray], sites: pd.DataFrame) -> None:
    """Write each site's motif (reverse complemented on −) into the genome codes, in place."""
    for row in sites.itertuples():
        motif = encode(MOTIFS[row.motif])
        start = row.center - len(motif) // 2
        codes[row.chrom][start : start + len(motif)] = motif if row.strand == "+" else reverse_complement_codes(motif)


def plan_sites(sizes: Mapping[str, int], n_per_chrom: int, spacing: int, synergy: float, seed: int) -> pd.DataFrame:
    """Regions and their motif instances: one row per instance with ``chrom region kind motif center strand reads``.

    Regions are 3 kb apart (in genome order); ``reads`` is the instance's expected read count (with the
    region's synergy folded in).
    """
    rng = np.random.default_rng(seed)
    kinds, shares = list(KINDS), np.array(list(KINDS.values()))
    rows, region = [], 0
    for chrom, size in sizes.items():
        centers = np.arange(2000, size - 2000, 3000)[:n_per_chrom]
        for center in centers:
            kind = kinds[rng.choice(len(kinds), p=shares / shares.sum())]
            boost = synergy if kind == "AB_planted" else 1.0
            for motif, c, strand in _region_sites(kind, int(center), spacing, rng):
                rows.append((chrom, region, int(center), kind, motif, c, strand, STRENGTH[motif] * boost))
            region += 1
    columns = ["chrom", "region", "region_center", "kind", "motif", "center", "strand", "reads"]
    return pd.DataFrame(rows, columns=columns)


def expected_rates(sites: pd.DataFrame, chrom: str, start: int, length: int, background: float) -> np.ndarray:
    """Expected 5′-end reads per base ``(2, length)`` (+, − strand) in ``[start, start + length)``."""
    out = np.full((2, length), background, dtype=np.float64)
    for row in sites[sites["chrom"] == chrom].itertuples():
        lo = row.center - FLANK - start
        if lo + 2 * FLANK + 1 <= 0 or lo >= length:
            continue
        fp = oriented_footprint(row.strand) * row.reads
        a, b = max(lo, 0), min(lo + 2 * FLANK + 1, length)
        out[:, a:b] += fp[:, a - lo : b - lo]
    return out


def sample_ends(
    sites: pd.DataFrame, sizes: Mapping[str, int], background: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Read 5′ ends ``chrom pos strand``: Poisson draws from every site's footprint plus uniform background.

    ``background`` is the expected number of 5′ ends per base and strand anywhere in the genome.
    """
    fp = {s: oriented_footprint(s).ravel() for s in ("+", "-")}
    offsets = np.tile(np.arange(-FLANK, FLANK + 1), 2)
    strands = np.repeat(np.array(["+", "-"]), 2 * FLANK + 1)
    parts = []
    for row in sites.itertuples():
        n = rng.poisson(row.reads)
        pick = rng.choice(len(offsets), size=n, p=fp[row.strand])
        parts.append(pd.DataFrame({"chrom": row.chrom, "pos": row.center + offsets[pick], "strand": strands[pick]}))
    for chrom, size in sizes.items():
        n = rng.poisson(background * 2 * size)
        parts.append(pd.DataFrame({"chrom": chrom, "pos": rng.integers(0, size, n),
                                   "strand": np.where(rng.random(n) < 0.5, "+", "-")}))  # fmt: skip
    ends = pd.concat(parts, ignore_index=True)
    size = ends["chrom"].map(sizes).to_numpy()
    return ends[(ends["pos"] >= READ_LENGTH) & (ends["pos"] < size - READ_LENGTH)].reset_index(drop=True)


def write_ends_bam(path: str | Path, ends: pd.DataFrame, sizes: Mapping[str, int], prefix: str) -> int:
    """Single-end BAM of reads whose 5′ ends are ``ends`` (+: starting there; −: ending there), MAPQ 60."""
    minus = ends["strand"].to_numpy() == "-"
    pos = ends["pos"].to_numpy(np.int64)
    n = len(ends)
    records = {
        "chrom": ends["chrom"].to_numpy(object),
        "start": np.where(minus, pos - READ_LENGTH + 1, pos),
        "length": np.full(n, READ_LENGTH),
        "flag": np.where(minus, 16, 0),
        "mapq": np.full(n, 60),
        "name": np.array([f"{prefix}.{i}" for i in range(n)], dtype=object),
    }
    return write_bam_records(path, sizes, records)


def write_truth_peaks(path: str | Path, sites: pd.DataFrame, width: int = 200) -> None:
    """The simulated regions as narrowPeak (summit at the region centre), score = expected reads."""
    regions = sites.groupby("region").agg(chrom=("chrom", "first"), center=("region_center", "first"),
                                          reads=("reads", "sum"), kind=("kind", "first"))  # fmt: skip
    with atomic_open(path) as handle:
        for rid, r in regions.iterrows():
            start = r.center - width // 2
            handle.write(f"{r.chrom}\t{start}\t{start + width}\tregion{rid}:{r.kind}\t0\t.\t{r.reads:.1f}\t-1\t-1\t"
                         f"{width // 2}\n")  # fmt: skip


def simulate_profile_chip(
    out_dir: str | Path,
    seed: int = 0,
    *,
    n_chroms: int = 4,
    chrom_length: int = 1_000_000,
    spacing: int = 24,
    synergy: float = 3.0,
    background: float = 0.01,
    n_replicates: int = 2,
) -> dict[str, Any]:
    """Write a profile ChIP simulation: genome, replicate BAMs, a control BAM, truth peaks and truth JSON.

    Layout under ``out_dir``: ``genome.fa`` (+ ``.fai``), ``genome.chrom.sizes``, ``reads/rep{i}.bam``,
    ``reads/control.bam``, ``truth/peaks.narrowPeak``, ``truth/sites.tsv`` and ``truth/truth.json`` (motifs,
    footprint, spacing, synergy, background).

    Parameters
    ----------
    out_dir
        Output folder (created).
    seed
        Random seed; the same seed gives the same files.
    n_chroms, chrom_length
        Random genome (42 % GC) of ``n_chroms`` chromosomes ``chr1 …`` of ``chrom_length`` bp, one region
        every 3 kb.
    spacing, synergy
        The planted preferred A→B spacing (bp, centre to centre) and its read multiplier.
    background
        Expected background 5′ ends per base and strand.
    n_replicates
        Independent ChIP replicates drawn from the same expected rates.

    Returns
    -------
    dict
        Paths (``genome``, ``chrom_sizes``, ``bams`` list, ``control``, ``peaks``, ``sites``, ``truth``),
        the ``sites`` table and the truth parameters.
    """
    out = Path(out_dir)
    (out / "reads").mkdir(parents=True, exist_ok=True)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(4 + n_replicates)]
    sizes = {f"chr{i + 1}": int(chrom_length) for i in range(n_chroms)}
    rng = np.random.default_rng(seeds[0])
    codes = {c: rng.choice(4, size=n, p=[0.29, 0.21, 0.21, 0.29]).astype(np.uint8) for c, n in sizes.items()}
    sites = plan_sites(sizes, (chrom_length - 4000) // 3000 + 1, spacing, synergy, seeds[1])
    _plant(codes, sites)
    write_fasta(out / "genome.fa", ((c, decode(v)) for c, v in codes.items()))
    import pysam

    pysam.faidx(str(out / "genome.fa"))
    write_chrom_sizes(out / "genome.chrom.sizes", sizes)
    bams = [out / "reads" / f"rep{i + 1}.bam" for i in range(n_replicates)]
    for i, bam in enumerate(bams):
        write_ends_bam(bam, sample_ends(sites, sizes, background, np.random.default_rng(seeds[4 + i])), sizes, bam.stem)
    control = sample_ends(sites.iloc[:0], sizes, background, np.random.default_rng(seeds[2]))
    write_ends_bam(out / "reads" / "control.bam", control, sizes, "control")
    (out / "truth").mkdir(exist_ok=True)
    write_truth_peaks(out / "truth" / "peaks.narrowPeak", sites)
    with atomic_open(out / "truth" / "sites.tsv") as handle:
        sites.to_csv(handle, sep="\t", index=False)
    truth = {"motifs": MOTIFS, "strength": STRENGTH, "footprint": FOOTPRINT, "spacing": spacing,
             "synergy": synergy, "background": background, "seed": seed}  # fmt: skip
    write_json(out / "truth" / "truth.json", truth)
    log.info("profile simulation in %s: %d regions, %d sites", out, sites["region"].nunique(), len(sites))
    return {"genome": str(out / "genome.fa"), "chrom_sizes": str(out / "genome.chrom.sizes"),
            "bams": [str(b) for b in bams], "control": str(out / "reads" / "control.bam"),
            "peaks": str(out / "truth" / "peaks.narrowPeak"), "sites_tsv": str(out / "truth" / "sites.tsv"),
            "truth": str(out / "truth" / "truth.json"), "sites": sites, **truth}  # fmt: skip
