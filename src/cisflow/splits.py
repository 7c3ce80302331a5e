"""Held-out-chromosome and held-out-region splits (train / valid / test) and held-out cell types.

Whole chromosomes go to one split, so no bin, window or peak is shared between splits (windows
overlap neighbouring bins, and a random split of bins would leak sequence). The ``dream`` preset is
the ENCODE-DREAM challenge's held-out test chromosomes (chr1, chr8, chr21; its ladder and final test
regions) with chr11 for validation as FactorNet (a top DREAM team) used; see ``docs/labels.md``.

Regions (``chr22:19000000-22000000``, 0-based half-open like BED) hold out part of a chromosome,
so a genome of one or a few chromosomes can still be split honestly: a bin inside a region belongs to
the region's split; bins crossing a region boundary, and every bin within ``flank`` bp (one input
window) of a boundary on either side, are dropped from all splits, so no kept window shares sequence
across a boundary (:func:`bin_splits`).

Tasks named ``TASK.CELLTYPE`` can also hold out cell types (the ENCODE-DREAM "new cell type, new
chromosome" setting): a held-out cell type's columns are dropped from train and valid and kept in test
only, so its labels are used for scoring alone. A model never trained on a held-out task predicts it
with the output of the same factor in the training cell type(s) (:func:`task_sources`): ``CTCF.HepG2``
held out is predicted by the ``CTCF.K562`` output (by the mean of ``CTCF.K562`` and ``CTCF.GM12878``
when both were trained), on the test chromosomes' sequence.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cisflow.errors import CisflowError, require_file

if TYPE_CHECKING:
    from cisflow.labels import Labels

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
PRESETS: dict[str, dict[str, list[str]]] = {
    "dream": {"valid": ["chr11"], "test": ["chr1", "chr8", "chr21"]},
}


SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}
DROPPED = -1  # bin code of bins near a region boundary (in no split)


@dataclass(frozen=True)
class Region:
    """A held-out region ``[start, end)`` of one chromosome (0-based half-open)."""

    chrom: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.chrom}:{self.start}-{self.end}"


def parse_region(text: str) -> Region:
    """Parse ``chrom:start-end`` (commas or underscores in numbers allowed); CisflowError if malformed."""
    match = re.fullmatch(r"\s*(\S+):([\d,_]+)-([\d,_]+)\s*", str(text))
    if match is None:
        raise CisflowError(f"region {text!r} is not chrom:start-end")
    start, end = (int(match.group(k).replace(",", "").replace("_", "")) for k in (2, 3))
    if start >= end:
        raise CisflowError(f"region {text!r} has start >= end")
    return Region(match.group(1), start, end)


def parse_regions(valid_regions: Iterable[str] = (), test_regions: Iterable[str] = ()) -> list[tuple[Region, str]]:
    """``[(region, split)]`` of the valid and test regions; CisflowError for malformed or overlapping ones."""
    regions = [(parse_region(r), "valid") for r in valid_regions] + [(parse_region(r), "test") for r in test_regions]
    ordered = sorted(regions, key=lambda rs: (rs[0].chrom, rs[0].start))
    for (a, _), (b, _) in itertools.pairwise(ordered):
        if a.chrom == b.chrom and b.start < a.end:
            raise CisflowError(f"held-out regions overlap: {a} and {b}")
    return regions


def _show(names: Iterable[str], limit: int = 5) -> str:
    """Comma-separated names, shortened after ``limit``."""
    names = list(names)
    return ", ".join(names[:limit]) + (" …" if len(names) > limit else "")


def make_splits(
    chroms: Sequence[str],
    valid_chroms: Sequence[str] = (),
    test_chroms: Sequence[str] = (),
    preset: str | None = None,
    valid_regions: Sequence[str] = (),
    test_regions: Sequence[str] = (),
) -> dict[str, str]:
    """Assign every chromosome to ``train``, ``valid`` or ``test`` (regions inside it: :func:`bin_splits`).

    Parameters
    ----------
    chroms
        All chromosomes (e.g. the labels' chromosomes), in order.
    valid_chroms, test_chroms
        Chromosomes held out for validation and testing; the rest are train.
    preset
        ``dream``: valid chr11, test chr1, chr8, chr21; overrides the two lists.
    valid_regions, test_regions
        ``chrom:start-end`` regions held out of their chromosome's split; their chromosomes must be
        in ``chroms`` (checked here) and the bins they hold are assigned by :func:`bin_splits`.

    Returns
    -------
    dict
        ``{chrom: split}`` in the order of ``chroms``.

    Raises
    ------
    CisflowError
        Unknown preset, a chromosome in both lists, a chromosome or region not in ``chroms`` (naming
        both sides, e.g. ``chr1`` vs ``1``), overlapping regions, or no chromosome left for training.
    """
    if preset is not None:
        if preset not in PRESETS:
            raise CisflowError(f"unknown split preset {preset!r}; choose one of {', '.join(PRESETS)}")
        if valid_chroms or test_chroms:
            log.warning("split preset %r overrides the valid/test chromosome lists", preset)
        valid_chroms, test_chroms = PRESETS[preset]["valid"], PRESETS[preset]["test"]
    valid, test = list(dict.fromkeys(valid_chroms)), list(dict.fromkeys(test_chroms))
    both = [c for c in valid if c in set(test)]
    if both:
        raise CisflowError(f"chromosomes in both the valid and the test split: {_show(both)}")
    known = set(chroms)
    regions = parse_regions(valid_regions, test_regions)
    unknown = [c for c in valid + test + [r.chrom for r, _ in regions] if c not in known]
    if unknown:
        raise CisflowError(f"split chromosomes not in the labels: {_show(unknown)} (the labels have {_show(chroms)})")
    out = {c: "valid" if c in valid else "test" if c in test else "train" for c in chroms}
    if "train" not in out.values() and not regions:
        raise CisflowError("no chromosome left for training: every chromosome is in valid or test")
    counts = {s: sum(v == s for v in out.values()) for s in SPLITS}
    log.info("splits: %s", ", ".join(f"{s} {n} chromosomes" for s, n in counts.items()))
    return out


def bin_splits(
    sizes: Mapping[str, int],
    bin_size: int,
    stride: int,
    chrom_splits: Mapping[str, str],
    valid_regions: Sequence[str] = (),
    test_regions: Sequence[str] = (),
    flank: int = 0,
    require_train: bool = False,
) -> dict[str, np.ndarray]:
    """The split of every bin: int8 codes ``(n_bins,)`` per chromosome (:data:`SPLIT_CODES`, -1 dropped).

    Parameters
    ----------
    sizes
        ``{chrom: length}`` (the labels' chromosomes); bins ``[i * stride, i * stride + bin_size)``.
    bin_size, stride
        Bin geometry (bp).
    chrom_splits
        ``{chrom: split}`` (:func:`make_splits`); chromosomes missing from it get -1.
    valid_regions, test_regions
        ``chrom:start-end`` regions; a bin inside one takes the region's split.
    flank
        Bins whose ``[start - flank, end + flank)`` contains a region boundary (other than a
        chromosome end) are dropped (-1), so with ``flank`` = the input length no kept window
        reaches across a boundary.
    require_train
        Raise when no bin is left for training.

    Raises
    ------
    CisflowError
        A region past its chromosome's end, or (``require_train``) no training bin left.
    """
    from cisflow.labels import n_bins

    codes = {}
    regions = parse_regions(valid_regions, test_regions)
    for chrom, size in sizes.items():
        code = np.full(
            n_bins(int(size), bin_size, stride), SPLIT_CODES.get(chrom_splits.get(chrom, ""), DROPPED), np.int8
        )
        starts = np.arange(code.size, dtype=np.int64) * stride
        for region, split in (rs for rs in regions if rs[0].chrom == chrom):
            if region.end > size:
                raise CisflowError(f"region {region} ends past {chrom} ({size} bp)")
            code[(starts >= region.start) & (starts + bin_size <= region.end)] = SPLIT_CODES[split]
            for b in (region.start, region.end):
                if 0 < b < size:
                    code[(starts - flank < b) & (b < starts + bin_size + flank)] = DROPPED
        codes[chrom] = code
    if require_train and not any((c == SPLIT_CODES["train"]).any() for c in codes.values()):
        raise CisflowError("no training bins left: the held-out chromosomes and regions (with their flanks) cover all")
    counts = {s: sum(int((c == k).sum()) for c in codes.values()) for s, k in SPLIT_CODES.items()}
    if regions:
        dropped = sum(int((c == DROPPED).sum()) for c in codes.values())
        log.info("bins by split: %s; %d dropped at region boundaries", counts, dropped)
    return codes


def check_split_config(
    sizes: Mapping[str, int],
    labels: Mapping[str, Any],
    splits: Mapping[str, Any],
    chroms: str | None = None,
    exclude_chroms: Sequence[str] = (),
) -> dict[str, str]:
    """Check a workflow's splits against the genome before any job runs; return ``{chrom: split}``.

    Parameters
    ----------
    sizes
        The genome's ``{chrom: length}`` (every sequence).
    labels, splits
        The ``labels`` (``bin_size``, ``stride``) and ``splits`` config sections.
    chroms, exclude_chroms
        The chromosome rule (:func:`cisflow.genome.select_chroms`): the chromosomes labels will have.

    Raises
    ------
    CisflowError
        Everything :func:`make_splits` and :func:`bin_splits` raise, including no training bin left.
    """
    from cisflow.genome import select_chroms

    kept = {c: sizes[c] for c in select_chroms(sizes, chroms, exclude_chroms)}
    regions = (splits.get("valid_regions", ()), splits.get("test_regions", ()))
    by_chrom = make_splits(list(kept), splits["valid_chroms"], splits["test_chroms"], splits["preset"], *regions)
    held = {r.chrom for r, _ in parse_regions(*regions)}
    geometry = (labels["bin_size"], labels["stride"])
    whole_train = any(s == "train" and c not in held and kept[c] >= geometry[0] for c, s in by_chrom.items())
    bin_splits({c: kept[c] for c in held}, *geometry, by_chrom, *regions, flank=splits["input_length"],
               require_train=not whole_train)  # fmt: skip
    return by_chrom


def cell_type_of(task: str) -> str | None:
    """The cell type of a task named ``TASK.CELLTYPE`` (text after the last dot), or None."""
    return task.rsplit(".", 1)[1] if "." in task else None


def factor_of(task: str) -> str:
    """The factor (or assay) of a task named ``TASK.CELLTYPE`` (text before the last dot; else the whole name)."""
    return task.rsplit(".", 1)[0]


def task_sources(tasks: Sequence[str], model_tasks: Sequence[str]) -> list[list[int]]:
    """The model outputs that predict each task: its own output, else its factor's in the trained cell types.

    Parameters
    ----------
    tasks
        Task names ``(T,)`` to predict (e.g. a test set's, held-out cell types included).
    model_tasks
        The model's output tasks ``(M,)`` (its training tasks).

    Returns
    -------
    list of list of int
        For each task, the model output columns whose mean is its prediction: ``[m]`` for a task the model
        was trained on, else the columns of every model task of the same factor (``CTCF.HepG2`` held out:
        ``CTCF.K562``'s, and ``CTCF.GM12878``'s when trained too).

    Raises
    ------
    CisflowError
        A task the model neither has nor can stand in for (no trained task of its factor).
    """
    model_tasks = [str(t) for t in model_tasks]
    out = []
    for task in map(str, tasks):
        if task in model_tasks:
            out.append([model_tasks.index(task)])
            continue
        same = [m for m, t in enumerate(model_tasks) if "." in task and "." in t and factor_of(t) == factor_of(task)]
        if not same:
            raise CisflowError(f"task {task} is neither a model task nor of a factor the model was trained on "
                               f"(model tasks: {_show(model_tasks)})")  # fmt: skip
        out.append(same)
    return out


def map_outputs(probs: np.ndarray, sources: Sequence[Sequence[int]]) -> np.ndarray:
    """Predictions ``(N, T)`` float32 of the tasks of ``sources`` (:func:`task_sources`) from outputs ``(N, M)``."""
    probs = np.asarray(probs)
    if all(len(cols) == 1 for cols in sources) and [c[0] for c in sources] == list(range(probs.shape[1])):
        return probs.astype(np.float32, copy=False)
    return np.stack([probs[:, list(cols)].mean(axis=1) for cols in sources], axis=1).astype(np.float32)


def split_tasks(tasks: Sequence[str], heldout_cell_types: Sequence[str] = ()) -> dict[str, list[int]]:
    """Task column indices used in each split when cell types are held out.

    Parameters
    ----------
    tasks
        Task names ``(T,)``, ``TASK.CELLTYPE`` when cell types matter.
    heldout_cell_types
        Cell types whose columns appear only in ``test``.

    Returns
    -------
    dict
        ``{split: [column indices]}``; train and valid lack the held-out columns, test has all.

    Raises
    ------
    CisflowError
        An unknown held-out cell type, every cell type held out, or a held-out task whose factor no
        training cell type has (nothing could predict it, :func:`task_sources`).
    """
    held = set(heldout_cell_types)
    present = {cell_type_of(t) for t in tasks}
    unknown = [c for c in held if c not in present]
    if unknown:
        shown = _show(sorted(c for c in present if c))
        raise CisflowError(f"held-out cell types not in the task names: {_show(unknown)} (cell types: {shown})")
    kept = [j for j, t in enumerate(tasks) if cell_type_of(t) not in held]
    if not kept:
        raise CisflowError("every task's cell type is held out: no task left for training")
    trained = {factor_of(tasks[j]) for j in kept}
    orphans = [t for t in tasks if cell_type_of(t) in held and factor_of(t) not in trained]
    if orphans:
        raise CisflowError(f"held-out tasks {_show(orphans)} have no task of their factor in a training cell type, "
                           "so nothing could predict them")  # fmt: skip
    return {"train": kept, "valid": kept, "test": list(range(len(tasks)))}


def read_splits(path: str | Path) -> dict[str, Any]:
    """A splits JSON (:func:`cisflow.data.datasets_from_files`); CisflowError if it records no ``negative_ratio``."""
    with open(require_file(path, "splits file"), encoding="utf-8") as handle:
        recorded = json.load(handle)
    if "negative_ratio" not in recorded:
        raise CisflowError("no negative_ratio recorded (written by an older cisflow); rerun the splits stage", path)
    return recorded


def train_bins(labels: Labels, info: Mapping[str, Any], input_length: int) -> dict[str, np.ndarray]:
    """``{chrom: bool (n_bins,)}`` of the training bins a splits JSON (:func:`read_splits`) records (chromosomes and
    regions); ``input_length`` bins either side of a region boundary are dropped (:func:`bin_splits`'s flank)."""
    codes = bin_splits(labels.chrom_sizes, labels.bin_size, labels.stride, info["splits"],
                       info.get("valid_regions", ()), info.get("test_regions", ()), flank=input_length)  # fmt: skip
    return {c: codes[c] == SPLIT_CODES["train"] for c in labels.chroms}
