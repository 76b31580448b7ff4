#!/usr/bin/env bash
# Rebuilds the committed wasm binaries from their C sources (Debian: apt-get install clang lld).
# The binaries are committed so installing, testing and running need no compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=src/data/image-folder/wasm
clang --target=wasm32 -O3 -msimd128 -nostdlib -ffreestanding \
  -Wl,--no-entry -Wl,--export=resample_crop -Wl,--export=taps_bytes -Wl,--export=horizontal_padding -Wl,--export=__heap_base \
  -Wl,--strip-all \
  -o "$dir/resample-crop.wasm" "$dir/resample-crop.c"
ls -l "$dir/resample-crop.wasm"
