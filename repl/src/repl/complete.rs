//! Tab completion: session variables, functions, builtins, modules and
//! their members (`list.<Tab>`), keywords, and `:commands`.
//!
//! The editor thread cannot look into the VM (the VM thread owns it), so
//! the VM thread keeps a snapshot of the names up to date after each
//! request, and completion reads that.

use std::sync::{Arc, Mutex};

use rustyline::completion::{FilenameCompleter, Pair};

use super::commands::COMMANDS;

/// The names completion offers, as of the last request.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// The session's variables.
    pub variables: Vec<String>,
    /// Functions defined in the session.
    pub functions: Vec<String>,
    /// Builtins (`print`) and module members (`list.map`).
    pub globals: Vec<String>,
}

pub type SharedNames = Arc<Mutex<Names>>;

/// The language's keywords (the compiler's one list).
pub use weft_compiler::KEYWORDS;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '?'
}

/// Completes `line` at byte offset `pos`: the start of the text to replace
/// and the candidates.
pub fn complete(
    names: &Names,
    files: &FilenameCompleter,
    line: &str,
    pos: usize,
) -> (usize, Vec<Pair>) {
    let before = &line[..pos];
    let trimmed = before.trim_start();
    // A command name, or a command's argument.
    if let Some(rest) = trimmed.strip_prefix(':') {
        let indent = before.len() - trimmed.len();
        match rest.split_once(' ') {
            None if rest.chars().all(|c| c.is_ascii_alphabetic()) => {
                let candidates = COMMANDS
                    .iter()
                    .filter(|(name, _, _)| name[1..].starts_with(rest))
                    .map(|(name, _, _)| pair(name, name))
                    .collect();
                return (indent, candidates);
            }
            Some((command, _)) if super::commands::find(command) == Some(":load") => {
                return files.complete_path(line, pos).unwrap_or((pos, Vec::new()));
            }
            Some((command, _)) if super::commands::find(command) == Some(":disasm") => {
                let start = before.rfind(' ').map_or(pos, |i| i + 1);
                let word = &before[start..];
                let mut candidates: Vec<String> = names
                    .functions
                    .iter()
                    .chain(&names.globals)
                    .filter(|n| n.starts_with(word))
                    .cloned()
                    .collect();
                candidates.sort();
                candidates.dedup();
                return (start, candidates.iter().map(|c| pair(c, c)).collect());
            }
            _ => {}
        }
    }
    // The word before the cursor: a name, or `module.prefix`.
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c) || *c == '.')
        .last()
        .map_or(pos, |(i, _)| i);
    let word = &before[start..];
    if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return (pos, Vec::new());
    }
    // An atom (`:ok`) or inside a string or comment: nothing to offer.
    if before[..start].ends_with(':') || super::highlight::in_string_or_comment(before) {
        return (pos, Vec::new());
    }
    let mut candidates: Vec<String> = Vec::new();
    if let Some((module, prefix)) = word.rsplit_once('.') {
        let qualified = format!("{module}.");
        for global in &names.globals {
            if let Some(member) = global.strip_prefix(&qualified) {
                if member.starts_with(prefix) && !member.contains('.') {
                    candidates.push(member.to_string());
                }
            }
        }
        candidates.sort();
        candidates.dedup();
        let start = pos - prefix.len();
        return (start, candidates.iter().map(|c| pair(c, c)).collect());
    }
    let modules = names
        .globals
        .iter()
        .filter_map(|g| g.split_once('.').map(|(m, _)| m));
    let builtins = names
        .globals
        .iter()
        .filter(|g| !g.contains('.'))
        .map(String::as_str);
    let all = names
        .variables
        .iter()
        .map(String::as_str)
        .chain(names.functions.iter().map(String::as_str))
        .chain(builtins)
        .chain(modules)
        .chain(KEYWORDS.iter().copied());
    for name in all {
        if name.starts_with(word) && !name.starts_with("__") {
            candidates.push(name.to_string());
        }
    }
    candidates.sort();
    candidates.dedup();
    (start, candidates.iter().map(|c| pair(c, c)).collect())
}

fn pair(display: &str, replacement: &str) -> Pair {
    Pair {
        display: display.to_string(),
        replacement: replacement.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            variables: vec!["total".into(), "tally".into()],
            functions: vec!["twice".into()],
            globals: vec![
                "list.map".into(),
                "list.reverse".into(),
                "print".into(),
                "string.trim".into(),
            ],
        }
    }

    fn offered(line: &str) -> (usize, Vec<String>) {
        let (start, pairs) = complete(&names(), &FilenameCompleter::new(), line, line.len());
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn completes_names_members_and_commands() {
        assert_eq!(
            offered("t"),
            (
                0,
                vec![
                    "tally".into(),
                    "total".into(),
                    "true".into(),
                    "try".into(),
                    "twice".into()
                ]
            )
        );
        assert_eq!(offered("x = list.re"), (9, vec!["reverse".into()]));
        assert_eq!(offered("list."), (5, vec!["map".into(), "reverse".into()]));
        assert_eq!(offered("pr"), (0, vec!["print".into()]));
        assert_eq!(offered("li"), (0, vec!["list".into()]));
        assert_eq!(offered(":d"), (0, vec![":disasm".into()]));
        assert_eq!(offered(":disasm tw"), (8, vec!["twice".into()]));
        assert!(offered(":ok").1.is_empty());
        assert!(offered("\"pr").1.is_empty());
        assert!(offered("# pr").1.is_empty());
        assert!(offered("12").1.is_empty());
    }
}
