//! Expressions: values, operators, calls, closures and process forms.

use std::collections::BTreeSet;

use super::{free_names, Compiler, Movable, Resolved};
use crate::ast::*;
use crate::bytecode::{Constant, Instr};
use crate::diagnostic::{Diagnostic, Span};

impl<'a> Compiler<'a, '_, '_> {
    /// Compiles `e` and leaves its value in R[dst]. In tail position a call
    /// becomes a tail call.
    pub(super) fn expr(&mut self, e: &Expr<'a>, dst: u8, tail: bool) {
        let saved = self.span;
        self.span = e.span;
        let mark = self.mark();
        match e.kind {
            ExprKind::Nil => {
                self.emit(Instr::Nil { dst });
            }
            ExprKind::Bool(value) => {
                self.emit(Instr::Bool { dst, value });
            }
            ExprKind::Int(n) => self.load_int(dst, n),
            ExprKind::Float(f) => {
                let index = self.constant(Constant::Float(f));
                self.emit(Instr::Const { dst, index });
            }
            ExprKind::Str(s) => {
                let index = self.constant(Constant::Str(s.into()));
                self.emit(Instr::Const { dst, index });
            }
            ExprKind::Atom(a) => {
                let index = self.constant(Constant::Atom(a.into()));
                self.emit(Instr::Const { dst, index });
            }
            ExprKind::Name(name) => self.name(name, e.span, dst),
            ExprKind::List(items) => {
                let (first, count) = self.sequence(items);
                self.span = e.span;
                self.emit(Instr::List { dst, first, count });
            }
            ExprKind::Tuple(items) => {
                let (first, count) = self.sequence(items);
                self.span = e.span;
                self.emit(Instr::Tuple { dst, first, count });
            }
            ExprKind::Map(entries) => {
                let Ok(count) = u8::try_from(entries.len()) else {
                    self.error(
                        Diagnostic::error("a map literal may have at most 255 entries", e.span)
                            .with_help("build it with `map.put` or `map.from_list`"),
                    );
                    return;
                };
                let first = self.alloc_n(entries.len() * 2);
                for (i, (k, v)) in entries.iter().enumerate() {
                    self.expr(k, first + 2 * i as u8, false);
                    self.expr(v, first + 2 * i as u8 + 1, false);
                }
                self.span = e.span;
                self.emit(Instr::Map { dst, first, count });
            }
            ExprKind::Neg(a) => {
                let src = self.expr_any(a);
                self.span = e.span;
                self.emit(Instr::Neg { dst, src });
            }
            ExprKind::Not(a) => {
                let src = self.expr_any(a);
                self.span = e.span;
                self.emit(Instr::Not { dst, src });
            }
            ExprKind::Binary(op, a, b) => self.binary(op, a, b, dst),
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let and = matches!(e.kind, ExprKind::And(..));
                // Evaluate the left side into a temporary: writing it to
                // `dst` first would be wrong if the right side reads `dst`.
                let left = self.alloc();
                self.expr(a, left, false);
                self.emit(Instr::Move { dst, src: left });
                let skip = if and {
                    self.emit(Instr::JumpIfFalse {
                        cond: left,
                        offset: 0,
                    })
                } else {
                    self.emit(Instr::JumpIfTrue {
                        cond: left,
                        offset: 0,
                    })
                };
                self.expr(b, dst, tail);
                self.patch(skip);
            }
            ExprKind::Range(a, b) => {
                let first = self.alloc_n(2);
                self.expr(a, first, false);
                self.expr(b, first + 1, false);
                self.span = e.span;
                self.emit(Instr::Range {
                    dst,
                    a: first,
                    b: first + 1,
                });
            }
            ExprKind::Call(callee, args) => self.call(e, callee, args, dst, tail),
            ExprKind::Member(module, member, member_span) => {
                let ExprKind::Name(module_name) = module.kind else {
                    self.not_a_module(module, member, member_span);
                    return;
                };
                if self.local(module_name).is_some() {
                    self.not_a_module(module, member, member_span);
                    return;
                }
                if !self.is_module(module_name) {
                    self.unknown_module(module_name, module.span);
                    return;
                }
                if let Some(qualified) = self.member(module_name, member, member_span) {
                    let global = self.global(qualified);
                    self.emit(Instr::FnRef { dst, global });
                }
            }
            ExprKind::Index(v, i) => {
                let obj = self.expr_any(v);
                let key = self.expr_any(i);
                self.span = e.span;
                self.emit(Instr::Index { dst, obj, key });
            }
            ExprKind::Lambda(def) => self.lambda(def, dst, None),
            ExprKind::Block(block) => self.block_body(block, dst, tail),
            ExprKind::If(..)
            | ExprKind::While(..)
            | ExprKind::Loop(..)
            | ExprKind::For(..)
            | ExprKind::Match(..)
            | ExprKind::Receive(..)
            | ExprKind::Select(..)
            | ExprKind::Break(_)
            | ExprKind::Continue
            | ExprKind::Return(_) => self.control(e, dst, tail),
            ExprKind::Spawn(target, link) => self.spawn(target, link, dst, e.span),
            ExprKind::Send(to, msg) => {
                let to = self.expr_any(to);
                self.expr(msg, dst, false);
                self.span = e.span;
                self.emit(Instr::Send { to, msg: dst });
            }
            ExprKind::ChanSend(chan, value) => {
                let chan = self.expr_any(chan);
                self.expr(value, dst, false);
                self.span = e.span;
                self.emit(Instr::ChanSend { chan, value: dst });
            }
            ExprKind::ChanRecv(chan) => {
                let chan = self.expr_any(chan);
                self.span = e.span;
                self.emit(Instr::ChanRecv { dst, chan });
            }
        }
        self.release(mark);
        self.span = saved;
    }

    /// Compiles `e` for its value and returns the register holding it: a
    /// local's own register when `e` is a local, else a new temporary.
    pub(super) fn expr_any(&mut self, e: &Expr<'a>) -> u8 {
        if let ExprKind::Name(name) = e.kind {
            if let Some(local) = self.local(name) {
                return local.register;
            }
        }
        let register = self.alloc();
        self.expr(e, register, false);
        register
    }

    /// Compiles `e` only for its effects.
    pub(super) fn expr_effect(&mut self, e: &Expr<'a>) {
        // Even a bare name is compiled, so an unknown one is reported.
        let register = self.alloc();
        self.expr(e, register, false);
    }

    pub(super) fn load_int(&mut self, dst: u8, n: i64) {
        if let Ok(value) = i32::try_from(n) {
            self.emit(Instr::Int { dst, value });
        } else {
            let index = self.constant(Constant::Int(n));
            self.emit(Instr::Const { dst, index });
        }
    }

    fn name(&mut self, name: &'a str, span: Span, dst: u8) {
        match self.resolve(name, span) {
            Some(Resolved::Local(src)) => {
                if self.take_name == Some(name) {
                    self.emit(Instr::Take { dst, src });
                } else if src != dst {
                    self.emit(Instr::Move { dst, src });
                }
            }
            Some(Resolved::Global(qualified)) => {
                let global = self.global(qualified);
                self.emit(Instr::FnRef { dst, global });
            }
            None => {}
        }
    }

    fn not_a_module(&mut self, module: &Expr<'a>, member: &str, span: Span) {
        // Still check the left side's names.
        let mark = self.mark();
        let register = self.alloc();
        self.expr(module, register, false);
        self.release(mark);
        self.error(
            Diagnostic::error(format!("`.{member}` needs a module on its left"), span).with_help(
                format!(
                "for a map, write `m[:{member}]`; for a module function, `module.{member}(...)`"
            ),
            ),
        );
    }

    /// Evaluates `items` into consecutive new registers.
    fn sequence(&mut self, items: &[Expr<'a>]) -> (u8, u8) {
        let Ok(count) = u8::try_from(items.len()) else {
            let span = self.span;
            self.error(
                Diagnostic::error("a literal may list at most 255 elements", span)
                    .with_help("build longer lists with `list.push` or `++`"),
            );
            return (0, 0);
        };
        let first = self.alloc_n(items.len());
        for (i, item) in items.iter().enumerate() {
            self.expr(item, first + i as u8, false);
        }
        (first, count)
    }

    fn binary(&mut self, op: BinOp, a: &Expr<'a>, b: &Expr<'a>, dst: u8) {
        let span = self.span;
        // `x + 1` and `x - 1` take the constant from the instruction.
        if let (BinOp::Add | BinOp::Sub, ExprKind::Int(n)) = (op, b.kind) {
            let value = if op == BinOp::Add {
                n
            } else {
                n.wrapping_neg()
            };
            if let (Ok(value), false) = (i16::try_from(value), op == BinOp::Sub && n == i64::MIN) {
                let a = self.expr_any(a);
                self.span = span;
                self.emit(Instr::AddInt { dst, a, value });
                return;
            }
        }
        let ra = self.expr_any(a);
        let rb = self.expr_any(b);
        self.span = span;
        self.binary_into(op, dst, ra, rb);
    }

    pub(super) fn binary_into(&mut self, op: BinOp, dst: u8, a: u8, b: u8) {
        let instr = match op {
            BinOp::Add => Instr::Add { dst, a, b },
            BinOp::Sub => Instr::Sub { dst, a, b },
            BinOp::Mul => Instr::Mul { dst, a, b },
            BinOp::Div => Instr::Div { dst, a, b },
            BinOp::Rem => Instr::Rem { dst, a, b },
            BinOp::Concat => Instr::Concat { dst, a, b },
            BinOp::Eq => Instr::Eq { dst, a, b },
            BinOp::Ne => Instr::Ne { dst, a, b },
            BinOp::Lt => Instr::Lt { dst, a, b },
            BinOp::Le => Instr::Le { dst, a, b },
            BinOp::Gt => Instr::Lt { dst, a: b, b: a },
            BinOp::Ge => Instr::Le { dst, a: b, b: a },
        };
        self.emit(instr);
    }

    /// Emits the test of a condition; returns the jumps taken when it is
    /// false. Comparisons fuse with the jump.
    pub(super) fn condition(&mut self, cond: &Expr<'a>) -> Vec<usize> {
        let saved = self.span;
        self.span = cond.span;
        let mark = self.mark();
        let jumps = match cond.kind {
            ExprKind::Binary(
                op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq),
                a,
                b,
            ) => {
                if let (BinOp::Lt, ExprKind::Int(n)) = (op, b.kind) {
                    if let Ok(value) = i16::try_from(n) {
                        let a = self.expr_any(a);
                        self.span = cond.span;
                        let at = self.emit(Instr::JumpIfNotLtInt {
                            a,
                            value,
                            offset: 0,
                        });
                        self.release(mark);
                        self.span = saved;
                        return vec![at];
                    }
                }
                let ra = self.expr_any(a);
                let rb = self.expr_any(b);
                self.span = cond.span;
                let at = match op {
                    BinOp::Lt => self.emit(Instr::JumpIfNotLt {
                        a: ra,
                        b: rb,
                        offset: 0,
                    }),
                    BinOp::Le => self.emit(Instr::JumpIfNotLe {
                        a: ra,
                        b: rb,
                        offset: 0,
                    }),
                    BinOp::Gt => self.emit(Instr::JumpIfNotLt {
                        a: rb,
                        b: ra,
                        offset: 0,
                    }),
                    BinOp::Ge => self.emit(Instr::JumpIfNotLe {
                        a: rb,
                        b: ra,
                        offset: 0,
                    }),
                    _ => self.emit(Instr::JumpIfNe {
                        a: ra,
                        b: rb,
                        offset: 0,
                    }),
                };
                vec![at]
            }
            ExprKind::And(a, b) => {
                let mut jumps = self.condition(a);
                jumps.extend(self.condition(b));
                jumps
            }
            _ => {
                let cond_register = self.expr_any(cond);
                self.span = cond.span;
                vec![self.emit(Instr::JumpIfFalse {
                    cond: cond_register,
                    offset: 0,
                })]
            }
        };
        self.release(mark);
        self.span = saved;
        jumps
    }

    fn call(&mut self, e: &Expr<'a>, callee: &Expr<'a>, args: &[Expr<'a>], dst: u8, tail: bool) {
        let inherited = self.movable.take();
        let movable = if tail { Some(Movable::All) } else { inherited };
        let Ok(argc) = u8::try_from(args.len()) else {
            self.error(Diagnostic::error(
                "a call may pass at most 255 arguments",
                e.span,
            ));
            return;
        };
        // What is being called: a global (by name or module member) or a value.
        let global = match callee.kind {
            ExprKind::Name(name) => match self.local(name) {
                Some(_) => None,
                None => match self.resolve(name, callee.span) {
                    Some(Resolved::Global(qualified)) => Some(qualified),
                    Some(_) => None,
                    None => {
                        self.args_for_errors(args);
                        return;
                    }
                },
            },
            ExprKind::Member(module, member, member_span) => match module.kind {
                ExprKind::Name(module_name) if self.local(module_name).is_none() => {
                    let found = if self.is_module(module_name) {
                        self.member(module_name, member, member_span)
                    } else {
                        self.unknown_module(module_name, module.span);
                        None
                    };
                    match found {
                        Some(qualified) => Some(qualified),
                        None => {
                            self.args_for_errors(args);
                            return;
                        }
                    }
                }
                _ => None,
            },
            _ => None,
        };
        match global {
            Some(qualified) => {
                let base = self.call_base(dst, args.len());
                self.arguments(args, base, movable);
                let global = self.global(qualified);
                self.span = e.span;
                if tail {
                    self.emit(Instr::TailCallGlobal { base, argc, global });
                } else {
                    self.emit(Instr::CallGlobal { base, argc, global });
                }
                if base != dst {
                    self.emit(Instr::Move { dst, src: base });
                }
            }
            None => {
                let base = self.call_base(dst, args.len() + 1);
                self.expr(callee, base, false);
                self.arguments(args, base + 1, movable);
                self.span = e.span;
                if tail {
                    self.emit(Instr::TailCall { base, argc });
                } else {
                    self.emit(Instr::Call { base, argc });
                }
                if base != dst {
                    self.emit(Instr::Move { dst, src: base });
                }
            }
        }
    }

    /// Where a call's operands go: right at `dst` when `dst` is the newest
    /// register (nothing live above it), which saves moving the result;
    /// otherwise in fresh registers.
    fn call_base(&mut self, dst: u8, slots: usize) -> u8 {
        if dst as u16 + 1 == self.mark() {
            if slots > 1 {
                self.alloc_n(slots - 1);
            }
            dst
        } else {
            self.alloc_n(slots.max(1))
        }
    }

    /// Evaluates call arguments into R[base..]. An argument that is a name
    /// the call may move (see `Movable`) is taken rather than copied.
    fn arguments(&mut self, args: &[Expr<'a>], base: u8, movable: Option<Movable<'a>>) {
        for (i, arg) in args.iter().enumerate() {
            let permitted = movable.as_ref().map(|m| {
                let mut later = BTreeSet::new();
                for next in &args[i + 1..] {
                    free_names::expr(next, &mut later);
                }
                m.without(&later)
            });
            match (arg.kind, permitted) {
                (ExprKind::Name(name), Some(p)) if p.allows(name) && self.local(name).is_some() => {
                    self.take_name = Some(name);
                }
                (ExprKind::Call(..), p) => self.movable = p,
                _ => {}
            }
            self.expr(arg, base + i as u8, false);
            self.take_name = None;
            self.movable = None;
        }
    }

    /// After a bad callee, still check the arguments' names.
    fn args_for_errors(&mut self, args: &[Expr<'a>]) {
        let mark = self.mark();
        for arg in args {
            self.expr_effect(arg);
        }
        self.release(mark);
    }

    /// Builds a closure of `def` into R[dst], capturing by value every
    /// variable of this function that its body mentions.
    pub(super) fn lambda(&mut self, def: &FnDef<'a>, dst: u8, self_name: Option<&'a str>) {
        let mut mentioned = BTreeSet::new();
        free_names::in_function(def, &mut mentioned);
        let captured: Vec<(&'a str, u8)> = mentioned
            .into_iter()
            .filter(|name| Some(*name) != self_name)
            .filter_map(|name| self.local(name).map(|l| (name, l.register)))
            .collect();
        let names: Vec<&'a str> = captured.iter().map(|(n, _)| *n).collect();
        let proto = self.function(def, &names, self_name);
        let index = self.protos.len() as u32;
        self.protos.push(Some(proto));
        let Ok(count) = u8::try_from(captured.len()) else {
            self.error(Diagnostic::error(
                "a closure may capture at most 255 variables",
                def.span,
            ));
            return;
        };
        let mark = self.mark();
        let first = self.alloc_n(captured.len());
        for (i, (_, register)) in captured.iter().enumerate() {
            self.emit(Instr::Move {
                dst: first + i as u8,
                src: *register,
            });
        }
        self.span = def.span;
        self.emit(Instr::Closure {
            dst,
            first,
            count,
            proto: index,
        });
        self.release(mark);
    }

    fn spawn(&mut self, target: &Expr<'a>, link: bool, dst: u8, span: Span) {
        match target.kind {
            ExprKind::Call(callee, args) => {
                let Ok(argc) = u8::try_from(args.len()) else {
                    self.error(Diagnostic::error(
                        "a call may pass at most 255 arguments",
                        span,
                    ));
                    return;
                };
                let base = self.alloc_n(args.len() + 1);
                self.expr(callee, base, false);
                for (i, arg) in args.iter().enumerate() {
                    self.expr(arg, base + 1 + i as u8, false);
                }
                self.span = span;
                self.emit(Instr::Spawn {
                    dst,
                    base,
                    argc,
                    link,
                });
            }
            ExprKind::Block(block) => {
                let def = FnDef {
                    name: None,
                    name_span: block.span,
                    params: &[],
                    body: block,
                    span: block.span,
                };
                let base = self.alloc();
                self.lambda(&def, base, None);
                self.span = span;
                self.emit(Instr::Spawn {
                    dst,
                    base,
                    argc: 0,
                    link,
                });
            }
            _ => self.error(
                Diagnostic::error("`spawn` needs a function call or a block", target.span)
                    .with_help("write `spawn worker(args)` or `spawn { ... }`"),
            ),
        }
    }
}
