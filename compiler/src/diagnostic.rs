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

fn render_one(diagnostic: &Diagnostic, color: bool, out: &mut String) {
    let Some(file) = diagnostic.file.as_ref() else {
        let _ = writeln!(out, "error: {}", diagnostic.message);
        if let Some(help) = &diagnostic.help {
            let _ = writeln!(out, "help: {help}");
        }
        return;
    };
    let name = file.name.as_str();
    let len = file.text.len();
    let range = |span: Span| (span.start as usize).min(len)..(span.end as usize).min(len);
    let kind = match diagnostic.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
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
