"""Tests for cisflow.artifacts: declared npz formats, the checked reader and writer, datasets and predictions."""

from __future__ import annotations

import numpy as np
import pytest

from cisflow import artifacts
from cisflow._testing.artifacts import write_dataset
from cisflow.artifacts import DATASET, FORMATS, LABELS, PREDICTIONS, SCORES, read, write
from cisflow.errors import CisflowError
from cisflow.io import save_npz

GEOMETRY = {"bin_size": 200, "stride": 50, "input_length": 6}


def _dataset(n: int = 4, **extra) -> dict:
    arrays = {
        "codes": np.arange(n * 6).reshape(n, 6).astype(np.uint8) % 5,
        "labels": np.array([[1], [0], [-1], [1]][:n], np.int8),
        "tasks": np.array(["t"]),
        "ids": np.array([f"chr1:{i * 50}-{i * 50 + 200}" for i in range(n)]),
    }
    return arrays | GEOMETRY | extra


def test_every_format_is_declared_once_with_its_geometry():
    profile = {"cisflow-profile-dataset", "cisflow-profile-predictions"}
    assert set(FORMATS) == {"cisflow-labels", "cisflow-dataset", "cisflow-predictions", "cisflow-scores", *profile}
    for fmt in (DATASET, PREDICTIONS, SCORES):
        assert {"bin_size", "stride", "input_length"} <= set(fmt.required)
    assert {"bin_size", "stride"} <= set(LABELS.required)
    for name in profile:  # base-resolution windows: no bins, an output window
        assert {"input_length", "output_length"} <= set(FORMATS[name].required)
    assert "jitter" in FORMATS["cisflow-profile-dataset"].required


def test_round_trip_and_key_subset(tmp_path):
    write(tmp_path / "d.npz", DATASET, _dataset(chrom=np.array(["chr1"] * 4)))
    with np.load(tmp_path / "d.npz") as raw:
        assert str(raw["format"]) == "cisflow-dataset" and int(raw["format_version"]) == DATASET.version
    data = read(tmp_path / "d.npz", DATASET)
    assert data["codes"].dtype == np.uint8 and data["ids"].dtype.kind == "U" and data["chrom"].tolist()[0] == "chr1"
    assert artifacts.geometry(data) == GEOMETRY
    part = read(tmp_path / "d.npz", DATASET, ("ids",))
    assert set(part) == {"ids", *GEOMETRY}  # only what was asked, plus the geometry


def test_files_without_a_version_or_of_another_format(tmp_path):
    save_npz(tmp_path / "old.npz", **_dataset())
    with pytest.raises(CisflowError, match=r"old\.npz: dataset has no format version .*rerun the splits"):
        artifacts.read_dataset(tmp_path / "old.npz")
    write(tmp_path / "p.npz", PREDICTIONS, {"ids": ["a"], "labels": [[1]], "probs": [[0.5]], "tasks": ["t"]} | GEOMETRY)
    with pytest.raises(CisflowError, match=r"p\.npz: dataset is a cisflow-predictions file, not cisflow-dataset"):
        artifacts.read_dataset(tmp_path / "p.npz")
    future = dict(_dataset(), format=np.array("cisflow-dataset"), format_version=np.array(DATASET.version + 1))
    save_npz(tmp_path / "new.npz", **future)
    with pytest.raises(CisflowError, match=r"version 3; this cisflow reads versions 1 and 2: rerun the splits"):
        artifacts.read_dataset(tmp_path / "new.npz")
    old_labels = {"format": np.array("cisflow-labels-1"), "tasks": np.array(["t"])}
    save_npz(tmp_path / "labels.npz", **old_labels)
    with pytest.raises(CisflowError, match=r"labels file has no format version .*rerun the labels stage"):
        read(tmp_path / "labels.npz", LABELS, what="labels file")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": np.zeros((3, 1), np.int8)}, r"labels \(3, 1\) does not match N = 4"),
        ({"codes": np.zeros((4, 6))}, "codes must be uint8, got float64"),
        ({"tasks": np.array(["a", "b"])}, r"tasks \(2,\) does not match T = 1"),
        ({"codes": np.zeros((4, 6, 1), np.uint8)}, r"codes must have shape \(N, L\)"),
        ({"input_length": np.int64(7)}, "codes are 6 bp but input_length is 7"),
        ({"labels": np.full((4, 1), 2, np.int8)}, "labels must be 1, 0 or -1"),
    ],
)
def test_bad_arrays_are_refused_on_read_and_write(tmp_path, change, message):
    arrays = _dataset() | change
    with pytest.raises(CisflowError, match=message):
        write(tmp_path / "w.npz", DATASET, arrays)
    save_npz(tmp_path / "r.npz", format=np.array("cisflow-dataset"), format_version=np.array(1), **arrays)
    with pytest.raises(CisflowError, match=r"r\.npz: .*" + message):
        artifacts.read_dataset(tmp_path / "r.npz")


def test_missing_unknown_and_unreadable(tmp_path):
    arrays = _dataset()
    with pytest.raises(CisflowError, match="cisflow-dataset needs labels"):
        write(tmp_path / "a.npz", DATASET, {k: v for k, v in arrays.items() if k != "labels"})
    with pytest.raises(CisflowError, match="cisflow-dataset has no array extra"):
        write(tmp_path / "a.npz", DATASET, arrays | {"extra": np.zeros(4)})
    save_npz(tmp_path / "b.npz", format=np.array("cisflow-dataset"), format_version=np.array(1), codes=arrays["codes"])
    with pytest.raises(CisflowError, match=r"b\.npz: train dataset lacks labels, tasks, bin_size"):
        artifacts.read_dataset(tmp_path / "b.npz", "train dataset")
    with pytest.raises(CisflowError, match=r"none\.npz: dataset does not exist"):
        artifacts.read_dataset(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_text("not an npz")
    with pytest.raises(CisflowError, match=r"junk\.npz: dataset is not an npz file \(not a zip archive\)"):
        artifacts.read_dataset(tmp_path / "junk.npz")
    with pytest.raises(TypeError, match="declares no array nope"):
        write(tmp_path / "c.npz", DATASET, arrays) or read(tmp_path / "c.npz", DATASET, ("nope",))


def test_read_datasets_concatenates_and_checks(tmp_path):
    def ds(name, n, tasks=("a",), bin_size=0):
        rng = np.random.default_rng(n)
        labels = rng.integers(0, 2, (n, len(tasks))).astype(np.int8)
        return write_dataset(tmp_path / name, rng.integers(0, 4, (n, 8)), labels, tasks, bin_size=bin_size)

    merged = artifacts.read_datasets([ds("x.npz", 2), ds("y.npz", 3)])
    assert merged["codes"].shape == (5, 8) and merged["tasks"].tolist() == ["a"]
    assert merged["ids"].tolist() == ["x:0", "x:1", "y:0", "y:1", "y:2"]  # colliding ids prefixed by the file
    assert artifacts.geometry(merged) == {"bin_size": 0, "stride": 0, "input_length": 8}
    with pytest.raises(CisflowError, match=r"z\.npz: tasks or input length differ"):
        artifacts.read_datasets([ds("x.npz", 2), ds("z.npz", 2, tasks=("b",))])
    with pytest.raises(CisflowError, match=r"w\.npz: tasks or input length differ"):
        artifacts.read_datasets([ds("x.npz", 2), ds("w.npz", 2, bin_size=200)])
    # a test split with a held-out cell type's extra column, read as the model's tasks
    test = ds("t.npz", 4, tasks=("TF.B", "TF.A"))
    merged = artifacts.read_datasets([ds("tr.npz", 2, tasks=("TF.A",)), test], tasks=["TF.A"])
    assert merged["tasks"].tolist() == ["TF.A"] and merged["labels"].shape == (6, 1)
    np.testing.assert_array_equal(merged["labels"][2:, 0], artifacts.read_dataset(test)["labels"][:, 1])
    with pytest.raises(CisflowError, match=r"tr\.npz: no task 'TF.B' in the dataset \(tasks: TF.A\)"):
        artifacts.read_datasets([tmp_path / "tr.npz", test], tasks=["TF.B"])


def test_select_tasks_keeps_the_named_columns_in_their_order():
    data = {"labels": np.array([[1, 0, -1], [0, 1, 1]], dtype=np.int8), "tasks": np.array(["a", "b", "c"]),
            "ids": np.array(["r0", "r1"])}  # fmt: skip
    picked = artifacts.select_tasks(data, ["c", "a"], "d.npz")
    assert picked["tasks"].tolist() == ["c", "a"] and picked["labels"].tolist() == [[-1, 1], [1, 0]]
    assert picked["ids"] is data["ids"] and artifacts.select_tasks(data, None) == data
    assert artifacts.task_columns(["a", "b", "c"], ["b"]) == [1]
    with pytest.raises(CisflowError, match=r"d\.npz: no task 'x' in the dataset \(tasks: a, b, c\)"):
        artifacts.select_tasks(data, ["a", "x"], "d.npz")
    with pytest.raises(CisflowError, match=r"l\.npz: no task \(none given\) in the labels"):
        artifacts.task_columns(["a"], [], "l.npz", "the labels")


def test_predictions_align_by_id_and_check_geometry(tmp_path):
    test = {"ids": np.array(["b", "a", "c"]), **{k: np.int64(v) for k, v in GEOMETRY.items()}}
    probs = np.array([[0.1, 0.9], [0.2, 0.8], [0.3, 0.7]])
    artifacts.write_predictions(
        tmp_path / "p.npz", ["a", "b", "c"], np.ones((3, 2), np.int8), probs, ["t1", "t2"], GEOMETRY
    )
    aligned, tasks = artifacts.load_predictions(tmp_path / "p.npz", test)
    assert tasks == ["t1", "t2"] and aligned.dtype == np.float64
    np.testing.assert_allclose(aligned, probs[[1, 0, 2]], rtol=1e-6)
    with pytest.raises(CisflowError, match=r"p\.npz: predictions made with .*'bin_size': 200.* but the test set"):
        artifacts.load_predictions(tmp_path / "p.npz", test | {"bin_size": np.int64(100)})
    with pytest.raises(CisflowError, match="1 test bins have no prediction"):
        artifacts.load_predictions(tmp_path / "p.npz", test | {"ids": np.array(["a", "b", "c", "d"])})


def _bins(chrom: list[str], bin_start: list[int]) -> dict:
    """Rows of genome bins named by coordinates only (dataset and predictions format version 2)."""
    return {"chrom": np.array(chrom), "bin_start": np.array(bin_start, np.int64)} | {
        k: np.int64(v) for k, v in GEOMETRY.items()
    }


def test_bin_rows_are_named_by_coordinates_and_ids_made_on_demand(tmp_path):
    rows = _bins(["chr2", "chr2", "chr10"], [0, 50, 100])
    data = rows | {"codes": np.zeros((3, 6), np.uint8), "labels": np.zeros((3, 1), np.int8), "tasks": np.array(["t"])}
    artifacts.write_datasets({"test": data}, {"test": tmp_path / "d.npz"})
    back = artifacts.read_dataset(tmp_path / "d.npz")
    assert "ids" not in back and artifacts.row_keys(back).keys() == {"chrom", "bin_start"}
    assert artifacts.row_ids(back).tolist() == ["chr2:0-200", "chr2:50-250", "chr10:100-300"]
    assert artifacts.row_ids(back, np.array([2])).tolist() == ["chr10:100-300"]
    with pytest.raises(CisflowError, match=r"e\.npz: rows need ids, or chrom and bin_start of genome bins"):
        artifacts.write_datasets({"test": data | {"bin_size": np.int64(0)}}, {"test": tmp_path / "e.npz"})
    assert not (tmp_path / "e.npz").exists()
    # a version 1 file (every bin's id stored) is read as it is
    save_npz(tmp_path / "v1.npz", format=np.array("cisflow-dataset"), format_version=np.array(1),
             **data | {"ids": artifacts.row_ids(back)})  # fmt: skip
    assert artifacts.row_ids(artifacts.read_dataset(tmp_path / "v1.npz")).tolist() == artifacts.row_ids(back).tolist()


def test_bin_predictions_align_by_chrom_and_start(tmp_path):
    test = _bins(["chr2", "chr2", "chr10", "chr10"], [0, 50, 0, 50])
    perm = np.array([3, 1, 0, 2])  # predictions in another row order, as a chunked writer may give them
    probs = np.arange(8, dtype=np.float32).reshape(4, 2) / 10
    pred = {k: test[k][perm] for k in ("chrom", "bin_start")}
    artifacts.write_predictions(tmp_path / "p.npz", pred, np.ones((4, 2), np.int8), probs[perm], ["a", "b"], GEOMETRY)
    raw = read(tmp_path / "p.npz", PREDICTIONS)
    assert "ids" not in raw and raw["chrom"].tolist() == ["chr10", "chr2", "chr2", "chr10"]
    aligned, _ = artifacts.load_predictions(tmp_path / "p.npz", test)
    np.testing.assert_allclose(aligned, probs, rtol=1e-6)
    # a test set that stores its ids (format version 1) matches the same predictions through the derived ids
    aligned, _ = artifacts.load_predictions(tmp_path / "p.npz", test | {"ids": artifacts.row_ids(test)})
    np.testing.assert_allclose(aligned, probs, rtol=1e-6)
    more = _bins(["chr2", "chr2", "chr10", "chr10", "chr10"], [0, 50, 0, 50, 100])
    with pytest.raises(CisflowError, match=r"p\.npz: 1 test bins have no prediction \(first: chr10:100-300\)"):
        artifacts.load_predictions(tmp_path / "p.npz", more)
    dup = {k: test[k][[0, 1, 2, 2]] for k in ("chrom", "bin_start")}
    artifacts.write_predictions(tmp_path / "d.npz", dup, np.ones((4, 2), np.int8), probs, ["a", "b"], GEOMETRY)
    with pytest.raises(CisflowError, match=r"d\.npz: duplicate prediction id 'chr10:0-200'"):
        artifacts.load_predictions(tmp_path / "d.npz", test)
    with pytest.raises(CisflowError, match=r"q\.npz: rows need ids, or chrom and bin_start"):
        artifacts.write_predictions(tmp_path / "q.npz", pred, np.ones((4, 2), np.int8), probs, ["a", "b"],
                                    GEOMETRY | {"bin_size": 0})  # fmt: skip


def test_read_datasets_names_colliding_bins_by_file(tmp_path):
    rows = _bins(["chr1", "chr1"], [0, 50])
    data = rows | {"codes": np.zeros((2, 6), np.uint8), "labels": np.zeros((2, 1), np.int8), "tasks": np.array(["t"])}
    other = data | {"bin_start": np.array([100, 150], np.int64)}
    artifacts.write_datasets({"a": data, "b": data, "c": other}, {s: tmp_path / f"{s}.npz" for s in "abc"})
    apart = artifacts.read_datasets([tmp_path / "a.npz", tmp_path / "c.npz"])
    assert "ids" not in apart and artifacts.row_ids(apart)[-1] == "chr1:150-350"
    same = artifacts.read_datasets([tmp_path / "a.npz", tmp_path / "b.npz"])
    assert same["ids"].tolist() == ["a:chr1:0-200", "a:chr1:50-250", "b:chr1:0-200", "b:chr1:50-250"]


def test_labels_file_consistency(tmp_path):
    arrays = {
        "tasks": ["t"], "chroms": ["chr1"], "sizes": [1000], "n_bins": [3], "mode": "dream",
        "labels": np.zeros((3, 1), np.int8), "keep": np.packbits(np.ones(3, bool)), "params": "{}",
        "bin_size": 200, "stride": 50,
    }  # fmt: skip
    write(tmp_path / "l.npz", LABELS, arrays)
    assert read(tmp_path / "l.npz", LABELS)["n_bins"].tolist() == [3]
    with pytest.raises(CisflowError, match="n_bins add up to 4 but labels have 3 rows"):
        write(tmp_path / "l.npz", LABELS, arrays | {"n_bins": [4]})
