"""Model initialisation for small datasets: transfer from a trained cisflow model, motif-seeded filters.

Transfer learning (Basset-style seeding of a new cell type from a multi-task reference model): the
new model is built with the architecture of a trained cisflow model directory (``model.json`` +
``model.safetensors``) and takes all its weights except the output layer's. Output rows are mapped by
task name: a task the trained model has keeps its row (weights and bias), a new task keeps the fresh,
seeded initialisation, a task the new model lacks is dropped. The trunk is every parameter and buffer
except the output layer (:func:`head_layer`: the last ``Linear`` with one output per task).

Fine-tuning (:class:`InitParams`):

``finetune: all``
    The whole network trains; the trunk at ``trunk_lr_scale`` × ``train.learning_rate``, the output
    layer at the full rate (new heads start from scratch).
``finetune: head``
    The trunk is frozen (no gradients, its BatchNorm and dropout layers in evaluation mode) and only the
    output layer trains; with ``unfreeze_epoch: E`` the trunk joins from epoch ``E`` on, at
    ``trunk_lr_scale`` × the learning rate (a staged unfreeze).

What the trunk holds depends only on the epoch, so a resumed run freezes and unfreezes exactly as an
uninterrupted one. :func:`init_record` (the source weights' SHA-256, its tasks and architecture, the
fine-tuning settings and the seeded motifs) enters the training checkpoint's identity: a checkpoint
written from another source model is not resumed.

Motif-seeded filters (:mod:`cisflow.seeding`): ``motif_filters`` lists known motifs whose two strands
become the first filters of the first convolution; they cannot be combined with ``init_from`` (a
transferred first layer is already trained). ``motif_filters: auto`` seeds with ``known_motifs`` (the
workflow's ``baselines.motifs``) when the data-size default chose the compact model
(:func:`resolve_motif_filters`, :func:`cisflow.autosize.auto_motif_filters`), otherwise with none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from cisflow.errors import CisflowError
from cisflow.params import StageParams

log = logging.getLogger(__name__)

AUTO = "auto"


@dataclass(frozen=True)
class InitParams:
    """How :func:`cisflow.train.train_model` initialises and fine-tunes the model (``model`` config keys).

    Attributes
    ----------
    init_from
        A trained cisflow model directory (or its ``model.json``) to start from; None: random initialisation.
    finetune
        ``all``: the whole network trains (trunk at ``trunk_lr_scale`` × the learning rate); ``head``: only the
        output layer, the trunk frozen (until ``unfreeze_epoch``).
    trunk_lr_scale
        The trunk's learning rate as a fraction of ``train.learning_rate`` when it trains after a transfer.
    unfreeze_epoch
        With ``finetune: head``: the first epoch in which the trunk trains too (None: never).
    motif_filters
        Known motifs (JASPAR ids ``jaspar:MA0363.2`` or ENCODE names) seeding the first layer, both strands;
        or ``auto``: ``known_motifs`` when the data-size default chose the compact model, else none
        (:func:`resolve_motif_filters`).
    known_motifs
        The run's known motifs for ``motif_filters: auto`` (``SPEC`` or ``TASK=SPEC``, as ``baselines.motifs``).
    """

    init_from: str | None = None
    finetune: Literal["all", "head"] = "all"
    trunk_lr_scale: float = 0.1
    unfreeze_epoch: int | None = None
    motif_filters: tuple[str, ...] | Literal["auto"] = ()
    known_motifs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.finetune not in ("all", "head"):
            raise CisflowError(f"model.finetune must be 'all' or 'head'; got {self.finetune!r}")
        scale = self.trunk_lr_scale
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= 1:
            raise CisflowError(f"model.trunk_lr_scale must be a number in (0, 1]; got {scale!r}")
        epoch = self.unfreeze_epoch
        if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1):
            raise CisflowError(f"model.unfreeze_epoch must be a positive integer or null; got {epoch!r}")
        if epoch is not None and self.finetune != "head":
            raise CisflowError("model.unfreeze_epoch needs model.finetune: head (the trunk is never frozen otherwise)")
        if self.init_from is not None and not isinstance(self.init_from, str | Path):
            raise CisflowError(f"model.init_from must be a model directory; got {self.init_from!r}")
        if self.motif_filters != AUTO:
            object.__setattr__(self, "motif_filters", _strings(self.motif_filters))
        object.__setattr__(self, "known_motifs", _strings(self.known_motifs))
        object.__setattr__(self, "trunk_lr_scale", float(scale))
        if self.init_from is not None:
            object.__setattr__(self, "init_from", str(self.init_from))
            if self.motif_filters and self.motif_filters != AUTO:
                raise CisflowError("model.motif_filters cannot be combined with model.init_from (its first layer is "
                                   "already trained)")  # fmt: skip
        elif self.finetune != "all":
            raise CisflowError("model.finetune: head needs model.init_from (a trained model whose trunk to keep)")

    @classmethod
    def coerce(cls, value: InitParams | Mapping[str, Any] | None) -> InitParams:
        """An :class:`InitParams` from itself, a mapping of its keys (unknown keys are errors) or None."""
        if isinstance(value, cls):
            return value
        value = dict(value or {})
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in value if k not in names]
        if unknown:
            raise CisflowError(f"unknown model key {unknown[0]!r}; initialisation keys: {', '.join(names)}")
        return cls(**value)

    @property
    def active(self) -> bool:
        """Whether anything differs from a random initialisation."""
        return self.init_from is not None or bool(self.seed_motifs)

    @property
    def seed_motifs(self) -> tuple[str, ...]:
        """The motifs seeding the first layer (none while ``motif_filters`` is an unresolved ``auto``)."""
        return () if self.motif_filters == AUTO else self.motif_filters  # type: ignore[return-value]


def _strings(value: Any) -> tuple[str, ...]:
    """A tuple of strings from one string, a sequence of them or None."""
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value or ())


@dataclass(frozen=True)
class ModelParams(StageParams):
    """The config's ``model`` section: the architecture (``name``, ``auto`` by default: chosen from the number of
    training positives, :mod:`cisflow.autosize`; and its ``params``, :func:`cisflow.models.build_model`) and the
    initialisation keys (:class:`InitParams`, whose defaults these are; ``motif_filters`` is ``auto`` in a
    config, none for a library call that leaves it out)."""

    SECTION: ClassVar[str] = "model"
    name: str = AUTO
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    init_from: str | None = InitParams.init_from
    finetune: str = InitParams.finetune
    trunk_lr_scale: float = InitParams.trunk_lr_scale
    unfreeze_epoch: int | None = InitParams.unfreeze_epoch
    motif_filters: Any = AUTO


#: ``model`` config keys of the initialisation (:class:`InitParams`); ``name`` and ``params`` are the architecture.
INIT_KEYS = tuple(f.name for f in dataclasses.fields(InitParams))


@dataclass(frozen=True)
class PretrainParams(StageParams):
    """The config's ``pretrain`` section: the workflow's transfer-learning path.

    With ``enabled``, one multi-task model is trained first on ``tasks`` (none given: every task the model
    trains on), with the ``model`` section's architecture (and seeding) and the ``train`` section; the
    model is then started from it as from ``model.init_from`` (:func:`pretrain_model_configs`).
    """

    SECTION: ClassVar[str] = "pretrain"
    enabled: bool = False
    tasks: tuple[str, ...] = ()


#: Where the workflow writes the pretrain model (``pretrain.enabled``), relative to its working directory.
PRETRAIN_DIR = "results/pretrain"


def pretrain_model_configs(model_cfg: Mapping[str, Any], source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``model`` configs of the pretraining run and of the run started from its model in ``source``.

    The pretraining run takes ``model_cfg``'s architecture and ``motif_filters`` (a random or seeded start);
    the second run takes ``init_from: source`` with ``model_cfg``'s fine-tuning keys (``finetune``,
    ``trunk_lr_scale``, ``unfreeze_epoch``) and no seeding (its first layer comes from the source). CisflowError
    when ``model_cfg`` has an ``init_from`` of its own.
    """
    if model_cfg.get("init_from") is not None:
        raise CisflowError(f"pretrain.enabled starts the model from the pretrain model; model.init_from "
                           f"({model_cfg['init_from']}) would name a second source: set one of them")  # fmt: skip
    drop = ("init_from", "finetune", "trunk_lr_scale", "unfreeze_epoch")
    pretrain = {key: value for key, value in model_cfg.items() if key not in drop}
    return pretrain, {**model_cfg, "init_from": str(source), "motif_filters": []}


def resolve_motif_filters(
    init: InitParams, tasks: Sequence[str], record: Mapping[str, Any] | None
) -> tuple[InitParams, dict[str, Any] | None]:
    """``init`` with ``motif_filters: auto`` made concrete, and the data-size record with the choice.

    ``auto`` becomes :func:`cisflow.autosize.auto_motif_filters` of ``init.known_motifs`` for ``tasks``
    (``record``: :func:`cisflow.autosize.resolve_auto`'s), or none after ``init_from``. A seeding choice is
    logged in one line and added to the record's ``resolved`` (``motif_filters``).
    """
    from cisflow.autosize import auto_motif_filters

    record = dict(record) if record else None
    if init.motif_filters != AUTO:
        return init, record
    picks = [] if init.init_from is not None else auto_motif_filters(init.known_motifs, tasks, record)
    if picks and record is not None:
        log.info("data-size defaults: the compact model's first-layer filters seeded with the known motifs %s "
                 "(model.motif_filters: auto; [] turns this off)", ", ".join(picks))  # fmt: skip
        record["resolved"] = {**record["resolved"], "motif_filters": picks}
    return dataclasses.replace(init, motif_filters=tuple(picks)), record


def split_model_config(
    model_cfg: Mapping[str, Any] | None, init: InitParams | Mapping[str, Any] | None = None
) -> tuple[dict[str, Any] | None, InitParams]:
    """A ``model`` config's architecture (``name``, ``params``) and its initialisation keys (:data:`INIT_KEYS`).

    ``init`` (an :class:`InitParams` or a mapping of its keys) is applied over the config's keys; a key the
    config has beyond ``name``, ``params`` and :data:`INIT_KEYS` is a CisflowError naming it.
    """
    if model_cfg is None:
        return None, InitParams.coerce(init)
    if not isinstance(model_cfg, Mapping):
        raise CisflowError("model config must be a mapping with 'name' (and optional 'params')")
    unknown = [k for k in model_cfg if k not in ("name", "params", *INIT_KEYS)]
    if unknown:
        raise CisflowError(f"unknown model key {unknown[0]!r}; valid keys: name, params, {', '.join(INIT_KEYS)}")
    arch = {k: model_cfg[k] for k in ("name", "params") if k in model_cfg}
    keys = {k: model_cfg[k] for k in INIT_KEYS if k in model_cfg}
    given = dataclasses.asdict(init) if isinstance(init, InitParams) else dict(init or {})
    return arch, InitParams.coerce(keys | given)


def check_model_section(model_cfg: Mapping[str, Any]) -> InitParams:
    """Check a workflow ``model`` section before any job runs: the architecture (unless ``auto``) and the
    initialisation keys; returns the latter."""
    from cisflow.autosize import model_is_auto
    from cisflow.models import check_model_config

    arch, init = split_model_config(model_cfg)
    if not model_is_auto(arch):
        check_model_config(arch)
    return init


# ---------------------------------------------------------------------------------------------- head and trunk


def head_layer(model: nn.Module, n_tasks: int) -> tuple[str, nn.Linear]:
    """The output layer: the last ``nn.Linear`` (registration order) with ``n_tasks`` outputs, and its name."""
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear) and m.out_features == n_tasks]
    if not found:
        raise CisflowError(f"model {type(model).__name__} has no linear output layer with {n_tasks} outputs")
    return found[-1]


def _head_keys(model: nn.Module, n_tasks: int) -> set[str]:
    """state_dict keys of the output layer (``<name>.weight`` and ``<name>.bias``)."""
    name, layer = head_layer(model, n_tasks)
    return {f"{name}.{p}" for p, _ in layer.named_parameters()}


# ---------------------------------------------------------------------------------------------- the source model


def _weights_digest(path: Path) -> str:
    """SHA-256 of a file (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_source(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], str]:
    """A trained model's state (CPU tensors), metadata and the SHA-256 of its weights file.

    ``path`` is a model directory or its ``model.json`` (:func:`cisflow.models.load_model`); a missing
    or unreadable model is a CisflowError naming the file.
    """
    from cisflow.models import META_NAME, WEIGHTS_NAME, load_model

    path = Path(path)
    meta_path = path / META_NAME if path.is_dir() else path
    if not meta_path.is_file():
        raise CisflowError("model.init_from: no trained cisflow model here (model.json missing)", meta_path)
    model, meta = load_model(meta_path)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return state, meta, _weights_digest(meta_path.parent / WEIGHTS_NAME)


def source_model_config(model_cfg: Mapping[str, Any] | None, meta: Mapping[str, Any], source: str) -> dict:
    """The model config to build when starting from a trained model with metadata ``meta``.

    ``model_cfg`` None or named ``auto`` takes the trained model's architecture; an explicit one must be it
    (same name and hyperparameters after defaults), else a CisflowError naming ``source``.
    """
    from cisflow.models import model_params

    theirs = {"name": str(meta["name"]), "params": dict(meta.get("params") or {})}
    if model_cfg is None or model_cfg.get("name") in (None, AUTO):
        return theirs
    mine = {"name": str(model_cfg["name"]), "params": dict(model_cfg.get("params") or {})}

    def filled(cfg: Mapping[str, Any]) -> dict[str, Any]:
        defaults = model_params(cfg["name"])
        return {k: list(v) if isinstance(v, tuple) else v for k, v in {**defaults, **cfg["params"]}.items()}

    if mine["name"] != theirs["name"] or filled(mine) != filled(theirs):
        raise CisflowError(
            f"model {mine['name']} {mine['params']} differs from the init_from model's {theirs['name']} "
            f"{theirs['params']}; set model.name: auto to take its architecture",
            source,
        )
    return theirs


# ---------------------------------------------------------------------------------------------- transfer


def _check_source(meta: Mapping[str, Any], source: str, input_length: int, signals: Sequence[str]) -> None:
    """CisflowError naming ``source`` when its input (length, signal channels) differs from the new model's."""
    if int(meta["input_length"]) != int(input_length):
        raise CisflowError(
            f"the init_from model reads {meta['input_length']} bp windows; this training set has {input_length} bp",
            source,
        )
    theirs = list(meta.get("signal_names") or [])
    if theirs != list(signals):
        raise CisflowError(f"the init_from model's signal channels {theirs} differ from these {list(signals)}", source)


@torch.no_grad()
def transfer_weights(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    source_tasks: Sequence[str],
    tasks: Sequence[str],
    source: str = "init_from model",
) -> dict[str, Any]:
    """Copy a trained model's trunk into ``model`` and its output rows by task name (in place).

    Parameters
    ----------
    model
        The new model (``len(tasks)`` outputs), freshly initialised.
    state
        The trained model's state_dict (same architecture; ``len(source_tasks)`` outputs).
    source_tasks, tasks
        Task names of the trained model's outputs and of the new model's.
    source
        Named in errors.

    Returns
    -------
    dict
        ``trunk_tensors`` (copied), ``mapped`` (tasks whose output row was copied), ``new`` (tasks with a
        fresh row), ``dropped`` (trained tasks left out).
    """
    own = model.state_dict()
    head = _head_keys(model, len(tasks))
    trunk = [k for k in own if k not in head]
    missing = [k for k in own if k not in state]
    if missing:
        raise CisflowError(f"the init_from model has no {missing[0]!r}: not the same architecture", source)
    for key in trunk:
        if own[key].shape != state[key].shape:
            raise CisflowError(
                f"{key} is {tuple(state[key].shape)} in the init_from model, {tuple(own[key].shape)} here", source
            )
        own[key].copy_(state[key])
    rows = {t: i for i, t in enumerate(source_tasks)}
    mapped = [t for t in tasks if t in rows]
    for key in head:
        if state[key].shape[1:] != own[key].shape[1:] or state[key].shape[0] != len(source_tasks):
            raise CisflowError(f"output layer {key} does not fit {len(source_tasks)} trained tasks", source)
        for j, task in enumerate(tasks):
            if task in rows:
                own[key][j].copy_(state[key][rows[task]])
    return {
        "trunk_tensors": len(trunk),
        "mapped": mapped,
        "new": [t for t in tasks if t not in rows],
        "dropped": [t for t in source_tasks if t not in set(tasks)],
    }


def initialise(
    model: nn.Module,
    init: InitParams,
    tasks: Sequence[str],
    input_length: int,
    signals: Sequence[str] = (),
    source: tuple[dict, dict, str] | None = None,
) -> dict[str, Any]:
    """Apply ``init`` to a freshly built ``model`` (in place) and return what was done (:func:`init_record`).

    ``source`` is :func:`read_source`'s result for ``init.init_from`` when the caller already read it.
    """
    if init.init_from is not None:
        state, meta, digest = source if source is not None else read_source(init.init_from)
        _check_source(meta, init.init_from, input_length, signals)
        report = transfer_weights(model, state, list(meta.get("tasks") or []), list(tasks), init.init_from)
        log.info(
            "initialised from %s: %d trunk tensors; output rows of %s kept, fresh rows for %s%s; fine-tuning %s",
            init.init_from, report["trunk_tensors"], report["mapped"] or "no task", report["new"] or "no task",
            f", {report['dropped']} dropped" if report["dropped"] else "", _finetune_text(init),
        )  # fmt: skip
        return init_record(init, digest, meta, report)
    if init.seed_motifs:
        from cisflow.pwm import load_motifs
        from cisflow.seeding import seed_filters

        return init_record(init, seeded=seed_filters(model, load_motifs(init.seed_motifs)))
    return init_record(init)


def _finetune_text(init: InitParams) -> str:
    """How the network trains after a transfer, in words."""
    trunk = f"trunk at {init.trunk_lr_scale:g} x the learning rate"
    if init.finetune == "all":
        return f"the whole network ({trunk})"
    if init.unfreeze_epoch is None:
        return "the output layer only (trunk frozen)"
    return f"the output layer, then from epoch {init.unfreeze_epoch} the whole network ({trunk})"


def init_record(
    init: InitParams,
    digest: str | None = None,
    meta: Mapping[str, Any] | None = None,
    report: Mapping[str, Any] | None = None,
    seeded: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """JSON-able record of an initialisation: for ``model.json`` and the checkpoint's identity.

    It holds the source weights' SHA-256 (not its path, so a moved project still resumes), its
    architecture and tasks, the task mapping, the fine-tuning settings and the seeded filters.
    """
    record: dict[str, Any] = {
        "finetune": init.finetune,
        "trunk_lr_scale": init.trunk_lr_scale,
        "unfreeze_epoch": init.unfreeze_epoch,
        "motif_filters": list(init.seed_motifs),
    }
    if digest is not None and meta is not None:
        record["source"] = {"sha256": digest, "name": meta.get("name"), "params": meta.get("params"),
                            "tasks": list(meta.get("tasks") or [])}  # fmt: skip
        record["tasks"] = dict(report or {})
    if seeded:
        record["seeded_filters"] = [dict(s) for s in seeded]
    return record


# ---------------------------------------------------------------------------------------------- fine-tuning


def trunk_frozen(init: InitParams, epoch: int) -> bool:
    """Whether the trunk is frozen in (1-based) ``epoch``."""
    if init.init_from is None or init.finetune != "head":
        return False
    return init.unfreeze_epoch is None or epoch < init.unfreeze_epoch


def make_optimizer(
    model: nn.Module, init: InitParams, n_tasks: int, learning_rate: float, weight_decay: float
) -> torch.optim.Optimizer:
    """Adam over the model: one group at ``learning_rate``, or after a transfer the trunk (group 0) at
    ``trunk_lr_scale`` × it and the output layer (group 1) at the full rate."""
    if init.init_from is None:
        return torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    _, layer = head_layer(model, n_tasks)
    head = list(layer.parameters())
    trunk = [p for p in model.parameters() if all(p is not h for h in head)]
    groups = [{"params": trunk, "lr": learning_rate * init.trunk_lr_scale}, {"params": head, "lr": learning_rate}]
    return torch.optim.Adam(groups, lr=learning_rate, weight_decay=weight_decay)


def set_trainable(model: nn.Module, init: InitParams, n_tasks: int, epoch: int) -> bool:
    """Freeze or free the trunk for ``epoch`` (call after ``model.train()``); returns whether it is frozen.

    A frozen trunk gets no gradients and runs in evaluation mode (BatchNorm statistics and dropout fixed),
    so it computes the same features in training as at prediction.
    """
    if init.init_from is None:
        return False
    frozen = trunk_frozen(init, epoch)
    _, layer = head_layer(model, n_tasks)
    head = {id(p) for p in layer.parameters()}
    for p in model.parameters():
        p.requires_grad_(not frozen or id(p) in head)
    if frozen and model.training:
        model.eval()
        layer.train()
    return frozen
