#!/usr/bin/env bash
# The prepared GPU check (issue 10, item 7). On a lent machine with an NVIDIA GPU and a CUDA PyTorch, CMake/nvcc and
# no Node or network (carry .device/, filled by scripts/device/prepare.sh), from the repo root:
#
#   scripts/device/gpu-check.sh        # results under $OUT (default ./gpu-check-out)
#
# With this workplace's device tool: scripts/device/prepare.sh in the checkout the tool sends, then
# run(command: 'scripts/device/gpu-check.sh', carry: ['.device'], timeout_s: 560); the 8 files come back from $OUT.
#
# Steps, each under a time cap, all within GPU_CHECK_BUDGET_S (default 480 s); a failed step is recorded and the
# next one runs:
#   build         the torch addon against python3's torch (scripts/build-torch-addon.mjs)
#   kernel-tests  the torch backend's kernel tests (TAP)
#   train-small   bench train, inception-bn-small 28x28x1 batch 64 on torch, and the PyTorch peer (same network from
#                 the model's topology) on the same device and shapes, fp32, channels-last
#   train-full    the same for inception-bn 224x224x3 batch 32
#   data          a generated JPEG folder (data make-folder), then bench data at 14 decode threads
# Output files (8, what the device tool brings back): summary.json (every step's status, time and the JSON objects it
# printed), env.json, build.log, kernel-tests.tap, train-small.jsonl, train-full.jsonl, data.jsonl (make-folder and
# bench data), gpu-check.log (stderr of all steps).
#
# It runs anywhere: without CUDA the bench and the peer run on the CPU. Knobs (environment): GPU_CHECK_BACKEND
# (torch), GPU_CHECK_THREADS (cores), GPU_CHECK_SMALL_STEPS (20), GPU_CHECK_FULL_STEPS (10), GPU_CHECK_SMALL_BATCH
# (64), GPU_CHECK_FULL_BATCH (32), GPU_CHECK_IMAGES (2000), GPU_CHECK_DECODE_THREADS (14), GPU_CHECK_SKIP (steps to
# skip, comma-separated), GPU_CHECK_USE_BUNDLE=1 (use .device/ even where Node and node_modules exist), PYTHON.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
OUT=${OUT:-$root/gpu-check-out}
mkdir -p "$OUT"
for f in summary.json env.json build.log kernel-tests.tap train-small.jsonl train-full.jsonl data.jsonl; do
  rm -f "$OUT/$f"
done
log=$OUT/gpu-check.log
: >"$log"
steps=$(mktemp)
trap 'rm -f "$steps"' EXIT
started=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-480}
say() { echo "[gpu-check $(($(date +%s) - started))s] $*" | tee -a "$log" >&2; }

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
  rm -rf node_modules
  unxz .device/node_modules.tar.xz | tar -xf - -C "$root"
  touch node_modules/.net2net-device
  say "unpacked Node $(node -v) and node_modules from .device/"
fi
THREADS=${GPU_CHECK_THREADS:-$(nproc)}
BACKEND=${GPU_CHECK_BACKEND:-torch}
cuda=$("$PYTHON" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")' 2>>"$log" || echo cpu)

# --- step runner: step NAME CAP_SECONDS OUTPUT_FILE COMMAND... (stdout to OUTPUT_FILE, stderr to the log) ---
step() {
  local name=$1 cap=$2 output=$3
  shift 3
  local left=$((budget - ($(date +%s) - started)))
  if [[ ",${GPU_CHECK_SKIP:-}," == *",$name,"* ]]; then
    printf '%s\tskipped\t0\t%s\n' "$name" "$output" >>"$steps"
    return 0
  fi
  if [ "$left" -lt 10 ]; then
    say "$name: skipped, the time budget is spent"
    printf '%s\tno-time\t0\t%s\n' "$name" "$output" >>"$steps"
    return 1
  fi
  [ "$cap" -gt "$left" ] && cap=$left
  say "$name (cap ${cap}s): $*"
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=10 "$cap" "$@" >>"$OUT/$output" 2>>"$log"
  rc=$?
  local status=ok
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && status=timeout
  [ $rc -ne 0 ] && [ $status = ok ] && status="exit-$rc"
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(($(date +%s) - t0))" "$output" >>"$steps"
  say "$name: $status in $(($(date +%s) - t0))s"
  return $rc
}

# --- environment ---
{
  node -e 'console.log(JSON.stringify({ node: process.version, cores: require("os").availableParallelism() }))'
  "$PYTHON" -c 'import json, torch; print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available(),
    "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}))'
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null |
    sed 's/.*/{"nvidia_smi": "&"}/'
} >"$OUT/env.json" 2>>"$log"
say "backend $BACKEND, peer device $cuda, $THREADS threads, python $PYTHON"

# --- the steps ---
node=(node --import tsx)
built=0
step build 240 build.log node scripts/build-torch-addon.mjs && built=1
mapfile -t kernel_tests < <(ls test/*torch*.test.ts src/backend/torch/*.test.ts 2>/dev/null)
if [ ${#kernel_tests[@]} -gt 0 ]; then
  step kernel-tests 120 kernel-tests.tap "${node[@]}" --test --test-concurrency=1 --test-reporter=tap "${kernel_tests[@]}"
else
  say "kernel-tests: no torch test files in this checkout"
  printf 'kernel-tests\tno-tests\t0\tkernel-tests.tap\n' >>"$steps"
fi
bench=("${node[@]}" scripts/bench.ts)
peer=(--compare --compare-with peer --peer graph --peer-device "$cuda" --threads "$THREADS" --warmup 2)
step train-small 150 train-small.jsonl "${bench[@]}" train --backend "$BACKEND" --model inception-bn-small \
  --batch-size "${GPU_CHECK_SMALL_BATCH:-64}" --steps "${GPU_CHECK_SMALL_STEPS:-20}" "${peer[@]}"
step train-full 200 train-full.jsonl "${bench[@]}" train --backend "$BACKEND" --model inception-bn --image-size 224 \
  --batch-size "${GPU_CHECK_FULL_BATCH:-32}" --steps "${GPU_CHECK_FULL_STEPS:-10}" "${peer[@]}"
images=${GPU_CHECK_IMAGES:-2000}
folder=${TMPDIR:-/tmp}/net2net-gpu-check-folder
data_backend=$BACKEND
[ "$BACKEND" = torch ] && [ $built = 0 ] && data_backend=wasm
rm -rf "$folder"
step make-folder 120 data.jsonl "${node[@]}" src/cli/data.ts make-folder "$folder" --classes 20 \
  --per-class $(((images + 19) / 20)) --size 500x375 &&
  step data 150 data.jsonl "${bench[@]}" data --data "folder:$folder" \
    --decode-threads "${GPU_CHECK_DECODE_THREADS:-14}" --concurrency 16 --images "$images" --long-images "$images" \
    --repeats 1 --no-pil --backend "$data_backend"
rm -rf "$folder"

# --- summary.json: the step table and every JSON object the steps printed ---
"${node[@]}" scripts/device/gpu-check-summary.ts "$steps" "$OUT" >"$OUT/summary.json" 2>>"$log"
say "done in $(($(date +%s) - started))s; results in $OUT"
