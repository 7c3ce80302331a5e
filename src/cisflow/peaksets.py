"""ENCODE's peak sets of one experiment: conservative, optimal and relaxed, with the reproducibility QC.

From MACS3 calls on each replicate, each replicate's two pseudo-replicates, the pooled reads and
the two pooled pseudo-replicates (ENCODE chip-seq-pipeline2 / atac-seq-pipeline):

* true-replicate set: IDR between every pair of replicates with the pooled peaks as the oracle
  list; the largest pair's set is the **conservative** set (N_t peaks);
* pooled-pseudo-replicate set: IDR between the pooled pseudo-replicates, pooled oracle (N_p);
* self-consistency sets: IDR between each replicate's own pseudo-replicates with that replicate's
  peaks as the oracle (N_1, N_2, …);
* **optimal** set: the larger of the true-replicate and pooled-pseudo-replicate sets (the set the
  ENCODE-DREAM challenge copied as its "conservative" peaks);
* **relaxed** set: ``"dream"`` (default), the pooled peaks also called in both pooled
  pseudo-replicates — every pooled peak the pooled-pseudo-replicate IDR comparison matched in both
  (any overlap), whatever its IDR: the unthresholded IDR output the challenge copied as its
  "relaxed" peaks (``copy_peaks.py``: ``idr/pooled_pseudo_reps/*unthresholded-peaks.txt.gz``);
  with ``method="overlap"``, ENCODE's naive overlap of the pooled peaks with both pooled
  pseudo-replicates; or ``"pooled"``, every pooled peak.

With one replicate its own pseudo-replicates stand in for the true replicates: conservative and
optimal sets are the pseudo-replicate IDR set (the replicate's peaks as oracle, which are the
pooled peaks). :func:`cisflow.qc.reproducibility.reproducibility_qc` gives the rescue and
self-consistency ratios.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cisflow.errors import CisflowError
from cisflow.idr import idr_peaks
from cisflow.narrowpeak import PeaksLike, as_peaks, cap_peaks, overlap_pairs, sort_peaks
from cisflow.params import StageParams
from cisflow.peaks import naive_overlap
from cisflow.qc.reproducibility import reproducibility_qc

log = logging.getLogger(__name__)

RELAXED_RULES = ("dream", "pooled")
_IDR_COLUMNS = ["local_idr", "global_idr", "score1", "score2"]


@dataclass
class PeakSets:
    """An experiment's peak sets (narrowPeak tables) and their reproducibility summary."""

    conservative: pd.DataFrame
    optimal: pd.DataFrame
    relaxed: pd.DataFrame
    reproducibility: dict[str, object]
    idr_tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class _Comparison:
    """How two peak sets are compared: IDR (``threshold``, ``rank``, ``seed``) or ENCODE's naive overlap."""

    method: str
    threshold: float
    rank: str
    seed: int

    def table(self, a: PeaksLike, b: PeaksLike, oracle: PeaksLike) -> pd.DataFrame:
        """IDR: every matched oracle peak with ``local_idr global_idr score1 score2``; overlap: the kept peaks."""
        if self.method == "overlap":
            return naive_overlap(oracle, a, b)
        return idr_peaks(a, b, oracle=oracle, rank=self.rank, threshold=self.threshold, keep_all=True, seed=self.seed)

    def matched(self, table: pd.DataFrame) -> pd.DataFrame:
        """Oracle peaks found in both sets, whatever their IDR (overlap: the table itself)."""
        if self.method == "overlap":
            return table
        both = (table["score1"] > 0) & (table["score2"] > 0)  # unmatched peaks carry value 0
        return sort_peaks(table[both].drop(columns=_IDR_COLUMNS))

    def passing(self, table: pd.DataFrame) -> pd.DataFrame:
        """The reproducible peaks of a :meth:`table`."""
        if self.method == "overlap":
            return table
        return sort_peaks(table[table["global_idr"] <= self.threshold].drop(columns=_IDR_COLUMNS))


def encode_peak_sets(
    replicates: Sequence[PeaksLike],
    self_pseudoreps: Sequence[tuple[PeaksLike, PeaksLike]],
    pooled: PeaksLike,
    pooled_pseudoreps: tuple[PeaksLike, PeaksLike] | None,
    *,
    method: str = "idr",
    threshold: float = 0.05,
    rank: str = "pvalue",
    relaxed: str = "dream",
    max_peaks: int = 300_000,
    seed: int = 0,
) -> PeakSets:
    """ENCODE's conservative, optimal and relaxed peak sets (see the module docstring).

    Parameters
    ----------
    replicates
        Peaks of each replicate (≥ 1).
    self_pseudoreps
        ``(pr1, pr2)`` peaks of each replicate's own pseudo-replicates, in replicate order.
    pooled
        Peaks of the pooled reads (with one replicate: that replicate's peaks).
    pooled_pseudoreps
        ``(pr1, pr2)`` peaks of the pooled pseudo-replicates (needed with ≥ 2 replicates; with one,
        they are that replicate's own pseudo-replicates and may be None).
    method
        ``"idr"`` or ``"overlap"`` (ENCODE's naive overlap in place of every IDR comparison; no tables).
    threshold, rank
        Global IDR cut-off and the ranking column (:func:`cisflow.idr.idr_peaks`).
    relaxed
        ``"dream"`` or ``"pooled"``.
    max_peaks
        Cap on the relaxed set (top by p-value).
    seed
        Tie-breaking seed of the IDR ranks.
    """
    if method not in ("idr", "overlap"):
        raise CisflowError(f"unknown reproducibility method {method!r} (use 'idr' or 'overlap')")
    if relaxed not in RELAXED_RULES:
        raise CisflowError(f"unknown relaxed-set rule {relaxed!r} (use {' or '.join(RELAXED_RULES)})")
    if not replicates or len(self_pseudoreps) != len(replicates):
        raise CisflowError(f"need ≥ 1 replicate and one pseudo-replicate pair each; got {len(replicates)} and "
                           f"{len(self_pseudoreps)}")  # fmt: skip
    if len(replicates) > 1 and pooled_pseudoreps is None:
        raise CisflowError("with replicates, the pooled pseudo-replicates' peaks are needed")
    pooled, how = as_peaks(pooled), _Comparison(method, threshold, rank, seed)
    tables = {f"self_rep{i + 1}": how.table(a, b, rep)
              for i, ((a, b), rep) in enumerate(zip(self_pseudoreps, replicates, strict=True))}  # fmt: skip
    self_sets = [how.passing(tables[f"self_rep{i + 1}"]) for i in range(len(replicates))]
    if len(replicates) == 1:  # the pooled reads are the replicate: its pseudo-replicates are the pooled ones
        pool_table = tables["self_rep1"]
        conservative = optimal = self_sets[0]
        rep = reproducibility_qc(None, None, [len(self_sets[0])])
    else:
        conservative, true_name = _best_true_pair(replicates, pooled, how, tables)
        pool_table = tables["pooled_pseudoreps"] = how.table(*pooled_pseudoreps, pooled)
        pooled_set = how.passing(pool_table)
        rep = reproducibility_qc(len(conservative), len(pooled_set), [len(s) for s in self_sets])
        optimal = pooled_set if rep["optimal"] == "pooled" else conservative
        rep["true_pair"] = true_name
    relaxed_set = how.matched(pool_table) if relaxed == "dream" else pooled
    rep |= {"n_relaxed": min(len(relaxed_set), max_peaks), "relaxed_rule": relaxed}
    log.info("peak sets: conservative %d, optimal %d (%s), relaxed %d", len(conservative), len(optimal),
             rep["optimal"], rep["n_relaxed"])  # fmt: skip
    idr_tables = tables if method == "idr" else {}
    return PeakSets(conservative, optimal, sort_peaks(cap_peaks(relaxed_set, max_peaks)), rep, idr_tables)


def _best_true_pair(replicates, pooled, how: _Comparison, tables: dict) -> tuple[pd.DataFrame, str]:
    """The largest true-replicate set over all pairs (its comparison table stored in ``tables``)."""
    best, best_name = None, ""
    for i, j in combinations(range(len(replicates)), 2):
        name = f"rep{i + 1}_rep{j + 1}"
        tables[name] = how.table(replicates[i], replicates[j], pooled)
        found = how.passing(tables[name])
        if best is None or len(found) > len(best):
            best, best_name = found, name
    return best, best_name


def filter_peaks(
    peaks: PeaksLike, blacklist: pd.DataFrame | None = None, keep_chroms: Sequence[str] | None = None
) -> pd.DataFrame:
    """Peaks on ``keep_chroms`` (all if None) that overlap no ``blacklist`` region by even 1 bp.

    ENCODE removes blacklisted peaks with ``bedtools intersect -v -a peaks -b blacklist`` and keeps
    only the primary chromosomes (its ``chrsz`` list) in every peak file.
    """
    df = as_peaks(peaks).reset_index(drop=True)
    keep = (
        np.ones(len(df), dtype=bool) if keep_chroms is None else df["chrom"].isin(list(keep_chroms)).to_numpy(copy=True)
    )
    if blacklist is not None and len(blacklist):
        hit, _, _ = overlap_pairs(df, blacklist.reset_index(drop=True))
        keep[hit] = False
    dropped = int((~keep).sum())
    if dropped:
        log.info("peak filter: %d of %d peaks dropped (blacklist / non-primary chromosomes)", dropped, len(df))
    return df[keep].reset_index(drop=True)


def on_genome(regions: pd.DataFrame, genome_sizes: Mapping[str, int]) -> np.ndarray:
    """Bool ``(n,)``: regions on a chromosome of the genome and ending at or before its end."""
    size = regions["chrom"].map(dict(genome_sizes))
    return (size.notna() & (regions["end"] <= size.fillna(0))).to_numpy()


@dataclass(frozen=True)
class PeaksParams(StageParams):
    """The config's ``peaks`` section: MACS3 calls (:func:`cisflow.macs3.call_peaks`: ``pvalue``, ``max_peaks``,
    ``call_summits``, ``genome_size``) and the reproducible sets made of them (:func:`write_peak_sets`)."""

    SECTION: ClassVar[str] = "peaks"
    pvalue: float = 0.01
    max_peaks: int = 300_000
    reproducibility: str = "idr"
    idr_threshold: float = 0.05
    idr_rank: str = "pvalue"
    relaxed: str = "dream"
    call_summits: bool = False
    reference: str | None = None
    genome_size: int | str | None = None


def write_peak_sets(
    calls: Mapping[str, str | Path],
    n_replicates: int,
    genome_sizes: Mapping[str, int],
    outputs: Mapping[str, str | Path],
    *,
    method: str = "idr",
    threshold: float = 0.05,
    rank: str = "pvalue",
    relaxed: str = "dream",
    max_peaks: int = 300_000,
    blacklist: str | Path | None = None,
    keep_chroms: Sequence[str] | None = None,
    reference: str | Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Read a group's MACS3 calls, form ENCODE's peak sets and write them with a JSON summary.

    Parameters
    ----------
    calls
        narrowPeak paths by name: ``rep<i>``, ``rep<i>.pr1``, ``rep<i>.pr2`` (i = 1 … n), ``pooled``,
        and with ≥ 2 replicates ``pooled.pr1``, ``pooled.pr2``.
    n_replicates
        Number of replicates.
    genome_sizes
        ``{chrom: length}``: calls are checked against it.
    outputs
        Paths for ``conservative``, ``optimal``, ``relaxed`` (narrowPeak), ``summary`` (JSON) and
        optionally ``idr`` (a folder: one TSV per IDR comparison, every matched peak).
    blacklist, keep_chroms
        Applied to every call before IDR (:func:`filter_peaks`).
    reference
        Reference regions (narrowPeak/BED) to compare the sets with; those off the genome (unknown
        chromosome, or past a chromosome's end) are left out and counted.
    Other parameters go to :func:`encode_peak_sets`.
    """
    from cisflow.io import write_json
    from cisflow.labels import read_bed3
    from cisflow.narrowpeak import read_narrowpeak, write_narrowpeak
    from cisflow.peaks import reference_overlap

    bl = read_bed3(blacklist) if blacklist is not None else None
    peaks = {k: filter_peaks(read_narrowpeak(p, genome_sizes), bl, keep_chroms) for k, p in calls.items()}
    reps = [peaks[f"rep{i}"] for i in range(1, n_replicates + 1)]
    selfs = [(peaks[f"rep{i}.pr1"], peaks[f"rep{i}.pr2"]) for i in range(1, n_replicates + 1)]
    pooled_pr = (peaks["pooled.pr1"], peaks["pooled.pr2"]) if n_replicates > 1 else None
    sets = encode_peak_sets(reps, selfs, peaks["pooled"], pooled_pr, method=method, threshold=threshold, rank=rank,
                            relaxed=relaxed, max_peaks=max_peaks, seed=seed)  # fmt: skip
    summary: dict[str, Any] = {"method": method, "threshold": threshold, "calls": {k: len(v) for k, v in peaks.items()}}
    summary |= {"conservative": len(sets.conservative), "optimal": len(sets.optimal), "relaxed": len(sets.relaxed)}
    summary["reproducibility"] = {k: _json_number(v) for k, v in sets.reproducibility.items()}
    if reference is not None:
        ref = read_narrowpeak(reference)
        inside = on_genome(ref, genome_sizes)
        summary["reference"] = {"path": str(reference), "off_genome": int((~inside).sum())}
        for name in ("conservative", "optimal", "relaxed"):
            summary["reference"][name] = reference_overlap(getattr(sets, name), ref[inside])
    for name in ("conservative", "optimal", "relaxed"):
        write_narrowpeak(getattr(sets, name), outputs[name])
    if "idr" in outputs:
        _write_idr_tables(sets.idr_tables, Path(outputs["idr"]))
    write_json(outputs["summary"], summary)
    return summary


def _json_number(value: Any) -> Any:
    """NaN → None and ±inf → "inf" / "-inf" (strict JSON); anything else unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _write_idr_tables(tables: Mapping[str, pd.DataFrame], folder: Path) -> None:
    from cisflow.idr import write_idr_table

    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_idr_table(table, folder / f"{name}.tsv")
