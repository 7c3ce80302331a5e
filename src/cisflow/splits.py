"""Held-out-chromosome splits (train / valid / test) and held-out cell types.

Whole chromosomes go to one split, so no bin, window or peak is shared between splits (windows
overlap neighbouring bins, and a random split of bins would leak sequence). The ``dream`` preset is
the ENCODE-DREAM challenge's held-out test chromosomes (chr1, chr8, chr21; its ladder and final test
regions) with chr11 for validation as FactorNet (a top DREAM team) used; see ``docs/labels.md``.

Tasks named ``TASK.CELLTYPE`` can also hold out cell types: a held-out cell type's columns are
dropped from train and valid and kept in test only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from cisflow.errors import CisflowError

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
PRESETS: dict[str, dict[str, list[str]]] = {
    "dream": {"valid": ["chr11"], "test": ["chr1", "chr8", "chr21"]},
}


def _show(names: Iterable[str], limit: int = 5) -> str:
    """Comma-separated names, shortened after ``limit``."""
    names = list(names)
    return ", ".join(names[:limit]) + (" …" if len(names) > limit else "")


def make_splits(
    chroms: Sequence[str],
    valid_chroms: Sequence[str] = (),
    test_chroms: Sequence[str] = (),
    preset: str | None = None,
) -> dict[str, str]:
    """Assign every chromosome to ``train``, ``valid`` or ``test``.

    Parameters
    ----------
    chroms
        All chromosomes (e.g. the labels' chromosomes), in order.
    valid_chroms, test_chroms
        Chromosomes held out for validation and testing; the rest are train.
    preset
        ``dream``: valid chr11, test chr1, chr8, chr21; overrides the two lists.

    Returns
    -------
    dict
        ``{chrom: split}`` in the order of ``chroms``.

    Raises
    ------
    CisflowError
        Unknown preset, a chromosome in both lists, a chromosome not in ``chroms`` (naming both
        sides, e.g. ``chr1`` vs ``1``), or no chromosome left for training.
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
    unknown = [c for c in valid + test if c not in known]
    if unknown:
        raise CisflowError(f"split chromosomes not in the labels: {_show(unknown)} (the labels have {_show(chroms)})")
    out = {c: "valid" if c in valid else "test" if c in test else "train" for c in chroms}
    if "train" not in out.values():
        raise CisflowError("no chromosome left for training: every chromosome is in valid or test")
    counts = {s: sum(v == s for v in out.values()) for s in SPLITS}
    log.info("splits: %s", ", ".join(f"{s} {n} chromosomes" for s, n in counts.items()))
    return out


def cell_type_of(task: str) -> str | None:
    """The cell type of a task named ``TASK.CELLTYPE`` (text after the last dot), or None."""
    return task.rsplit(".", 1)[1] if "." in task else None


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
    return {"train": kept, "valid": kept, "test": list(range(len(tasks)))}
