//! Runs the generated LR(1) parser over the lexer's tokens and turns its
//! errors into diagnostics.
//!
//! Invariants:
//! - Parsing is linear in the input: the parser's own stack is a heap
//!   vector (LR, no recursion), at most `MAX_NESTING` brackets are open
//!   (the lexer stops past that), and after `MAX_ERRORS` syntax errors the
//!   token stream ends, so error recovery cannot go on for every token of a
//!   garbage file.
//! - A tree that parses is nested at most `MAX_NESTING` expressions or
//!   patterns deep (`check_nesting`, an iterative walk), not counting the
//!   left operands of a chain of binary operators (`a + b + c + ...` may be
//!   any length), so the passes after it recurse a bounded number of times.

use std::cell::RefCell;

use bumpalo::Bump;
use lalrpop_util::{lalrpop_mod, ErrorRecovery, ParseError};

use crate::ast::*;
use crate::codegen::MAX_ERRORS;
use crate::diagnostic::{Diagnostic, Span};
use crate::lexer::{self, Tok};

pub use crate::limits::MAX_NESTING;

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

/// Builds an assignment expression; only a plain name can be assigned.
pub(crate) fn assignment<'a>(
    arena: &'a Bump,
    target: Expr<'a>,
    op: AssignOp,
    value: Expr<'a>,
    span: Span,
) -> Expr<'a> {
    let kind = match target.kind {
        ExprKind::Name(name) => ExprKind::Assign {
            name,
            name_span: target.span,
            op,
            value: alloc(arena, value),
        },
        _ => ExprKind::IndexAssign(alloc(arena, target)),
    };
    Expr { kind, span }
}

/// Lexes and parses a file. Returns the tree (possibly with `Stmt::Error`
/// holes) and every lexical and syntax error found.
pub fn parse<'a>(source: &'a str, arena: &'a Bump) -> (Program<'a>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut lexed = lexer::Lexed::default();
    let tokens = lexer::lex_with(source, arena, &mut diagnostics, &mut lexed);
    let empty = Program { stmts: &[] };
    if lexed.skipped > 0 {
        diagnostics.push(Diagnostic::note(format!(
            "{} more lexical errors are not shown",
            lexed.skipped
        )));
    }
    if lexed.too_deep {
        return (empty, diagnostics);
    }
    let end = source.len();
    let recovered: RefCell<Vec<ErrorRecovery<usize, Tok<'a>, ()>>> = RefCell::new(Vec::new());
    // Past the error cap the token stream ends with an error, which stops
    // the parser at once.
    let mut stopped_at = None;
    let stream = tokens.into_iter().map(|token| {
        if recovered.borrow().len() >= MAX_ERRORS {
            stopped_at.get_or_insert(token.0);
            Err(())
        } else {
            Ok(token)
        }
    });
    let result = grammar::ProgramParser::new().parse(arena, &recovered, stream);
    for recovery in recovered.into_inner() {
        diagnostics.push(syntax_error(recovery.error, source));
    }
    let program = match result {
        Ok(program) => program,
        Err(ParseError::User { error: () }) => empty,
        Err(error) => {
            diagnostics.push(syntax_error(error, source));
            empty
        }
    };
    // One bad token can make the parser report the same spot twice.
    diagnostics.dedup_by(|a, b| a.span == b.span && a.message == b.message);
    if let Some(at) = stopped_at {
        let line = source.as_bytes()[..at.min(end)]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        diagnostics.push(Diagnostic::note(format!(
            "stopped after {MAX_ERRORS} syntax errors: the file from line {line} on was not checked"
        )));
    }
    if diagnostics.is_empty() {
        if let Some(deep) = check_nesting(&program) {
            diagnostics.push(deep);
        }
    }
    (program, diagnostics)
}

/// A node of the tree, for the iterative nesting check.
#[derive(Clone, Copy)]
enum Node<'t, 'a> {
    Expr(&'t Expr<'a>),
    Pattern(&'t Pattern<'a>),
    Block(&'t Block<'a>),
    Stmt(&'t Stmt<'a>),
}

/// The first expression or pattern nested deeper than `MAX_NESTING`, as a
/// diagnostic. Walks the tree with an explicit stack: it must not itself
/// recurse as deep as what it checks.
pub fn check_nesting(program: &Program<'_>) -> Option<Diagnostic> {
    let mut stack: Vec<(Node<'_, '_>, usize)> =
        program.stmts.iter().map(|s| (Node::Stmt(s), 0)).collect();
    let mut children = Vec::new();
    while let Some((node, depth)) = stack.pop() {
        let (span, depth) = match node {
            Node::Expr(e) => (e.span, depth + 1),
            Node::Pattern(p) => (p.span, depth + 1),
            Node::Block(_) | Node::Stmt(_) => (Span::default(), depth),
        };
        if depth > MAX_NESTING {
            return Some(
                Diagnostic::error(
                    format!("this is nested too deeply: more than {MAX_NESTING} levels"),
                    span,
                )
                .with_help("split it into smaller expressions or functions"),
            );
        }
        children.clear();
        let flat = node_children(node, &mut children);
        for (i, child) in children.drain(..).enumerate() {
            // The left operand of a binary operator continues the chain at
            // the same depth: `a + b + c` is flat however long.
            let child_depth = if flat && i == 0 { depth - 1 } else { depth };
            stack.push((child, child_depth));
        }
    }
    None
}

/// Appends the children of `node`; true if the first child is the left
/// operand of a binary operator.
fn node_children<'t, 'a>(node: Node<'t, 'a>, out: &mut Vec<Node<'t, 'a>>) -> bool {
    let e = match node {
        Node::Stmt(stmt) => {
            match stmt {
                Stmt::Let(p, e) => {
                    out.push(Node::Pattern(p));
                    out.push(Node::Expr(e));
                }
                Stmt::Expr(e) => out.push(Node::Expr(e)),
                Stmt::Fn(def) => fn_children(def, out),
                Stmt::Import { .. } | Stmt::Error(_) => {}
            }
            return false;
        }
        Node::Block(block) => {
            out.extend(block.stmts.iter().map(Node::Stmt));
            return false;
        }
        Node::Pattern(pattern) => {
            match pattern.kind {
                PatternKind::Tuple(items) => out.extend(items.iter().map(Node::Pattern)),
                PatternKind::List(items, rest) => {
                    out.extend(items.iter().map(Node::Pattern));
                    out.extend(rest.map(Node::Pattern));
                }
                PatternKind::Map(entries) => {
                    for (k, v) in entries.iter() {
                        out.push(Node::Pattern(k));
                        out.push(Node::Pattern(v));
                    }
                }
                _ => {}
            }
            return false;
        }
        Node::Expr(e) => e,
    };
    let arm = |a: &'t Arm<'a>, out: &mut Vec<Node<'t, 'a>>| {
        out.push(Node::Pattern(&a.pattern));
        out.extend(a.guard.as_ref().map(Node::Expr));
        out.push(Node::Expr(&a.body));
    };
    let after = |a: Option<&'t After<'a>>, out: &mut Vec<Node<'t, 'a>>| {
        if let Some(a) = a {
            out.push(Node::Expr(&a.timeout));
            out.push(Node::Expr(&a.body));
        }
    };
    match &e.kind {
        ExprKind::Binary(_, a, b) => {
            out.push(Node::Expr(a));
            out.push(Node::Expr(b));
            return true;
        }
        ExprKind::List(items) | ExprKind::Tuple(items) => out.extend(items.iter().map(Node::Expr)),
        ExprKind::Map(entries) => {
            for (k, v) in entries.iter() {
                out.push(Node::Expr(k));
                out.push(Node::Expr(v));
            }
        }
        ExprKind::Neg(a)
        | ExprKind::Not(a)
        | ExprKind::ChanRecv(a)
        | ExprKind::Spawn(a, _)
        | ExprKind::Member(a, _, _)
        | ExprKind::Try(a)
        | ExprKind::IndexAssign(a) => out.push(Node::Expr(a)),
        ExprKind::Assign { value, .. } => out.push(Node::Expr(value)),
        ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Range(a, b)
        | ExprKind::Index(a, b)
        | ExprKind::Send(a, b)
        | ExprKind::ChanSend(a, b) => {
            out.push(Node::Expr(a));
            out.push(Node::Expr(b));
        }
        ExprKind::Call(f, args) => {
            out.push(Node::Expr(f));
            out.extend(args.iter().map(Node::Expr));
        }
        ExprKind::Lambda(def) => fn_children(def, out),
        ExprKind::Block(b) | ExprKind::Loop(b) => out.push(Node::Block(b)),
        ExprKind::If(c, t, otherwise) => {
            out.push(Node::Expr(c));
            out.push(Node::Block(t));
            out.extend(otherwise.map(Node::Expr));
        }
        ExprKind::While(c, b) => {
            out.push(Node::Expr(c));
            out.push(Node::Block(b));
        }
        ExprKind::For(p, i, b) => {
            out.push(Node::Pattern(p));
            out.push(Node::Expr(i));
            out.push(Node::Block(b));
        }
        ExprKind::Match(s, arms) => {
            out.push(Node::Expr(s));
            arms.iter().for_each(|a| arm(a, out));
        }
        ExprKind::Receive(arms, a) => {
            arms.iter().for_each(|x| arm(x, out));
            after(*a, out);
        }
        ExprKind::Select(arms, a) => {
            for x in arms.iter() {
                out.push(Node::Expr(&x.op));
                out.extend(x.binding.as_ref().map(Node::Pattern));
                out.push(Node::Expr(&x.body));
            }
            after(*a, out);
        }
        ExprKind::Break(v) | ExprKind::Return(v) => out.extend(v.map(Node::Expr)),
        ExprKind::Nil
        | ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bytes(_)
        | ExprKind::Atom(_)
        | ExprKind::Name(_)
        | ExprKind::Continue => {}
    }
    false
}

fn fn_children<'t, 'a>(def: &'t FnDef<'a>, out: &mut Vec<Node<'t, 'a>>) {
    out.extend(def.params.iter().map(Node::Pattern));
    out.push(Node::Block(def.body));
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

/// The innermost bracket open at byte `at` of `source` (for the help of a
/// syntax error; lexing again costs no more than the parse did).
fn innermost_bracket(source: &str, at: usize) -> Option<Tok<'static>> {
    let arena = bumpalo::Bump::new();
    let mut ignored = Vec::new();
    let mut open = Vec::new();
    for (start, tok, _) in crate::lexer::lex(source.get(..at)?, &arena, &mut ignored) {
        if start >= at {
            break;
        }
        match tok {
            Tok::LParen => open.push(Tok::LParen),
            Tok::LBracket => open.push(Tok::LBracket),
            Tok::LBrace => open.push(Tok::LBrace),
            Tok::MapOpen => open.push(Tok::MapOpen),
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

fn syntax_error(error: ParseError<usize, Tok<'_>, ()>, source: &str) -> Diagnostic {
    let end = source.len();
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
            let expects = |what: &str| expected.iter().any(|e| e == what);
            if tok == Tok::Newline && expects("\"{\"") {
                diagnostic = diagnostic
                    .with_help("a block's `{` must be on the same line as what it belongs to");
            } else if expects("\",\"") && !matches!(tok, Tok::Newline) && !expects("\";\"") {
                // Between two arms of a `match`, `receive` or `select` (a
                // line break would do), or two items inside brackets.
                let help = if expects("\"NL\"") {
                    "put a `,` or a line break between two arms"
                } else {
                    match innermost_bracket(source, l) {
                        Some(Tok::MapOpen) => "put a `,` between two entries of a map",
                        Some(Tok::LBracket) => "put a `,` between two elements of a list",
                        Some(Tok::LParen) => "put a `,` between two arguments or elements",
                        _ => "put a `,` between two items",
                    }
                };
                diagnostic = diagnostic.with_help(help);
            } else if expects("\"NL\"") && !matches!(tok, Tok::Newline) {
                diagnostic = diagnostic.with_help("put `;` or a line break between two statements");
            }
            diagnostic
        }
        ParseError::UnrecognizedEof { location, expected } => {
            let label = expected_list(&expected);
            let at = location.min(end);
            // The last character before the end, however many bytes it has.
            let before = source
                .get(..at)
                .and_then(|s| s.char_indices().next_back())
                .map_or(at, |(i, _)| i);
            let mut diagnostic = Diagnostic::error("unexpected end of file", Span::new(before, at));
            if !label.is_empty() {
                diagnostic = diagnostic.with_label(label);
            }
            diagnostic.with_help("is a bracket or a block left open?")
        }
        ParseError::ExtraToken { token: (l, tok, r) } => {
            Diagnostic::error(format!("unexpected {}", tok.describe()), Span::new(l, r))
        }
        ParseError::InvalidToken { location } => {
            let width = source
                .get(location..)
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            Diagnostic::error("invalid token", Span::new(location, location + width))
        }
        ParseError::User { error: () } => Diagnostic::error("invalid input", Span::new(0, 0)),
    }
}
