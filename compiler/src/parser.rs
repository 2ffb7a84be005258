//! Runs the generated LR(1) parser over the lexer's tokens and turns its
//! errors into diagnostics.

use bumpalo::Bump;
use lalrpop_util::{lalrpop_mod, ErrorRecovery, ParseError};

use crate::ast::{AssignOp, Expr, ExprKind, Program, Stmt};
use crate::diagnostic::{Diagnostic, Span};
use crate::lexer::{self, Tok};

lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_parens, dead_code)]
    grammar
);

pub(crate) fn alloc<T>(arena: &Bump, value: T) -> &T {
    arena.alloc(value)
}

pub(crate) fn slice<T>(arena: &Bump, items: Vec<T>) -> &[T] {
    arena.alloc_slice_fill_iter(items)
}

/// Builds an assignment statement; only a plain name can be assigned.
pub(crate) fn assignment<'a>(target: Expr<'a>, op: AssignOp, value: Expr<'a>) -> Stmt<'a> {
    match target.kind {
        ExprKind::Name(name) => Stmt::Assign {
            name,
            name_span: target.span,
            op,
            value,
        },
        _ => Stmt::IndexAssign(target.span),
    }
}

/// Lexes and parses a file. Returns the tree (possibly with `Stmt::Error`
/// holes) and every lexical and syntax error found.
pub fn parse<'a>(source: &'a str, arena: &'a Bump) -> (Program<'a>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let tokens = lexer::lex(source, arena, &mut diagnostics);
    let end = source.len();
    let mut recovered: Vec<ErrorRecovery<usize, Tok<'a>, ()>> = Vec::new();
    let result = grammar::ProgramParser::new().parse(
        arena,
        &mut recovered,
        tokens.into_iter().map(Ok::<_, ()>),
    );
    for recovery in recovered {
        diagnostics.push(syntax_error(recovery.error, end));
    }
    let program = match result {
        Ok(program) => program,
        Err(error) => {
            diagnostics.push(syntax_error(error, end));
            Program { stmts: &[] }
        }
    };
    // One bad token can make the parser report the same spot twice.
    diagnostics.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    (program, diagnostics)
}

fn expected_list(expected: &[String]) -> String {
    let mut names: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "Ident" => "a name".to_string(),
            "IntLit" | "FloatLit" => "a number".to_string(),
            "StrLit" => "a string".to_string(),
            "AtomLit" => "an atom".to_string(),
            "\"NL\"" => "end of line".to_string(),
            other => format!("`{}`", other.trim_matches('"')),
        })
        .collect();
    names.dedup();
    if names.len() > 8 {
        return String::new();
    }
    match names.len() {
        0 => String::new(),
        1 => format!("expected {}", names[0]),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("expected {} or {last}", names.join(", "))
        }
    }
}

fn syntax_error(error: ParseError<usize, Tok<'_>, ()>, end: usize) -> Diagnostic {
    match error {
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let label = expected_list(&expected);
            let mut diagnostic =
                Diagnostic::error(format!("unexpected {}", tok.describe()), Span::new(l, r));
            if !label.is_empty() {
                diagnostic = diagnostic.with_label(label);
            }
            if tok == Tok::Newline && expected.iter().any(|e| e == "\"{\"") {
                diagnostic = diagnostic
                    .with_help("a block's `{` must be on the same line as what it belongs to");
            } else if expected.iter().any(|e| e == "\"NL\"") && !matches!(tok, Tok::Newline) {
                diagnostic = diagnostic.with_help("put `;` or a line break between two statements");
            }
            diagnostic
        }
        ParseError::UnrecognizedEof { location, expected } => {
            let label = expected_list(&expected);
            let at = location.min(end);
            let mut diagnostic = Diagnostic::error(
                "unexpected end of file",
                Span::new(at.saturating_sub(1), at),
            );
            if !label.is_empty() {
                diagnostic = diagnostic.with_label(label);
            }
            diagnostic.with_help("is a bracket or a block left open?")
        }
        ParseError::ExtraToken { token: (l, tok, r) } => {
            Diagnostic::error(format!("unexpected {}", tok.describe()), Span::new(l, r))
        }
        ParseError::InvalidToken { location } => {
            Diagnostic::error("invalid token", Span::new(location, location + 1))
        }
        ParseError::User { error: () } => Diagnostic::error("invalid input", Span::new(0, 0)),
    }
}
