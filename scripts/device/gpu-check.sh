#!/usr/bin/env bash
# The prepared GPU check, in two phases that each fit 4 minutes of a lent machine (16 cores, one GPU). On a machine
# with an NVIDIA GPU and a CUDA PyTorch but no Node or network (carry .device/, filled by scripts/device/prepare.sh):
#
#   scripts/device/prepare.sh                       # here, once: Node + production node_modules into .device/
#   scripts/device/gpu-check.sh A                   # on the device: build, prove the GPU, torch tests
#   scripts/device/gpu-check.sh B                   # on the device: benchmarks against PyTorch, a short `wider`
#
# With this workplace's device tool: run(command: 'scripts/device/gpu-check.sh A', carry: ['.device'],
# timeout_s: 270), then the same with B while the machine is warm (B reuses A's build; it rebuilds when it is gone).
#
# Phase A stops at the first of these that fails, with the reason in summary.json: the build (a skipped build, or a
# build against a libtorch without CUDA), the device probe (load the addon on `cuda`, one convolution, read it back,
# compare with the cpu backend). Then captured against uncaptured training losses over 50 steps
# (scripts/device/capture-check.ts), and the torch tests with CI=1 on the GPU: kernels -> device-control (cuDNN flags,
# synchronize, gather index checks) -> training -> operators.
# Phase B: `bench train` for the small (28x28x1, batch 64) and full (224x224x3, batch 32) networks in fp32 and bf16,
# each against the PyTorch graph peer on the same GPU at the same precision and TF32 setting (each with the step time
# captured and through TF.js), the host cost of a step at near-zero compute (train-host), then a short default
# `wider` on the GPU. The data-loading bench runs only when GPU_CHECK_DATA=1.
#
# Every step appends its result to $OUT/summary.json when it ends, so a killed phase still says what passed. Output
# ($OUT, default ./gpu-check-out): summary.json, env.json, gpu-check.log (stderr of all steps), and one file per step.
# Knobs (environment): GPU_CHECK_BUDGET_S (230), GPU_CHECK_THREADS (cores), GPU_CHECK_SMALL_STEPS (20),
# GPU_CHECK_FULL_STEPS (10), GPU_CHECK_CAPTURE_STEPS (50), GPU_CHECK_SKIP (steps to skip, comma-separated), GPU_CHECK_ALLOW_CPU=1 (go on without
# a GPU: a dry run of the script on a CPU machine), GPU_CHECK_USE_BUNDLE=1 (use .device/ even where Node and
# node_modules exist), GPU_CHECK_DATA=1, PYTHON.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
phase=${1:-A}
case "$phase" in A | B) ;; *)
  echo "usage: scripts/device/gpu-check.sh A|B" >&2
  exit 2
  ;;
esac
OUT=${OUT:-$root/gpu-check-out}
mkdir -p "$OUT"
log=$OUT/gpu-check.log
: >"$log"
steps=$OUT/steps.tsv
: >"$steps"
started=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-230}
allow_cpu=${GPU_CHECK_ALLOW_CPU:-0}
say() { echo "[gpu-check $phase $(($(date +%s) - started))s] $*" | tee -a "$log" >&2; }

# The first Python that imports torch: $PYTHON, python3, then Debian's /usr/bin/python3.
for candidate in ${PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import torch' 2>/dev/null; then
    PYTHON=$(command -v "$candidate")
    break
  fi
done
PYTHON=${PYTHON:-python3}
export PYTHON NET2NET_TORCH_PYTHON=$PYTHON

# xz, or Python's lzma where the xz tool is missing.
unxz() {
  if command -v xz >/dev/null; then xz -dc "$1"; else
    "$PYTHON" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  fi
}

# --- Node and node_modules: this machine's, or unpacked from .device/ ---
if [ "${GPU_CHECK_USE_BUNDLE:-0}" = 1 ] || ! command -v node >/dev/null || [ ! -e node_modules ]; then
  if [ ! -f .device/node.xz ] || [ ! -f .device/node_modules.tar.xz ]; then
    say "no Node here and no .device/ bundle: run scripts/device/prepare.sh where Node is, and carry .device"
    exit 2
  fi
  bin=${TMPDIR:-/tmp}/net2net-device-bin
  mkdir -p "$bin"
  unxz .device/node.xz >"$bin/node" && chmod +x "$bin/node"
  export PATH=$bin:$PATH
  if [ -e node_modules ] && [ ! -f node_modules/.net2net-device ]; then
    say "refusing to replace this checkout's node_modules with the bundle (GPU_CHECK_USE_BUNDLE=1 is for a bare copy)"
    exit 2
  fi
  if [ ! -f node_modules/.net2net-device ]; then
    unxz .device/node_modules.tar.xz | tar -xf - -C "$root"
    touch node_modules/.net2net-device
  fi
  say "Node $(node -v) and node_modules from .device/"
fi
THREADS=${GPU_CHECK_THREADS:-$(nproc)}
node=(node --import tsx)
cuda=$("$PYTHON" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")' 2>>"$log" || echo cpu)
if [ "$cuda" = cpu ] && [ "$allow_cpu" != 1 ]; then
  say "PyTorch ($PYTHON) sees no GPU; GPU_CHECK_ALLOW_CPU=1 runs the check on the CPU anyway"
fi
# Our backend must be on the GPU: an error, not a CPU fallback, when it cannot be (dry runs excepted).
[ "$allow_cpu" = 1 ] && [ "$cuda" = cpu ] && export NET2NET_TORCH_DEVICE=cpu || export NET2NET_TORCH_DEVICE=cuda

summarize() { "${node[@]}" scripts/device/gpu-check-summary.ts "$steps" "$OUT" "$phase" >"$OUT/summary.json.tmp" 2>>"$log" &&
  mv "$OUT/summary.json.tmp" "$OUT/summary.json"; }

# step NAME CAP_SECONDS OUTPUT_FILE COMMAND...: stdout to OUTPUT_FILE, stderr to the log; the summary after each.
step() {
  local name=$1 cap=$2 output=$3
  shift 3
  local left=$((budget - ($(date +%s) - started)))
  if [[ ",${GPU_CHECK_SKIP:-}," == *",$name,"* ]]; then
    printf '%s\tskipped\t0\t%s\n' "$name" "$output" >>"$steps"
    summarize
    return 0
  fi
  if [ "$left" -lt 10 ]; then
    say "$name: not run, the phase's time budget is spent"
    printf '%s\tno-time\t0\t%s\n' "$name" "$output" >>"$steps"
    summarize
    return 1
  fi
  [ "$cap" -gt "$left" ] && cap=$left
  say "$name (cap ${cap}s): $*"
  local t0 rc status=ok
  t0=$(date +%s)
  timeout --kill-after=5 "$cap" "$@" >>"$OUT/$output" 2>>"$log"
  rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=timeout; elif [ $rc -ne 0 ]; then status="exit-$rc"; fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(($(date +%s) - t0))" "$output" >>"$steps"
  summarize
  say "$name: $status in $(($(date +%s) - t0))s"
  return $rc
}

# stop REASON: the check cannot go on; summary.json records why.
stop() {
  say "STOPPED: $1"
  printf 'stopped\t%s\t0\t-\n' "$1" >>"$steps"
  summarize
  exit 3
}

# --- environment ---
{
  node -e 'console.log(JSON.stringify({ node: process.version, cores: require("os").availableParallelism() }))'
  "$PYTHON" -c 'import json, torch; print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available(),
    "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}))'
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null |
    sed 's/.*/{"nvidia_smi": "&"}/'
} >"$OUT/env.json" 2>>"$log"
say "phase $phase, torch device $NET2NET_TORCH_DEVICE, peer device $cuda, $THREADS threads, python $PYTHON"

# --- the build (phase B only when phase A's is gone), and what it was built against ---
build_record=native/build/torch-backend.json
if [ "$phase" = A ] || [ ! -f native/build/torch-backend.node ]; then
  step build 150 build.log node scripts/build-torch-addon.mjs
fi
[ -f native/build/torch-backend.node ] || stop "the torch addon was not built (build.log, gpu-check.log)"
if ! grep -q '"cuda": true' "$build_record" 2>/dev/null && [ "$allow_cpu" != 1 ]; then
  stop "the torch addon was built against a libtorch without CUDA: $(grep '"libtorch"' "$build_record" 2>/dev/null)"
fi

if [ "$phase" = A ]; then
  step probe 60 probe.jsonl "${node[@]}" scripts/device/cuda-probe.ts ||
    stop "the device probe failed (probe.jsonl, gpu-check.log)"
  step capture 60 capture.jsonl "${node[@]}" scripts/device/capture-check.ts "${GPU_CHECK_CAPTURE_STEPS:-50}"
  for suite in kernels device-control training operators; do
    CI=1 step "test-$suite" 75 "test-$suite.tap" "${node[@]}" --test --test-concurrency=1 --test-reporter=tap \
      "test/torch-$suite.test.ts"
  done
else
  bench=("${node[@]}" scripts/bench.ts train --backend torch --threads "$THREADS" --warmup 2 --compare
    --compare-with peer --peer graph --peer-device "$cuda")
  for precision in fp32 bf16; do
    step "train-small-$precision" 45 "train-small-$precision.jsonl" "${bench[@]}" --precision "$precision" \
      --model inception-bn-small --input 28x28x1 --batch-size 64 --steps "${GPU_CHECK_SMALL_STEPS:-20}"
  done
  for precision in fp32 bf16; do
    step "train-full-$precision" 60 "train-full-$precision.jsonl" "${bench[@]}" --precision "$precision" \
      --model inception-bn --image-size 224 --batch-size 32 --steps "${GPU_CHECK_FULL_STEPS:-10}"
  done
  # Near-zero compute (a thin network at batch 1): the host's cost of issuing a step, captured and through TF.js.
  step train-host 45 train-host.jsonl "${bench[@]}" --model inception-bn --width 0.05 --image-size 64 --batch-size 1 \
    --steps 10
  wider_out=${TMPDIR:-/tmp}/net2net-gpu-check-wider
  rm -rf "$wider_out"
  step wider 60 wider.log "${node[@]}" src/cli/experiment.ts wider --backend torch --teacher-steps 150 --steps 50 \
    --eval-every 25 --out "$wider_out" --cache-dir "$wider_out/cache" --no-figures --json
  if [ "${GPU_CHECK_DATA:-0}" = 1 ]; then
    folder=${TMPDIR:-/tmp}/net2net-gpu-check-folder
    rm -rf "$folder"
    step make-folder 60 data.jsonl "${node[@]}" src/cli/data.ts make-folder "$folder" --classes 20 --per-class 50 \
      --size 500x375 &&
      step data 60 data.jsonl "${node[@]}" scripts/bench.ts data --data "folder:$folder" --decode-threads 14 \
        --concurrency 16 --images 1000 --long-images 1000 --repeats 1 --no-pil --backend torch
  fi
fi
say "phase $phase done in $(($(date +%s) - started))s; results in $OUT"
