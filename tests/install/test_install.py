"""A plain (non-editable) install of the checkout runs the stages from a folder outside the checkout.

The wheel is built from a copy of ``pyproject.toml``, ``README.md`` and ``src/`` (so the checkout gets no
``build/`` folder) with the running interpreter's setuptools, and installed with ``--no-deps`` into a fresh
venv. The venv sees the running environment's site-packages through a ``.pth`` line (torch and the other
dependencies need no reinstall); the checkout's ``src/`` is not on its path, so the package data (schemas,
bundled motifs) must come from the installed wheel.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    pytest.mark.install,
    pytest.mark.skipif(importlib.util.find_spec("pip") is None, reason="pip is not installed"),
]

REPO = Path(__file__).resolve().parents[2]


def _run(cmd: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """(bin folder of a fresh venv holding the wheel of this checkout, environment to run it with)."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env |= {"MPLBACKEND": "Agg", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    wheels = root / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", wheels, source], root, env)  # fmt: skip
    (wheel,) = wheels.glob("cisflow-*.whl")
    target = root / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    bin_dir = target / ("Scripts" if os.name == "nt" else "bin")
    purelib = _run([bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root, env)
    site = Path(purelib.stdout.strip())
    (site / "shared-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([bin_dir / "python", "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", wheel],
         root, env)  # fmt: skip
    return bin_dir, env


def test_installed_package_comes_from_the_wheel(installed, tmp_path):
    bin_dir, env = installed
    code = "import cisflow, cisflow.config as c; print(cisflow.__file__); print(c.schema_path('config'))"
    out = _run([bin_dir / "python", "-c", code], tmp_path, env).stdout.splitlines()
    for line in out:
        assert Path(line).is_relative_to(bin_dir.parent), line  # neither the checkout's src/ nor another install
    assert not Path(out[0]).is_relative_to(REPO)


def test_simulate_train_and_labels_outside_the_checkout(installed, tmp_path):
    bin_dir, env = installed
    cisflow = bin_dir / "cisflow"
    sim = ["simulate", "--kind", "single_motif_detection", "--motif", "TAL1_known4", "--input-length", "100",
           "--num-pos", "40", "--num-neg", "40", "--seed", "3", "--out-dir", "sim"]  # fmt: skip
    _run([cisflow, *sim], tmp_path, env)  # the ENCODE motif comes from the wheel's package data
    with np.load(tmp_path / "sim" / "train.npz") as train:
        assert train["codes"].shape == (56, 100) and str(train["format"]) == "cisflow-dataset"
    (tmp_path / "train.yaml").write_text(
        "seed: 1\nmodel: {name: sequence_dnn, params: {num_filters: [4], conv_width: [5], pool_width: 10}}\n"
        "train: {epochs: 1, batch_size: 16}\n"
    )
    train = ["train", "--train", "sim/train.npz", "--valid", "sim/valid.npz", "--config", "train.yaml"]
    _run([cisflow, *train, "--out-dir", "model", "--device", "cpu"], tmp_path, env)
    assert (tmp_path / "model" / "model.safetensors").is_file() and (tmp_path / "model" / "history.tsv").is_file()
    (tmp_path / "sizes.tsv").write_text("chr1\t2000\nchr2\t1000\n")
    (tmp_path / "peaks.narrowPeak").write_text("chr1\t500\t800\tp1\t0\t.\t5\t10\t-1\t150\n")
    labels = ["labels", "--conservative", "T=peaks.narrowPeak", "--chrom-sizes", "sizes.tsv", "--out", "labels.npz"]
    _run([cisflow, *labels, "--summary", "summary.tsv"], tmp_path, env)
    summary = (tmp_path / "summary.tsv").read_text().splitlines()
    assert summary[0].startswith("task\tbound\tambiguous\tunbound") and summary[1].startswith("T\t")
    bound, ambiguous, unbound = map(int, summary[1].split("\t")[1:4])
    assert bound + ambiguous + unbound == 37 + 17  # (2000 - 200) // 50 + 1 and (1000 - 200) // 50 + 1 bins
    assert bound > 0
