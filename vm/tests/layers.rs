//! The VM's layers, checked from the source: each folder of `vm/src` is a
//! layer, and a module may name only modules of its own layer or of the
//! layers below it (ARCHITECTURE.md, "The vm crate's layers"):
//!
//! ```text
//! data < process < runtime < interp < natives < host < lib.rs
//! ```
//!
//! The test reads every `.rs` file under `vm/src`, finds every path it
//! names through `crate::` or `super::` (comments and strings aside), and
//! fails naming each reference that goes up a layer. It also builds the
//! graph of which file names which and checks that no circle of files
//! spans two layers (a circle inside one layer is allowed, and the largest
//! is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first; `lib.rs` (the crate root) is above them all.
const LAYERS: [&str; 6] = ["data", "process", "runtime", "interp", "natives", "host"];

fn rank(file: &str) -> usize {
    let top = file.split('/').next().unwrap_or("");
    LAYERS
        .iter()
        .position(|l| *l == top)
        .unwrap_or(LAYERS.len())
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
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap().to_string_lossy();
            out.push(relative.replace('\\', "/"));
        }
    }
}

/// The code of a file without comments, string literals and tests: what
/// the compiler reads as paths.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("#[cfg(test)]") {
            // Unit tests may reach anywhere; they are not part of a layer.
            break;
        }
        let skip = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            rest.find("*/").map_or(rest.len(), |n| n + 2)
        } else if let Some(raw) = rest.strip_prefix("r#\"") {
            3 + raw.find("\"#").map_or(raw.len(), |n| n + 2)
        } else if rest.starts_with("'\"'") {
            3
        } else if let Some(quoted) = rest.strip_prefix('"') {
            let mut end = 1;
            let mut chars = quoted.char_indices();
            while let Some((at, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        end = at + 2;
                        break;
                    }
                    _ => end = rest.len(),
                }
            }
            end
        } else {
            0
        };
        if skip > 0 {
            i += skip;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The module path a file is (`data/value.rs` is `data::value`,
/// `process/mod.rs` is `process`, `lib.rs` is the root).
fn module_of(file: &str) -> Vec<String> {
    let trimmed = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = trimmed.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The file that defines the module path `path` names, or its longest
/// prefix that is a module (`data::value::Value` is `data/value.rs`).
fn file_of(path: &[String], files: &BTreeMap<Vec<String>, String>) -> Option<String> {
    (0..=path.len())
        .rev()
        .find_map(|n| files.get(&path[..n]).cloned())
}

/// Every path a file names: `crate::a::b::C`, `super::x`, and the paths
/// inside `use crate::{a::B, c::{self, D}}` groups, expanded.
fn paths(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let words: Vec<char> = code.chars().collect();
    let text: String = words.iter().collect();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = text[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            // Not part of a longer name (`my_crate::`).
            if at > 0 {
                let before = text[..at].chars().last().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' {
                    continue;
                }
            }
            let base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                // `super` of `natives/list.rs` is `natives`; of a `mod.rs`,
                // the folder's parent.
                me[..me.len().saturating_sub(1)].to_vec()
            };
            expand(&text[from..], base, &mut found);
        }
    }
    found
}

/// Reads a path (or a brace group of paths) at the start of `rest`.
fn expand(rest: &str, base: Vec<String>, found: &mut Vec<Vec<String>>) {
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let inner = &group[..end];
        let mut depth = 0;
        let mut item_start = 0;
        for (i, c) in inner.char_indices().chain([(inner.len(), ',')]) {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    let item = inner[item_start..i].trim();
                    if item == "self" {
                        found.push(base.clone());
                    } else if !item.is_empty() {
                        expand(item, base.clone(), found);
                    }
                    item_start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let mut path = base;
    let mut text = rest;
    loop {
        let name: String = text
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            break;
        }
        text = &text[name.len()..];
        if name != "self" {
            path.push(name);
        }
        if let Some(after) = text.strip_prefix("::") {
            if after.starts_with('{') {
                return expand(after, path, found);
            }
            text = after;
        } else {
            break;
        }
    }
    if !path.is_empty() {
        found.push(path);
    }
}

struct Graph {
    files: Vec<String>,
    /// file -> the files it names, with one path each for the message.
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    let modules: BTreeMap<Vec<String>, String> =
        files.iter().map(|f| (module_of(f), f.clone())).collect();
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let me = module_of(file);
        let mut named = BTreeMap::new();
        for path in paths(&code_only(&text), &me) {
            if let Some(target) = file_of(&path, &modules) {
                if &target != file {
                    named
                        .entry(target)
                        .or_insert_with(|| format!("crate::{}", path.join("::")));
                }
            }
        }
        edges.insert(file.clone(), named);
    }
    Graph { files, edges }
}

#[test]
fn no_module_names_a_layer_above_its_own() {
    let graph = graph();
    let mut upward = Vec::new();
    for (file, named) in &graph.edges {
        for (target, path) in named {
            if rank(target) > rank(file) {
                upward.push(format!("{file} names {path} ({target}, a layer above)"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "{} upward imports:\n  {}",
        upward.len(),
        upward.join("\n  ")
    );
}

/// Tarjan's strongly connected components, iteratively.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    let index_of: BTreeMap<&String, usize> = graph
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f, i))
        .collect();
    let successors: Vec<Vec<usize>> = graph
        .files
        .iter()
        .map(|f| graph.edges[f].keys().map(|t| index_of[t]).collect())
        .collect();
    let n = graph.files.len();
    let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut next, mut found) = (Vec::new(), 0, Vec::new());
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if *child < successors[v].len() {
                let w = successors[v][*child];
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(graph.files[w].clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    found.push(component);
                }
            }
        }
    }
    found
}

#[test]
fn no_circle_of_imports_spans_two_layers() {
    let graph = graph();
    let circles = circles(&graph);
    let spanning: Vec<&Vec<String>> = circles
        .iter()
        .filter(|c| c.iter().map(|f| rank(f)).collect::<BTreeSet<_>>().len() > 1)
        .collect();
    let largest = circles.iter().max_by_key(|c| c.len());
    eprintln!(
        "the largest circle of imports left: {} files: {:?}",
        largest.map_or(0, |c| c.len()),
        largest
    );
    assert!(
        spanning.is_empty(),
        "circles across layers:\n  {}",
        spanning
            .iter()
            .map(|c| c.join(" -> "))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// The test itself: an upward import is caught, a downward one is not, and
/// `super::` and brace groups are read.
#[test]
fn the_reader_sees_paths_as_the_compiler_does() {
    let me = module_of("natives/list.rs");
    let code = code_only(
        "use crate::{data::value::{self, Value}, host::api};\n\
         // crate::host::ignored\n\
         let s = \"crate::host::in_a_string\";\n\
         use super::Ctx;\n",
    );
    let found: Vec<String> = paths(&code, &me).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        [
            "data::value",
            "data::value::Value",
            "host::api",
            "natives::Ctx"
        ]
    );
    assert!(rank("host/api.rs") > rank("natives/list.rs"));
    assert!(rank("data/value.rs") < rank("natives/list.rs"));
    assert_eq!(rank("lib.rs"), LAYERS.len());
}
