//! Collects the names a piece of syntax mentions (so a closure knows which
//! of its surroundings' variables to capture before its body is compiled,
//! and a call knows which variables its later arguments read), or only the
//! names it assigns.
//!
//! The sets are over-approximations (a name the body also binds itself is
//! still listed): capturing a value the body then shadows costs one register
//! and changes nothing, while missing one would be wrong.

use std::collections::BTreeSet;

use super::deep;
use crate::ast::*;

/// What to collect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every name read or assigned.
    Mentioned,
    /// Only the targets of assignments (closures cannot assign, so their
    /// bodies are skipped).
    Assigned,
}

struct Walk<'s, 'a> {
    names: &'s mut BTreeSet<&'a str>,
    mode: Mode,
}

pub fn in_function<'a>(def: &FnDef<'a>, names: &mut BTreeSet<&'a str>) {
    Walk {
        names,
        mode: Mode::Mentioned,
    }
    .function(def);
}

pub fn stmt<'a>(s: &Stmt<'a>, names: &mut BTreeSet<&'a str>) {
    Walk {
        names,
        mode: Mode::Mentioned,
    }
    .stmt(s);
}

pub fn expr<'a>(e: &Expr<'a>, names: &mut BTreeSet<&'a str>) {
    Walk {
        names,
        mode: Mode::Mentioned,
    }
    .expr(e);
}

/// The names `e` assigns.
pub fn assigned<'a>(e: &Expr<'a>, names: &mut BTreeSet<&'a str>) {
    Walk {
        names,
        mode: Mode::Assigned,
    }
    .expr(e);
}

impl<'a> Walk<'_, 'a> {
    fn read(&mut self, name: &'a str) {
        if self.mode == Mode::Mentioned {
            self.names.insert(name);
        }
    }

    fn function(&mut self, def: &FnDef<'a>) {
        if self.mode == Mode::Assigned {
            return;
        }
        for param in def.params {
            self.pattern(param);
        }
        self.block(def.body);
    }

    fn block(&mut self, b: &Block<'a>) {
        for s in b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt<'a>) {
        match s {
            Stmt::Let(p, e) => {
                self.pattern(p);
                self.expr(e);
            }
            Stmt::Expr(e) => self.expr(e),
            Stmt::Fn(def) => self.function(def),
            Stmt::Import { .. } | Stmt::Error(_) => {}
        }
    }

    fn pattern(&mut self, p: &Pattern<'a>) {
        deep(|| self.pattern_here(p))
    }

    fn pattern_here(&mut self, p: &Pattern<'a>) {
        match p.kind {
            PatternKind::Pin(n) => self.read(n),
            PatternKind::Tuple(items) => items.iter().for_each(|i| self.pattern(i)),
            PatternKind::List(items, rest) => {
                items.iter().for_each(|i| self.pattern(i));
                if let Some(rest) = rest {
                    self.pattern(rest);
                }
            }
            PatternKind::Map(entries) => entries.iter().for_each(|(k, v)| {
                self.pattern(k);
                self.pattern(v);
            }),
            _ => {}
        }
    }

    fn arm(&mut self, a: &Arm<'a>) {
        self.pattern(&a.pattern);
        if let Some(g) = &a.guard {
            self.expr(g);
        }
        self.expr(&a.body);
    }

    fn after(&mut self, after: Option<&After<'a>>) {
        if let Some(after) = after {
            self.expr(&after.timeout);
            self.expr(&after.body);
        }
    }

    fn expr(&mut self, e: &Expr<'a>) {
        deep(|| self.expr_here(e))
    }

    fn expr_here(&mut self, e: &Expr<'a>) {
        match e.kind {
            ExprKind::Name(n) => self.read(n),
            ExprKind::List(items) | ExprKind::Tuple(items) => {
                items.iter().for_each(|i| self.expr(i))
            }
            ExprKind::Map(entries) => entries.iter().for_each(|(k, v)| {
                self.expr(k);
                self.expr(v);
            }),
            ExprKind::Neg(a)
            | ExprKind::Not(a)
            | ExprKind::ChanRecv(a)
            | ExprKind::Spawn(a, _)
            | ExprKind::Try(a)
            | ExprKind::IndexAssign(a) => self.expr(a),
            ExprKind::Assign { name, value, .. } => {
                self.names.insert(name);
                self.expr(value);
            }
            ExprKind::Binary(..) => {
                // A chain of binary operators may be long: walk its left
                // operands in a loop rather than by recursion.
                let mut left = e;
                while let ExprKind::Binary(_, a, b) = left.kind {
                    self.expr(b);
                    left = a;
                }
                self.expr(left);
            }
            ExprKind::And(a, b)
            | ExprKind::Or(a, b)
            | ExprKind::Range(a, b)
            | ExprKind::Index(a, b)
            | ExprKind::Send(a, b)
            | ExprKind::ChanSend(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call(f, args) => {
                self.expr(f);
                args.iter().for_each(|a| self.expr(a));
            }
            ExprKind::Member(m, _, _) => self.expr(m),
            ExprKind::Lambda(def) => self.function(def),
            ExprKind::Block(b) | ExprKind::Loop(b) => self.block(b),
            ExprKind::If(c, t, otherwise) => {
                self.expr(c);
                self.block(t);
                if let Some(o) = otherwise {
                    self.expr(o);
                }
            }
            ExprKind::While(c, b) => {
                self.expr(c);
                self.block(b);
            }
            ExprKind::For(p, i, b) => {
                self.pattern(p);
                self.expr(i);
                self.block(b);
            }
            ExprKind::Match(s, arms) => {
                self.expr(s);
                arms.iter().for_each(|a| self.arm(a));
            }
            ExprKind::Receive(arms, after) => {
                arms.iter().for_each(|a| self.arm(a));
                self.after(after);
            }
            ExprKind::Select(arms, after) => {
                for a in arms {
                    self.expr(&a.op);
                    if let Some(p) = &a.binding {
                        self.pattern(p);
                    }
                    self.expr(&a.body);
                }
                self.after(after);
            }
            ExprKind::Break(v) | ExprKind::Return(v) => {
                if let Some(v) = v {
                    self.expr(v);
                }
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
