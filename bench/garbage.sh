#!/usr/bin/env bash
# How long `weft check` takes on 1 MB of garbage, in several shapes. Bad
# input must be linear (issue 10): every row should finish well under 1 s.
#
#   bench/garbage.sh            print the table
#   SIZE=4000000 bench/garbage.sh   ... at another size, in bytes
#
# Each input is written to a temporary directory; the exit status (65 for
# a compile error) and the size of the report are shown beside the time.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SIZE=${SIZE:-1000000}
(cd "$ROOT" && cargo build --release --quiet)
WEFT=${CARGO_TARGET_DIR:-$ROOT/target}/release/weft
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

python3 - "$TMP" "$SIZE" <<'PY'
import os, random, sys
out, size = sys.argv[1], int(sys.argv[2])
random.seed(10)
def fill(unit):
    return (unit * (size // len(unit) + 1))[:size]
tokens = ["fn", "let", "if", "else", "{", "}", "(", ")", "[", "]", "%{", "=>", ",", "+", "=",
          "x", "1", "\"s\"", ":a", "receive", "after", "match", "\n", " ", "..", "|", "try"]
shapes = {
    "stray_closers": fill(")"),
    "stray_braces": fill("}"),
    "unclosed_parens": fill("("),
    "unclosed_braces": fill("{"),
    "unclosed_brackets": fill("["),
    "nested_ifs": fill("if x { "),
    "nested_fns": fill("fn() { "),
    "nots": fill("not "),
    "minus_signs": fill("-"),
    "long_sum": "let x = 1\nprint(" + fill("x + ")[: size - 20] + "x)\n",
    "bad_lets": fill("let = 1\n"),
    "unknown_names": fill("print(nope)\n"),
    "unterminated_string": "print(\"" + fill("a"),
    "token_soup": "".join(random.choice(tokens) + " " for _ in range(size // 3))[:size],
    "random_ascii": "".join(chr(random.randrange(9, 127)) for _ in range(size)),
    "one_long_line": fill("a b c d ; ") ,
}
for name, text in shapes.items():
    with open(os.path.join(out, name + ".weft"), "w") as f:
        f.write(text)
with open(os.path.join(out, "random_bytes.weft"), "wb") as f:
    f.write(bytes(random.randrange(256) for _ in range(size)))
PY

printf '%-20s %9s %6s %12s\n' shape seconds exit "report bytes"
for file in "$TMP"/*.weft; do
  name=$(basename "$file" .weft)
  start=$(date +%s.%N)
  set +e
  "$WEFT" check "$file" >/dev/null 2>"$TMP/report"
  status=$?
  set -e
  end=$(date +%s.%N)
  printf '%-20s %9.3f %6s %12s\n' "$name" "$(echo "$end - $start" | bc)" "$status" "$(wc -c <"$TMP/report")"
done
