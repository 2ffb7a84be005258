#!/usr/bin/env bash
# Round trips per second between two nodes on loopback, in one run:
# Erlang <-> Erlang, Weft -> Erlang, Erlang -> Weft and Weft <-> Weft
# (issue 12's benchmark; the table goes in docs/BENCHMARKS.md).
#
#   bench/dist/run.sh            N=20000 round trips, RUNS=3 (medians)
#   N=2000 RUNS=1 bench/dist/run.sh
#
# Each client makes N sequential round trips (send, wait for the echo) to
# a registered echo server on the other node: latency-bound, as a call
# between nodes is. Everything binds 127.0.0.1, runs with a private EPMD,
# and is stopped by its pid at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
N=${N:-20000}
RUNS=${RUNS:-3}
cargo build --release -q
WEFT=$ROOT/target/release/weft
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
COOKIE=bench-cookie
export ERL_EPMD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ERL_EPMD_ADDRESS=127.0.0.1 epmd -port "$ERL_EPMD_PORT" & PIDS+=($!)
erlc -o "$WORK" bench/dist/dist_bench.erl
for _ in $(seq 100); do epmd -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1 && break; sleep 0.05; done

# Starts a server in the background and waits for its "ready" line.
start_server() { # name command...
  local name=$1; shift
  mkfifo "$WORK/$name.out"
  "$@" > "$WORK/$name.out" & PIDS+=($!)
  exec {fd}<"$WORK/$name.out"
  read -r -t 30 line <&$fd
  [ "$line" = ready ] || { echo "server $name did not start" >&2; exit 1; }
}
LOOPBACK=(-kernel inet_dist_use_interface '{127,0,0,1}')
erl_server() { start_server "$1" erl -sname "$1@localhost" -setcookie $COOKIE "${LOOPBACK[@]}" -noshell -pa "$WORK" -eval 'dist_bench:server()'; }
weft_server() { start_server "$1" "$WEFT" run --sname "$1@localhost" --cookie $COOKIE bench/dist/server.weft; }
erl_client() { # server-node
  erl -sname "c$RANDOM@localhost" -setcookie $COOKIE "${LOOPBACK[@]}" -noshell -pa "$WORK" \
    -eval "dist_bench:client('$1', $N), halt()." | awk '{print $(NF-2)}'
}
weft_client() { "$WEFT" run --sname "c$RANDOM@localhost" --cookie $COOKIE bench/dist/client.weft "$1" "$N" | awk '{print $(NF-2)}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

erl_server es
weft_server ws
declare -A RESULT
for pair in "erlang-erlang:erl_client es" "weft-erlang:weft_client es" "erlang-weft:erl_client ws" "weft-weft:weft_client ws"; do
  name=${pair%%:*}; run=${pair#*:}
  RESULT[$name]=$(for _ in $(seq "$RUNS"); do $run@localhost; done | median)
done
base=${RESULT[erlang-erlang]}
echo "| client → server | round trips per second (median of $RUNS, N=$N) | vs Erlang ↔ Erlang |"
echo "|---|---|---|"
for name in erlang-erlang weft-erlang erlang-weft weft-weft; do
  r=${RESULT[$name]}
  printf '| %s | %s | %s |\n' "${name/-/ → }" "$r" "$(python3 -c "print(f'{$base/$r:.2f}× the time')")"
done
