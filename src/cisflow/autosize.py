"""Defaults that fit the data: the model and training budget chosen from the number of training positives.

A core facility's single ChIP-seq experiment may give a few hundred bound bins; the yeast demo gives
thousands. One model and one budget do not fit both: a Basset with a few hundred positives has few
gradient steps per epoch and stops while its validation score is still at chance. So the value
``auto`` of the keys below (their default in a config and in :class:`cisflow.train.TrainParams`) is resolved
from ``n``, the training sequences bound in at least one task (the streaming loader's positive bins, or the
positive rows of a training npz):

``model``
    fewer than :data:`COMPACT_BELOW`: a compact DeepBind-like model with strong regularisation
    (:data:`COMPACT_MODEL`); more: the demo's Basset (:data:`BASSET_MODEL`).
``learning_rate``, ``weight_decay``, ``epochs``, ``patience``
    :data:`COMPACT_TRAIN` or :data:`BASSET_TRAIN` with the model.
``positive_repeats``
    genome track: each positive drawn ``ceil(POSITIVES_PER_EPOCH / n)`` times per epoch (at most
    :data:`MAX_REPEATS`), each draw with its own jitter and strand; 1 for a fixed npz training set.
``jitter``
    genome track: half the bin width; 0 for an npz training set.
``reverse_complement``
    true (each draw on a random strand).
``model.motif_filters``
    with the compact model: the run's known motifs (the workflow's ``baselines.motifs``) seed the first
    layer (:func:`auto_motif_filters`); a few hundred positives rarely teach a filter what a known motif
    already says. None with the Basset, an explicit model or ``init_from``.

``learning_rate`` and ``weight_decay`` follow the model: with an explicit model (not ``auto``) they
resolve to Adam's usual 1e-3 and no weight decay. A model started from a trained one (``init_from``) with
``name: auto`` takes that model's architecture, and with it the optimiser settings of the tier the
architecture belongs to (:func:`model_tier`: the compact model's 1e-3 and weight decay 1e-4, the Basset's
3e-4 and none; another architecture Adam's usual), as the same model trained from scratch gets them.
A key the user sets is never changed. The choice (:func:`resolve_auto`'s record) is logged in one line and
stored in ``model.json`` (``auto``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cisflow.errors import CisflowError

log = logging.getLogger(__name__)

AUTO = "auto"
#: Fewer positive training sequences than this get the compact model and its budget.
COMPACT_BELOW = 3000
#: Positive draws per epoch that ``positive_repeats: auto`` aims for (each with its own jitter and strand).
POSITIVES_PER_EPOCH = 2500
#: The most times one positive is drawn per epoch.
MAX_REPEATS = 16
#: A DeepBind-like model with strong regularisation for a few hundred positives.
COMPACT_MODEL: dict[str, Any] = {
    "name": "deepbind",
    "params": {"num_filters": 64, "conv_width": 19, "hidden": 32, "dropout": 0.5, "pooling": "max_avg"},
}
#: The demo's Basset (3 conv/BatchNorm/pool blocks, one dense layer), for thousands of positives.
BASSET_MODEL: dict[str, Any] = {
    "name": "basset",
    "params": {"num_filters": [128, 128, 128], "conv_width": [19, 11, 7], "pool_width": [3, 4, 4], "hidden": [256],
               "dropout": 0.3},
}  # fmt: skip
COMPACT_TRAIN: dict[str, Any] = {"learning_rate": 0.001, "weight_decay": 0.0001, "epochs": 40, "patience": 6}
BASSET_TRAIN: dict[str, Any] = {"learning_rate": 0.0003, "weight_decay": 0.0, "epochs": 30, "patience": 5}
#: Optimiser settings with an explicit model (Adam's usual rate, no weight decay).
EXPLICIT_MODEL_TRAIN: dict[str, Any] = {"learning_rate": 0.001, "weight_decay": 0.0}
#: The tiers' models and budgets by tier name.
TIERS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "compact": (COMPACT_MODEL, COMPACT_TRAIN),
    "basset": (BASSET_MODEL, BASSET_TRAIN),
}
#: ``train`` keys whose default is ``auto``.
AUTO_TRAIN_KEYS = (
    "learning_rate", "weight_decay", "epochs", "patience", "positive_repeats", "jitter", "reverse_complement",
)  # fmt: skip


def count_positives(labels: np.ndarray) -> int:
    """Rows bound (1) in at least one task of labels ``(N, T)``."""
    labels = np.asarray(labels)
    return int((labels == 1).any(axis=1).sum()) if labels.size else 0


def is_auto(value: Any) -> bool:
    """Whether a config value asks for the data-size default."""
    return isinstance(value, str) and value == AUTO


def model_is_auto(model_cfg: Mapping[str, Any] | None) -> bool:
    """Whether the model config leaves the architecture to the data size (None, no ``name`` or ``name: auto``)."""
    return model_cfg is None or is_auto(model_cfg.get("name", AUTO))


def positive_repeats(n_positives: int) -> int:
    """Draws of each positive per epoch: ``ceil(POSITIVES_PER_EPOCH / n)`` in ``[1, MAX_REPEATS]``."""
    if n_positives <= 0:
        return 1
    return int(min(MAX_REPEATS, max(1, math.ceil(POSITIVES_PER_EPOCH / n_positives))))


def choose(n_positives: int, bin_size: int | None = None) -> dict[str, Any]:
    """The data-size defaults for ``n_positives`` positive training sequences.

    Returns
    -------
    dict
        ``tier`` (``compact`` or ``basset``), ``model`` (``{"name", "params"}``) and ``train`` (a value for
        every key of :data:`AUTO_TRAIN_KEYS`; without a bin size, i.e. a fixed npz training set, ``jitter``
        is 0 and ``positive_repeats`` 1).
    """
    if n_positives < 0:
        raise CisflowError(f"the number of positives must be >= 0; got {n_positives}")
    compact = n_positives < COMPACT_BELOW
    train = dict(COMPACT_TRAIN if compact else BASSET_TRAIN)
    train["positive_repeats"] = positive_repeats(n_positives) if bin_size else 1
    train["jitter"] = int(bin_size) // 2 if bin_size else 0
    train["reverse_complement"] = True
    model = COMPACT_MODEL if compact else BASSET_MODEL
    return {"tier": "compact" if compact else "basset", "model": _copy(model), "train": train}


def model_tier(model_cfg: Mapping[str, Any]) -> str | None:
    """The tier (``compact`` or ``basset``) whose model ``model_cfg`` (``{"name", "params"}``) is, parameters
    compared after the model's defaults are filled in; None for any other architecture."""
    from cisflow.models import model_params

    def filled(cfg: Mapping[str, Any]) -> dict[str, Any]:
        params = {**model_params(str(cfg["name"])), **dict(cfg.get("params") or {})}
        return {k: list(v) if isinstance(v, list | tuple) else v for k, v in params.items()}

    for tier, (model, _) in TIERS.items():
        if model_cfg.get("name") == model["name"] and filled(model_cfg) == filled(model):
            return tier
    return None


def _copy(model: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a model config (params lists copied)."""
    params = {k: list(v) if isinstance(v, list | tuple) else v for k, v in model["params"].items()}
    return {"name": model["name"], "params": params}


def resolve_auto(
    model_cfg: Mapping[str, Any] | None,
    train_cfg: Mapping[str, Any] | None,
    n_positives: int,
    bin_size: int | None = None,
    from_source: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """Replace every ``auto`` (and every missing key of :data:`AUTO_TRAIN_KEYS`) by its data-size default.

    Parameters
    ----------
    model_cfg
        ``{"name": ..., "params": ...}``; None or ``name: auto`` → the tier's model.
    train_cfg
        The ``train`` config (other keys pass through unchanged).
    n_positives
        Positive training sequences (:func:`count_positives`, or the loader's positive bins).
    bin_size
        Bin width of the genome track (for ``jitter``); None on the simulation track.
    from_source
        ``model_cfg`` is the architecture of the ``init_from`` model, taken with ``name: auto``: ``learning_rate``
        and ``weight_decay`` are those of its tier (:func:`model_tier`; Adam's usual for another architecture),
        not an explicit model's.

    Returns
    -------
    model_cfg, train_cfg, record
        Concrete configs, and the choice (``n_positives``, ``tier``, ``resolved`` ``{key: value}``; with
        ``from_source`` also ``source_tier``, the source architecture's tier or None) or None when nothing was
        ``auto``.
    """
    choice = choose(n_positives, bin_size)
    train = dict(train_cfg or {})
    resolved: dict[str, Any] = {}
    model = dict(model_cfg) if model_cfg is not None else None
    source_tier = None
    if model_is_auto(model_cfg):
        model = choice["model"]
        resolved["model"] = model
        optimiser = choice["train"]
    elif from_source:
        source_tier = model_tier(model)  # type: ignore[arg-type]
        optimiser = TIERS[source_tier][1] if source_tier else EXPLICIT_MODEL_TRAIN
    else:
        optimiser = EXPLICIT_MODEL_TRAIN
    for key in AUTO_TRAIN_KEYS:
        if is_auto(train.get(key, AUTO)):
            train[key] = optimiser[key] if key in EXPLICIT_MODEL_TRAIN else choice["train"][key]
            resolved[key] = train[key]
    if not resolved:
        return model, train, None  # type: ignore[return-value]
    record = {"n_positives": int(n_positives), "tier": choice["tier"], "resolved": resolved}
    note = ""
    if from_source and not resolved.get("model"):
        record["source_tier"] = source_tier
        note = f"; learning_rate and weight_decay of the init_from model's tier ({source_tier or 'none: Adam'})"
    log.info(
        "data-size defaults for %d positive training sequences (%s): %s%s", n_positives, choice["tier"],
        "; ".join(f"{k} {_text(v)}" for k, v in resolved.items()), note,
    )  # fmt: skip
    return model, train, record  # type: ignore[return-value]


def _text(value: Any) -> str:
    """A resolved value for the log line (a model as ``name {params}``)."""
    if isinstance(value, Mapping) and "name" in value:
        return f"{value['name']} {value.get('params') or {}}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def auto_motif_filters(known: Sequence[str], tasks: Sequence[str], record: Mapping[str, Any] | None) -> list[str]:
    """The motifs ``model.motif_filters: auto`` seeds the first layer with.

    Parameters
    ----------
    known
        The run's known motifs (``baselines.motifs``): ``SPEC`` (every task) or ``TASK=SPEC`` strings.
    tasks
        The tasks being trained (a ``TASK=SPEC`` of another task is left out).
    record
        :func:`resolve_auto`'s record (None: nothing was ``auto``).

    Returns
    -------
    list of str
        The distinct specs in order when the data-size default chose the compact model (``model: auto``
        and fewer than :data:`COMPACT_BELOW` positives); otherwise empty.
    """
    if not record or "model" not in record.get("resolved", {}) or record.get("tier") != "compact":
        return []
    specs: list[str] = []
    for item in [known] if isinstance(known, str) else known:
        task, sep, spec = str(item).rpartition("=")
        if (not sep or task in tasks) and spec not in specs:
            specs.append(spec)
    return specs
