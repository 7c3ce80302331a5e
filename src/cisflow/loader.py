"""Streaming genome batches for training: fresh negatives every epoch, one-hot made per batch.

:class:`GenomeBatches` replaces the materialised training npz (:mod:`cisflow.data`) on large genomes.
Each epoch it takes every positive bin (bound in at least one task; ambiguous entries stay -1 and are
masked in the loss) plus ``negative_ratio`` × as many negatives (kept bins unbound in every task) drawn
afresh, shuffles them and yields ``(x, y)`` batches. Everything random in an epoch (negatives, order,
jitter, reverse-complement flips) is drawn from ``np.random.default_rng([seed, epoch])``, so an epoch is
reproducible on its own and training can resume at any epoch without saved sampler state.

Windows are centred on their bin as in :mod:`cisflow.data`: ``start = bin * stride + bin_size // 2 -
input_length // 2`` (plus the jitter shift). The sequence is read from the genome's flat code array (a
memory-mapped code cache is used in place, shared with other jobs through the page cache; an in-memory
genome is copied once into one array); a batch is one fancy-index gather of a strided window view,
positions off a chromosome end read as N, with no per-sequence loop.

Optional signal channels (FactorNet style): per-base values of each bigWig, ``log1p``-transformed, are
appended after the four DNA channels, ``x`` ``(B, 4 + S, L)``; a model then needs ``in_channels = 4 + S``.
Each track is read once into a memory-mapped temporary file (float16, 2 bytes per bp per track on disk;
missing values are 0; :class:`cisflow.bigwig.SignalWindows`) whose pages are released as windows are
read, so the resident memory does not grow with the genome; the values are those :mod:`cisflow.data`
stores in the validation and test datasets.

Optional shuffled negatives (``shuffled_negatives``): dinucleotide-shuffled copies of the positive windows
(Altschul & Erickson, :func:`cisflow.simulate.dinucleotide_shuffles`) join each epoch's negatives, labelled
unbound in every task. They keep the positives' base and dinucleotide composition (GC, CpG) but lose their
longer words, so composition alone no longer separates bound from unbound and the model must learn the
motifs (the standard negatives of motif-discovery models such as DeepBind and gkm-SVM).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cisflow.artifacts import DATASET, read, task_columns
from cisflow.bigwig import SignalWindows, signal_track_names
from cisflow.cellsignal import SignalSpec, channel_names, per_cell_type, training_tracks
from cisflow.data.sampling import gc_matched_sample
from cisflow.errors import CisflowError
from cisflow.genome import Genome, gc_fraction, reverse_complement_codes
from cisflow.labels import Labels, check_input_length
from cisflow.simulate import dinucleotide_shuffles
from cisflow.splits import read_splits, train_bins

log = logging.getLogger(__name__)
#: Windows of the training data scored after each epoch for the log's "Train" line (a random sample of the
#: epoch's genomic windows; early stopping reads the validation set, so this is a report, not a decision).
#: Each is one forward pass per epoch: the demo scores 2,000 instead of all 18,296 of its epoch (its train auPRC
#: then has a standard error of about 0.01; 5,000 cost the demo's two models ~20 s more).
TRAIN_SCORE_WINDOWS = 2_000


class _Candidates:
    """Training candidates of the loader's chromosomes in genome order: bin index and labels per row.

    Rows are grouped by chromosome (rows ``bounds[k] .. bounds[k + 1] - 1`` are chromosome ``k``'s).
    ``pos`` ``(P,)`` int64 lists the positive rows (bound in a task); every other row is a negative
    (unbound in every task) and is found by :meth:`negatives` without an index of them, so a row costs
    4 bytes (int32 bin) plus one int8 label per task.
    """

    def __init__(
        self, labels: Labels, chroms: Sequence[str], cols: Sequence[int], mask: Mapping[str, np.ndarray] | None = None
    ) -> None:
        bi, lab, counts = [], [], [0]
        for chrom in chroms:
            idx = np.flatnonzero(labels.keep[chrom] if mask is None else labels.keep[chrom] & mask[chrom])
            mat = labels.labels[chrom][idx][:, cols]
            use = (mat == 1).any(axis=1) | (mat == 0).all(axis=1)
            bi.append(idx[use].astype(np.int32))
            lab.append(mat[use])
            counts.append(bi[-1].size)
        self.bounds = np.cumsum(counts, dtype=np.int64)
        self.bin_idx = np.concatenate(bi) if bi else np.zeros(0, np.int32)
        self.labels = np.concatenate(lab) if lab else np.zeros((0, len(cols)), np.int8)
        self.pos = np.flatnonzero((self.labels == 1).any(axis=1))
        self.n_neg = self.labels.shape[0] - self.pos.size
        self._neg_before = self.pos - np.arange(self.pos.size)  # negatives before each positive

    def chrom_idx(self, rows: np.ndarray) -> np.ndarray:
        """Chromosome index ``(n,)`` int64 (into the loader's chromosomes) of candidate ``rows`` ``(n,)``."""
        return np.searchsorted(self.bounds, rows, side="right") - 1

    def negatives(self, k: np.ndarray) -> np.ndarray:
        """Rows ``(n,)`` int64 of the ``k``-th negatives ``(n,)`` (0-based, in row order).

        The ``k``-th negative follows ``k`` negatives and every positive with at most ``k`` negatives
        before it.
        """
        k = np.asarray(k, dtype=np.int64)
        return k + np.searchsorted(self._neg_before, k, side="right")


def prefetched(make: Callable[..., Any], args: Sequence[tuple], prefetch: int) -> Iterator[Any]:
    """``make(*a)`` for each ``a`` in ``args``, in order; with ``prefetch > 0`` built that many ahead in a thread.

    numpy releases the GIL in gathers and comparisons, so building the next batches overlaps with the
    caller's (GPU or CPU) work; the results are the same either way.
    """
    if prefetch <= 0:
        for a in args:
            yield make(*a)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cisflow-loader") as pool:
        pending = deque(pool.submit(make, *a) for a in args[:prefetch])
        try:
            for i in range(len(args)):
                item = pending.popleft().result()
                if i + prefetch < len(args):
                    pending.append(pool.submit(make, *args[i + prefetch]))
                yield item
        finally:
            for future in pending:
                future.cancel()


def one_hot_batch(codes: np.ndarray, signals: Sequence[np.ndarray] = ()) -> np.ndarray:
    """float32 ``(B, 4 + S, L)``: one-hot of codes ``(B, L)`` (N = zeros) followed by ``S`` signal rows ``(B, L)``."""
    x = np.empty((codes.shape[0], 4 + len(signals), codes.shape[1]), np.float32)
    for k in range(4):
        x[:, k, :] = codes == k
    for s, vals in enumerate(signals):
        x[:, 4 + s, :] = vals
    return x


class BinWindows:
    """The windows centred on given bins, as one-hot batches in order (evaluation and prediction).

    The same windows the training loader makes for these bins without jitter or flips, built a batch at a
    time from the genome's flat codes (a memory-mapped cache is read in place), so no split is ever held
    as an array of sequences. Iterating yields ``x`` float32 tensors ``(B, 4 + S, L)``; with ``prefetch``
    a background thread builds the next batches while the model runs.

    Parameters
    ----------
    genome
        The genome of the labels.
    chrom, bin_start
        The bins ``(N,)``: chromosome names and bin starts (bp).
    input_length, bin_size
        Window length L and bin width (bp); window start = ``bin_start + bin_size // 2 - L // 2``.
    batch_size
        Windows per batch.
    signal_bigwigs
        bigWigs whose ``log1p`` values follow the DNA channels (read once into a memory-mapped temporary file).
    prefetch
        Batches built ahead in a background thread (0: none).
    """

    def __init__(
        self,
        genome: Genome,
        chrom: np.ndarray,
        bin_start: np.ndarray,
        input_length: int,
        bin_size: int,
        batch_size: int = 256,
        signal_bigwigs: Sequence[str | Path] = (),
        prefetch: int = 2,
    ) -> None:
        chrom = np.asarray(chrom).astype(str)
        self.chroms, inv = np.unique(chrom, return_inverse=True)
        genome.check_chroms(self.chroms, "windows")
        self._genome, self.input_length, self.batch_size = genome.flat(), int(input_length), int(batch_size)
        self._chrom_idx = inv.astype(np.int32)
        self._starts = np.asarray(bin_start, dtype=np.int64) + bin_size // 2 - self.input_length // 2
        self._off, self._size = self._genome.chroms.locate(self.chroms)
        self.prefetch = max(int(prefetch), 0)
        sizes, length = [genome.sizes[c] for c in self.chroms], self.input_length
        self._signals = [SignalWindows(path, list(self.chroms), sizes, length, length) for path in signal_bigwigs]

    def __len__(self) -> int:
        """Batches."""
        return -(-self._starts.size // self.batch_size)

    @property
    def n_windows(self) -> int:
        """Windows (bins)."""
        return int(self._starts.size)

    def codes(self, lo: int, hi: int) -> np.ndarray:
        """Codes ``(hi - lo, L)`` uint8 of windows ``lo .. hi - 1``."""
        ci = self._chrom_idx[lo:hi]
        return self._genome.chroms.windows(self._off[ci], self._size[ci], self._starts[lo:hi], self.input_length)

    def batch(self, lo: int, hi: int) -> torch.Tensor:
        """``x`` float32 ``(hi - lo, 4 + S, L)`` of windows ``lo .. hi - 1``."""
        signals = [w.gather(self._chrom_idx[lo:hi], self._starts[lo:hi]) for w in self._signals]
        return torch.from_numpy(one_hot_batch(self.codes(lo, hi), signals))

    def __iter__(self) -> Iterator[torch.Tensor]:
        """Yield ``x`` batches in window order."""
        bounds = [(lo, min(lo + self.batch_size, self.n_windows)) for lo in range(0, self.n_windows, self.batch_size)]
        yield from prefetched(self.batch, bounds, self.prefetch)


class GenomeBatches:
    """An epoch of training batches drawn from the genome (see the module docstring).

    Parameters
    ----------
    genome
        The genome the labels were made on (a code cache is read in place, see the module docstring).
    labels
        Binned labels (:class:`cisflow.labels.Labels`).
    chroms
        Chromosomes to draw bins from (e.g. the training split's).
    input_length
        Window length L (bp), centred on the bin.
    batch_size
        Sequences per batch (the last batch of an epoch may be shorter).
    negative_ratio
        Negatives drawn afresh each epoch per positive draw (capped by the number of negatives).
    jitter
        Each window is shifted by a uniform integer in ``[-jitter, jitter]`` bp.
    reverse_complement
        Reverse-complement each sequence (and reverse its signal) with probability 1/2.
    seed
        Seed; epoch ``e`` draws from ``np.random.default_rng([seed, e])``.
    tasks_idx
        Label columns to use (default: all).
    signal_bigwigs
        bigWig paths whose ``log1p`` values become extra channels ``4 .. 4 + S - 1``.
    signal_names
        The channels' names (default: the bigWig file names; per-cell-type tracks are named by their role,
        :func:`cisflow.cellsignal.channel_names`).
    prefetch
        Batches built ahead in a background thread while the caller trains (0: none).
    bin_mask
        ``{chrom: bool (n_bins,)}``: only these bins of ``chroms`` are drawn (e.g. the training bins
        of chromosomes with held-out regions, :func:`cisflow.splits.bin_splits`); default all.
    positive_repeats
        Each positive is drawn this many times per epoch (each with its own jitter and strand; small
        datasets), and ``negative_ratio`` × as many negatives.
    gc_match
        Draw each epoch's negatives GC-matched to the positives (:func:`cisflow.data.gc_matched_sample` on
        the GC fraction of the unjittered windows) from a pool fixed by ``seed``: 10 × the negatives per
        epoch, at least 10,000 (all negatives when fewer). Without it, negatives are drawn uniformly.
    shuffled_negatives
        Dinucleotide-shuffled copies of positive windows (each with its own jitter, strand and shuffle)
        added to each epoch's negatives, per positive draw: ``round(shuffled_negatives × positives ×
        positive_repeats)`` of them, labelled 0 in every task (see the module docstring). DNA only: not
        with signal channels.
    """

    def __init__(
        self,
        genome: Genome,
        labels: Labels,
        chroms: Sequence[str],
        input_length: int = 1000,
        batch_size: int = 128,
        negative_ratio: float = 1.0,
        jitter: int = 0,
        reverse_complement: bool = True,
        seed: int = 0,
        tasks_idx: Sequence[int] | None = None,
        signal_bigwigs: Sequence[str | Path] = (),
        prefetch: int = 0,
        bin_mask: Mapping[str, np.ndarray] | None = None,
        positive_repeats: int = 1,
        gc_match: bool = False,
        signal_names: Sequence[str] | None = None,
        shuffled_negatives: float = 0.0,
    ) -> None:
        _check_params(labels, chroms, input_length, batch_size, negative_ratio, jitter, tasks_idx)
        self.shuffled_negatives = _check_shuffled(shuffled_negatives, signal_bigwigs)
        if isinstance(positive_repeats, bool) or not isinstance(positive_repeats, int) or positive_repeats < 1:
            raise CisflowError(f"positive_repeats must be a positive integer; got {positive_repeats!r}")
        self.positive_repeats = positive_repeats
        genome.check_chroms(chroms, "loader chromosomes")
        self.chroms, self.input_length, self.batch_size = list(chroms), int(input_length), int(batch_size)
        self.negative_ratio, self.jitter, self.reverse_complement = (
            float(negative_ratio),
            int(jitter),
            bool(reverse_complement),
        )
        self.seed, self.epoch, self.stride, self.bin_size = int(seed), 0, labels.stride, labels.bin_size
        self.tasks_idx = list(range(len(labels.tasks))) if tasks_idx is None else [int(j) for j in tasks_idx]
        self.tasks = [labels.tasks[j] for j in self.tasks_idx]
        self.signal_bigwigs = [str(p) for p in signal_bigwigs]
        self._signal_names = None if signal_names is None else list(signal_names)
        if self._signal_names is not None and len(self._signal_names) != len(self.signal_bigwigs):
            raise CisflowError(f"{len(self._signal_names)} signal names for {len(self.signal_bigwigs)} bigWigs")
        self.prefetch = max(int(prefetch), 0)
        self.pad = (self.input_length + 1) // 2 + self.jitter
        self._cand = _Candidates(labels, self.chroms, self.tasks_idx, bin_mask)
        self._genome = genome.flat()  # a code cache stays memory-mapped; an in-memory genome is copied once
        self._chrom_off, self._chrom_size = self._genome.chroms.locate(self.chroms)
        sizes = [genome.sizes[c] for c in self.chroms]
        self._signals = [SignalWindows(p, self.chroms, sizes, self.input_length, self.pad) for p in self.signal_bigwigs]
        self._gc = self._gc_pool() if gc_match else None
        log.info(
            "genome loader: %d positives, %d negatives on %d chromosomes; %d per epoch%s%s",
            self.n_positives,
            self._cand.n_neg,
            len(self.chroms),
            self.n_samples,
            " (negatives GC-matched)" if gc_match else "",
            f" ({self.n_shuffled} of them dinucleotide-shuffled positives)" if self.n_shuffled else "",
        )

    def _starts(self, rows: np.ndarray, shift: np.ndarray | int = 0) -> np.ndarray:
        """Window starts ``(B,)`` int64 of candidate ``rows`` (bin centre - L/2, plus the jitter ``shift``)."""
        bins = self._cand.bin_idx[rows].astype(np.int64)
        return bins * self.stride + self.bin_size // 2 - self.input_length // 2 + shift

    def _codes(self, rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Codes ``(B, L)`` of the windows at ``starts`` on the candidates' chromosomes (N off the ends)."""
        ci = self._cand.chrom_idx(rows)
        return self._genome.chroms.windows(self._chrom_off[ci], self._chrom_size[ci], starts, self.input_length)

    def _window_gc(self, rows: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """GC fraction ``(n,)`` of the unjittered windows of candidate ``rows`` (NaN where all N)."""
        out = np.empty(rows.size, np.float64)
        for lo in range(0, rows.size, chunk):
            r = rows[lo : lo + chunk]
            out[lo : lo + r.size] = gc_fraction(self._codes(r, self._starts(r)))
        return out

    def _gc_pool(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The positives' window GC ``(P,)``, a pool of negative rows fixed by the seed ``(M,)`` and their GC."""
        size = min(self._cand.n_neg, max(10 * self.n_negatives, 10_000))
        drawn = np.random.default_rng([self.seed, 0, 2]).choice(self._cand.n_neg, size=size, replace=False)
        pool = np.sort(self._cand.negatives(drawn))
        return self._window_gc(self._cand.pos), pool, self._window_gc(pool)

    def _negatives(self, rng: np.random.Generator) -> np.ndarray:
        """This epoch's negative rows ``(n_negatives,)``: uniform, or GC-matched from the pool (``gc_match``)."""
        if self._gc is None:
            return self._cand.negatives(rng.choice(self._cand.n_neg, size=self.n_negatives, replace=False))
        pos_gc, pool, pool_gc = self._gc
        return pool[gc_matched_sample(pool_gc, pos_gc, self.n_negatives, rng)]

    @property
    def genome(self) -> Genome:
        """The genome the windows are read from (its flat code array)."""
        return self._genome

    # ------------------------------------------------------------------ sizes
    @property
    def signal_names(self) -> list[str]:
        """Names of the signal channels (the bigWig file names, or the given names), in channel order."""
        return signal_track_names(self.signal_bigwigs) if self._signal_names is None else self._signal_names

    @property
    def in_channels(self) -> int:
        """Channels of ``x``: 4 + number of signal tracks."""
        return 4 + len(self._signals)

    @property
    def n_positives(self) -> int:
        """Positive bins (every epoch uses all of them)."""
        return int(self._cand.pos.size)

    @property
    def n_negatives(self) -> int:
        """Negatives drawn per epoch."""
        return min(round(self.negative_ratio * self.n_positives * self.positive_repeats), self._cand.n_neg)

    @property
    def n_shuffled(self) -> int:
        """Dinucleotide-shuffled positive windows per epoch (negatives beside :attr:`n_negatives`)."""
        if not self.n_positives:
            return 0
        return round(self.shuffled_negatives * self.n_positives * self.positive_repeats)

    @property
    def n_samples(self) -> int:
        """Sequences per epoch."""
        return self.n_positives * self.positive_repeats + self.n_negatives + self.n_shuffled

    def __len__(self) -> int:
        """Batches per epoch."""
        return -(-self.n_samples // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (its draws come from ``(seed, epoch)``)."""
        self.epoch = int(epoch)

    def describe(self) -> dict:
        """JSON-able description of the loader (for checkpoints and logs)."""
        return (
            {
                "chroms": self.chroms,
                "input_length": self.input_length,
                "batch_size": self.batch_size,
                "negative_ratio": self.negative_ratio,
                "jitter": self.jitter,
                "reverse_complement": self.reverse_complement,
                "seed": self.seed,
                "tasks": self.tasks,
                "signal_bigwigs": self.signal_bigwigs,
                "n_positives": self.n_positives,
                "n_negatives": self.n_negatives,
            }
            | ({"positive_repeats": self.positive_repeats} if self.positive_repeats > 1 else {})
            | ({"gc_match": True} if self._gc is not None else {})
            | ({"shuffled_negatives": self.shuffled_negatives} if self.n_shuffled else {})
        )

    # ------------------------------------------------------------------ sampling
    def epoch_plan(self, epoch: int | None = None) -> dict[str, np.ndarray]:
        """What epoch ``epoch`` (default: the current one) yields, in order.

        Returns
        -------
        dict
            ``rows`` ``(n,)`` candidate rows (positives and this epoch's negatives, shuffled), ``shift``
            ``(n,)`` int64 jitter in bp, ``flip`` ``(n,)`` bool reverse-complemented, ``chrom`` ``(n,)`` str,
            ``bin_start`` ``(n,)`` int64 and ``start`` ``(n,)`` int64 (window start after the shift), and
            ``shuffle_seed`` ``(n,)`` int64: the seed of a row's dinucleotide shuffle, -1 for a genomic
            window (every row unless ``shuffled_negatives``).
        """
        rng = np.random.default_rng([self.seed, self.epoch if epoch is None else int(epoch)])
        neg = self._negatives(rng)
        rows = np.concatenate([np.tile(self._cand.pos, self.positive_repeats), neg])
        shuffle_seed = np.full(rows.size, -1, np.int64)
        if self.n_shuffled:
            copies = np.resize(rng.permutation(np.tile(self._cand.pos, self.positive_repeats)), self.n_shuffled)
            shuffle_seed = np.concatenate([shuffle_seed, rng.integers(0, 2**62, copies.size)])
            rows = np.concatenate([rows, copies])
        order = rng.permutation(rows.size)
        rows, shuffle_seed = rows[order], shuffle_seed[order]
        shift = rng.integers(-self.jitter, self.jitter + 1, rows.size) if self.jitter else np.zeros(rows.size, np.int64)
        flip = rng.random(rows.size) < 0.5 if self.reverse_complement else np.zeros(rows.size, bool)
        bin_start = self._cand.bin_idx[rows].astype(np.int64) * self.stride
        chrom = np.asarray(self.chroms, dtype=str)[self._cand.chrom_idx(rows)] if rows.size else np.zeros(0, str)
        start = bin_start + self.bin_size // 2 - self.input_length // 2 + shift
        return {"rows": rows, "shift": shift, "flip": flip, "chrom": chrom, "bin_start": bin_start, "start": start,
                "shuffle_seed": shuffle_seed}  # fmt: skip

    def make_batch(
        self, rows: np.ndarray, shift: np.ndarray, flip: np.ndarray, shuffle_seed: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of candidate ``rows`` ``(B,)`` with jitter ``shift`` ``(B,)`` and RC mask ``flip`` ``(B,)``.

        ``shuffle_seed`` ``(B,)`` int64 (default all -1): rows with a seed ``>= 0`` are dinucleotide-shuffled
        with ``np.random.default_rng(seed)`` and labelled 0 in every task.

        Returns
        -------
        x, y
            float32 ``(B, in_channels, L)`` (one-hot ACGT, N = 0, then signals) and int8 ``(B, T)``.
        """
        starts = self._starts(rows, shift)
        codes = self._codes(rows, starts)
        if flip.any():
            codes[flip] = reverse_complement_codes(codes[flip])
        ci = self._cand.chrom_idx(rows)
        signals = [windows.gather(ci, starts) for windows in self._signals]
        for vals in signals:
            vals[flip] = vals[flip, ::-1]
        labels = self._cand.labels[rows]
        if shuffle_seed is not None and (shuffle_seed >= 0).any():
            shuffled = shuffle_seed >= 0
            codes[shuffled] = dinucleotide_shuffles(codes[shuffled], shuffle_seed[shuffled])
            labels[shuffled] = 0
        return torch.from_numpy(one_hot_batch(codes, signals)), torch.from_numpy(labels)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(x (B, C, L) float32, y (B, T) int8)`` batches of the current epoch.

        With ``prefetch > 0`` a background thread builds up to that many batches ahead (numpy releases the
        GIL in the gather and the one-hot, so this overlaps with GPU work); the batches are the same.
        """
        plan = self.epoch_plan()
        args = [
            (
                plan["rows"][lo : lo + self.batch_size],
                plan["shift"][lo : lo + self.batch_size],
                plan["flip"][lo : lo + self.batch_size],
                plan["shuffle_seed"][lo : lo + self.batch_size],
            )
            for lo in range(0, plan["rows"].size, self.batch_size)
        ]
        yield from prefetched(self.make_batch, args, self.prefetch)

    def eval_sample(self, max_n: int = TRAIN_SCORE_WINDOWS, epoch: int = 0) -> dict[str, np.ndarray]:
        """A fixed in-memory sample for scoring on training data: windows of epoch ``epoch`` (no jitter, no RC).

        Returns
        -------
        dict
            ``codes`` uint8 ``(n, L)``, ``labels`` int8 ``(n, T)``, ``tasks`` ``(T,)`` with
            ``n = min(max_n, distinct windows of the epoch)`` rows in genome order.
        """
        plan = self.epoch_plan(epoch)
        rows = plan["rows"][plan["shuffle_seed"] < 0]  # genomic windows only
        if self.positive_repeats > 1:
            rows = np.unique(rows)
        if rows.size > max_n:
            rows = np.random.default_rng([self.seed, epoch, 1]).choice(rows, size=max_n, replace=False)
        rows = np.sort(rows)
        starts = self._starts(rows)
        sample = {
            "codes": self._codes(rows, starts),
            "labels": self._cand.labels[rows],
            "tasks": np.array(self.tasks),
        }
        if self._signals:
            ci = self._cand.chrom_idx(rows)
            sample["signal"] = np.stack([w.gather(ci, starts) for w in self._signals], axis=1)
            sample["signal_names"] = np.array(self.signal_names)
        return sample

    def dataset_windows(self, data: Mapping[str, np.ndarray], batch_size: int = 256) -> BinWindows:
        """A coordinate dataset's windows made from this loader's genome and signal (:func:`dataset_windows`)."""
        return dataset_windows(data, self.genome, None, batch_size, self.signal_bigwigs)


def _check_params(labels: Labels, chroms, input_length, batch_size, negative_ratio, jitter, tasks_idx) -> None:
    """CisflowError for parameters the loader cannot use."""
    if input_length < 1 or batch_size < 1:
        raise CisflowError(f"input_length and batch_size must be positive; got {input_length}, {batch_size}")
    check_input_length(input_length, labels.bin_size)
    if negative_ratio < 0 or jitter < 0:
        raise CisflowError(f"negative_ratio and jitter must be >= 0; got {negative_ratio}, {jitter}")
    unknown = [c for c in chroms if c not in labels.chrom_sizes]
    if unknown or not chroms:
        raise CisflowError(f"loader chromosomes not in the labels: {', '.join(unknown) or '(none given)'}")
    if tasks_idx is not None and any(not 0 <= int(j) < len(labels.tasks) for j in tasks_idx):
        raise CisflowError(f"tasks_idx {list(tasks_idx)} out of range for {len(labels.tasks)} tasks")


def _check_shuffled(ratio: float, signal_bigwigs: Sequence[str | Path]) -> float:
    """``shuffled_negatives`` as a float; CisflowError when negative, not a number or given with signal channels."""
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio < 0:
        raise CisflowError(f"shuffled_negatives must be a non-negative number; got {ratio!r}")
    if ratio and len(signal_bigwigs):
        raise CisflowError(
            "shuffled_negatives needs DNA-only inputs: signal channels (inputs.signal_bigwigs) cannot be shuffled"
        )
    return float(ratio)


def train_from_genome(
    labels_npz: str | Path,
    fasta: str | Path,
    splits_json: str | Path,
    valid_npz: str | Path,
    outputs: Mapping[str, str | Path],
    model_cfg: Mapping[str, Any],
    train_cfg: Mapping[str, Any],
    seed: int,
    *,
    negative_ratio: float | None = None,
    signal_bigwigs: SignalSpec = (),
    device: str | None = None,
    threads: int | None = None,
    init: Mapping[str, Any] | None = None,
    tasks: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train on every bound bin of the training chromosomes plus fresh unbound bins each epoch.

    The training chromosomes are those ``splits_json`` (written by
    :func:`cisflow.data.datasets_from_files`) marks ``train``, and unbound bins are drawn at the
    ``negative_ratio`` it records (unless given); the input length is the validation set's. Batches
    stream from the genome (:class:`GenomeBatches`); validation stays the ``valid_npz`` dataset, so
    early stopping sees the same bins every epoch. ``train_cfg["jitter"]`` shifts each
    window by up to ± that many bp. ``signal_bigwigs`` become extra input channels (the validation
    set must carry the same ones, see :func:`cisflow.data.build_datasets`); given per cell type
    (:mod:`cisflow.cellsignal`), the training tasks' cell type's tracks are read, never a held-out one's.
    ``init``: initialisation and fine-tuning (:class:`cisflow.transfer.InitParams`). ``tasks``: train on
    these tasks only (default all but those of the ``heldout_cell_types`` that ``splits_json`` records:
    their labels are never read here, only scored in the test split). ``outputs`` and resuming as for
    :func:`cisflow.train.train_model`.
    """
    from cisflow.autosize import resolve_auto
    from cisflow.labels import load_labels
    from cisflow.train import check_train_config, train_model

    info = read_splits(splits_json)
    input_length = int(read(valid_npz, DATASET, ("tasks",), "validation dataset")["input_length"])
    negative_ratio = float(info["negative_ratio"]) if negative_ratio is None else negative_ratio
    check_train_config(train_cfg)
    labels, genome = load_labels(labels_npz), Genome.open(fasta)
    mask = train_bins(labels, info, input_length)
    chroms = [c for c in labels.chroms if mask[c].any()]
    columns = _task_columns(labels, tasks, labels_npz, info.get("heldout_cell_types", ()))
    tracks = _training_tracks(labels, columns, signal_bigwigs, info, splits_json)
    n_positives = int(_Candidates(labels, chroms, columns, mask).pos.size)
    cfg = check_train_config(resolve_auto(model_cfg, check_train_config(train_cfg), n_positives, labels.bin_size)[1])
    batches = GenomeBatches(
        genome,
        labels,
        chroms,
        input_length=input_length,
        batch_size=cfg["batch_size"],
        negative_ratio=negative_ratio,
        jitter=cfg["jitter"],
        reverse_complement=cfg["reverse_complement"],
        seed=seed,
        signal_bigwigs=tracks,
        bin_mask=mask,
        positive_repeats=cfg["positive_repeats"],
        tasks_idx=columns,
        gc_match=bool(info.get("gc_match", False)),
        signal_names=channel_names(signal_bigwigs),
        shuffled_negatives=cfg["shuffled_negatives"],
    )
    return train_model(None, valid_npz, outputs, model_cfg, train_cfg, seed, device, train_batches=batches,
                       threads=threads, init=init, tasks=tasks,
                       data_files=[labels_npz, fasta, splits_json, *tracks])  # fmt: skip


def _training_tracks(
    labels: Labels, columns: Sequence[int], signal: SignalSpec, info: Mapping[str, Any], splits_json: str | Path
) -> list[str]:
    """The bigWigs of the training columns' cell type (:func:`cisflow.cellsignal.training_tracks`); CisflowError
    naming ``splits_json`` when those cell types have different tracks. One list for every cell type with
    held-out cell types is logged: they are predicted with the training cell types' tracks."""
    try:
        tracks = training_tracks([labels.tasks[j] for j in columns], signal)
    except CisflowError as exc:
        raise CisflowError(str(exc), splits_json) from exc
    if info.get("heldout_cell_types") and tracks and not per_cell_type(signal):
        log.warning("held-out cell types %s are predicted with the same signal channels as the training cell "
                    "types (%s): give inputs.signal_bigwigs per cell type to read each cell type's own",
                    ", ".join(info["heldout_cell_types"]), ", ".join(channel_names(signal)))  # fmt: skip
    if tracks:
        log.info("signal channels %s read from %s", ", ".join(channel_names(signal)), ", ".join(tracks))
    return tracks


def _task_columns(
    labels: Labels, tasks: Sequence[str] | None, path: str | Path, heldout_cell_types: Sequence[str] = ()
) -> list[int]:
    """Label columns of ``tasks`` (when None: every task not of a held-out cell type); CisflowError naming
    ``path`` for an unknown task or one of a held-out cell type (:func:`cisflow.splits.split_tasks`)."""
    from cisflow.splits import split_tasks

    train = split_tasks(labels.tasks, heldout_cell_types)["train"]
    if tasks is None:
        return train
    columns = task_columns(labels.tasks, tasks, path, "the labels")
    held = [t for t, column in zip(tasks, columns, strict=True) if column not in train]
    if held:
        raise CisflowError(f"task {held[0]} is of a held-out cell type ({', '.join(heldout_cell_types)}): its labels "
                           "are for scoring only", path)  # fmt: skip
    return columns


def dataset_windows(
    data: Mapping[str, np.ndarray],
    genome: Genome,
    rows: np.ndarray | None = None,
    batch_size: int = 256,
    signal_bigwigs: Sequence[str | Path] = (),
    prefetch: int = 2,
) -> BinWindows:
    """A dataset's windows (rows in the order given, default all) as one-hot batches made on the fly.

    ``data`` needs ``chrom``, ``bin_start`` and its geometry (``input_length``, ``bin_size``), e.g. a
    coordinate dataset (:func:`cisflow.data.build_datasets` with ``with_codes=False``); ``signal_bigwigs``
    are its ``signal_names``' files, in order.
    """
    from cisflow.data import check_dataset_signal

    check_dataset_signal(data, signal_bigwigs)
    rows = np.arange(len(data["labels"])) if rows is None else np.asarray(rows)
    return BinWindows(genome, data["chrom"][rows], data["bin_start"][rows], int(data["input_length"]),
                      int(data["bin_size"]), batch_size, signal_bigwigs, prefetch)  # fmt: skip
