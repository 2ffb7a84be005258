#!/usr/bin/env bash
# The cost of a typed host call against a raw one, in machine instructions
# under callgrind (repeatable on a noisy machine; criterion's wall-clock
# figures are `cargo bench -p weft-vm --bench host_calls`). Each run makes
# 100,000 calls adding two ints; the loop without calls is subtracted.
# Target (issue 13): a typed call at most 1.2x a raw one.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
cargo build --release -q -p weft-vm --example host_call_count
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/host_call_count
declare -A COUNT
for kind in empty raw typed; do
  COUNT[$kind]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$kind" 2>&1 |
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p')
done
raw=$(( (COUNT[raw] - COUNT[empty]) / 100000 ))
typed=$(( (COUNT[typed] - COUNT[empty]) / 100000 ))
echo "instructions per call: raw $raw, typed $typed, typed/raw $(awk -v t="$typed" -v r="$raw" 'BEGIN { printf "%.2f", t / r }')"
