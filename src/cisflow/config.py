"""Workflow configuration: schema validation with defaults, and checks that run before any job.

The schema (``cisflow/resources/schemas/config.schema.yaml``, package data the Snakefile validates
against too) has ``additionalProperties: false`` at every level, so a mistyped key stops the run
with a message naming it and suggesting the closest key.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from cisflow.errors import CisflowError
from cisflow.io import package_file

log = logging.getLogger(__name__)
#: Renamed config keys, ``{section: {old: new}}``: a config with the old name still runs, with a warning.
RENAMED = {"simulation": {"length": "input_length"}}


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
    _rename_deprecated(config, source)
    schema = load_schema("config")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise CisflowError(_describe(errors[0], schema), source)
    _fill_defaults(config, schema)
    return config


def _rename_deprecated(config: dict, source: str | Path) -> None:
    """Move each old key of :data:`RENAMED` to its new name (in place), with a one-line warning; both → error."""
    for section, names in RENAMED.items():
        part = config.get(section) if isinstance(config, dict) else None
        for old, new in names.items() if isinstance(part, dict) else ():
            if old not in part:
                continue
            if new in part:
                raise CisflowError(f"{section}.{old} is the old name of {section}.{new}: give only {new}", source)
            log.warning("%s: %s.%s is deprecated, use %s.%s", source, section, old, section, new)
            part[new] = part.pop(old)


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
    paths += _signal_paths(config, source)
    motifs = config.get("motifs", {})
    if motifs.get("enabled") and motifs.get("method") not in config["interpret"]["methods"]:
        raise CisflowError(
            f"motifs.method {motifs['method']!r} must be one of interpret.methods {config['interpret']['methods']}",
            source,
        )
    for key, value in paths:
        if not (base / value).is_file():
            raise CisflowError(f"{key}: file {value} does not exist", source)
    _check_ratios(config, source)
    _check_denoise(config, source)
    _check_denovo(config, source)
    _check_motif_specs(config, source, base)
    if config["track"] == "genome":
        _check_geometry(config, source)
        _check_splits(config, source, base)
    else:
        _check_simulation(config, source)
    from cisflow.transfer import PRETRAIN_DIR, check_model_section, pretrain_model_configs

    try:
        model = config["model"]
        if config.get("pretrain", {}).get("enabled"):  # the model starts from the pretrain model
            model = pretrain_model_configs(model, PRETRAIN_DIR)[1]
        init = check_model_section(model)
    except CisflowError as exc:
        raise CisflowError(f"model: {exc}", source) from exc
    _check_init_from(init.init_from, source, base)
    _check_model_fits(config, model, source)
    _check_motif_model(config, source)
    _check_motif_windows(config, source)


def _signal_paths(config: dict, source: str | Path) -> list[tuple[str, str]]:
    """``(key, path)`` of the ``inputs.signal_bigwigs`` to find on disk (not those the workflow makes, under
    ``results/``); CisflowError off the genome track, for one list's repeated file names (they name the channels)
    or cell types with unequal numbers of tracks (:func:`cisflow.cellsignal.check_signal`)."""
    from cisflow.cellsignal import check_signal, per_cell_type

    signal = config.get("inputs", {}).get("signal_bigwigs", [])
    if signal and config["track"] != "genome":
        raise CisflowError("inputs.signal_bigwigs needs track: genome (signal is read under genome windows)", source)
    try:
        check_signal(signal)
    except CisflowError as exc:
        raise CisflowError(f"inputs.signal_bigwigs: {exc}", source) from exc
    listed = signal.items() if per_cell_type(signal) else [(None, signal)]
    return [(f"inputs.signal_bigwigs.{cell}" if cell else "inputs.signal_bigwigs", str(p))
            for cell, tracks in listed for p in tracks if not Path(p).as_posix().startswith("results/")]  # fmt: skip


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


#: What a ``motif_filters`` list holds for the run's de novo seed motifs (:mod:`cisflow.denovo`, rule denovo_seeds).
DENOVO_FILTERS = "denovo"


def _check_denovo(config: dict, source: str | Path) -> None:
    """``denovo`` in a ``motif_filters`` list needs the genome track: the seeds come from its peaks."""
    for section in ("model", "motif_model"):
        filters = config.get(section, {}).get("motif_filters")
        if isinstance(filters, list) and DENOVO_FILTERS in filters and config["track"] != "genome":
            raise CisflowError(f"{section}.motif_filters: denovo needs the genome track (its seeds are found in the "
                               "training peaks)", source)  # fmt: skip


def _check_motif_specs(config: dict, source: str | Path, base: Path) -> None:
    """The motifs of ``model.motif_filters``, ``motif_model.motif_filters`` and ``motifs.truth`` load
    (:func:`cisflow.pwm.load_motifs`) before any job runs; ``denovo``, ``auto`` and files the workflow makes (under
    ``results/``) are resolved later."""
    from cisflow.pwm import load_motifs

    lists = {f"{section}.motif_filters": config.get(section, {}).get("motif_filters") for section in
             ("model", "motif_model")}  # fmt: skip
    if config.get("motifs", {}).get("enabled"):
        lists["motifs.truth"] = config["motifs"].get("truth")
    for key, specs in lists.items():
        for spec in specs if isinstance(specs, list) else ():
            spec = str(spec)
            if spec == DENOVO_FILTERS or Path(spec).as_posix().startswith("results/"):
                continue
            local = str(base / spec) if spec.lower().endswith(".meme") else spec  # an absolute path stays itself
            try:
                load_motifs([local])
            except CisflowError as exc:
                typo = key.endswith("motif_filters") and difflib.get_close_matches(spec, [DENOVO_FILTERS])
                hint = " (did you mean 'denovo'?)" if typo else ""
                raise CisflowError(f"{key}: {exc}{hint}", source) from exc


def _check_init_from(init_from: str | None, source: str | Path, base: Path) -> None:
    """``model.init_from`` names a trained model (``model.json``); one the workflow makes (``results/``) need not
    exist yet."""
    if init_from is None or Path(init_from).as_posix().startswith("results/"):
        return
    if not (base / init_from / "model.json").is_file():
        raise CisflowError(f"model.init_from: no trained cisflow model in {init_from} (no model.json)", source)


def _check_ratios(config: dict, source: str | Path) -> None:
    """Negative-sampling ratios of the evaluation sets are not negative (null: every negative)."""
    for key in ("eval_negative_ratio", "valid_negative_ratio"):
        value = config.get("splits", {}).get(key)
        if value is not None and value < 0:
            message = f"splits.{key}: {value} is negative (negatives per positive; null keeps every one)"
            raise CisflowError(message, source)


def _check_geometry(config: dict, source: str | Path) -> None:
    """Bins tile the genome (stride <= bin size) and each model window covers its bin (input length >= bin size)."""
    labels, length = config["labels"], config["splits"]["input_length"]
    if labels["stride"] > labels["bin_size"]:
        raise CisflowError(
            f"labels.stride ({labels['stride']}) is larger than labels.bin_size ({labels['bin_size']}): the bins would "
            "leave gaps no bin labels; use a stride of at most the bin size",
            source,
        )
    if 2 * labels["summit_flank"] >= labels["bin_size"]:
        raise CisflowError(
            f"labels.summit_flank ({labels['summit_flank']}) must be less than half labels.bin_size "
            f"({labels['bin_size']}): summit ± flank would not fit in a bin",
            source,
        )
    if length < labels["bin_size"]:
        raise CisflowError(
            f"splits.input_length ({length}) is smaller than labels.bin_size ({labels['bin_size']}): each window "
            "would see only part of the bin whose label it learns",
            source,
        )


def _check_simulation(config: dict, source: str | Path) -> None:
    """Each simulated split gets at least one sequence."""
    sim = config["simulation"]
    n = sim["num_pos"] + sim["num_neg"]
    for key in ("valid_fraction", "test_fraction"):
        if round(n * sim[key]) < 1:
            raise CisflowError(f"simulation.{key}: {sim[key]} of {n} sequences leaves the split empty", source)
    from cisflow.simulate import kind_params

    accepted = kind_params(sim["kind"])
    for key in ("center", "min_motifs", "max_motifs", "spacing", "pos_counts", "neg_counts"):
        if sim.get(key) is not None and key not in accepted:
            takes = ", ".join(accepted) or "nothing"
            raise CisflowError(f"simulation.{key} does not apply to kind {sim['kind']!r} (it takes {takes})", source)
    tasks = _simulation_tasks(sim, source)
    _check_task_index(config["interpret"]["task"], tasks, source)
    _check_pretrain_tasks(config.get("pretrain", {}), tasks, source)
    _check_baseline_motifs(config["baselines"]["motifs"], tasks, source)


def _simulation_tasks(sim: Mapping[str, Any], source: str | Path) -> list[str]:
    """The simulation's task names, from a two-sequence simulation of the configured kind (no cost)."""
    from cisflow.simulate import kind_params, simulate

    accepted = kind_params(sim["kind"])
    extra = {k: tuple(v) if isinstance(v, list) else v for k, v in sim.items() if k in accepted and v is not None}
    try:
        sim_args = {"input_length": sim["input_length"], "num_pos": 1, "num_neg": 1, **extra}
        return list(simulate(sim["kind"], sim["motifs"], **sim_args).tasks)
    except CisflowError as exc:
        raise CisflowError(f"simulation: {exc}", source) from exc


@dataclass(frozen=True)
class _Part:
    """A held-out part of the genome named by config key ``key``: a chromosome (``end`` None) or a region."""

    key: str
    split: str
    chrom: str
    start: int = 0
    end: int | None = None

    def bounds(self, sizes: Mapping[str, int]) -> tuple[int, int]:
        return self.start, sizes[self.chrom] if self.end is None else self.end


def _held_parts(splits: Mapping[str, Any], source: str | Path) -> list[_Part]:
    """The chromosomes (a preset overrides the lists) and regions the ``splits`` section holds out."""
    from cisflow.splits import PRESETS, parse_region

    if splits.get("preset"):
        preset = PRESETS[splits["preset"]]
        parts = [_Part("splits.preset", split, c) for split in ("valid", "test") for c in preset[split]]
    else:
        parts = [_Part(f"splits.{sp}_chroms", sp, c) for sp in ("valid", "test") for c in splits[f"{sp}_chroms"]]
    for split in ("valid", "test"):
        for text in splits.get(f"{split}_regions", []):
            try:
                region = parse_region(text)
            except CisflowError as exc:
                raise CisflowError(f"splits.{split}_regions: {exc}", source) from exc
            parts.append(_Part(f"splits.{split}_regions", split, region.chrom, region.start, region.end))
    return parts


def _check_splits(config: dict, source: str | Path, base: Path) -> None:
    """The held-out chromosomes and regions against the genome's index: each one in the genome and labelled, none
    held out twice, a valid and a test part, a bin's worth left for training; then the bin-level checks of
    :func:`cisflow.splits.check_split_config`. A plain-gzip FASTA is read once for its sizes."""
    from cisflow.genome import fasta_sizes, indexed_fasta_name, select_chroms
    from cisflow.splits import check_split_config

    fasta = base / config["genome"]["fasta"]
    sizes = fasta_sizes(fasta, base / "results" / "genome" / f"{indexed_fasta_name(fasta)}.fai")
    genome = config["genome"]
    labelled = select_chroms(sizes, genome.get("chroms"), genome["exclude_chroms"])
    parts = _held_parts(config["splits"], source)
    for part in parts:
        _check_part(part, sizes, set(labelled), config, source)
    _check_disjoint(parts, sizes, source)
    for split in ("valid", "test"):
        if not any(p.split == split for p in parts):
            raise CisflowError(
                f"splits.{split}_chroms: no {split} chromosome or region (name some in splits.{split}_chroms or "
                f"splits.{split}_regions, or set splits.preset)",
                source,
            )
    _check_training_left(parts, {c: sizes[c] for c in labelled}, config["labels"]["bin_size"], source)
    try:
        check_split_config(sizes, config["labels"], config["splits"], genome.get("chroms"), genome["exclude_chroms"])
    except CisflowError as exc:
        raise CisflowError(f"splits: {exc}", source) from exc


def _check_part(part: _Part, sizes: Mapping[str, int], labelled: set[str], config: dict, source: str | Path) -> None:
    """One held-out chromosome or region: in the genome, labelled, within its chromosome."""
    genome = config["genome"]
    if part.chrom not in sizes:
        shown = ", ".join(list(sizes)[:6]) + (" …" if len(sizes) > 6 else "")
        hint = next((f" (did you mean {o}?)" for o in (f"chr{part.chrom}", part.chrom.removeprefix("chr"))
                     if o != part.chrom and o in sizes), "")  # fmt: skip
        message = f"{part.key}: {part.chrom} is not in the genome{hint} ({genome['fasta']} has {shown})"
        raise CisflowError(message, source)
    if part.chrom in genome["exclude_chroms"]:
        raise CisflowError(f"{part.key}: {part.chrom} is also in genome.exclude_chroms, so it has no labels", source)
    if part.chrom not in labelled:
        rule = genome.get("chroms") or "the default rule (alt, random, Un, decoy, HLA, EBV and chrM left out)"
        message = f"{part.key}: {part.chrom} is left out by genome.chroms ({rule}), so it has no labels"
        raise CisflowError(message, source)
    if part.chrom in config["reads"]["drop_chroms"]:
        message = f"{part.key}: {part.chrom} is also in reads.drop_chroms, so its reads are dropped and no bin is bound"
        raise CisflowError(message, source)
    start, end = part.bounds(sizes)
    if end > sizes[part.chrom]:
        raise CisflowError(
            f"{part.key}: {part.chrom}:{start}-{end} ends past the end of {part.chrom} ({sizes[part.chrom]} bp)", source
        )


def _check_disjoint(parts: list[_Part], sizes: Mapping[str, int], source: str | Path) -> None:
    """No stretch of the genome is held out twice (by one key, or by two)."""
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            (a0, a1), (b0, b1) = a.bounds(sizes), b.bounds(sizes)
            if a.chrom == b.chrom and a0 < b1 and b0 < a1:
                where = a.chrom if a.end is None and b.end is None else f"{a.chrom}:{max(a0, b0)}-{min(a1, b1)}"
                if a.key == b.key:
                    raise CisflowError(f"{where} is held out twice in {a.key}", source)
                raise CisflowError(f"{where} is in both {a.key} and {b.key}", source)


def _check_training_left(parts: list[_Part], sizes: Mapping[str, int], bin_size: int, source: str | Path) -> None:
    """Some labelled chromosome keeps at least one bin outside every held-out part."""
    for chrom, size in sizes.items():
        free, pos = 0, 0
        for start, end in [*sorted(p.bounds(sizes) for p in parts if p.chrom == chrom), (size, size)]:
            free, pos = max(free, start - pos), max(pos, end)
        if free >= bin_size:
            return
    raise CisflowError(
        "nothing left for training: every labelled chromosome is held out by splits.valid_chroms / test_chroms / "
        "*_regions or left out by genome.chroms / genome.exclude_chroms",
        source,
    )


def check_samples_config(config: dict, samples: Any, source: str | Path = "config") -> None:
    """Check, before any job runs, the keys that name things in the sample sheet (genome track).

    Parameters
    ----------
    config
        The validated config.
    samples
        The sample sheet (:func:`cisflow.samples.read_sample_sheet`), with its ``group`` and ``cell_type`` columns.
    source
        The config file, named in messages.

    Raises
    ------
    CisflowError
        A held-out cell type not in the sheet, every cell type held out, ``interpret.task`` not a task of the
        model (its tasks: the sheet's groups whose cell type is not held out, sorted), ``pretrain.tasks`` not
        tasks of the model, per-cell-type
        ``inputs.signal_bigwigs`` without a cell type's tracks or with training cell types of different tracks.
    """
    cell_types = sorted(set(samples["cell_type"]))
    held = config["splits"]["heldout_cell_types"]
    for cell_type in held:
        if cell_type not in cell_types:
            raise CisflowError(
                f"splits.heldout_cell_types: {cell_type!r} is not a cell type of the sample sheet {config['samples']} "
                f"(it has {', '.join(cell_types)})",
                source,
            )
    tasks = sorted(g for g in set(samples["group"]) if g.rsplit(".", 1)[1] not in set(held))
    if not tasks:
        raise CisflowError("splits.heldout_cell_types: every cell type is held out, no task is left to train", source)
    _check_task_index(config["interpret"]["task"], tasks, source)
    _check_pretrain_tasks(config.get("pretrain", {}), tasks, source)
    _check_baseline_motifs(config["baselines"]["motifs"], sorted(set(samples["group"])), source)
    _check_cell_signal(config.get("inputs", {}).get("signal_bigwigs", []), tasks, sorted(set(samples["group"])), source)


def _check_cell_signal(signal: Any, train_tasks: list[str], tasks: list[str], source: str | Path) -> None:
    """``inputs.signal_bigwigs`` per cell type: tracks for every cell type of the ``tasks`` (training and held-out,
    ``TASK.CELLTYPE``), the training tasks' cell types with one set (:func:`cisflow.cellsignal.training_tracks`)."""
    from cisflow.cellsignal import cell_type_passes, per_cell_type, training_tracks

    if not per_cell_type(signal):
        return
    try:
        cell_type_passes(tasks, signal)
        training_tracks(train_tasks, signal)
    except CisflowError as exc:
        raise CisflowError(f"inputs.signal_bigwigs: {exc}", source) from exc


def _check_pretrain_tasks(pretrain: dict, tasks: list[str], source: str | Path) -> None:
    """``pretrain.tasks`` are tasks the model trains on (the sheet's groups not of a held-out cell type)."""
    for task in pretrain.get("tasks", []) if pretrain.get("enabled") else []:
        if task not in tasks:
            raise CisflowError(f"pretrain.tasks: {task!r} is not a task the model trains on ({', '.join(tasks)})",
                               source)  # fmt: skip


def _check_task_index(task: int, tasks: list[str], source: str | Path) -> None:
    """``interpret.task`` indexes one of the model's ``tasks``."""
    if task >= len(tasks):
        raise CisflowError(
            f"interpret.task {task} is out of range: the model has {len(tasks)} task(s) ({', '.join(tasks)}), "
            f"numbered from 0",
            source,
        )


def _check_baseline_motifs(specs: list[str], tasks: list[str], source: str | Path) -> None:
    """``baselines.motifs`` entries (``SPEC`` for every task, or ``TASK=SPEC``) name tasks of the test set and
    motifs that load (:func:`cisflow.pwm.load_motif`)."""
    from cisflow.pwm import load_motif

    for item in specs:
        task, sep, spec = item.rpartition("=")
        if sep and task not in tasks:
            message = f"baselines.motifs: {item!r} names task {task!r}, not a task of the data ({', '.join(tasks)})"
            raise CisflowError(message, source)
        try:
            load_motif(spec)
        except CisflowError as exc:
            raise CisflowError(f"baselines.motifs: {exc}", source) from exc


def _input_length(config: dict) -> int:
    """The model's input length (bp): the simulated sequences' or the genome windows'."""
    return config["simulation"]["input_length"] if config["track"] == "simulation" else config["splits"]["input_length"]


def _check_model_fits(config: dict, model: dict, source: str | Path) -> None:
    """The ``model`` section (as the train rule gets it) builds for the input length (on the meta device, no
    memory); ``auto`` models are sized later."""
    from cisflow.autosize import model_is_auto
    from cisflow.models import check_model_config
    from cisflow.transfer import split_model_config

    arch, _ = split_model_config(model)
    if arch is None or model_is_auto(arch):
        return
    length = _input_length(config)
    try:
        check_model_config(arch, length)
    except CisflowError as exc:
        raise CisflowError(f"model: {exc} (for {length} bp inputs)", source) from exc


def motif_model_configs(config: Mapping[str, Any]) -> tuple[dict, dict]:
    """The motif model's ``model`` section (``name``, ``params``) and ``train`` section: the run's ``train``
    section with the keys of ``motif_model.train`` replaced."""
    opts = config["motif_model"]
    model = {"name": opts["name"], "params": deepcopy(opts["params"])}
    if opts.get("motif_filters"):
        model["motif_filters"] = deepcopy(opts["motif_filters"])
    return model, {**deepcopy(config["train"]), **deepcopy(opts["train"])}


def _check_motif_model(config: dict, source: str | Path) -> None:
    """With ``motif_model.enabled``: its ``train`` keys are train-section keys with valid values, and its
    architecture builds for the input length."""
    from cisflow.models import check_model_config

    opts = config.get("motif_model", {})
    if not opts.get("enabled"):
        return
    # the train section's schema, nested so that an error names motif_model.train.<key>
    section = {"type": "object", "properties": {"train": load_schema("config")["properties"]["train"]}}
    wrapper = {"type": "object", "properties": {"motif_model": section}}
    errors = jsonschema.Draft202012Validator(wrapper).iter_errors({"motif_model": {"train": opts["train"]}})
    errors = sorted(errors, key=lambda e: len(e.absolute_path))
    if errors:
        raise CisflowError(_describe(errors[0], wrapper), source)
    model, _ = motif_model_configs(config)
    length = _input_length(config)
    try:
        check_model_config(model, length)
    except CisflowError as exc:
        raise CisflowError(f"motif_model: {exc} (for {length} bp inputs)", source) from exc


def _check_motif_windows(config: dict, source: str | Path) -> None:
    """Motif discovery's windows fit in the model's input."""
    motifs, length = config["motifs"], _input_length(config)
    if not motifs.get("enabled"):
        return
    for key, window in (("motifs.window", motifs.get("window")), ("motifs.hits.window", motifs["hits"]["window"])):
        if window is not None and window > length:
            raise CisflowError(f"{key} ({window}) is longer than the model's input ({length} bp)", source)
