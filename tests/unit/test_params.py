"""Stage parameters defined once: the dataclasses agree with the config schema, and resolve in one order."""

import inspect
import logging

import pytest

from cisflow.baselines.pipeline import BaselinesParams, run_baselines
from cisflow.config import _fill_defaults, load_schema
from cisflow.data.pipeline import InputsParams, SplitsParams
from cisflow.denoise.infer import peaks_from_probability
from cisflow.denoise.pipeline import denoise_sample
from cisflow.denoise.settings import DenoiseParams
from cisflow.denovo import DenovoParams, discover_seed_motifs, find_seed_motifs, seed_sequences
from cisflow.errors import CisflowError
from cisflow.evaluate.pipeline import EvaluateParams, evaluate_model
from cisflow.interpret.pipeline import InterpretParams, interpret_model
from cisflow.labels.pipeline import GenomeParams, LabelsParams, labels_from_files
from cisflow.motifs.pipeline import MotifsParams
from cisflow.params import _plain, defaults, log_params, logged_params
from cisflow.peaksets import PeaksParams
from cisflow.profile.pipeline import ProfileParams, make_datasets
from cisflow.qc.pipeline import QcParams, run_qc
from cisflow.reads import ReadsParams
from cisflow.simulate import SimulationParams, run_simulation
from cisflow.train import TRAIN_DEFAULTS
from cisflow.train.settings import TrainParams
from cisflow.transfer import ModelParams, PretrainParams

CLASSES = [ReadsParams, PeaksParams, LabelsParams, SplitsParams, TrainParams, EvaluateParams, BaselinesParams,
           InterpretParams, SimulationParams, MotifsParams, DenoiseParams, ModelParams, GenomeParams, InputsParams,
           QcParams, ProfileParams, PretrainParams, DenovoParams]  # fmt: skip


def _schema_defaults(section: str) -> dict:
    """What Snakemake's config holds for a section the YAML leaves empty (the schema's defaults, filled)."""
    filled = {}
    _fill_defaults(filled, load_schema("config")["properties"][section])
    return filled


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.SECTION)
def test_each_field_and_default_equals_the_schema(cls):
    schema = _schema_defaults(cls.SECTION)
    assert set(defaults(cls)) == set(load_schema("config")["properties"][cls.SECTION]["properties"])
    assert {key: defaults(cls)[key] for key in schema} == schema
    # a key the schema leaves without a default is required, or takes a default chosen elsewhere (None)
    assert all(defaults(cls)[key] in (None, []) for key in set(defaults(cls)) - set(schema))


def test_train_defaults_equal_the_schema():
    # the six defaults the CLI and Snakemake used to disagree on, among them train.epochs and reverse_complement
    assert TRAIN_DEFAULTS == _schema_defaults("train")
    assert TRAIN_DEFAULTS["epochs"] == "auto" and TRAIN_DEFAULTS["reverse_complement"] == "auto"  # data-size
    assert ModelParams().name == "auto"
    assert ReadsParams().dedup == "position" and EvaluateParams().reverse_complement_average is True
    assert BaselinesParams().C == (0.1, 1.0) and InterpretParams().methods == ("ism", "grad_x_input")


# stage function → its parameter class, and the arguments whose field has another name (None: not compared;
# run_baselines' gkm=None runs no gkm-SVM, as the schema's {"enabled": false, ...} does)
SIGNATURES = [
    (evaluate_model, EvaluateParams, {}),
    (run_baselines, BaselinesParams, {"gkm": None}),
    (interpret_model, InterpretParams, {"n_references": "deepshap_references", "precision": "deepshap_precision"}),
    (run_simulation, SimulationParams, {}),
    (denoise_sample, DenoiseParams, {"min_length": "min_peak_length"}),
    (peaks_from_probability, DenoiseParams, {"min_length": "min_peak_length"}),
    (run_qc, QcParams, {}),
    (labels_from_files, GenomeParams, {}),
    (make_datasets, ProfileParams, {}),
    (find_seed_motifs, DenovoParams, {}),
    (discover_seed_motifs, DenovoParams, {}),
    (seed_sequences, DenovoParams, {}),
]


@pytest.mark.parametrize("func, cls, renamed", SIGNATURES, ids=lambda x: getattr(x, "__name__", ""))
def test_stage_function_defaults_are_the_dataclass_defaults(func, cls, renamed):
    """A library call that leaves an argument out gets what Snakemake and the CLI get (one source)."""
    fields = defaults(cls)
    checked = {}
    for name, arg in inspect.signature(func).parameters.items():
        field = renamed.get(name, name)
        if field is None:
            continue
        if field in fields and arg.default is not inspect.Parameter.empty:
            checked[name] = _plain(arg.default)
            assert checked[name] == fields[field], f"{func.__name__}({name}=...) differs from {cls.__name__}"
    assert checked  # the mapping names real arguments
    # the three that used to differ: both strands, C chosen among 0.1 and 1, ISM and grad × input
    assert inspect.signature(evaluate_model).parameters["reverse_complement_average"].default is True
    assert inspect.signature(run_baselines).parameters["C"].default == (0.1, 1.0)
    assert inspect.signature(interpret_model).parameters["methods"].default == ("ism", "grad_x_input")


def test_resolve_order_defaults_then_config_then_flags():
    config = {"reads": {"min_mapq": 10, "drop_chroms": ["chrM", "chrY"]}}
    opts = ReadsParams.resolve(config, {"min_mapq": 20, "dedup": None})
    assert opts.min_mapq == 20  # a flag given wins over the config
    assert opts.dedup == "position"  # a flag not given (None) leaves the default
    assert opts.drop_chroms == ("chrM", "chrY")  # the config's list, frozen
    assert opts.as_dict()["drop_chroms"] == ["chrM", "chrY"]
    assert ReadsParams.resolve(None) == ReadsParams()


@pytest.mark.parametrize("where", ["config", "flags"])
def test_resolve_refuses_an_unknown_key(where):
    config, flags = ({"evaluate": {"batchsize": 3}}, None) if where == "config" else (None, {"batchsize": 3})
    with pytest.raises(CisflowError, match=r"run\.yaml: unknown key 'batchsize' in evaluate \(known: fdrs, "):
        EvaluateParams.resolve(config, flags, "run.yaml")


def test_logged_parameters_read_back(caplog):
    with caplog.at_level(logging.INFO, logger="cisflow.params"):
        log_params("evaluate", {"fdrs": (0.1, 0.5), "batch_size": 8})
        log_params("baselines", {"C": [1.0], "motifs": None})
        log_params("evaluate", {"fdrs": [0.2], "batch_size": 4})
    records = logged_params(caplog.text)
    assert records == {"evaluate": {"batch_size": 4, "fdrs": [0.2]}, "baselines": {"C": [1.0], "motifs": None}}


def test_denoise_training_defaults_equal_the_schema():
    from cisflow.denoise.train import TRAIN_DEFAULTS as DENOISE_TRAIN

    schema = _schema_defaults("denoise")
    assert {key: schema[key] for key in DENOISE_TRAIN} == DENOISE_TRAIN


def _config_yaml(tmp_path, sections: str):
    """A valid workflow config with the given sections (YAML text)."""
    path = tmp_path / "run.yaml"
    head = "track: simulation\nseed: 7\nmodel: {name: basset}\ntrain: {}\nevaluate: {}\ninterpret: {}\n"
    path.write_text(f"{head}simulation: {{kind: single_motif_detection, motifs: [CTCF_known1]}}\n{sections}")
    return path


def test_denoise_cli_takes_the_config_section_then_the_flags(tmp_path, monkeypatch):
    """``denoise train|apply|pair --config``: the section's values, a flag given wins, the rest the defaults."""
    from cisflow.cli import main
    from cisflow.denoise import pairs, pipeline, train
    from cisflow.denoise.settings import TRAIN_DEFAULTS, DenoiseParams

    calls = {}
    monkeypatch.setattr(train, "train_denoiser", lambda *a, **kw: calls.setdefault("train", kw))
    monkeypatch.setattr(pipeline, "denoise_sample", lambda *a, **kw: calls.setdefault("apply", kw))
    monkeypatch.setattr(pairs, "make_training_pair", lambda *a, **kw: calls.setdefault("pair", kw))
    (tmp_path / "sizes").write_text("chr1\t1000\n")
    config = _config_yaml(tmp_path, "denoise: {epochs: 4, pad: 300, flank: 50, threshold: 0.7, "
                                    "model: {name: denoising_resnet, params: {channels: 8}}}\n")  # fmt: skip
    common = ["--genome", str(tmp_path / "sizes"), "--config", str(config), "--out-dir", str(tmp_path / "o")]
    bws = ["--noisy", "n.bw", "--clean", "c.bw", "--peaks", "p.narrowPeak", "--valid", "chr1"]
    assert main(["denoise", "train", *bws, *common, "--batch-size", "3"]) == 0
    got = calls.pop("train")
    assert got["train_cfg"] == TRAIN_DEFAULTS | {"epochs": 4, "pad": 300, "batch_size": 3}
    assert got["model_cfg"] == {"name": "denoising_resnet", "params": {"channels": 8}}
    assert got["flank"] == 50 and got["seed"] == 7
    assert main(["denoise", "train", *bws, *common, "--pad", "null", "--seed", "1", "--model-params", "{}"]) == 0
    got = calls.pop("train")
    assert got["train_cfg"]["pad"] is None and got["seed"] == 1 and got["model_cfg"]["params"] == {}
    assert main(["denoise", "apply", "--model", "m", "--noisy", "n.bw", *common, "--min-length", "20"]) == 0
    got = calls.pop("apply")
    assert got["threshold"] == 0.7 and got["min_length"] == 20
    assert main(["denoise", "pair", "--reads", "r.tagAlign.gz", "--fraction", "0.1", *common]) == 0
    assert calls["pair"]["flank"] == 50
    # without --config: the dataclass defaults, which are the schema's
    assert main(["denoise", "apply", "--model", "m", "--noisy", "n.bw", *common[:2], *common[4:]]) == 0
    assert calls["apply"]["threshold"] == 0.5 and calls["apply"]["min_length"] == 50
    assert main(["denoise", "train", *bws, *common[:2], *common[4:]]) == 0
    assert calls["train"]["train_cfg"] == TRAIN_DEFAULTS and calls["train"]["flank"] == DenoiseParams.flank
    assert calls["train"]["seed"] == 0


def test_profile_cli_takes_the_config_section_then_the_flags(tmp_path, monkeypatch):
    """``profile tracks|datasets|bias|train|interpret --config``: what Snakemake's rules pass from the same YAML."""
    from cisflow.cli import main
    from cisflow.profile import pipeline
    from cisflow.profile.training import PROFILE_TRAIN_DEFAULTS

    calls = {}
    for name in ("make_tracks", "make_datasets", "train_bias", "train_profile", "interpret_profile"):
        monkeypatch.setattr(pipeline, name, lambda *a, _name=name, **kw: calls.__setitem__(_name, (a, kw)))
    config = _config_yaml(tmp_path, "splits: {valid_chroms: [chr2], test_chroms: [chr3]}\nprofile: {shift: [4, -5], "
                          "input_length: 500, jitter: 10, bias: {epochs: 3}, train: {batch_size: 16}, "
                          "model: {filters: 8}, interpret: {max_regions: 7, targets: [counts]}}\n")  # fmt: skip
    cfg = ["--config", str(config)]
    tracks = ["profile", "tracks", "--tagalign", "t.gz", "--sizes", "s", "--assay", "atac", "--out", "a.bw"]
    assert main([*tracks, *cfg]) == 0
    assert calls["make_tracks"][1]["shift"] == (4, -5) and calls["make_tracks"][1]["seed"] == 7
    data = ["--genome", "g.fa", "--peaks", "p.narrowPeak", "--track", "T=a.bw", "--out-dir", "d"]
    assert main(["profile", "datasets", *data, *cfg, "--jitter", "0", "--test-chrom", "chr4"]) == 0
    got = calls["make_datasets"][1]
    assert (got["input_length"], got["output_length"], got["jitter"], got["background_ratio"]) == (500, 1000, 0, 1.0)
    assert got["valid_chroms"] == ("chr2",) and got["test_chroms"] == ("chr4",) and got["seed"] == 7
    npz = ["--train", "t.npz", "--valid", "v.npz", "--out-dir", "m"]
    assert main(["profile", "bias", *npz, *cfg]) == 0
    args, kw = calls["train_bias"]
    assert args[3] == {"filters": 128, "n_layers": 4} and kw["threshold_factor"] == 0.5
    assert args[4] == PROFILE_TRAIN_DEFAULTS | {"batch_size": 16, "epochs": 3} and args[5] == 7
    assert main(["profile", "train", *npz, *cfg, "--train-config", '{"epochs": 2}', "--seed", "1"]) == 0
    args, _ = calls["train_profile"]
    assert args[3] == {"name": "bpnet", "params": {"filters": 8}} and args[5] == 1
    assert args[4] == PROFILE_TRAIN_DEFAULTS | {"batch_size": 16, "epochs": 2}
    model = ["--model", "m", "--data", "d.npz", "--out-dir", "i"]
    assert main(["profile", "interpret", *model, *cfg, "--n-references", "3"]) == 0
    args, kw = calls["interpret_profile"]
    assert set(args[2]) == {"counts", "summary"} and (kw["max_regions"], kw["n_references"]) == (7, 3)
    # without --config: the schema's defaults (the bias model chrombpnet's 128 x 4, the profile head explained)
    assert main(["profile", "bias", *npz]) == 0 and calls["train_bias"][0][3] == {"filters": 128, "n_layers": 4}
    assert calls["train_bias"][0][4] == PROFILE_TRAIN_DEFAULTS and calls["train_bias"][0][5] == 0
    assert main(["profile", "interpret", *model]) == 0
    assert set(calls["interpret_profile"][0][2]) == {"profile", "summary"}
    assert calls["interpret_profile"][1]["max_regions"] == 1000
    monkeypatch.undo()
    assert inspect.signature(pipeline.interpret_profile).parameters["n_references"].default == 20


def test_denovo_cli_takes_the_config_section_then_the_flags(tmp_path, monkeypatch):
    """``cisflow denovo --config``: the ``denovo_seeds`` section and seed, a flag given wins, else the defaults."""
    from cisflow import denovo
    from cisflow.cli import main

    calls = []
    monkeypatch.setattr(denovo, "find_seed_motifs", lambda *a, **kw: calls.append((a, kw)) or [])
    config = _config_yaml(tmp_path, "denovo_seeds: {n_motifs: 3, max_gap: 2, min_z: 6.5}\n")
    base = ["denovo", "--peaks", "T=p.narrowPeak", "--labels", "l.npz", "--genome", "g.npy", "--splits", "s.json",
            "--out-dir", str(tmp_path / "o")]  # fmt: skip
    assert main([*base, "--config", str(config), "--max-gap", "5"]) == 0
    args, kw = calls.pop()
    out = tmp_path / "o"
    assert args[0] == {"T": "p.narrowPeak"} and args[4:] == (out / "seeds.meme", out / "seeds.tsv")
    assert kw == DenovoParams().as_dict() | {"n_motifs": 3, "max_gap": 5, "min_z": 6.5, "seed": 7}
    assert main(base) == 0
    assert calls.pop()[1] == DenovoParams().as_dict() | {"seed": 1}
