"""Variant sets with a known answer: single-base changes that break motif instances, beside random positions.

- :func:`motif_core_variants`: at each motif instance, the core base nearest the instance's centre (the
  nearest position with at least ``min_bits`` of information; the most informative one if none has as
  many) changed to the base the PWM likes least there (on the instance's strand);
- :func:`random_variants`: positions drawn uniformly in the same regions away from every instance,
  each changed to a random other base;
- :func:`scan_sites`: PWM matches (FIMO-style, :func:`cisflow.motifs.pwmscan.pwm_scan`) in regions of a
  genome; :func:`embedded_sites`: a simulation's planted instances;
- :func:`write_variant_vcf`: the table as a sorted VCF (bgzip-compressed and indexed for ``.vcf.gz``),
  ``class`` (``motif`` / ``random``) and ``motif`` in INFO.

Tables have columns ``chrom pos ref alt id class motif`` (1-based ``pos``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.genome import COMPLEMENT, Genome, decode, one_hot
from cisflow.io import atomic_open

VARIANT_COLUMNS = ["chrom", "pos", "ref", "alt", "id", "class", "motif"]


def information(pwm: np.ndarray) -> np.ndarray:
    """Information content (bits) of each column of a PWM ``(4, W)``."""
    p = np.clip(np.asarray(pwm, np.float64), 1e-9, 1.0)
    p = p / p.sum(axis=0, keepdims=True)
    return 2.0 + (p * np.log2(p)).sum(axis=0)


def core_column(pwm: np.ndarray, min_bits: float = 1.5) -> int:
    """The motif column changed: the one nearest the centre with ``≥ min_bits`` bits (else the most informative)."""
    bits = information(pwm)
    strong = np.flatnonzero(bits >= min_bits)
    if not strong.size:
        return int(bits.argmax())
    middle = (pwm.shape[1] - 1) / 2
    return int(strong[np.argmin(np.abs(strong - middle) - 1e-6 * bits[strong])])


def embedded_sites(embeddings: pd.DataFrame, sequences: list[str] | None = None) -> pd.DataFrame:
    """A simulation's instances as sites ``chrom start end strand motif`` (``chrom`` = the sequence id)."""
    table = embeddings if sequences is None else embeddings[embeddings["seq_id"].astype(str).isin(sequences)]
    columns = {"chrom": "seq_id", "start": "start", "end": "end", "strand": "strand", "motif": "motif"}
    out = pd.DataFrame({k: table[v].to_numpy() for k, v in columns.items()})
    return out.astype({"chrom": str, "start": np.int64, "end": np.int64, "strand": str, "motif": str})


def scan_sites(
    genome: Genome, regions: pd.DataFrame, pwms: Mapping[str, np.ndarray], pvalue: float = 1e-4
) -> pd.DataFrame:
    """PWM matches (p ≤ ``pvalue``) inside ``regions`` (``chrom start end``, equal widths) as sites."""
    from cisflow.motifs.pwmscan import pwm_scan

    widths = (regions["end"] - regions["start"]).to_numpy()
    if not len(regions) or (widths != widths[0]).any():
        raise CisflowError("scan_sites needs regions of one width")
    codes = genome.fetch_many(regions["chrom"].to_numpy(object), regions["start"].to_numpy(np.int64), int(widths[0]))
    hits = pwm_scan(pwms, one_hot(codes), [str(i) for i in range(len(regions))], threshold=pvalue)
    row = hits["region"].astype(int).to_numpy()
    offset = regions["start"].to_numpy(np.int64)[row]
    return pd.DataFrame(
        {
            "chrom": regions["chrom"].to_numpy(str)[row],
            "start": offset + hits["start"].to_numpy(np.int64),
            "end": offset + hits["end"].to_numpy(np.int64),
            "strand": hits["strand"].to_numpy(str),
            "motif": hits["motif"].to_numpy(str),
        }
    )


def motif_core_variants(
    genome: Genome, sites: pd.DataFrame, pwms: Mapping[str, np.ndarray], min_bits: float = 1.5
) -> pd.DataFrame:
    """One single-base change per site at its core base (see the module docstring); overlapping sites once."""
    rows, seen = [], set()
    for site in sites.itertuples():
        pwm = np.asarray(pwms[site.motif], np.float64)
        col = core_column(pwm, min_bits)
        pos0 = site.start + col if site.strand == "+" else site.end - 1 - col
        ref = decode(genome.fetch(site.chrom, pos0, pos0 + 1))
        worst = "ACGT"[int(pwm[:, col].argmin())]
        alt = worst if site.strand == "+" else COMPLEMENT[worst]
        if ref not in COMPLEMENT or alt == ref or (site.chrom, pos0) in seen:
            continue
        seen.add((site.chrom, pos0))
        rows.append([site.chrom, pos0 + 1, ref, alt, f"{site.motif}:{site.chrom}:{pos0 + 1}", "motif", site.motif])
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS)


def random_variants(
    genome: Genome, regions: pd.DataFrame, n_per_region: int | Sequence[int], avoid: pd.DataFrame, seed: int
) -> pd.DataFrame:
    """Random single-base changes in regions (``chrom start end``) outside ``avoid`` sites.

    ``n_per_region`` is one count for every region or one per region (e.g. each region's motif variants).
    """
    rng = np.random.default_rng(seed)
    counts = np.broadcast_to(np.asarray(n_per_region, dtype=np.int64), (len(regions),))
    blocked = {}
    for site in avoid.itertuples():
        blocked.setdefault(site.chrom, set()).update(range(site.start, site.end))
    rows = []
    for region, count in zip(regions.itertuples(), counts, strict=True):
        free = [p for p in range(region.start, region.end) if p not in blocked.get(region.chrom, ())]
        for pos0 in rng.permutation(free)[:count] if free else []:
            ref = decode(genome.fetch(region.chrom, int(pos0), int(pos0) + 1))
            if ref not in COMPLEMENT:
                continue
            alt = str(rng.choice([b for b in "ACGT" if b != ref]))
            rows.append([region.chrom, int(pos0) + 1, ref, alt, f"random:{region.chrom}:{int(pos0) + 1}", "random", ""])
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS)


def write_variant_vcf(table: pd.DataFrame, path: str | Path, contigs: Mapping[str, int]) -> None:
    """The variants as a VCF sorted by contig order then position (``.vcf.gz``: bgzip + tabix index)."""
    import pysam

    order = {c: i for i, c in enumerate(contigs)}
    table = table.assign(_o=table["chrom"].map(order)).sort_values(["_o", "pos"], kind="stable")
    lines = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={n}>" for c, n in contigs.items())]
    lines.append('##INFO=<ID=CLASS,Number=1,Type=String,Description="motif (a motif instance\'s core base) or random">')
    lines.append('##INFO=<ID=MOTIF,Number=1,Type=String,Description="the motif whose instance the variant breaks">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    cols = [table[c].astype(str) for c in ("chrom", "pos", "id", "ref", "alt", "class", "motif")]
    for chrom, pos, vid, ref, alt, kind, motif in zip(*cols, strict=True):
        info = f"CLASS={kind}" + (f";MOTIF={motif}" if motif else "")
        lines.append(f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t{info}")
    text = "\n".join(lines) + "\n"
    if not str(path).endswith(".gz"):
        with atomic_open(path) as handle:
            handle.write(text)
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as work:
        plain = Path(work) / "variants.vcf"
        plain.write_text(text, encoding="utf-8")
        pysam.tabix_index(str(plain), preset="vcf", force=True)
        os.replace(f"{plain}.gz", path)
        os.replace(f"{plain}.gz.tbi", f"{path}.tbi")
