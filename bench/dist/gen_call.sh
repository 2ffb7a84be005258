#!/usr/bin/env bash
# gen_server:call round trips, Erlang -> Weft beside Erlang -> Erlang
# (issue 27's benchmark). Three nodes on loopback with a private EPMD:
#
#   ws  a Weft node (weft run) with a `server` registered as kv
#       (bench/dist/kv_server.weft)
#   es  an Erlang node with a gen_server registered as kv (kv_bench.erl)
#   the caller, an Erlang node that makes N sequential
#       gen_server:call({kv, Node}, ping) (answer: pong) to one, then the
#       other, RUNS times, each timed run after WARM untimed calls
#
# and writes the medians, in µs per call, and the ratio Weft/Erlang as the
# section "## gen_server:call round trips (issue 27)" of
# docs/benchmarks-dist.md (replaced if there, appended if not; OUT to write
# another file), with bench/dist/gen_call_notes.md after the table. Exits
# non-zero if a node does not start or any call fails (or answers anything
# but pong).
#
#   bench/dist/gen_call.sh                 N=100000 WARM=3000 RUNS=5
#   N=2000 RUNS=1 OUT=/dev/null bench/dist/gen_call.sh   (a quick check)
#
# WEFT=path uses that binary; otherwise target/release/weft, built with
# cargo build --release if missing. Every process it starts (EPMD, the
# nodes) is stopped by its pid at the end.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
N=${N:-100000}
WARM=${WARM:-3000}
RUNS=${RUNS:-5}
OUT=${OUT:-$ROOT/docs/benchmarks-dist.md}
COOKIE=bench-cookie
BEAMS=$ROOT/target/bench/dist
if [ -z "${WEFT:-}" ]; then
  WEFT=$ROOT/target/release/weft
  [ -x "$WEFT" ] || cargo build --release -q
fi
LOGS=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$LOGS"
}
trap cleanup EXIT

mkdir -p "$BEAMS"
erlc -o "$BEAMS" "$HERE/kv_bench.erl"

# A private EPMD on a free loopback port.
export ERL_EPMD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ERL_EPMD_ADDRESS=127.0.0.1 epmd -port "$ERL_EPMD_PORT" & PIDS+=($!)
for _ in $(seq 100); do epmd -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1 && break; sleep 0.05; done
epmd -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1 || { echo "epmd did not start" >&2; exit 1; }

# Starts a server node in the background; waits (30 s at most) for "ready".
start_server() { # name command...
  local name=$1 pid; shift
  "$@" > "$LOGS/$name.out" 2>&1 & pid=$!; PIDS+=($pid)
  for _ in $(seq 600); do
    grep -qx ready "$LOGS/$name.out" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "server $name did not start:" >&2; cat "$LOGS/$name.out" >&2; exit 1
}
LOOPBACK=(-kernel inet_dist_use_interface '{127,0,0,1}')
start_server es erl -sname es@localhost -setcookie $COOKIE "${LOOPBACK[@]}" -noshell \
  -pa "$BEAMS" -eval 'kv_bench:server()'
start_server ws "$WEFT" run --sname ws@localhost --cookie $COOKIE "$HERE/kv_server.weft"

# The caller: alternating, Weft first in each round. Lines "label run µs".
erl -sname caller@localhost -setcookie $COOKIE "${LOOPBACK[@]}" -noshell -pa "$BEAMS" \
  -run kv_bench caller "$N" "$WARM" "$RUNS" weft ws@localhost erlang es@localhost \
  > "$LOGS/caller.out" & caller=$!; PIDS+=($caller)
status=0; wait "$caller" || status=$?
if [ "$status" != 0 ]; then
  echo "the caller failed (status $status)" >&2; cat "$LOGS/caller.out" >&2; exit 1
fi

OTP=$(erl -noshell -eval 'io:format("OTP ~s, erts ~s", [erlang:system_info(otp_release), erlang:system_info(version)]), halt().')
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- . ':!docs' 2>/dev/null || COMMIT="$COMMIT + uncommitted changes"
python3 - "$OUT" "$HERE" "$LOGS/caller.out" "$N" "$WARM" "$RUNS" "$(nproc)" "$CPU" "$OTP" "$COMMIT" <<'PY'
import os, re, statistics, sys
out, here, results, n, warm, runs, nproc, cpu, otp, commit = sys.argv[1:]
n, warm, runs = int(n), int(warm), int(runs)
micros = {"weft": [], "erlang": []}
for line in open(results):
    label, _, us = line.split()
    micros[label].append(int(us) / n)
for label, per_call in micros.items():
    if len(per_call) != runs:
        sys.exit(f"expected {runs} runs of {label}, got {len(per_call)}")
med = {label: statistics.median(v) for label, v in micros.items()}
ratio = med["weft"] / med["erlang"]
runs_text = lambda label: ", ".join(f"{us:.1f}" for us in micros[label])
title = "## gen_server:call round trips (issue 27)"
lines = [
    title,
    "",
    f"`bench/dist/gen_call.sh`: an Erlang node (the caller) makes {n:,} sequential",
    "`gen_server:call({kv, Node}, ping)` round trips to a `kv` server answering",
    "`pong`: on a Weft node, a `server` (`bench/dist/kv_server.weft`, `weft run`",
    "with its default of one scheduler per core), and on an Erlang node, a",
    "`gen_server` (`bench/dist/kv_bench.erl`). Three nodes on one machine,",
    "loopback, a private EPMD. The caller alternates (Weft, then Erlang, each",
    f"after {warm:,} untimed calls), {runs} run{'s' if runs != 1 else ''} each; the table has the medians.",
    "Goal: Weft within 1.2× of Erlang's own.",
    "",
    f"Machine: {cpu}, `nproc` = {nproc}; {otp}; weft at {commit}.",
    "",
    "| server | µs per call (median) | calls per second | each run (µs per call) |",
    "|---|---:|---:|---|",
]
for label, name in (("weft", "Weft `server`"), ("erlang", "Erlang `gen_server`")):
    lines.append(f"| {name} | {med[label]:.1f} | {1e6 / med[label]:,.0f} | {runs_text(label)} |")
verdict = "within" if ratio <= 1.2 else "outside"
lines += ["", f"Ratio Weft/Erlang: **{ratio:.2f}×** ({verdict} the goal of 1.2×)."]
# What the figures mean, written by hand beside this script.
notes = os.path.join(here, "gen_call_notes.md")
if os.path.exists(notes):
    lines += ["", open(notes).read().rstrip("\n")]
section = "\n".join(lines) + "\n"
print(section, end="")
if out == "/dev/null":
    sys.exit(0)
# Replace the section (up to the next "## " heading) or append it; the
# rest of the file is kept as it was.
text = open(out).read() if os.path.exists(out) else ""
pattern = re.compile(r"^" + re.escape(title) + r"\n.*?(?=^## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
else:
    text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section
with open(out, "w") as f:
    f.write(text)
PY
