"""Workflow configuration: schema validation with defaults, and checks that run before any job.

The schema (``cisflow/resources/schemas/config.schema.yaml``, package data the Snakefile validates
against too) has ``additionalProperties: false`` at every level, so a mistyped key stops the run
with a message naming it and suggesting the closest key.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from copy import deepcopy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from cisflow.errors import CisflowError
from cisflow.io import package_file


def schema_path(name: str = "config") -> Path:
    """The ``<name>.schema.yaml`` shipped in the package (``config`` or ``samples``); the Snakefile validates
    against the same file."""
    return package_file(f"resources/schemas/{name}.schema.yaml")


def load_schema(name: str = "config") -> dict:
    """Load the package's ``<name>.schema.yaml``."""
    with open(schema_path(name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _fill_defaults(instance: Any, schema: Mapping) -> None:
    """Set missing ``default`` values of object properties, recursively (in place)."""
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub)


def _describe(error: jsonschema.ValidationError, schema: Mapping) -> str:
    """One line naming the offending key, with a suggestion for misspelled keys."""
    where = ".".join(str(p) for p in error.absolute_path) or "<top level>"
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        hints = []
        for key in extra:
            close = difflib.get_close_matches(key, allowed, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"unknown key {', '.join(hints)} in {where}; allowed: {', '.join(allowed)}"
    if error.validator == "required":
        return f"{where}: {error.message}"
    return f"{where}: {error.message}"


def validate_config(config: dict, source: str | Path = "config") -> dict:
    """Validate ``config`` against the schema, fill defaults, and return it.

    Raises
    ------
    CisflowError
        Naming ``source`` and the first offending key.
    """
    schema = load_schema("config")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise CisflowError(_describe(errors[0], schema), source)
    _fill_defaults(config, schema)
    return config


def load_config(path: str | Path) -> dict:
    """Read a YAML config and validate it (defaults filled)."""
    path = Path(path)
    if not path.is_file():
        raise CisflowError("config file does not exist", path)
    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise CisflowError(f"not valid YAML ({str(exc).splitlines()[0]})", path) from exc
    if not isinstance(config, dict):
        raise CisflowError("config must be a YAML mapping", path)
    return validate_config(config, path)


def check_inputs(config: dict, source: str | Path = "config", base_dir: str | Path = ".") -> None:
    """Check, before any job runs, that every input path in ``config`` exists and the model is known.

    Paths are resolved against ``base_dir`` (the directory Snakemake runs in).
    """
    base = Path(base_dir)
    paths = []
    if config["track"] == "genome":
        paths += [("samples", config["samples"]), ("genome.fasta", config["genome"]["fasta"])]
        for key in ("blacklist",):
            if config["genome"].get(key):
                paths.append((f"genome.{key}", config["genome"][key]))
        if config["peaks"].get("reference"):
            paths.append(("peaks.reference", config["peaks"]["reference"]))
    signals = config.get("inputs", {}).get("signal_bigwigs", [])
    if signals and config["track"] != "genome":
        raise CisflowError("inputs.signal_bigwigs needs track: genome (signal is read under genome windows)", source)
    # bigWigs the workflow makes itself (results/signal/...) need not exist yet
    paths += [("inputs.signal_bigwigs", p) for p in signals if not Path(p).as_posix().startswith("results/")]
    if len({Path(p).name for p in signals}) < len(signals):
        raise CisflowError("inputs.signal_bigwigs: bigWigs need distinct file names (they name the channels)", source)
    motifs = config.get("motifs", {})
    if motifs.get("enabled") and motifs.get("method") not in config["interpret"]["methods"]:
        raise CisflowError(
            f"motifs.method {motifs['method']!r} must be one of interpret.methods {config['interpret']['methods']}",
            source,
        )
    for key, value in paths:
        if not (base / value).is_file():
            raise CisflowError(f"{key}: file {value} does not exist", source)
    if config["track"] == "genome":
        _check_splits(config, source, base)
    from cisflow.transfer import check_model_section

    try:
        init = check_model_section(config["model"])
    except CisflowError as exc:
        raise CisflowError(f"model: {exc}", source) from exc
    _check_init_from(init.init_from, source, base)
    _check_denoise(config, source)


def _check_denoise(config: dict, source: str | Path) -> None:
    """An enabled ``denoise`` section: the genome track, validation chromosomes, a valid model."""
    opts = config.get("denoise", {})
    if not opts.get("enabled"):
        return
    if config["track"] != "genome":
        raise CisflowError("denoise.enabled needs track: genome (denoising reads a library's reads)", source)
    if not config["splits"]["valid_chroms"]:
        raise CisflowError("denoise needs splits.valid_chroms (whole chromosomes pick the best epoch)", source)
    from cisflow.models import check_model_config

    try:
        check_model_config(opts["model"], family="denoise")
    except CisflowError as exc:
        raise CisflowError(f"denoise.model: {exc}", source) from exc


def _check_init_from(init_from: str | None, source: str | Path, base: Path) -> None:
    """``model.init_from`` names a trained model (``model.json``); one the workflow makes (``results/``) need not
    exist yet."""
    if init_from is None or Path(init_from).as_posix().startswith("results/"):
        return
    if not (base / init_from / "model.json").is_file():
        raise CisflowError(f"model.init_from: no trained cisflow model in {init_from} (no model.json)", source)


def _check_splits(config: dict, source: str | Path, base: Path) -> None:
    """The splits against the genome's chromosomes (named ones exist, some training bins are left)."""
    from cisflow.genome import fasta_sizes, indexed_fasta_name
    from cisflow.splits import check_split_config

    fasta = base / config["genome"]["fasta"]
    sizes = fasta_sizes(fasta, base / "results" / "genome" / f"{indexed_fasta_name(fasta)}.fai")
    genome = config["genome"]
    try:
        check_split_config(sizes, config["labels"], config["splits"], genome.get("chroms"), genome["exclude_chroms"])
    except CisflowError as exc:
        raise CisflowError(f"splits: {exc}", source) from exc
