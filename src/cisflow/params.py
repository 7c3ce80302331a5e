"""Stage parameters: one frozen dataclass per config section, holding that section's defaults.

Each class is defined next to the stage function that uses it (:class:`cisflow.reads.ReadsParams`,
:class:`cisflow.evaluate.pipeline.EvaluateParams`, ...). The package's config schema states the same
defaults for Snakemake; a unit test checks that the two agree, key for key. The CLI builds a stage's
parameters with :meth:`StageParams.resolve` (defaults, then the ``--config`` YAML's section, then the flags
given), so no face states a default of its own. Stage functions log what they received with
:func:`log_params` (one JSON line on the ``cisflow.params`` logger), which lets a test check that the CLI
and Snakemake hand the library the same values.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from cisflow.errors import CisflowError

log = logging.getLogger("cisflow.params")
P = TypeVar("P", bound="StageParams")
_RECORD = "parameters of "


@dataclasses.dataclass(frozen=True)
class StageParams:
    """Base of the per-stage parameter classes; ``SECTION`` names the config section they mirror."""

    SECTION: ClassVar[str] = ""

    @classmethod
    def resolve(
        cls: type[P],
        config: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        source: str | Path = "config",
    ) -> P:
        """The defaults, replaced by ``config[SECTION]``'s keys, then by the ``overrides`` that are not None.

        Raises
        ------
        CisflowError
            A key of the section or of ``overrides`` that is not a field (naming ``source``).
        """
        names = [field.name for field in dataclasses.fields(cls)]
        section = dict((config or {}).get(cls.SECTION) or {})
        given = {key: value for key, value in (overrides or {}).items() if value is not None}
        for key in [*section, *given]:
            if key not in names:
                raise CisflowError(f"unknown key {key!r} in {cls.SECTION} (known: {', '.join(names)})", source)
        values = {**section, **given}
        return cls(**{key: _frozen(value) for key, value in values.items()})

    def as_dict(self) -> dict[str, Any]:
        """The fields as plain YAML/JSON values (tuples as lists)."""
        return {field.name: _plain(getattr(self, field.name)) for field in dataclasses.fields(self)}


def defaults(cls: type[StageParams]) -> dict[str, Any]:
    """``{field: default}`` of a parameter class, as plain values (what the config schema must state)."""
    out = {}
    for field in dataclasses.fields(cls):
        value = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
        out[field.name] = _plain(value)
    return out


def _frozen(value: Any) -> Any:
    """Lists as tuples (recursively), so a frozen parameter object holds no mutable list."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    return value


def _plain(value: Any) -> Any:
    """Tuples as lists and mappings as dicts (recursively)."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def log_params(stage: str, values: Mapping[str, Any]) -> None:
    """Log the parameters a stage function received: ``parameters of STAGE {json}`` (keys sorted)."""
    log.info("%s%s %s", _RECORD, stage, json.dumps(_plain(values), sort_keys=True, default=str))


def logged_params(text: str) -> dict[str, dict[str, Any]]:
    """``{stage: parameters}`` from log text holding :func:`log_params` lines (the last record of a stage wins)."""
    records = {}
    for line in text.splitlines():
        _, found, tail = line.partition(_RECORD)
        if found:
            stage, _, payload = tail.partition(" ")
            records[stage] = json.loads(payload)
    return records
