#!/usr/bin/env bash
# Instruction counts of the Weft benchmarks, under valgrind's callgrind.
# Counts barely move between runs on a noisy machine, so the effect of a
# change shows in one run:
#
#   bench/instructions.sh                    print the table
#   bench/instructions.sh --save base.tsv    ... and save it
#   bench/instructions.sh --compare base.tsv ... with the change against it
#
# Each benchmark runs once, at a small size (a second or a few under
# callgrind); its check line is verified too. ONLY (a regex on the name)
# picks some, e.g. ONLY='ring|pingpong'. Needs valgrind.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ONLY=${ONLY:-}
SAVE=""
COMPARE=""
while [ $# -gt 0 ]; do
  case $1 in
    --save) SAVE=$2; shift 2 ;;
    --compare) COMPARE=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bench/instructions.sh [--save FILE] [--compare FILE]" >&2; exit 64 ;;
  esac
done
if ! command -v valgrind >/dev/null; then
  echo "valgrind not found (Debian package 'valgrind')" >&2
  exit 1
fi

# WEFT=path/to/weft measures another build (a baseline) as it is.
if [ -z "${WEFT:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  WEFT=${CARGO_TARGET_DIR:-$ROOT/target}/release/weft
fi
# One scheduler (the host-stepped VM): instruction counts of one thread are
# what callgrind compares; bench/smp.sh measures the threads.
export WEFT_SCHEDULERS=${WEFT_SCHEDULERS:-1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# name | ops (for instructions per op) | expected line | script and arguments
BENCHES=(
  "startup|1|fib(0)=0|fib.weft 0"
  "fib(20)|21891|fib(20)=6765|fib.weft 20"
  "ring|10000|ring N=100 M=100 hops=10000|ring.weft 100 100"
  "spawn-exit|10000|spawn exit P=10000 done=10000|spawn.weft exit 10000"
  "spawn-alive|10000|spawn alive P=10000 live=10000|spawn.weft alive 10000"
  "pingpong|10000|pingpong R=10000 roundtrips=10000|pingpong.weft 10000"
  "threadring|100000|407|threadring.weft 100000"
  "chameneos|20000| two zero zero zero zero|chameneos.weft 10000"
  "counting|100000|counting N=100000 count=100000|counting.weft 100000"
  "fjthroughput|30000|forkjoin-throughput A=60 N=500 msgs=30000|fjthroughput.weft 60 500"
  "fjcreate|4000|forkjoin-create N=4000 done=4000|fjcreate.weft 4000"
  "big|48000|big A=120 N=200 pings=24000 checksum=1452176|big.weft 120 200"
)

declare -A BASE=()
if [ -n "$COMPARE" ]; then
  while IFS=$'\t' read -r name count; do BASE[$name]=$count; done <"$COMPARE"
fi

printf '%-13s %-26s %15s %10s' benchmark arguments instructions "instr/op"
[ -n "$COMPARE" ] && printf ' %15s %8s' baseline change
printf '  check\n'
: >"$TMP/table.tsv"
for entry in "${BENCHES[@]}"; do
  IFS='|' read -r name ops expect cmd <<<"$entry"
  if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then continue; fi
  read -r -a argv <<<"$cmd"
  script=$HERE/${argv[0]}
  set +e
  valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out" \
    "$WEFT" "$script" "${argv[@]:1}" >"$TMP/out" 2>"$TMP/err"
  status=$?
  set -e
  count=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$TMP/err" | tail -1)
  check=ok
  if [ "$status" != 0 ]; then check="exit=$status"
  elif ! grep -qxF -- "$expect" "$TMP/out"; then check=WRONG; fi
  if [ -z "$count" ]; then count=0; check="no count ($check)"; fi
  printf '%-13s %-26s %15s %10s' "$name" "${argv[*]:1}" "$(printf "%'d" "$count" 2>/dev/null || echo "$count")" \
    "$((count / ops))"
  if [ -n "$COMPARE" ]; then
    base=${BASE[$name]:-}
    if [ -n "$base" ] && [ "$base" -gt 0 ]; then
      printf ' %15s %+7.2f%%' "$(printf "%'d" "$base")" \
        "$(awk -v a="$count" -v b="$base" 'BEGIN { print (a - b) * 100 / b }')"
    else
      printf ' %15s %8s' - -
    fi
  fi
  printf '  %s\n' "$check"
  printf '%s\t%s\n' "$name" "$count" >>"$TMP/table.tsv"
done
if [ -n "$SAVE" ]; then cp "$TMP/table.tsv" "$SAVE"; echo "saved to $SAVE" >&2; fi
