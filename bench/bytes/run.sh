#!/usr/bin/env bash
# The bytes benchmark: parse a 50 MB file of length-prefixed records with
# bytes.decode_int and bytes.slice (records.weft), beside the same parse in
# Erlang (binary matching) and Lua 5.4 (string.unpack), in one run on one
# machine. Each program runs RUNS times (default 5), alternating; the table
# of medians goes to docs/benchmarks-bytes.md (OUT to change).
#
#   bench/bytes/run.sh            (SIZE=bytes to change the file's size)
#
# A peer whose tool (erlc/erl, lua5.4) is missing is skipped.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$ROOT/target/bench/bytes
OUT=${OUT:-$ROOT/docs/benchmarks-bytes.md}
RUNS=${RUNS:-5}
SIZE=${SIZE:-50000000}
mkdir -p "$WORK"
cd "$ROOT"
if [ -z "${WEFT:-}" ]; then
  cargo build --release -q
  WEFT=$ROOT/target/release/weft
fi
FILE=$WORK/records-$SIZE.bin
[ -f "$FILE" ] || python3 "$HERE/make_records.py" "$FILE" "$SIZE"
programs=("weft|$WEFT $HERE/records.weft $FILE")
if command -v erlc >/dev/null && command -v erl >/dev/null; then
  erlc -o "$WORK" "$HERE/records.erl"
  programs+=("erlang|erl -noshell -pa $WORK -run records main $FILE")
fi
if command -v lua5.4 >/dev/null; then
  programs+=("lua5.4|lua5.4 $HERE/records.lua $FILE")
fi
python3 - "$OUT" "$RUNS" "$SIZE" "$HERE" "${programs[@]}" <<'PY'
import os, statistics, subprocess, sys, time
out, runs, size, here = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
programs = [p.split("|", 1) for p in sys.argv[5:]]
answers, times = {}, {name: [] for name, _ in programs}
for _ in range(runs):
    for name, command in programs:
        start = time.perf_counter()
        done = subprocess.run(command.split(), capture_output=True, text=True, check=True)
        times[name].append(time.perf_counter() - start)
        answers[name] = done.stdout.split()
expected = answers["weft"]
weft = statistics.median(times["weft"])
lines = [
    "## Bytes: parsing length-prefixed records (issue 26, bench/bytes/run.sh)",
    "",
    f"Parse {size:,} bytes of length-prefixed records (records.weft, .erl, .lua):",
    f"median of {runs} runs each, alternating, wall time including start-up and",
    "reading the file. Ratio is the peer's time over Weft's (above 1: Weft is faster).",
    "",
    "| program | median (s) | ratio | answer |",
    "|---|---|---|---|",
]
for name, _ in programs:
    median = statistics.median(times[name])
    ok = "same" if answers[name] == expected else "DIFFERS: " + " ".join(answers[name])
    lines.append(f"| {name} | {median:.3f} | {median / weft:.2f} | {ok} |")
# What limits the result, written by hand beside this script.
notes = os.path.join(here, "notes.md")
if os.path.exists(notes):
    lines += ["", open(notes).read().rstrip("\n")]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
