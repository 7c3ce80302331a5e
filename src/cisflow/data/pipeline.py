"""The datasets stage: labels npz and genome in; one dataset npz per split and the splits JSON (every
:func:`build_datasets` parameter as used) out (:func:`datasets_from_files`).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cisflow.artifacts import write_datasets
from cisflow.data.sampling import build_datasets
from cisflow.errors import CisflowError
from cisflow.genome import Genome
from cisflow.io import write_json
from cisflow.labels import load_labels
from cisflow.params import StageParams
from cisflow.splits import make_splits


@dataclasses.dataclass(frozen=True)
class SplitsParams(StageParams):
    """The config's ``splits`` section: held-out chromosomes, regions and cell types, and the datasets'
    windows (``input_length`` bp) and negatives per positive (:func:`datasets_from_files`)."""

    SECTION: ClassVar[str] = "splits"
    preset: str | None = None
    valid_chroms: tuple[str, ...] = ()
    test_chroms: tuple[str, ...] = ()
    valid_regions: tuple[str, ...] = ()
    test_regions: tuple[str, ...] = ()
    heldout_cell_types: tuple[str, ...] = ()
    input_length: int = 1000
    negative_ratio: float = 1.0
    eval_negative_ratio: float | None = None
    valid_negative_ratio: float | None = None
    gc_match: bool = False


@dataclasses.dataclass(frozen=True)
class InputsParams(StageParams):
    """The config's ``inputs`` section: bigWigs whose log1p per-base values become extra input channels of the
    datasets (:func:`datasets_from_files` ``signal_bigwigs``) and the models."""

    SECTION: ClassVar[str] = "inputs"
    signal_bigwigs: Any = ()


def datasets_from_files(
    labels_path: str | Path,
    genome_path: str | Path,
    outputs: Mapping[str, str | Path],
    *,
    valid_chroms: Sequence[str] = (),
    test_chroms: Sequence[str] = (),
    preset: str | None = None,
    valid_regions: Sequence[str] = (),
    test_regions: Sequence[str] = (),
    splits_json: str | Path | None = None,
    **params,
) -> dict[str, dict[str, np.ndarray]]:
    """Load labels and genome, split by chromosome, build and write the datasets.

    Parameters
    ----------
    labels_path, genome_path
        Labels npz (:func:`cisflow.labels.save_labels`) and genome FASTA.
    outputs
        ``{split: npz path}`` for train, valid and test.
    valid_chroms, test_chroms, preset, valid_regions, test_regions
        See :func:`cisflow.splits.make_splits` and :func:`cisflow.splits.bin_splits`.
    splits_json
        Optional JSON recording ``{chrom: split}`` and every :func:`build_datasets` parameter as used
        (defaults included: later stages read ``negative_ratio`` from it).
    **params
        :func:`build_datasets` keyword arguments (``input_length``, ``negative_ratio``, ``gc_match``,
        ``eval_negative_ratio``, ``seed``, ``heldout_cell_types``, ``signal_bigwigs``).
    """
    labels = load_labels(labels_path)
    genome = Genome.open(genome_path)
    try:
        splits = make_splits(labels.chroms, valid_chroms, test_chroms, preset, valid_regions, test_regions)
    except CisflowError as exc:
        raise CisflowError(str(exc), labels_path if exc.path is None else exc.path) from exc
    regions = {"valid_regions": list(valid_regions), "test_regions": list(test_regions)}
    try:
        datasets = build_datasets(labels, genome, splits, **regions, **params)
    except CisflowError as exc:
        raise CisflowError(str(exc), labels_path if exc.path is None else exc.path) from exc
    if len(datasets["train"]["labels"]) == 0:
        raise CisflowError(
            "no training bins: held-out chromosomes and regions (with their flanks) leave none", labels_path
        )
    write_datasets(datasets, outputs)
    if splits_json:
        write_json(splits_json, {"splits": splits, "preset": preset, **_recorded_params(params | regions)})
    return datasets


def _recorded_params(params: Mapping) -> dict:
    """Every :func:`build_datasets` keyword with the value used (given or default), JSON-ready."""
    used = {
        name: params.get(name, p.default)
        for name, p in inspect.signature(build_datasets).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    return {k: [str(x) for x in v] if isinstance(v, list | tuple) else v for k, v in used.items()}
