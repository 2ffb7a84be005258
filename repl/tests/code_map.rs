//! ARCHITECTURE.md's code map is true: every source file of every crate is
//! named in its crate's section, and every file the map names exists.
//!
//! A crate's section runs from its `### \`name/\`` heading to the next
//! `### ` heading. In it, a file is named in backticks by its path under
//! the crate's `src/` (`lexer.rs`, `codegen/expr.rs`, `data/value.rs`); a
//! path may instead start with a top-level folder of the repository
//! (`vm/tests/layers.rs`), from the repository's root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crates whose sources the map must cover, by section heading.
const CRATES: &[(&str, &str)] = &[
    ("compiler", "### `compiler/`"),
    ("vm", "### `vm/`"),
    ("stdlib", "### The standard library, and `stdlib/`"),
    ("node", "### `node/`"),
    ("repl", "### `repl/`"),
];

const TOP_LEVEL: &[&str] = &[
    "compiler/",
    "vm/",
    "stdlib/",
    "node/",
    "repl/",
    "docs/",
    "tests/",
    "bench/",
    "fuzz/",
    "editors/",
    "examples/",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, root, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "rs" || e == "lalrpop" || e == "weft")
        {
            let relative = path.strip_prefix(root).unwrap().to_string_lossy();
            out.push(relative.replace('\\', "/"));
        }
    }
}

/// The section of `map` under `heading`.
fn section<'m>(map: &'m str, heading: &str) -> &'m str {
    let start = map
        .find(heading)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no section {heading:?}"));
    let rest = &map[start + heading.len()..];
    let end = rest.find("\n### ").unwrap_or(rest.len());
    &rest[..end]
}

/// Every `backticked` word of `text` that looks like a file path.
fn named_files(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| {
            !word.contains(' ')
                && !word.contains('*')
                && !word.starts_with('.')
                && (word.ends_with(".rs") || word.ends_with(".lalrpop") || word.ends_with(".weft"))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn the_code_map_names_every_source_file_and_only_real_ones() {
    let root = root();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut problems = Vec::new();
    for (krate, heading) in CRATES {
        let text = section(&map, heading);
        let named = named_files(text);
        let src = root.join(krate).join("src");
        let mut files = Vec::new();
        sources(&src, &src, &mut files);
        for file in &files {
            if !named.contains(file) {
                problems.push(format!("{krate}/src/{file} is not in the code map"));
            }
        }
        for name in &named {
            let from_root =
                TOP_LEVEL.iter().any(|top| name.starts_with(top)) && root.join(name).exists();
            if !from_root && !src.join(name).exists() {
                problems.push(format!(
                    "the code map's section {heading:?} names {name}, which does not exist"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_finds_a_missing_file() {
    // The test above would fail on a map that leaves a file out.
    let text = "- `lexer.rs` — tokens.";
    let named = named_files(text);
    assert!(named.contains("lexer.rs"));
    assert!(!named.contains("parser.rs"));
}
