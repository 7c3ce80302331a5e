"""The ``--config`` YAML of the stage commands (their parameters: :meth:`cisflow.params.StageParams.resolve`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_yaml_config(path: str | Path | None) -> dict[str, Any]:
    """A workflow YAML checked against the config schema with its defaults filled; ``{}`` for None."""
    if path is None:
        return {}
    from cisflow.config import load_config

    return load_config(path)
