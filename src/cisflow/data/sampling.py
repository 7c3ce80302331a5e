"""Genome datasets for training and evaluation: windows centred on labelled bins, per split.

Each split becomes the dataset npz of the project contract: ``codes`` uint8 ``(N, L)`` (genome codes of
the window of ``L = input_length`` bp centred on the bin; off a chromosome end it is N-padded),
``labels`` int8 ``(N, T)``, ``tasks`` ``(T,)``,
``chrom`` ``(N,)``, ``start`` int64 ``(N,)`` (window start, may be negative near a chromosome start),
``bin_start`` int64 ``(N,)``, ``seed``, and the geometry ``bin_size``, ``stride`` (the labels') and
``input_length`` (:data:`cisflow.artifacts.DATASET`, read with :func:`cisflow.artifacts.read_dataset`). The
rows' ids (``chrom:start-end`` of the bin) are not stored: :func:`cisflow.artifacts.row_ids` makes them from
``chrom`` and ``bin_start`` when a stage needs them.
Rows are in genome order (chromosome order of the labels,
then position). With signal bigWigs (FactorNet-style extra input channels) a dataset also holds
``signal`` float16 ``(N, S, L)`` (``log1p`` of the per-base values, 0 off the chromosome and where the
bigWig has no data) and ``signal_names`` ``(S,)`` (the bigWig file names).

Which bins: **positives** are kept bins bound in at least one task (ambiguous tasks keep -1);
**negatives** are kept bins unbound in every task. Train takes every positive plus
``negative_ratio`` × as many negatives drawn at random (optionally matched to the positives' window GC
by histogram matching); valid and test do the same with ``eval_negative_ratio``, or take every kept
bin of their chromosomes when it is None (genome-wide evaluation as in ENCODE-DREAM); ``valid_negative_ratio``
sets the validation set's apart (e.g. a sampled validation set beside a genome-wide test set).

"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from cisflow.cellsignal import SignalSpec, channel_names, per_cell_type
from cisflow.data.windows import _FETCH_CHUNK, _fetch, _window_starts, add_signal
from cisflow.errors import CisflowError
from cisflow.genome import Genome, gc_fraction
from cisflow.labels import Labels, check_input_length
from cisflow.splits import SPLIT_CODES, SPLITS, bin_splits, split_tasks

log = logging.getLogger(__name__)


class _Bins:
    """Candidate bins of one split: chromosome index and bin index per bin, positive/negative flags."""

    def __init__(
        self, labels: Labels, chroms: Sequence[str], cols: Sequence[int], mask: Mapping[str, np.ndarray] | None = None
    ) -> None:
        self.chroms = list(chroms)
        ci, bi, pos, neg = [], [], [], []
        for k, chrom in enumerate(self.chroms):
            idx = np.flatnonzero(labels.keep[chrom] if mask is None else labels.keep[chrom] & mask[chrom])
            mat = labels.labels[chrom][idx][:, cols]
            ci.append(np.full(idx.size, k, np.int32))
            bi.append(idx.astype(np.int64))
            pos.append((mat == 1).any(axis=1))
            neg.append((mat == 0).all(axis=1))
        self.chrom_idx = np.concatenate(ci) if ci else np.zeros(0, np.int32)
        self.bin_idx = np.concatenate(bi) if bi else np.zeros(0, np.int64)
        self.pos = np.concatenate(pos) if pos else np.zeros(0, bool)
        self.neg = np.concatenate(neg) if neg else np.zeros(0, bool)


def _window_gc(genome: Genome, labels: Labels, bins: _Bins, rows: np.ndarray, input_length: int) -> np.ndarray:
    """GC fraction of the windows of ``rows`` ``(n,)`` (NaN for all-N windows), fetched in chunks."""
    out = np.empty(rows.size, np.float64)
    for lo in range(0, rows.size, _FETCH_CHUNK):
        r = rows[lo : lo + _FETCH_CHUNK]
        starts = _window_starts(labels, bins.bin_idx[r], input_length)
        out[lo : lo + r.size] = gc_fraction(_fetch(genome, bins.chroms, bins.chrom_idx[r], starts, input_length))
    return out


def _quotas(weights: np.ndarray, n: int) -> np.ndarray:
    """Split ``n`` into integer quotas proportional to ``weights`` (largest remainders)."""
    share = weights / weights.sum() * n
    quota = np.floor(share).astype(np.int64)
    rest = n - quota.sum()
    quota[np.argsort(-(share - quota), kind="stable")[:rest]] += 1
    return quota


def gc_matched_sample(
    pool_gc: np.ndarray, target_gc: np.ndarray, n: int, rng: np.random.Generator, n_bins: int = 20
) -> np.ndarray:
    """Choose ``n`` pool items whose GC histogram matches ``target_gc``'s (histogram matching).

    Parameters
    ----------
    pool_gc
        GC fractions of the candidates ``(m,)`` (NaN = unknown, used only to fill a shortfall).
    target_gc
        GC fractions of the positives ``(k,)``.
    n
        How many to choose (``n <= m``).
    rng
        Random generator.
    n_bins
        Number of equal-width GC bins on [0, 1].

    Returns
    -------
    numpy.ndarray
        Indices into ``pool_gc`` ``(n,)``, without repeats. GC bins with too few candidates are
        filled by the remaining candidates nearest in GC.
    """
    edges = np.linspace(0, 1, n_bins + 1)
    target = target_gc[~np.isnan(target_gc)]
    hist = np.histogram(target, bins=edges)[0].astype(float) if target.size else np.ones(n_bins)
    quota = _quotas(hist, n)
    pool_bin = np.clip(np.digitize(pool_gc, edges[1:-1]), 0, n_bins - 1)
    order = rng.permutation(pool_gc.size)
    chosen = []
    for k in range(n_bins):
        members = order[(pool_bin[order] == k) & ~np.isnan(pool_gc[order])]
        chosen.append(members[: quota[k]])
    picked = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    short = n - picked.size
    if short > 0:
        rest = np.setdiff1d(order, picked, assume_unique=True)
        centre = np.nanmedian(target) if target.size else 0.5
        dist = np.abs(np.nan_to_num(pool_gc[rest], nan=2.0) - centre)
        picked = np.concatenate([picked, rest[np.argsort(dist, kind="stable")[:short]]])
        log.info("GC matching: %d of %d negatives taken outside their GC bin (too few candidates)", short, n)
    return picked


def _sample_negatives(
    genome: Genome, labels: Labels, bins: _Bins, n: int, pos_gc: np.ndarray | None, rng, input_length: int
) -> np.ndarray:
    """Rows of ``bins`` chosen as negatives: ``n`` at random, or GC-matched when ``pos_gc`` is given."""
    neg_rows = np.flatnonzero(bins.neg)
    if n > neg_rows.size:
        log.warning("only %d negatives available, %d requested; taking all", neg_rows.size, n)
        n = neg_rows.size
    if pos_gc is None or n == neg_rows.size:
        return np.sort(rng.choice(neg_rows, size=n, replace=False))
    pool_size = min(neg_rows.size, max(10 * n, 10_000))
    pool = np.sort(rng.choice(neg_rows, size=pool_size, replace=False))
    pool_gc = _window_gc(genome, labels, bins, pool, input_length)
    return np.sort(pool[gc_matched_sample(pool_gc, pos_gc, n, rng)])


def _assemble(
    genome: Genome, labels: Labels, bins: _Bins, rows: np.ndarray, cols, input_length: int, seed: int, codes: bool
):
    """The dataset dict of the contract for the chosen rows (genome order); ``codes=False``: coordinates only."""
    rows = rows[np.lexsort((bins.bin_idx[rows], bins.chrom_idx[rows]))]
    chrom_names = np.asarray(bins.chroms, dtype=str)
    chrom = chrom_names[bins.chrom_idx[rows]] if rows.size else np.zeros(0, dtype="<U1")
    bin_idx = bins.bin_idx[rows]
    bin_start = bin_idx * labels.stride
    start = _window_starts(labels, bin_idx, input_length)
    mat = np.zeros((rows.size, len(cols)), dtype=np.int8)
    cidx = bins.chrom_idx[rows]
    for k in np.unique(cidx):
        sel = cidx == k
        mat[sel] = labels.labels[bins.chroms[k]][bin_idx[sel]][:, cols]
    out = {"codes": _fetch(genome, bins.chroms, bins.chrom_idx[rows], start, input_length)} if codes else {}
    return out | {
        "labels": mat,
        "tasks": np.asarray([labels.tasks[j] for j in cols], dtype=str),
        "chrom": chrom.astype(str),
        "start": start.astype(np.int64),
        "bin_start": bin_start.astype(np.int64),
        "seed": np.array(seed, dtype=np.int64),
        "bin_size": np.array(labels.bin_size, dtype=np.int64),
        "stride": np.array(labels.stride, dtype=np.int64),
        "input_length": np.array(input_length, dtype=np.int64),
    }


def build_datasets(
    labels: Labels,
    genome: Genome,
    splits: Mapping[str, str],
    input_length: int = 1000,
    negative_ratio: float = 1.0,
    gc_match: bool = False,
    eval_negative_ratio: float | None = None,
    valid_negative_ratio: float | None = None,
    seed: int = 0,
    heldout_cell_types: Sequence[str] = (),
    signal_bigwigs: SignalSpec = (),
    valid_regions: Sequence[str] = (),
    test_regions: Sequence[str] = (),
    with_codes: bool = True,
) -> dict[str, dict[str, np.ndarray]]:
    """Build the train / valid / test datasets from labels and the genome.

    Parameters
    ----------
    labels
        Binned labels (:mod:`cisflow.labels`).
    genome
        The genome the labels were made on (same chromosome names).
    splits
        ``{chrom: "train" | "valid" | "test"}`` (:func:`cisflow.splits.make_splits`); chromosomes
        missing from it are left out.
    input_length
        Window length (bp) centred on each bin.
    negative_ratio
        Training negatives per positive (all-unbound kept bins, drawn without replacement).
    gc_match
        Draw sampled negatives so their window GC histogram matches the positives' (20 bins).
    eval_negative_ratio
        Negatives per positive for valid/test; None takes every kept bin of those chromosomes.
    valid_negative_ratio
        Negatives per positive for valid only; None uses ``eval_negative_ratio``.
    seed
        Seed of the sampling (the same seed gives the same datasets).
    heldout_cell_types
        Cell types (tasks ``TASK.CELLTYPE``) whose columns appear only in test.
    signal_bigwigs
        bigWigs whose ``log1p`` per-base values become ``signal`` channels (:func:`add_signal`); or
        ``{cell_type: [bigWig, ...]}`` (:mod:`cisflow.cellsignal`, coordinate datasets only: their
        ``signal_names`` are the channels' roles and each task's windows get its cell type's tracks when used).
    valid_regions, test_regions
        ``chrom:start-end`` regions held out inside their chromosomes; bins within one input window
        of a region boundary are left out of every split (:func:`cisflow.splits.bin_splits`).
    with_codes
        Store each window's codes (and signal); False writes coordinate datasets (no ``codes``, only
        ``signal_names``), whose windows are made from the genome when used (:func:`dataset_windows`),
        so a genome-wide split costs a few bytes per bin.

    Returns
    -------
    dict
        ``{split: dataset}`` with the arrays described in the module docstring.
    """
    valid_ratio = eval_negative_ratio if valid_negative_ratio is None else valid_negative_ratio
    ratios = {"train": negative_ratio, "valid": valid_ratio, "test": eval_negative_ratio}
    _check_build_args(labels, genome, splits, input_length, negative_ratio, eval_negative_ratio, valid_negative_ratio)
    if per_cell_type(signal_bigwigs) and with_codes:
        raise CisflowError("signal bigWigs per cell type need coordinate datasets (with_codes=False): a stored "
                           "window holds one cell type's signal")  # fmt: skip
    cols = split_tasks(labels.tasks, heldout_cell_types)
    rng = np.random.default_rng(seed)
    out = {}
    codes = bin_splits(labels.chrom_sizes, labels.bin_size, labels.stride, splits, valid_regions, test_regions,
                       flank=input_length)  # fmt: skip
    for split in SPLITS:
        mask = {c: codes[c] == SPLIT_CODES[split] for c in labels.chroms}
        chroms = [c for c in labels.chroms if mask[c].any()]
        bins = _Bins(labels, chroms, cols[split], mask)
        rows = _split_rows(genome, labels, bins, ratios[split], gc_match, rng, input_length)
        out[split] = _assemble(genome, labels, bins, rows, cols[split], input_length, seed, with_codes)
        if signal_bigwigs and with_codes:
            out[split] = add_signal(out[split], genome, signal_bigwigs)
        elif signal_bigwigs:
            out[split]["signal_names"] = np.asarray(channel_names(signal_bigwigs), dtype=str)
        n_pos = int((out[split]["labels"] == 1).any(axis=1).sum())
        log.info("%s: %d windows (%d positive) on %d chromosomes", split, rows.size, n_pos, len(chroms))
        _check_bound(out[split], split, chroms, labels)
    return out


def _check_build_args(
    labels: Labels,
    genome: Genome,
    splits: Mapping[str, str],
    input_length: int,
    negative_ratio: float,
    eval_negative_ratio: float | None,
    valid_negative_ratio: float | None,
) -> None:
    """CisflowError for a window shorter than a bin, a negative ratio, labels of another genome or an unknown
    split name."""
    if input_length < 1:
        raise CisflowError(f"input_length must be positive, got {input_length}")
    check_input_length(input_length, labels.bin_size)
    ratios = {"negative_ratio": negative_ratio, "eval_negative_ratio": eval_negative_ratio}
    for name, ratio in (ratios | {"valid_negative_ratio": valid_negative_ratio}).items():
        if ratio is not None and ratio < 0:
            raise CisflowError(f"{name} must be >= 0, got {ratio}")
    genome.check_chroms(labels.chroms, "labels")
    bad = sorted({v for v in splits.values() if v not in SPLITS})
    if bad:
        raise CisflowError(f"unknown split names {', '.join(bad)}; expected {', '.join(SPLITS)}")


def _split_rows(
    genome: Genome,
    labels: Labels,
    bins: _Bins,
    ratio: float | None,
    gc_match: bool,
    rng: np.random.Generator,
    input_length: int,
) -> np.ndarray:
    """Rows of ``bins`` in a split: every one (``ratio`` None), or every positive and ``ratio`` × as many
    negatives drawn with ``rng`` (GC-matched to the positives' windows when ``gc_match``)."""
    if ratio is None:
        return np.flatnonzero(np.ones(bins.bin_idx.size, bool))
    pos_rows = np.flatnonzero(bins.pos)
    pos_gc = _window_gc(genome, labels, bins, pos_rows, input_length) if gc_match else None
    n_neg = round(ratio * pos_rows.size)
    neg_rows = _sample_negatives(genome, labels, bins, n_neg, pos_gc, rng, input_length)
    return np.concatenate([pos_rows, neg_rows])


def _check_bound(dataset: Mapping[str, np.ndarray], split: str, chroms: Sequence[str], labels: Labels) -> None:
    """Stop on a task without a bound bin where that leaves NaN metrics (an empty split is only logged).

    A task bound nowhere in the labels (empty reproducible peaks, e.g. a replicate as its own control) and a
    task without a bound bin in the test split (auROC and auPRC undefined) are errors; a task without one in
    the train or valid split is a warning (it cannot be learned there, or not selected on).
    """
    if len(dataset["labels"]) == 0:
        log.warning("the %s split is empty", split)
        return
    for j in np.flatnonzero(~(dataset["labels"] == 1).any(axis=0)):
        task = str(dataset["tasks"][j])
        k = labels.tasks.index(task)
        total = sum(int((labels.labels[c][labels.keep[c], k] == 1).sum()) for c in labels.chroms)
        where = f"task {task} has no bound bin in the {split} split ({', '.join(chroms)})"
        if total == 0:
            raise CisflowError(f"{where} nor anywhere in the labels: its reproducible peaks are empty or fall in "
                               "excluded bins (a replicate as its own control?)")  # fmt: skip
        if split == "test":
            raise CisflowError(f"{where}, so its auROC and auPRC are undefined; hold out chromosomes where it "
                               f"has some (it has {total} bound bins genome-wide)")  # fmt: skip
        log.warning("%s (it has %d bound bins genome-wide): it cannot be %s there", where, total,
                    "learned" if split == "train" else "selected on")  # fmt: skip
