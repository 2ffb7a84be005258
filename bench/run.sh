#!/usr/bin/env bash
# Weft against its peers (Erlang, Go, Lua 5.4, LuaJIT, CPython with greenlet
# and asyncio), in one run on one machine.
#
#   bench/run.sh           full sizes (those of ../shared/peers/run.sh; the
#                          Python peers run the long ones smaller)
#   bench/run.sh --quick   small sizes, the whole run in about a minute,
#                          written to a scratch directory (target/bench/quick)
#                          so docs/BENCHMARKS.md and the chart keep the full
#                          run's figures
#
# It builds weft in release mode, builds the peer programs of
# ../shared/peers/ and bench/peers/ with every peer tool that is installed
# (../shared/peers/setup.sh installs them; this script installs nothing and
# skips a peer whose tool is missing), checks every program's output once
# (a wrong output marks the pair WRONG and it is not timed), then runs each
# benchmark for Weft and each peer alternately (Weft, peer, Weft, peer, ...;
# RUNS times each) under GNU time for the peak RSS, and writes
# docs/BENCHMARKS.md and docs/benchmarks.svg. The work is in
# bench/harness.py.
#
# Environment: RUNS (default 5, at least 5), ONLY (a regex on "bench peer",
# e.g. ONLY='^ring ' or ONLY='go'), PEERS (the peers' programs; default
# $SHARED/peers, SHARED defaulting to ../shared beside the repository),
# BUILD (default target/bench), TIMEOUT (seconds per run),
# PYTHON (the CPython the Python peers run on; default the interpreter behind
# python3), OUT_MD / OUT_SVG (default docs/BENCHMARKS.md, docs/benchmarks.svg;
# with --quick, target/bench/quick/BENCHMARKS.md and benchmarks.svg),
# and sizes such as RING_N, SPAWN_P, THREADRING_N (see bench/harness.py).
# WEFT_SCHEDULERS (default 1): Weft's scheduler threads; bench/smp.sh
# compares one against all.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
PEERS=${PEERS:-$SHARED/peers}
BUILD=${BUILD:-$ROOT/target/bench}

QUICK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h | --help) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bench/run.sh [--quick]" >&2; exit 64 ;;
  esac
done

if ! command -v python3 >/dev/null; then
  echo "python3 is needed to drive the benchmarks" >&2
  exit 1
fi
if [ ! -d "$PEERS" ]; then
  cat >&2 <<EOF
bench/run.sh compares Weft with the same programs written for its peers
(Erlang, Go, Lua 5.4, LuaJIT, CPython), which live outside this repository,
and found none at:
  $PEERS
Point PEERS at the directory that holds them (one folder per benchmark:
ring/, pingpong/, ...), e.g.  PEERS=/path/to/shared/peers bench/run.sh
(or SHARED=/path/to/shared). bench/instructions.sh measures Weft alone.
EOF
  exit 1
fi
if [ "$QUICK" = 1 ]; then
  # A quick run's small sizes are for trying the harness, not for the
  # record: keep them out of docs/.
  mkdir -p "$BUILD/quick"
  export OUT_MD=${OUT_MD:-$BUILD/quick/BENCHMARKS.md}
  export OUT_SVG=${OUT_SVG:-$BUILD/quick/benchmarks.svg}
fi

# GNU time (not the shell keyword) measures the peak RSS of every run;
# ../shared/peers/setup.sh installs it.
GNU_TIME=${GNU_TIME:-$(type -P time || true)}
if [ -z "$GNU_TIME" ]; then
  echo "GNU time not found (Debian package 'time'; ../shared/peers/setup.sh installs it)" >&2
  exit 1
fi

# ---------------------------------------------------------------- weft
echo "building weft (cargo build --release)" >&2
(cd "$ROOT" && cargo build --release --quiet)
WEFT=${CARGO_TARGET_DIR:-$ROOT/target}/release/weft
[ -x "$WEFT" ] || { echo "no weft binary at $WEFT" >&2; exit 1; }

# ---------------------------------------------------------------- peers
# Each peer is used only if its tool is there; nothing is installed.
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
have() { command -v "$1" >/dev/null 2>&1; }
AVAILABLE=()
skip() { echo "skipping $1: $2" >&2; }

mkdir -p "$BUILD/erl" "$BUILD/go"
if have erl && have erlc; then
  echo "building the Erlang peers" >&2
  if erlc -o "$BUILD/erl" "$PEERS"/*/*.erl "$HERE"/peers/*/*.erl; then
    AVAILABLE+=(erlang)
  else
    skip erlang "erlc failed"
  fi
else
  skip erlang "erl/erlc not found"
fi
if have go; then
  echo "building the Go peers" >&2
  go_ok=1
  for f in "$PEERS"/*/*.go "$HERE"/peers/*/*.go; do
    b=$(basename "$f" .go)
    if ! go build -o "$BUILD/go/$b" "$f"; then go_ok=0; fi
  done
  if [ "$go_ok" = 1 ]; then AVAILABLE+=(go); else skip go "go build failed"; fi
else
  skip go "go not found"
fi
if have lua5.4; then AVAILABLE+=(lua5.4); else skip lua5.4 "lua5.4 not found"; fi
if have luajit; then AVAILABLE+=(luajit); else skip luajit "luajit not found"; fi
if [ -x "$PY" ] || have "$PY"; then
  AVAILABLE+=(cpython py-asyncio)
  if "$PY" -c 'import greenlet' 2>/dev/null; then
    AVAILABLE+=(py-greenlet)
  else
    skip py-greenlet "greenlet is not importable by $PY"
  fi
else
  skip cpython "$PY not found"
fi


# One scheduler unless asked: the targets compare single-threaded Weft,
# and bench/smp.sh measures what more schedulers change.
WEFT_SCHEDULERS=${WEFT_SCHEDULERS:-1}
export ROOT HERE PEERS BUILD WEFT PY GNU_TIME QUICK WEFT_SCHEDULERS
export PEERS_AVAILABLE="${AVAILABLE[*]}"
exec python3 "$HERE/harness.py"
