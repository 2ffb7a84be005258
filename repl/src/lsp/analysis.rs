//! What the language server knows about one file. Which local a name
//! means, and where each local is visible, come from the compiler's own
//! resolver (`weft_compiler::names`), so the server cannot disagree with
//! the compiler about them. What the resolver does not decide is read here
//! from the syntax tree: the top-level functions with their doc comments,
//! the imports, and the names written at each position.
//!
//! Invariants: every span here is a byte range of the analysed text, and
//! `names` is the resolver's record for exactly that text (empty for an
//! `outline`).

use bumpalo::Bump;
use weft_compiler::ast::{Arm, Block, Expr, ExprKind, FnDef, Pattern, PatternKind, Program, Stmt};
use weft_compiler::parser;
use weft_compiler::{Binding, Names, Span};

/// A top-level function.
#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    pub name_span: Span,
    pub span: Span,
    pub params: Vec<String>,
    /// The comment lines just above `fn`, without their `#`.
    pub doc: String,
}

impl Function {
    pub fn signature(&self) -> String {
        format!("fn {}({})", self.name, self.params.join(", "))
    }
}

/// `import "path" as alias`.
#[derive(Clone, Debug)]
pub struct Import {
    pub alias: String,
    pub path: String,
    pub span: Span,
}

/// What the cursor is on.
#[derive(Clone, Debug, PartialEq)]
pub enum Reference {
    /// A bare name (a local, a function of this file or a builtin).
    Name { name: String, span: Span },
    /// `module.member`: a standard module's or an import's function.
    Member {
        module: String,
        member: String,
        span: Span,
    },
}

#[derive(Default, Debug)]
pub struct Analysis {
    pub functions: Vec<Function>,
    pub imports: Vec<Import>,
    /// The locals, as the compiler resolved them.
    names: Names,
    references: Vec<Reference>,
}

impl Analysis {
    /// Everything about a document the editor has open.
    pub fn of(text: &str) -> Analysis {
        Analysis {
            names: weft_compiler::names(text),
            ..Analysis::outline(text)
        }
    }

    /// Only the functions, imports and references (an imported file, read
    /// for its functions): its locals are not resolved.
    pub fn outline(text: &str) -> Analysis {
        let arena = Bump::new();
        let (program, _) = parser::parse(text, &arena);
        let mut analysis = Analysis::default();
        analysis.program(text, program);
        analysis
    }

    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    pub fn import(&self, alias: &str) -> Option<&Import> {
        self.imports.iter().find(|i| i.alias == alias)
    }

    /// The innermost reference whose span holds `offset`.
    pub fn reference_at(&self, offset: usize) -> Option<&Reference> {
        let offset = offset as u32;
        self.references
            .iter()
            .filter(|r| {
                let span = r.span();
                span.start <= offset && offset <= span.end
            })
            .min_by_key(|r| r.span().end - r.span().start)
    }

    /// The local `name` means at `offset`, as the compiler resolves it.
    pub fn local(&self, name: &str, offset: usize) -> Option<&Binding> {
        self.names.local(name, offset)
    }

    /// Every local in scope at `offset`, as the compiler sees it.
    pub fn visible(&self, offset: usize) -> impl Iterator<Item = &Binding> {
        self.names.visible(offset)
    }

    fn program(&mut self, text: &str, program: Program<'_>) {
        for stmt in program.stmts {
            match stmt {
                Stmt::Fn(def) => {
                    if let Some(name) = def.name {
                        self.functions.push(Function {
                            name: name.to_string(),
                            name_span: def.name_span,
                            span: def.span,
                            params: def.params.iter().map(|p| pattern_text(text, p)).collect(),
                            doc: doc_comment(text, def.span.start as usize),
                        });
                    }
                }
                Stmt::Import { path, name, span } => self.imports.push(Import {
                    alias: name.to_string(),
                    path: path.to_string(),
                    span: *span,
                }),
                _ => {}
            }
        }
        self.statements(program.stmts);
    }

    // The walk below only collects the names written in the text (bare,
    // pinned, assigned, and `module.member`); what each one means is the
    // compiler's answer (`local`).

    fn statements(&mut self, stmts: &[Stmt<'_>]) {
        for stmt in stmts {
            match stmt {
                Stmt::Let(pattern, value) => {
                    self.pattern(pattern);
                    self.expr(value);
                }
                Stmt::Expr(e) => self.expr(e),
                Stmt::Fn(def) => self.fn_def(def),
                Stmt::Import { .. } | Stmt::Error(_) => {}
            }
        }
    }

    fn fn_def(&mut self, def: &FnDef<'_>) {
        for param in def.params {
            self.pattern(param);
        }
        self.block(def.body);
    }

    fn block(&mut self, block: &Block<'_>) {
        self.statements(block.stmts);
    }

    fn arm(&mut self, arm: &Arm<'_>) {
        self.pattern(&arm.pattern);
        if let Some(guard) = &arm.guard {
            self.expr(guard);
        }
        self.expr(&arm.body);
    }

    /// A pattern's pins (its bound names are declarations, not references).
    fn pattern(&mut self, pattern: &Pattern<'_>) {
        match pattern.kind {
            PatternKind::Pin(name) => self.references.push(Reference::Name {
                name: name.to_string(),
                span: pattern.span,
            }),
            PatternKind::Tuple(items) => items.iter().for_each(|i| self.pattern(i)),
            PatternKind::List(items, rest) => {
                items.iter().for_each(|i| self.pattern(i));
                if let Some(rest) = rest {
                    self.pattern(rest);
                }
            }
            PatternKind::Map(pairs) => {
                for (key, value) in pairs {
                    self.pattern(key);
                    self.pattern(value);
                }
            }
            _ => {}
        }
    }

    fn expr(&mut self, e: &Expr<'_>) {
        match e.kind {
            ExprKind::Name(name) => self.references.push(Reference::Name {
                name: name.to_string(),
                span: e.span,
            }),
            ExprKind::Member(module, member, member_span) => {
                if let ExprKind::Name(module_name) = module.kind {
                    self.references.push(Reference::Member {
                        module: module_name.to_string(),
                        member: member.to_string(),
                        span: Span {
                            start: module.span.start,
                            end: member_span.end,
                        },
                    });
                } else {
                    self.expr(module);
                }
            }
            ExprKind::List(items) | ExprKind::Tuple(items) => {
                items.iter().for_each(|i| self.expr(i))
            }
            ExprKind::Map(pairs) => {
                for (k, v) in pairs {
                    self.expr(k);
                    self.expr(v);
                }
            }
            ExprKind::Neg(x) | ExprKind::Not(x) | ExprKind::ChanRecv(x) | ExprKind::Try(x) => {
                self.expr(x)
            }
            ExprKind::IndexAssign(x) => self.expr(x),
            ExprKind::Binary(_, a, b)
            | ExprKind::And(a, b)
            | ExprKind::Or(a, b)
            | ExprKind::Range(a, b)
            | ExprKind::Index(a, b)
            | ExprKind::Send(a, b)
            | ExprKind::ChanSend(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call(callee, args) => {
                self.expr(callee);
                args.iter().for_each(|a| self.expr(a));
            }
            ExprKind::Lambda(def) => self.fn_def(def),
            ExprKind::Block(block) | ExprKind::Loop(block) => self.block(block),
            ExprKind::If(cond, then, otherwise) => {
                self.expr(cond);
                self.block(then);
                if let Some(otherwise) = otherwise {
                    self.expr(otherwise);
                }
            }
            ExprKind::While(cond, body) => {
                self.expr(cond);
                self.block(body);
            }
            ExprKind::For(pattern, iterable, body) => {
                self.pattern(pattern);
                self.expr(iterable);
                self.block(body);
            }
            ExprKind::Match(subject, arms) => {
                self.expr(subject);
                arms.iter().for_each(|a| self.arm(a));
            }
            ExprKind::Receive(arms, after) => {
                arms.iter().for_each(|a| self.arm(a));
                if let Some(after) = after {
                    self.expr(&after.timeout);
                    self.expr(&after.body);
                }
            }
            ExprKind::Select(arms, after) => {
                for arm in arms {
                    self.expr(&arm.op);
                    if let Some(binding) = &arm.binding {
                        self.pattern(binding);
                    }
                    self.expr(&arm.body);
                }
                if let Some(after) = after {
                    self.expr(&after.timeout);
                    self.expr(&after.body);
                }
            }
            ExprKind::Spawn(x, _) => self.expr(x),
            ExprKind::Break(x) | ExprKind::Return(x) => {
                if let Some(x) = x {
                    self.expr(x);
                }
            }
            ExprKind::Assign {
                name,
                name_span,
                value,
                ..
            } => {
                self.references.push(Reference::Name {
                    name: name.to_string(),
                    span: name_span,
                });
                self.expr(value);
            }
            ExprKind::Nil
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Bytes(_)
            | ExprKind::Atom(_)
            | ExprKind::Continue => {}
        }
    }
}

impl Reference {
    pub fn span(&self) -> Span {
        match self {
            Reference::Name { span, .. } | Reference::Member { span, .. } => *span,
        }
    }
}

fn pattern_text(text: &str, pattern: &Pattern<'_>) -> String {
    text.get(pattern.span.start as usize..pattern.span.end as usize)
        .unwrap_or("_")
        .to_string()
}

/// The `#` comment lines directly above the line holding `offset`.
fn doc_comment(text: &str, offset: usize) -> String {
    let before = &text[..text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1)];
    let mut lines: Vec<&str> = Vec::new();
    for line in before.lines().rev() {
        let line = line.trim();
        match line.strip_prefix('#') {
            Some(comment) => lines.push(comment.strip_prefix(' ').unwrap_or(comment)),
            None => break,
        }
    }
    lines.reverse();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# Adds one.
# Twice documented.
fn inc(x) { x + 1 }

fn main(n) {
  let y = inc(n)
  for i in 0..y { print(i) }
  receive { (:ok, z) => z + y }
}
";

    #[test]
    fn functions_carry_their_signature_and_doc_comment() {
        let a = Analysis::of(TEXT);
        let inc = a.function("inc").unwrap();
        assert_eq!(inc.signature(), "fn inc(x)");
        assert_eq!(inc.doc, "Adds one.\nTwice documented.");
        assert_eq!(a.function("main").unwrap().doc, "");
    }

    #[test]
    fn locals_are_visible_in_their_scope_only() {
        let a = Analysis::of(TEXT);
        let at = |s: &str| TEXT.find(s).unwrap();
        assert!(a.local("y", at("0..y")).is_some());
        assert!(a.local("i", at("print(i)")).is_some());
        assert!(a.local("i", at("receive")).is_none());
        assert!(a.local("z", at("z + y")).is_some());
        assert!(a.local("x", at("print")).is_none());
        let y = a.local("y", at("z + y")).unwrap();
        assert_eq!(&TEXT[y.span.start as usize..y.span.end as usize], "y");
    }

    /// Where a walk of the tree that guesses scopes goes wrong, the answer
    /// is the compiler's.
    #[test]
    fn locals_are_resolved_as_the_compiler_resolves_them() {
        let text = "\
let x = 1
let x = x + 1
fn f() { x }
let g = fn(x) { x * 2 }
receive { (:pin, ^x) => x, x => g(x) }
";
        let a = Analysis::of(text);
        let at = |s: &str, extra: usize| text.find(s).unwrap() + extra;
        let declared = |offset: usize| a.local("x", offset).map(|b| b.span.start as usize);
        let (first, second) = (at("x = 1", 0), at("x = x", 0));
        // Not visible in its own initialiser (it reuses the register).
        assert_eq!(declared(at("x + 1", 0)), Some(first));
        // A top-level function sees no script locals.
        assert_eq!(declared(at("{ x }", 2)), None);
        // A closure's parameter shadows the outer name.
        assert_eq!(declared(at("x * 2", 0)), Some(at("fn(x)", 3)));
        // A pin means the variable before the pattern; the arm binds anew.
        assert_eq!(declared(at("^x", 1)), Some(second));
        assert_eq!(declared(at("=> x,", 3)), Some(second));
        assert_eq!(declared(at("g(x)", 2)), Some(at("x => g", 0)));
        // Completion inside `f` offers no script local.
        assert!(a.visible(at("{ x }", 2)).next().is_none());
    }

    #[test]
    fn the_reference_under_the_cursor() {
        let a = Analysis::of("let s = list.map([1], inc)\n");
        assert_eq!(
            a.reference_at(10),
            Some(&Reference::Member {
                module: "list".into(),
                member: "map".into(),
                span: Span { start: 8, end: 16 }
            })
        );
        assert!(matches!(a.reference_at(23), Some(Reference::Name { name, .. }) if name == "inc"));
    }
}
