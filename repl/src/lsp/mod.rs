//! `weft lsp`: a language server over stdio.
//!
//! lsp-server carries the JSON-RPC; this module answers: diagnostics on
//! open and change (the compiler's own, full-text sync), go to definition
//! (locals, this file's functions, an import's functions), hover (a
//! function's signature and doc comment; a standard function's entry from
//! docs/STDLIB.md), completion (locals, functions, builtins, modules and
//! their members, keywords) and document symbols.
//!
//! Invariants: the server holds the text the editor last sent for each open
//! document, and the `Analysis` of exactly that text (rebuilt on every
//! change, so a request never parses); positions cross the protocol in
//! UTF-16 code units (`LineIndex`), and are byte offsets everywhere else;
//! a document is published under exactly the URI the editor sent (the
//! `Url` type normalises `file://` to `file:///`, so the text the editor
//! sent is kept beside it); nothing the client sends can make the server
//! panic, allocate without bound or wait on a file (`transport.rs` reads
//! the messages; documents are capped at `MAX_DOCUMENT`; imports are read
//! as the compiler reads them, regular files only, with its size cap).

mod analysis;
mod stdlib_docs;
pub mod transport;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use lsp_server::{Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest, Request as _,
};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionOptions, CompletionParams, CompletionResponse,
    DiagnosticSeverity, DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse,
    GotoDefinitionParams, GotoDefinitionResponse, Hover, HoverContents, HoverParams,
    HoverProviderCapability, Location, MarkupContent, MarkupKind, OneOf, Position, Range,
    ServerCapabilities, SymbolKind, TextDocumentSyncCapability, TextDocumentSyncKind, Url,
};
use weft_compiler::Severity;
use weft_compiler::{Environment, SourceFile, Span};

use self::analysis::{Analysis, Reference};
use crate::files::FileLoader;

pub fn main() -> ExitCode {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut transport = transport::Transport::new(stdin.lock(), stdout.lock());
    match serve(&mut transport) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("weft lsp: {message}");
            ExitCode::from(1)
        }
    }
}

/// The largest document the server analyses: the compiler's cap on a
/// source file. A larger one gets one diagnostic saying so.
const MAX_DOCUMENT: usize = crate::files::MAX_SOURCE_BYTES as usize;

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        // Columns are counted in UTF-16 code units, the protocol's default
        // and the one encoding every client supports.
        position_encoding: Some(lsp_types::PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        definition_provider: Some(OneOf::Left(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".to_string()]),
            ..CompletionOptions::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// What the server answers `initialize` with.
fn initialize_result() -> serde_json::Value {
    serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": {"name": "weft lsp", "version": env!("CARGO_PKG_VERSION")},
    })
}

type StdTransport<'a> = transport::Transport<std::io::StdinLock<'a>, std::io::StdoutLock<'a>>;

/// The protocol's life: `initialize` first (other requests before it are
/// refused with ServerNotInitialized), then requests and notifications
/// until `shutdown`, then `exit`. Only the end of the input or a failing
/// output ends it early.
fn serve(transport: &mut StdTransport<'_>) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let mut server = Server::new();
    let mut initialized = false;
    let mut shut_down = false;
    while let Some(incoming) = transport.receive().map_err(io)? {
        let message = match incoming {
            transport::Incoming::Message(message) => message,
            transport::Incoming::Rejected(why) => {
                // Answered already; the editor's log shows stderr.
                eprintln!("weft lsp: skipped a message: {why}");
                continue;
            }
        };
        match message {
            Message::Request(request) => {
                let response = if request.method == "initialize" {
                    initialized = true;
                    Response::new_ok(request.id, initialize_result())
                } else if !initialized {
                    Response::new_err(
                        request.id,
                        lsp_server::ErrorCode::ServerNotInitialized as i32,
                        "the server is not initialized yet".to_string(),
                    )
                } else if request.method == "shutdown" {
                    shut_down = true;
                    Response::new_ok(request.id, serde_json::Value::Null)
                } else if shut_down {
                    Response::new_err(
                        request.id,
                        lsp_server::ErrorCode::InvalidRequest as i32,
                        "the server is shutting down".to_string(),
                    )
                } else {
                    server.request(request)
                };
                transport.send(Message::Response(response)).map_err(io)?;
            }
            Message::Notification(notification) => {
                if notification.method == "exit" {
                    return Ok(());
                }
                if !initialized || shut_down {
                    continue;
                }
                for out in server.notification(notification) {
                    transport.send(Message::Notification(out)).map_err(io)?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Document {
    /// The URI exactly as the editor wrote it (diagnostics go back under it).
    uri: String,
    text: String,
    lines: LineIndex,
    analysis: Analysis,
    /// Over `MAX_DOCUMENT`: kept, not analysed.
    too_large: bool,
}

impl Document {
    fn new(uri: String, text: String) -> Document {
        let too_large = text.len() > MAX_DOCUMENT;
        Document {
            uri,
            lines: LineIndex::new(if too_large { "" } else { &text }),
            analysis: Analysis::of(if too_large { "" } else { &text }),
            text: if too_large { String::new() } else { text },
            too_large,
        }
    }
}

/// The `textDocument.uri` of a notification's parameters, as written.
fn raw_uri(params: &serde_json::Value) -> Option<String> {
    params
        .get("textDocument")?
        .get("uri")?
        .as_str()
        .map(str::to_string)
}

struct Server {
    documents: HashMap<Url, Document>,
    environment: Environment,
}

impl Server {
    fn new() -> Server {
        // The names `weft FILE` offers (io granted, as the command grants it).
        let vm = weft_vm::Vm::builder()
            .allow_io(true)
            .allow_net(true)
            .build();
        Server {
            documents: HashMap::new(),
            environment: vm.environment(),
        }
    }

    fn notification(&mut self, notification: Notification) -> Vec<Notification> {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let raw = raw_uri(&notification.params);
                let Ok(params) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(
                    notification.params,
                ) else {
                    return Vec::new();
                };
                let uri = params.text_document.uri;
                let raw = raw.unwrap_or_else(|| uri.to_string());
                self.documents
                    .insert(uri.clone(), Document::new(raw, params.text_document.text));
                vec![self.diagnostics(&uri)]
            }
            DidChangeTextDocument::METHOD => {
                let raw = raw_uri(&notification.params);
                let Ok(params) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(
                    notification.params,
                ) else {
                    return Vec::new();
                };
                // Full sync: the last change holds the whole text.
                let Some(change) = params.content_changes.into_iter().last() else {
                    return Vec::new();
                };
                let uri = params.text_document.uri;
                let raw = raw.unwrap_or_else(|| uri.to_string());
                self.documents
                    .insert(uri.clone(), Document::new(raw, change.text));
                vec![self.diagnostics(&uri)]
            }
            DidCloseTextDocument::METHOD => {
                let raw = raw_uri(&notification.params);
                let Ok(params) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(
                    notification.params,
                ) else {
                    return Vec::new();
                };
                let uri = params.text_document.uri;
                let raw = self
                    .documents
                    .remove(&uri)
                    .map(|d| d.uri)
                    .or(raw)
                    .unwrap_or_else(|| uri.to_string());
                vec![publish(&raw, Vec::new())]
            }
            _ => Vec::new(),
        }
    }

    fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            GotoDefinition::METHOD => parse(request).map(|p| to_json(self.definition(p))),
            HoverRequest::METHOD => parse(request).map(|p| to_json(self.hover(p))),
            Completion::METHOD => parse(request).map(|p| to_json(self.completion(p))),
            DocumentSymbolRequest::METHOD => parse(request).map(|p| to_json(self.symbols(p))),
            other => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("weft lsp does not answer {other}"),
                )
            }
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err(message) => error_response(id, message),
        }
    }

    /// The compiler's diagnostics for one document, as the editor wants them.
    fn diagnostics(&self, uri: &Url) -> Notification {
        let Some(document) = self.documents.get(uri) else {
            return publish(uri.as_str(), Vec::new());
        };
        if document.too_large {
            let message = format!(
                "this document is larger than {} MiB, the limit for a source file; weft lsp does not analyse it",
                MAX_DOCUMENT >> 20
            );
            let diagnostic = lsp_types::Diagnostic {
                severity: Some(DiagnosticSeverity::ERROR),
                source: Some("weft".to_string()),
                message,
                ..lsp_types::Diagnostic::default()
            };
            return publish(&document.uri, vec![diagnostic]);
        }
        let name = file_name(uri);
        let source = SourceFile::new(name.clone(), document.text.clone());
        let found = match weft_compiler::compile(source, "main", &self.environment, &mut FileLoader)
        {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics,
        };
        let list = found
            .iter()
            .filter(|d| d.severity != Severity::Note)
            // A problem inside an imported file is reported on the import.
            .filter(|d| d.file.as_ref().is_none_or(|f| f.name == name))
            .map(|d| {
                let mut message = d.message.clone();
                if !d.label.is_empty() && d.label != d.message {
                    message = format!("{message}: {}", d.label);
                }
                for nested in &d.nested {
                    message = format!("{message}\n{}", nested.message);
                }
                if let Some(help) = &d.help {
                    message = format!("{message}\nhelp: {help}");
                }
                lsp_types::Diagnostic {
                    range: document.lines.range(&document.text, d.span),
                    severity: Some(match d.severity {
                        Severity::Warning => DiagnosticSeverity::WARNING,
                        _ => DiagnosticSeverity::ERROR,
                    }),
                    source: Some("weft".to_string()),
                    message,
                    ..lsp_types::Diagnostic::default()
                }
            })
            .collect();
        publish(&document.uri, list)
    }

    fn definition(&self, params: GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
        let position = params.text_document_position_params;
        let uri = position.text_document.uri;
        let document = self.documents.get(&uri)?;
        let offset = document.lines.offset(&document.text, position.position);
        let location = |uri: &Url, text: &str, lines: &LineIndex, span: Span| Location {
            uri: uri.clone(),
            range: lines.range(text, span),
        };
        // The editor's own spelling of this document's URI, for a location
        // inside it (`Url` normalises what it parses).
        let here = Url::parse(&document.uri).unwrap_or_else(|_| uri.clone());
        match document.analysis.reference_at(offset)? {
            Reference::Name { name, .. } => {
                if let Some(local) = document.analysis.local(name, offset) {
                    return Some(GotoDefinitionResponse::Scalar(location(
                        &here,
                        &document.text,
                        &document.lines,
                        local.span,
                    )));
                }
                let function = document.analysis.function(name)?;
                Some(GotoDefinitionResponse::Scalar(location(
                    &here,
                    &document.text,
                    &document.lines,
                    function.name_span,
                )))
            }
            Reference::Member { module, member, .. } => {
                let (target, text) = self.imported(&uri, document, module)?;
                let analysis = Analysis::outline(&text);
                let function = analysis.function(member)?;
                let lines = LineIndex::new(&text);
                Some(GotoDefinitionResponse::Scalar(location(
                    &target,
                    &text,
                    &lines,
                    function.name_span,
                )))
            }
        }
    }

    /// The file an import alias names: its URI and text (the editor's copy
    /// when it is open, else the file on disk).
    fn imported(&self, uri: &Url, document: &Document, alias: &str) -> Option<(Url, String)> {
        let import = document.analysis.import(alias)?;
        let base = uri
            .to_file_path()
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from))
            .unwrap_or_default();
        let path = base.join(&import.path);
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        let target = Url::from_file_path(&path).ok()?;
        if let Some(open) = self.documents.get(&target) {
            return Some((target, open.text.clone()));
        }
        // As the compiler reads imports: regular files only (a FIFO or a
        // device could block or never end), at most the source size cap.
        let source = crate::files::read_source(&path.to_string_lossy()).ok()?;
        Some((target, source.text.to_string()))
    }

    fn hover(&self, params: HoverParams) -> Option<Hover> {
        let position = params.text_document_position_params;
        let uri = position.text_document.uri;
        let document = self.documents.get(&uri)?;
        let offset = document.lines.offset(&document.text, position.position);
        let reference = document.analysis.reference_at(offset)?;
        let markdown = match reference {
            Reference::Name { name, .. } => {
                if document.analysis.local(name, offset).is_some() {
                    format!("```weft\n{name}\n```\n\na local name")
                } else if let Some(function) = document.analysis.function(name) {
                    function_markdown(function)
                } else if let Some(entry) = stdlib_docs::entry(name) {
                    entry_markdown(entry)
                } else if self.environment.globals.contains(name.as_str()) {
                    format!("```weft\n{name}(...)\n```\n\na builtin (LANGUAGE.md §9)")
                } else {
                    return None;
                }
            }
            Reference::Member { module, member, .. } => {
                if let Some(entry) = stdlib_docs::entry(&format!("{module}.{member}")) {
                    entry_markdown(entry)
                } else if let Some((_, text)) = self.imported(&uri, document, module) {
                    let analysis = Analysis::outline(&text);
                    function_markdown(analysis.function(member)?)
                } else {
                    return None;
                }
            }
        };
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: markdown,
            }),
            range: Some(document.lines.range(&document.text, reference.span())),
        })
    }

    fn completion(&self, params: CompletionParams) -> Option<CompletionResponse> {
        let position = params.text_document_position;
        let uri = position.text_document.uri;
        let document = self.documents.get(&uri)?;
        let offset = document.lines.offset(&document.text, position.position);
        let before = &document.text[..offset];
        // Where the word being typed starts: after the last character that
        // cannot be in a name (which may be several bytes wide).
        let word_start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '?'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let mut items: Vec<CompletionItem> = Vec::new();
        let mut add = |label: &str, kind: CompletionItemKind, detail: Option<String>| {
            if !items.iter().any(|i| i.label == label) {
                items.push(CompletionItem {
                    label: label.to_string(),
                    kind: Some(kind),
                    detail,
                    ..CompletionItem::default()
                });
            }
        };
        if before[..word_start].ends_with('.') {
            // `module.` completes the module's members.
            let module_end = word_start - 1;
            let module_start = before[..module_end]
                .char_indices()
                .rev()
                .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let module = &before[module_start..module_end];
            let prefix = format!("{module}.");
            for name in self.environment.globals.iter() {
                if let Some(member) = name.strip_prefix(&prefix) {
                    let detail = stdlib_docs::entry(name).map(|e| e.signature.clone());
                    let kind = if self.environment.constants.contains_key(name) {
                        CompletionItemKind::CONSTANT
                    } else {
                        CompletionItemKind::FUNCTION
                    };
                    add(member, kind, detail);
                }
            }
            if let Some((_, text)) = self.imported(&uri, document, module) {
                for function in Analysis::outline(&text).functions {
                    add(
                        &function.name,
                        CompletionItemKind::FUNCTION,
                        Some(function.signature()),
                    );
                }
            }
        } else {
            for local in document.analysis.visible(offset) {
                add(&local.name, CompletionItemKind::VARIABLE, None);
            }
            for function in &document.analysis.functions {
                add(
                    &function.name,
                    CompletionItemKind::FUNCTION,
                    Some(function.signature()),
                );
            }
            for import in &document.analysis.imports {
                add(
                    &import.alias,
                    CompletionItemKind::MODULE,
                    Some(import.path.clone()),
                );
            }
            for name in self.environment.globals.iter() {
                match name.split_once('.') {
                    Some((module, _)) => add(module, CompletionItemKind::MODULE, None),
                    None => add(name, CompletionItemKind::FUNCTION, None),
                }
            }
            for keyword in crate::repl::complete::KEYWORDS {
                add(keyword, CompletionItemKind::KEYWORD, None);
            }
        }
        Some(CompletionResponse::Array(items))
    }

    fn symbols(&self, params: DocumentSymbolParams) -> Option<DocumentSymbolResponse> {
        let document = self.documents.get(&params.text_document.uri)?;
        let (text, lines) = (&document.text, &document.lines);
        let mut symbols = Vec::new();
        for import in &document.analysis.imports {
            #[allow(deprecated)] // `deprecated` is a required field of the struct.
            symbols.push(DocumentSymbol {
                name: import.alias.clone(),
                detail: Some(import.path.clone()),
                kind: SymbolKind::MODULE,
                tags: None,
                deprecated: None,
                range: lines.range(text, import.span),
                selection_range: lines.range(text, import.span),
                children: None,
            });
        }
        for function in &document.analysis.functions {
            #[allow(deprecated)]
            symbols.push(DocumentSymbol {
                name: function.name.clone(),
                detail: Some(function.signature()),
                kind: SymbolKind::FUNCTION,
                tags: None,
                deprecated: None,
                range: lines.range(text, function.span),
                selection_range: lines.range(text, function.name_span),
                children: None,
            });
        }
        Some(DocumentSymbolResponse::Nested(symbols))
    }
}

fn function_markdown(function: &analysis::Function) -> String {
    let mut text = format!("```weft\n{}\n```", function.signature());
    if !function.doc.is_empty() {
        text.push_str("\n\n");
        text.push_str(&function.doc);
    }
    text
}

fn entry_markdown(entry: &stdlib_docs::Entry) -> String {
    format!("```weft\n{}\n```\n\n{}", entry.signature, entry.text)
}

/// The name the compiler gives the document: its path for a file (imports
/// resolve beside it), else the URI as written (an unsaved buffer).
fn file_name(uri: &Url) -> String {
    match uri.to_file_path() {
        Ok(path) => path.to_string_lossy().into_owned(),
        Err(()) => uri.to_string(),
    }
}

/// Diagnostics for the document the editor calls `uri` (exactly as it
/// wrote it: a `Url` would normalise it, and the editor would attach them to
/// a document it does not have).
fn publish(uri: &str, diagnostics: Vec<lsp_types::Diagnostic>) -> Notification {
    Notification::new(
        PublishDiagnostics::METHOD.to_string(),
        serde_json::json!({"uri": uri, "diagnostics": diagnostics}),
    )
}

fn parse<P: serde::de::DeserializeOwned>(request: Request) -> Result<P, String> {
    serde_json::from_value(request.params).map_err(|e| format!("bad parameters: {e}"))
}

fn to_json<T: serde::Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn error_response(id: RequestId, message: String) -> Response {
    Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, message)
}

/// Byte offsets to LSP positions (line, UTF-16 column) and back.
struct LineIndex {
    /// The byte offset where each line starts.
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn position(&self, text: &str, offset: usize) -> Position {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let column = text
            .get(start..offset)
            .map_or(0, |s| s.encode_utf16().count());
        Position::new(line as u32, column as u32)
    }

    fn range(&self, text: &str, span: Span) -> Range {
        Range::new(
            self.position(text, span.start as usize),
            self.position(text, span.end as usize),
        )
    }

    /// The byte offset of a position; past the end of its line, the line's
    /// end (as the protocol asks).
    fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return text.len();
        };
        let end = self
            .starts
            .get(position.line as usize + 1)
            .map_or(text.len(), |&next| next - 1);
        let mut units = 0;
        for (i, c) in text[start..end].char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_code_units() {
        let text = "let s = \"é𝄞\"\nx";
        let lines = LineIndex::new(text);
        // `é` is one UTF-16 unit (two bytes); `𝄞` is two units (four bytes).
        let closing_quote = text.rfind('"').unwrap();
        assert_eq!(lines.position(text, closing_quote), Position::new(0, 12));
        assert_eq!(lines.offset(text, Position::new(0, 12)), closing_quote);
        assert_eq!(lines.position(text, text.len() - 1), Position::new(1, 0));
        assert_eq!(
            lines.offset(text, Position::new(0, 99)),
            text.find('\n').unwrap()
        );
    }
}
