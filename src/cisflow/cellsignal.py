"""Signal bigWigs per cell type: the ``inputs.signal_bigwigs`` config key.

The key is either one list of bigWigs, read for every cell type (one cell type, or the same tracks for
all), or ``{cell_type: [bigWig, ...]}``: each cell type's own tracks (its DNase / ATAC signal, the
DREAM way), the same number per cell type and channel ``i`` of each list in the same role. A list's
channels are named by their file names (:func:`cisflow.bigwig.signal_track_names`); per-cell-type
channels by their role, ``signal_1 .. signal_S`` (:func:`channel_names`), so a model trained with one
cell type's tracks takes another cell type's.

A task ``TF.CELL`` is predicted from windows carrying ``CELL``'s tracks (:func:`cell_type_passes`). A
model is trained on one set of tracks (:func:`training_tracks`): with per-cell-type signal its training
tasks are of one cell type (or of cell types sharing their tracks); see docs/labels.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from cisflow.bigwig import signal_track_names
from cisflow.errors import CisflowError
from cisflow.splits import cell_type_of

#: ``inputs.signal_bigwigs``: one list for every cell type, or ``{cell_type: [bigWig, ...]}``.
SignalSpec = Sequence[str | Path] | Mapping[str, Sequence[str | Path]]

#: Prefix of the role names of per-cell-type channels (``signal_1``, ``signal_2``, ...).
ROLE_PREFIX = "signal_"


def per_cell_type(signal: SignalSpec) -> bool:
    """True for ``{cell_type: [bigWig, ...]}``, False for one list of bigWigs."""
    return isinstance(signal, Mapping)


def role_names(n: int) -> list[str]:
    """Names of ``n`` per-cell-type channels by their role: ``signal_1 .. signal_n``."""
    return [f"{ROLE_PREFIX}{i + 1}" for i in range(n)]


def check_signal(signal: SignalSpec) -> None:
    """CisflowError (one line) unless ``signal`` is a list of bigWigs with distinct file names, or a non-empty
    ``{cell_type: [bigWig, ...]}`` with the same number (at least one) of bigWigs per cell type."""
    if not per_cell_type(signal):
        signal_track_names(signal)
        return
    counts = {str(cell): len(tracks) for cell, tracks in signal.items()}
    if not counts or min(counts.values()) == 0 or len(set(counts.values())) > 1:
        shown = ", ".join(f"{cell}: {n}" for cell, n in counts.items()) or "no cell type"
        raise CisflowError(f"signal bigWigs per cell type need the same number (at least one) per cell type; "
                           f"got {shown}")  # fmt: skip


def channel_names(signal: SignalSpec) -> list[str]:
    """Names of the signal channels, in order: a list's file names, or per-cell-type roles (:func:`role_names`)."""
    check_signal(signal)
    if not per_cell_type(signal):
        return signal_track_names(signal)
    return role_names(len(next(iter(signal.values()))))


def tracks_for(signal: SignalSpec, cell_type: str | None) -> list[str]:
    """The bigWigs read for ``cell_type`` (a list: the same for every cell type); CisflowError if it has none."""
    if not per_cell_type(signal):
        return [str(p) for p in signal]
    if cell_type not in signal:
        raise CisflowError(f"no signal bigWigs for cell type {cell_type!r} (they are given for {', '.join(signal)})")
    return [str(p) for p in signal[cell_type]]


def signal_files(signal: SignalSpec, exclude_cell_types: Sequence[str] = ()) -> list[str]:
    """Every bigWig of ``signal``, each once, in order; per cell type, none of ``exclude_cell_types`` (held out)."""
    if not per_cell_type(signal):
        lists = [signal]
    else:
        lists = [tracks for cell, tracks in signal.items() if cell not in exclude_cell_types]
    return list(dict.fromkeys(str(p) for tracks in lists for p in tracks))


def cell_type_passes(tasks: Sequence[str], signal: SignalSpec) -> list[tuple[list[str], list[int]]]:
    """The prediction passes of a dataset's ``tasks``: ``(bigWigs, task columns)``, one per distinct track list.

    Task ``TF.CELL``'s column is predicted from windows carrying ``CELL``'s tracks (:func:`tracks_for`); a list
    (or no signal) gives one pass over every column. CisflowError naming the task for a cell type without tracks.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for j, task in enumerate(tasks):
        try:
            tracks = tracks_for(signal, cell_type_of(str(task)))
        except CisflowError as exc:
            raise CisflowError(f"task {task}: {exc}") from exc
        groups.setdefault(tuple(tracks), []).append(j)
    return [(list(tracks), cols) for tracks, cols in groups.items()]


def training_tracks(tasks: Sequence[str], signal: SignalSpec) -> list[str]:
    """The bigWigs a model with training ``tasks`` reads; CisflowError (one line) when the tasks' cell types have
    different tracks (one example per window carries one cell type's tracks, see the module docstring)."""
    passes = cell_type_passes(tasks, signal)
    if len(passes) > 1:
        cells = sorted({str(cell_type_of(str(t))) for t in tasks})
        raise CisflowError(
            f"per-cell-type signal bigWigs: the training tasks are of cell types {', '.join(cells)} with different "
            "tracks; train on one cell type (hold the others out with splits.heldout_cell_types)"
        )
    return passes[0][0] if passes else []


def tracks_by_cell_type(tasks: Sequence[str], signal: SignalSpec) -> dict[str, list[str]]:
    """``{cell type: bigWigs}`` of the cell types of ``tasks`` (for the record in ``metrics.json``); CisflowError
    naming a task whose cell type has none (:func:`cell_type_passes`)."""
    cell_type_passes(tasks, signal)
    return {str(cell_type_of(str(t))): tracks_for(signal, cell_type_of(str(t))) for t in tasks}
