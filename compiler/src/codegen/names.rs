//! What the resolver decided, for tools (the language server): every local
//! binding with where it is declared and where it is in scope, and every
//! name the resolver took for one of them.
//!
//! The code generator records this itself, as it declares locals, opens and
//! closes scopes and resolves names, so a tool cannot disagree with the
//! compiler about which local a name means. Recording happens only when
//! asked (`names`): an ordinary compile carries no `Recorder`, and each hook
//! costs it one test of an `Option`.
//!
//! Invariants:
//! - `Recorder::scope_ends` mirrors the scopes open in the code generator,
//!   across all the functions being compiled (each function's own scope of
//!   parameters and captures included), innermost last: each entry is the
//!   offset where that scope's text ends.
//! - A binding's `visible` ranges start where the resolver begins to find
//!   it (after a `let`'s initialiser, after the pattern or parameter that
//!   binds it) and end where its scope ends; they leave out the bodies of
//!   top-level functions, which see no script locals.
//! - Bindings are numbered in the order the resolver declares them, and a
//!   scope opened later is either nested in an earlier one or after it: of
//!   the bindings of one name in scope at an offset, the last is the one a
//!   name there resolves to.
//! - Every `Use` names a binding of the same name, declared before it.

use std::sync::Arc;

use super::{Compiler, Environment, Local, Mode, NoImports, Session};
use crate::diagnostic::{SourceFile, Span};

/// Every local the resolver declared in a text, and every name it resolved
/// to one.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// In declaration order (see the invariants).
    pub bindings: Vec<Binding>,
    /// In the order the resolver met them.
    pub uses: Vec<Use>,
}

/// A local name: a parameter, a `let`, a `for` variable, a pattern's
/// variable (in a `let`, an arm of `match` or `receive`, a `select` arm), or
/// a function defined inside another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    /// The name where it is declared.
    pub span: Span,
    /// Where the binding is in scope, in source order (ends inclusive).
    /// Usually one range; a script's top-level local skips the top-level
    /// functions after it.
    pub visible: Vec<Span>,
}

/// A name the resolver took for a local.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Use {
    pub span: Span,
    /// An index into `Names::bindings`.
    pub binding: usize,
}

impl Binding {
    /// Is the binding in scope at `offset`?
    pub fn in_scope(&self, offset: usize) -> bool {
        self.visible
            .iter()
            .any(|s| s.start as usize <= offset && offset <= s.end as usize)
    }
}

impl Names {
    /// Every binding in scope at `offset` (shadowed ones too: the last of
    /// each name is the one a name there means).
    pub fn visible(&self, offset: usize) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.in_scope(offset))
    }

    /// The local `name` means at `offset`: the one the resolver chose if it
    /// resolved a name there, else the one a name written there would
    /// resolve to (code the compiler did not reach, or a name being typed).
    pub fn local(&self, name: &str, offset: usize) -> Option<&Binding> {
        let resolved = self.uses.iter().find_map(|u| {
            let binding = &self.bindings[u.binding];
            let here = u.span.start as usize <= offset && offset <= u.span.end as usize;
            (here && binding.name == name).then_some(binding)
        });
        resolved.or_else(|| self.visible(offset).filter(|b| b.name == name).last())
    }
}

/// Which recorded binding a local stands for (`NONE` when not recording,
/// and for a REPL session's variables, which have no declaration here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BindingId(u32);

impl BindingId {
    pub(super) const NONE: BindingId = BindingId(u32::MAX);
}

/// Where a local is declared: the name's span, and the end of the code
/// compiled before it is declared (its initialiser, its pattern): the
/// resolver finds it only after that offset.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Site {
    span: Span,
    from: u32,
}

impl Site {
    pub(super) fn new(span: Span, from: u32) -> Site {
        Site { span, from }
    }
}

/// The recording state of one compile (see the invariants).
pub(super) struct Recorder {
    names: Names,
    scope_ends: Vec<u32>,
    /// The spans of the file's top-level functions, in source order.
    top_level: Vec<Span>,
}

/// Resolves the names of `text` as compiling it would, and returns what the
/// resolver decided. Broken code yields what could be resolved: syntax
/// errors leave holes in the tree, and names that resolve to nothing are
/// skipped. Imports are not read (no local comes from another file).
pub fn names(text: &str) -> Names {
    let arena = bumpalo::Bump::new();
    let source: Arc<SourceFile> = SourceFile::new("<names>", text);
    let (program, _) = crate::parser::parse(text, &arena);
    // With syntax errors the parser skips its nesting check; the code
    // generator must not see a tree nested past the limit.
    if crate::parser::check_nesting(&program).is_some() {
        return Names::default();
    }
    let env = Environment::default();
    let mut loader = NoImports;
    let mut session = Session::new(&mut loader);
    let mut compiler = Compiler::new(
        &arena,
        Mode::Script,
        &[],
        &mut session,
        &env,
        source,
        "main",
    );
    compiler.record = Some(Recorder {
        names: Names::default(),
        scope_ends: Vec::new(),
        top_level: Vec::new(),
    });
    compiler.program(&program);
    compiler.record.map(|r| r.names).unwrap_or_default()
}

impl<'a> Compiler<'a, '_, '_> {
    /// A top-level function: script locals are not visible in it.
    pub(super) fn record_top_level(&mut self, span: Span) {
        if let Some(record) = &mut self.record {
            record.top_level.push(span);
        }
    }

    /// A scope opens; its text ends where `scope` ends.
    pub(super) fn record_scope(&mut self, scope: Span) {
        if let Some(record) = &mut self.record {
            record.scope_ends.push(scope.end);
        }
    }

    /// The innermost scope closes.
    pub(super) fn record_scope_end(&mut self) {
        if let Some(record) = &mut self.record {
            record.scope_ends.pop();
        }
    }

    /// A new binding of `name`, in scope from just after `site.from` to the
    /// end of the innermost open scope. (At `site.from` itself a cursor
    /// still touches the initialiser or pattern: `let y = y|` means the old
    /// `y`.)
    pub(super) fn record_binding(&mut self, name: &str, site: Site) -> BindingId {
        let Some(record) = &mut self.record else {
            return BindingId::NONE;
        };
        if name.is_empty() || name == "_" {
            return BindingId::NONE;
        }
        let mut start = site.from.saturating_add(1);
        let end = record.scope_ends.last().copied().unwrap_or(start);
        let mut visible = Vec::new();
        let first = record.top_level.partition_point(|f| f.start < start);
        for function in &record.top_level[first..] {
            if function.end > end {
                break;
            }
            if function.start > start {
                visible.push(Span {
                    start,
                    end: function.start,
                });
            }
            start = function.end;
        }
        if start <= end {
            visible.push(Span { start, end });
        }
        let id = BindingId(record.names.bindings.len() as u32);
        record.names.bindings.push(Binding {
            name: name.to_string(),
            span: site.span,
            visible,
        });
        id
    }

    /// `let x = ...` again in one block: the code generator keeps the old
    /// local (and its register), but from here on `x` is a new binding.
    pub(super) fn record_rebinding(&mut self, name: &'a str, site: Site) {
        if self.record.is_none() {
            return;
        }
        let binding = self.record_binding(name, site);
        let scope = self.state().scopes.last_mut();
        if let Some(local) = scope.and_then(|s| s.iter_mut().rev().find(|l| l.name == name)) {
            local.binding = binding;
        }
    }

    /// The resolver took the name at `span` for `local`.
    pub(super) fn record_use(&mut self, span: Span, local: Local<'a>) {
        if let (Some(record), true) = (&mut self.record, local.binding != BindingId::NONE) {
            record.names.uses.push(Use {
                span,
                binding: local.binding.0 as usize,
            });
        }
    }

    /// The local `name` at `span` resolves to, if any, recorded as a use.
    pub(super) fn local_use(&mut self, name: &str, span: Span) -> Option<Local<'a>> {
        let local = self.local(name)?;
        self.record_use(span, local);
        Some(local)
    }
}
