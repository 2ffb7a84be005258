//! The tree-sitter grammar parses every `.weft` file of the repository
//! without an error or missing node, and its highlight queries compile.

use std::path::{Path, PathBuf};

fn weft_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            weft_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "weft") {
            out.push(path);
        }
    }
}

/// Files that are not Weft on purpose (the tests of lexical and syntax
/// errors): the compiler's own parser rejects them.
fn is_syntax_error_test(text: &str) -> bool {
    weft_compiler::format::format(text).is_err()
}

#[test]
fn every_weft_file_parses_without_errors() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["tests", "examples", "bench"] {
        weft_files(&root.join(dir), &mut files);
    }
    files.sort();
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_weft::LANGUAGE.into())
        .expect("the grammar loads");
    let mut parsed = 0;
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if is_syntax_error_test(&text) {
            continue;
        }
        let tree = parser.parse(&text, None).expect("a tree");
        parsed += 1;
        if tree.root_node().has_error() {
            let mut cursor = tree.walk();
            let mut at = String::new();
            // The first error or missing node, for the message.
            'walk: loop {
                let node = cursor.node();
                if node.is_error() || node.is_missing() {
                    let p = node.start_position();
                    at = format!("{}:{}: {}", p.row + 1, p.column + 1, node.kind());
                    break;
                }
                if node.has_error() && cursor.goto_first_child() {
                    continue;
                }
                while !cursor.goto_next_sibling() {
                    if !cursor.goto_parent() {
                        break 'walk;
                    }
                }
            }
            failures.push(format!("{} {at}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {parsed} files have errors:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(parsed > 100, "only {parsed} files parsed");
}

#[test]
fn the_highlight_queries_compile() {
    let language: tree_sitter::Language = tree_sitter_weft::LANGUAGE.into();
    tree_sitter::Query::new(&language, tree_sitter_weft::HIGHLIGHTS_QUERY).expect("highlights.scm");
}
