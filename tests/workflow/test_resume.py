"""Kill Snakemake (SIGKILL, whole process group) while training runs, rerun, and check it resumes.

The rerun must not redo the simulation, must resume training from ``results/train/checkpoint.pt``
(the train log says so), and must end with the same metrics as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
TARGET = "results/evaluate/metrics.json"
pytestmark = pytest.mark.workflow


def _config(path: Path) -> Path:
    """The tiny simulation with 0.2-1 s epochs (1,400 training sequences), 6 epochs, no early stopping."""
    config = yaml.safe_load((REPO / "tests/workflow/simulation_tiny.yaml").read_text())
    config["simulation"].update(num_pos=1000, num_neg=1000)
    config["train"].update(epochs=6, patience=6)
    path.write_text(yaml.safe_dump(config))
    return path


def _command(workdir: Path, configfile: Path, *extra: str) -> list[str]:
    # No --rerun-incomplete here: profiles/default sets it, and Snakemake finds that workflow profile
    # beside the Snakefile whatever --directory or the current directory is (asserted below).
    return [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(configfile), "--cores", "2",
            *extra, TARGET]  # fmt: skip


def _env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", MPLBACKEND="Agg")


def _run(cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout, cwd=REPO)
    if proc.returncode != 0:
        pytest.fail(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def _epochs_logged(log: Path) -> int:
    """Highest epoch with a validation line (``Epoch k: Valid ...``) in the train log; 0 if none yet."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    return max((int(k) for k in re.findall(r"Epoch (\d+): Valid", text)), default=0)


def _start_and_kill(cmd: list[str], work: Path, min_epoch: int = 3, timeout: float = 180) -> int:
    """Start Snakemake in its own process group; SIGKILL the group once epoch ``min_epoch`` is validated.

    The checkpoint of epoch k is written right after its validation line, so at that moment the
    checkpoint holds epoch ``min_epoch - 1`` or ``min_epoch``. Returns the last validated epoch.
    """
    checkpoint, log = work / "results/train/checkpoint.pt", work / "logs/train/train.log"
    proc = subprocess.Popen(cmd, env=_env(), cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"snakemake ended ({proc.returncode}) before training reached epoch {min_epoch}")
            if checkpoint.is_file() and _epochs_logged(log) >= min_epoch:
                epoch = _epochs_logged(log)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return epoch
            time.sleep(0.01)
        pytest.fail(f"training did not reach epoch {min_epoch} within {timeout} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    return 0


def test_killed_training_resumes_from_checkpoint(tmp_path):
    config = _config(tmp_path / "config.yaml")
    work, ref = tmp_path / "killed", tmp_path / "uninterrupted"
    killed_at = _start_and_kill(_command(work, config), work)
    assert not (work / TARGET).exists()
    assert not (work / "results/train/model.safetensors").exists()
    simulated = work / "results/data/train.npz"
    mtime = simulated.stat().st_mtime_ns

    _run(_command(work, config, "--unlock"))
    rerun = _run(_command(work, config))
    assert "profiles/default" in rerun.stdout + rerun.stderr, "the workflow profile was not picked up"
    assert simulated.stat().st_mtime_ns == mtime, "the simulation was rerun"
    assert "rule simulate" not in rerun.stdout + rerun.stderr
    train_log = (work / "logs/train/train.log").read_text()
    resumed = re.search(r"resumed from \S*checkpoint\.pt after epoch (\d+)", train_log)
    assert resumed, train_log[-2000:]
    assert int(resumed.group(1)) in (killed_at - 1, killed_at) and int(resumed.group(1)) >= 2
    assert "Epoch 1: Train" not in train_log, "the rerun trained from scratch"

    _run(_command(ref, config))
    got, want = (json.loads((d / TARGET).read_text()) for d in (work, ref))
    assert got["tasks"] == want["tasks"]
    assert got == want


def test_changed_data_of_the_same_size_retrains(tmp_path):
    """Issue 17's stale model: after a finished run, ``simulation.gc_fraction`` 0.4 → 0.6 (same number of
    sequences and positives) reruns the simulation and training, and training starts over on the new data:
    the weights are those of a fresh run on it, not the old ones."""
    target = "results/train/model.safetensors"
    config = yaml.safe_load((REPO / "tests/workflow/simulation_tiny.yaml").read_text())
    first, second = tmp_path / "gc04.yaml", tmp_path / "gc06.yaml"
    first.write_text(yaml.safe_dump(config))
    config["simulation"]["gc_fraction"] = 0.6
    second.write_text(yaml.safe_dump(config))
    work, fresh = tmp_path / "run", tmp_path / "fresh"

    def run(workdir: Path, configfile: Path) -> bytes:
        cmd = [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(configfile), "--cores", "2", target]
        _run(cmd)
        return (workdir / target).read_bytes()

    old = run(work, first)
    retrained = run(work, second)
    train_log = (work / "logs/train/train.log").read_text()
    assert "changed: the training data's content" in train_log and "resumed from" not in train_log
    assert retrained != old
    assert retrained == run(fresh, second)
