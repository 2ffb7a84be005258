//! The lexer: source text to the token stream the parser reads.
//!
//! Invariants:
//! - Every token carries the byte span it was read from; spans never overlap
//!   and are in increasing order.
//! - A lexical error (bad character, unterminated string, unknown escape,
//!   number out of range) is recorded as a diagnostic and lexing goes on, so
//!   one run reports every lexical error; the parser still gets a token for
//!   the bad string or number so it can report what follows.
//! - `Newline` tokens follow Go's rule (LANGUAGE.md §1): one is produced only
//!   after a token that can end an expression. Inside `(`, `[` and `%{`
//!   newlines are never significant (as in Python), so a call's arguments or
//!   a list may span lines freely; inside `{` blocks the rule applies again.
//!   A newline right before `else` is dropped so `}` / `else {` may sit on
//!   separate lines.
//! - At most `parser::MAX_NESTING` brackets are open at once: past that the
//!   lexer reports the bracket and stops (`Lexed::too_deep`), so no later
//!   pass sees deeper nesting from brackets.
//! - At most `codegen::MAX_ERRORS` lexical errors are recorded; the rest are
//!   only counted (`Lexed::skipped`), so garbage input costs linear time
//!   and memory.

use bumpalo::Bump;
use logos::Logos;

use crate::diagnostic::{Diagnostic, Span};

/// A token as the parser sees it. String and identifier text lives in the
/// source or in the arena, so tokens are `Copy`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tok<'a> {
    Ident(&'a str),
    Atom(&'a str),
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// A bytes literal's bytes (`b"..."`, escapes decoded).
    Bytes(&'a [u8]),
    // Keywords.
    Fn,
    Let,
    If,
    Else,
    While,
    Loop,
    For,
    In,
    Break,
    Continue,
    Return,
    Match,
    Receive,
    After,
    Select,
    Spawn,
    SpawnLink,
    True,
    False,
    Nil,
    And,
    Or,
    Not,
    Import,
    As,
    Try,
    // Punctuation and operators.
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    MapOpen,
    Comma,
    Semi,
    Newline,
    Dot,
    DotDot,
    Arrow,
    Caret,
    Assign,
    PlusAssign,
    MinusAssign,
    StarAssign,
    SlashAssign,
    PercentAssign,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    PlusPlus,
    EqEq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Bang,
    LArrow,
}

impl Tok<'_> {
    /// Go's rule: can this token end an expression (and so a statement)?
    pub(crate) fn ends_expression(&self) -> bool {
        matches!(
            self,
            Tok::Ident(_)
                | Tok::Atom(_)
                | Tok::Int(_)
                | Tok::Float(_)
                | Tok::Str(_)
                | Tok::Bytes(_)
                | Tok::RParen
                | Tok::RBracket
                | Tok::RBrace
                | Tok::Break
                | Tok::Continue
                | Tok::Return
                | Tok::Nil
                | Tok::True
                | Tok::False
        )
    }

    /// How the token is written, for "expected one of" messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("name `{s}`"),
            Tok::Atom(s) => format!("atom `:{s}`"),
            Tok::Int(n) => format!("number `{n}`"),
            Tok::Float(f) => format!("number `{f:?}`"),
            Tok::Str(_) => "a string".to_string(),
            Tok::Bytes(_) => "a bytes literal".to_string(),
            Tok::Newline => "end of line".to_string(),
            other => format!("`{}`", other.text()),
        }
    }

    fn text(&self) -> &'static str {
        match self {
            Tok::Fn => "fn",
            Tok::Let => "let",
            Tok::If => "if",
            Tok::Else => "else",
            Tok::While => "while",
            Tok::Loop => "loop",
            Tok::For => "for",
            Tok::In => "in",
            Tok::Break => "break",
            Tok::Continue => "continue",
            Tok::Return => "return",
            Tok::Match => "match",
            Tok::Receive => "receive",
            Tok::After => "after",
            Tok::Select => "select",
            Tok::Spawn => "spawn",
            Tok::SpawnLink => "spawn_link",
            Tok::True => "true",
            Tok::False => "false",
            Tok::Nil => "nil",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Not => "not",
            Tok::Import => "import",
            Tok::As => "as",
            Tok::Try => "try",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::MapOpen => "%{",
            Tok::Comma => ",",
            Tok::Semi => ";",
            Tok::Newline => "newline",
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::Arrow => "=>",
            Tok::Caret => "^",
            Tok::Assign => "=",
            Tok::PlusAssign => "+=",
            Tok::MinusAssign => "-=",
            Tok::StarAssign => "*=",
            Tok::SlashAssign => "/=",
            Tok::PercentAssign => "%=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::PlusPlus => "++",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::LtEq => "<=",
            Tok::Gt => ">",
            Tok::GtEq => ">=",
            Tok::Bang => "!",
            Tok::LArrow => "<-",
            Tok::Ident(_)
            | Tok::Atom(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Str(_)
            | Tok::Bytes(_) => "",
        }
    }
}

/// An atom as source writes it: `:name` when the name is the atom token's
/// `[A-Za-z_][A-Za-z0-9_]*` with an optional `?` at the end, else quoted
/// with the string escapes (`:"$gen_call"`), as Elixir writes it.
pub fn atom_source(name: &str) -> String {
    if is_plain_atom(name) {
        return format!(":{name}");
    }
    let mut out = String::from(":\"");
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Bytes as a literal reads them: `b"..."`, printable ASCII as it is
/// except `"` and `\\`, and those and every other byte as `\xNN`
/// (lowercase), as LANGUAGE.md §2 words it ("escape `"`, `\\` and every
/// byte outside printable ASCII as lowercase `\xNN`"). The printer and
/// `weft disasm` both write bytes with it.
pub fn write_bytes_source(out: &mut String, b: &[u8]) {
    use std::fmt::Write;
    out.push_str("b\"");
    for &x in b {
        match x {
            0x20..=0x7e if x != b'"' && x != b'\\' => out.push(x as char),
            _ => {
                let _ = write!(out, "\\x{x:02x}");
            }
        }
    }
    out.push('"');
}

/// Whether an atom's name is written bare (`:ok`, `:empty?`).
pub fn is_plain_atom(name: &str) -> bool {
    let body = name.strip_suffix('?').unwrap_or(name);
    let mut chars = body.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The longest atom name, in characters (Erlang's limit, so an atom can
/// always cross to another node).
const MAX_ATOM_CHARS: usize = 255;

/// The raw tokens logos recognises; `lex` turns them into `Tok`s with values.
#[derive(Logos, Clone, Copy, Debug, PartialEq)]
#[logos(skip r"[ \t\r\f]+")]
#[logos(skip(r"#[^\n]*", allow_greedy = true))]
enum Raw {
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*\??")]
    Ident,
    #[regex(r":[A-Za-z_][A-Za-z0-9_]*\??")]
    Atom,
    #[regex(r"[0-9][0-9_]*")]
    Decimal,
    #[regex(r"0[xX][0-9a-fA-F_]+")]
    Hex,
    #[regex(r"0[bB][01_]+")]
    Binary,
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9]+)?")]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9]+")]
    Float,
    /// A string's opening quote; the callback finds its end.
    #[token("\"", string_end)]
    Str,
    /// A bytes literal's opening `b"`; the callback finds its end.
    #[token("b\"", string_end)]
    Bytes,
    /// A quoted atom's opening `:"` (`:"$gen_call"`, as Elixir writes an
    /// atom that is not a name); the callback finds its end.
    #[token(":\"", string_end)]
    QuotedAtom,
    #[token("\n")]
    Newline,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("%{")]
    MapOpen,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("=>")]
    Arrow,
    #[token("^")]
    Caret,
    #[token("=")]
    Assign,
    #[token("+=")]
    PlusAssign,
    #[token("-=")]
    MinusAssign,
    #[token("*=")]
    StarAssign,
    #[token("/=")]
    SlashAssign,
    #[token("%=")]
    PercentAssign,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("++")]
    PlusPlus,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    LtEq,
    #[token(">")]
    Gt,
    #[token(">=")]
    GtEq,
    #[token("!")]
    Bang,
    #[token("<-")]
    LArrow,
}

/// Moves the lexer past the string's closing quote or, if there is none, to
/// the end of the line; `lex` then sees whether the quote was found.
fn string_end(lex: &mut logos::Lexer<Raw>) {
    let rest = lex.remainder().as_bytes();
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'\\' => i += 2,
            b'"' => {
                lex.bump(i + 1);
                return;
            }
            b'\n' => break,
            _ => i += 1,
        }
    }
    lex.bump(i.min(rest.len()));
}

/// A token with its byte span.
pub type Spanned<'a> = (usize, Tok<'a>, usize);

/// The keywords, written once: the lexer's lookup and the public list
/// (`KEYWORDS`, for completion, highlighting and the language server) are
/// both made from this table.
macro_rules! keywords {
    ($($text:literal => $token:ident,)*) => {
        /// Every keyword of the language, in the lexer's order.
        pub const KEYWORDS: &[&str] = &[$($text),*];

        fn keyword(word: &str) -> Option<Tok<'static>> {
            Some(match word {
                $($text => Tok::$token,)*
                _ => return None,
            })
        }
    };
}

keywords! {
    "fn" => Fn,
    "let" => Let,
    "if" => If,
    "else" => Else,
    "while" => While,
    "loop" => Loop,
    "for" => For,
    "in" => In,
    "break" => Break,
    "continue" => Continue,
    "return" => Return,
    "match" => Match,
    "receive" => Receive,
    "after" => After,
    "select" => Select,
    "spawn" => Spawn,
    "spawn_link" => SpawnLink,
    "true" => True,
    "false" => False,
    "nil" => Nil,
    "and" => And,
    "or" => Or,
    "not" => Not,
    "import" => Import,
    "as" => As,
    "try" => Try,
}

/// What `lex` produced besides the tokens.
#[derive(Debug, Default)]
pub struct Lexed {
    /// Lexical errors found but not recorded (past `MAX_ERRORS`).
    pub skipped: usize,
    /// Brackets nested deeper than `MAX_NESTING`: lexing stopped there.
    pub too_deep: bool,
}

/// Lexes `source` into tokens, applying the newline rule. Errors are pushed
/// onto `diagnostics`; the token stream is still complete enough to parse.
pub fn lex<'a>(
    source: &'a str,
    arena: &'a Bump,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Spanned<'a>> {
    lex_with(source, arena, diagnostics, &mut Lexed::default())
}

/// `lex`, also reporting skipped errors and a nesting overflow.
pub fn lex_with<'a>(
    source: &'a str,
    arena: &'a Bump,
    diagnostics: &mut Vec<Diagnostic>,
    lexed: &mut Lexed,
) -> Vec<Spanned<'a>> {
    let start = diagnostics.len();
    let tokens = lex_tokens(source, arena, diagnostics, lexed);
    let recorded = diagnostics.len() - start;
    if recorded > crate::codegen::MAX_ERRORS {
        lexed.skipped += recorded - crate::codegen::MAX_ERRORS;
        diagnostics.truncate(start + crate::codegen::MAX_ERRORS);
    }
    tokens
}

fn lex_tokens<'a>(
    source: &'a str,
    arena: &'a Bump,
    all_diagnostics: &mut Vec<Diagnostic>,
    lexed: &mut Lexed,
) -> Vec<Spanned<'a>> {
    // Errors go to a local list that stops growing at the cap (the rest are
    // counted), so a megabyte of bad characters stays cheap.
    let mut collected: Vec<Diagnostic> = Vec::new();
    let diagnostics = &mut collected;
    let mut tokens: Vec<Spanned<'a>> = Vec::new();
    // The open brackets; `true` for `{` (newlines significant inside).
    let mut brackets: Vec<bool> = Vec::new();
    let mut pending_newline: Option<(usize, usize)> = None;
    let mut lexer = Raw::lexer(source);
    // A UTF-8 byte-order mark some editors write at the start of a file is
    // not part of the program (as Python, Go and rustc skip it); spans keep
    // counting from the file's first byte.
    if source.starts_with('\u{FEFF}') {
        lexer.bump('\u{FEFF}'.len_utf8());
    }
    while let Some(raw) = lexer.next() {
        let span = lexer.span();
        let text = lexer.slice();
        if diagnostics.len() > crate::codegen::MAX_ERRORS {
            lexed.skipped += diagnostics.len() - crate::codegen::MAX_ERRORS;
            diagnostics.truncate(crate::codegen::MAX_ERRORS);
        }
        let raw = match raw {
            Ok(raw) => raw,
            Err(()) => {
                let ch = text.chars().next().unwrap_or('?');
                let message = if ch == ':' {
                    "`:` must start an atom such as `:ok`".to_string()
                } else {
                    format!("unexpected character `{}`", ch.escape_debug())
                };
                diagnostics.push(Diagnostic::error(message, Span::new(span.start, span.end)));
                continue;
            }
        };
        if raw == Raw::Newline {
            let significant = brackets.last().copied().unwrap_or(true);
            let after_end = tokens.last().is_some_and(|(_, t, _)| t.ends_expression());
            if significant && after_end && pending_newline.is_none() {
                pending_newline = Some((span.start, span.end));
            }
            continue;
        }
        let tok = match raw {
            Raw::Ident => keyword(text).unwrap_or(Tok::Ident(text)),
            Raw::Atom => Tok::Atom(&text[1..]),
            Raw::Decimal | Raw::Hex | Raw::Binary => {
                let (digits, radix) = match raw {
                    Raw::Hex => (&text[2..], 16),
                    Raw::Binary => (&text[2..], 2),
                    _ => (text, 10),
                };
                let clean: String = digits.chars().filter(|c| *c != '_').collect();
                match i64::from_str_radix(&clean, radix) {
                    Ok(n) => Tok::Int(n),
                    Err(_) => {
                        diagnostics.push(
                            Diagnostic::error(
                                "integer literal out of range",
                                Span::new(span.start, span.end),
                            )
                            .with_help("integers are 64-bit signed: at most 9223372036854775807"),
                        );
                        Tok::Int(0)
                    }
                }
            }
            Raw::Float => {
                let clean: String = text.chars().filter(|c| *c != '_').collect();
                Tok::Float(clean.parse().unwrap_or(0.0))
            }
            Raw::Str => {
                let body = quoted_body(
                    text,
                    0,
                    span.start,
                    "unterminated string",
                    "close the string with `\"` on the same line; write `\\n` for a newline",
                    diagnostics,
                );
                Tok::Str(unescape(body, span.start + 1, arena, diagnostics))
            }
            Raw::Bytes => {
                let body = quoted_body(
                    text,
                    1,
                    span.start,
                    "unterminated bytes literal",
                    "close it with `\"` on the same line; write `\\n` for a newline",
                    diagnostics,
                );
                Tok::Bytes(unescape_bytes(body, span.start + 2, arena, diagnostics))
            }
            Raw::QuotedAtom => {
                let body = quoted_body(
                    text,
                    1,
                    span.start,
                    "unterminated quoted atom",
                    "close it with `\"` on the same line",
                    diagnostics,
                );
                let name = unescape(body, span.start + 2, arena, diagnostics);
                if name.chars().count() > MAX_ATOM_CHARS {
                    diagnostics.push(Diagnostic::error(
                        format!("an atom has at most {MAX_ATOM_CHARS} characters"),
                        Span::new(span.start, span.end),
                    ));
                }
                Tok::Atom(name)
            }
            Raw::LParen => Tok::LParen,
            Raw::RParen => Tok::RParen,
            Raw::LBracket => Tok::LBracket,
            Raw::RBracket => Tok::RBracket,
            Raw::LBrace => Tok::LBrace,
            Raw::RBrace => Tok::RBrace,
            Raw::MapOpen => Tok::MapOpen,
            Raw::Comma => Tok::Comma,
            Raw::Semi => Tok::Semi,
            Raw::Dot => Tok::Dot,
            Raw::DotDot => Tok::DotDot,
            Raw::Arrow => Tok::Arrow,
            Raw::Caret => Tok::Caret,
            Raw::Assign => Tok::Assign,
            Raw::PlusAssign => Tok::PlusAssign,
            Raw::MinusAssign => Tok::MinusAssign,
            Raw::StarAssign => Tok::StarAssign,
            Raw::SlashAssign => Tok::SlashAssign,
            Raw::PercentAssign => Tok::PercentAssign,
            Raw::Plus => Tok::Plus,
            Raw::Minus => Tok::Minus,
            Raw::Star => Tok::Star,
            Raw::Slash => Tok::Slash,
            Raw::Percent => Tok::Percent,
            Raw::PlusPlus => Tok::PlusPlus,
            Raw::EqEq => Tok::EqEq,
            Raw::NotEq => Tok::NotEq,
            Raw::Lt => Tok::Lt,
            Raw::LtEq => Tok::LtEq,
            Raw::Gt => Tok::Gt,
            Raw::GtEq => Tok::GtEq,
            Raw::Bang => Tok::Bang,
            Raw::LArrow => Tok::LArrow,
            Raw::Newline => unreachable!("handled above"),
        };
        if let Some((start, end)) = pending_newline.take() {
            if tok != Tok::Else {
                tokens.push((start, Tok::Newline, end));
            }
        }
        match tok {
            Tok::LParen | Tok::LBracket | Tok::MapOpen | Tok::LBrace => {
                if brackets.len() >= crate::parser::MAX_NESTING {
                    diagnostics.push(
                        Diagnostic::error(
                            format!(
                                "brackets nested too deeply: more than {} are open here",
                                crate::parser::MAX_NESTING
                            ),
                            Span::new(span.start, span.end),
                        )
                        .with_help("split the expression or the data into smaller parts"),
                    );
                    lexed.too_deep = true;
                    break;
                }
                brackets.push(tok == Tok::LBrace);
            }
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                brackets.pop();
            }
            _ => {}
        }
        tokens.push((span.start, tok, span.end));
    }
    if let Some((start, end)) = pending_newline {
        tokens.push((start, Tok::Newline, end));
    }
    all_diagnostics.append(&mut collected);
    tokens
}

/// A string token is terminated when its last quote is not escaped.
/// The body of a quoted literal (a string, `b"..."`, `:"..."`) whose
/// opening quote comes after `prefix` characters: between the quotes, or
/// to the end of the line when it is unterminated (reported with `what`
/// and `help`).
fn quoted_body<'t>(
    text: &'t str,
    prefix: usize,
    start: usize,
    what: &str,
    help: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> &'t str {
    let quoted = &text[prefix..];
    let terminated = quoted.len() >= 2 && quoted.ends_with('"') && lexer_callback_ok(quoted);
    if !terminated {
        diagnostics
            .push(Diagnostic::error(what, Span::new(start, start + text.len())).with_help(help));
    }
    let body_end = if terminated {
        text.len() - 1
    } else {
        text.len()
    };
    &text[prefix + 1..body_end]
}

fn lexer_callback_ok(text: &str) -> bool {
    let body = &text.as_bytes()[1..text.len() - 1];
    let trailing_backslashes = body.iter().rev().take_while(|b| **b == b'\\').count();
    trailing_backslashes % 2 == 0
}

/// Decodes the escapes of a string body; `offset` is the body's byte offset
/// in the source, for error spans.
fn unescape<'a>(
    body: &'a str,
    offset: usize,
    arena: &'a Bump,
    diagnostics: &mut Vec<Diagnostic>,
) -> &'a str {
    if !body.contains('\\') {
        return body;
    }
    let out = decode_escapes(body, offset, false, diagnostics);
    // Only `\xNN` could make bytes that are not UTF-8, and a string has none.
    arena.alloc_str(&String::from_utf8(out).unwrap_or_default())
}

/// Decodes the escapes of a bytes literal's body: a string's, plus `\xNN`.
fn unescape_bytes<'a>(
    body: &'a str,
    offset: usize,
    arena: &'a Bump,
    diagnostics: &mut Vec<Diagnostic>,
) -> &'a [u8] {
    if !body.contains('\\') {
        return body.as_bytes();
    }
    let out = decode_escapes(body, offset, true, diagnostics);
    arena.alloc_slice_copy(&out)
}

/// The bytes an escaped body stands for; `bytes` allows `\xNN`.
fn decode_escapes(
    body: &str,
    offset: usize,
    bytes: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            continue;
        }
        let Some((_, e)) = chars.next() else {
            break;
        };
        match e {
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            '0' => out.push(0),
            '\\' => out.push(b'\\'),
            '"' => out.push(b'"'),
            'x' if bytes => {
                // \xNN: exactly two hex digits, any byte.
                let digits: String = (0..2)
                    .filter_map(|_| {
                        chars
                            .next_if(|(_, h)| h.is_ascii_hexdigit())
                            .map(|(_, h)| h)
                    })
                    .collect();
                match u8::from_str_radix(&digits, 16) {
                    Ok(byte) if digits.len() == 2 => out.push(byte),
                    _ => diagnostics.push(
                        Diagnostic::error(
                            "invalid byte escape",
                            Span::new(offset + i, offset + i + 2 + digits.len()),
                        )
                        .with_help("write `\\x` and two hex digits, as `\\x00` or `\\xff`"),
                    ),
                }
            }
            'u' => {
                // \u{XXXX}: one to six hex digits naming a Unicode scalar value.
                let mut hex = String::new();
                let mut closed = false;
                let mut end = i + 2;
                if chars.peek().map(|(_, c)| *c) == Some('{') {
                    chars.next();
                    end += 1;
                    for (j, h) in chars.by_ref() {
                        end = j + h.len_utf8();
                        if h == '}' {
                            closed = true;
                            break;
                        }
                        hex.push(h);
                    }
                }
                let value = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                match value {
                    Some(ch) if closed && hex.len() <= 6 => {
                        out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes())
                    }
                    _ => diagnostics.push(
                        Diagnostic::error(
                            "invalid unicode escape",
                            Span::new(offset + i, offset + end),
                        )
                        .with_help("write `\\u{1F600}`: one to six hex digits naming a character"),
                    ),
                }
            }
            other => diagnostics.push(
                Diagnostic::error(
                    format!("unknown escape `\\{}`", other.escape_debug()),
                    Span::new(offset + i, offset + i + 1 + other.len_utf8()),
                )
                .with_help(if bytes {
                    "the escapes are \\n \\t \\r \\0 \\\\ \\\" \\u{...} and, in bytes, \\xNN"
                } else {
                    "the escapes are \\n \\t \\r \\0 \\\\ \\\" and \\u{...}"
                }),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<String> {
        let arena = Bump::new();
        let mut diagnostics = Vec::new();
        lex(source, &arena, &mut diagnostics)
            .into_iter()
            .map(|(_, t, _)| format!("{t:?}"))
            .collect()
    }

    #[test]
    fn newline_only_after_expression_end() {
        assert_eq!(kinds("a +\nb"), ["Ident(\"a\")", "Plus", "Ident(\"b\")"]);
        assert_eq!(kinds("a\nb"), ["Ident(\"a\")", "Newline", "Ident(\"b\")"]);
        assert_eq!(
            kinds("f(a,\n b\n)"),
            [
                "Ident(\"f\")",
                "LParen",
                "Ident(\"a\")",
                "Comma",
                "Ident(\"b\")",
                "RParen"
            ]
        );
        assert_eq!(kinds("}\nelse"), ["RBrace", "Else"]);
    }

    #[test]
    fn numbers_and_atoms() {
        assert_eq!(
            kinds("0xff 0b1010 1_000 2.5e3 :ok"),
            [
                "Int(255)",
                "Int(10)",
                "Int(1000)",
                "Float(2500.0)",
                "Atom(\"ok\")"
            ]
        );
        assert_eq!(kinds("0..10"), ["Int(0)", "DotDot", "Int(10)"]);
    }

    #[test]
    fn string_escapes_and_errors() {
        let arena = Bump::new();
        let mut diagnostics = Vec::new();
        let tokens = lex(r#""a\tb\u{1F600}" "bad\q" "open"#, &arena, &mut diagnostics);
        assert_eq!(tokens[0].1, Tok::Str("a\tb\u{1F600}"));
        assert_eq!(diagnostics.len(), 2);
    }
}
