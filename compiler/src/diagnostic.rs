//! Diagnostics as plain data, and the one place they are rendered.
//!
//! Everything that reports a problem in a Weft program — the lexer, the
//! parser, name resolution, the code generator, and the VM's runtime error
//! reports — builds a `Diagnostic`. `render` is the only code that turns one
//! into text (with ariadne), so every error looks the same.

use std::fmt::Write as _;
use std::sync::Arc;

use ariadne::{Config, IndexType, Label, Report, ReportKind, Source};

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A source file: its name as the user gave it and its text.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = (offset as usize).min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        (line, column)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    /// A remark about the report itself ("12 more errors are not shown"),
    /// printed after the errors, without a source excerpt.
    Note,
}

/// A secondary label: another span with a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub span: Span,
    pub message: String,
}

/// One problem in a program, located by a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The headline, e.g. "unknown name `lenght`".
    pub message: String,
    /// Where the problem is.
    pub span: Span,
    /// Text under the underline; the headline is used when empty.
    pub label: String,
    /// Other spans worth showing.
    pub notes: Vec<Note>,
    /// A suggestion, shown as "Help: ...".
    pub help: Option<String>,
    /// The file the spans are in; filled in by the compiler before it returns.
    pub file: Option<Arc<SourceFile>>,
    /// Diagnostics of another file that explain this one (a broken import).
    pub nested: Vec<Diagnostic>,
    /// Lines printed after the report (a runtime error's call stack).
    pub trace: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            notes: Vec::new(),
            help: None,
            file: None,
            nested: Vec::new(),
            trace: Vec::new(),
        }
    }

    /// A note about the report (see `Severity::Note`).
    pub fn note(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(message, Span::default())
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.notes.push(Note {
            span,
            message: message.into(),
        });
        self
    }

    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Diagnostic {
        if self.file.is_none() {
            self.file = Some(file.clone());
        }
        self
    }
}

/// Renders diagnostics as text. Colour is for terminals; tests turn it off.
pub fn render(diagnostics: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        render_one(diagnostic, color, &mut out);
    }
    out
}

/// Orders diagnostics by position, keeps the first `MAX_ERRORS` errors
/// (counting the rest in a note) and puts the notes last.
pub fn limit(diagnostics: Vec<Diagnostic>, max: usize) -> Vec<Diagnostic> {
    let (mut errors, notes): (Vec<Diagnostic>, Vec<Diagnostic>) = diagnostics
        .into_iter()
        .partition(|d| d.severity != Severity::Note);
    errors.sort_by_key(|d| d.span.start);
    if errors.len() > max {
        let more = errors.len() - max;
        errors.truncate(max);
        errors.push(Diagnostic::note(format!(
            "{more} more error{} not shown",
            if more == 1 { " is" } else { "s are" }
        )));
    }
    errors.extend(notes);
    errors
}

/// Lines longer than this are shown as an excerpt around the span.
const LONG_LINE: usize = 240;

/// For a span on a very long line (minified or garbage input), the text
/// with that line cut down to an excerpt around the span, and a function
/// mapping the file's offsets into it; so a report stays a few lines long.
fn excerpt(text: &str, span: Span) -> Option<(String, impl Fn(usize) -> usize)> {
    // A span may end, or even start, inside a multi-byte character (a
    // lexer error on one byte of it); every cut is moved back to a
    // character boundary.
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let at = floor(span.start as usize);
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |p| at + p);
    if line_end - line_start <= LONG_LINE {
        return None;
    }
    let from = floor(at.saturating_sub(LONG_LINE / 3).max(line_start));
    let to = floor(
        (span.end as usize)
            .max(at)
            .saturating_add(LONG_LINE / 3)
            .min(from + LONG_LINE)
            .min(line_end),
    );
    let mut cut = String::with_capacity(text.len() - (line_end - line_start) + (to - from) + 8);
    cut.push_str(&text[..line_start]);
    let head = if from > line_start { "… " } else { "" };
    let tail = if to < line_end { " …" } else { "" };
    cut.push_str(head);
    cut.push_str(&text[from..to]);
    cut.push_str(tail);
    cut.push_str(&text[line_end..]);
    let shift = line_start + head.len();
    // Where the text after the cut line starts in the excerpt. The markers
    // may be longer than what they replace, so no subtraction here.
    let cut_line_end = shift + (to - from) + tail.len();
    let map = move |offset: usize| {
        if offset < line_start {
            offset
        } else if offset > line_end {
            offset - line_end + cut_line_end
        } else {
            offset.clamp(from, to) - from + shift
        }
    };
    Some((cut, map))
}

fn render_one(diagnostic: &Diagnostic, color: bool, out: &mut String) {
    render_with(diagnostic, color, out, true)
}

fn render_with(diagnostic: &Diagnostic, color: bool, out: &mut String, cut_long_lines: bool) {
    let prefix = match diagnostic.severity {
        Severity::Note => "note",
        Severity::Warning => "warning",
        Severity::Error => "error",
    };
    let file = match diagnostic.file.as_ref() {
        Some(file) if diagnostic.severity != Severity::Note => file,
        _ => {
            let _ = writeln!(out, "{prefix}: {}", diagnostic.message);
            if let Some(help) = &diagnostic.help {
                let _ = writeln!(out, "help: {help}");
            }
            return;
        }
    };
    if let Some((text, map)) = excerpt(&file.text, diagnostic.span).filter(|_| cut_long_lines) {
        let moved = |span: Span| Span::new(map(span.start as usize), map(span.end as usize));
        let (line, column) = file.line_col(diagnostic.span.start);
        let mut shown = diagnostic.clone();
        shown.file = Some(SourceFile::new(file.name.clone(), text));
        shown.span = moved(diagnostic.span);
        for note in &mut shown.notes {
            note.span = moved(note.span);
        }
        let label = if shown.label.is_empty() {
            shown.message.clone()
        } else {
            shown.label.clone()
        };
        shown.label = format!("{label} (line {line}, column {column})");
        render_with(&shown, color, out, false);
        return;
    }
    let name = file.name.as_str();
    let len = file.text.len();
    // ariadne slices the text at the span's bytes, so each end is moved
    // back to a character boundary: a span from a lexer error may end
    // inside a multi-byte character, and rendering must never panic.
    let text = file.text.as_str();
    let floor = |i: u32| {
        let mut i = (i as usize).min(len);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let range = |span: Span| floor(span.start)..floor(span.end).max(floor(span.start));
    let kind = match diagnostic.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning | Severity::Note => ReportKind::Warning,
    };
    let label = if diagnostic.label.is_empty() {
        diagnostic.message.clone()
    } else {
        diagnostic.label.clone()
    };
    let mut report = Report::build(kind, (name, range(diagnostic.span)))
        .with_config(
            Config::default()
                .with_color(color)
                .with_index_type(IndexType::Byte),
        )
        .with_message(&diagnostic.message)
        .with_label(Label::new((name, range(diagnostic.span))).with_message(label));
    for note in &diagnostic.notes {
        report =
            report.with_label(Label::new((name, range(note.span))).with_message(&note.message));
    }
    if let Some(help) = &diagnostic.help {
        report = report.with_help(help);
    }
    let mut bytes = Vec::new();
    let written = report
        .finish()
        .write((name, Source::from(file.text.as_str())), &mut bytes);
    if written.is_err() {
        let (line, column) = file.line_col(diagnostic.span.start);
        let _ = writeln!(
            out,
            "error: {}\n  at {name}:{line}:{column}",
            diagnostic.message
        );
    } else {
        out.push_str(&String::from_utf8_lossy(&bytes));
    }
    if !diagnostic.trace.is_empty() {
        out.push_str("call stack (innermost first):\n");
        for line in &diagnostic.trace {
            let _ = writeln!(out, "  {line}");
        }
    }
    for nested in &diagnostic.nested {
        render_one(nested, color, out);
    }
}
