#!/usr/bin/env bash
# Soak test of the schedulers (issue 11): bench/soak.weft on every scheduler
# for SECONDS (default 600) — spawning, linking, killing, monitors, messages,
# channel traffic and selects — checking every total each round.
#
#   bench/soak.sh [SECONDS]
#
# It fails on a wrong total (the script asserts them), a hang (no progress
# line for STALL seconds, default 60: a lost message or wake-up), or a leak
# (resident memory at the end more than 20% and 5 MB above the level after
# the first minute's warm-up). It samples the RSS every 10 seconds and
# prints the figures. SCHEDULERS sets the count (default: one per core).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SECONDS_TO_RUN=${1:-600}
STALL=${STALL:-60}
# WEFT=path/to/weft soaks that build as it is.
if [ -z "${WEFT:-}" ]; then
  cargo build --release -q
  WEFT=$ROOT/target/release/weft
fi
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
args=(run)
[ -n "${SCHEDULERS:-}" ] && args+=(--schedulers "$SCHEDULERS")
"$WEFT" "${args[@]}" bench/soak.weft "$SECONDS_TO_RUN" >"$OUT" 2>&1 &
PID=$!
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0; }
start=$(date +%s)
warm=0; peak=0; last=0; lines=0; last_progress=$start
while kill -0 "$PID" 2>/dev/null; do
  sleep 10
  now=$(date +%s)
  r=$(rss)
  [ "$r" -gt "$peak" ] && peak=$r
  [ "$r" -gt 0 ] && last=$r
  if [ "$warm" = 0 ] && [ $((now - start)) -ge 60 ]; then warm=$r; fi
  n=$(wc -l <"$OUT")
  if [ "$n" -gt "$lines" ]; then lines=$n; last_progress=$now; fi
  echo "t=$((now - start))s rss=${r}kB lines=$n" >&2
  if [ $((now - last_progress)) -ge "$STALL" ]; then
    echo "soak: no progress for ${STALL}s: hang (lost message or wake-up)" >&2
    kill "$PID"
    tail -5 "$OUT" >&2
    exit 1
  fi
done
wait "$PID" && status=0 || status=$?
tail -1 "$OUT"
echo "elapsed $(( $(date +%s) - start ))s, exit $status; rss after warm-up ${warm}kB, at end ${last}kB, peak ${peak}kB"
if [ "$status" != 0 ] || ! tail -1 "$OUT" | grep -q '^soak ok'; then
  echo "soak: FAILED" >&2
  tail -20 "$OUT" >&2
  exit 1
fi
if [ "$warm" -gt 0 ] && [ "$last" -gt $((warm + warm / 5 + 5000)) ]; then
  echo "soak: resident memory grew from ${warm}kB to ${last}kB: leak" >&2
  exit 1
fi
echo "soak: ok"
