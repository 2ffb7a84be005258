//! `weft fmt` on every Weft file in the repository: each is already laid
//! out as the formatter lays it out (`weft fmt --check` reports nothing),
//! formatting is a fixed point, and it keeps the token stream (so the
//! program means the same).

use std::path::{Path, PathBuf};
use std::process::Command;

use weft_compiler::format::{format, same_tokens};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn weft_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            weft_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "weft") {
            out.push(path);
        }
    }
}

fn repository_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tests", "examples", "bench"] {
        weft_files(&root().join(dir), &mut files);
    }
    files
}

#[test]
fn formatting_is_a_fixed_point_and_keeps_the_tokens() {
    let mut formatted = 0;
    for path in repository_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        // Files that test syntax errors are left alone by `weft fmt`.
        let Ok(once) = format(&text) else { continue };
        formatted += 1;
        let twice = format(&once).expect("formatted output parses");
        assert_eq!(
            once,
            twice,
            "formatting {} twice changed it",
            path.display()
        );
        if let Err(span) = same_tokens(&text, &once) {
            panic!(
                "formatting {} changed the tokens at {span:?}",
                path.display()
            );
        }
    }
    assert!(formatted > 100, "only {formatted} files formatted");
}

/// Every `.weft` file of the repository is laid out as `weft fmt` lays it
/// out: `weft fmt --check` over the whole repository reports nothing. (The
/// layout itself is tested against hand-laid files in
/// compiler/tests/format_layout.rs.) Files that are syntax errors on
/// purpose are left alone by `weft fmt`; each must say so by expecting the
/// compile error's exit status, or be a module such a test imports.
#[test]
fn every_weft_file_in_the_repository_is_formatted() {
    let mut files = repository_files();
    for dir in ["stdlib/src", "compiler/tests/format/good", "fuzz"] {
        weft_files(&root().join(dir), &mut files);
    }
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["fmt", "--check"])
        .args(&files)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.stdout.is_empty(),
        "weft fmt --check: these files are not formatted (run `weft fmt` on them):\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        if format(&text).is_err() {
            assert!(
                text.contains("# expect exit: 65") || path.ends_with("imports/modules/broken.weft"),
                "{} does not parse, but is not a compile-error test",
                path.display()
            );
        }
    }
    assert!(files.len() > 500, "only {} files", files.len());
}
