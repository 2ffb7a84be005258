//! Syntax highlighting for the line being edited.
//!
//! A small hand scanner rather than the compiler's lexer: it must work on
//! unfinished input (an open string, half a number), keep comments (the
//! lexer drops them), and never fail. It only classifies; the compiler
//! decides what is valid.

use super::commands::is_command;
use super::complete::KEYWORDS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Keyword,
    /// `true`, `false`, `nil`.
    Constant,
    Number,
    String,
    Atom,
    Comment,
    /// A `:command` at the start of the line.
    Command,
    Open,
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub class: Class,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The tokens worth colouring, in order. Everything between them is plain.
pub fn scan(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let n = b.len();
    let mut tokens = Vec::new();
    let mut i = 0;
    let leading = n - text.trim_start().len();
    if is_command(text) {
        let mut j = leading + 1;
        while j < n && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        tokens.push(Token {
            start: leading,
            end: j,
            class: Class::Command,
        });
        i = j;
    }
    while i < n {
        let c = b[i];
        let start = i;
        let class = match c {
            b'#' => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
                Class::Comment
            }
            b'"' => {
                i = string_end(text, i);
                Class::String
            }
            // A quoted atom (`:"$gen_call"`): a string's scan, one byte on.
            b':' if i + 1 < n && b[i + 1] == b'"' => {
                i = string_end(text, i + 1);
                Class::Atom
            }
            b':' if i + 1 < n && (b[i + 1].is_ascii_alphabetic() || b[i + 1] == b'_') => {
                i += 1;
                while i < n && is_name_byte(b[i]) {
                    i += 1;
                }
                if i < n && b[i] == b'?' {
                    i += 1;
                }
                Class::Atom
            }
            b'0'..=b'9' => {
                i = number_end(b, i);
                Class::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < n && is_name_byte(b[i]) {
                    i += 1;
                }
                if i < n && b[i] == b'?' {
                    i += 1;
                }
                let word = &text[start..i];
                if matches!(word, "true" | "false" | "nil") {
                    Class::Constant
                } else if KEYWORDS.contains(&word) {
                    Class::Keyword
                } else {
                    continue;
                }
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                Class::Open
            }
            b')' | b']' | b'}' => {
                i += 1;
                Class::Close
            }
            _ => {
                i += 1;
                continue;
            }
        };
        tokens.push(Token {
            start,
            end: i,
            class,
        });
    }
    tokens
}

/// Where the string whose opening `"` is at `i` ends: after its closing
/// `"`, or at the end of the text if it has none.
fn string_end(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    let n = b.len();
    i += 1;
    while i < n {
        match b[i] {
            // Skip the escaped character whole (it may be multi-byte).
            b'\\' => i = (i + 1) + text[i + 1..].chars().next().map_or(0, char::len_utf8),
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    n
}

/// Where a number starting at `i` ends: `42`, `1_000`, `0xff`, `0b1010`,
/// `1.5`, `2.0e-3`, `1e9`; `0..10` is `0`, `..`, `10`.
fn number_end(b: &[u8], mut i: usize) -> usize {
    let n = b.len();
    if b[i] == b'0' && i + 1 < n && matches!(b[i + 1], b'x' | b'X' | b'b' | b'B') {
        i += 2;
        while i < n && (b[i].is_ascii_hexdigit() || b[i] == b'_') {
            i += 1;
        }
        return i;
    }
    while i < n && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    if i + 1 < n && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < n && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    if i < n && matches!(b[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < n && matches!(b[j], b'+' | b'-') {
            j += 1;
        }
        if j < n && b[j].is_ascii_digit() {
            i = j;
            while i < n && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// Does `text` end inside a string or a comment (no completion there)?
pub fn in_string_or_comment(text: &str) -> bool {
    scan(text).last().is_some_and(|t| {
        t.end == text.len() && matches!(t.class, Class::Comment) || unterminated_string(text, t)
    })
}

fn unterminated_string(text: &str, token: &Token) -> bool {
    if token.end != text.len() {
        return false;
    }
    // A string, or a quoted atom's string (after its `:`).
    let body = match token.class {
        Class::String => &text[token.start..token.end],
        Class::Atom if text[token.start..].starts_with(":\"") => &text[token.start + 1..token.end],
        _ => return false,
    };
    // `"` alone, or no closing quote (an escaped quote does not close).
    body.len() == 1 || !body.ends_with('"') || {
        let backslashes = body[..body.len() - 1]
            .bytes()
            .rev()
            .take_while(|&b| b == b'\\')
            .count();
        backslashes % 2 == 1
    }
}

/// Is the entry only spaces and comments (nothing to evaluate)?
pub fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
        || scan(text).iter().all(|t| t.class == Class::Comment) && {
            // Anything outside the comments?
            let mut rest = String::new();
            let mut at = 0;
            for token in scan(text) {
                rest.push_str(&text[at..token.start]);
                at = token.end;
            }
            rest.push_str(&text[at..]);
            rest.trim().is_empty()
        }
}

/// For each bracket token, the index of its partner (None if unmatched).
fn pairs(tokens: &[Token], text: &str) -> Vec<Option<usize>> {
    let mut partner = vec![None; tokens.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token.class {
            Class::Open => stack.push(i),
            Class::Close => {
                if let Some(&open) = stack.last() {
                    if closes(
                        text.as_bytes()[tokens[open].start],
                        text.as_bytes()[token.start],
                    ) {
                        stack.pop();
                        partner[open] = Some(i);
                        partner[i] = Some(open);
                    }
                }
            }
            _ => {}
        }
    }
    partner
}

fn closes(open: u8, close: u8) -> bool {
    matches!((open, close), (b'(', b')') | (b'[', b']') | (b'{', b'}'))
}

const RESET: &str = "\x1b[0m";

fn color(class: Class) -> Option<&'static str> {
    Some(match class {
        Class::Keyword => "\x1b[35m",
        Class::Constant | Class::Number => "\x1b[33m",
        Class::String => "\x1b[32m",
        Class::Atom => "\x1b[36m",
        Class::Comment => "\x1b[90m",
        Class::Command => "\x1b[1m",
        Class::Open | Class::Close => return None,
    })
}

/// The line with ANSI colours. With `cursor`, the bracket under or just
/// before the cursor has its partner shown in bold blue; a closing bracket
/// with no partner is red.
pub fn highlight(text: &str, cursor: Option<usize>) -> String {
    let tokens = scan(text);
    let partner = pairs(&tokens, text);
    let mut matched = None;
    if let Some(pos) = cursor {
        let at = |p: usize| {
            tokens
                .iter()
                .position(|t| matches!(t.class, Class::Open | Class::Close) && t.start == p)
        };
        let here = at(pos).or_else(|| pos.checked_sub(1).and_then(at));
        matched = here.and_then(|i| partner[i]);
    }
    let mut out = String::with_capacity(text.len() + 16 * tokens.len());
    let mut at = 0;
    for (i, token) in tokens.iter().enumerate() {
        out.push_str(&text[at..token.start]);
        let piece = &text[token.start..token.end];
        let style = if Some(i) == matched {
            Some("\x1b[1;34m")
        } else if token.class == Class::Close && partner[i].is_none() {
            Some("\x1b[31m")
        } else {
            color(token.class)
        };
        match style {
            Some(style) => {
                out.push_str(style);
                out.push_str(piece);
                out.push_str(RESET);
            }
            None => out.push_str(piece),
        }
        at = token.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(text: &str) -> Vec<(&str, Class)> {
        scan(text)
            .into_iter()
            .map(|t| (&text[t.start..t.end], t.class))
            .collect()
    }

    #[test]
    fn scans_the_token_classes() {
        assert_eq!(
            classes(r#"let x = "a\"b" # note"#),
            vec![
                ("let", Class::Keyword),
                ("\"a\\\"b\"", Class::String),
                ("# note", Class::Comment)
            ]
        );
        assert_eq!(
            classes("for i in 0..10 { :ok }"),
            vec![
                ("for", Class::Keyword),
                ("in", Class::Keyword),
                ("0", Class::Number),
                ("10", Class::Number),
                ("{", Class::Open),
                (":ok", Class::Atom),
                ("}", Class::Close),
            ]
        );
        assert_eq!(
            classes("1.5e-3 0xff nil"),
            vec![
                ("1.5e-3", Class::Number),
                ("0xff", Class::Number),
                ("nil", Class::Constant)
            ]
        );
        assert_eq!(
            classes(r#"(:"$gen_call", :"a \"b\"", :ok) "s""#),
            vec![
                ("(", Class::Open),
                (r#":"$gen_call""#, Class::Atom),
                (r#":"a \"b\"""#, Class::Atom),
                (":ok", Class::Atom),
                (")", Class::Close),
                ("\"s\"", Class::String),
            ]
        );
        assert_eq!(classes(":help"), vec![(":help", Class::Command)]);
        assert_eq!(
            classes("\"open # not a comment"),
            vec![("\"open # not a comment", Class::String)]
        );
    }

    #[test]
    fn highlights_keep_the_text() {
        let text = "fn f(x) { [x, \"s\", :a, 1] } # c";
        let shown = highlight(text, Some(6));
        let plain: String = strip(&shown);
        assert_eq!(plain, text);
        // The `(` before the cursor at 6 is `)`'s partner.
        assert!(shown.contains("\x1b[1;34m(\x1b[0m"));
        assert!(highlight("x)", None).contains("\x1b[31m)"));
    }

    #[test]
    fn blank_and_open_strings() {
        assert!(is_blank("  # just a comment"));
        assert!(!is_blank("1 # one"));
        assert!(in_string_or_comment("print(\"ab"));
        assert!(!in_string_or_comment("print(\"ab\")"));
        assert!(in_string_or_comment("1 # pr"));
        assert!(in_string_or_comment(":\"hello wor"));
        assert!(in_string_or_comment(":\""));
        assert!(in_string_or_comment(r#"x = :"a\""#));
        assert!(!in_string_or_comment(":\"hello world\""));
        assert!(!in_string_or_comment(":ok"));
    }

    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
