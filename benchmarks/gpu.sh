#!/usr/bin/env bash
# The GPU check in one script (target: under 8 minutes on one GPU), printing one table at the end:
#   1. the gpu-marked tests;
#   2. benchmarks/gpu.py: demo-model training seq/s in bf16 from the streaming loader vs in-memory tensors, with
#      the GPU utilisation nvidia-smi sampled meanwhile; fast ISM, DeepSHAP and prediction seq/s; the demo's
#      training + interpretation wall time when a finished run's inputs are there (results/labels, results/data);
#   3. benchmarks/ism.py and benchmarks/deepshap.py on the GPU (cisflow beside tangermeme).
# The GPU machine has Python 3.12 with CUDA PyTorch (and numpy, scipy, pandas, scikit-learn, matplotlib, h5py,
# numba, pytest) but none of cisflow's other dependencies and no internet: they come from the wheels in .whl/
# that benchmarks/gpu_wheels.sh downloads (carry .whl, and results/labels + results/data for the demo row).
#
#   bash benchmarks/gpu.sh                # on the GPU machine
#   bash benchmarks/gpu.sh --cpu-dry-run  # here: every step, tiny, on the CPU with the project's venv
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0
[[ "${1:-}" == "--cpu-dry-run" ]] && DRY=1
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
SUMMARY=()
step() {  # step NAME COMMAND...: run, time, and record its status line
  local name=$1 start rc
  shift
  echo "=== $name: $*"
  start=$(date +%s)
  "$@" 2>&1 | tee "/tmp/cisflow-gpu-$name.log"
  rc=${PIPESTATUS[0]}
  SUMMARY+=("$(printf '%-14s %6ss  exit %s  %s' "$name" $(($(date +%s) - start)) "$rc" \
    "$(grep -E '[0-9]+ (passed|skipped|failed)' "/tmp/cisflow-gpu-$name.log" | tail -1)")")
}

if ((DRY)); then
  export PYTHONPATH=$PWD/src
  DEVICE=cpu
  SIDE_ARGS=(--device cpu --n 2 --models sequence_dnn)
else
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "gpu.sh: no wheels in .whl/ (run benchmarks/gpu_wheels.sh where there is internet, carry .whl)" >&2
    exit 1
  fi
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/cisflow-site \
    .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/cisflow-site:$PWD/src
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  DEVICE=cuda
  SIDE_ARGS=(--device cuda --n 64 --threads 8)
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

step tests "$PY" -m pytest -q -p no:cacheprovider -m gpu tests/unit/test_train.py tests/unit/test_models.py \
  tests/unit/test_interpret.py
step gpu "$PY" benchmarks/gpu.py --device "$DEVICE" $( ((DRY)) && echo --cpu-dry-run)
step ism "$PY" benchmarks/ism.py "${SIDE_ARGS[@]}"
step deepshap "$PY" benchmarks/deepshap.py "${SIDE_ARGS[@]}"

echo
echo "=== tables"
sed -n '/^cisflow on/,$p' /tmp/cisflow-gpu-gpu.log
for name in ism deepshap; do sed -n '/^\(ISM\|DeepSHAP\), /,$p' "/tmp/cisflow-gpu-$name.log"; done
echo
echo "=== steps (wall seconds, exit status, test summary)"
printf '%s\n' "${SUMMARY[@]}"
