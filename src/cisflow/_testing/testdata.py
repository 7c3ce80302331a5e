"""Self-contained synthetic data for tests: a small genome, planted binding sites and simulated reads.

Everything is deterministic given ``seed`` and small enough to build in well under a second or
two. :func:`make_test_project` writes a complete input set (genome, ChIP replicates + control,
ATAC, sample sheet) and returns the paths and the truth (site lists).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cisflow.bam import fragment_records, write_bam_records
from cisflow.errors import CisflowError
from cisflow.genome import N_CODE, decode, encode, reverse_complement_codes, write_chrom_sizes, write_fasta
from cisflow.io import atomic_open

log = logging.getLogger(__name__)

#: Flags of the simulated single-end records (+, -) and the duplicate bit.
_FLAG_SE = (0, 16)
_FLAG_DUP = 0x400
TEST_MOTIF = "TTACCCGGAA"


class Site(NamedTuple):
    """A binding site: ``center`` is a 0-based position; a planted motif starts at ``center - len(motif) // 2``."""

    chrom: str
    center: int
    strand: str


def synthetic_genome(
    path_fa: str | Path | None,
    chrom_lengths: Mapping[str, int],
    seed: int,
    n_runs: Sequence[tuple[str, int, int]] = (),
    gc: float = 0.4,
) -> dict[str, np.ndarray]:
    """Make a random genome ``{chrom: codes (L,) uint8}`` and write it as FASTA (if ``path_fa``).

    Parameters
    ----------
    path_fa
        Output FASTA (plain, so it can be faidx-indexed; gzip if it ends in .gz); None: do not write.
    chrom_lengths
        ``{chrom: length in bp}``.
    seed
        Random seed.
    n_runs
        ``(chrom, start, end)`` intervals set to N.
    gc
        Expected GC fraction.
    """
    rng = np.random.default_rng(seed)
    p = np.array([1 - gc, gc, gc, 1 - gc]) / 2
    codes = {c: rng.choice(4, size=int(n), p=p).astype(np.uint8) for c, n in chrom_lengths.items()}
    for chrom, start, end in n_runs:
        codes[chrom][start:end] = N_CODE
    if path_fa is not None:
        write_genome(path_fa, codes)
    return codes


def write_genome(path_fa: str | Path, codes: Mapping[str, np.ndarray]) -> None:
    """Write ``{chrom: codes}`` as FASTA, atomically."""
    write_fasta(path_fa, ((c, decode(v)) for c, v in codes.items()))


def plant_sites(
    codes: dict[str, np.ndarray],
    n_sites: int,
    seed: int,
    *,
    motif: str | None = None,
    margin: int = 1000,
    min_spacing: int = 3000,
    path_fa: str | Path | None = None,
) -> list[Site]:
    """Choose binding-site positions, optionally planting ``motif`` there (in ``codes``, in place).

    Sites lie at least ``margin`` bp from chromosome ends and N bases, and at least ``min_spacing``
    bp from each other. A planted motif is reverse-complemented on ``-`` strand sites.

    Parameters
    ----------
    codes
        Genome codes ``{chrom: (L,) uint8}``; modified in place when ``motif`` is given.
    n_sites
        Number of sites wanted.
    seed
        Random seed.
    motif
        ACGT string to plant centred on each site, or None; an ``N`` is a random base drawn per site (a gapped
        motif such as ``TCACNNNNNACGA``).
    margin, min_spacing
        Distances in bp, see above.
    path_fa
        If given, the (modified) genome is (re)written there as FASTA.

    Returns
    -------
    list of Site
        Sorted by chromosome (genome order) and position.
    """
    rng = np.random.default_rng(seed)
    chroms = list(codes)
    weights = np.array([len(codes[c]) for c in chroms], dtype=float)
    sites: list[Site] = []
    for _ in range(n_sites * 200):
        if len(sites) == n_sites:
            break
        chrom = chroms[rng.choice(len(chroms), p=weights / weights.sum())]
        center = int(rng.integers(margin, len(codes[chrom]) - margin))
        if (codes[chrom][center - margin : center + margin] == N_CODE).any():
            continue
        if any(s.chrom == chrom and abs(s.center - center) < min_spacing for s in sites):
            continue
        sites.append(Site(chrom, center, "+" if rng.random() < 0.5 else "-"))
    if len(sites) < n_sites:
        raise CisflowError(f"could place only {len(sites)} of {n_sites} sites; genome too small for the spacing")
    sites.sort(key=lambda s: (chroms.index(s.chrom), s.center))
    if motif is not None:
        m = encode(motif)
        gap_bases = np.random.default_rng([seed, 1])  # its own stream: sites do not move with the motif's Ns
        for s in sites:
            site = m.copy()
            site[m == N_CODE] = gap_bases.integers(0, 4, int((m == N_CODE).sum()))
            start = s.center - len(m) // 2
            codes[s.chrom][start : start + len(m)] = site if s.strand == "+" else reverse_complement_codes(site)
    if path_fa is not None:
        write_genome(path_fa, codes)
    return sites


def write_sites_bed(path: str | Path, sites: Sequence[Site], width: int = 1) -> None:
    """Write sites as BED ``chrom start end name score strand``, ``width`` bp centred on each site."""
    with atomic_open(path) as handle:
        for i, s in enumerate(sites):
            start = s.center - width // 2
            handle.write(f"{s.chrom}\t{start}\t{start + width}\tsite{i}\t0\t{s.strand}\n")


def _site_counts(sites: Sequence[Site], reads_per_site: int | Sequence[int]) -> np.ndarray:
    counts = np.broadcast_to(np.asarray(reads_per_site, dtype=np.int64), (len(sites),))
    return counts.copy()


def _fragments_at_sites(
    sites: Sequence[Site], counts: np.ndarray, lengths: np.ndarray, sd: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Fragment chroms and starts ``(sum(counts),)`` centred on sites with Gaussian jitter ``sd``."""
    chrom = np.repeat(np.array([s.chrom for s in sites], dtype=object), counts)
    center = np.repeat(np.array([s.center for s in sites], dtype=np.int64), counts)
    center = center + np.round(rng.normal(0, sd, size=center.shape)).astype(np.int64)
    return chrom, center - lengths // 2


def _uniform_fragments(
    sizes: Mapping[str, int], lengths: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Fragment chroms and starts placed uniformly over the genome (weighted by chromosome length)."""
    names = list(sizes)
    w = np.array([sizes[c] for c in names], dtype=float)
    idx = rng.choice(len(names), size=len(lengths), p=w / w.sum())
    room = np.maximum(np.array([sizes[names[i]] for i in idx]) - lengths, 1)
    return np.array(names, dtype=object)[idx], (rng.random(len(lengths)) * room).astype(np.int64)


def _keep_valid(
    chrom: np.ndarray, start: np.ndarray, end: np.ndarray, sizes: Mapping[str, int], genome: Mapping | None
) -> np.ndarray:
    """Mask of fragments inside their chromosome and (if ``genome`` given) free of N bases."""
    size = np.array([sizes[c] for c in chrom], dtype=np.int64)
    keep = (start >= 0) & (end <= size) & (end > start)
    if genome is not None:
        for i in np.flatnonzero(keep):
            keep[i] = not (genome[chrom[i]][start[i] : end[i]] == N_CODE).any()
    return keep


def _records_from_fragments(
    chrom: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    read_length: int,
    paired: bool,
    prefix: str,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """BAM records from fragments: PE gives read1 (+) at the start and read2 (-) at the end; SE one random end."""
    n = len(start)
    rlen = np.minimum(read_length, end - start)
    names = np.array([f"{prefix}.{i}" for i in range(n)], dtype=object)
    if not paired:
        minus = rng.random(n) < 0.5
        return {
            "chrom": chrom,
            "start": np.where(minus, end - rlen, start),
            "length": rlen,
            "flag": np.where(minus, _FLAG_SE[1], _FLAG_SE[0]),
            "mapq": np.full(n, 60),
            "name": names,
        }
    return fragment_records(chrom, start, end, read_length, names)


def _add_noise(
    rec: dict[str, np.ndarray], n_frag: int, paired: bool, dup_fraction: float, low_mapq_fraction: float, rng
) -> dict[str, np.ndarray]:
    """Mark a fraction of fragments low-MAPQ (MAPQ 10) and append flagged duplicates of another fraction."""
    per = 2 if paired else 1
    frag_of = np.tile(np.arange(n_frag), per)
    low = rng.random(n_frag) < low_mapq_fraction
    rec["mapq"] = np.where(low[frag_of], 10, rec["mapq"])
    dup = np.flatnonzero(rng.random(n_frag) < dup_fraction)
    if len(dup) == 0:
        return rec
    rows = np.flatnonzero(np.isin(frag_of, dup))
    extra = {k: v[rows] for k, v in rec.items()}
    extra["flag"] = extra["flag"] | _FLAG_DUP
    extra["name"] = np.array([f"{n}.dup" for n in extra["name"]], dtype=object)
    return {k: np.concatenate([rec[k], extra[k]]) for k in rec}


def _simulate_bam(
    out_bam: str | Path,
    genome_sizes: Mapping[str, int],
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    read_length: int,
    paired: bool,
    prefix: str,
    rng: np.random.Generator,
    genome: Mapping[str, np.ndarray] | None,
    dup_fraction: float,
    low_mapq_fraction: float,
) -> dict[str, Any]:
    """Join fragment parts ``(chrom, start, length)``, drop invalid ones, make records and write the BAM."""
    chrom = np.concatenate([p[0] for p in parts]) if parts else np.array([], dtype=object)
    start = np.concatenate([p[1] for p in parts]).astype(np.int64)
    end = start + np.concatenate([p[2] for p in parts]).astype(np.int64)
    keep = _keep_valid(chrom, start, end, genome_sizes, genome)
    chrom, start, end = chrom[keep], start[keep], end[keep]
    rec = _records_from_fragments(chrom, start, end, read_length, paired, prefix, rng)
    rec = _add_noise(rec, len(start), paired, dup_fraction, low_mapq_fraction, rng)
    n = write_bam_records(out_bam, genome_sizes, rec)
    log.info("simulated %s: %d fragments, %d records", out_bam, len(start), n)
    return {"path": str(out_bam), "fragments": len(start), "records": n}


def simulate_chip_bam(
    out_bam: str | Path,
    genome_sizes: Mapping[str, int],
    sites: Sequence[Site],
    reads_per_site: int | Sequence[int],
    background_reads: int,
    fragment_length: int = 200,
    read_length: int = 36,
    paired: bool = False,
    seed: int = 0,
    *,
    site_sd: float = 20.0,
    genome: Mapping[str, np.ndarray] | None = None,
    dup_fraction: float = 0.0,
    low_mapq_fraction: float = 0.0,
    name_prefix: str = "chip",
) -> dict[str, Any]:
    """Simulate a ChIP-seq BAM: fragments centred on sites (jitter ``site_sd``) plus uniform background.

    SE reads come from one random end of each fragment, so + strand reads pile up about
    ``fragment_length / 2`` upstream of a site and - strand reads as far downstream (the ChIP strand
    shift). Fragment lengths ~ Normal(``fragment_length``, 10 %). Fragments overlapping N bases
    (when ``genome`` codes are given) or the chromosome ends are dropped.

    Parameters
    ----------
    out_bam
        Output BAM (coordinate-sorted, indexed, SEQ ``*``).
    genome_sizes
        ``{chrom: length}``.
    sites
        Binding sites.
    reads_per_site
        Fragments per site: one int, or one per site (site strengths).
    background_reads
        Uniformly placed fragments.
    fragment_length, read_length
        Mean fragment length and read length in bp.
    paired
        Paired-end (both ends, proper pairs) instead of single-end.
    seed
        Random seed.
    site_sd, genome, dup_fraction, low_mapq_fraction, name_prefix
        Jitter sd (bp); genome codes to avoid N; fraction of fragments duplicated with the duplicate
        flag; fraction with MAPQ 10; read-name prefix.

    Returns
    -------
    dict
        ``path``, ``fragments`` (simulated, before noise) and ``records`` written.
    """
    rng = np.random.default_rng(seed)
    counts = _site_counts(sites, reads_per_site)

    def lengths(n: int) -> np.ndarray:
        return np.maximum(np.round(rng.normal(fragment_length, 0.1 * fragment_length, n)), read_length).astype(int)

    sl = lengths(int(counts.sum()))
    sc, ss = _fragments_at_sites(sites, counts, sl, site_sd, rng)
    bl = lengths(background_reads)
    bc, bs = _uniform_fragments(genome_sizes, bl, rng)
    return _simulate_bam(
        out_bam, genome_sizes, [(sc, ss, sl), (bc, bs, bl)], read_length=read_length, paired=paired,
        prefix=name_prefix, rng=rng, genome=genome, dup_fraction=dup_fraction, low_mapq_fraction=low_mapq_fraction,
    )  # fmt: skip


def simulate_control_bam(
    out_bam: str | Path,
    genome_sizes: Mapping[str, int],
    n_reads: int,
    fragment_length: int = 200,
    read_length: int = 36,
    paired: bool = False,
    seed: int = 0,
    *,
    genome: Mapping[str, np.ndarray] | None = None,
    name_prefix: str = "control",
) -> dict[str, Any]:
    """Simulate a control (input) BAM: ``n_reads`` uniformly placed fragments, no enrichment.

    Same parameters and return value as :func:`simulate_chip_bam`.
    """
    return simulate_chip_bam(
        out_bam, genome_sizes, [], 0, n_reads, fragment_length, read_length, paired, seed,
        genome=genome, name_prefix=name_prefix,
    )  # fmt: skip


def atac_fragment_lengths(n: int, rng: np.random.Generator, nucleosomal: float = 0.3) -> np.ndarray:
    """ATAC-like fragment lengths ``(n,)``: nucleosome-free (40 + Exp(60)) or mono-nucleosomal (~ N(190, 20))."""
    nfr = 40 + rng.exponential(60, n)
    mono = rng.normal(190, 20, n)
    out = np.where(rng.random(n) < nucleosomal, mono, nfr)
    return np.clip(np.round(out), 30, 1000).astype(int)


def simulate_atac_bam(
    out_bam: str | Path,
    genome_sizes: Mapping[str, int],
    sites: Sequence[Site],
    fragments_per_site: int | Sequence[int],
    background_fragments: int,
    read_length: int = 50,
    seed: int = 0,
    *,
    site_sd: float = 40.0,
    genome: Mapping[str, np.ndarray] | None = None,
    dup_fraction: float = 0.0,
    low_mapq_fraction: float = 0.0,
    name_prefix: str = "atac",
) -> dict[str, Any]:
    """Simulate a paired-end ATAC-seq BAM: short fragments centred on accessible sites plus background.

    Site fragments use nucleosome-free lengths only (:func:`atac_fragment_lengths` with no
    nucleosomal part); background fragments the full mixture. Records are proper pairs (flags
    99/147, MAPQ 60) with read1 on + at the fragment start and read2 on - at its end.
    Other parameters and the return value as in :func:`simulate_chip_bam`.
    """
    rng = np.random.default_rng(seed)
    counts = _site_counts(sites, fragments_per_site)
    sl = atac_fragment_lengths(int(counts.sum()), rng, nucleosomal=0.0)
    sc, ss = _fragments_at_sites(sites, counts, sl, site_sd, rng)
    bl = atac_fragment_lengths(background_fragments, rng)
    bc, bs = _uniform_fragments(genome_sizes, bl, rng)
    return _simulate_bam(
        out_bam, genome_sizes, [(sc, ss, sl), (bc, bs, bl)], read_length=read_length, paired=True,
        prefix=name_prefix, rng=rng, genome=genome, dup_fraction=dup_fraction, low_mapq_fraction=low_mapq_fraction,
    )  # fmt: skip


TEST_CHROMS = {"chr1": 200_000, "chr2": 200_000, "chr3": 150_000}
TEST_N_RUN = ("chr2", 90_000, 100_000)


def make_test_project(out_dir: str | Path, seed: int = 0, *, absolute_paths: bool = False) -> dict[str, Any]:
    """Write a small complete input set and return its paths and truth.

    Layout under ``out_dir``: ``genome.fa`` (+ ``.fai``), ``genome.chrom.sizes``, ``reads/``
    (``tf_rep1.bam``, ``tf_rep2.bam``, ``tf_control.bam`` single-end ChIP of task ``TF`` with
    :data:`TEST_MOTIF` planted at its 30 sites; ``atac_rep1.bam`` paired-end ATAC of task ``ATAC``
    at the TF sites plus 20 motif-free sites), ``truth/TF.sites.bed``, ``truth/ATAC.sites.bed``
    and ``samples.tsv``. Genome: :data:`TEST_CHROMS` with an N run at :data:`TEST_N_RUN`.
    The BAMs carry about 3 % flagged duplicates and 3 % MAPQ-10 fragments.

    Parameters
    ----------
    out_dir
        Output folder (created).
    seed
        Random seed; the same seed gives the same files.
    absolute_paths
        Write absolute paths into ``samples.tsv`` (default: relative to ``out_dir``, so read the
        sheet with ``base_dir=out_dir``).

    Returns
    -------
    dict
        ``out_dir``, ``genome``, ``chrom_sizes``, ``samples``, ``bams`` ``{name: path}``,
        ``sites`` ``{task: [Site, ...]}``, ``sites_bed`` ``{task: path}``, ``motif``, ``n_run``,
        ``strengths`` ``{task: reads per site (R,)}``.
    """
    out = Path(out_dir)
    (out / "reads").mkdir(parents=True, exist_ok=True)
    ss = np.random.SeedSequence(seed).spawn(8)
    seeds = [int(s.generate_state(1)[0]) for s in ss]
    codes = synthetic_genome(None, TEST_CHROMS, seeds[0], n_runs=[TEST_N_RUN])
    tf_sites = plant_sites(codes, 30, seeds[1], motif=TEST_MOTIF)
    extra = _extra_sites(codes, tf_sites, 20, seeds[2])
    atac_sites = sorted([*tf_sites, *extra], key=lambda s: (list(codes).index(s.chrom), s.center))
    genome = out / "genome.fa"
    write_genome(genome, codes)
    _faidx(genome)
    sizes = {c: len(v) for c, v in codes.items()}
    write_chrom_sizes(out / "genome.chrom.sizes", sizes)
    rng = np.random.default_rng(seeds[3])
    tf_strength = rng.integers(20, 80, len(tf_sites))
    atac_strength = rng.integers(30, 90, len(atac_sites))
    noise = {"genome": codes, "dup_fraction": 0.03, "low_mapq_fraction": 0.03}
    bams = {k: out / "reads" / f"{k}.bam" for k in ("tf_rep1", "tf_rep2", "tf_control", "atac_rep1")}
    for i, rep in enumerate(("tf_rep1", "tf_rep2")):
        simulate_chip_bam(bams[rep], sizes, tf_sites, tf_strength, 6000, seed=seeds[4 + i], name_prefix=rep, **noise)
    simulate_control_bam(bams["tf_control"], sizes, 8000, seed=seeds[6], genome=codes, name_prefix="tf_control")
    simulate_atac_bam(bams["atac_rep1"], sizes, atac_sites, atac_strength, 4000, seed=seeds[7], **noise)
    beds = {"TF": out / "truth" / "TF.sites.bed", "ATAC": out / "truth" / "ATAC.sites.bed"}
    write_sites_bed(beds["TF"], tf_sites, width=len(TEST_MOTIF))
    write_sites_bed(beds["ATAC"], atac_sites, width=len(TEST_MOTIF))
    samples = _write_test_sheet(out, bams, absolute_paths)
    return {
        "out_dir": str(out), "genome": str(genome), "chrom_sizes": str(out / "genome.chrom.sizes"),
        "samples": str(samples), "bams": {k: str(v) for k, v in bams.items()},
        "sites": {"TF": tf_sites, "ATAC": atac_sites}, "sites_bed": {k: str(v) for k, v in beds.items()},
        "motif": TEST_MOTIF, "n_run": TEST_N_RUN, "strengths": {"TF": tf_strength, "ATAC": atac_strength},
    }  # fmt: skip


def _extra_sites(codes: dict[str, np.ndarray], taken: Sequence[Site], n: int, seed: int) -> list[Site]:
    """``n`` motif-free sites at least 3 kb from the ``taken`` ones."""
    cand = plant_sites(codes, n + len(taken) * 2, seed, min_spacing=3000)
    free = [s for s in cand if all(s.chrom != t.chrom or abs(s.center - t.center) >= 3000 for t in taken)]
    if len(free) < n:
        raise CisflowError("could not place the extra ATAC sites")
    return free[:n]


def _faidx(path: Path) -> None:
    import pysam

    pysam.faidx(str(path))


def _write_test_sheet(out: Path, bams: Mapping[str, Path], absolute: bool) -> Path:
    def p(key: str) -> str:
        return str(bams[key].resolve()) if absolute else str(bams[key].relative_to(out))

    rows = [
        ("TF", "synth", "chip", "1", p("tf_rep1"), p("tf_control")),
        ("TF", "synth", "chip", "2", p("tf_rep2"), p("tf_control")),
        ("ATAC", "synth", "atac", "1", p("atac_rep1"), ""),
    ]
    path = out / "samples.tsv"
    with atomic_open(path) as handle:
        handle.write("task\tcell_type\tassay\treplicate\treads\tcontrol\n")
        for row in rows:
            handle.write("\t".join(row) + "\n")
    return path
