"""Coordinate datasets (no codes): every stage that reads a split gets the same answer as from stored codes.

The splits are built twice from one genome and labels, with and without codes; evaluation, the
baselines, the training loop's validation and interpretation must not tell them apart (windows made
from the memory-mapped genome a batch at a time, or for the rows a stage needs).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cisflow import artifacts
from cisflow.artifacts import DATASET, read_dataset, write_datasets
from cisflow.data import build_datasets, dataset_arrays
from cisflow.errors import CisflowError
from cisflow.genome import Genome, decode, encode, one_hot, prepare_fasta, write_code_cache, write_fasta
from cisflow.labels import Labels

L = 200
MODEL = {"name": "sequence_dnn", "params": {"num_filters": [4], "conv_width": [6], "pool_width": 8}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A random 2-chromosome genome (GATAAG planted in bound 50 bp bins), its code cache, and both kinds of splits."""
    tmp = tmp_path_factory.mktemp("coords")
    rng = np.random.default_rng(0)
    chroms, labels, keep = {}, {}, {}
    for name, n_bins in (("chrT", 160), ("chrV", 120)):
        codes = rng.integers(0, 4, n_bins * 50).astype(np.uint8)
        bound = rng.random(n_bins) < 0.3
        for i in np.flatnonzero(bound):
            codes[i * 50 + 22 : i * 50 + 28] = encode("GATAAG")
        chroms[name], labels[name], keep[name] = codes, bound[:, None].astype(np.int8), np.ones(n_bins, bool)
    write_fasta(tmp / "g.fa", [(c, decode(v)) for c, v in chroms.items()])
    prepare_fasta(tmp / "g.fa", tmp / "genome.fa")
    write_code_cache(tmp / "genome.fa", tmp / "codes.npy")
    genome = Genome.open(tmp / "codes.npy")
    lab = Labels(["gata"], 50, 50, {c: v.size for c, v in chroms.items()}, labels, keep)
    args = (lab, genome, {"chrT": "train", "chrV": "train"})
    kw = {"input_length": L, "eval_negative_ratio": None, "valid_regions": ["chrV:0-2500"],
          "test_regions": ["chrV:3500-6000"], "seed": 1}  # fmt: skip
    paths = {}
    for kind, with_codes in (("codes", True), ("coords", False)):
        sets = build_datasets(*args, with_codes=with_codes, **kw)
        paths[kind] = {s: tmp / kind / f"{s}.npz" for s in sets}
        write_datasets(sets, paths[kind])
    return {"tmp": tmp, "genome": genome, "cache": tmp / "codes.npy", "labels": lab, "paths": paths}


def test_coordinate_datasets_store_no_codes_and_make_the_same_windows(world):
    from cisflow.loader import dataset_windows

    for split in ("train", "valid", "test"):
        full = read_dataset(world["paths"]["codes"][split])
        coord = read_dataset(world["paths"]["coords"][split])
        assert "codes" not in coord and set(full) - set(coord) == {"codes"}
        for key in coord:
            np.testing.assert_array_equal(coord[key], full[key])
        codes, signal = dataset_arrays(coord, world["genome"])
        np.testing.assert_array_equal(codes, full["codes"])
        assert signal is None
        rows = np.arange(len(coord["labels"]))[::-3]
        np.testing.assert_array_equal(dataset_arrays(coord, world["genome"], rows)[0], full["codes"][rows])
        batches = [b.numpy() for b in dataset_windows(coord, world["genome"], batch_size=7)]
        np.testing.assert_array_equal(np.concatenate(batches), one_hot(full["codes"]))
    with pytest.raises(CisflowError, match="needs the genome"):
        dataset_arrays(coord, None)
    bad = {k: v for k, v in coord.items() if k not in ("chrom",)}
    with pytest.raises(CisflowError, match=r"bad\.npz: a dataset without codes needs chrom and bin_start"):
        write_datasets({"test": bad}, {"test": world["tmp"] / "bad.npz"})
    artifacts.write(world["tmp"] / "bad.npz", DATASET, bad)  # a partial dataset file is readable by key…
    with pytest.raises(CisflowError, match=r"bad\.npz: a dataset without codes needs chrom and bin_start"):
        read_dataset(world["tmp"] / "bad.npz")  # …but not as a whole split


def _model(tmp):
    import torch

    from cisflow import models

    torch.manual_seed(0)
    model = models.build_model(MODEL["name"], 1, L, **MODEL["params"])
    models.save_model(tmp / "model", model, {"tasks": ["gata"], "input_length": L, "seed": 0})
    return tmp / "model" / "model.json"


@pytest.mark.parametrize("rc", [False, True])
def test_evaluation_of_a_coordinate_test_set_equals_the_stored_one(world, rc):
    from cisflow.evaluate import evaluate_model, evaluation_outputs

    tmp, model = world["tmp"], _model(world["tmp"])
    a = evaluate_model(model, world["paths"]["codes"]["test"], evaluation_outputs(tmp / f"a{rc}"), batch_size=8,
                       reverse_complement_average=rc)  # fmt: skip
    b = evaluate_model(model, world["paths"]["coords"]["test"], evaluation_outputs(tmp / f"b{rc}"), batch_size=8,
                       reverse_complement_average=rc, genome=world["cache"])  # fmt: skip
    assert [r | {"task": 0} for r in a] == [pytest.approx(r | {"task": 0}) for r in b]
    pa = artifacts.read(tmp / f"a{rc}" / "predictions.npz", artifacts.PREDICTIONS)
    pb = artifacts.read(tmp / f"b{rc}" / "predictions.npz", artifacts.PREDICTIONS)
    np.testing.assert_allclose(pa["probs"], pb["probs"], rtol=1e-5, atol=1e-6)
    assert "ids" not in pb and (pa["chrom"] == pb["chrom"]).all() and (pa["bin_start"] == pb["bin_start"]).all()
    assert not list((tmp / f"b{rc}").glob(".probs*"))
    with pytest.raises(CisflowError, match="coordinates only: give the genome"):
        evaluate_model(model, world["paths"]["coords"]["test"], evaluation_outputs(tmp / "c"))


def test_baselines_on_coordinates_in_chunks_equal_the_stored_ones(world):
    from cisflow.baselines import baseline_outputs, run_baselines

    tmp, paths = world["tmp"], world["paths"]
    gkm = {"enabled": True, "l": 5, "k": 3, "window": None}
    opts = {"motif_specs": "GATA_disc1", "k": 4, "C": [0.1, 1.0], "gkm": gkm}
    a = run_baselines(*paths["codes"].values(), baseline_outputs(tmp / "ba", ["pwm", "kmer", "gkm"]), **opts)
    b = run_baselines(*paths["coords"].values(), baseline_outputs(tmp / "bb", ["pwm", "kmer", "gkm"]), **opts,
                      genome=world["cache"], chunk=7)  # fmt: skip
    numeric = a.select_dtypes("number").columns
    np.testing.assert_allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float), rtol=1e-6, equal_nan=True)
    assert a["params"].tolist() == b["params"].tolist()
    with pytest.raises(CisflowError, match="needs the genome"):
        run_baselines(*paths["coords"].values(), baseline_outputs(tmp / "bc"), kmer=True)


def test_baselines_read_only_the_sequence_of_a_dataset_with_signal_channels(world):
    """A split made with signal bigWigs names them; the baselines (sequence models) need not open them."""
    from cisflow.baselines import baseline_outputs, run_baselines
    from cisflow.data import dataset_codes

    tmp, paths = world["tmp"], world["paths"]
    named = {s: read_dataset(p) | {"signal_names": np.array(["ATAC.cpm.bw"])} for s, p in paths["coords"].items()}
    write_datasets(named, {s: tmp / "named" / f"{s}.npz" for s in named})
    opts = {"k": 4, "C": [0.1, 1.0], "genome": world["cache"]}
    a = run_baselines(*paths["coords"].values(), baseline_outputs(tmp / "na", ["kmer"]), **opts)
    b = run_baselines(*[tmp / "named" / f"{s}.npz" for s in named], baseline_outputs(tmp / "nb", ["kmer"]), **opts)
    assert a["auprc"].tolist() == b["auprc"].tolist() and a["params"].tolist() == b["params"].tolist()
    test = read_dataset(tmp / "named" / "test.npz")
    np.testing.assert_array_equal(dataset_codes(test, world["genome"]), read_dataset(paths["codes"]["test"])["codes"])
    with pytest.raises(CisflowError, match=r"signal bigWigs \[\] are not the dataset's \['ATAC.cpm.bw'\]"):
        dataset_arrays(test, world["genome"])  # with its signal, the bigWigs are needed
    with pytest.raises(CisflowError, match="needs the genome"):
        dataset_codes(test, None)


def test_capped_sample_keeps_the_strata():
    from cisflow.baselines.pipeline import capped_sample

    labels = np.zeros((1000, 2), np.int8)
    labels[:100, 0] = 1  # 10 % bound in some task
    labels[100:110, 1] = -1
    rows = capped_sample(labels, 200, seed=3)
    assert len(rows) == 200 and (np.diff(rows) > 0).all()
    assert ((labels[rows] == 1).any(axis=1)).sum() == 20
    np.testing.assert_array_equal(capped_sample(labels, 2000, seed=3), np.arange(1000))
    np.testing.assert_array_equal(capped_sample(labels, 200, seed=3), rows)  # seeded
    assert ((labels[capped_sample(labels, 5, seed=0)] == 1).any(axis=1)).sum() == 1  # a stratum keeps a row


def test_training_validates_on_coordinates_as_on_codes(world):
    from cisflow.loader import GenomeBatches
    from cisflow.train import train_model, train_outputs

    tmp, lab, genome = world["tmp"], world["labels"], world["genome"]
    cfg = {"epochs": 2, "batch_size": 16, "learning_rate": 0.01, "patience": 5, "monitor": "loss"}
    runs = {}
    for kind in ("codes", "coords"):
        batches = GenomeBatches(genome, lab, ["chrT"], L, batch_size=16, seed=2)
        out = train_outputs(tmp / f"t{kind}")
        runs[kind] = train_model(None, world["paths"][kind]["valid"], out, MODEL, cfg, seed=1, device="cpu",
                                 train_batches=batches)  # fmt: skip
    import pandas as pd

    untimed = [{k: v for k, v in runs[k]["valid"].items() if k != "seconds"} for k in ("codes", "coords")]
    assert untimed[0] == pytest.approx(untimed[1])
    history = [pd.read_csv(tmp / f"t{k}" / "history.tsv", sep="\t") for k in ("codes", "coords")]
    timed = [c for c in history[0].columns if "second" in c or "time" in c]
    pd.testing.assert_frame_equal(history[0].drop(columns=timed), history[1].drop(columns=timed))


def test_interpretation_of_coordinate_rows_equals_the_stored_ones(world):
    from cisflow.interpret.pipeline import interpret_model, interpret_outputs

    tmp, model = world["tmp"], _model(world["tmp"])
    common = {"methods": ["grad_x_input"], "max_sequences": 5, "seed": 0, "device": "cpu"}
    a = interpret_model(model, world["paths"]["codes"]["test"], interpret_outputs(tmp / "ia", ["grad_x_input"]),
                        **common)  # fmt: skip
    b = interpret_model(model, world["paths"]["coords"]["test"], interpret_outputs(tmp / "ib", ["grad_x_input"]),
                        genome=world["cache"], **common)  # fmt: skip
    sa = artifacts.read(a["grad_x_input"], artifacts.SCORES)
    sb = artifacts.read(b["grad_x_input"], artifacts.SCORES)
    np.testing.assert_array_equal(sa["x"], sb["x"])
    np.testing.assert_allclose(sa["scores"], sb["scores"], rtol=1e-6, atol=1e-7)
    assert json.dumps(sa["ids"].tolist()) == json.dumps(sb["ids"].tolist())


def test_cli_splits_coordinates_then_evaluate_with_the_genome(world, capsys):
    from cisflow.cli import main
    from cisflow.labels import save_labels

    tmp = world["tmp"]
    save_labels(world["labels"], tmp / "labels.npz")
    argv = ["splits", "--labels", str(tmp / "labels.npz"), "--genome", str(world["cache"]), "--input-length", str(L)]
    argv += ["--test", "chrV", "--eval-negative-ratio", "1", "--coordinates", "--out-dir", str(tmp / "cli")]
    assert main(argv) == 0
    test = read_dataset(tmp / "cli" / "test.npz")
    assert "codes" not in test and set(test["chrom"]) == {"chrV"}
    model = _model(tmp)
    evaluate = ["evaluate", "--model", str(model), "--test", str(tmp / "cli" / "test.npz"), "--out-dir"]
    assert main([*evaluate, str(tmp / "cli-eval"), "--genome", str(world["cache"])]) == 0
    assert (tmp / "cli-eval" / "metrics.json").is_file()
    assert main([*evaluate, str(tmp / "cli-eval2")]) == 2
    assert "coordinates only: give the genome" in capsys.readouterr().err
