//! docs/EMBEDDING.md's Rust samples are doctests of the public API: every
//! ```rust block of the guide must be, line for line, a code example in the
//! `///` rustdoc of one of vm/src's files (hidden `# ` lines aside), which
//! `cargo test -p weft-vm --all-features --doc` compiles and runs (the
//! serde and tokio samples need their features).

use std::path::Path;

/// Every source file of `vm/src` (the guide's samples may be the doctests
/// of any of them).
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Where a line of `///` comments is: in prose, in a Rust code block (with
/// its lines so far), or in a block of another language (` ```text `).
enum Fence<'a> {
    Prose,
    Rust(Vec<&'a str>),
    Other,
}

/// The Rust code blocks of the `///` comments of a Rust source file,
/// without rustdoc's hidden lines. A code block ends with its comment.
fn doc_examples(source: &str) -> Vec<String> {
    let mut examples = Vec::new();
    let mut fence = Fence::Prose;
    for line in source.lines() {
        let Some(doc) = line.trim_start().strip_prefix("///") else {
            fence = Fence::Prose;
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if doc.starts_with("```") {
            fence = match std::mem::replace(&mut fence, Fence::Prose) {
                Fence::Rust(lines) => {
                    examples.push(lines.join("\n"));
                    Fence::Prose
                }
                Fence::Other => Fence::Prose,
                Fence::Prose if doc == "```" || doc == "```rust" => Fence::Rust(Vec::new()),
                Fence::Prose => Fence::Other,
            };
            continue;
        }
        if let Fence::Rust(lines) = &mut fence {
            if doc != "#" && !doc.starts_with("# ") {
                lines.push(doc);
            }
        }
    }
    examples
}

#[test]
fn doc_examples_skip_other_languages_and_hidden_lines() {
    let source = "/// ```text\n/// not rust\n/// ```\n/// prose\n/// ```\n/// let a = 1;\n/// # hidden\n/// ```\n";
    assert_eq!(doc_examples(source), ["let a = 1;"]);
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
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    for file in files {
        examples.extend(doc_examples(&read(&file)));
    }
    let blocks = markdown_rust_blocks(&guide);
    assert!(
        blocks.len() >= 20,
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
        "vm.register(",
        "register_with_context",
        "register_async",
        "register_future",
        "vm.complete",
        "Completer",
        "Event::HostCall",
        "to_value",
        "from_value",
        "FromValue",
        "IntoValue",
        "non_exhaustive",
        "vm.drive(step)",
        "Driven::Idle",
        "Methods for tools",
    ] {
        assert!(
            guide.contains(topic),
            "docs/EMBEDDING.md does not mention {topic}"
        );
    }
}
