"""The ``train`` config: its keys' defaults (:class:`TrainParams`) and their checks (:func:`check_train_config`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from cisflow.autosize import is_auto
from cisflow.errors import CisflowError
from cisflow.params import StageParams, defaults

_OR_AUTO = {k: " or 'auto'" for k in ("epochs", "patience", "positive_repeats")}


@dataclasses.dataclass(frozen=True)
class TrainParams(StageParams):
    """The config's ``train`` section (DragoNN's defaults where it has one: Adam, batch 128).

    The keys of :data:`cisflow.autosize.AUTO_TRAIN_KEYS` default to ``auto``: chosen from the number of training
    positives when the training starts (:mod:`cisflow.autosize`); a concrete value is used as is.
    """

    SECTION: ClassVar[str] = "train"
    epochs: int | str = "auto"
    min_epochs: int = 1
    batch_size: int = 128
    learning_rate: float | str = "auto"
    weight_decay: float | str = "auto"
    patience: int | str = "auto"
    monitor: str = "auprc"
    class_weights: Any = None
    reverse_complement: bool | str = "auto"
    jitter: int | str = "auto"  # bp; used by the streaming genome loader (cisflow.loader), not by npz datasets
    precise_bn_batches: int = 50  # BatchNorm models: its statistics re-estimated on this many batches per epoch
    positive_repeats: int | str = "auto"  # draws of each positive per epoch (each with its own jitter and strand)
    chance_auroc: float | None = 0.55  # patience counts once the best validation auROC exceeds this (null: at once)
    # genome track: dinucleotide-shuffled copies of the positive windows added to each epoch's negatives, per
    # positive draw (cisflow.loader.GenomeBatches); they share the positives' composition, so only motifs separate
    shuffled_negatives: float = 0.0


#: Defaults of every ``train`` config key, as a mapping (:class:`TrainParams`).
TRAIN_DEFAULTS: dict[str, Any] = defaults(TrainParams)


MONITORS = ("auroc", "auprc", "loss")


def check_train_config(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the ``train`` config with defaults filled; unknown keys or bad values → CisflowError."""
    cfg = dict(cfg or {})
    unknown = [k for k in cfg if k not in TRAIN_DEFAULTS]
    if unknown:
        raise CisflowError(f"unknown train key {unknown[0]!r}; valid keys: {', '.join(TRAIN_DEFAULTS)}")
    out = {**TRAIN_DEFAULTS, **cfg}
    for key in ("epochs", "min_epochs", "batch_size", "patience", "positive_repeats"):
        if not is_auto(out[key]) and (not isinstance(out[key], int) or isinstance(out[key], bool) or out[key] < 1):
            raise CisflowError(f"train.{key} must be a positive integer{_OR_AUTO.get(key, '')}; got {out[key]!r}")
    for key in ("learning_rate", "weight_decay"):
        if not is_auto(out[key]) and (
            not isinstance(out[key], int | float) or isinstance(out[key], bool) or out[key] < 0
        ):
            raise CisflowError(f"train.{key} must be a non-negative number or 'auto'; got {out[key]!r}")
    if not is_auto(out["jitter"]) and (
        not isinstance(out["jitter"], int) or isinstance(out["jitter"], bool) or out["jitter"] < 0
    ):
        raise CisflowError(f"train.jitter must be a non-negative integer or 'auto'; got {out['jitter']!r}")
    chance = out["chance_auroc"]
    if chance is not None and (isinstance(chance, bool) or not isinstance(chance, int | float) or not 0 <= chance < 1):
        raise CisflowError(f"train.chance_auroc must be a number in [0, 1) or null; got {chance!r}")
    shuffled = out["shuffled_negatives"]
    if isinstance(shuffled, bool) or not isinstance(shuffled, int | float) or shuffled < 0:
        raise CisflowError(f"train.shuffled_negatives must be a non-negative number; got {shuffled!r}")
    if out["monitor"] not in MONITORS:
        raise CisflowError(f"train.monitor must be one of {', '.join(MONITORS)}; got {out['monitor']!r}")
    if out["class_weights"] not in (None, "auto"):
        raise CisflowError(f"train.class_weights must be null or 'auto'; got {out['class_weights']!r}")
    if not isinstance(out["precise_bn_batches"], int) or out["precise_bn_batches"] < 0:
        raise CisflowError(
            f"train.precise_bn_batches must be a non-negative integer; got {out['precise_bn_batches']!r}"
        )
    if not is_auto(out["reverse_complement"]) and not isinstance(out["reverse_complement"], bool):
        raise CisflowError(f"train.reverse_complement must be true, false or 'auto'; got {out['reverse_complement']!r}")
    return out
