#!/usr/bin/env bash
# Weft with one scheduler against Weft with one per core, in one run on one
# machine (issue 11's acceptance figures).
#
#   bench/smp.sh            full sizes, RUNS=5
#   bench/smp.sh --quick    small sizes, RUNS=3
#
# Each benchmark runs alternately with `--schedulers 1` and with the default
# (one scheduler per core, or SCHEDULERS), RUNS times each; the table gives
# the median wall-clock seconds and the ratio default/one. Targets: crunch
# (eight CPU-bound processes) at most 0.60x; the message benchmarks at most
# 1.30x. Writes the table to stdout (paste into docs/BENCHMARKS.md).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-5}
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1 && RUNS=${RUNS_QUICK:-3}
cargo build --release -q
WEFT=$ROOT/target/release/weft
CORES=$(nproc)
SCHEDULERS=${SCHEDULERS:-$CORES}

if [ $QUICK = 1 ]; then
  CRUNCH="8 1000000"; RING="1000 100"; PING="100000"; THREAD="1000000"; CHAM="100000"
else
  CRUNCH="8 5000000"; RING="1000 1000"; PING="1000000"; THREAD="10000000"; CHAM="1000000"
fi

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_one() { # schedulers file args...
  local n=$1; shift
  local start end
  start=$(date +%s.%N)
  "$WEFT" run --schedulers "$n" "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

echo "| benchmark | 1 scheduler (s) | $SCHEDULERS schedulers (s) | ratio | target |"
echo "|---|---|---|---|---|"
for spec in "crunch|bench/crunch.weft $CRUNCH|0.60" \
            "ring|bench/ring.weft $RING|1.30" \
            "pingpong|bench/pingpong.weft $PING|1.30" \
            "thread-ring|bench/threadring.weft $THREAD|1.30" \
            "chameneos|bench/chameneos.weft $CHAM|1.30"; do
  IFS='|' read -r name command target <<<"$spec"
  one=(); many=()
  for _ in $(seq "$RUNS"); do
    # shellcheck disable=SC2086
    one+=("$(run_one 1 $command)")
    # shellcheck disable=SC2086
    many+=("$(run_one "$SCHEDULERS" $command)")
  done
  m1=$(printf '%s\n' "${one[@]}" | median)
  mn=$(printf '%s\n' "${many[@]}" | median)
  ratio=$(echo "$mn / $m1" | bc -l)
  printf '| %s `%s` | %.3f | %.3f | %.2fx | <= %s |\n' "$name" "$command" "$m1" "$mn" "$ratio" "$target"
done
