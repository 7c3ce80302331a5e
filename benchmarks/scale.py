"""Benchmark the genome track at human scale: a synthetic hg38-size genome, deep BAMs, per-rule time and memory.

Builds a genome with hg38's chromosome sizes scaled by ``--fraction`` (random sequence, soft-masked
blocks, N runs at the telomeres and a centromere-like gap, plus alt / random / unplaced contigs, chrEBV
and chrM), plants a motif at TF sites, simulates ChIP-seq and input reads (single-end) and ATAC-seq
fragments (paired-end, with chrM reads) with ``--fragments`` each, writes them as coordinate-sorted
indexed BAMs (records built with numpy, BGZF-compressed by pysam), and runs the genome-track workflow
from the BAMs through evaluation with a DragoNN-size model (``sequence_dnn`` multilayer preset), valid
chr11 and test chr21 (every bin scored on both strands). ``--dream-test`` scores chr1, chr8 and chr21
as the ``dream`` preset does (meant for a GPU).

Prints a TSV with one line per rule, ``rule  wall_s  max_rss_mb`` (from Snakemake's benchmark files:
wall time summed over the rule's jobs, the largest resident set of any of them), the ``filter_reads``
throughput in records/s, and a last line ``peak RSS <N> MB over all rules``.

Usage: ``python benchmarks/scale.py [--fraction 1.0] [--fragments 20000000] [--dream-test] [--out DIR]``
(``--one-chromosome`` instead runs a genome of one chromosome to the end with valid/test regions).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

HG38 = ROOT / "resources" / "genome" / "hg38.chrom.sizes"
# real hg38 contigs of the kinds the default chromosome rule drops (sizes scaled like the chromosomes)
EXTRA_CONTIGS = {"chr1_KI270706v1_random": 175_055, "chr6_GL000250v2_alt": 4_672_374, "chrUn_KI270302v1": 2_274,
                 "chrEBV": 171_823}  # fmt: skip
MOTIF = "TTGACTCATGCG"  # an AP-1-like site planted at every TF site
READ_LENGTH = 50
SITES_PER_MB = 5
SITE_STRENGTH_SD = 1.0  # log-normal spread of the sites' occupancy (reads drawn per site)
_LETTERS = np.frombuffer(b"ACGTNacgtn", dtype=np.uint8)


# ----------------------------------------------------------------------------------------------
# genome


def scaled_sizes(fraction: float) -> dict[str, int]:
    """hg38's chromosome sizes times ``fraction`` (at least 200 kb), the extra contigs likewise, chrM as is."""
    from cisflow.genome import read_chrom_sizes

    sizes = {c: n for c, n in read_chrom_sizes(HG38).items() if c != "chrM"}
    out = {c: max(int(n * fraction), 200_000) for c, n in sizes.items()}
    out |= {c: max(int(n * fraction), 2_000) for c, n in EXTRA_CONTIGS.items()}
    return out | {"chrM": 16_569}


def n_runs(size: int) -> list[tuple[int, int]]:
    """N runs of one sequence: 10 kb telomeres and a centromere-like gap of 1 % at 40 % of it."""
    if size < 100_000:
        return []
    tel, gap, at = 10_000, size // 100, int(size * 0.4)
    return [(0, tel), (at, at + gap), (size - tel, size)]


def _chromosome(size: int, rng: np.random.Generator, sites: np.ndarray) -> np.ndarray:
    """Letter indices into ``_LETTERS`` (soft-masked 5 kb blocks, N runs, the motif at ``sites``)."""
    codes = rng.integers(0, 4, size, dtype=np.uint8)
    motif = np.frombuffer(MOTIF.encode(), dtype=np.uint8)
    lookup = np.zeros(256, np.uint8)
    lookup[np.frombuffer(b"ACGT", dtype=np.uint8)] = np.arange(4, dtype=np.uint8)
    for s in sites:
        codes[s - len(motif) // 2 : s - len(motif) // 2 + len(motif)] = lookup[motif]
    for a, b in n_runs(size):
        codes[a:b] = 4
    masked = np.repeat(rng.random(-(-size // 5000)) < 0.5, 5000)[:size]
    return codes + 5 * masked.astype(np.uint8)


def write_genome(path: Path, sizes: Mapping[str, int], sites: Mapping[str, np.ndarray], seed: int) -> None:
    """Write the genome as a plain-gzip FASTA (60 bp lines), one chromosome in memory at a time."""
    with gzip.open(path, "wb", compresslevel=1) as out:
        for k, (chrom, size) in enumerate(sizes.items()):
            letters = _LETTERS[_chromosome(size, np.random.default_rng([seed, k]), sites.get(chrom, []))]
            out.write(f">{chrom}\n".encode())
            for lo in range(0, size, 60 * 200_000):
                block = letters[lo : lo + 60 * 200_000]
                full = block.size // 60 * 60
                lines = np.hstack([block[:full].reshape(-1, 60), np.full((full // 60, 1), ord("\n"), np.uint8)])
                out.write(lines.tobytes())
                if full < block.size:
                    out.write(block[full:].tobytes() + b"\n")


def place_sites(sizes: Mapping[str, int], per_mb: float, seed: int) -> dict[str, np.ndarray]:
    """TF sites: ``per_mb`` per Mb on the primary chromosomes, outside N runs, at least 2 kb apart."""
    rng = np.random.default_rng([seed, 1])
    out = {}
    for chrom, size in sizes.items():
        if "_" in chrom or chrom in ("chrM", "chrEBV"):
            continue
        pos = np.sort(rng.integers(20_000, size - 20_000, max(int(size / 1e6 * per_mb), 1)))
        pos = pos[np.r_[True, np.diff(pos) >= 2000]]
        ok = np.ones(pos.size, bool)
        for a, b in n_runs(size):
            ok &= (pos < a - 1000) | (pos >= b + 1000)
        out[chrom] = pos[ok]
    return out


# ----------------------------------------------------------------------------------------------
# reads


class _Genome:
    """Uniform positions over the non-N part of the genome's sequences (vectorised)."""

    def __init__(self, sizes: Mapping[str, int], chroms: list[str]) -> None:
        self.names = list(sizes)
        lo, hi, tid = [], [], []
        for chrom in chroms:
            cuts = [0, *[x for run in n_runs(sizes[chrom]) for x in run], sizes[chrom]]
            for a, b in zip(cuts[::2], cuts[1::2], strict=True):
                if b - a > 1000:
                    lo.append(a)
                    hi.append(b)
                    tid.append(self.names.index(chrom))
        self.lo, self.tid = np.array(lo, np.int64), np.array(tid, np.int32)
        self.cum = np.cumsum(np.array(hi, np.int64) - self.lo)

    def uniform(self, n: int, rng: np.random.Generator, margin: int = 600) -> tuple[np.ndarray, np.ndarray]:
        """``n`` (tid, position) pairs, uniform, at least ``margin`` bp inside an N-free interval."""
        u = rng.integers(0, self.cum[-1], n)
        k = np.searchsorted(self.cum, u, side="right")
        within = u - np.r_[0, self.cum[:-1]][k]
        length = np.diff(np.r_[0, self.cum])[k]
        return self.tid[k], self.lo[k] + np.clip(within, margin, length - margin)


def site_strengths(n_sites: int, rng: np.random.Generator) -> np.ndarray:
    """Relative strengths ``(n_sites,)`` of the sites, summing to 1: log-normal (sd ``SITE_STRENGTH_SD``).

    Binding sites differ in occupancy by orders of magnitude, so a strong site is strong in every
    replicate; with equal strengths the replicates' peak ranks would be counting noise alone, which
    IDR (rightly) calls irreproducible.
    """
    strength = rng.lognormal(0.0, SITE_STRENGTH_SD, n_sites)
    return strength / strength.sum()


def _at_sites(sites: Mapping[str, np.ndarray], names: list[str], n: int, sd: float, rng) -> tuple:
    """``n`` (tid, centre) pairs drawn around the sites (each site by its :func:`site_strengths`, normal offsets)."""
    chroms = [c for c in sites if len(sites[c])]
    tid = np.concatenate([np.full(len(sites[c]), names.index(c), np.int32) for c in chroms])
    pos = np.concatenate([sites[c] for c in chroms]).astype(np.int64)
    pick = rng.choice(pos.size, n, p=site_strengths(pos.size, rng))
    return tid[pick], pos[pick] + np.round(rng.normal(0, sd, n)).astype(np.int64)


def single_end(centres: tuple, rng: np.random.Generator, sizes: np.ndarray) -> dict[str, np.ndarray]:
    """SE ChIP records from fragment centres: a 50 bp read at the 5' end of a ~200 bp fragment, either strand."""
    tid, centre = centres
    n = tid.size
    length = np.clip(np.round(rng.normal(200, 25, n)), 120, 300).astype(np.int64)
    start = np.clip(centre - length // 2, 0, sizes[tid] - length)
    minus = rng.random(n) < 0.5
    pos = np.where(minus, start + length - READ_LENGTH, start)
    mapq = np.where(rng.random(n) < 0.03, 5, 60)
    return {"tid": tid, "pos": pos, "flag": np.where(minus, 16, 0), "mapq": mapq, "name": np.arange(n),
            "mate": np.full(n, -1), "tlen": np.zeros(n, np.int64)}  # fmt: skip


def paired_end(centres: tuple, rng: np.random.Generator, sizes: np.ndarray) -> dict[str, np.ndarray]:
    """PE ATAC records (flags 99/147): nucleosome-free (50–150 bp) and mono-nucleosome (~200 bp) fragments."""
    tid, centre = centres
    n = tid.size
    length = np.where(rng.random(n) < 0.6, rng.integers(50, 150, n), np.round(rng.normal(200, 20, n)))
    length = np.clip(length, READ_LENGTH, 400).astype(np.int64)
    start = np.clip(centre - length // 2, 0, sizes[tid] - length)
    mate = start + length - READ_LENGTH
    mapq = np.where(rng.random(n) < 0.03, 5, 60)
    return {"tid": np.r_[tid, tid], "pos": np.r_[start, mate], "flag": np.r_[np.full(n, 99), np.full(n, 147)],
            "mapq": np.r_[mapq, mapq], "name": np.r_[np.arange(n), np.arange(n)], "mate": np.r_[mate, start],
            "tlen": np.r_[length, -length]}  # fmt: skip


def _with_duplicates(records: dict[str, np.ndarray], fraction: float, rng, paired: bool) -> dict[str, np.ndarray]:
    """Copy ``fraction`` of the reads (both mates of a pair) under new names: PCR duplicates."""
    n_frag = records["name"].max() + 1
    dup = rng.choice(n_frag, int(fraction * n_frag), replace=False)
    rows = np.flatnonzero(np.isin(records["name"], dup))
    copy = {k: v[rows] for k, v in records.items()}
    copy["name"] = copy["name"] + n_frag
    return {k: np.r_[records[k], copy[k]] for k in records}


# ----------------------------------------------------------------------------------------------
# BAM writing: fixed-size records built with numpy, BGZF-compressed by pysam


def _reg2bin(beg: np.ndarray, end: np.ndarray) -> np.ndarray:
    """SAM spec ``reg2bin`` for 0-based ``[beg, end)``, vectorised."""
    end = end - 1
    out = np.zeros(beg.size, np.int64)
    for shift, offset in ((26, 1), (23, 9), (20, 73), (17, 585), (14, 4681)):
        same = (beg >> shift) == (end >> shift)
        out = np.where(same, offset + (beg >> shift), out)
    return out


def _record_dtype(name_len: int) -> np.dtype:
    return np.dtype([("block_size", "<i4"), ("ref", "<i4"), ("pos", "<i4"), ("l_name", "u1"), ("mapq", "u1"),
                     ("bin", "<u2"), ("n_cigar", "<u2"), ("flag", "<u2"), ("l_seq", "<i4"), ("next_ref", "<i4"),
                     ("next_pos", "<i4"), ("tlen", "<i4"), ("name", f"S{name_len}"), ("cigar", "<u4")])  # fmt: skip


def _names(ids: np.ndarray, prefix: bytes) -> np.ndarray:
    """``prefix`` + 10 decimal digits per id, as fixed bytes (one array op per digit)."""
    digits = np.stack([(ids // 10**k) % 10 for k in range(9, -1, -1)], axis=1).astype(np.uint8) + ord("0")
    raw = np.hstack([np.tile(np.frombuffer(prefix, np.uint8), (ids.size, 1)), digits])
    return raw.view(f"S{raw.shape[1]}").ravel()


def _block(records: Mapping[str, np.ndarray], rows: np.ndarray, prefix: bytes) -> bytes:
    """The BAM records of ``rows``: SEQ ``*``, no qualities, CIGAR ``50M``, fixed-length names."""
    dtype = _record_dtype(len(prefix) + 11)
    rec = np.zeros(rows.size, dtype)
    pos, mate = records["pos"][rows], records["mate"][rows]
    rec["block_size"], rec["ref"], rec["pos"] = dtype.itemsize - 4, records["tid"][rows], pos
    rec["l_name"], rec["mapq"], rec["n_cigar"] = len(prefix) + 11, records["mapq"][rows], 1
    rec["bin"], rec["flag"] = _reg2bin(pos, pos + READ_LENGTH), records["flag"][rows]
    rec["next_ref"], rec["next_pos"] = np.where(mate >= 0, rec["ref"], -1), mate
    rec["tlen"], rec["cigar"], rec["name"] = (
        records["tlen"][rows],
        READ_LENGTH << 4,
        _names(records["name"][rows], prefix),
    )
    return rec.tobytes()


def _bam_header(sizes: Mapping[str, int]) -> bytes:
    text = "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{c}\tLN:{n}\n" for c, n in sizes.items())
    head = b"BAM\1" + np.int32(len(text)).tobytes() + text.encode() + np.int32(len(sizes)).tobytes()
    for c, n in sizes.items():
        head += np.int32(len(c) + 1).tobytes() + c.encode() + b"\0" + np.int32(n).tobytes()
    return head


def write_bam(path: Path, sizes: Mapping[str, int], records: Mapping[str, np.ndarray], prefix: str) -> int:
    """Write records (``tid pos flag mapq name mate tlen``, reads of ``READ_LENGTH`` bp) as a sorted, indexed BAM."""
    import pysam
    from pysam.libcbgzf import BGZFile

    order = np.lexsort((records["pos"], records["tid"]))
    tmp = path.with_name(f".{path.name}")
    with BGZFile(str(tmp), "wb1") as out:  # BGZF at zlib level 1
        out.write(_bam_header(sizes))
        for lo in range(0, order.size, 1 << 20):
            out.write(_block(records, order[lo : lo + (1 << 20)], prefix.encode()))
    pysam.index(str(tmp), str(tmp) + ".bai")
    os.replace(str(tmp) + ".bai", str(path) + ".bai")
    os.replace(tmp, path)
    return int(order.size)


def simulate_bams(out: Path, sizes: Mapping[str, int], sites: Mapping[str, np.ndarray], n: int, seed: int) -> dict:
    """ChIP (SE, 10 % at the sites), input (SE) and ATAC (PE, 20 % at the sites and as many motif-free
    sites, 5 % on chrM) with ``n`` reads / fragments each, 3 % duplicates; returns ``{name: path}``."""
    names = list(sizes)
    primary = [c for c in names if c not in ("chrM",)]
    genome, lengths = _Genome(sizes, primary), np.array(list(sizes.values()), np.int64)
    rng = np.random.default_rng([seed, 2])
    bams = {}
    n_sig = n // 10
    chip = _cat(_at_sites(sites, names, n_sig, 30, rng), genome.uniform(n - n_sig, rng))
    bams["chip"] = single_end(chip, rng, lengths)
    bams["input"] = single_end(genome.uniform(n, rng), rng, lengths)
    open_sites = {c: np.sort(np.r_[s, genome_extra(s, sizes[c], rng)]) for c, s in sites.items()}
    n_site, n_mito = n // 5, n // 20
    mito = (np.full(n_mito, names.index("chrM"), np.int32), rng.integers(300, sizes["chrM"] - 300, n_mito))
    atac = _cat(_at_sites(open_sites, names, n_site, 50, rng), mito, genome.uniform(n - n_site - n_mito, rng))
    bams["atac"] = paired_end(atac, rng, lengths)
    paths = {}
    for name, records in bams.items():
        records = _with_duplicates(records, 0.03, rng, paired=name == "atac")
        paths[name] = out / f"{name}.bam"
        write_bam(paths[name], sizes, records, prefix=f"{name}.")
    return paths


def genome_extra(sites: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """As many motif-free open sites as ``sites``, at least 3 kb from every one of them and from N runs."""
    cand = np.sort(rng.integers(30_000, size - 30_000, 2 * len(sites) + 1))
    if len(sites):
        k = np.clip(np.searchsorted(sites, cand), 1, len(sites) - 1) if len(sites) > 1 else np.zeros(cand.size, int)
        gap = np.minimum(np.abs(cand - sites[k - (len(sites) > 1)]), np.abs(cand - sites[k]))
        cand = cand[gap > 3000]
    for a, b in n_runs(size):
        cand = cand[(cand < a - 1000) | (cand >= b + 1000)]
    return cand[: len(sites)]


def _cat(*parts: tuple) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in parts]).astype(np.int32), np.concatenate([p[1] for p in parts])


# ----------------------------------------------------------------------------------------------
# the workflow run


def write_inputs(out: Path, args: argparse.Namespace) -> dict[str, Path]:
    """Genome, BAMs and sample sheet under ``out/data`` (reused when a previous run left them complete)."""
    data = out / "data"
    done = data / "inputs.json"
    if done.is_file() and json.loads(done.read_text()) == _input_key(args):
        return {"genome": data / "genome.fa.gz", "samples": data / "samples.tsv"}
    data.mkdir(parents=True, exist_ok=True)
    sizes = one_chromosome_sizes(args.fraction) if args.one_chromosome else scaled_sizes(args.fraction)
    sites = place_sites(sizes, SITES_PER_MB, args.seed)
    t0 = time.perf_counter()
    write_genome(data / "genome.fa.gz", sizes, sites, args.seed)
    t1 = time.perf_counter()
    bams = simulate_bams(data, sizes, sites, args.fragments, args.seed)
    t2 = time.perf_counter()
    print(f"# inputs: genome {sum(sizes.values()) / 1e6:.0f} Mb in {t1 - t0:.0f} s, 3 BAMs of {args.fragments} "
          f"reads/fragments in {t2 - t1:.0f} s", file=sys.stderr)  # fmt: skip
    sheet = "task\tcell_type\tassay\treplicate\treads\tcontrol\n"
    sheet += f"TF\tsynth\tchip\t1\t{bams['chip']}\t{bams['input']}\nATAC\tsynth\tatac\t1\t{bams['atac']}\t\n"
    (data / "samples.tsv").write_text(sheet)
    done.write_text(json.dumps(_input_key(args)))
    return {"genome": data / "genome.fa.gz", "samples": data / "samples.tsv"}


def one_chromosome_sizes(fraction: float) -> dict[str, int]:
    """A genome of one chromosome: chr1 scaled by ``fraction``."""
    return {"chr1": scaled_sizes(fraction)["chr1"]}


def _input_key(args: argparse.Namespace) -> dict:
    return {"fraction": args.fraction, "fragments": args.fragments, "seed": args.seed, "one": args.one_chromosome,
            "site_strength_sd": SITE_STRENGTH_SD}  # fmt: skip


def workflow_config(inputs: Mapping[str, Path], args: argparse.Namespace) -> dict:
    """The genome-track config: DragoNN-size model, valid chr11 / test chr21 (or the DREAM preset)."""
    # every test bin scored; a sampled validation set (5 negatives per positive) for early stopping
    common = {"input_length": 1000, "negative_ratio": 1.0, "eval_negative_ratio": None, "valid_negative_ratio": 5.0}
    splits = {"valid_chroms": ["chr11"], "test_chroms": ["chr21"], **common}
    if args.dream_test:
        splits = {"preset": "dream", **common}
    if args.one_chromosome:
        size = one_chromosome_sizes(args.fraction)["chr1"]
        splits = {"valid_regions": [f"chr1:{int(size * 0.6)}-{int(size * 0.7)}"],
                  "test_regions": [f"chr1:{int(size * 0.8)}-{size}"], **common}  # fmt: skip
    return {
        "track": "genome", "seed": args.seed, "samples": str(inputs["samples"]),
        "genome": {"fasta": str(inputs["genome"])},
        "reads": {"min_mapq": 30, "dedup": "position"},
        "peaks": {"pvalue": 0.01, "reproducibility": args.reproducibility, "reference": None},
        "labels": {"bin_size": 200, "stride": 50},
        "splits": splits,
        "model": {"name": "sequence_dnn", "params": {"num_filters": [15, 15, 15], "conv_width": [10, 10, 10],
                                                     "pool_width": 35, "dropout": 0.2}},
        "train": {"epochs": args.epochs, "min_epochs": 1, "batch_size": 256, "learning_rate": 0.001, "jitter": 20,
                  "weight_decay": 0.0, "patience": 5, "positive_repeats": 1},
        "evaluate": {"batch_size": 1024, "reverse_complement_average": True},
        "baselines": {"motifs": [], "kmer": True, "k": 5},
        "interpret": {"methods": ["grad_x_input"], "max_sequences": 200, "splits": ["test"]},
        "motifs": {"enabled": args.one_chromosome, "method": "grad_x_input", "taxon": "vertebrates",
                   "n_leiden_runs": 2, "min_metacluster_size": 20, "final_min_cluster_size": 10},
    }  # fmt: skip


def run_workflow(out: Path, config: dict, args: argparse.Namespace) -> None:
    """Run Snakemake on ``config`` in ``out/run`` (through evaluation, or to the end with --one-chromosome)."""
    import yaml

    run = out / "run"
    run.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [] if args.one_chromosome else ["results/evaluate/metrics.json", "results/evaluate/comparison.tsv"]
    if args.reads_only:
        targets = [f"results/reads/{task}.synth.rep1.stats.json" for task in ("TF", "ATAC")]
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(run),
           "--configfile", str(out / "config.yaml"), "--cores", str(args.cores), "--rerun-incomplete",
           "--printshellcmds", *targets]  # fmt: skip
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "MPLBACKEND": "Agg"}
    with open(out / "snakemake.log", "w") as log:
        done = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the workflow failed (exit {done.returncode}); see {out / 'snakemake.log'}")


def rule_table(run: Path) -> list[tuple[str, float, float, int]]:
    """``(rule, wall_s summed over its jobs, max_rss_mb of its largest job, jobs)`` from the benchmark files."""
    from rule_times import rule_times

    table = rule_times(run)
    return [(r.rule, r.wall_s, r.max_rss_mb, int(r.jobs)) for r in table.itertuples()]


def throughput_lines(run: Path) -> list[str]:
    """``filter_reads`` records per second (one core) and resident memory, per sample."""
    import pandas as pd

    lines = []
    for stats in sorted((run / "results" / "reads").glob("*.stats.json")):
        sample = stats.name.removesuffix(".stats.json")
        bench = run / "results" / "benchmarks" / "filter_reads" / f"{sample}.tsv"
        if not bench.is_file():
            continue
        b = pd.read_csv(bench, sep="\t")
        records, wall = json.loads(stats.read_text())["records"], float(b["s"].iloc[-1])
        cpu = float(pd.to_numeric(b["cpu_time"], errors="coerce").fillna(0).iloc[-1]) or float("nan")
        rss = float(b["max_rss"].iloc[-1])
        lines.append(f"# filter_reads {sample}: {records} records in {wall:.0f} s = {records / wall:,.0f} records/s "
                     f"({records / cpu:,.0f} per CPU second), max RSS {rss:.0f} MB")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=1.0, help="hg38 chromosome sizes times this (default 1)")
    parser.add_argument("--fragments", type=int, default=20_000_000, help="reads / fragments per BAM (default 20 M)")
    parser.add_argument("--dream-test", action="store_true", help="test chr1, chr8, chr21 (the dream preset)")
    parser.add_argument("--one-chromosome", action="store_true", help="one chromosome, valid/test regions, to the end")
    parser.add_argument("--epochs", type=int, default=2, help="training epochs (default 2)")
    parser.add_argument("--reads-only", action="store_true", help="run up to filter_reads (depth, not genome size)")
    parser.add_argument(
        "--reproducibility",
        choices=["idr", "overlap"],
        default="overlap",
        help="peaks.reproducibility (default overlap, as docs/scale.md's tables were measured; with sites of "
        "log-normal strength IDR keeps most TF peaks: 1,334 of 1,451 matched at F=0.1, 2 M reads)",
    )
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "scale")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    t0 = time.perf_counter()
    inputs = write_inputs(out, args)
    run_workflow(out, workflow_config(inputs, args), args)
    table = rule_table(out / "run")
    print("rule\twall_s\tmax_rss_mb")
    for rule, wall, rss, _ in table:
        print(f"{rule}\t{wall:.1f}\t{rss:.0f}")
    for line in throughput_lines(out / "run"):
        print(line)
    print(f"# fraction {args.fraction}, {args.fragments} fragments, total {time.perf_counter() - t0:.0f} s")
    print(f"peak RSS {max((r for _, _, r, _ in table), default=0):.0f} MB over all rules")


if __name__ == "__main__":
    main()
