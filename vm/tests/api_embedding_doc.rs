//! docs/EMBEDDING.md's Rust samples are doctests of the public API: every
//! ```rust block of the guide must be, line for line, a code example in the
//! rustdoc of `vm/src/{lib,host,value}.rs` (hidden `# ` lines aside), which
//! `cargo test -p weft-vm --doc` compiles and runs.

use std::path::Path;

/// The code blocks of the `///` comments of a Rust source file, without
/// rustdoc's hidden lines.
fn doc_examples(source: &str) -> Vec<String> {
    let mut examples = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in source.lines() {
        let Some(doc) = line.trim_start().strip_prefix("///") else {
            current = None;
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if doc.starts_with("```") {
            match current.take() {
                Some(lines) => examples.push(lines.join("\n")),
                None if doc == "```" || doc == "```rust" => current = Some(Vec::new()),
                None => {}
            }
            continue;
        }
        if let Some(lines) = current.as_mut() {
            if doc != "#" && !doc.starts_with("# ") {
                lines.push(doc);
            }
        }
    }
    examples
}

/// The ```rust blocks of a Markdown file, dedented to their fence.
fn markdown_rust_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        if line.trim_start() != "```rust" {
            continue;
        }
        let mut block = Vec::new();
        for line in lines.by_ref() {
            if line.trim_start() == "```" {
                break;
            }
            block.push(line.get(indent..).unwrap_or("").to_string());
        }
        blocks.push(block.join("\n"));
    }
    blocks
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_rust_sample_of_the_guide_is_a_doctest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = read(&root.join("../docs/EMBEDDING.md"));
    let mut examples = Vec::new();
    for file in ["lib.rs", "host.rs", "value.rs"] {
        examples.extend(doc_examples(&read(&root.join("src").join(file))));
    }
    let blocks = markdown_rust_blocks(&guide);
    assert!(
        blocks.len() >= 10,
        "found only {} rust blocks",
        blocks.len()
    );
    for block in &blocks {
        assert!(
            examples.iter().any(|example| example == block),
            "this sample of docs/EMBEDDING.md is not a doctest in vm/src (copy it there, or \
             update it from there):\n{block}"
        );
    }
}

#[test]
fn the_guide_covers_the_embedding_topics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = read(&root.join("../docs/EMBEDDING.md"));
    for topic in [
        "Vm::builder()",
        "allow_io",
        "unknown module `io`",
        "register_fn",
        "game.twice",
        "(:error, :host, message)",
        "hot reload",
        "vm.spawn",
        "vm.send",
        "vm.recv",
        "vm.run(budget)",
        "BudgetSpent",
        "vm.call",
        "max_processes",
        "max_mailbox",
        "max_heap",
        "Event::Crash",
        "`Vm` is `Send`",
    ] {
        assert!(
            guide.contains(topic),
            "docs/EMBEDDING.md does not mention {topic}"
        );
    }
}
