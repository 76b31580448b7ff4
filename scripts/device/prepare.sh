#!/usr/bin/env bash
# Fills .device/ (git-ignored) with what scripts/device/gpu-check.sh needs on a machine that has no Node and no
# network: this machine's Node binary and the production node_modules, both xz-compressed (source maps, browser
# bundles, type declarations and docs left out). Together with the repo they stay under the device tool's 64 MiB.
#
#   scripts/device/prepare.sh          # then carry '.device' to the device and run scripts/device/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=.device
mkdir -p "$out"

node_bin=$(node -p process.execPath)
node_info=$(node -e 'console.log(JSON.stringify({ node: process.version, platform: process.platform, arch: process.arch }))')
if [ -f "$out/node.xz" ] && [ "$(cat "$out/node.json" 2>/dev/null)" = "$node_info" ]; then
  echo "prepare: $out/node.xz is Node $(node -v) already" >&2
else
  echo "prepare: Node $(node -v) from $node_bin" >&2
  xz -T0 -6 -c "$node_bin" >"$out/node.xz.tmp"
  mv "$out/node.xz.tmp" "$out/node.xz"
  echo "$node_info" >"$out/node.json"
fi

# The production dependency closure as node_modules/... folders, outermost folders only. npm names them under this
# checkout; node_modules may be a link (a git worktree's), so tar reads from its real parent.
base=$(dirname "$(realpath node_modules)")
list=$(mktemp)
trap 'rm -f "$list"' EXIT
(npm ls --omit=dev --parseable --all 2>/dev/null || true) |
  { grep "^$root/node_modules/" || true; } |
  sed "s|^$root/||" |
  sort -u |
  awk 'BEGIN { last = "" } { if (last != "" && index($0, last "/") == 1) next; print; last = $0 }' >"$list"
if [ ! -s "$list" ]; then
  echo "prepare: npm ls listed no installed packages under $root/node_modules (run npm ci first)" >&2
  exit 1
fi
echo "prepare: $(wc -l <"$list") packages" >&2
tar -C "$base" -cf - \
  --exclude='*.map' --exclude='*.min.js' --exclude='*.es2017.js' --exclude='*.fesm.js' \
  --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.md' \
  -T "$list" | xz -T0 -6 >"$out/node_modules.tar.xz.tmp"
mv "$out/node_modules.tar.xz.tmp" "$out/node_modules.tar.xz"
du -b "$out"/* | awk '{ printf "prepare: %-32s %6.1f MiB\n", $2, $1 / 1048576 }' >&2
echo "prepare: done; carry '$out' (from $root)" >&2
