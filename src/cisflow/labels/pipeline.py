"""The labels stage: narrowPeak files, a genome (or chromosome sizes) and a blacklist in; the labels npz, the
DREAM label TSV and a per-task summary out (:func:`labels_from_files`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.genome import Genome, check_same_chroms
from cisflow.io import atomic_open
from cisflow.labels.bins import Labels
from cisflow.labels.io import export_dream_tsv, read_bed3, save_labels
from cisflow.labels.rules import label_summary, make_labels
from cisflow.params import StageParams, log_params

log = logging.getLogger(__name__)


def _parse_sizes(
    genome: str | Path | None, chrom_sizes: str | Path | None, keep: str | None, exclude: Sequence[str]
) -> tuple[dict[str, int], Genome | None, set[str]]:
    """(kept sizes, Genome or None, dropped names) from a genome or a sizes file and the chromosome rule."""
    from cisflow.genome import read_chrom_sizes, select_chroms

    if (genome is None) == (chrom_sizes is None):
        raise CisflowError("give exactly one of a genome FASTA or a chromosome sizes file")
    g = Genome.open(genome) if genome is not None else None
    sizes = dict(g.sizes) if g is not None else read_chrom_sizes(chrom_sizes)
    kept = select_chroms(sizes, keep, exclude)
    if not kept:
        raise CisflowError(f"no chromosome left after genome.chroms ({keep or 'default rule'})", genome or chrom_sizes)
    return {c: sizes[c] for c in kept}, g, set(sizes) - set(kept)


def _drop_chroms(df: pd.DataFrame, drop: set[str], what: str | Path) -> pd.DataFrame:
    """``df`` without rows on ``drop`` chromosomes (their number logged)."""
    on = df["chrom"].isin(drop).to_numpy()
    if on.any():
        log.info("%s: left out %d regions on dropped chromosomes", what, int(on.sum()))
    return df[~on]


@dataclasses.dataclass(frozen=True)
class LabelsParams(StageParams):
    """The config's ``labels`` section: the bins and overlap rule of :func:`labels_from_files` (bp), and the
    peak set (``conservative`` / ``optimal``) whose peaks are bound."""

    SECTION: ClassVar[str] = "labels"
    peak_set: str = "optimal"
    bin_size: int = 200
    stride: int = 50
    mode: str = "dream"
    min_fraction: float = 0.5
    summit_flank: int = 0
    max_n_fraction: float = 0.0


@dataclasses.dataclass(frozen=True)
class GenomeParams(StageParams):
    """The config's ``genome`` section: the FASTA (required), a blacklist BED, and the chromosomes labelled
    (``chroms``: a regular expression; None: every one) less ``exclude_chroms`` (:func:`labels_from_files`)."""

    SECTION: ClassVar[str] = "genome"
    fasta: str | None = None
    blacklist: str | None = None
    chroms: str | None = None
    exclude_chroms: tuple[str, ...] = ()


def labels_from_files(
    conservative: Mapping[str, str | Path],
    relaxed: Mapping[str, str | Path] | None,
    out: str | Path,
    *,
    genome: str | Path | None = None,
    chrom_sizes: str | Path | None = None,
    blacklist: str | Path | None = None,
    dream_tsv: str | Path | None = None,
    summary: str | Path | None = None,
    chroms: str | None = GenomeParams.chroms,
    exclude_chroms: Sequence[str] = GenomeParams.exclude_chroms,
    **params,
) -> Labels:
    """Read narrowPeak files, make labels (:func:`make_labels` ``**params``) and write the outputs.

    Parameters
    ----------
    conservative, relaxed
        ``{task: narrowPeak path}``; peaks on dropped chromosomes are left out (and counted in the log).
    out
        Labels npz (:func:`save_labels`).
    genome, chrom_sizes
        Exactly one: a genome (code cache, FASTA; also used for the N filter) or a two-column sizes file.
    blacklist
        BED of excluded regions.
    dream_tsv, summary
        Optional DREAM label TSV and per-task summary TSV.
    chroms
        Which chromosomes count: a regex names must match whole, or None for the default rule of
        :func:`cisflow.genome.select_chroms` (drops alt / random / unplaced / decoy contigs, EBV, chrM).
    exclude_chroms
        Chromosomes left out of the labels in any case.
    """
    from cisflow.narrowpeak import read_narrowpeak

    log_params("labels", {"chroms": chroms, "exclude_chroms": list(exclude_chroms), **params})
    sizes, g, drop = _parse_sizes(genome, chrom_sizes, chroms, exclude_chroms)

    def read(paths: Mapping[str, str | Path] | None) -> dict[str, pd.DataFrame]:
        tables = {t: (p, read_narrowpeak(p, allow_empty=True)) for t, p in (paths or {}).items()}
        return {t: _drop_chroms(df, drop, p) for t, (p, df) in tables.items()}

    cons, relx = read(conservative), read(relaxed)
    for tables, paths in ((cons, conservative), (relx, relaxed or {})):
        for t, df in tables.items():
            check_same_chroms(df["chrom"], sizes, paths[t], genome or chrom_sizes)
            past = np.flatnonzero(df["end"].to_numpy() > df["chrom"].map(sizes).to_numpy())
            if past.size:
                c, e = df["chrom"].iloc[past[0]], int(df["end"].iloc[past[0]])
                raise CisflowError(f"peak end {e} beyond {c} ({sizes[c]} bp in {genome or chrom_sizes})", paths[t])
    bl = read_bed3(blacklist) if blacklist else None
    if bl is not None:
        bl = _drop_chroms(bl, drop, blacklist)
        check_same_chroms(bl["chrom"], sizes, blacklist, genome or chrom_sizes)
    labels = make_labels(cons, relx, sizes, blacklist=bl, genome=g, **params)
    if not any(k.any() for k in labels.keep.values()):
        raise CisflowError(
            "no bins left after the N and blacklist filters (all N?)", genome or blacklist or chrom_sizes
        )
    save_labels(labels, out)
    if dream_tsv:
        export_dream_tsv(labels, dream_tsv)
    if summary:
        with atomic_open(summary) as handle:
            label_summary(labels).to_csv(handle, sep="\t", index=False)
    return labels
