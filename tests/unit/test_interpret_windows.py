"""One summit-centred window per peak (cisflow.interpret.windows) and its use by interpret_model."""

import numpy as np
import pandas as pd
import pytest

from cisflow.errors import CisflowError
from cisflow.interpret.windows import read_peak_summits, summit_windows

SIZES = {"chr1": 1000, "chr2": 400, "chr3": 50}


def _peaks(tmp_path, lines):
    path = tmp_path / "p.narrowPeak"
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in lines))
    return path


def test_read_peak_summits_known_answer(tmp_path):
    path = _peaks(
        tmp_path,
        [
            ("chr1", 100, 300, "a", 0, ".", 1, 1, 1, 50),  # summit 150
            ("chr1", 500, 600, "b", 0, ".", 1, 1, 1, -1),  # no summit: the centre, 550
            ("chr1", 100, 300, "a2", 0, ".", 1, 1, 1, 20),  # same peak interval again: dropped
            ("chr2", 0, 100, "c", 0, ".", 1, 1, 1, 10),
        ],
    )
    table = read_peak_summits([path])
    assert table.to_dict("list") == {
        "chrom": ["chr1", "chr1", "chr2"],
        "start": [100, 500, 0],
        "end": [300, 600, 100],
        "summit": [150, 550, 10],
    }


def test_summit_windows_centred_clipped_and_in_genome_order():
    peaks = pd.DataFrame(
        {
            "chrom": ["chr2", "chr1", "chr1", "chr1", "chr3", "chrX"],
            "start": [300, 500, 0, 900, 0, 0],
            "end": [400, 600, 100, 1000, 50, 50],
            "summit": [350, 550, 20, 990, 25, 25],
        }
    )
    w = summit_windows(peaks, ["chr1", "chr2", "chr3", "chrX"], SIZES, 200, 10, seed=0)
    # chr1 first (genome order), by summit; windows centred on the summit unless past an end;
    # chr3 is shorter than the window and chrX is not in the genome
    assert w["chrom"].tolist() == ["chr1", "chr1", "chr1", "chr2"]
    assert w["start"].tolist() == [0, 450, 800, 200]
    assert w["summit"].tolist() == [20, 550, 990, 350]
    assert w["ids"].tolist() == ["chr1:0-100", "chr1:500-600", "chr1:900-1000", "chr2:300-400"]


def test_summit_windows_only_given_chromosomes_and_seeded_cap():
    peaks = pd.DataFrame(
        {"chrom": ["chr1"] * 6 + ["chr2"], "start": np.arange(7) * 100, "end": np.arange(7) * 100 + 50}
    )
    peaks["summit"] = peaks["start"] + 25
    w = summit_windows(peaks.iloc[:6], ["chr1"], SIZES, 100, 3, seed=4)
    again = summit_windows(peaks.iloc[:6], ["chr1"], SIZES, 100, 3, seed=4)
    assert len(w["ids"]) == 3 and w["ids"].tolist() == again["ids"].tolist()
    assert set(w["ids"]) < {f"chr1:{s}-{s + 50}" for s in range(0, 600, 100)}
    assert np.all(np.diff(w["summit"]) > 0)
    assert summit_windows(peaks, ["chr2"], SIZES, 100, 10, seed=0)["start"].tolist() == [300]  # the last 100 bp
    with pytest.raises(CisflowError, match="must be ≥ 1"):
        summit_windows(peaks, ["chr1"], SIZES, 100, 0, seed=0)


def test_interpret_model_explains_one_summit_window_per_peak(tmp_path):
    from cisflow._testing.testdata import synthetic_genome
    from cisflow.artifacts import DATASET, write
    from cisflow.genome import one_hot
    from cisflow.interpret.pipeline import interpret_model, interpret_outputs
    from cisflow.models import build_model, save_model

    codes = synthetic_genome(tmp_path / "g.fa", {"chr1": 600, "chr2": 300}, seed=1)
    # bound bins of chr1 only (every 20 bp over one peak): the windows are the peaks', not these
    n = 5
    ids = np.array([f"b{i}" for i in range(n)])
    dataset = {"labels": np.ones((n, 1), np.int8), "tasks": np.array(["t"]), "ids": ids,
               "chrom": np.array(["chr1"] * n), "start": np.arange(n) * 20, "bin_start": np.arange(n) * 20 + 20,
               "bin_size": 20, "stride": 20, "input_length": 60}  # fmt: skip
    write(tmp_path / "d.npz", DATASET, dataset)
    _peaks(tmp_path, [("chr1", 100, 200, "a", 0, ".", 1, 1, 1, 30), ("chr1", 400, 500, "b", 0, ".", 1, 1, 1, 60),
                      ("chr2", 0, 100, "c", 0, ".", 1, 1, 1, 50)])  # fmt: skip
    model = build_model("sequence_dnn", n_tasks=1, input_length=60, num_filters=[4], conv_width=[5], pool_width=5)
    save_model(tmp_path / "m", model, {"tasks": ["t"]})
    out = interpret_outputs(tmp_path / "out", ["grad_x_input"])
    interpret_model(tmp_path / "m", tmp_path / "d.npz", out, ["grad_x_input"], genome=tmp_path / "g.fa",
                    peaks={"t": tmp_path / "p.narrowPeak"})  # fmt: skip
    scores = np.load(out["scores"]["grad_x_input"])
    assert scores["ids"].tolist() == ["chr1:100-200", "chr1:400-500"]  # chr2 is in no interpreted split
    assert scores["start"].tolist() == [100, 430]  # summits 130 and 460, windows of 60 bp
    np.testing.assert_array_equal(scores["x"], one_hot(np.stack([codes["chr1"][100:160], codes["chr1"][430:490]])))
    with pytest.raises(CisflowError, match="no peaks given for task 't'"):
        interpret_model(tmp_path / "m", tmp_path / "d.npz", out, ["grad_x_input"], genome=tmp_path / "g.fa",
                        peaks={"other": tmp_path / "p.narrowPeak"})  # fmt: skip
