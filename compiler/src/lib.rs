//! Weft's compiler: source text to bytecode.
//!
//! The pipeline is `lexer` (logos) → `parser` (lalrpop, AST in a bumpalo
//! arena) → `codegen` (name resolution and register bytecode). Problems are
//! reported as plain-data `Diagnostic`s, rendered in one place
//! (`diagnostic::render`). The compiler does no I/O: imported files are read
//! through the `Loader` the host passes in.

// The public surface: the bytecode the VM runs, the syntax tree and parser
// (the language server reads them for a file's functions, imports and the
// names written in it), the formatter and disassembler (tools), and the
// names re-exported below, among them `names`: what the resolver decided
// about locals, so the language server takes scopes from the compiler. How
// names are resolved and code is generated, lexed and verified stays
// inside.
pub mod ast;
pub mod bytecode;
mod codegen;
mod diagnostic;
pub mod disasm;
pub mod format;
mod lexer;
mod limits;
pub mod parser;
mod verify;

use std::sync::Arc;

pub use bytecode::{Constant, Instr, Module, Proto};
pub use codegen::{names, Binding, Names, Use};
pub use codegen::{Environment, LoadedFile, Loader, NoImports, Session};
pub use diagnostic::{render, Diagnostic, Severity, SourceFile, Span};
pub use lexer::{atom_source, is_plain_atom, write_bytes_source, KEYWORDS};
pub use limits::{MAX_ERRORS, MAX_NESTING};
pub use verify::{verify_module, VerifyError};

/// Compiles a program: `source` and everything it imports. Returns the
/// modules in load order, `source`'s own module (named `module_name`) last.
pub fn compile(
    source: Arc<SourceFile>,
    module_name: &str,
    env: &Environment,
    loader: &mut dyn Loader,
) -> Result<Vec<Module>, Vec<Diagnostic>> {
    if let Some(diagnostic) = check_text(&source) {
        return Err(vec![diagnostic.in_file(&source)]);
    }
    let mut session = Session::new(loader);
    codegen::compile_file(&mut session, env, source, module_name)?;
    Ok(session.modules)
}

/// Compiles a REPL entry (see `codegen::compile_entry`): returns the
/// modules to load and the session's variable names after the entry.
pub fn compile_entry(
    source: Arc<SourceFile>,
    module_name: &str,
    env: &Environment,
    loader: &mut dyn Loader,
    session_names: &[String],
) -> Result<(Vec<Module>, Vec<String>), Vec<Diagnostic>> {
    if let Some(diagnostic) = check_text(&source) {
        return Err(vec![diagnostic.in_file(&source)]);
    }
    let mut session = Session::new(loader);
    let names = codegen::compile_entry(&mut session, env, source, module_name, session_names)?;
    Ok((session.modules, names))
}

/// Is `text` an unfinished entry (an open bracket or string, or a line
/// ending in an operator)? The REPL then reads another line.
pub fn needs_more_input(text: &str) -> bool {
    let arena = bumpalo::Bump::new();
    let (_, diagnostics) = parser::parse(text, &arena);
    diagnostics
        .iter()
        .any(|d| d.message == "unexpected end of file")
        || (text.trim_end().ends_with('"')
            && diagnostics
                .iter()
                .any(|d| d.message == "unterminated string"))
}

/// Rejects text that is not a program at all (a NUL byte means binary data).
fn check_text(source: &SourceFile) -> Option<Diagnostic> {
    let nul = source.text.find('\0')?;
    Some(
        Diagnostic::error(
            "this file contains a NUL byte: it is not Weft source text",
            Span::new(nul, nul + 1),
        )
        .with_help("Weft source files are UTF-8 text"),
    )
}

/// Turns raw bytes into source text, or a diagnostic at the first byte that
/// is not UTF-8.
pub fn decode_source(name: &str, bytes: Vec<u8>) -> Result<Arc<SourceFile>, Box<Diagnostic>> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            // Show only the valid text before the bad byte: echoing binary
            // garbage to a terminal could scramble it.
            let valid = String::from_utf8_lossy(&error.as_bytes()[..at]).into_owned();
            let file = SourceFile::new(name, valid);
            Err(Box::new(
                Diagnostic::error(
                    format!("this file is not valid UTF-8 text (bad byte at offset {at})"),
                    Span::new(at, at),
                )
                .with_help("Weft source files are UTF-8 text")
                .in_file(&file),
            ))
        }
    }
}
