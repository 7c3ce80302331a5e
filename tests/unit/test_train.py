"""Tests for cisflow.train and ``cisflow train``: loss, class weights, learning, resume, determinism."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cisflow._testing.artifacts import write_dataset
from cisflow.artifacts import DATASET, read_dataset, write
from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.genome import encode
from cisflow.models import load_model
from cisflow.predict import predict
from cisflow.train import (
    TRAIN_DEFAULTS,
    check_train_config,
    class_pos_weight,
    cpu_state_dict,
    format_metrics_line,
    is_improvement,
    masked_bce_loss,
    train_model,
    train_outputs,
)


def test_is_improvement_and_cpu_state_dict() -> None:
    assert is_improvement("loss", 5.0, None) and is_improvement("auprc", math.nan, None)  # the first epoch
    assert is_improvement("loss", 0.4, 0.5) and not is_improvement("loss", 0.5, 0.5)
    assert is_improvement("auroc", 0.6, 0.5) and not is_improvement("auprc", 0.4, 0.5)
    assert not is_improvement("loss", math.nan, 0.5) and is_improvement("loss", 0.9, math.nan)
    model = torch.nn.Linear(3, 2)
    state = cpu_state_dict(model)
    with torch.no_grad():
        model.weight.add_(1.0)
    assert not torch.equal(state["weight"], model.weight)  # a copy, not a view of the live weights
    assert set(state) == {"weight", "bias"} and state["weight"].device.type == "cpu"


def _train(train, valid, out_dir, *args, **kwargs):
    """:func:`train_model` writing the usual files into ``out_dir``."""
    return train_model(train, valid, train_outputs(out_dir), *args, **kwargs)


MODEL = {"name": "sequence_dnn", "params": {"num_filters": [6], "conv_width": [6], "pool_width": 35, "dropout": 0.1}}
TRAIN = {"epochs": 6, "batch_size": 32, "learning_rate": 0.02, "patience": 10, "monitor": "auroc"}


def _planted(n: int, length: int, seed: int, tasks: tuple[str, ...] = ("gata",)) -> dict[str, np.ndarray]:
    """Random sequences; task 0 is bound iff GATAAG is planted; later tasks are noise. One label -1."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length), dtype=np.uint8)
    bound = rng.random(n) < 0.4
    for i in np.flatnonzero(bound):
        pos = rng.integers(0, length - 6)
        codes[i, pos : pos + 6] = encode("GATAAG")
    labels = np.stack([bound] + [rng.random(n) < 0.5 for _ in tasks[1:]], axis=1).astype(np.int8)
    labels[0, -1] = -1
    return {"codes": codes, "labels": labels, "tasks": np.array(tasks), "ids": np.array([f"s{i}" for i in range(n)])}


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models train faster on one thread (and the machine is shared); restore afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("data")
    paths = {}
    for split, n, seed in (("train", 400, 0), ("valid", 150, 1)):
        paths[split] = root / f"{split}.npz"
        write_dataset(paths[split], **_planted(n, 40, seed))
    return paths


def test_masked_bce_known_answer() -> None:
    logits = torch.tensor([[0.0, 2.0], [-1.0, 3.0], [1.5, -0.5]])
    labels = torch.tensor([[1, -1], [0, 1], [-1, 0]], dtype=torch.int8)
    # kept entries: (0,0) y=1 z=0, (1,0) y=0 z=-1, (1,1) y=1 z=3, (2,1) y=0 z=-0.5
    expected = (math.log(2) + math.log1p(math.exp(-1)) + math.log1p(math.exp(-3)) + math.log1p(math.exp(-0.5))) / 4
    assert float(masked_bce_loss(logits, labels)) == pytest.approx(expected, rel=1e-6)
    # positive weights multiply only the positive terms
    pw = torch.tensor([2.0, 3.0])
    weighted = (
        2 * math.log(2) + math.log1p(math.exp(-1)) + 3 * math.log1p(math.exp(-3)) + math.log1p(math.exp(-0.5))
    ) / 4
    assert float(masked_bce_loss(logits, labels, pw)) == pytest.approx(weighted, rel=1e-6)
    assert float(masked_bce_loss(logits, torch.full((3, 2), -1, dtype=torch.int8))) == 0.0


def test_class_pos_weight() -> None:
    labels = np.array([[1, 0], [0, 1], [0, -1], [0, 1], [-1, 0]], dtype=np.int8)
    # task 0: 1 positive, 3 negatives -> 3; task 1: 2 positives, 2 negatives -> 1
    assert class_pos_weight(labels, "auto").tolist() == [3.0, 1.0]
    assert class_pos_weight(labels, None) is None
    assert class_pos_weight(np.zeros((3, 1), dtype=np.int8), "auto").tolist() == [1.0]


def test_check_train_config() -> None:
    assert check_train_config(None) == TRAIN_DEFAULTS
    assert check_train_config({"epochs": 3})["epochs"] == 3
    with pytest.raises(CisflowError, match="unknown train key 'epoch'"):
        check_train_config({"epoch": 3})
    with pytest.raises(CisflowError, match=r"train\.monitor must be one of auroc, auprc, loss"):
        check_train_config({"monitor": "accuracy"})
    with pytest.raises(CisflowError, match=r"train\.batch_size must be a positive integer"):
        check_train_config({"batch_size": 0})
    with pytest.raises(CisflowError, match="class_weights must be null or 'auto'"):
        check_train_config({"class_weights": "balanced"})


def test_outputs_are_checked(tmp_path, data) -> None:
    outputs = {k: v for k, v in train_outputs(tmp_path / "o").items() if k != "checkpoint"}
    with pytest.raises(CisflowError, match="training outputs lack checkpoint"):
        train_model(data["train"], data["valid"], outputs, MODEL, TRAIN, seed=0)
    assert not (tmp_path / "o").exists()


def test_mismatched_tasks(tmp_path, data) -> None:
    write_dataset(tmp_path / "v.npz", **_planted(20, 40, 5, tasks=("gata", "other")))
    with pytest.raises(CisflowError, match=r"v.npz: tasks \['gata', 'other'\] differ from training tasks"):
        _train(data["train"], tmp_path / "v.npz", tmp_path / "out", MODEL, TRAIN, seed=0)


def test_format_metrics_line() -> None:
    m = {"loss": 0.22137, "balanced_accuracy": 0.91234, "auroc": 0.9701, "auprc": 0.968, "recall_at_5_fdr": 0.701}
    m |= {"recall_at_10_fdr": 0.852, "recall_at_20_fdr": 0.923, "num_positives": 2100, "num_negatives": 2100}
    assert format_metrics_line(3, "Train", m) == (
        "Epoch 3: Train Loss: 0.2214\tBalanced Accuracy: 91.23%\t auROC: 0.970\t auPRC: 0.968\t "
        "Recall at 5%|10%|20% FDR: 70.1%|85.2%|92.3%\t Num Positives: 2100\t Num Negatives: 2100"
    )


def test_learns_planted_kmer(tmp_path, data, caplog) -> None:
    caplog.set_level(logging.INFO, logger="cisflow.train")
    out = tmp_path / "out"
    summary = _train(data["train"], data["valid"], out, MODEL, TRAIN, seed=0, device="cpu")
    assert summary["completed"] and summary["valid"]["auroc"] > 0.9
    for name in ("model.safetensors", "model.json", "history.tsv", "learning_curve.png", "checkpoint.pt"):
        assert (out / name).is_file()
    model, meta = load_model(out)
    assert meta["best_epoch"] == summary["best_epoch"] and meta["seed"] == 0 and meta["tasks"] == ["gata"]
    valid = read_dataset(data["valid"])
    probs = predict(model, valid["codes"], device="cpu")
    keep = valid["labels"][:, 0] >= 0
    bound = valid["labels"][keep, 0] == 1
    assert probs[keep, 0][bound].mean() > probs[keep, 0][~bound].mean() + 0.3
    header = (out / "history.tsv").read_text().splitlines()[0].split("\t")
    assert header[:5] == ["epoch", "split", "loss", "auroc", "auprc"] and "recall_at_10_fdr" in header
    assert len((out / "history.tsv").read_text().splitlines()) == 1 + 2 * summary["epochs_run"]
    assert "Epoch 1: Train Loss: " in caplog.text and "Epoch 1: Valid Loss: " in caplog.text
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == summary["epochs_run"] and ckpt["best_epoch"] == summary["best_epoch"]


def _weights(path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "model.safetensors"))


def _metric_rows(path) -> list[list[str]]:
    rows = [line.split("\t") for line in (path / "history.tsv").read_text().splitlines()]
    return [row[:-1] for row in rows]  # drop the seconds column


def test_resume_after_kill_is_bit_identical_and_deterministic(tmp_path, data) -> None:
    model_cfg = {
        "name": "sequence_dnn",
        "params": {**MODEL["params"], "num_filters": [4, 4], "conv_width": [5, 3], "pool_width": 10},
    }
    train_cfg = {**TRAIN, "epochs": 4, "reverse_complement": True, "class_weights": "auto", "monitor": "loss"}
    full = _train(data["train"], data["valid"], tmp_path / "full", model_cfg, train_cfg, seed=3, device="cpu")
    part = _train(
        data["train"], data["valid"], tmp_path / "cut", model_cfg, train_cfg, seed=3, device="cpu", stop_after_epoch=2
    )
    assert not part["completed"] and part["epochs_run"] == 2 and not (tmp_path / "cut" / "model.json").exists()
    resumed = _train(data["train"], data["valid"], tmp_path / "cut", model_cfg, train_cfg, seed=3, device="cpu")
    assert resumed["completed"] and resumed["epochs_run"] == full["epochs_run"] == 4
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _metric_rows(tmp_path / "full") == _metric_rows(tmp_path / "cut")
    assert {k: v for k, v in full["valid"].items() if k != "seconds"} == {
        k: v for k, v in resumed["valid"].items() if k != "seconds"
    }
    # same seed from scratch -> same weights; another seed -> different weights
    again = tmp_path / "again"
    _train(data["train"], data["valid"], again, model_cfg, train_cfg, seed=3, device="cpu")
    assert all(torch.equal(a[k], _weights(again)[k]) for k in a)
    other = tmp_path / "other"
    _train(data["train"], data["valid"], other, model_cfg, {**train_cfg, "epochs": 1}, seed=4, device="cpu")
    assert not torch.equal(a["dense.weight"], _weights(other)["dense.weight"])


def test_checkpoint_from_other_config_starts_over(tmp_path, data, caplog) -> None:
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    _train(data["train"], data["valid"], out, MODEL, {**TRAIN, "epochs": 1}, seed=0, device="cpu")
    with caplog.at_level("WARNING", logger="cisflow.train"):
        _train(data["train"], data["valid"], out, MODEL, {**TRAIN, "epochs": 1}, seed=1, device="cpu")
    assert "starting over" in caplog.text
    _train(data["train"], data["valid"], fresh, MODEL, {**TRAIN, "epochs": 1}, seed=1, device="cpu")
    a, b = _weights(out), _weights(fresh)
    assert all(torch.equal(a[k], b[k]) for k in a)
    (out / "checkpoint.pt").write_bytes(b"truncated")
    with pytest.raises(CisflowError, match=r"checkpoint.pt: cannot read checkpoint"):
        _train(data["train"], data["valid"], out, MODEL, {**TRAIN, "epochs": 1}, seed=0, device="cpu")


def _simulated(root, gc_fraction: float) -> dict:
    """The issue's case: a density-localization simulation whose background GC alone differs."""
    from cisflow.simulate import simulate, split_simulation

    sim = simulate("single_motif_detection", ["TAL1_known4"], input_length=100, num_pos=150, num_neg=150,
                   gc_fraction=gc_fraction, seed=5)  # fmt: skip
    paths = {}
    for split, arrays in split_simulation(sim, seed=5).items():
        paths[split] = root / f"{split}_{gc_fraction}.npz"
        write(paths[split], DATASET, arrays)
    return paths


def test_changed_data_of_the_same_size_retrains(tmp_path, caplog) -> None:
    """A finished run, then data with the same number of sequences and positives but other content (the
    background GC 0.4 → 0.6): the checkpoint is not resumed, and the weights are those of a fresh run."""
    old, new = _simulated(tmp_path, 0.4), _simulated(tmp_path, 0.6)
    for split in ("train", "valid"):
        a, b = read_dataset(old[split]), read_dataset(new[split])
        assert a["labels"].shape == b["labels"].shape and (a["labels"] == 1).sum() == (b["labels"] == 1).sum()
    model_cfg, cfg, out = MODEL, {**TRAIN, "epochs": 2}, tmp_path / "run"
    _train(old["train"], old["valid"], out, model_cfg, cfg, seed=2, device="cpu")
    before = _weights(out)
    with caplog.at_level("WARNING", logger="cisflow.train"):
        _train(new["train"], new["valid"], out, model_cfg, cfg, seed=2, device="cpu")
    assert "(changed: the training data's content); starting over" in caplog.text
    after = _weights(out)
    assert not all(torch.equal(before[k], after[k]) for k in before)
    _train(new["train"], new["valid"], tmp_path / "fresh", model_cfg, cfg, seed=2, device="cpu")
    fresh = _weights(tmp_path / "fresh")
    assert all(torch.equal(after[k], fresh[k]) for k in after)
    caplog.clear()  # the same data stored anew (another file, same arrays) resumes: content, not files, counts
    copy = tmp_path / "copy.npz"
    write(copy, DATASET, read_dataset(new["train"]))
    with caplog.at_level("INFO", logger="cisflow.train"):
        _train(copy, new["valid"], out, model_cfg, cfg, seed=2, device="cpu")
    assert "starting over" not in caplog.text and "resumed from" in caplog.text


def test_diverged_training_is_an_error(tmp_path, data, caplog) -> None:
    """A learning rate so large that the loss becomes non-finite: an error saying so, no model written."""
    out = tmp_path / "o"
    with pytest.raises(CisflowError, match=r"training diverged at epoch 1 \(.*nan.*\); lower train.learning_rate"):
        _train(data["train"], data["valid"], out, MODEL, {**TRAIN, "learning_rate": 1e30}, seed=0, device="cpu")
    assert not (out / "model.safetensors").exists()


def test_no_better_than_chance_is_an_error(tmp_path, data) -> None:
    """Labels that do not depend on the sequence (shuffled): the best validation auROC stays at chance."""
    shuffled = {}
    for split in ("train", "valid"):
        arrays = read_dataset(data[split])
        arrays["labels"] = np.zeros_like(arrays["labels"])
        arrays["labels"][::2] = 1
        arrays["codes"] = np.repeat(arrays["codes"][:1], len(arrays["codes"]), axis=0)  # one sequence for all
        shuffled[split] = tmp_path / f"{split}.npz"
        write(shuffled[split], DATASET, arrays)
    with pytest.raises(CisflowError, match=r"training did not learn: the best validation auROC in 2 epochs is 0.500"):
        _train(shuffled["train"], shuffled["valid"], tmp_path / "o", MODEL, {**TRAIN, "epochs": 2}, seed=0)
    assert not (tmp_path / "o" / "model.safetensors").exists()


def test_early_stopping_restores_best(tmp_path, data) -> None:
    cfg = {**TRAIN, "epochs": 30, "patience": 2, "learning_rate": 0.05, "monitor": "loss"}
    summary = _train(data["train"], data["valid"], tmp_path / "o", MODEL, cfg, seed=0, device="cpu")
    if summary["stopped_early"]:
        assert summary["epochs_run"] == summary["best_epoch"] + 2
    rows = [r.split("\t") for r in (tmp_path / "o" / "history.tsv").read_text().splitlines()[1:]]
    valid_losses = [float(r[2]) for r in rows if r[1] == "valid"]
    assert summary["best_epoch"] == 1 + int(np.argmin(valid_losses))


def test_cli_train(tmp_path, data, capsys) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "seed: 2\nmodel:\n  name: deepbind\n  params: {num_filters: 4, conv_width: 6, hidden: 4}\n"
        "train: {epochs: 2, batch_size: 64}\nother_section: {ignored: true}\n"
    )
    args = ["train", "--train", str(data["train"]), "--valid", str(data["valid"]), "--config", str(config)]
    assert main([*args, "--out-dir", str(tmp_path / "o"), "--device", "cpu"]) == 0
    _, meta = load_model(tmp_path / "o")
    assert meta["name"] == "deepbind" and meta["seed"] == 2 and meta["epochs_run"] == 2
    assert main([*args, "--out-dir", str(tmp_path / "o2"), "--seed", "5", "--device", "cpu", "--threads", "2"]) == 0
    assert torch.get_num_threads() == 1  # the run's thread count is restored afterwards
    assert load_model(tmp_path / "o2")[1]["seed"] == 5


def test_cli_train_errors(tmp_path, data, capsys) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model:\n  name: deepbnd\n")
    args = ["train", "--train", str(data["train"]), "--valid", str(data["valid"]), "--out-dir", str(tmp_path / "o")]
    assert main([*args, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert (
        "cisflow train: error:" in err and "config.yaml: unknown model 'deepbnd'" in err and len(err.splitlines()) == 1
    )
    config.write_text("model: {name: deepbind}\ntrain: {epochs: 0}\n")
    assert main([*args, "--config", str(config)]) == 2
    assert "train.epochs must be a positive integer" in capsys.readouterr().err
    assert main([*args, "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: config file does not exist" in capsys.readouterr().err
    config.write_text("model: {name: deepbind}\n")
    assert main([*args[:2], str(tmp_path / "nope.npz"), *args[3:], "--config", str(config)]) == 2
    assert "nope.npz: dataset does not exist" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_train_on_cuda(tmp_path, data) -> None:
    summary = _train(data["train"], data["valid"], tmp_path / "o", MODEL, TRAIN, seed=0, device="cuda")
    assert summary["completed"] and summary["valid"]["auroc"] > 0.9
    assert load_model(tmp_path / "o")[0](torch.zeros(1, 4, 40)).shape == (1, 1)


# ---------------------------------------------------------------- training on the streaming genome loader


def _genome_loader_data(tmp_path):
    """A random 2-chromosome genome with GATAAG planted in ~30 % of 50 bp bins (bound), a valid npz of chrV."""
    from cisflow.data import build_datasets
    from cisflow.genome import Genome
    from cisflow.labels import Labels

    rng = np.random.default_rng(0)
    chroms, labels, keep = {}, {}, {}
    for name, n_bins in (("chrT", 120), ("chrV", 60)):
        codes = rng.integers(0, 4, n_bins * 50).astype(np.uint8)
        bound = rng.random(n_bins) < 0.3
        for i in np.flatnonzero(bound):
            codes[i * 50 + 22 : i * 50 + 28] = encode("GATAAG")
        chroms[name], labels[name], keep[name] = codes, bound[:, None].astype(np.int8), np.ones(n_bins, bool)
    genome = Genome(chroms)
    lab = Labels(["gata"], 50, 50, {c: v.size for c, v in chroms.items()}, labels, keep)
    valid = build_datasets(lab, genome, {"chrV": "valid"}, input_length=50, eval_negative_ratio=None)["valid"]
    write(tmp_path / "valid.npz", DATASET, valid)
    return genome, lab, tmp_path / "valid.npz"


def test_train_on_genome_loader_learns_and_resumes_exactly(tmp_path) -> None:
    from cisflow.loader import GenomeBatches

    genome, lab, valid = _genome_loader_data(tmp_path)

    def loader():
        return GenomeBatches(genome, lab, ["chrT"], 50, batch_size=16, jitter=3, seed=7)

    model_cfg = {"name": "sequence_dnn", "params": {"num_filters": [6], "conv_width": [6], "pool_width": 9}}
    cfg = {**TRAIN, "epochs": 3, "monitor": "loss"}
    full = _train(None, valid, tmp_path / "full", model_cfg, cfg, seed=1, device="cpu", train_batches=loader())
    assert full["completed"] and full["valid"]["auroc"] > 0.8
    part = _train(
        None, valid, tmp_path / "cut", model_cfg, cfg, seed=1, device="cpu", train_batches=loader(), stop_after_epoch=1
    )
    assert not part["completed"]
    _train(None, valid, tmp_path / "cut", model_cfg, cfg, seed=1, device="cpu", train_batches=loader())
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _metric_rows(tmp_path / "full") == _metric_rows(tmp_path / "cut")
    longer = GenomeBatches(genome, lab, ["chrT"], 60, seed=7)  # (shorter than a 50-bp bin is refused on its own)
    with pytest.raises(CisflowError, match="differs from the loader's 60"):
        _train(None, valid, tmp_path / "x", model_cfg, cfg, seed=1, device="cpu", train_batches=longer)


def test_train_from_genome_uses_the_recorded_negative_ratio(tmp_path, monkeypatch) -> None:
    """The genome track takes the negative ratio and GC matching splits.json records and the validation set's
    input length."""
    import json

    from cisflow import train
    from cisflow.genome import decode, write_fasta
    from cisflow.labels import save_labels
    from cisflow.loader import train_from_genome

    genome, lab, valid = _genome_loader_data(tmp_path)
    save_labels(lab, tmp_path / "labels.npz")
    write_fasta(tmp_path / "g.fa", [(c, decode(v)) for c, v in genome.chroms.items()])
    splits = {"splits": {"chrT": "train", "chrV": "valid"}, "negative_ratio": 0.5}
    (tmp_path / "splits.json").write_text(json.dumps(splits))
    seen = []
    monkeypatch.setattr(train, "train_model", lambda *args, train_batches, **kw: seen.append(train_batches) or {})
    inputs = (
        tmp_path / "labels.npz",
        tmp_path / "g.fa",
        tmp_path / "splits.json",
        valid,
        train_outputs(tmp_path / "m"),
    )
    train_from_genome(*inputs, MODEL, TRAIN, 1)
    train_from_genome(*inputs, MODEL, TRAIN, 1, negative_ratio=2.0)  # an explicit value wins (benchmarks)
    assert [b.negative_ratio for b in seen] == [0.5, 2.0] and seen[0].input_length == 50
    assert seen[0].chroms == ["chrT"] and "gc_match" not in seen[0].describe()
    (tmp_path / "splits.json").write_text(json.dumps(splits | {"gc_match": True}))
    train_from_genome(*inputs, MODEL, TRAIN, 1)  # splits.gc_match: each epoch's negatives GC-matched too
    assert seen[2].describe()["gc_match"] is True
    (tmp_path / "splits.json").write_text(json.dumps({"splits": splits["splits"]}))
    with pytest.raises(CisflowError, match=r"splits\.json: no negative_ratio recorded .*rerun the splits stage"):
        train_from_genome(*inputs, MODEL, TRAIN, 1)


# ---------------------------------------------------------------- signal channels (FactorNet style)


def _signal_world(tmp_path):
    """Random DNA; a bin is bound iff a coverage bigWig has a pile-up over it. Datasets with the signal.

    DNA carries no information, so only a model that sees the signal channel can rank the bins.
    """
    import pyBigWig

    from cisflow.data import build_datasets
    from cisflow.genome import Genome
    from cisflow.labels import Labels

    rng = np.random.default_rng(3)
    chroms, labels, keep, cover = {}, {}, {}, {}
    for name, n_bins in (("chrT", 160), ("chrV", 60), ("chrE", 60)):
        chroms[name] = rng.integers(0, 4, n_bins * 50).astype(np.uint8)
        bound = rng.random(n_bins) < 0.3
        cov = rng.poisson(1.0, n_bins * 50).astype(np.float64)
        for i in np.flatnonzero(bound):
            cov[i * 50 + 10 : i * 50 + 40] += 20
        cover[name] = cov
        labels[name], keep[name] = bound[:, None].astype(np.int8), np.ones(n_bins, bool)
    bigwig = tmp_path / "coverage.bw"
    bw = pyBigWig.open(str(bigwig), "w")
    bw.addHeader([(c, v.size) for c, v in chroms.items()])
    for c, cov in cover.items():
        bw.addEntries(c, 0, values=cov.tolist(), span=1, step=1)
    bw.close()
    genome = Genome(chroms)
    lab = Labels(["open"], 50, 50, {c: v.size for c, v in chroms.items()}, labels, keep)
    splits = {"chrT": "train", "chrV": "valid", "chrE": "test"}
    sets = build_datasets(lab, genome, splits, input_length=50, eval_negative_ratio=None, signal_bigwigs=[bigwig])
    for split, dataset in sets.items():
        write(tmp_path / f"{split}.npz", DATASET, dataset)
    return genome, lab, bigwig, sets


def test_signal_channels_train_predict_and_evaluate(tmp_path) -> None:
    from cisflow.evaluate import evaluate_model, evaluation_outputs
    from cisflow.loader import GenomeBatches

    genome, lab, bigwig, sets = _signal_world(tmp_path)
    assert sets["test"]["signal"].shape == (60, 1, 50) and sets["test"]["signal_names"].tolist() == ["coverage.bw"]
    model_cfg = {"name": "sequence_dnn", "params": {"num_filters": [6], "conv_width": [6], "pool_width": 9}}
    cfg = {**TRAIN, "epochs": 4, "monitor": "loss"}
    batches = GenomeBatches(genome, lab, ["chrT"], 50, batch_size=16, seed=7, signal_bigwigs=[bigwig])
    valid = tmp_path / "valid.npz"
    streamed = _train(None, valid, tmp_path / "sig", model_cfg, cfg, 1, "cpu", train_batches=batches)
    from_npz = _train(tmp_path / "train.npz", valid, tmp_path / "npz", model_cfg, cfg, 1, "cpu")
    for out, summary in ((tmp_path / "sig", streamed), (tmp_path / "npz", from_npz)):
        assert summary["valid"]["auroc"] > 0.95
        model, meta = load_model(out)
        assert meta["in_channels"] == 5 and meta["signal_names"] == ["coverage.bw"]
        rows = evaluate_model(
            out, tmp_path / "test.npz", evaluation_outputs(out / "eval"), reverse_complement_average=False
        )
        assert rows[0]["auroc"] > 0.95
    # the same model without its signal channel is an error, not a silent 4-channel run
    with pytest.raises(CisflowError, match="5 input channels"):
        predict(model, sets["test"]["codes"])
    dropped = ("signal", "signal_names")
    dna_only = {k: v for k, v in sets["test"].items() if k not in dropped}
    write(tmp_path / "dna_only.npz", DATASET, dna_only)
    with pytest.raises(CisflowError, match="differ from the model's"):
        evaluate_model(tmp_path / "npz", tmp_path / "dna_only.npz", evaluation_outputs(tmp_path / "bad"))
    # sequence alone cannot rank these bins: the signal is what the models learned from
    for split in ("train", "valid"):
        write(tmp_path / f"dna_{split}.npz", DATASET, {k: v for k, v in sets[split].items() if k not in dropped})
    try:  # no better than chance is an error saying so (cisflow.train.loop._check_learned)
        blind = _train(tmp_path / "dna_train.npz", tmp_path / "dna_valid.npz", tmp_path / "dna", model_cfg, cfg, 1)
        assert blind["valid"]["auroc"] < 0.75
    except CisflowError as exc:
        assert "training did not learn: the best validation auROC" in str(exc)
    with pytest.raises(CisflowError, match="signal channels"):
        _train(tmp_path / "train.npz", tmp_path / "dna_valid.npz", tmp_path / "mix", model_cfg, cfg, 1, "cpu")


# ---------------------------------------------------------------- precise BatchNorm statistics


def test_recompute_bn_stats_known_answer() -> None:
    """BatchNorm statistics become the mean of the per-batch statistics under the current weights."""
    from cisflow.train import recompute_bn_stats

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 3, 5), torch.nn.BatchNorm1d(3), torch.nn.ReLU())
    batches = [torch.randn(8, 4, 20) for _ in range(4)]
    model[1].running_mean.fill_(7.0)  # stale statistics
    assert recompute_bn_stats(model.eval(), batches, torch.device("cpu")) == 4
    with torch.no_grad():
        conv = [model[0](b) for b in batches]  # (8, 3, 16) each
    means = torch.stack([c.mean(dim=(0, 2)) for c in conv])
    variances = torch.stack([c.var(dim=(0, 2), unbiased=True) for c in conv])  # PyTorch keeps the unbiased one
    torch.testing.assert_close(model[1].running_mean, means.mean(0))
    torch.testing.assert_close(model[1].running_var, variances.mean(0))
    assert model[1].momentum == 0.1 and not model.training  # restored
    assert recompute_bn_stats(torch.nn.Linear(2, 2), batches, torch.device("cpu")) == 0


@pytest.mark.parametrize("source", ["npz", "loader"])
def test_basset_with_precise_bn_resumes_exactly(tmp_path, data, source) -> None:
    from cisflow.loader import GenomeBatches

    model_cfg = {
        "name": "basset",
        "params": {"num_filters": [4, 4], "conv_width": [5, 3], "pool_width": [2, 2], "hidden": [8], "dropout": 0.1},
    }
    cfg = {**TRAIN, "epochs": 3, "monitor": "loss", "precise_bn_batches": 3}
    if source == "npz":
        train, valid, batches = data["train"], data["valid"], lambda: None
    else:
        genome, lab, valid = _genome_loader_data(tmp_path)
        train = None

        def batches():
            return GenomeBatches(genome, lab, ["chrT"], 50, batch_size=16, jitter=3, seed=7)

    def run(out, **kw):
        return _train(train, valid, tmp_path / out, model_cfg, cfg, 1, "cpu", train_batches=batches(), **kw)

    run("full")
    run("cut", stop_after_epoch=1)
    run("cut")
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    assert any("running_mean" in k for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)
    plain = _train(
        train, valid, tmp_path / "plain", model_cfg, {**cfg, "precise_bn_batches": 0}, 1, "cpu", train_batches=batches()
    )
    c = _weights(tmp_path / "plain")
    bn = [k for k in a if k.endswith("running_mean")]
    assert not all(torch.equal(a[k], c[k]) for k in bn)  # the option changes the statistics
    assert plain["completed"]
