#!/usr/bin/env bash
# Download, here (with internet), the manylinux CPython 3.12 wheels that benchmarks/gpu.sh installs on a GPU
# machine that has Python 3.12 + CUDA PyTorch + numpy/scipy/pandas/scikit-learn/matplotlib/h5py/numba but none
# of cisflow's other dependencies and no internet. They land in .whl/ (ignored by git); carry it with the run.
#
#   bash benchmarks/gpu_wheels.sh [PIP]      # PIP defaults to python3 -m pip
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=${1:-"python3 -m pip"}
# name==version, each pinned; --no-deps below, so every missing dependency is listed here
WHEELS=(
  pybigwig==0.3.29        # interpret: contribution bigWig tracks
  logomaker==0.8.7        # interpret: filter logos
  jsonschema==4.26.0      # config validation
  jsonschema-specifications==2025.9.1
  referencing==0.37.0
  rpds-py==2026.9.1
  tangermeme==1.6.0       # the side-by-side anchor (benchmarks/ism.py, benchmarks/deepshap.py)
  memelite==0.5.0
  figwig==0.2.0
  pyfaidx==0.9.2.2
)
mkdir -p .whl
for spec in "${WHEELS[@]}"; do
  # shellcheck disable=SC2086
  $PIP download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d .whl "$spec"
done
ls -1 .whl
du -sh .whl
