//! Hover text for the standard functions, read from docs/STDLIB.md (built
//! into the binary), so the editor shows what the reference says.

use std::collections::HashMap;
use std::sync::OnceLock;

const STDLIB_MD: &str = include_str!("../../../docs/STDLIB.md");

/// An entry: its heading's signature and the prose under it (without the
/// example code).
pub struct Entry {
    pub signature: String,
    pub text: String,
}

/// The entry for `module.member` (as `list.map`), if the reference has one.
pub fn entry(qualified: &str) -> Option<&'static Entry> {
    static ENTRIES: OnceLock<HashMap<String, Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| parse(STDLIB_MD)).get(qualified)
}

/// Headings `### \`name(args)\`` (or `### \`name\`` for a constant), each
/// followed by paragraphs and a fenced example.
fn parse(markdown: &str) -> HashMap<String, Entry> {
    let mut entries = HashMap::new();
    let mut current: Option<(String, String, Vec<String>)> = None;
    let mut in_code = false;
    let mut finish = |current: &mut Option<(String, String, Vec<String>)>| {
        if let Some((name, signature, lines)) = current.take() {
            let text = lines.join("\n").trim().to_string();
            entries.entry(name).or_insert(Entry { signature, text });
        }
    };
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if let Some(heading) = line.strip_prefix("### `") {
            finish(&mut current);
            let signature = heading.trim_end().trim_end_matches('`').to_string();
            let name = signature
                .split('(')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            current = Some((name, signature, Vec::new()));
        } else if line.starts_with("#") {
            finish(&mut current);
        } else if let Some((_, _, lines)) = &mut current {
            lines.push(line.to_string());
        }
    }
    finish(&mut current);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_function_in_the_reference_has_an_entry() {
        let map = entry("list.map").expect("list.map");
        assert_eq!(map.signature, "list.map(xs, f)");
        assert!(map.text.contains("f(x)"), "{}", map.text);
        assert!(entry("string.split").is_some());
        assert!(entry("list.nothing").is_none());
    }
}
