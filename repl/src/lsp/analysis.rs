//! What the language server knows about one file, read from its syntax tree:
//! the top-level functions and imports, every local binding with where it is
//! visible, and the name under a position.
//!
//! Invariants: every span here is a byte range of the analysed text; a
//! binding's `visible` range starts at the binding itself (a `let` is not
//! visible in its own initialiser's text before it) and ends where its
//! scope (block, function body or arm) ends.

use bumpalo::Bump;
use weft_compiler::ast::{Arm, Block, Expr, ExprKind, FnDef, Pattern, PatternKind, Program, Stmt};
use weft_compiler::parser;
use weft_compiler::Span;

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

/// A local name: a parameter, a `let`, a `for` variable or a pattern's.
#[derive(Clone, Debug)]
pub struct Binding {
    pub name: String,
    pub span: Span,
    pub visible: Span,
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
    pub bindings: Vec<Binding>,
    references: Vec<Reference>,
}

impl Analysis {
    pub fn of(text: &str) -> Analysis {
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

    /// The local `name` visible at `offset` (the latest binding wins, as a
    /// later `let` shadows an earlier one).
    pub fn local(&self, name: &str, offset: usize) -> Option<&Binding> {
        self.visible(offset).filter(|b| b.name == name).last()
    }

    /// Every local visible at `offset`.
    pub fn visible(&self, offset: usize) -> impl Iterator<Item = &Binding> {
        let offset = offset as u32;
        self.bindings
            .iter()
            .filter(move |b| b.visible.start <= offset && offset <= b.visible.end)
    }

    fn program(&mut self, text: &str, program: Program<'_>) {
        let whole = Span {
            start: 0,
            end: text.len() as u32,
        };
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
        self.statements(program.stmts, whole);
    }

    fn statements(&mut self, stmts: &[Stmt<'_>], scope: Span) {
        for stmt in stmts {
            match stmt {
                Stmt::Let(pattern, value) => {
                    self.expr(value);
                    let visible = Span {
                        start: pattern.span.start,
                        end: scope.end,
                    };
                    self.pattern(pattern, visible);
                }
                Stmt::Expr(e) => self.expr(e),
                Stmt::Fn(def) => self.fn_def(def),
                Stmt::Import { .. } | Stmt::Error(_) => {}
            }
        }
    }

    fn fn_def(&mut self, def: &FnDef<'_>) {
        for param in def.params {
            self.pattern(param, def.body.span);
        }
        self.block(def.body);
    }

    fn block(&mut self, block: &Block<'_>) {
        self.statements(block.stmts, block.span);
    }

    fn arm(&mut self, arm: &Arm<'_>) {
        let visible = Span {
            start: arm.pattern.span.start,
            end: arm.body.span.end,
        };
        self.pattern(&arm.pattern, visible);
        if let Some(guard) = &arm.guard {
            self.expr(guard);
        }
        self.expr(&arm.body);
    }

    fn pattern(&mut self, pattern: &Pattern<'_>, visible: Span) {
        match pattern.kind {
            PatternKind::Bind(name) => self.bindings.push(Binding {
                name: name.to_string(),
                span: pattern.span,
                visible,
            }),
            PatternKind::Pin(name) => self.references.push(Reference::Name {
                name: name.to_string(),
                span: pattern.span,
            }),
            PatternKind::Tuple(items) => {
                for item in items {
                    self.pattern(item, visible);
                }
            }
            PatternKind::List(items, rest) => {
                for item in items {
                    self.pattern(item, visible);
                }
                if let Some(rest) = rest {
                    self.pattern(rest, visible);
                }
            }
            PatternKind::Map(pairs) => {
                for (key, value) in pairs {
                    self.pattern(key, visible);
                    self.pattern(value, visible);
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
                self.expr(iterable);
                self.pattern(pattern, body.span);
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
                        let visible = Span {
                            start: binding.span.start,
                            end: arm.body.span.end,
                        };
                        self.pattern(binding, visible);
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
