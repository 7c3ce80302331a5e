"""Tests for cisflow.submissions: DREAM submission export (round trip, order) and held-out comparison."""

from __future__ import annotations

import numpy as np
import pytest

from cisflow.artifacts import DATASET, row_keys, write, write_predictions
from cisflow.dream import read_submission
from cisflow.errors import CisflowError
from cisflow.evaluate.compare import compare_on_heldout
from cisflow.io import save_npz
from cisflow.submissions import export_submissions, submission_paths

BIN = 200
TASKS = ["CTCF.HeLa", "REST/x"]
GEOMETRY = {"bin_size": BIN, "stride": 50, "input_length": 10}


def _test_set(tmp_path, n: int = 120, seed: int = 0, ids: bool = False) -> tuple[dict, object]:
    """A test npz on chr2 then chr10 (genome order, not sorted by name), 2 tasks, a few ambiguous labels; its
    rows named by ``chrom`` and ``bin_start`` (format version 2), or with ``ids`` stored too (as version 1 did)."""
    rng = np.random.default_rng(seed)
    chrom = np.array(["chr2"] * (n // 2) + ["chr10"] * (n - n // 2))
    bin_start = np.r_[np.arange(n // 2) * 50, np.arange(n - n // 2) * 50].astype(np.int64)
    labels = (rng.random((n, 2)) < 0.3).astype(np.int8)
    labels[rng.random((n, 2)) < 0.05] = -1
    data = {
        "codes": np.zeros((n, 10), np.uint8),
        "labels": labels,
        "tasks": np.array(TASKS),
        "chrom": chrom,
        "start": bin_start - 400,
        "bin_start": bin_start,
        **GEOMETRY,
    }
    if ids:
        data["ids"] = np.array([f"{c}:{s}-{s + BIN}" for c, s in zip(chrom, bin_start, strict=True)])
    write(tmp_path / "test.npz", DATASET, data)
    return data, tmp_path / "test.npz"


def _predictions(tmp_path, name: str, data: dict, probs: np.ndarray, perm=None, tasks=None):
    perm = np.arange(len(data["labels"])) if perm is None else perm
    path = tmp_path / f"{name}.npz"
    tasks = tasks if tasks is not None else data["tasks"]
    labels = data["labels"][perm][:, : probs.shape[1]]
    rows = {k: v[perm] for k, v in row_keys(data).items()}
    write_predictions(path, rows, labels, probs[perm], tasks, GEOMETRY)
    return path


@pytest.mark.parametrize("ids", [False, True], ids=["bins", "stored-ids"])
def test_export_round_trip_and_genome_order(tmp_path, ids):
    data, test = _test_set(tmp_path, ids=ids)
    probs = np.random.default_rng(1).random((len(data["labels"]), 2))
    perm = np.random.default_rng(2).permutation(len(data["labels"]))  # predictions in another row order
    pred = _predictions(tmp_path, "m", data, probs, perm)
    paths = export_submissions(pred, test, submission_paths(TASKS, tmp_path / "sub"))
    assert list(paths) == ["CTCF.HeLa", "REST/x"]
    assert paths["REST/x"].name == "REST_x.tab.gz" and paths["CTCF.HeLa"].name == "CTCF.HeLa.tab.gz"
    for j, task in enumerate(paths):
        bins, got = read_submission(paths[task])
        assert bins["chr"].tolist() == data["chrom"].tolist()  # chr2 before chr10, as in the test npz
        assert np.array_equal(bins["start"], data["bin_start"]) and np.array_equal(
            bins["stop"], data["bin_start"] + BIN
        )
        np.testing.assert_allclose(got, probs[:, j].astype(np.float32), rtol=1e-5)
    with open(paths["CTCF.HeLa"], "rb") as handle:
        assert handle.read(2) == b"\x1f\x8b"


def test_export_sorts_shuffled_test_rows(tmp_path):
    data, _ = _test_set(tmp_path)
    perm = np.random.default_rng(3).permutation(len(data["labels"]))
    shuffled = {k: (v[perm] if np.ndim(v) and k != "tasks" else v) for k, v in data.items()}
    write(tmp_path / "shuffled.npz", DATASET, shuffled)
    pred = _predictions(tmp_path, "m", data, np.random.default_rng(1).random((len(data["labels"]), 2)))
    bins, _ = read_submission(
        export_submissions(pred, tmp_path / "shuffled.npz", submission_paths(TASKS, tmp_path / "s"))["REST/x"]
    )
    for c in ("chr2", "chr10"):
        starts = bins.loc[bins["chr"] == c, "start"].to_numpy()
        assert np.all(np.diff(starts) > 0)
    chroms = bins["chr"].tolist()
    assert chroms == sorted(chroms, key=lambda c: chroms.index(c))  # each chromosome in one block


def test_export_errors(tmp_path):
    data, test = _test_set(tmp_path)
    probs = np.random.default_rng(1).random((len(data["labels"]), 2))
    short = _predictions(tmp_path, "short", data, probs, np.arange(len(data["labels"]) - 1))
    with pytest.raises(CisflowError, match=r"short\.npz: 1 test bins have no prediction \(first: chr10:"):
        export_submissions(short, test, submission_paths(TASKS, tmp_path / "o"))
    dup = _predictions(tmp_path, "dup", data, probs, np.r_[np.arange(len(data["labels"])), 0])
    with pytest.raises(CisflowError, match=r"submission paths are for \['CTCF.HeLa'\] but the tasks are"):
        export_submissions(_predictions(tmp_path, "ok", data, probs), test, submission_paths(TASKS[:1], tmp_path))
    with pytest.raises(CisflowError, match="duplicate prediction id"):
        export_submissions(dup, test, submission_paths(TASKS, tmp_path / "o"))
    save_npz(
        tmp_path / "bad.npz", chrom=data["chrom"], format=np.array("cisflow-predictions"), format_version=np.array(1)
    )
    with pytest.raises(CisflowError, match=r"bad\.npz: predictions npz lacks probs, tasks, bin_size"):
        export_submissions(tmp_path / "bad.npz", test, submission_paths(TASKS, tmp_path / "o"))
    write(tmp_path / "sim.npz", DATASET, data | {"bin_size": 0, "stride": 0})
    with pytest.raises(CisflowError, match=r"sim\.npz: the test set's rows are not genome bins"):
        export_submissions(short, tmp_path / "sim.npz", submission_paths(TASKS, tmp_path / "o"))
    (tmp_path / "trunc.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(CisflowError, match=r"trunc\.npz: cannot read test dataset"):
        export_submissions(short, tmp_path / "trunc.npz", submission_paths(TASKS, tmp_path / "o"))


def test_compare_on_heldout_ranks_perfect_predictor_first(tmp_path):
    data, test = _test_set(tmp_path, n=400)
    rng = np.random.default_rng(5)
    truth = np.clip(data["labels"], 0, 1).astype(float)
    preds = {
        "random": _predictions(tmp_path, "random", data, rng.random(truth.shape)),
        "perfect": _predictions(tmp_path, "perfect", data, truth * 0.9 + 0.05, rng.permutation(400)),
        "noisy": _predictions(tmp_path, "noisy", data, truth + rng.normal(0, 0.6, truth.shape)),
    }
    table = compare_on_heldout(preds, test, tmp_path / "cmp.tsv", n_subsamples=5, seed=1)
    assert len(table) == 6 and table["task"].tolist()[::3] == ["CTCF.HeLa", "REST/x"]
    for _, group in table.groupby("task"):
        assert group["model"].tolist() == ["perfect", "noisy", "random"]
        assert group["order"].tolist() == [1, 2, 3]
        best = group.iloc[0]
        assert best["auroc"] == 1.0 and best["auprc"] == pytest.approx(1.0) and best["final_rank"] == 1.0
    assert {"recall_at_10_fdr", "num_positives", "mean_rank"} <= set(table.columns)
    lines = (tmp_path / "cmp.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:4] == ["task", "model", "order", "final_rank"] and len(lines) == 7
    again = compare_on_heldout(preds, test, tmp_path / "cmp2.tsv", n_subsamples=5, seed=1)
    assert again.equals(table)


def test_compare_skips_tasks_not_predicted_by_all(tmp_path, caplog):
    data, test = _test_set(tmp_path)
    probs = np.random.default_rng(1).random((len(data["labels"]), 2))
    one = _predictions(tmp_path, "one", data, probs[:, :1], tasks=["REST/x"])
    two = _predictions(tmp_path, "two", data, probs)
    table = compare_on_heldout({"a": one, "b": two}, test, tmp_path / "c.tsv", n_subsamples=2)
    assert set(table["task"]) == {"REST/x"} and "skipped: CTCF.HeLa" in caplog.text
    other = _predictions(tmp_path, "other", data, probs[:, :1], tasks=["YY1"])
    with pytest.raises(CisflowError, match="no test task"):
        compare_on_heldout({"a": other}, test, tmp_path / "c.tsv")
    with pytest.raises(CisflowError, match="n_subsamples must be >= 1"):
        compare_on_heldout({"a": two}, test, tmp_path / "c.tsv", n_subsamples=0)
    with pytest.raises(CisflowError, match="no models"):
        compare_on_heldout({}, test, tmp_path / "c.tsv")


def test_submissions_under_the_challenge_names(tmp_path):
    data, test = _test_set(tmp_path)
    probs = np.random.default_rng(1).random((len(data["labels"]), 2))
    one = _predictions(tmp_path, "one", data, probs[:, :1], tasks=["CTCF.HeLa"])
    paths = export_submissions(one, test, submission_paths(["CTCF.HeLa"], tmp_path / "sub", round="F"))
    assert paths["CTCF.HeLa"].name == "F.CTCF.HeLa.tab.gz"
    with pytest.raises(CisflowError, match=r"not <TF>\.<CELL>"):  # "REST/x" has no cell type
        submission_paths(TASKS, tmp_path / "sub2", round="L")
