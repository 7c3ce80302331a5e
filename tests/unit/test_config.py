from pathlib import Path

import pytest
import yaml

from cisflow.config import check_inputs, load_config, motif_model_configs, validate_config
from cisflow.errors import CisflowError

REPO = Path(__file__).resolve().parents[2]


def _simulation_config() -> dict:
    with open(REPO / "config" / "examples" / "simulation.yaml") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("path", sorted((REPO / "config").rglob("*.yaml")), ids=lambda p: p.name)
def test_bundled_configs_validate(path):
    config = load_config(path)
    assert config["track"] in {"genome", "simulation"}


def test_misspelled_key_is_named_with_a_suggestion():
    config = _simulation_config()
    config["train"]["epoch"] = config["train"].pop("epochs")
    with pytest.raises(CisflowError, match=r"my.yaml: unknown key 'epoch' \(did you mean 'epochs'\?\) in train"):
        validate_config(config, "my.yaml")


def test_wrong_type_names_the_key():
    config = _simulation_config()
    config["simulation"]["input_length"] = "long"
    with pytest.raises(CisflowError, match=r"simulation.input_length: .long. is not of type .integer."):
        validate_config(config)


def test_old_simulation_length_still_reads_with_a_warning(caplog):
    config = _simulation_config()
    config["simulation"]["length"] = config["simulation"].pop("input_length") // 2
    with caplog.at_level("WARNING", logger="cisflow.config"):
        validated = validate_config(config, "old.yaml")
    assert validated["simulation"]["input_length"] == 500 and "length" not in validated["simulation"]
    assert caplog.messages == ["old.yaml: simulation.length is deprecated, use simulation.input_length"]
    config["simulation"]["length"] = 300
    with pytest.raises(CisflowError, match=r"old.yaml: simulation.length is the old name of simulation.input_length"):
        validate_config(config, "old.yaml")


def test_track_requires_its_sections():
    config = _simulation_config()
    del config["simulation"]
    with pytest.raises(CisflowError, match="'simulation' is a required property"):
        validate_config(config)


def test_defaults_are_filled():
    config = _simulation_config()
    del config["train"]["patience"]
    validate_config(config)
    assert config["train"]["patience"] == "auto"  # chosen from the data size when training starts
    assert config["evaluate"]["batch_size"] == 256


def test_model_and_budget_default_to_the_data_size_choice():
    """A config without model and train sections gets model.name auto and auto for every budget key."""
    config = _simulation_config()
    del config["model"], config["train"]
    validate_config(config)
    assert config["model"]["name"] == "auto" and config["model"]["motif_filters"] == "auto"
    budget = ("epochs", "learning_rate", "weight_decay", "patience", "reverse_complement", "jitter", "positive_repeats")
    assert {config["train"][key] for key in budget} == {"auto"} and config["train"]["batch_size"] == 128
    check_inputs(config, "c.yaml", base_dir=REPO)


def test_missing_input_file_and_unknown_model_param_fail_before_jobs(tmp_path):
    config = load_config(REPO / "config" / "config.yaml")
    config["genome"]["fasta"] = "nowhere/genome.fa"
    with pytest.raises(CisflowError, match=r"genome.fasta: file nowhere/genome.fa does not exist"):
        check_inputs(config, "config.yaml", base_dir=REPO)
    config = _simulation_config()
    validate_config(config)
    config["model"]["params"]["num_filter"] = [3]
    with pytest.raises(CisflowError, match="num_filter"):
        check_inputs(config, "config.yaml", base_dir=REPO)


def test_splits_are_checked_against_the_genome_before_jobs():
    config = load_config(REPO / "config" / "config.yaml")
    check_inputs(config, "config.yaml", base_dir=REPO)  # the demo: valid chrXV, test chrIV
    for change, message in (
        ({"test_chroms": ["chrIV", "chr4"]}, r"config.yaml: splits.test_chroms: chr4 is not in the genome"),
        ({"preset": "dream"}, r"splits.preset: chr11 is not in the genome \(resources/yeast/sacCer3.fa.gz has chrI, "),
        ({"test_regions": ["chrI:0-230218"], "test_chroms": []}, None),
        ({"test_regions": ["chrI:0-10", "chrI:5-20"]}, r"chrI:5-10 is held out twice in splits.test_regions"),
    ):
        bad = load_config(REPO / "config" / "config.yaml")
        bad["splits"].update(change)
        if message is None:
            check_inputs(bad, "config.yaml", base_dir=REPO)
            continue
        with pytest.raises(CisflowError, match=message):
            check_inputs(bad, "config.yaml", base_dir=REPO)
    one = load_config(REPO / "config" / "config.yaml")
    one["genome"]["chroms"] = "chrI"
    one["splits"].update(
        valid_chroms=[], test_chroms=[], valid_regions=["chrI:0-100000"], test_regions=["chrI:100000-230218"]
    )
    with pytest.raises(CisflowError, match=r"config.yaml: nothing left for training"):
        check_inputs(one, "config.yaml", base_dir=REPO)


def test_model_initialisation_and_auto_keys_are_checked_before_jobs(tmp_path):
    """Transfer / motif-seeding keys and 'auto' values validate; a wrong one fails at start-up naming the key."""
    config = _simulation_config()
    config["model"] = {"name": "auto", "motif_filters": ["TAL1_known4"]}
    config["train"] |= {"epochs": "auto", "learning_rate": "auto", "positive_repeats": "auto", "jitter": "auto"}
    validate_config(config)
    assert config["model"]["init_from"] is None and config["model"]["finetune"] == "all"
    assert config["train"]["chance_auroc"] == 0.55 and config["train"]["patience"] == 5
    check_inputs(config, "c.yaml", base_dir=REPO)
    for section, key, value, message in (
        ("train", "epochs", "many", r"train.epochs: 'many' does not match"),
        ("train", "positive_repeats", 0, r"train.positive_repeats: 0 is less than the minimum of 1"),
        ("model", "finetune", "trunk", r"model.finetune: 'trunk' is not one of"),
        ("model", "trunk_lr_scale", 2, r"model.trunk_lr_scale: 2 is greater than the maximum of 1"),
    ):
        bad = _simulation_config()
        bad[section][key] = value
        with pytest.raises(CisflowError, match=message):
            validate_config(bad)
    config["model"] |= {"init_from": "results/pretrain", "finetune": "head"}  # made by the workflow: not checked yet
    with pytest.raises(CisflowError, match=r"model: model\.motif_filters cannot be combined with model\.init_from"):
        check_inputs(config, "c.yaml", base_dir=REPO)
    config["model"]["motif_filters"] = []
    check_inputs(config, "c.yaml", base_dir=REPO)
    config["model"]["init_from"] = str(tmp_path / "nowhere")
    with pytest.raises(CisflowError, match=r"c.yaml: model.init_from: no trained cisflow model in .*nowhere"):
        check_inputs(config, "c.yaml", base_dir=REPO)


def test_pretrain_section_is_checked_before_jobs():
    """pretrain.enabled: the model starts from results/pretrain (finetune: head is then valid), not with a second
    source in model.init_from; the section's defaults are filled."""
    config = _simulation_config()
    validate_config(config)
    assert config["pretrain"] == {"enabled": False, "tasks": []}
    config["model"] |= {"finetune": "head", "unfreeze_epoch": 2}
    with pytest.raises(CisflowError, match=r"c.yaml: model: model.finetune: head needs model.init_from"):
        check_inputs(config, "c.yaml", base_dir=REPO)
    config["pretrain"]["enabled"] = True
    check_inputs(config, "c.yaml", base_dir=REPO)
    config["model"]["init_from"] = "results/other"
    with pytest.raises(
        CisflowError,
        match=r"c.yaml: model: pretrain.enabled starts the model from the pretrain "
        r"model; model.init_from \(results/other\) would name a second source",
    ):
        check_inputs(config, "c.yaml", base_dir=REPO)
    bad = _simulation_config() | {"pretrain": {"enabled": True, "tasks": ["a", "a"]}}
    with pytest.raises(CisflowError, match=r"pretrain.tasks: .* has non-unique elements"):
        validate_config(bad)


def test_motif_model_section_is_checked_before_jobs():
    """motif_model: off by default; its train keys replace the train section's; a key that is not a train key,
    a bad value or an architecture that does not build stops the run naming the key."""
    config = validate_config(_simulation_config())
    assert config["motif_model"] == {"enabled": False, "name": "deepbind", "params": {}, "train": {},
                                     "motif_filters": []}  # fmt: skip
    config["motif_model"] |= {"enabled": True, "params": {"num_filters": 8, "conv_width": 9}, "train": {"epochs": 3}}
    check_inputs(config, "c.yaml", base_dir=REPO)
    model, train = motif_model_configs(config)
    assert model == {"name": "deepbind", "params": {"num_filters": 8, "conv_width": 9}}
    assert train == config["train"] | {"epochs": 3} and train["epochs"] == 3 != config["train"]["epochs"]
    config["motif_model"]["motif_filters"] = ["denovo"]  # seeds from the genome track's peaks only
    assert motif_model_configs(config)[0]["motif_filters"] == ["denovo"]
    with pytest.raises(CisflowError, match=r"c.yaml: motif_model.motif_filters: denovo needs the genome track"):
        check_inputs(config, "c.yaml", base_dir=REPO)
    config["motif_model"]["motif_filters"] = []
    for change, message in (
        ({"train": {"epoch": 3}}, r"c.yaml: unknown key 'epoch' \(did you mean 'epochs'\?\) in motif_model.train"),
        ({"train": {"learning_rate": -1}}, r"c.yaml: motif_model.train.learning_rate: -1 is less than"),
        ({"params": {"conv_width": 5000}}, r"c.yaml: motif_model: .* \(for \d+ bp inputs\)"),
    ):
        bad = validate_config(_simulation_config())
        bad["motif_model"] |= {"enabled": True, **change}
        with pytest.raises(CisflowError, match=message):
            check_inputs(bad, "c.yaml", base_dir=REPO)
    with pytest.raises(CisflowError, match=r"motif_model.name: 'auto' is not one of"):
        validate_config(_simulation_config() | {"motif_model": {"name": "auto"}})


def test_motif_specs_load_before_jobs(tmp_path):
    """Every motif_filters and motifs.truth entry loads before any job runs (a typo of denovo in motif_filters
    gets a hint); denovo, auto and files the workflow makes are resolved later."""
    config = validate_config(_simulation_config())
    config["model"]["motif_filters"] = ["jaspar:MA0363.3", "results/denovo/seeds.meme"]
    check_inputs(config, "c.yaml", base_dir=REPO)
    config["model"]["motif_filters"] = "auto"
    check_inputs(config, "c.yaml", base_dir=REPO)
    (tmp_path / "notes.meme").write_text("TTACCCGG\n")
    for section, filters, message in (
        ("model", ["seeds.meme"], r"c.yaml: model.motif_filters: .*seeds\.meme: MEME file does not exist"),
        ("model", [str(tmp_path / "notes.meme")], r"c.yaml: model.motif_filters: .*notes\.meme: not a MEME motif"),
        ("motif_model", ["denvo"], r"c.yaml: motif_model.motif_filters: .*'denvo' \(did you mean 'denovo'\?\)"),
        (
            "motifs",
            ["jaspar:MA0363.3", "REB1_knwn1"],
            r"c.yaml: motifs.truth: .*unknown ENCODE motif 'REB1_knwn1'; close names: [^(]*$",
        ),
    ):
        bad = validate_config(_simulation_config())
        bad[section]["truth" if section == "motifs" else "motif_filters"] = filters
        bad["motif_model"]["enabled"] = bad["motifs"]["enabled"] = True
        with pytest.raises(CisflowError, match=message):
            check_inputs(bad, "c.yaml", base_dir=REPO)


def test_pretrain_tasks_name_training_tasks():
    import pandas as pd

    from cisflow.config import check_samples_config

    config = validate_config(_simulation_config() | {"track": "genome", "samples": "s.tsv", "genome": {"fasta": "g"},
                                                     "reads": {}, "peaks": {}, "labels": {}, "splits": {}})  # fmt: skip
    config["splits"]["heldout_cell_types"] = ["HepG2"]
    sheet = pd.DataFrame({"group": ["CTCF.K562", "CTCF.HepG2"], "cell_type": ["K562", "HepG2"]})
    config["pretrain"] = {"enabled": True, "tasks": ["CTCF.K562"]}
    check_samples_config(config, sheet, "c.yaml")
    config["pretrain"]["tasks"] = ["CTCF.HepG2"]
    with pytest.raises(
        CisflowError,
        match=r"c.yaml: pretrain.tasks: 'CTCF.HepG2' is not a task the model trains on "
        r"\(CTCF.K562\)",
    ):
        check_samples_config(config, sheet, "c.yaml")
