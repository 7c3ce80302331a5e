"""Degenerate models of issue 17, each an error that says so instead of a model saved, or a third-party traceback.

Training whose loss becomes non-finite, or whose model stays at chance on validation, stops with one
line and writes no model; contribution scores that modisco-lite cannot work on (non-finite, all zero,
constant, or with too few non-zero windows) are one line naming the scores file, never its IndexError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from cisflow._testing.artifacts import write_dataset
from cisflow.artifacts import SCORES, write
from cisflow.cli import main
from cisflow.genome import one_hot


def _cli_fails(capsys, argv: list, *needles: str) -> str:
    code = main([str(a) for a in argv])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"cisflow {argv[0]}: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    """Learnable data (positives hold a run of G) and data whose labels no sequence feature explains."""
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("valid", 32)):
        codes, labels = rng.integers(0, 4, (n, 40)), (np.arange(n) % 2)[:, None]
        codes[labels[:, 0] == 1, 15:25] = 2
        write_dataset(d / f"{split}.npz", codes, labels, ["T"])
        write_dataset(d / f"flat_{split}.npz", np.repeat(codes[:1], n, axis=0), labels, ["T"])  # one sequence
    return {"dir": d}


def _train_argv(d: Path, prefix: str, out: Path, **train) -> list:
    config = out.parent / f"{out.name}.yaml"
    model = {"name": "sequence_dnn", "params": {"num_filters": [4], "conv_width": [5], "pool_width": 5}}
    config.write_text(yaml.safe_dump({"seed": 1, "model": model, "train": {"epochs": 2, "batch_size": 16, **train}}))
    return ["train", "--train", d / f"{prefix}train.npz", "--valid", d / f"{prefix}valid.npz", "--config", config,
            "--out-dir", out, "--device", "cpu"]  # fmt: skip


def test_diverged_training_is_an_error_and_saves_no_model(tmp_path, capsys, datasets):
    out = tmp_path / "model"
    _cli_fails(capsys, _train_argv(datasets["dir"], "", out, learning_rate=1e30), "training diverged at epoch 1",
               "lower train.learning_rate")  # fmt: skip
    assert not (out / "model.safetensors").exists()


def test_a_model_at_chance_is_an_error_and_saves_no_model(tmp_path, capsys, datasets):
    out = tmp_path / "model"
    _cli_fails(capsys, _train_argv(datasets["dir"], "flat_", out), "training did not learn",
               "best validation auROC in 2 epochs is 0.500 (chance is 0.5)")  # fmt: skip
    assert not (out / "model.safetensors").exists()
    assert main([str(a) for a in _train_argv(datasets["dir"], "", tmp_path / "ok", learning_rate=0.02)]) == 0


def _scores(path: Path, hypothetical: np.ndarray, x: np.ndarray) -> Path:
    n = len(x)
    write(path, SCORES, {"x": x, "scores": x * hypothetical, "hypothetical": hypothetical,
                         "ids": np.array([f"s{i}" for i in range(n)]), "task": np.array("T"), "seed": np.int64(0),
                         "bin_size": 0, "stride": 0, "input_length": x.shape[2]})  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("zeros", "contribution scores are all zero over every 21-bp window"),
        ("constant", "contribution scores are constant over every 21-bp window"),
        ("nan", "contribution scores hold 6000 NaN or infinite values"),
        ("one-spot", "modisco-lite cannot call seqlets on these contribution scores (ValueError"),
    ],
)
def test_modisco_on_degenerate_scores_names_the_file(tmp_path, capsys, case, needle):
    rng = np.random.default_rng(0)
    x = one_hot(rng.integers(0, 4, (30, 50)).astype(np.uint8))
    hyp = {"zeros": np.zeros_like(x), "constant": np.full_like(x, 0.25), "nan": np.full_like(x, np.nan)}.get(case)
    if hyp is None:
        hyp = np.zeros_like(x)
        hyp[0, :, 25] = 1.0  # one position of one sequence
    scores = _scores(tmp_path / "scores.npz", hyp, x)
    out = tmp_path / "motifs"
    line = _cli_fails(capsys, ["motifs", "--scores", scores, "--out-dir", out, "--n-leiden-runs", "2",
                               "--min-metacluster-size", "3", "--final-min-cluster-size", "3"], needle)  # fmt: skip
    assert f"error: {scores}: " in line
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


# ----------------------------------------------------------------------------------------------
# tasks without a bound bin: an error before training, not NaN metrics at the end


def _np_line(chrom: str, start: int, end: int) -> str:
    return f"{chrom}\t{start}\t{end}\t.\t0\t.\t5.0\t10.0\t8.0\t{(end - start) // 2}\n"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> dict[str, Path]:
    """Three chromosomes; task TF bound on each; task OWN's peaks all in a blacklisted region (bound nowhere)."""
    from cisflow.genome import write_fasta

    d = tmp_path_factory.mktemp("labels")
    rng = np.random.default_rng(0)
    write_fasta(d / "g.fa", [(c, "".join(rng.choice(list("ACGT"), 4000))) for c in ("chr1", "chr2", "chr3")])
    (d / "tf.narrowPeak").write_text("".join(_np_line(c, s, s + 300) for c in ("chr1", "chr2", "chr3")
                                             for s in (500, 2000)))  # fmt: skip
    (d / "tf1.narrowPeak").write_text(_np_line("chr1", 500, 800))
    (d / "own.narrowPeak").write_text(_np_line("chr1", 1000, 1200) + _np_line("chr2", 1000, 1200))
    (d / "blacklist.bed").write_text("chr1\t900\t1300\nchr2\t900\t1300\n")
    for name, tasks in (("own", ("tf", "own")), ("tf1", ("tf", "tf1"))):
        argv = ["labels", "--genome", d / "g.fa", "--blacklist", d / "blacklist.bed", "--out", d / f"{name}.npz"]
        argv += [a for t in tasks for a in ("--conservative", f"{t.upper()}={d / f'{t}.narrowPeak'}")]
        assert main([str(a) for a in argv]) == 0
    return {"dir": d, "genome": d / "g.fa"}


def test_a_task_bound_nowhere_stops_before_training(tmp_path, capsys, labelled):
    out = tmp_path / "sets"
    argv = ["splits", "--labels", labelled["dir"] / "own.npz", "--genome", labelled["genome"], "--valid", "chr2",
            "--test", "chr3", "--input-length", "200", "--out-dir", out]  # fmt: skip
    line = _cli_fails(capsys, argv, "own.npz: task OWN has no bound bin in the train split (chr1)",
                      "nor anywhere in the labels", "a replicate as its own control?")  # fmt: skip
    assert line
    assert not out.exists() or not list(out.iterdir())


def test_a_task_without_test_positives_stops_before_training(tmp_path, capsys, labelled):
    out = tmp_path / "sets"
    argv = ["splits", "--labels", labelled["dir"] / "tf1.npz", "--genome", labelled["genome"], "--valid", "chr2",
            "--test", "chr3", "--input-length", "200", "--out-dir", out]  # fmt: skip
    _cli_fails(capsys, argv, "task TF1 has no bound bin in the test split (chr3), so its auROC and auPRC are undefined")
    assert not out.exists() or not list(out.iterdir())


def test_evaluating_where_no_task_can_be_scored_is_an_error(tmp_path, capsys, datasets):
    model = tmp_path / "model"
    assert main([str(a) for a in _train_argv(datasets["dir"], "", model, learning_rate=0.02)]) == 0
    rng = np.random.default_rng(1)
    unbound = write_dataset(tmp_path / "test.npz", rng.integers(0, 4, (20, 40)), np.zeros((20, 1), np.int8), ["T"])
    out = tmp_path / "eval"
    _cli_fails(capsys, ["evaluate", "--model", model, "--test", unbound, "--out-dir", out, "--device", "cpu"],
               f"{unbound}: no task can be scored on this test set: T (no bound bin)")  # fmt: skip
    assert not out.exists() or not list(out.iterdir())


def test_zero_threads_is_an_error(tmp_path, capsys, datasets):
    """``--threads 0`` used to run with one thread without a word."""
    out = tmp_path / "model"
    _cli_fails(capsys, [*_train_argv(datasets["dir"], "", out), "--threads", 0], "--threads", "at least 1, got 0")
    assert not (out / "model.safetensors").exists()


def _narrowpeaks(path: Path, starts: list[int]) -> Path:
    path.write_text("".join(f"chr1\t{s}\t{s + 200}\tp{i}\t0\t.\t10\t{20 - i / 100:.2f}\t5\t100\n"
                            for i, s in enumerate(starts)))  # fmt: skip
    return path


def test_idr_with_too_few_matched_peaks_is_an_error(tmp_path, capsys):
    """Five peaks in common: IDR cannot fit its model, and says so instead of writing an empty set with exit 0."""
    rep1 = _narrowpeaks(tmp_path / "rep1.narrowPeak", [1000 * i for i in range(30)])
    rep2 = _narrowpeaks(
        tmp_path / "rep2.narrowPeak", [1000 * i + 50 for i in range(5)] + [500 + 1000 * i for i in range(5, 30)]
    )
    out = tmp_path / "idr.narrowPeak"
    _cli_fails(capsys, ["peaks", "idr", "--rep1", rep1, "--rep2", rep2, "--out", out],
               f"only 5 peak(s) of {rep1} and {rep2} match", "needs 20", "cisflow peaks overlap")  # fmt: skip
    assert not out.exists()
    rep2 = _narrowpeaks(tmp_path / "rep2.narrowPeak", [1000 * i + 50 for i in range(30)])  # all 30 match
    assert main(["peaks", "idr", "--rep1", str(rep1), "--rep2", str(rep2), "--out", str(out)]) == 0
    assert out.exists()
