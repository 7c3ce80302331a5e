"""The enzyme's insertion preference measured from a run's own cut sites, and bias-model patterns sorted by it.

Tn5 (and DNase-I) cut where the sequence suits them, so a ChromBPNet's bias model learns that preference,
and TF-MoDISco on the bias model finds it back as patterns. JASPAR knows no enzyme: a collection will match
the Tn5 palindrome to whatever TF looks most like it (in fungi the CGG-N11-CCG zinc clusters), so a "no TF
motif in the bias model" check needs the enzyme's own matrix to tell the two apart. chrombpnet compares with
reference Tn5 / DNase-I PWMs; cisflow builds the matrix from the data instead: the base frequencies in a
window around every cut site, in read orientation (− strand windows reverse complemented), after the same
read-orientation shift the tracks apply, so the window's centre is the base the tracks count.

:func:`insertion_matrix` returns that position frequency matrix with the genome's base composition and the
information of each column relative to it, and (:func:`sites_matrix`) the matrix of the sites the enzyme prefers
most, which is what a TF-MoDISco pattern of the bias model resembles; :func:`write_enzyme_meme` writes both in MEME
format beside the tracks; :func:`cisflow.profile.bias_motifs.classify_bias_patterns` decides, pattern by pattern,
whether a bias-model pattern that matches JASPAR is a TF or the enzyme, and :func:`tf_motif_check` makes
chrombpnet's check of it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError, require_file
from cisflow.genome import Genome
from cisflow.io import atomic_open
from cisflow.profile.shift import cut_site_counts
from cisflow.profile.tracks import shift_ends

log = logging.getLogger(__name__)

#: Bases on each side of the cut site in the enzyme matrix (Tn5's preference spans about ±10 bp).
ENZYME_FLANK = 12
#: Cut sites the matrix is built from at most (a seeded sample of both strands).
ENZYME_SITES = 1_000_000
#: The motif name of the enzyme matrix in its MEME file and in the checks.
ENZYME_NAME = "enzyme"
#: The name of the matrix the bias patterns are matched with (:func:`sites_matrix`).
SITES_NAME = "enzyme_sites"
#: :func:`sites_matrix`'s exponent on the enzyme's odds and its trimming (columns below this share of the best
#: column's information are cut from the ends); chosen on the yeast ATAC (docs/profile.md): the raw frequencies
#: are so close to the genome's that TOMTOM matches most PWMs to them better than to any JASPAR motif.
SITES_POWER = 10.0
SITES_TRIM = 0.25
#: Family-wise level of the G-test a column's preference must pass to be sharpened (:func:`sites_matrix`).
SITES_ALPHA = 1e-3
#: Genome composition is counted in chunks of this many bases (memory stays small on large genomes).
_CHUNK = 10_000_000


def genome_composition(genome: Genome) -> np.ndarray:
    """Frequencies of A, C, G, T over the genome's non-N bases, float64 ``(4,)``."""
    counts = np.zeros(5, dtype=np.int64)
    for chrom, size in genome.sizes.items():
        for start in range(0, size, _CHUNK):
            codes = genome.fetch(chrom, start, min(start + _CHUNK, size))
            counts += np.bincount(np.minimum(codes, 4), minlength=5)[:5]
    if counts[:4].sum() == 0:
        raise CisflowError("the genome has no A, C, G or T base", genome.path)
    return counts[:4] / counts[:4].sum()


def consensus(pfm: np.ndarray) -> str:
    """The most frequent base of each column, as a string."""
    return "".join("ACGT"[i] for i in np.asarray(pfm).argmax(axis=0))


def insertion_matrix(
    genome: Genome,
    ends: Mapping[str, Mapping[str, np.ndarray]],
    plus: int,
    minus: int,
    *,
    flank: int = ENZYME_FLANK,
    background: np.ndarray | None = None,
) -> dict:
    """The enzyme's position frequency matrix from 5′ ends, the tracks' shift applied.

    Parameters
    ----------
    genome
        A :class:`cisflow.genome.Genome`.
    ends
        ``{"+": {chrom: positions}, "-": {chrom: positions}}`` 0-based 5′ ends as the tagAlign gives them
        (:func:`cisflow.profile.tracks.read_five_prime_ends`; a sample is enough).
    plus, minus
        The tracks' read-orientation shift (bp): + ends move by ``+plus``, − ends by ``−minus``
        (:func:`cisflow.profile.tracks.shift_ends`), so column ``flank`` is the base the track counts.
    flank
        Bases on each side of the cut site: the matrix is ``2·flank + 1`` wide.
    background
        The genome's base composition ``(4,)``; measured with :func:`genome_composition` when None.

    Returns
    -------
    dict
        ``pfm`` ``(4, W)`` (columns sum to 1, read orientation: − strand windows reverse complemented),
        ``counts`` ``(4, W)``, ``background`` ``(4,)``, ``information`` ``(W,)`` (bits:
        ``Σ_b p log2(p / background)``, the relative entropy of each column to the genome), ``consensus``,
        ``enriched`` (per column the base most enriched over the genome), ``sites`` per strand, ``flank``,
        ``shift`` ``(plus, minus)``, ``sites_matrix`` (:func:`sites_matrix`, what bias patterns are matched
        with; None without a significant preference).

    Raises
    ------
    CisflowError
        No cut site with a full window inside its chromosome.
    """
    if flank < 1:
        raise CisflowError(f"the enzyme matrix needs at least one base on each side of the cut; flank {flank}")
    moved = shift_ends(ends, plus, minus, genome.sizes)
    per_strand = {s: cut_site_counts(genome, moved.get(s, {}), s, flank) for s in ("+", "-")}
    counts = per_strand["+"] + per_strand["-"]
    if counts.sum() == 0:
        raise CisflowError(f"no cut site at least {flank} bp inside its chromosome to build the enzyme matrix from")
    bg = genome_composition(genome) if background is None else np.asarray(background, dtype=np.float64)
    if bg.shape != (4,) or (bg <= 0).any():
        raise CisflowError(f"the background must be 4 positive frequencies (A C G T); got {bg}")
    bg = bg / bg.sum()
    pfm = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
    info = information(pfm, bg)
    sites = {s: int(c[:, 0].sum()) for s, c in per_strand.items()}
    return {"pfm": pfm, "counts": counts, "background": bg, "information": info, "consensus": consensus(pfm),
            "enriched": consensus(pfm / bg[:, None]), "sites": sites, "flank": flank,
            "shift": (int(plus), int(minus)),
            "sites_matrix": sites_matrix(pfm, bg, int(counts[:, 0].sum()))}  # fmt: skip


def information(pfm: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Bits of each column relative to ``background`` ``(4,)``: ``Σ_b p log2(p / background)``, ``(W,)``."""
    pfm, bg = np.asarray(pfm, dtype=np.float64), np.asarray(background, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pfm > 0, pfm * np.log2(pfm / bg), 0.0).sum(axis=0)


def column_pvalues(pfm: np.ndarray, background: np.ndarray, n_sites: int) -> np.ndarray:
    """G-test p-value of each column against the background: ``G = 2 n ln2 · information`` (bits), χ² with 3 df.

    Small where ``n_sites`` cut sites show a real preference at that column, near uniform on noise.
    """
    from scipy.stats import chi2

    return chi2.sf(2.0 * n_sites * np.log(2.0) * information(pfm, background), df=3)


def sites_matrix(pfm: np.ndarray, background: np.ndarray, n_sites: int, power: float = SITES_POWER,
                 trim: float = SITES_TRIM, alpha: float = SITES_ALPHA) -> np.ndarray | None:  # fmt: skip
    """The enzyme's preference as a motif of its preferred sites: ``background · (pfm / background)^power``
    per column (normalised), its ends trimmed to the columns holding ``trim`` of the best column's information.

    Each cut site is only weakly enriched (yeast Tn5: 1.3 bits over 25 columns), while a TF-MoDISco pattern is
    the average of its strongest sites; raising the odds to a power is what selecting sites with weight
    ``exp(power · log-odds)`` does to independent columns, so the result is the matrix of the sites the enzyme
    prefers most. Raising noise to a power makes a sharp matrix of nothing, so only the columns whose
    preference is significant among the ``n_sites`` cut sites (:func:`column_pvalues` below ``alpha`` / W,
    Bonferroni) are sharpened; the others are the background. Returns ``(4, W')`` (``W' ≤ W``), or None when
    no column is significant (the cut sites show no enzyme preference).
    """
    pfm, bg = np.asarray(pfm, dtype=np.float64), np.asarray(background, dtype=np.float64)
    real = column_pvalues(pfm, bg, n_sites) < alpha / pfm.shape[1]
    if not real.any():
        return None
    with np.errstate(divide="ignore"):
        logodds = np.where(real, np.log(np.clip(pfm, 1e-12, None) / bg[:, None]), 0.0)
    sharp = np.exp(power * (logodds - logodds.max(axis=0, keepdims=True))) * bg[:, None]
    sharp /= sharp.sum(axis=0, keepdims=True)
    info = information(sharp, bg)
    keep = np.flatnonzero(info >= trim * info.max())
    return sharp[:, keep.min() : keep.max() + 1]


def write_enzyme_meme(path: str | Path, motifs: Mapping[str, np.ndarray], background: np.ndarray,
                      nsites: int) -> None:  # fmt: skip
    """Write matrices ``{name: (4, W)}`` in MEME minimal text format with the genome's letter frequencies,
    atomically."""
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "", "Background letter frequencies",
             " ".join(f"{b} {f:.6f}" for b, f in zip("ACGT", background, strict=True)), ""]  # fmt: skip
    for name, pfm in motifs.items():
        pfm = np.asarray(pfm, dtype=np.float64)
        lines += [
            f"MOTIF {name}",
            f"letter-probability matrix: alength= 4 w= {pfm.shape[1]} nsites= {int(nsites)} E= 0",
        ]
        lines += [" ".join(f"{p:.6f}" for p in col) for col in pfm.T] + [""]
    with atomic_open(path) as handle:
        handle.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------- the check

#: Columns of :func:`cisflow.profile.bias_motifs.classify_bias_patterns`' table (``bias_patterns.tsv``).
PATTERN_COLUMNS = ["pattern", "tf_id", "tf_name", "tf_pvalue", "tf_qvalue", "enzyme_pvalue", "enzyme_qvalue",
                   "jaspar_significant", "enzyme_like", "tf_like"]  # fmt: skip


def read_pattern_table(path: str | Path) -> pd.DataFrame:
    """A ``bias_patterns.tsv`` (:data:`PATTERN_COLUMNS`), checked; the flags as booleans."""
    table = pd.read_csv(require_file(path, "bias patterns table"), sep="\t")
    missing = [c for c in PATTERN_COLUMNS if c not in table.columns]
    if missing:
        raise CisflowError(f"not a bias patterns table: no {', '.join(missing)} column", path)
    for column in ("jaspar_significant", "enzyme_like", "tf_like"):
        table[column] = table[column].astype(bool)
    return table


def tf_motif_check(table: pd.DataFrame, qvalue: float = 0.05) -> dict:
    """chrombpnet's no-TF-motif check from a bias patterns table: one ``checks.tsv`` row.

    ``value`` counts the TF-like patterns (passes at 0); ``note`` gives the counts both ways (JASPAR at
    q ≤ ``qvalue``, enzyme-like, TF-like) and names the JASPAR matches taken as the enzyme.
    """
    significant, enzyme_like, tf_like = (
        table[c].astype(bool) for c in ("jaspar_significant", "enzyme_like", "tf_like")
    )
    taken = [f"{r.pattern} ({r.tf_name})" for r in table[significant & enzyme_like].itertuples(index=False)]
    none = (
        " (no enzyme preference in the cut sites to match)"
        if table["enzyme_pvalue"].isna().all() and len(table)
        else ""
    )
    note = (f"{len(table)} patterns{none}: {int(significant.sum())} match JASPAR at q <= {qvalue}, "
            f"{int(enzyme_like.sum())} match the enzyme matrix better than any JASPAR motif, "
            f"{int(tf_like.sum())} TF-like; "
            f"JASPAR matches taken as the enzyme: {', '.join(taken) or 'none'}")  # fmt: skip
    check = f"bias-model patterns matching a TF (JASPAR q <= {qvalue}) better than the enzyme"
    return {"check": check, "value": float(tf_like.sum()), "threshold": 0.0, "passed": bool(tf_like.sum() == 0),
            "note": note}  # fmt: skip
