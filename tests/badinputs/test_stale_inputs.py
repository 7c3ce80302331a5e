"""Issue 17's stale model, through a file the training data is read from rather than its arrays.

On the genome track the datasets are coordinates: training reads the labels, the genome and the
signal bigWigs under each window, so ``reads.signal_bin_size`` changed (the bigWig made again at
another resolution: same chromosomes, other bytes) must not resume a finished checkpoint. The files
are handed to :func:`cisflow.train.train_model` as ``data_files``, as the genome loader hands them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyBigWig
from safetensors.torch import load_file

from cisflow._testing.artifacts import write_dataset
from cisflow.train import train_model, train_outputs

MODEL = {"name": "sequence_dnn", "params": {"num_filters": [4], "conv_width": [5], "pool_width": 5}}
TRAIN = {"epochs": 2, "batch_size": 16, "learning_rate": 0.02}


def _bigwig(path: Path, bin_size: int) -> Path:
    """A coverage bigWig of one 2 kb chromosome in ``bin_size`` bins (a ramp: the same signal, binned)."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 2000)])
    starts = np.arange(0, 2000, bin_size)
    bw.addEntries(["chr1"] * len(starts), starts.tolist(), ends=(starts + bin_size).tolist(),
                  values=(starts / 2000.0).tolist())  # fmt: skip
    bw.close()
    return path


def _data(root: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    paths = {}
    for split, n in (("train", 64), ("valid", 32)):
        codes, labels = rng.integers(0, 4, (n, 40)), (np.arange(n) % 2)[:, None]
        codes[labels[:, 0] == 1, 15:25] = 2
        paths[split] = root / f"{split}.npz"
        write_dataset(paths[split], codes, labels, ["T"])
    return paths


def test_a_signal_bigwig_made_again_at_another_bin_size_retrains(tmp_path, caplog):
    data, out = _data(tmp_path), tmp_path / "run"
    bigwig = _bigwig(tmp_path / "signal.bw", 10)
    args = (data["train"], data["valid"], train_outputs(out), MODEL, TRAIN, 1)
    train_model(*args, device="cpu", data_files=[bigwig])
    before = load_file(str(out / "model.safetensors"))
    with caplog.at_level("INFO", logger="cisflow.train"):
        resumed = train_model(*args, device="cpu", data_files=[bigwig])  # the same files: finished already
    assert "starting over" not in caplog.text and "resumed from" in caplog.text and resumed["completed"]
    caplog.clear()
    _bigwig(bigwig, 50)  # reads.signal_bin_size 10 -> 50: the same chromosome, other content
    with caplog.at_level("INFO", logger="cisflow.train"):
        train_model(*args, device="cpu", data_files=[bigwig])
    assert "(changed: the training data's content); starting over" in caplog.text
    assert "resumed from" not in caplog.text  # trained again from epoch 1, not "finished" by the old checkpoint
    assert set(load_file(str(out / "model.safetensors"))) == set(before)
