//! The TextMate grammar of editors/vscode covers every `.weft` file in the
//! repository: tokenizing each line as an editor does (at each position the
//! leftmost match of the grammar's patterns, ties to the first pattern;
//! inside a string, its escapes until its end), no text gets an `invalid`
//! scope, and everything that is neither a name nor white space gets a
//! scope (so no operator, bracket or literal is left unhighlighted).

use std::path::{Path, PathBuf};

use fancy_regex::Regex;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A pattern: a single `match`, or a `begin`/`end` region with inner
/// patterns.
struct Rule {
    scope: String,
    regex: Regex,
    region: Option<(Regex, Vec<Rule>)>,
}

fn rules(patterns: &Value, repository: &Value) -> Vec<Rule> {
    let mut out = Vec::new();
    for pattern in patterns.as_array().expect("patterns") {
        if let Some(include) = pattern["include"].as_str() {
            let name = include.trim_start_matches('#');
            let entry = &repository[name];
            assert!(!entry.is_null(), "no repository entry {name}");
            if entry.get("patterns").is_some() && entry.get("begin").is_none() {
                out.extend(rules(&entry["patterns"], repository));
            } else {
                out.push(rule(entry, repository));
            }
        } else if pattern.get("patterns").is_some() && pattern.get("begin").is_none() {
            out.extend(rules(&pattern["patterns"], repository));
        } else {
            out.push(rule(pattern, repository));
        }
    }
    out
}

fn rule(entry: &Value, repository: &Value) -> Rule {
    let scope = entry["name"].as_str().unwrap_or("").to_string();
    let compile = |text: &str| Regex::new(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    if let Some(begin) = entry["begin"].as_str() {
        let end = compile(entry["end"].as_str().expect("end"));
        let inner = entry
            .get("patterns")
            .map_or_else(Vec::new, |p| rules(p, repository));
        Rule {
            scope,
            regex: compile(begin),
            region: Some((end, inner)),
        }
    } else {
        let text = entry["match"].as_str().expect("match or begin");
        let mut scope = scope;
        if scope.is_empty() {
            // A rule scoped through its captures.
            scope = entry["captures"]
                .as_object()
                .and_then(|c| c.values().next())
                .and_then(|c| c["name"].as_str())
                .unwrap_or("")
                .to_string();
        }
        Rule {
            scope,
            regex: compile(text),
            region: None,
        }
    }
}

/// The leftmost match of any rule at or after `at` (ties: the first rule).
fn first_match<'r>(rules: &'r [Rule], line: &str, at: usize) -> Option<(usize, usize, &'r Rule)> {
    let mut best: Option<(usize, usize, &Rule)> = None;
    for rule in rules {
        if let Ok(Some(m)) = rule.regex.find_from_pos(line, at) {
            if m.end() > m.start() && best.is_none_or(|(s, _, _)| m.start() < s) {
                best = Some((m.start(), m.end(), rule));
            }
        }
    }
    best
}

/// Checks one line; returns a complaint, if any.
fn check_line(rules: &[Rule], line: &str) -> Option<String> {
    let mut at = 0;
    let uncovered = |text: &str| {
        text.chars()
            .find(|c| !(c.is_whitespace() || c.is_alphanumeric() || *c == '_' || *c == '?'))
    };
    while at < line.len() {
        let Some((start, end, rule)) = first_match(rules, line, at) else {
            return uncovered(&line[at..]).map(|c| format!("`{c}` has no scope"));
        };
        if let Some(c) = uncovered(&line[at..start]) {
            return Some(format!("`{c}` has no scope"));
        }
        if rule.scope.starts_with("invalid") {
            return Some(format!("`{}` is {}", &line[start..end], rule.scope));
        }
        at = end;
        if let Some((end_regex, inner)) = &rule.region {
            // Inside the region: inner patterns until its end.
            loop {
                let close = end_regex.find_from_pos(line, at).ok().flatten();
                let close_at = close.as_ref().map_or(line.len(), |m| m.start());
                match first_match(inner, line, at) {
                    Some((s, e, r)) if s < close_at => {
                        if r.scope.starts_with("invalid") {
                            return Some(format!("`{}` is {}", &line[s..e], r.scope));
                        }
                        at = e;
                    }
                    _ => {
                        at = close.map_or(line.len(), |m| m.end().max(close_at));
                        break;
                    }
                }
            }
        }
    }
    None
}

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

#[test]
fn the_textmate_grammar_scopes_every_line_of_every_weft_file() {
    let text = std::fs::read_to_string(root().join("editors/vscode/syntaxes/weft.tmLanguage.json"))
        .expect("the grammar");
    let grammar: Value = serde_json::from_str(&text).expect("the grammar is JSON");
    assert_eq!(grammar["scopeName"], "source.weft");
    let rules = rules(&grammar["patterns"], &grammar["repository"]);
    let mut files = Vec::new();
    for dir in ["tests", "examples", "bench"] {
        weft_files(&root().join(dir), &mut files);
    }
    let mut checked = 0;
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        // An editor drops a byte-order mark when it loads the file.
        let source = source
            .strip_prefix('\u{FEFF}')
            .unwrap_or(&source)
            .to_string();
        // Files that test lexical errors on purpose hold what no grammar
        // should accept.
        if weft_compiler::format::format(&source).is_err() {
            continue;
        }
        for (number, line) in source.lines().enumerate() {
            if let Some(problem) = check_line(&rules, line) {
                let shown: String = line.chars().take(200).collect();
                panic!("{}:{}: {problem}\n{shown}", file.display(), number + 1);
            }
        }
        checked += 1;
    }
    assert!(checked > 100, "only {checked} files");
}

#[test]
fn the_textmate_grammar_finds_what_it_should() {
    let text = std::fs::read_to_string(root().join("editors/vscode/syntaxes/weft.tmLanguage.json"))
        .unwrap();
    let grammar: Value = serde_json::from_str(&text).unwrap();
    let rules = rules(&grammar["patterns"], &grammar["repository"]);
    let scope_at = |line: &str, needle: &str| {
        let at = line.find(needle).unwrap();
        let (start, _, rule) = first_match(&rules, line, at).unwrap();
        assert_eq!(start, at, "{needle} in {line}");
        rule.scope.clone()
    };
    assert_eq!(
        scope_at("receive { (:ok, x) => x }", "receive"),
        "keyword.control.weft"
    );
    assert_eq!(
        scope_at("receive { (:ok, x) => x }", ":ok"),
        "constant.other.symbol.weft"
    );
    assert_eq!(
        scope_at("fn worker(log) { nil }", "fn"),
        "keyword.declaration.function.weft"
    );
    assert_eq!(
        scope_at("let s = \"a\\q\" # note", "# note"),
        "comment.line.number-sign.weft"
    );
    assert!(
        check_line(&rules, "let s = \"a\\q\"").is_some(),
        "a bad escape is invalid"
    );
    assert_eq!(
        scope_at("ch <- pid ! 1", "<-"),
        "keyword.operator.channel.weft"
    );
    // A quoted atom is an atom (a symbol scope), not a `:` and a string.
    let call = "receive { (:\"$gen_call\", from, r) => r }";
    assert_eq!(
        scope_at(call, ":\"$gen_call\""),
        "constant.other.symbol.quoted.weft"
    );
    assert!(check_line(&rules, call).is_none());
    let spaced = "let greeting = :\"hello world\"";
    assert_eq!(
        scope_at(spaced, ":\"hello"),
        "constant.other.symbol.quoted.weft"
    );
    assert!(check_line(&rules, "x ! (:\"a\\\"b\\u{e9}\\n\", :\"\")").is_none());
    assert!(
        check_line(&rules, "let a = :\"a\\q\"").is_some(),
        "a bad escape in a quoted atom is invalid"
    );
}
