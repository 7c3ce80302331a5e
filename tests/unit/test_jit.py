"""cisflow.jit: the numba kernels compiled into numba's on-disk cache at set-up."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cisflow import jit


# the fused kernels DeepSHAP of a Basset calls (ReLU multipliers times the gradient, the max-pool rule) and max
# pooling with arg-max (the autograd path of models that are not a plain chain); fast ISM's ReLU + max-pool stage pass
# (Basset) and its ReLU-change and pool + dense passes (SequenceDNN)
@pytest.mark.parametrize(
    "family, module, kernels",
    [
        ("deepshap", "_rescale", ("relu_scale-", "maxpool_rule-", "maxpool-")),
        ("ism", "_fastism", ("pooled_change-", "relu_change-", "window_dense-")),
    ],
)
def test_cisflow_kernels_land_in_the_cache_a_fresh_process_reads(tmp_path: Path, family, module, kernels) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    code = f"from cisflow.jit import compile_kernels; print(compile_kernels([{family!r}]))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    index = sorted(p.name for p in tmp_path.rglob("*.nbi"))
    for kernel in kernels:
        assert any(name.startswith(f"{module}.") and f".{kernel}" in name for name in index), (kernel, index)


def test_modisco_lite_kernels_land_in_the_cache(tmp_path: Path) -> None:
    pytest.importorskip("modiscolite")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    code = "from cisflow.jit import compile_kernels; print(compile_kernels(['modisco']))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    index = {p.name.split("-")[0] for p in tmp_path.rglob("*.nbi")}
    # the kernels of modisco-lite's seqlet clustering its first run would otherwise compile
    assert {"gapped_kmer._gkmer_rows", "affinitymat._sparse_mm_dot_rows", "util._perplexity_betas"} <= index, index


def test_a_family_whose_package_is_missing_is_skipped(monkeypatch) -> None:
    def missing() -> None:
        raise ImportError("No module named 'memelite'")

    monkeypatch.setitem(jit.KERNELS, "tomtom", missing)
    seconds = jit.compile_kernels(["tomtom"])
    assert list(seconds) == ["tomtom"] and math.isnan(seconds["tomtom"])
