//! Property tests: no input, however malformed, panics the lexer, the
//! parser or the compiler (`compile`, and `names`, which resolves broken
//! trees too). Inputs are random text, random token soups, and valid
//! programs with random edits.

use proptest::prelude::*;
use weft_compiler::{compile, decode_source, Environment, NoImports, SourceFile};

const VALID: &[&str] = &[
    "fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }\nprint(fib(10))\n",
    "let xs = [1, 2, 3]\nfor x in xs { print(x) }\nmatch xs { [h, ..t] => print(h, t), _ => nil }\n",
    "let m = %{:a => 1, \"b\" => (2, 3)}\nlet (a, b) = (m[:a], m[\"b\"])\nprint(a, b)\n",
    "fn serve(s) { receive { (:get, from) => { from ! s; serve(s) }, after 10 => s } }\nspawn serve(0)\n",
    "let ch = chan(2)\nch <- 1\nselect { <-ch as v => print(v), ch <- 2 => nil, after 0 => nil }\nclose(ch)\n",
    "let f = fn(x) { fn g(y) { if y == 0 { x } else { g(y - 1) } }\n g(3) }\nwhile true { break f(1) }\nloop { continue }\n",
];

const TOKENS: &[&str] = &[
    "fn",
    "let",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "break",
    "continue",
    "return",
    "match",
    "receive",
    "after",
    "try",
    "select",
    "spawn",
    "spawn_link",
    "true",
    "false",
    "nil",
    "and",
    "or",
    "not",
    "import",
    "as",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "%{",
    ",",
    ";",
    "\n",
    ".",
    "..",
    "=>",
    "^",
    "=",
    "+=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "++",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "!",
    "<-",
    "x",
    "f",
    "_",
    ":ok",
    "1",
    "2.5",
    "\"s\"",
    "\"\\u{1F600}\"",
    "0xff",
    "#c\n",
];

fn environment() -> Environment {
    Environment::new(["print", "len", "chan", "close", "list.map"].map(String::from))
}

fn compile_text(text: &str) {
    let _ = compile(
        SourceFile::new("fuzz.weft", text),
        "main",
        &environment(),
        &mut NoImports,
    );
    // The resolver also runs on what fails to parse, for the language
    // server.
    let _ = weft_compiler::names(text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_text(text in "\\PC{0,200}") {
        compile_text(&text);
    }

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(source) = decode_source("bytes.weft", bytes) {
            let _ = compile(source, "main", &environment(), &mut NoImports);
        }
    }

    #[test]
    fn token_soup(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)) {
        compile_text(&tokens.join(" "));
    }

    #[test]
    fn mutated_programs(
        which in 0..VALID.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..3u8, proptest::sample::select(TOKENS)), 1..6),
    ) {
        let mut text: Vec<char> = VALID[which].chars().collect();
        for (at, kind, token) in edits {
            if text.is_empty() { break; }
            let i = at.index(text.len());
            match kind {
                0 => { text.remove(i); }
                1 => { for (k, c) in token.chars().enumerate() { text.insert(i + k, c); } }
                _ => { let end = (i + 5).min(text.len()); text.drain(i..end); }
            }
        }
        compile_text(&text.into_iter().collect::<String>());
    }
}

#[test]
fn valid_programs_compile() {
    for program in VALID {
        let result = compile(
            SourceFile::new("valid.weft", *program),
            "main",
            &environment(),
            &mut NoImports,
        );
        assert!(result.is_ok(), "{program}\n{:?}", result.err());
    }
}

/// Every input the `compile` fuzz target found a crash with (kept in
/// `fuzz/regressions/compile/`) compiles or fails cleanly, and its
/// diagnostics render.
#[test]
fn fuzz_regressions_compile_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/compile");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions/compile") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let Ok(source) = decode_source("fuzz.weft", bytes) else {
            continue;
        };
        let _ = weft_compiler::names(&source.text);
        if let Err(diagnostics) = compile(source, "main", &environment(), &mut NoImports) {
            let _ = weft_compiler::render(&diagnostics, false);
        }
        count += 1;
    }
    assert!(count > 0, "no regression inputs in {}", dir.display());
}

/// Found by the `compile` fuzz target: a span near the end of a line just
/// over the long-line threshold made the excerpt's markers longer than the
/// text they replaced, and an offset computation underflowed.
#[test]
fn excerpts_of_lines_just_over_the_threshold_render() {
    for length in 235usize..250 {
        for at in [0, length / 2, length.saturating_sub(2)] {
            let line = format!("{}@{}", "é".repeat(at / 2), "x".repeat(length - at / 2));
            let text = format!("let a = 1\n{line}\nprint(a)\n");
            let source = SourceFile::new("long.weft", text);
            if let Err(diagnostics) = compile(source, "main", &environment(), &mut NoImports) {
                let rendered = weft_compiler::render(&diagnostics, false);
                assert!(rendered.contains("long.weft"), "{rendered}");
            }
        }
    }
}
