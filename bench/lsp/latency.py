#!/usr/bin/env python3
"""How fast `weft lsp` answers on a 2,000-line file (issue 15: under 50 ms).

Usage: bench/lsp/latency.py [path/to/weft]   (default target/release/weft)

Generates a 2,000-line Weft file of small functions, opens it in the server,
then times 20 rounds of: a change (one line edited) until its diagnostics
arrive, a completion, a go-to-definition and a hover. Prints the median and
the worst time of each, in milliseconds."""
import json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEFT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "weft")

def program(edit):
    lines = []
    i = 0
    while len(lines) < 2000:
        lines += [f"# Function number {i}.",
                  f"fn f{i}(x, y) {{",
                  f"  let total = x + y * {i + edit}",
                  f"  match total {{ 0 => :zero, n if n > 10 => f{max(i - 1, 0)}(n - 1, y), _ => total }}",
                  "}", ""]
        i += 1
    lines.append("print(f10(1, 2))")
    return "\n".join(lines) + "\n"

proc = subprocess.Popen([WEFT, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

def send(message):
    body = json.dumps(message).encode()
    proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    proc.stdin.flush()

def receive():
    length = None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("weft lsp ended")
        line = line.strip()
        if not line:
            break
        if line.startswith(b"Content-Length:"):
            length = int(line.split(b":")[1])
    return json.loads(proc.stdout.read(length))

ids = iter(range(1, 10**9))
def request(method, params):
    i = next(ids)
    send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
    while True:
        m = receive()
        if m.get("id") == i:
            return m

def until_diagnostics():
    while True:
        m = receive()
        if m.get("method") == "textDocument/publishDiagnostics":
            return m

URI = "untitled:big.weft"
request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
text = program(0)
send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
      "params": {"textDocument": {"uri": URI, "languageId": "weft", "version": 1, "text": text}}})
until_diagnostics()
doc = {"uri": URI}
times = {"change+diagnostics": [], "completion": [], "definition": [], "hover": []}
call_line = text.count("\n") - 1  # the last line: print(f10(1, 2))
for round in range(20):
    t = time.perf_counter()
    send({"jsonrpc": "2.0", "method": "textDocument/didChange",
          "params": {"textDocument": {"uri": URI, "version": round + 2},
                     "contentChanges": [{"text": program(round + 1)}]}})
    d = until_diagnostics()
    assert d["params"]["diagnostics"] == [], d
    times["change+diagnostics"].append(time.perf_counter() - t)
    for name, method, pos in [("completion", "textDocument/completion", {"line": 2, "character": 4}),
                              ("definition", "textDocument/definition", {"line": call_line, "character": 7}),
                              ("hover", "textDocument/hover", {"line": call_line, "character": 7})]:
        t = time.perf_counter()
        r = request(method, {"textDocument": doc, "position": pos})
        assert r.get("result") is not None, r
        times[name].append(time.perf_counter() - t)
request("shutdown", None)
send({"jsonrpc": "2.0", "method": "exit", "params": None})
proc.wait(timeout=10)
print(f"weft lsp on a {text.count(chr(10))}-line file, 20 rounds (ms):")
for name, ts in times.items():
    print(f"  {name:20} median {statistics.median(ts) * 1000:6.1f}   worst {max(ts) * 1000:6.1f}")
