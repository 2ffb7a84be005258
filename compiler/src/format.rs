//! `weft fmt`: one canonical layout for Weft source.
//!
//! The formatter works on the token stream, not the tree, so it keeps every
//! comment and every line break the author chose; it decides only the
//! spacing inside a line and each line's indentation:
//!
//! - two spaces of indentation per open bracket line (a line that opens
//!   several brackets indents the next by one level), a closing bracket at
//!   the indentation of the line that opened it, and one more level for a
//!   line that continues an expression (the previous line ended with an
//!   operator);
//! - one space around binary operators, `=`, `=>` and after `,`; none
//!   inside `()`, `[]` and `%{}`, around `.` and `..`, after a prefix `-`,
//!   `<-` or `^`, or before a call's `(` or an index's `[`; one inside the
//!   braces of a block written on one line;
//! - two spaces before a comment that ends a line, as PEP 8 has it, and
//!   the comments that end consecutive lines lined up in one column, as
//!   gofmt lines them up;
//! - at most one blank line in a row, none at the start, and one newline at
//!   the end of the file.
//!
//! Invariants: the output lexes to the same tokens as the input (so the
//! program means the same), line breaks between tokens stay where they
//! were, and formatting the output again changes nothing.

use bumpalo::Bump;
use unicode_width::UnicodeWidthStr;

use crate::diagnostic::{Diagnostic, Span};
use crate::lexer::{lex, Tok};

const INDENT: usize = 2;

/// The widest line of code whose end-of-line comment is lined up with its
/// neighbours' (see `align_comments`).
const MAX_ALIGNED_WIDTH: usize = 100;

/// The most `format` writes for a source of `input` bytes: eight times the
/// input, plus 1 MiB. Re-indenting makes a file bigger (a line inside ten
/// levels gets twenty spaces), but a valid file of 999 nested brackets
/// around a million short lines would take two thousand spaces a line — a
/// 3 MB file becoming 2 GB. Past the bound `format` refuses, saying why.
pub fn output_bound(input: usize) -> usize {
    input.saturating_mul(8).saturating_add(1 << 20)
}

/// Formats a program; a program that does not lex or parse is returned as
/// its diagnostics, unchanged, and so is one whose formatted form would pass
/// `output_bound` (one diagnostic saying so).
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let arena = Bump::new();
    let (_, diagnostics) = crate::parser::parse(source, &arena);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let mut lex_diagnostics = Vec::new();
    // The lexer's newline tokens (statement ends) are not printed — the
    // gaps between tokens carry the line breaks — but they say that a `-`
    // starting a line is a prefix minus, not a subtraction.
    let tokens: Vec<(usize, Tok<'_>, usize)> = lex(source, &arena, &mut lex_diagnostics);
    if !lex_diagnostics.is_empty() {
        return Err(lex_diagnostics);
    }
    let bound = output_bound(source.len());
    let printer = Printer {
        bound,
        ..Printer::default()
    };
    match printer.print(source, &tokens) {
        Some(formatted) if formatted.len() <= bound => Ok(formatted),
        _ => Err(vec![Diagnostic::error(
            format!(
                "formatting would make this file more than eight times larger (over {} bytes): it nests too deeply to lay out; left as it is",
                bound
            ),
            Span::new(0, 0),
        )]),
    }
}

/// An open bracket: its kind and the indentation of the line it is on.
struct Open {
    block: bool,
    line_indent: usize,
}

#[derive(Default)]
struct Printer {
    out: String,
    open: Vec<Open>,
    /// The indentation of the line being written.
    line_indent: usize,
    /// Whether something other than indentation is on the current line.
    line_has_text: bool,
    /// Where each comment that ends a line of code starts in `out` (at the
    /// two spaces before its `#`), in order; `align_comments` lines them up.
    trailing: Vec<usize>,
    /// The most bytes `out` may hold (`output_bound`); printing stops past it.
    bound: usize,
    /// Whether the last token closed a map literal (`%{...}`), which an
    /// index follows without a space (`%{:k => 1}[:k]`), unlike a block.
    closed_map: bool,
}

impl Printer {
    fn print(mut self, source: &str, tokens: &[(usize, Tok<'_>, usize)]) -> Option<String> {
        let mut previous: Option<Tok<'_>> = None;
        let mut previous_unary = false;
        let mut position = 0;
        let mut statement_ended = false;
        for &(start, tok, end) in tokens {
            if tok == Tok::Newline {
                statement_ended = true;
                continue;
            }
            if self.out.len() > self.bound {
                return None;
            }
            let newlines = self.gap(&source[position..start], previous);
            let text = &source[start..end];
            if newlines > 0 || previous.is_none() {
                self.start_line(tok, previous);
            } else if let Some(prev) = previous {
                let indexes_map = self.closed_map && tok == Tok::LBracket;
                if !indexes_map && space_between(prev, previous_unary, tok, self.closes_block(tok))
                {
                    self.out.push(' ');
                }
            }
            self.token(tok, text);
            previous_unary = is_prefix(tok, previous, statement_ended);
            statement_ended = false;
            previous = Some(tok);
            position = end;
        }
        self.gap(&source[position..], previous);
        let trimmed = self.out.trim_end().len();
        self.out.truncate(trimmed);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        if self.out.len() > self.bound {
            return None;
        }
        let formatted = align_comments(&self.out, &self.trailing);
        // A byte-order mark the file starts with stays (the lexer skips it).
        Some(if source.starts_with('\u{FEFF}') {
            format!("\u{FEFF}{formatted}")
        } else {
            formatted
        })
    }

    /// Writes the comments of the text between two tokens, with the line
    /// breaks it holds (at most one blank line); returns how many newlines
    /// the gap had.
    fn gap(&mut self, gap: &str, previous: Option<Tok<'_>>) -> usize {
        let mut newlines = 0;
        let mut blank_pending = false;
        for (i, line) in gap.split('\n').enumerate() {
            if i > 0 {
                newlines += 1;
                if self.line_has_text {
                    self.end_line();
                } else if !self.out.is_empty() {
                    blank_pending = true;
                }
            }
            let Some(at) = line.find('#') else {
                continue;
            };
            let comment = line[at..].trim_end();
            if i == 0 && self.line_has_text {
                // A comment that ends the line of the previous token.
                self.trailing.push(self.out.len());
                self.out.push_str("  ");
                self.out.push_str(comment);
                continue;
            }
            if blank_pending {
                self.out.push('\n');
                blank_pending = false;
            }
            let indent = self.body_indent(previous);
            self.out.push_str(&" ".repeat(indent));
            self.out.push_str(comment);
            self.line_has_text = true;
        }
        if blank_pending && self.line_has_text_before_blank() {
            self.out.push('\n');
        }
        newlines
    }

    /// Whether a blank line may go here: not at the start of the file and
    /// not right after another blank line.
    fn line_has_text_before_blank(&self) -> bool {
        !self.out.is_empty() && !self.out.ends_with("\n\n")
    }

    fn end_line(&mut self) {
        let trimmed = self.out.trim_end_matches(' ').len();
        self.out.truncate(trimmed);
        self.out.push('\n');
        self.line_has_text = false;
    }

    /// The indentation of a line inside the innermost open bracket, one
    /// level more when the previous line left an expression unfinished.
    fn body_indent(&self, previous: Option<Tok<'_>>) -> usize {
        let base = self.open.last().map_or(0, |o| o.line_indent + INDENT);
        match previous {
            Some(tok) if continues(tok) => base + INDENT,
            _ => base,
        }
    }

    fn start_line(&mut self, tok: Tok<'_>, previous: Option<Tok<'_>>) {
        if self.line_has_text {
            self.end_line();
        }
        let indent = if is_closer(tok) {
            self.open.last().map_or(0, |o| o.line_indent)
        } else {
            self.body_indent(previous)
        };
        self.out.push_str(&" ".repeat(indent));
        self.line_indent = indent;
    }

    fn closes_block(&self, tok: Tok<'_>) -> bool {
        tok == Tok::RBrace && self.open.last().is_some_and(|o| o.block)
    }

    fn token(&mut self, tok: Tok<'_>, text: &str) {
        self.out.push_str(text);
        self.line_has_text = true;
        match tok {
            Tok::LParen | Tok::LBracket | Tok::LBrace | Tok::MapOpen => {
                // Every bracket opened on a line records that line's
                // indentation, so the brackets a line opens indent what
                // follows by one level together (`f([` then one level), and
                // a bracket opened after others closed on the same line
                // (`match f(x) {`) indents its body from the line too, not
                // from whatever bracket encloses the line.
                self.open.push(Open {
                    block: tok == Tok::LBrace,
                    line_indent: self.line_indent,
                });
            }
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                let closed = self.open.pop();
                self.closed_map = tok == Tok::RBrace && closed.is_some_and(|o| !o.block);
                return;
            }
            _ => {}
        }
        self.closed_map = false;
    }
}

/// Lines up the comments that end consecutive lines of code in one column,
/// two spaces after the longest of those lines (as gofmt aligns them), so
/// a column of `# expect:` comments stays a column. A line without such a
/// comment, or a blank line, ends the run. `trailing` holds where each
/// comment's two leading spaces start in `out`, in order.
fn align_comments(out: &str, trailing: &[usize]) -> String {
    // (line number, width of its code in terminal columns) per comment.
    let mut comments: Vec<(usize, usize)> = Vec::with_capacity(trailing.len());
    let (mut line, mut counted_to) = (0, 0);
    for &at in trailing {
        line += out[counted_to..at].matches('\n').count();
        counted_to = at;
        let line_start = out[..at].rfind('\n').map_or(0, |n| n + 1);
        comments.push((line, UnicodeWidthStr::width(&out[line_start..at])));
    }
    // A line of code wider than this keeps its comment two spaces away and
    // ends the run, so one long line cannot push a column of comments far
    // right (nor make the output many times its input).
    let joins = |c: &(usize, usize)| c.1 <= MAX_ALIGNED_WIDTH;
    let mut aligned = String::with_capacity(out.len() + trailing.len() * 8);
    let mut copied = 0;
    let mut run_start = 0;
    while run_start < comments.len() {
        let mut run_end = run_start + 1;
        while run_end < comments.len()
            && joins(&comments[run_start])
            && joins(&comments[run_end])
            && comments[run_end].0 == comments[run_end - 1].0 + 1
        {
            run_end += 1;
        }
        let column = comments[run_start..run_end]
            .iter()
            .map(|c| c.1)
            .max()
            .unwrap_or(0);
        for (i, &(_, width)) in comments[run_start..run_end].iter().enumerate() {
            let at = trailing[run_start + i];
            aligned.push_str(&out[copied..at]);
            aligned.extend(std::iter::repeat_n(' ', column - width));
            copied = at;
        }
        run_start = run_end;
    }
    aligned.push_str(&out[copied..]);
    aligned
}

fn is_closer(tok: Tok<'_>) -> bool {
    matches!(tok, Tok::RParen | Tok::RBracket | Tok::RBrace)
}

/// Can this token end an operand (so a `-` after it subtracts)? The
/// lexer's newline rule, except that `return` is followed by its value.
fn ends_operand(tok: Tok<'_>) -> bool {
    tok.ends_expression() && tok != Tok::Return
}

/// Is `tok` a prefix operator here (`-x`, `<-chan`, `^pin`)?
fn is_prefix(tok: Tok<'_>, previous: Option<Tok<'_>>, statement_ended: bool) -> bool {
    match tok {
        Tok::Caret => true,
        Tok::Minus | Tok::LArrow => statement_ended || !previous.is_some_and(ends_operand),
        _ => false,
    }
}

/// Does a line ending with `tok` continue on the next line?
fn continues(tok: Tok<'_>) -> bool {
    matches!(
        tok,
        Tok::Plus
            | Tok::Minus
            | Tok::Star
            | Tok::Slash
            | Tok::Percent
            | Tok::PlusPlus
            | Tok::EqEq
            | Tok::NotEq
            | Tok::Lt
            | Tok::LtEq
            | Tok::Gt
            | Tok::GtEq
            | Tok::And
            | Tok::Or
            | Tok::Assign
            | Tok::PlusAssign
            | Tok::MinusAssign
            | Tok::StarAssign
            | Tok::SlashAssign
            | Tok::PercentAssign
            | Tok::Arrow
            | Tok::Bang
            | Tok::LArrow
            | Tok::DotDot
            | Tok::Dot
    )
}

/// Whether one space separates `prev` and `next` on a line.
fn space_between(prev: Tok<'_>, prev_prefix: bool, next: Tok<'_>, closes_block: bool) -> bool {
    use Tok::*;
    if prev_prefix {
        return false;
    }
    match (prev, next) {
        (LParen | LBracket | MapOpen, _) => false,
        (_, RParen | RBracket) => false,
        (LBrace, RBrace) => false,
        (_, RBrace) => closes_block,
        (LBrace, _) => true,
        (_, Comma | Semi) => false,
        // `[first, ..rest]`
        (Comma | Semi, _) => true,
        (_, Dot | DotDot) | (Dot | DotDot, _) => false,
        // A call or an index: `f(x)`, `fn(x)`, `xs[0]`, `f(x)(y)`.
        (Ident(_) | RParen | RBracket | Fn, LParen) => false,
        (Ident(_) | RParen | RBracket | Str(_), LBracket) => false,
        // `not x`, `return -1`: keywords and operators keep their space.
        _ => true,
    }
}

/// The span of the first difference between two token streams, if any
/// (used by tests: formatting must not change the program).
pub fn same_tokens(a: &str, b: &str) -> Result<(), Span> {
    let arena = Bump::new();
    let mut ignored = Vec::new();
    let left = lex(a, &arena, &mut ignored);
    let right = lex(b, &arena, &mut ignored);
    for (i, (x, y)) in left.iter().zip(right.iter()).enumerate() {
        if x.1 != y.1 {
            let _ = i;
            return Err(Span::new(x.0, x.2));
        }
    }
    if left.len() != right.len() {
        let at = a.len().min(left.last().map_or(0, |t| t.2));
        return Err(Span::new(at, at));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let once = format(input).expect("formats");
        assert_eq!(once, expected, "formatting {input:?}");
        assert_eq!(format(&once).unwrap(), once, "formatting twice");
        assert!(same_tokens(input, &once).is_ok());
    }

    #[test]
    fn spacing_inside_a_line() {
        check("let x=1+2*-3\n", "let x = 1 + 2 * -3\n");
        check("print( f(x ,y) [0] )\n", "print(f(x, y)[0])\n");
        check("let m = %{ :a=>1 }\n", "let m = %{:a => 1}\n");
        check(
            "for i in 0 .. n { print(i) }\n",
            "for i in 0..n { print(i) }\n",
        );
        check("pid!(:ok,x)\n", "pid ! (:ok, x)\n");
        check("let v = <- ch\nch <- v\n", "let v = <-ch\nch <- v\n");
        // A minus starting a statement is a prefix, after any line.
        check("f()\n- 1\n<- ch\n", "f()\n-1\n<-ch\n");
        check("receive { ^k => nil }\n", "receive { ^k => nil }\n");
        check(
            "match xs { [h,..t] => h, [] => {} }\n",
            "match xs { [h, ..t] => h, [] => {} }\n",
        );
        check(
            "list.map(xs, fn (x) { x - 1 })\n",
            "list.map(xs, fn(x) { x - 1 })\n",
        );
    }

    #[test]
    fn indentation_comments_and_blank_lines() {
        let input = "\n\n# top\nfn f(x) {\n        if x {   # why\n  g(1,\n 2)\n}\n\n\n\n    # inside\n  x +\n1\n}\n";
        let expected = "# top\nfn f(x) {\n  if x {  # why\n    g(1,\n      2)\n  }\n\n  # inside\n  x +\n    1\n}\n";
        check(input, expected);
    }

    #[test]
    fn a_program_that_does_not_parse_is_refused() {
        assert!(format("fn (").is_err());
    }

    /// A valid file whose layout would be many times its size (999 open
    /// brackets around many short lines: two thousand spaces each) is
    /// refused, after writing at most the bound.
    #[test]
    fn output_is_bounded_by_a_multiple_of_the_input() {
        // One bracket per line: each line in opens a level.
        let mut source = "let x = ".to_string();
        source.push_str(&"[\n".repeat(999));
        source.push_str(&"1,\n".repeat(100_000));
        source.push_str(&"]".repeat(999));
        source.push('\n');
        let Err(refused) = format(&source) else {
            panic!("a deeply nested file was formatted, not refused");
        };
        assert!(
            refused[0].message.contains("eight times"),
            "{}",
            refused[0].message
        );
        // A flat file that grows with spacing is formatted.
        let flat = "f(a,b,c)\n".repeat(10_000);
        assert!(format(&flat).unwrap().len() <= output_bound(flat.len()));
    }
}
