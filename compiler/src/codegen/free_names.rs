//! Collects every name a function body mentions, so a closure knows which of
//! its surroundings' variables to capture before its body is compiled.
//!
//! The set is an over-approximation (a name the body also binds itself is
//! still listed): capturing a value the body then shadows costs one register
//! and changes nothing, while missing one would be wrong.

use std::collections::BTreeSet;

use crate::ast::*;

pub fn in_function<'a>(def: &FnDef<'a>, names: &mut BTreeSet<&'a str>) {
    for param in def.params {
        pattern(param, names);
    }
    block(def.body, names);
}

fn block<'a>(b: &Block<'a>, names: &mut BTreeSet<&'a str>) {
    for s in b.stmts {
        stmt(s, names);
    }
}

fn stmt<'a>(s: &Stmt<'a>, names: &mut BTreeSet<&'a str>) {
    match s {
        Stmt::Let(p, e) => {
            pattern(p, names);
            expr(e, names);
        }
        Stmt::Assign { name, value, .. } => {
            names.insert(name);
            expr(value, names);
        }
        Stmt::Expr(e) => expr(e, names),
        Stmt::Fn(def) => in_function(def, names),
        Stmt::IndexAssign(_) | Stmt::Import { .. } | Stmt::Error(_) => {}
    }
}

fn pattern<'a>(p: &Pattern<'a>, names: &mut BTreeSet<&'a str>) {
    match p.kind {
        PatternKind::Pin(n) => {
            names.insert(n);
        }
        PatternKind::Tuple(items) => items.iter().for_each(|i| pattern(i, names)),
        PatternKind::List(items, rest) => {
            items.iter().for_each(|i| pattern(i, names));
            if let Some(rest) = rest {
                pattern(rest, names);
            }
        }
        PatternKind::Map(entries) => entries.iter().for_each(|(k, v)| {
            pattern(k, names);
            pattern(v, names);
        }),
        _ => {}
    }
}

fn arm<'a>(a: &Arm<'a>, names: &mut BTreeSet<&'a str>) {
    pattern(&a.pattern, names);
    if let Some(g) = &a.guard {
        expr(g, names);
    }
    expr(&a.body, names);
}

pub fn expr<'a>(e: &Expr<'a>, names: &mut BTreeSet<&'a str>) {
    match e.kind {
        ExprKind::Name(n) => {
            names.insert(n);
        }
        ExprKind::List(items) | ExprKind::Tuple(items) => items.iter().for_each(|i| expr(i, names)),
        ExprKind::Map(entries) => entries.iter().for_each(|(k, v)| {
            expr(k, names);
            expr(v, names);
        }),
        ExprKind::Neg(a) | ExprKind::Not(a) | ExprKind::ChanRecv(a) | ExprKind::Spawn(a, _) => {
            expr(a, names)
        }
        ExprKind::Binary(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Range(a, b)
        | ExprKind::Index(a, b)
        | ExprKind::Send(a, b)
        | ExprKind::ChanSend(a, b) => {
            expr(a, names);
            expr(b, names);
        }
        ExprKind::Call(f, args) => {
            expr(f, names);
            args.iter().for_each(|a| expr(a, names));
        }
        ExprKind::Member(m, _, _) => expr(m, names),
        ExprKind::Lambda(def) => in_function(def, names),
        ExprKind::Block(b) | ExprKind::Loop(b) => block(b, names),
        ExprKind::If(c, t, e) => {
            expr(c, names);
            block(t, names);
            if let Some(e) = e {
                expr(e, names);
            }
        }
        ExprKind::While(c, b) => {
            expr(c, names);
            block(b, names);
        }
        ExprKind::For(p, i, b) => {
            pattern(p, names);
            expr(i, names);
            block(b, names);
        }
        ExprKind::Match(s, arms) => {
            expr(s, names);
            arms.iter().for_each(|a| arm(a, names));
        }
        ExprKind::Receive(arms, after) => {
            arms.iter().for_each(|a| arm(a, names));
            if let Some(after) = after {
                expr(&after.timeout, names);
                expr(&after.body, names);
            }
        }
        ExprKind::Select(arms, after) => {
            for a in arms {
                expr(&a.op, names);
                if let Some(p) = &a.binding {
                    pattern(p, names);
                }
                expr(&a.body, names);
            }
            if let Some(after) = after {
                expr(&after.timeout, names);
                expr(&after.body, names);
            }
        }
        ExprKind::Break(v) | ExprKind::Return(v) => {
            if let Some(v) = v {
                expr(v, names);
            }
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
