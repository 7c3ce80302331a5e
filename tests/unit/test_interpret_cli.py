"""Tests for cisflow.interpret.interpret_model and the ``cisflow interpret`` CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from cisflow._testing.artifacts import write_dataset
from cisflow.cli import main
from cisflow.errors import CisflowError
from cisflow.interpret import METHODS, interpret_model, interpret_outputs
from cisflow.models import build_model, save_model

torch.set_num_threads(1)
LENGTH = 80


@pytest.fixture()
def case(tmp_path):
    """A saved tiny SequenceDNN, a dataset npz with 6 positives of 10, and their embeddings."""
    torch.manual_seed(0)
    model = build_model("sequence_dnn", 2, LENGTH, num_filters=[4, 4], conv_width=[6, 5], pool_width=10)
    save_model(tmp_path / "model", model, {"tasks": ["a", "b"], "seed": 0})
    rng = np.random.default_rng(0)
    labels = np.zeros((10, 2), dtype=np.int8)
    labels[:6, 1] = 1
    labels[6, 1] = -1
    ids = np.array([f"seq{i}" for i in range(10)])
    write_dataset(tmp_path / "test.npz", rng.integers(0, 4, (10, LENGTH)), labels, ["a", "b"], ids)
    starts = rng.integers(0, LENGTH - 10, 6)
    emb = pd.DataFrame({"seq_id": ids[:6], "motif": "m", "start": starts, "end": starts + 10, "strand": "+"})
    emb.to_csv(tmp_path / "emb.tsv", sep="\t", index=False)
    return tmp_path


def test_interpret_model_writes_all_outputs(case):
    motifs = {"m": np.random.default_rng(1).dirichlet(np.ones(4), size=6).T}
    out = case / "out"
    outputs = interpret_outputs(out, positional_prc=True, filters=True, summary=True)
    written = interpret_model(
        case / "model", case / "test.npz", outputs, METHODS, task="b", max_sequences=4, embeddings_tsv=case / "emb.tsv",
        motifs=motifs, n_references=3, device="cpu",
    )  # fmt: skip
    assert set(written) == {"ism", "grad_x_input", "deepshap", "positional_prc", "filters", "filter_logos", "summary"}
    for method in ("ism", "grad_x_input", "deepshap"):
        with np.load(out / f"{method}.npz") as data:
            assert data["x"].shape == data["scores"].shape == data["hypothetical"].shape == (4, 4, LENGTH)
            assert set(data["ids"]) <= {f"seq{i}" for i in range(6)}  # positives of task b only
            # every method: scores = hypothetical · x (for grad_x_input, the centred gradient · x)
            np.testing.assert_allclose(data["scores"], data["hypothetical"] * data["x"], atol=1e-6)
            if method != "deepshap":  # centred per position
                np.testing.assert_allclose(data["hypothetical"].sum(axis=1), 0, atol=1e-5)
    with np.load(out / "deepshap.npz") as data:
        assert data["summation_error"].max() < 1e-3
        hyp32 = data["hypothetical"]
    interpret_model(
        case / "model", case / "test.npz", interpret_outputs(case / "f64", ["deepshap"]), ["deepshap"], "b", 4,
        n_references=3, device="cpu", precision="float64",
    )  # fmt: skip
    with np.load(case / "f64" / "deepshap.npz") as data:
        assert data["summation_error"].max() < 1e-9
        np.testing.assert_allclose(data["hypothetical"], hyp32, atol=1e-4 * np.abs(hyp32).max())
    prc = pd.read_csv(out / "positional_prc.tsv", sep="\t")
    assert list(prc.method) == ["ism", "grad_x_input", "deepshap"] and (prc.n_sequences == 4).all()
    filters = pd.read_csv(out / "filters.tsv", sep="\t")
    assert len(filters) == 4 and (filters.motif == "m").all()
    assert (out / "filter_logos.png").stat().st_size > 0
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    assert list(summary.columns[:3]) == ["method", "n_sequences", "seconds"] and "positional_auprc" in summary
    assert summary.loc[summary.method == "deepshap", "max_summation_error"].item() < 1e-3
    # each output asked for needs a path, before any work is done
    with pytest.raises(CisflowError, match="interpretation outputs lack positional_prc"):
        interpret_model(
            case / "model", case / "test.npz", interpret_outputs(case / "x"), embeddings_tsv=case / "emb.tsv"
        )
    with pytest.raises(CisflowError, match="interpretation outputs lack scores of ism"):
        interpret_model(case / "model", case / "test.npz", interpret_outputs(case / "x", ["deepshap"]))
    assert not (case / "x").exists()


def test_cli_interpret(case, capsys):
    args = ["interpret", "--model", str(case / "model"), "--data", str(case / "test.npz"), "--out-dir"]
    assert main([*args, str(case / "cli"), "--method", "grad_x_input", "--task", "1", "--all-sequences"]) == 0
    with np.load(case / "cli" / "grad_x_input.npz") as data:
        assert len(data["ids"]) == 10 and str(data["task"]) == "b"
    assert not (case / "cli" / "ism.npz").exists()
    assert main([*args, str(case / "bad"), "--task", "c"]) == 2
    assert "task 'c' not among the dataset's tasks" in capsys.readouterr().err
    assert main(["interpret", "--model", str(case / "nope"), "--data", str(case / "test.npz"), "--out-dir", "x"]) == 2
    assert "model metadata does not exist" in capsys.readouterr().err
    assert main([*args, str(case / "bad"), "--task", "0"]) == 2  # task a has no positives
    assert "no sequences to interpret" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        main([*args, str(case / "bad"), "--task", "1", "--precision", "float16"])
    assert "invalid choice: 'float16'" in capsys.readouterr().err
    with pytest.raises(CisflowError, match="unknown DeepSHAP precision 'half'"):
        interpret_model(case / "model", case / "test.npz", interpret_outputs(case / "bad"), precision="half")
    assert not (case / "bad").exists()
