#!/usr/bin/env bash
# One prepared run for a lent GPU machine: the CUDA tests, the eval-speed benchmark on CUDA and
# the real-size gpu_check, each log under $OUT (default /tmp/gpu-session).
#
# The device image has python3 with torch 2.11 + CUDA, transformers, peft and accelerate but not
# bitsandbytes, soundfile or pyebur128: `make gpu-wheels` downloads those (Python 3.12 x86-64
# wheels) into .whl/ (git-ignored), and the run carries .whl. On the device tool:
#     run(command="bash benchmarks/gpu_session.sh", carry=[".whl"], timeout_s=540)
# Expected budget (not yet run on a GPU): the tests and bench_eval take a few minutes; gpu_check writes a random
# Qwen2-7B (about 15 GB) and loads it in NF4, the longest part. Steps past the budget are skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/gpu-session}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MIXINGBUDDY_NO_AUDIO=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" >/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "gpu_session: installing the carried wheels failed"; exit 2; }
    export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi
start=$SECONDS
budget=${GPU_SESSION_BUDGET_S:-500}
step() {  # step NAME SECONDS_NEEDED COMMAND...
    local name=$1 need=$2; shift 2
    if (( SECONDS - start + need > budget )); then
        echo "== $name: skipped (needs about ${need} s, $((budget - SECONDS + start)) s left)" | tee -a "$OUT/summary.txt"
        return
    fi
    echo "== $name"
    local t0=$SECONDS
    "$@" 2>&1 | tee "$OUT/$name.log"
    echo "== $name: exit ${PIPESTATUS[0]} in $((SECONDS - t0)) s" | tee -a "$OUT/summary.txt"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$OUT/summary.txt"
$PY -c "import torch, transformers, peft, bitsandbytes; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
'transformers', transformers.__version__, 'peft', peft.__version__, 'bitsandbytes', bitsandbytes.__version__)" \
    2>&1 | tee -a "$OUT/summary.txt"
step gpu_tests 150 $PY -m pytest -q -m gpu tests/gpu -p no:cacheprovider -W ignore::FutureWarning
step bench_eval 120 $PY benchmarks/bench_eval.py --device cuda --samples 32 --batch-size 16
step gpu_check 240 $PY benchmarks/gpu_check.py --workdir /tmp
cat "$OUT/summary.txt"
