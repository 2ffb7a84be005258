//! `weft fmt`'s layout, tested against layouts written by hand: a test
//! that only checks that formatting is a fixed point, or keeps the tokens,
//! cannot see a formatter that lays a block out wrongly the same way twice.
//!
//! - `tests/format/good/*.weft` are formatted by hand, every construct of
//!   the grammar nested in every other; `format` must leave each one
//!   byte-identical.
//! - `tests/format/bad/*.weft` are laid out badly; what `format` makes of
//!   each is a snapshot (`snapshots/format_layout__*.snap`), reviewed by
//!   hand when it changes.

use std::path::{Path, PathBuf};

use weft_compiler::format::{format, same_tokens};

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/format")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "weft"))
        .collect();
    files.sort();
    files
}

/// The first line where two texts differ, for a readable failure.
fn first_difference(expected: &str, got: &str) -> String {
    for (n, (a, b)) in expected.lines().zip(got.lines()).enumerate() {
        if a != b {
            return format!("line {}:\n  hand-laid: {a:?}\n  formatted: {b:?}", n + 1);
        }
    }
    format!(
        "lengths differ: {} lines by hand, {} formatted",
        expected.lines().count(),
        got.lines().count()
    )
}

#[test]
fn hand_formatted_files_are_left_byte_identical() {
    let files = files("good");
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted =
            format(&text).unwrap_or_else(|d| panic!("{} does not parse: {d:?}", path.display()));
        assert!(
            formatted == text,
            "weft fmt changes {}, {}",
            path.display(),
            first_difference(&text, &formatted)
        );
    }
}

#[test]
fn badly_laid_out_files_get_the_canonical_layout() {
    let files = files("bad");
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted =
            format(&text).unwrap_or_else(|d| panic!("{} does not parse: {d:?}", path.display()));
        assert!(same_tokens(&text, &formatted).is_ok());
        assert_eq!(format(&formatted).unwrap(), formatted, "not a fixed point");
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(name, formatted);
    }
}
