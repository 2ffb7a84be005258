#!/usr/bin/env python3
"""The benchmark driver behind bench/run.sh (run that, not this).

run.sh builds weft and the peer programs, then runs this with the
environment: ROOT, HERE (bench/), PEERS (../shared/peers), BUILD, WEFT, PY,
GNU_TIME, QUICK (0/1), PEERS_AVAILABLE (space-separated:
erlang go lua5.4 luajit cpython py-asyncio py-greenlet).

For every benchmark and every available peer it
  1. runs the Weft program and the peer program once and checks the output
     (exit status 0, the expected check line as a whole line, and for
     chameneos the exact Benchmarks Game layout); a wrong output marks the
     pair WRONG and it is not timed;
  2. runs Weft and the peer alternately, RUNS times each (W P W P ...),
     each run under GNU time (`-f %e %M`) for the peak RSS, the wall time
     taken with a monotonic clock around it (GNU time's %e has 10 ms steps);
  3. writes docs/BENCHMARKS.md (medians, peak RSS, Weft/peer ratios, the
     machine and the versions) and docs/benchmarks.svg (the ratios).
"""
import datetime
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ENV = os.environ
ROOT = ENV["ROOT"]
HERE = ENV["HERE"]
PEERS = ENV["PEERS"]
BUILD = ENV["BUILD"]
WEFT = ENV["WEFT"]
PY = ENV["PY"]
GNU_TIME = ENV["GNU_TIME"]
QUICK = ENV.get("QUICK", "0") == "1"
AVAILABLE = set(ENV.get("PEERS_AVAILABLE", "").split())
RUNS = max(5, int(ENV.get("RUNS", "5")))
ONLY = ENV.get("ONLY", "")
TIMEOUT = float(ENV.get("TIMEOUT", "120" if QUICK else "600"))
OUT_MD = ENV.get("OUT_MD", os.path.join(ROOT, "docs", "BENCHMARKS.md"))
OUT_SVG = ENV.get("OUT_SVG", os.path.join(ROOT, "docs", "benchmarks.svg"))


def size(name, full, quick):
    """A size: the environment variable NAME if set, else the mode's default."""
    return int(ENV.get(name, quick if QUICK else full))


RING_N = size("RING_N", 1000, 100)
RING_M = size("RING_M", 1000, 100)
RING_M_PY = size("RING_M_PY", 200, 100)
SPAWN_P = size("SPAWN_P", 1_000_000, 10_000)
SPAWN_P_PY = size("SPAWN_P_PY", 200_000, 10_000)
SPAWN_ALIVE_P = size("SPAWN_ALIVE_P", 1_000_000, 10_000)
SPAWN_ALIVE_P_PY = size("SPAWN_ALIVE_P_PY", 200_000, 10_000)
PINGPONG_R = size("PINGPONG_R", 1_000_000, 10_000)
PINGPONG_R_PY = size("PINGPONG_R_PY", 200_000, 10_000)
FIB_N = size("FIB_N", 30, 20)
FIB_BIG_N = size("FIB_BIG_N", 35, 25)
THREADRING_N = size("THREADRING_N", 10_000_000, 50_000)
THREADRING_N_PY = size("THREADRING_N_PY", 1_000_000, 50_000)
CHAMENEOS_N = size("CHAMENEOS_N", 600_000, 5_000)
CHAMENEOS_N_PY = size("CHAMENEOS_N_PY", 100_000, 5_000)
COUNTING_N = size("COUNTING_N", 1_000_000, 50_000)
FJT_A = size("FJT_A", 60, 60)
FJT_N = size("FJT_N", 10_000, 500)
FJC_N = size("FJC_N", 40_000, 4_000)
BIG_A = size("BIG_A", 120, 120)
BIG_N = size("BIG_N", 20_000, 300)

# The peers held to one core (erl +S 1, GOMAXPROCS=1) run in the full mode
# only, unless SINGLE_CORE_PEERS=1.
SINGLE_CORE = ENV.get("SINGLE_CORE_PEERS", "0" if QUICK else "1") == "1"

# Targets for Weft from issue 7 (full sizes only), in seconds.
TARGETS = {
    ("ring", "N=1000 M=1000"): 0.10,
    ("spawn", "exit P=1000000"): 0.15,
    ("pingpong", "R=1000000"): 0.15,
    ("threadring", "N=10000000"): 0.8,
    ("chameneos", "N=600000"): 0.5,
    ("fib", "n=35"): 0.48,
    ("fib", "n=0"): 0.005,
}
TARGET_BYTES_PER_PROCESS = 512

# Which installed tool each peer needs.
TOOL = {
    "erlang": "erlang", "erlang-S1": "erlang", "go": "go", "go-P1": "go",
    "lua5.4": "lua5.4", "luajit": "luajit", "py-greenlet": "py-greenlet",
    "py-asyncio": "py-asyncio", "cpython": "cpython",
}
PEER_ORDER = ["erlang", "erlang-S1", "go", "go-P1", "lua5.4", "luajit",
              "py-greenlet", "py-asyncio", "cpython"]
COLORS = {
    "erlang": "#a2003e", "erlang-S1": "#e36a8f", "go": "#007d9c", "go-P1": "#6fd0ea",
    "lua5.4": "#1f1f8f", "luajit": "#7a7ae0", "py-greenlet": "#2f6f3e",
    "py-asyncio": "#e0a800", "cpython": "#3776ab",
}


# ---------------------------------------------------------------- expected lines
def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


DIGITS = "zero one two three four five six seven eight nine".split()


def spell(n):
    return "".join(" " + DIGITS[int(d)] for d in str(n))


def chameneos_layout(n):
    """The exact output of chameneos N with each creature's count as '#'."""
    names = ["blue", "red", "yellow"]

    def comp(a, b):
        return a if a == b else 3 - a - b

    lines = [f"{names[a]} + {names[b]} -> {names[comp(a, b)]}" for a in range(3) for b in range(3)]
    lines.append("")
    for colours in ([0, 1, 2], [0, 1, 2, 1, 2, 0, 1, 2, 1, 0]):
        lines.append("".join(" " + names[c] for c in colours))
        lines += ["# zero"] * len(colours)  # nobody meets itself
        lines.append(spell(2 * n))
        lines.append("")
    return lines


def check_chameneos(out, n):
    got = out.split("\n")
    if got and got[-1] == "":
        got = got[:-1]
    want = chameneos_layout(n)
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        if w == "# zero":
            if not re.fullmatch(r"[0-9]+ zero", g):
                return False
        elif g != w:
            return False
    return True


def big_checksum(a, n):
    """The checksum of `big A N`: sum over ids of id * pings received."""
    received = [0] * a
    for me in range(a):
        rng = me + 1
        for _ in range(n):
            rng = (rng * 1103515245 + 12345) % 2147483648
            t = rng // 65536 % a
            if t == me:
                t = (t + 1) % a
            received[t] += 1
    return sum((i + 1) * r for i, r in enumerate(received))


# ---------------------------------------------------------------- the plan
class Pair:
    """One benchmark at one size, Weft against one peer."""

    def __init__(self, bench, group, size, ops, unit, expect, weft, peer, cmd, check):
        self.bench, self.group, self.size, self.ops, self.unit = bench, group, size, ops, unit
        self.expect, self.weft, self.peer, self.cmd, self.check = expect, weft, peer, cmd, check
        self.status = "ok"
        self.weft_runs, self.peer_runs = [], []  # (wall s, rss KiB)


def plan():
    erl_dir = os.path.join(BUILD, "erl")
    go_dir = os.path.join(BUILD, "go")
    max_p = str(2 * max(SPAWN_P, SPAWN_ALIVE_P))
    go1 = ["env", "GOMAXPROCS=1"]

    def weft(name, args):
        return [WEFT, os.path.join(HERE, name + ".weft")] + args

    def erl(name, args, single=False, many=False):
        flags = (["+S", "1"] if single else []) + (["+P", max_p] if many else [])
        return ["erl", "-noshell"] + flags + ["-pa", erl_dir, "-run", name, "main"] + args

    def peer_cmd(peer, name, args, many=False):
        """The command line of one peer's program NAME with ARGS."""
        if peer == "erlang":
            return erl(name, args, many=many)
        if peer == "erlang-S1":
            return erl(name, args, single=True, many=many)
        if peer == "go":
            return [os.path.join(go_dir, name)] + args
        if peer == "go-P1":
            return go1 + [os.path.join(go_dir, name)] + args
        if peer in ("lua5.4", "luajit"):
            return [peer, os.path.join(PEERS, name, name + ".lua")] + args
        if peer in ("py-greenlet", "py-asyncio"):
            return [PY, os.path.join(PEERS, name, name + ".py"), peer[3:]] + args
        if peer == "cpython":
            return [PY, os.path.join(PEERS, name, name + ".py")] + args
        raise ValueError(peer)

    pairs = []

    def add(bench, group, name, peers, many=False, check=None, **sized):
        """Pairs for benchmark NAME: sized maps a peer class ('main' or 'py')
        to (size label, ops, unit, expected line, args)."""
        for peer in peers:
            if not SINGLE_CORE and peer in ("erlang-S1", "go-P1"):
                continue
            klass = "py" if peer.startswith("py-") and "py" in sized else "main"
            label, ops, unit, expect, args = sized[klass]
            args = [str(a) for a in args]
            pairs.append(Pair(bench, group, label, ops, unit, expect, weft(name, args), peer,
                              peer_cmd(peer, name, args, many),
                              None if check is None else (lambda out, c=check, a=args: c(out, a))))

    message = ["erlang", "erlang-S1", "go", "go-P1", "lua5.4", "luajit", "py-greenlet", "py-asyncio"]

    def ring(n, m):
        return (f"N={n} M={m}", n * m, "hop", f"ring N={n} M={m} hops={n * m}", [n, m])

    add("ring", "ring", "ring", message,
        main=ring(RING_N, RING_M), py=ring(RING_N, RING_M_PY))

    def spawn_exit(p):
        return (f"exit P={p}", p, "process", f"spawn exit P={p} done={p}", ["exit", p])

    add("spawn", "spawn exit", "spawn", message, many=True,
        main=spawn_exit(SPAWN_P), py=spawn_exit(SPAWN_P_PY))

    # All alive; also at P=1: (peak(P) - peak(1)) / P is one live process.
    def alive(p):
        return (f"alive P={p}", p, "process", f"spawn alive P={p} live={p}", ["alive", p])

    alive_peers = ["erlang", "go", "lua5.4", "luajit", "py-greenlet", "py-asyncio"]
    add("spawn-alive", "spawn alive", "spawn", alive_peers, many=True,
        main=alive(SPAWN_ALIVE_P), py=alive(SPAWN_ALIVE_P_PY))
    add("spawn-alive", "spawn alive", "spawn", alive_peers, many=True, main=alive(1))

    def pingpong(r):
        return (f"R={r}", r, "round trip", f"pingpong R={r} roundtrips={r}", [r])

    add("pingpong", "pingpong", "pingpong", message,
        main=pingpong(PINGPONG_R), py=pingpong(PINGPONG_R_PY))

    # fib(0) is the start-up cost of each runtime.
    for n, group in ((FIB_N, f"fib({FIB_N})"), (FIB_BIG_N, f"fib({FIB_BIG_N})"), (0, "start-up (fib 0)")):
        add("fib", group, "fib", ["erlang", "go", "lua5.4", "luajit", "cpython"],
            main=(f"n={n}", 0, "", f"fib({n})={fib(n)}", [n]))

    def threadring(n):
        return (f"N={n}", n, "pass", str(n % 503 + 1), [n])

    add("threadring", "threadring", "threadring", message,
        main=threadring(THREADRING_N), py=threadring(THREADRING_N_PY))

    # chameneos-redux; ops = meetings over both games.
    def chameneos(n):
        return (f"N={n}", 2 * n, "meeting", spell(2 * n), [n])

    add("chameneos", "chameneos", "chameneos", message,
        check=lambda out, args: check_chameneos(out, int(args[0])),
        main=chameneos(CHAMENEOS_N), py=chameneos(CHAMENEOS_N_PY))

    # Savina: Erlang and Go peers in bench/peers/.
    savina = ["erlang", "erlang-S1", "go", "go-P1"]
    n = COUNTING_N
    add("counting", "counting", "counting", savina,
        main=(f"N={n}", n, "message", f"counting N={n} count={n}", [n]))
    a, n = FJT_A, FJT_N
    add("fjthroughput", "fork-join throughput", "fjthroughput", savina,
        main=(f"A={a} N={n}", a * n, "message", f"forkjoin-throughput A={a} N={n} msgs={a * n}", [a, n]))
    n = FJC_N
    add("fjcreate", "fork-join creation", "fjcreate", savina,
        main=(f"N={n}", n, "actor", f"forkjoin-create N={n} done={n}", [n]))
    a, n = BIG_A, BIG_N
    add("big", "big", "big", savina,
        main=(f"A={a} N={n}", 2 * a * n, "message",
              f"big A={a} N={n} pings={a * n} checksum={big_checksum(a, n)}", [a, n]))

    pairs = [p for p in pairs if TOOL[p.peer] in AVAILABLE]
    if ONLY:
        pairs = [p for p in pairs if re.search(ONLY, f"{p.bench} {p.peer}")]
    return pairs


# ---------------------------------------------------------------- running
def run_once(cmd, capture=False):
    """Runs cmd once under GNU time. Returns (wall s, peak RSS KiB, exit status, output).

    The exit status is None after a timeout (the process group is killed).
    The output (stdout + stderr) is kept only when capture is set.
    """
    fd, time_file = tempfile.mkstemp(prefix="weft-bench-", suffix=".time")
    os.close(fd)
    full = [GNU_TIME, "-f", "%e %M", "-o", time_file] + cmd
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    timed_out = []

    def kill():
        timed_out.append(True)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    start = time.perf_counter()
    proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT if capture else subprocess.DEVNULL,
                            start_new_session=True)
    # A timer thread enforces the timeout: communicate(timeout=...) would
    # poll the child with growing sleeps, which rounds the wall times.
    timer = threading.Timer(TIMEOUT, kill)
    timer.start()
    data, _ = proc.communicate()
    wall = time.perf_counter() - start
    timer.cancel()
    status = None if timed_out else proc.returncode
    rss = 0
    try:
        with open(time_file) as f:
            # GNU time writes "Command exited with non-zero status N" first
            # when the command fails; the last line is the format.
            lines = [l for l in f.read().split("\n") if re.fullmatch(r"[0-9.]+ [0-9]+", l)]
        if lines:
            rss = int(lines[-1].split()[1])
    finally:
        os.unlink(time_file)
    text = data.decode("utf-8", "replace") if capture and data is not None else ""
    return wall, rss, status, text


def check(cmd, expect, extra, cache):
    key = tuple(cmd)
    if key in cache:
        return cache[key]
    _, _, status, out = run_once(cmd, capture=True)
    if status is None:
        result = ("TIMEOUT", out)
    elif status != 0:
        result = (f"exit={status}", out)
    elif expect not in out.split("\n"):
        result = ("WRONG", out)
    elif extra is not None and not extra(out):
        result = ("WRONG", out)
    else:
        result = ("ok", out)
    cache[key] = result
    return result


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def execute(pairs):
    t0 = time.perf_counter()
    cache = {}
    outdir = os.path.join(BUILD, "outputs")
    os.makedirs(outdir, exist_ok=True)
    log(f"checking each output once, then timing Weft and each peer alternately, {RUNS} runs each")
    for p in pairs:
        tag = re.sub(r"[^A-Za-z0-9=._-]+", "_", f"{p.bench}-{p.size}-{p.peer}")
        wst, wout = check(p.weft, p.expect, p.check, cache)
        pst, pout = check(p.cmd, p.expect, p.check, cache)
        with open(os.path.join(outdir, tag + ".weft.out"), "w") as f:
            f.write(wout)
        with open(os.path.join(outdir, tag + ".peer.out"), "w") as f:
            f.write(pout)
        if wst != "ok":
            p.status = f"WRONG (weft: {wst})"
        elif pst != "ok":
            p.status = f"WRONG ({p.peer}: {pst})"
        if p.status == "ok":
            for _ in range(RUNS):
                for who, cmd, runs in (("weft", p.weft, p.weft_runs), (p.peer, p.cmd, p.peer_runs)):
                    wall, rss, status, _ = run_once(cmd)
                    if status != 0:
                        p.status = f"FAILED ({who}: {'timeout' if status is None else f'exit={status}'} in a timed run)"
                    runs.append((wall, rss))
                if p.status != "ok":
                    break
        line = f"[{time.perf_counter() - t0:5.0f} s] {p.bench:<12} {p.size:<16} {p.peer:<12} {p.status}"
        if p.status == "ok":
            line += f"  weft {med(p.weft_runs):.3f}s  {p.peer} {med(p.peer_runs):.3f}s  ratio {ratio(p):.2f}"
        else:
            line += f"  (outputs in {outdir}/{tag}.*.out)"
        log(line)


def med(runs, i=0):
    return statistics.median(r[i] for r in runs)


def ratio(p, i=0):
    return med(p.weft_runs, i) / med(p.peer_runs, i) if med(p.peer_runs, i) else float("nan")


# ---------------------------------------------------------------- machine and versions
def sh(cmd):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        return (r.stdout + r.stderr).strip()
    except Exception as e:  # a missing tool
        return f"unavailable ({e})"


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return [
        ("CPU", f"{cpu} ({os.cpu_count()} logical CPUs, `nproc` = {sh('nproc')})"),
        ("memory", mem),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]


def versions():
    commit = sh(f"git -C {shlex.quote(ROOT)} rev-parse --short HEAD")
    dirty = sh(f"git -C {shlex.quote(ROOT)} status --porcelain --untracked-files=no")
    v = [("weft", f"commit {commit}{' + uncommitted changes' if dirty else ''}, "
                  f"{sh(shlex.quote(WEFT) + ' --version') or 'release build'}; {sh('rustc --version')}")]
    if "erlang" in AVAILABLE:
        v.append(("erlang", sh("erl -noshell -eval 'io:format(\"OTP ~s, erts ~s, emu_flavor ~p, schedulers ~p\", "
                               "[erlang:system_info(otp_release), erlang:system_info(version), "
                               "erlang:system_info(emu_flavor), erlang:system_info(schedulers)]), halt().'")))
    if "go" in AVAILABLE:
        v.append(("go", sh("go version")))
    if "lua5.4" in AVAILABLE:
        v.append(("lua", sh("lua5.4 -v")))
    if "luajit" in AVAILABLE:
        v.append(("luajit", sh("luajit -v")))
    if "cpython" in AVAILABLE:
        pv = "CPython " + sh(f"{shlex.quote(PY)} -c 'import sys; print(sys.version.split()[0])'")
        if "py-greenlet" in AVAILABLE:
            pv += ", greenlet " + sh(f"{shlex.quote(PY)} -c 'import greenlet; print(greenlet.__version__)'")
        v.append(("python", f"{pv} ({PY})"))
    gt = sh(f"{shlex.quote(GNU_TIME)} --version").split("\n")[0]
    if "UNKNOWN" in gt:  # Debian's build does not know its version
        gt = "GNU time " + sh("dpkg-query -W -f='${Version}' time 2>/dev/null")
    v.append(("GNU time", f"{gt} ({GNU_TIME})"))
    return v


# ---------------------------------------------------------------- the report
def fmt_s(x):
    if x != x:
        return "—"
    return f"{x:.3f}" if x >= 0.01 else f"{x * 1000:.2f} ms"


def fmt_ratio(x):
    if x != x:
        return "—"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def human(n):
    for div, suf in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{suf}"
    return str(n)


def memory_per_process(pairs):
    """(peer, P, peer bytes/process, weft bytes/process) from spawn-alive pairs."""
    base = {}
    for p in pairs:
        if p.bench == "spawn-alive" and p.size == "alive P=1" and p.status == "ok":
            base[p.peer] = (med(p.peer_runs, 1), med(p.weft_runs, 1))
    rows = []
    for p in pairs:
        if p.bench != "spawn-alive" or p.size == "alive P=1":
            continue
        n = p.ops
        if p.status != "ok" or p.peer not in base:
            rows.append((p.peer, n, None, None, p.status if p.status != "ok" else "no P=1 run"))
            continue
        peer_b = (med(p.peer_runs, 1) - base[p.peer][0]) * 1024 / n
        weft_b = (med(p.weft_runs, 1) - base[p.peer][1]) * 1024 / n
        rows.append((p.peer, n, peer_b, weft_b, "ok"))
    return rows


def groups_in_order(pairs):
    seen = []
    for p in pairs:
        key = (p.group, p.bench)
        if key not in seen:
            seen.append(key)
    return seen


def write_markdown(pairs, started, elapsed):
    mode = "quick (small sizes: `bench/run.sh --quick`)" if QUICK else "full (`bench/run.sh`)"
    md = []
    md.append("# Benchmarks: Weft and its peers\n")
    md.append(f"Written by `bench/run.sh` on {started:%Y-%m-%d %H:%M} UTC, mode: **{mode}**, "
              f"{RUNS} runs of each program, Weft and the peer alternating "
              f"(W P W P …), in {elapsed / 60:.1f} minutes.\n")
    if ONLY:
        md.append(f"> Only the pairs matching `ONLY={ONLY}` were run.\n")
    if QUICK:
        md.append("> Quick mode runs small sizes to test the harness: start-up dominates, so these "
                  "ratios say little. Run `bench/run.sh` for the real figures.\n")
    md.append("## Machine\n")
    for k, v in machine():
        md.append(f"- {k}: {v}")
    md.append("\n## Versions\n")
    for k, v in versions():
        md.append(f"- {k}: {v.replace(chr(10), '; ')}")
    n = os.environ.get("WEFT_SCHEDULERS", "1")
    weft_schedulers = "one scheduler thread" if n == "1" else f"{n} scheduler threads"
    md.append(f"""
## How to read this

- Each pair (a benchmark at one size, Weft against one peer) is checked once
  (exit status 0 and the expected check line; chameneos also its exact
  output layout), then timed: Weft and the peer run alternately, each run
  under GNU time. A wrong output marks the pair **WRONG** and it is not timed.
- *median s*: median wall time of the runs (a monotonic clock around GNU
  time; its own `%e` has 10 ms steps). *peak MiB*: median of GNU time's
  `%M`, the peak resident set size.
- *Weft/peer*: Weft's median divided by the peer's, from the runs of that
  pair only. Below 1, Weft is faster (or smaller); above 1, slower.
- Weft runs with {weft_schedulers} (`WEFT_SCHEDULERS`; bench/smp.sh
  compares one scheduler against all). `erlang-S1` (`erl +S 1`) and `go-P1`
  (`GOMAXPROCS=1`) are the peers held to one core (full mode only);
  `erlang` and `go` use every core.
- The Python peers run the long benchmarks at smaller sizes (at full size a
  run takes up to a minute); Weft runs the same smaller size in those pairs,
  so every ratio compares equal work. The size is in each row.
- The programs: `bench/*.weft`, `../shared/peers/` and `bench/peers/`.
""")
    md.append("![Weft/peer time ratios](benchmarks.svg)\n")

    # summary matrix
    peers_present = [p for p in PEER_ORDER if any(x.peer == p for x in pairs)]
    md.append("## Summary: Weft time / peer time\n")
    md.append("| benchmark | size | " + " | ".join(peers_present) + " |")
    md.append("|---|---|" + "---:|" * len(peers_present))
    for group, bench in groups_in_order(pairs):
        gp = [p for p in pairs if p.group == group and p.bench == bench]
        sizes = []
        for p in gp:
            if p.size not in sizes:
                sizes.append(p.size)
        main_size = sizes[0]
        if bench == "spawn-alive":
            gp = [p for p in gp if p.size != "alive P=1"]
        cells = []
        for peer in peers_present:
            ps = [p for p in gp if p.peer == peer]
            if not ps:
                cells.append("")
                continue
            p = ps[0]
            c = fmt_ratio(ratio(p)) if p.status == "ok" else "**WRONG**" if "WRONG" in p.status else "**FAILED**"
            if p.size != main_size:
                c += f" ({p.size.replace('alive ', '')})"
            cells.append(c)
        md.append(f"| {group} | {main_size} | " + " | ".join(cells) + " |")
    mem = memory_per_process(pairs)
    if mem:
        cells = []
        for peer in peers_present:
            r = [m for m in mem if m[0] == peer]
            if not r:
                cells.append("")
            elif r[0][2] is None:
                cells.append("**WRONG**")
            else:
                cells.append(fmt_ratio(r[0][3] / r[0][2]) if r[0][2] > 0 else "—")
        md.append("| memory per live process | (bytes) | " + " | ".join(cells) + " |")
    md.append("")

    # memory per process
    if mem:
        md.append("## Memory per live process\n")
        md.append("(peak RSS at P live processes − peak RSS at P = 1) / P, from the `spawn alive` "
                  "runs; Weft's from its runs in the same pairs.\n")
        md.append("| peer | P | peer bytes/process | Weft bytes/process | Weft/peer |")
        md.append("|---|---:|---:|---:|---:|")
        for peer, n, pb, wb, st in mem:
            if pb is None:
                md.append(f"| {peer} | {n} | {st} | | |")
            else:
                md.append(f"| {peer} | {n} | {pb:.0f} | {wb:.0f} | {fmt_ratio(wb / pb) if pb > 0 else '—'} |")
        md.append("")

    # against the targets
    if not QUICK:
        md.append("## Weft against the targets of issue 7\n")
        md.append("| benchmark | size | Weft median s | target s |")
        md.append("|---|---|---:|---:|")
        for (bench, sz), target in TARGETS.items():
            runs = [r for p in pairs if p.bench == bench and p.size == sz for r in p.weft_runs]
            if runs:
                md.append(f"| {bench} | {sz} | {fmt_s(med(runs))} | {target} |")
        for peer, n, pb, wb, st in mem:
            if wb is not None and n == SPAWN_ALIVE_P:
                md.append(f"| memory per live process | P={n} | {wb:.0f} bytes | {TARGET_BYTES_PER_PROCESS} bytes |")
                break
        md.append("")

    # per benchmark
    md.append("## Per benchmark\n")
    for group, bench in groups_in_order(pairs):
        gp = [p for p in pairs if p.group == group and p.bench == bench]
        md.append(f"### {group}\n")
        wruns = [r for p in gp if p.size == gp[0].size for r in p.weft_runs]
        if wruns:
            line = f"Weft at {gp[0].size}: median {fmt_s(med(wruns))} s over its {len(wruns)} runs"
            if gp[0].ops > 1:
                line += f", {med(wruns) / gp[0].ops * 1e9:.0f} ns per {gp[0].unit}"
            md.append(line + f", peak {med(wruns, 1) / 1024:.1f} MiB.\n")
        md.append("| peer | size | check | peer median s | peer min–max s | peer peak MiB "
                  "| Weft median s | Weft peak MiB | Weft/peer time | Weft/peer RSS |")
        md.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for p in gp:
            if p.status != "ok" or not p.peer_runs:
                md.append(f"| {p.peer} | {p.size} | **{p.status}** | | | | | | | |")
                continue
            pt = [r[0] for r in p.peer_runs]
            md.append(f"| {p.peer} | {p.size} | ok | {fmt_s(med(p.peer_runs))} | "
                      f"{fmt_s(min(pt))}–{fmt_s(max(pt))} | {med(p.peer_runs, 1) / 1024:.1f} | "
                      f"{fmt_s(med(p.weft_runs))} | {med(p.weft_runs, 1) / 1024:.1f} | "
                      f"**{fmt_ratio(ratio(p))}** | {fmt_ratio(ratio(p, 1))} |")
        md.append("")
    # Sections measured by other scripts (bench/smp.sh writes
    # docs/benchmarks-smp.md, bench/dist/run.sh docs/benchmarks-dist.md,
    # bench/host_calls.sh and criterion docs/benchmarks-host.md, and the
    # instruction counts of the interpreter work, bench/instructions.sh, in
    # docs/benchmarks-interpreter.md, bench/net/run.sh
    # docs/benchmarks-net.md, the core re-layout's instruction counts in
    # docs/benchmarks-core.md, issue 29's in docs/benchmarks-calls.md,
    # process images' (vm/benches/images.rs) in docs/benchmarks-images.md, and
    # bench/bytes/run.sh
    # docs/benchmarks-bytes.md) are kept in the generated page.
    sections = ("benchmarks-interpreter.md", "benchmarks-core.md", "benchmarks-calls.md",
                "benchmarks-smp.md",
                "benchmarks-dist.md", "benchmarks-host.md", "benchmarks-net.md",
                "benchmarks-bytes.md", "benchmarks-images.md")
    for section in sections:
        path = os.path.join(ROOT, "docs", section)
        if os.path.exists(path):
            with open(path) as f:
                if md[-1] != "":
                    md.append("")
                md.append(f.read().rstrip("\n"))
    os.makedirs(os.path.dirname(OUT_MD), exist_ok=True)
    with open(OUT_MD, "w") as f:
        f.write("\n".join(md).rstrip("\n") + "\n")


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_svg(pairs, started):
    """Horizontal bars on a log scale, one group per benchmark, a bar per peer,
    starting at the line ratio = 1 (left: Weft faster, right: Weft slower)."""
    import math

    groups = []  # (title, [(peer, ratio or None, note)])
    for group, bench in groups_in_order(pairs):
        gp = [p for p in pairs if p.group == group and p.bench == bench]
        if bench == "spawn-alive":
            gp = [p for p in gp if p.size != "alive P=1"]
        title = f"{group}  {gp[0].size}"
        bars = []
        for p in gp:
            note = "" if p.size == gp[0].size else f" ({p.size.replace('alive ', '')})"
            if p.status == "ok":
                bars.append((p.peer, ratio(p), note))
            else:
                bars.append((p.peer, None, "WRONG" if "WRONG" in p.status else "FAILED"))
        groups.append((title, bars))
    mem = memory_per_process(pairs)
    if mem:
        bars = []
        for peer, n, pb, wb, st in mem:
            if pb is None:
                bars.append((peer, None, "WRONG"))
            elif pb > 0 and wb > 0:
                bars.append((peer, wb / pb, f" (P={human(n)})"))
        groups.append(("memory per live process (bytes, not time)", bars))

    values = [r for _, bars in groups for _, r, _ in bars if r is not None and r > 0]
    lo = math.floor(math.log10(min(values + [0.5]) / 1.2))
    hi = math.ceil(math.log10(max(values + [2.0]) * 1.2))
    lo, hi = min(lo, -1), max(hi, 1)

    width, left, right = 1000, 250, 70
    plot_w = width - left - right
    top, bar_h, gap, group_gap, head_h = 104, 13, 3, 12, 18
    height = top + sum(head_h + len(b) * (bar_h + gap) + group_gap for _, b in groups) + 40

    def x(r):
        return left + (math.log10(r) - lo) / (hi - lo) * plot_w

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">'
           f'Weft time / peer time (log scale)</text>',
           f'<text x="{width / 2}" y="40" text-anchor="middle" fill="#444">left of 1: Weft is faster · '
           f'right of 1: Weft is slower · median of {RUNS} alternating runs · '
           f'{"QUICK MODE (small sizes) · " if QUICK else ""}{started:%Y-%m-%d}</text>']
    # legend
    peers_present = [p for p in PEER_ORDER if any(x_.peer == p for x_ in pairs)]
    lx = left
    for peer in peers_present:
        out.append(f'<rect x="{lx}" y="52" width="11" height="11" fill="{COLORS[peer]}"/>')
        out.append(f'<text x="{lx + 15}" y="62">{esc(peer)}</text>')
        lx += 22 + 7 * len(peer)
    # grid
    grid_top, grid_bottom = top - 14, height - 34
    for e in range(lo, hi + 1):
        for m in (1, 2, 5):
            r = m * 10 ** e
            if e == hi and m > 1:
                continue
            xx = x(r)
            strong = m == 1
            out.append(f'<line x1="{xx:.1f}" y1="{grid_top}" x2="{xx:.1f}" y2="{grid_bottom}" '
                       f'stroke="{"#bbb" if strong else "#e6e6e6"}" stroke-width="1"/>')
            label = f"{r:g}×"
            out.append(f'<text x="{xx:.1f}" y="{grid_bottom + 14}" text-anchor="middle" '
                       f'fill="{"#333" if strong else "#888"}">{label}</text>')
            if strong:
                out.append(f'<text x="{xx:.1f}" y="{grid_top - 4}" text-anchor="middle" fill="#333">{label}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{grid_bottom + 30}" text-anchor="middle" fill="#333">'
               f'Weft median / peer median</text>')
    # bars
    y = top
    for title, bars in groups:
        out.append(f'<text x="10" y="{y + 12}" font-weight="bold" font-size="12">{esc(title)}</text>')
        y += head_h
        for peer, r, note in bars:
            cy = y + bar_h - 3
            out.append(f'<text x="{left - 8}" y="{cy}" text-anchor="end" fill="#333">{esc(peer + (note if r is not None else ""))}</text>')
            if r is None:
                out.append(f'<text x="{x(1) + 6:.1f}" y="{cy}" fill="#c00" font-weight="bold">{note}</text>')
            else:
                x0, x1 = sorted((x(1), x(r)))
                out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="{bar_h}" '
                           f'fill="{COLORS[peer]}"><title>{esc(peer)}: {r:.3f}</title></rect>')
                label = f"{fmt_ratio(r)}×"
                if r >= 1:
                    out.append(f'<text x="{x1 + 4:.1f}" y="{cy}">{label}</text>')
                else:
                    out.append(f'<text x="{x0 - 4:.1f}" y="{cy}" text-anchor="end">{label}</text>')
            y += bar_h + gap
        y += group_gap
    out.append(f'<line x1="{x(1):.1f}" y1="{grid_top}" x2="{x(1):.1f}" y2="{grid_bottom}" '
               f'stroke="black" stroke-width="2"/>')
    out.append(f'<text x="{x(1) + 4:.1f}" y="{grid_top + 10}" font-weight="bold">1 = same</text>')
    out.append("</svg>")
    os.makedirs(os.path.dirname(OUT_SVG), exist_ok=True)
    with open(OUT_SVG, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    pairs = plan()
    if not pairs:
        log("nothing to run (no peer available, or ONLY matched nothing)")
        return 1
    execute(pairs)
    elapsed = time.perf_counter() - t0
    write_markdown(pairs, started, elapsed)
    write_svg(pairs, started)
    with open(os.path.join(BUILD, "results.json"), "w") as f:
        json.dump([{"bench": p.bench, "size": p.size, "peer": p.peer, "status": p.status,
                    "weft": p.weft_runs, "peer_runs": p.peer_runs} for p in pairs], f, indent=1)
    bad = [p for p in pairs if p.status != "ok"]
    log(f"wrote {OUT_MD} and {OUT_SVG} in {elapsed:.0f} s"
        + (f"; {len(bad)} pair(s) WRONG or FAILED" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
