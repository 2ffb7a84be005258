#!/usr/bin/env bash
# TCP echo under load: Weft's net module beside an Erlang gen_tcp server and
# a Go server, on 127.0.0.1, in one run. A Go load generator opens N
# connections (default 10,000), then each sends M lines (default 100), one
# at a time, waiting for each echo; it reports lines per second and the
# median and 99th-percentile round trip.
#
#   bench/net/run.sh            N=10000 M=100, RUNS=3 per server
#   N=1000 M=20 RUNS=1 bench/net/run.sh
#
# Writes docs/benchmarks-net.md (bench/harness.py keeps it in
# docs/BENCHMARKS.md). Every server is stopped by its pid; each run is
# bounded by TIMEOUT seconds (default 300). Needs go and erl (both are
# skipped with a note if missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-10000}
M=${M:-100}
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-300}
OUT=${OUT:-$ROOT/docs/benchmarks-net.md}
BUILD=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$BUILD"
}
trap cleanup EXIT

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(cd "$ROOT" && cargo build --release --quiet)
WEFT=$ROOT/target/release/weft
command -v go >/dev/null || { echo "go is needed for the load generator" >&2; exit 1; }
(cd "$HERE" && go build -o "$BUILD/loadgen" loadgen.go && go build -o "$BUILD/echo-go" echo.go)
HAVE_ERL=0
if command -v erlc >/dev/null && command -v erl >/dev/null; then
  erlc -o "$BUILD" "$HERE/echo.erl" && HAVE_ERL=1
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for_port() {
  for _ in $(seq 1 200); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# run NAME COMMAND...: starts the server, loads it, stops it; prints the result line.
run() {
  local name=$1; shift
  local port; port=$(free_port)
  "$@" "$port" >/dev/null 2>&1 &
  SERVER_PID=$!
  if ! wait_for_port "$port"; then
    echo "$name did not start" >&2; kill "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; return 1
  fi
  local result
  result=$(timeout "$TIMEOUT" "$BUILD/loadgen" "$port" "$N" "$M" || echo "lines 0 failed_connections $N seconds 0 lines_per_second 0 p50_ms 0 p99_ms 0")
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  echo "$name $result"
}

RESULTS=$BUILD/results.txt
: >"$RESULTS"
for r in $(seq 1 "$RUNS"); do
  echo "run $r/$RUNS" >&2
  run weft "$WEFT" "$HERE/echo.weft" | tee -a "$RESULTS" >&2
  if [ "$HAVE_ERL" = 1 ]; then
    run erlang erl -noshell -pa "$BUILD" -s echo main | tee -a "$RESULTS" >&2
  fi
  run go "$BUILD/echo-go" | tee -a "$RESULTS" >&2
done

python3 - "$RESULTS" "$OUT" "$N" "$M" "$RUNS" <<'PY'
import statistics, sys, datetime, subprocess
results, out, n, m, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = {}
for line in open(results):
    parts = line.split()
    name, fields = parts[0], dict(zip(parts[1::2], parts[2::2]))
    rows.setdefault(name, []).append(fields)
def med(name, key):
    return statistics.median(float(r[key]) for r in rows[name])
md = ["## TCP echo under load (issue 16)", "",
      f"`bench/net/run.sh` on {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC: {n:,} concurrent connections to an echo",
      f"server on 127.0.0.1, each sending {m} lines one at a time and waiting for each echo",
      f"({n*m:,} round trips), load from a Go client (`bench/net/loadgen.go`); median of {runs} runs.",
      "Servers: `bench/net/echo.weft` (one process per connection, `net.recv_line`),",
      "`echo.erl` (gen_tcp, `{packet, line}`, one process per connection), `echo.go` (one goroutine per connection).", "",
      "| server | lines/s | p50 round trip (ms) | p99 round trip (ms) | failed connections | Weft/server throughput |",
      "|---|---:|---:|---:|---:|---:|"]
weft = med("weft", "lines_per_second") if "weft" in rows else None
for name in ["weft", "erlang", "go"]:
    if name not in rows: continue
    tput = med(name, "lines_per_second")
    ratio = f"{weft / tput:.2f}" if weft and tput else ""
    md.append(f"| {name} | {tput:,.0f} | {med(name, 'p50_ms'):.2f} | {med(name, 'p99_ms'):.2f} | {int(med(name, 'failed_connections'))} | {ratio} |")
md.append("")
open(out, "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
