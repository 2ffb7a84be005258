//! Runs every example of docs/STDLIB.md through the real `weft` binary.
//!
//! Each ```` ```weft ```` block is written to a file of its own, in a fresh
//! directory that is also its working directory (so `io` examples can use
//! relative paths without clashing), and run; its standard output must equal
//! the block's `# => ` lines, in order, and it must exit with status 0.
//! The test fails if the document has no examples, or if a function of
//! LANGUAGE.md §9's module table has none, so the examples cannot silently
//! stop being checked.

use std::path::{Path, PathBuf};
use std::process::Command;

/// An example: where it starts in the document, its code and the output
/// it promises.
struct Example {
    line: usize,
    code: String,
    expected: Vec<String>,
}

fn examples(text: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut current: Option<Example> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None => {
                if line.trim_end() == "```weft" {
                    current = Some(Example {
                        line: i + 1,
                        code: String::new(),
                        expected: Vec::new(),
                    });
                }
            }
            Some(example) => {
                if line.trim_end() == "```" {
                    found.extend(current.take());
                    continue;
                }
                if let Some(output) = line.strip_prefix("# => ") {
                    example.expected.push(output.to_string());
                } else if line.trim_end() == "# =>" {
                    example.expected.push(String::new());
                }
                example.code.push_str(line);
                example.code.push('\n');
            }
        }
    }
    assert!(
        current.is_none(),
        "docs/STDLIB.md: a ```weft block is never closed"
    );
    found
}

/// A new empty directory for one example.
fn scratch_dir(index: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-stdlib-docs-{}-{index}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

fn run(example: &Example, index: usize) -> Result<(), String> {
    let dir = scratch_dir(index);
    let file = dir.join("example.weft");
    std::fs::write(&file, &example.code).map_err(|e| e.to_string())?;
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg(&file)
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("cannot start weft: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let got: Vec<&str> = stdout.lines().collect();
    let mut problems = Vec::new();
    if got != example.expected {
        problems.push(format!(
            "stdout differs\n--- expected\n{}\n--- got\n{}",
            example.expected.join("\n"),
            stdout.trim_end()
        ));
    }
    if !output.status.success() {
        problems.push(format!(
            "exit status {:?}\n--- stderr\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("--- code\n{}{}", example.code, problems.join("\n")))
    }
}

/// The module constants of LANGUAGE.md §9 (and `math.e`).
const CONSTANTS: &[&str] = &["math.pi", "math.e"];

/// LANGUAGE.md §9's module table, less `chan` and `process` (documented with
/// processes and channels).
const FUNCTIONS: &[&str] = &[
    "list.map",
    "list.filter",
    "list.fold",
    "list.reverse",
    "list.sort",
    "list.sum",
    "list.range",
    "list.zip",
    "list.contains?",
    "list.push",
    "list.first",
    "list.last",
    "list.take",
    "list.drop",
    "list.enumerate",
    "string.split",
    "string.join",
    "string.trim",
    "string.upper",
    "string.lower",
    "string.contains?",
    "string.starts_with?",
    "string.ends_with?",
    "string.replace",
    "string.chars",
    "string.slice",
    "map.get",
    "map.put",
    "map.remove",
    "map.has?",
    "map.keys",
    "map.values",
    "map.to_list",
    "map.from_list",
    "map.merge",
    "math.sqrt",
    "math.pow",
    "math.floor",
    "math.ceil",
    "math.abs",
    "math.min",
    "math.max",
    "math.sin",
    "math.cos",
    "time.now",
    "random.seed",
    "random.int",
    "random.float",
    "io.open",
    "io.write",
    "io.read_line",
    "io.close",
    "io.read_file",
    "io.read_bytes",
    "io.write_file",
    "bytes.from_string",
    "bytes.to_string",
    "bytes.from_list",
    "bytes.to_list",
    "bytes.slice",
    "bytes.concat",
    "bytes.find",
    "bytes.split",
    "bytes.starts_with?",
    "bytes.hex",
    "bytes.from_hex",
    "bytes.encode_int",
    "bytes.decode_int",
    "io.lines",
    "pg.join",
    "pg.leave",
    "pg.members",
];

#[test]
fn stdlib_doc_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let path = root.join("docs/STDLIB.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let examples = examples(&text);
    assert!(
        !examples.is_empty(),
        "docs/STDLIB.md has no ```weft examples"
    );

    let missing: Vec<&str> = FUNCTIONS
        .iter()
        .copied()
        .filter(|f| !examples.iter().any(|e| e.code.contains(&format!("{f}("))))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/STDLIB.md has no example calling {missing:?}"
    );
    for constant in CONSTANTS {
        assert!(
            examples.iter().any(|e| e.code.contains(constant)),
            "docs/STDLIB.md has no example using {constant}"
        );
    }

    let mut failures = Vec::new();
    for (index, example) in examples.iter().enumerate() {
        if let Err(problem) = run(example, index) {
            failures.push(format!("=== docs/STDLIB.md:{}\n{problem}", example.line));
        }
    }
    for failure in &failures {
        eprintln!("{failure}\n");
    }
    eprintln!(
        "stdlib docs: {} passed, {} failed",
        examples.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} examples in docs/STDLIB.md failed",
        failures.len(),
        examples.len()
    );
}
