//! Expressions: values, operators, calls, closures and process forms.

use std::collections::BTreeSet;

use super::{deep, free_names, BindingId, Compiler, Movable, Resolved, LITERAL_CHUNK};
use crate::ast::*;
use crate::bytecode::{Constant, Count, Imm16, Imm32, Instr, Jump, ProtoIndex, Reg};
use crate::diagnostic::{Diagnostic, Span};

/// The most arguments a call passes (its registers are consecutive).
const MAX_ARGUMENTS: usize = u16::MAX as usize - 1;

impl<'a> Compiler<'a, '_, '_> {
    /// Compiles `e` and leaves its value in R[dst]. In tail position a call
    /// becomes a tail call.
    pub(super) fn expr(&mut self, e: &Expr<'a>, dst: Reg, tail: bool) {
        deep(|| self.expr_here(e, dst, tail))
    }

    fn expr_here(&mut self, e: &Expr<'a>, dst: Reg, tail: bool) {
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
            ExprKind::Bytes(b) => {
                let index = self.constant(Constant::Bytes(b.into()));
                self.emit(Instr::Const { dst, index });
            }
            ExprKind::Atom(a) => {
                let index = self.constant(Constant::Atom(a.into()));
                self.emit(Instr::Const { dst, index });
            }
            ExprKind::Name(name) => self.name(name, e.span, dst),
            ExprKind::List(items) => self.list_literal(items, dst, e.span),
            ExprKind::Tuple(items) if items.len() <= LITERAL_CHUNK => {
                let (first, count) = self.sequence(items);
                self.span = e.span;
                self.emit(Instr::Tuple { dst, first, count });
            }
            ExprKind::Tuple(items) => {
                // A long tuple is built as a list, then converted.
                let list = self.alloc();
                self.list_literal(items, list, e.span);
                self.emit(Instr::TupleOfList { dst, src: list });
            }
            ExprKind::Map(entries) => self.map_literal(entries, dst, e.span),
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
            ExprKind::Binary(..) => self.binary_chain(e, dst),
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
                        offset: Jump::default(),
                    })
                } else {
                    self.emit(Instr::JumpIfTrue {
                        cond: left,
                        offset: Jump::default(),
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
            ExprKind::Assign {
                name,
                name_span,
                op,
                value,
            } => {
                if let Some(register) = self.assign(name, name_span, op, value) {
                    if register != dst {
                        self.emit(Instr::Move { dst, src: register });
                    }
                }
            }
            ExprKind::IndexAssign(target) => {
                self.error(
                    Diagnostic::error("values can't be changed in place", target.span)
                        .with_help("build a new one and rebind it: `xs = list.push(xs, v)`, `m = map.put(m, k, v)`"),
                );
            }
            ExprKind::Try(body) => self.try_expr(body, dst, e.span),
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
                if !self.aliases.contains_key(module_name) {
                    let qualified = format!("{module_name}.{member}");
                    if let Some(constant) = self.env.constants.get(&qualified).cloned() {
                        let index = self.constant(constant);
                        self.emit(Instr::Const { dst, index });
                        return;
                    }
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
                self.emit(Instr::Send {
                    to,
                    msg: dst,
                    take: false,
                });
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
    pub(super) fn expr_any(&mut self, e: &Expr<'a>) -> Reg {
        if let ExprKind::Name(name) = e.kind {
            if let Some(local) = self.local_use(name, e.span) {
                return local.register;
            }
        }
        let register = self.alloc();
        self.expr(e, register, false);
        register
    }

    /// Compiles `e` only for its effects.
    pub(super) fn expr_effect(&mut self, e: &Expr<'a>) {
        if let ExprKind::Assign {
            name,
            name_span,
            op,
            value,
        } = e.kind
        {
            // The new value is in the variable: nothing to copy.
            let saved = self.span;
            self.span = e.span;
            self.assign(name, name_span, op, value);
            self.span = saved;
            return;
        }
        if let ExprKind::Send(to, msg) = e.kind {
            // The message's register is a temporary nobody reads after
            // the send: the message is moved, not copied.
            let register = self.alloc();
            let to = self.expr_any(to);
            self.expr(msg, register, false);
            self.span = e.span;
            self.emit(Instr::Send {
                to,
                msg: register,
                take: true,
            });
            return;
        }
        // Even a bare name is compiled, so an unknown one is reported.
        let register = self.alloc();
        self.expr(e, register, false);
    }

    pub(super) fn load_int(&mut self, dst: Reg, n: i64) {
        if let Ok(value) = i32::try_from(n) {
            self.emit(Instr::Int {
                dst,
                value: Imm32::new(value),
            });
        } else {
            let index = self.constant(Constant::Int(n));
            self.emit(Instr::Const { dst, index });
        }
    }

    fn name(&mut self, name: &'a str, span: Span, dst: Reg) {
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

    /// Evaluates `items` (at most `LITERAL_CHUNK`, or a call's arguments)
    /// into consecutive new registers.
    fn sequence(&mut self, items: &[Expr<'a>]) -> (Reg, Count) {
        let first = self.alloc_n(items.len());
        for (i, item) in items.iter().enumerate() {
            self.expr(item, first.at(i), false);
        }
        (first, Count::of(items.len()))
    }

    /// The register to build a value in, piece by piece: `dst` itself unless
    /// a sub-expression might read it (it holds a live local).
    fn building_register(&mut self, dst: Reg) -> Reg {
        if self.is_local_register(dst) {
            self.alloc()
        } else {
            dst
        }
    }

    /// `[a, b, ...]`: built `LITERAL_CHUNK` elements at a time, so a literal
    /// of any length needs a bounded number of registers.
    fn list_literal(&mut self, items: &[Expr<'a>], dst: Reg, span: Span) {
        let target = self.building_register(dst);
        let chunks: Vec<&[Expr<'a>]> = if items.is_empty() {
            vec![items]
        } else {
            items.chunks(LITERAL_CHUNK).collect()
        };
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mark = self.mark();
            let (first, count) = self.sequence(chunk);
            self.span = span;
            if i == 0 {
                self.emit(Instr::List {
                    dst: target,
                    first,
                    count,
                });
            } else {
                self.emit(Instr::ListAppend {
                    dst: target,
                    first,
                    count,
                });
            }
            self.release(mark);
        }
        if target != dst {
            self.emit(Instr::Move { dst, src: target });
        }
    }

    /// `%{k => v, ...}`, in chunks like a list literal.
    fn map_literal(&mut self, entries: &[(Expr<'a>, Expr<'a>)], dst: Reg, span: Span) {
        let target = self.building_register(dst);
        let chunks: Vec<&[(Expr<'a>, Expr<'a>)]> = if entries.is_empty() {
            vec![entries]
        } else {
            entries.chunks(LITERAL_CHUNK).collect()
        };
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mark = self.mark();
            let first = self.alloc_n(chunk.len() * 2);
            for (j, (k, v)) in chunk.iter().enumerate() {
                self.expr(k, first.at(2 * j), false);
                self.expr(v, first.at(2 * j + 1), false);
            }
            self.span = span;
            let count = Count::of(chunk.len());
            if i == 0 {
                self.emit(Instr::Map {
                    dst: target,
                    first,
                    count,
                });
            } else {
                self.emit(Instr::MapInsert {
                    dst: target,
                    first,
                    count,
                });
            }
            self.release(mark);
        }
        if target != dst {
            self.emit(Instr::Move { dst, src: target });
        }
    }

    /// A chain of binary operators, `((a + b) - c) * d`: walked down its
    /// left operands without recursion, and, when `dst` is free to use,
    /// computed in place there, so a chain of any length needs two
    /// registers and no native stack.
    fn binary_chain(&mut self, e: &Expr<'a>, dst: Reg) {
        let mut chain: Vec<(BinOp, &Expr<'a>, Span)> = Vec::new();
        let mut leftmost = e;
        while let ExprKind::Binary(op, a, b) = leftmost.kind {
            chain.push((op, b, leftmost.span));
            leftmost = a;
        }
        let in_place = !self.is_local_register(dst);
        let local = match leftmost.kind {
            ExprKind::Name(name) => self.local_use(name, leftmost.span).map(|l| l.register),
            _ => None,
        };
        let mut acc = match local {
            // A variable is read where it is.
            Some(register) => register,
            None if in_place => {
                self.expr(leftmost, dst, false);
                dst
            }
            None => self.expr_any(leftmost),
        };
        let count = chain.len();
        for (i, (op, b, span)) in chain.into_iter().rev().enumerate() {
            let out = if in_place || i + 1 == count {
                dst
            } else {
                // Not in place: each step writes a new temporary, since the
                // previous result may be a local's register.
                self.alloc()
            };
            self.binary(op, acc, b, out, span);
            acc = out;
        }
    }

    /// `R[dst] = R[a] op b`.
    pub(super) fn binary(&mut self, op: BinOp, a: Reg, b: &Expr<'a>, dst: Reg, span: Span) {
        let mark = self.mark();
        // `x + 1` and `x - 1` take the constant from the instruction.
        if let (BinOp::Add | BinOp::Sub, ExprKind::Int(n)) = (op, b.kind) {
            let value = if op == BinOp::Add {
                n
            } else {
                n.wrapping_neg()
            };
            if let (Ok(value), false) = (i16::try_from(value), op == BinOp::Sub && n == i64::MIN) {
                self.span = span;
                self.emit(Instr::AddInt {
                    dst,
                    a,
                    value: Imm16::new(value),
                });
                return;
            }
        }
        let rb = self.expr_any(b);
        self.span = span;
        self.binary_into(op, dst, a, rb);
        self.release(mark);
    }

    pub(super) fn binary_into(&mut self, op: BinOp, dst: Reg, a: Reg, b: Reg) {
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
        deep(|| self.condition_here(cond))
    }

    fn condition_here(&mut self, cond: &Expr<'a>) -> Vec<usize> {
        let saved = self.span;
        self.span = cond.span;
        let mark = self.mark();
        let offset = Jump::default();
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
                            value: Imm16::new(value),
                            offset,
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
                        offset,
                    }),
                    BinOp::Le => self.emit(Instr::JumpIfNotLe {
                        a: ra,
                        b: rb,
                        offset,
                    }),
                    BinOp::Gt => self.emit(Instr::JumpIfNotLt {
                        a: rb,
                        b: ra,
                        offset,
                    }),
                    BinOp::Ge => self.emit(Instr::JumpIfNotLe {
                        a: rb,
                        b: ra,
                        offset,
                    }),
                    _ => self.emit(Instr::JumpIfNe {
                        a: ra,
                        b: rb,
                        offset,
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
                    offset,
                })]
            }
        };
        self.release(mark);
        self.span = saved;
        jumps
    }

    fn call(&mut self, e: &Expr<'a>, callee: &Expr<'a>, args: &[Expr<'a>], dst: Reg, tail: bool) {
        let inherited = self.movable.take();
        let movable = if tail { Some(Movable::All) } else { inherited };
        if args.len() > MAX_ARGUMENTS {
            self.error(Diagnostic::error(
                format!("a call may pass at most {MAX_ARGUMENTS} arguments"),
                e.span,
            ));
            return;
        }
        let argc = Count::of(args.len());
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
                    let qualified = format!("{module_name}.{member}");
                    if !self.aliases.contains_key(module_name)
                        && self.env.constants.contains_key(&qualified)
                    {
                        self.error(
                            Diagnostic::error(
                                format!("`{qualified}` is a constant, not a function"),
                                callee.span,
                            )
                            .with_help(format!("write `{qualified}` without parentheses")),
                        );
                        self.args_for_errors(args);
                        return;
                    }
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
            // `self()` of the builtin is an instruction, not a native call:
            // a message carries the sender's pid in most protocols.
            Some(qualified) if qualified == "self" && args.is_empty() && !tail => {
                self.span = e.span;
                self.emit(Instr::SelfPid { dst });
            }
            Some(qualified) if tail => {
                // The arguments go straight to R[0..argc], where the callee's
                // parameters sit once it replaces this frame (see `Place`).
                let places = self.tail_places(args);
                if places.contains(&Place::Window) {
                    let base = self.call_base(dst, args.len());
                    self.arguments_placed(args, base, movable, &places);
                    for (i, place) in places.iter().enumerate() {
                        if *place == Place::Window && base.index() != 0 {
                            self.emit(Instr::Take {
                                dst: Reg::new(i as u32),
                                src: base.at(i),
                            });
                        }
                    }
                } else {
                    self.arguments_placed(args, Reg::new(0), movable, &places);
                }
                let global = self.global(qualified);
                self.span = e.span;
                self.emit(Instr::TailCallGlobal {
                    base: Reg::new(0),
                    argc,
                    global,
                });
            }
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
    fn call_base(&mut self, dst: Reg, slots: usize) -> Reg {
        if dst.get() + 1 == self.mark() && !self.is_local_register(dst) {
            if slots > 1 {
                self.alloc_n(slots - 1);
            }
            dst
        } else {
            self.alloc_n(slots.max(1))
        }
    }

    /// Evaluates call arguments into R[base..]. An argument that is a name
    /// the call may move (see `Movable`) is taken rather than copied; if a
    /// later argument still reads that name (`m = map.put(m, k, map.get(m,
    /// k, 0) + 1)`), it is taken after the later arguments are evaluated,
    /// so the callee still gets the only reference.
    fn arguments(&mut self, args: &[Expr<'a>], base: Reg, movable: Option<Movable<'a>>) {
        let places = vec![Place::Window; args.len()];
        self.arguments_placed(args, base, movable, &places);
    }

    /// Where each argument of a tail call to a global goes (see `Place`).
    fn tail_places(&self, args: &[Expr<'a>]) -> Vec<Place> {
        let state = self.fns.last();
        // The names of the live locals sitting in register `i`.
        let names_at = |i: usize| -> Vec<&'a str> {
            state
                .map(|state| {
                    state
                        .scopes
                        .iter()
                        .flatten()
                        .filter(|local| local.register.index() == i)
                        .map(|local| local.name)
                        .collect()
                })
                .unwrap_or_default()
        };
        let leaf = |e: &Expr<'a>| match e.kind {
            ExprKind::Name(name) => self.local(name).is_some(),
            ExprKind::Int(_) => true,
            _ => false,
        };
        args.iter()
            .enumerate()
            .map(|(i, arg)| {
                let register = Reg::new(i as u32);
                match arg.kind {
                    ExprKind::Name(name)
                        if self.local(name).is_some_and(|l| l.register == register) =>
                    {
                        return Place::Stays;
                    }
                    ExprKind::Binary(
                        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem,
                        left,
                        right,
                    ) if leaf(left) && leaf(right) && self.is_local_register(register) => {
                        // No other argument may read (or assign) what lives
                        // in R[i] now: it is overwritten as this one is
                        // evaluated.
                        let mut others = BTreeSet::new();
                        let mut assigned = BTreeSet::new();
                        for (j, other) in args.iter().enumerate() {
                            if j != i {
                                free_names::expr(other, &mut others);
                                free_names::assigned(other, &mut assigned);
                            }
                        }
                        let clash = names_at(i)
                            .iter()
                            .any(|name| others.contains(name) || assigned.contains(name));
                        if !clash {
                            return Place::Direct;
                        }
                    }
                    _ => {}
                }
                Place::Window
            })
            .collect()
    }

    /// `arguments` for a tail call: each argument goes where `places` says
    /// (a window at `base`, straight into its parameter's register, or
    /// nowhere). Arguments left in place are read by the call itself, so
    /// no other argument may move their variables away.
    fn arguments_placed(
        &mut self,
        args: &[Expr<'a>],
        base: Reg,
        movable: Option<Movable<'a>>,
        places: &[Place],
    ) {
        let mut deferred: Vec<(usize, Reg)> = Vec::new();
        // Names whose move waits for the later arguments: those must not
        // take them first. Arguments left in place wait until the call.
        let mut waiting: BTreeSet<&'a str> = BTreeSet::new();
        for (arg, place) in args.iter().zip(places) {
            if let (ExprKind::Name(name), Place::Stays) = (arg.kind, place) {
                waiting.insert(name);
            }
        }
        for (i, arg) in args.iter().enumerate() {
            match places.get(i) {
                Some(Place::Stays) => {
                    // The call reads it where it is: still a use of the local.
                    if let (ExprKind::Name(name), true) = (arg.kind, self.record.is_some()) {
                        self.local_use(name, arg.span);
                    }
                    continue;
                }
                Some(Place::Direct) => {
                    self.expr(arg, Reg::new(i as u32), false);
                    continue;
                }
                _ => {}
            }
            let mut later = BTreeSet::new();
            if movable.is_some() {
                for next in &args[i + 1..] {
                    free_names::expr(next, &mut later);
                }
                later.extend(waiting.iter().copied());
            }
            let permitted = movable.as_ref().map(|m| m.without(&later));
            match (arg.kind, &permitted) {
                (ExprKind::Name(name), Some(p)) if p.allows(name) && self.local(name).is_some() => {
                    self.take_name = Some(name);
                }
                (ExprKind::Name(name), Some(_))
                    if movable.as_ref().is_some_and(|m| m.allows(name))
                        && !waiting.contains(name)
                        && !assigns(&args[i + 1..], name) =>
                {
                    if let Some(local) = self.local(name) {
                        if !local.captured {
                            self.record_use(arg.span, local);
                            deferred.push((i, local.register));
                            waiting.insert(name);
                            continue;
                        }
                    }
                }
                (ExprKind::Call(..), p) => self.movable = p.clone(),
                _ => {}
            }
            self.expr(arg, base.at(i), false);
            self.take_name = None;
            self.movable = None;
        }
        for (i, register) in deferred {
            self.emit(Instr::Take {
                dst: base.at(i),
                src: register,
            });
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
    pub(super) fn lambda(
        &mut self,
        def: &FnDef<'a>,
        dst: Reg,
        self_name: Option<(&'a str, BindingId)>,
    ) {
        let mut mentioned = BTreeSet::new();
        free_names::in_function(def, &mut mentioned);
        let captured: Vec<(&'a str, Reg, BindingId)> = mentioned
            .into_iter()
            .filter(|name| Some(*name) != self_name.map(|(n, _)| n))
            .filter_map(|name| self.local(name).map(|l| (name, l.register, l.binding)))
            .collect();
        if captured.len() > u16::MAX as usize - 1 {
            self.error(Diagnostic::error(
                "a closure may capture at most 65534 variables",
                def.span,
            ));
            return;
        }
        let names: Vec<(&'a str, BindingId)> = captured.iter().map(|(n, _, b)| (*n, *b)).collect();
        let proto = self.function(def, &names, self_name);
        let index = self.protos.len() as u32;
        self.protos.push(Some(proto));
        let Some(proto) = ProtoIndex::try_new(index) else {
            self.error(Diagnostic::error(
                "this file defines too many functions",
                def.span,
            ));
            return;
        };
        let mark = self.mark();
        let first = self.alloc_n(captured.len());
        for (i, (_, register, _)) in captured.iter().enumerate() {
            self.emit(Instr::Move {
                dst: first.at(i),
                src: *register,
            });
        }
        self.span = def.span;
        self.emit(Instr::Closure { dst, first, proto });
        self.release(mark);
    }

    /// `try e`: `(:ok, value)`, or the `(:error, kind, message)` of a
    /// runtime error raised while evaluating `e` (the VM writes it to `dst`
    /// and jumps to the handler).
    fn try_expr(&mut self, body: &Expr<'a>, dst: Reg, span: Span) {
        let target = self.building_register(dst);
        self.span = span;
        let begin = self.emit(Instr::TryBegin {
            dst: target,
            offset: Jump::default(),
        });
        self.state().handlers += 1;
        let pair = self.alloc_n(2);
        self.expr(body, pair + 1, false);
        self.state().handlers -= 1;
        self.span = span;
        self.emit(Instr::GuardEnd {});
        let ok = self.constant(Constant::Atom("ok".into()));
        self.emit(Instr::Const {
            dst: pair,
            index: ok,
        });
        self.emit(Instr::Tuple {
            dst: target,
            first: pair,
            count: Count::of(2),
        });
        let done = self.jump();
        self.patch(begin);
        self.patch(done);
        if target != dst {
            self.emit(Instr::Move { dst, src: target });
        }
    }

    fn spawn(&mut self, target: &Expr<'a>, link: bool, dst: Reg, span: Span) {
        match target.kind {
            ExprKind::Call(callee, args) => {
                if args.len() > MAX_ARGUMENTS {
                    self.error(Diagnostic::error(
                        format!("a call may pass at most {MAX_ARGUMENTS} arguments"),
                        span,
                    ));
                    return;
                }
                let base = self.alloc_n(args.len() + 1);
                self.expr(callee, base, false);
                for (i, arg) in args.iter().enumerate() {
                    self.expr(arg, base.at(1 + i), false);
                }
                self.span = span;
                self.emit(Instr::Spawn {
                    dst,
                    base,
                    argc: Count::of(args.len()),
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
                // The closure is only the new process's start: spawn from
                // its captures instead of building it (one instruction,
                // and no closure to allocate and free per spawn).
                match self.last_instr() {
                    Some(Instr::Closure {
                        dst: built,
                        first,
                        proto,
                    }) if built == base => {
                        self.replace_last(if link {
                            Instr::SpawnLinkBlock { dst, first, proto }
                        } else {
                            Instr::SpawnBlock { dst, first, proto }
                        });
                    }
                    _ => {
                        self.emit(Instr::Spawn {
                            dst,
                            base,
                            argc: Count::of(0),
                            link,
                        });
                    }
                }
            }
            _ => self.error(
                Diagnostic::error("`spawn` needs a function call or a block", target.span)
                    .with_help("write `spawn worker(args)` or `spawn { ... }`"),
            ),
        }
    }
}

/// Does any of `exprs` assign `name`? (Then a read of `name` before them
/// can't be moved after them.)
fn assigns(exprs: &[Expr<'_>], name: &str) -> bool {
    let mut assigned = BTreeSet::new();
    for e in exprs {
        free_names::assigned(e, &mut assigned);
    }
    assigned.contains(name)
}

/// Where an argument of a tail call to a global goes. The callee's
/// parameters will sit in R[0..argc] of this very frame, so:
/// - `Stays`: the argument is the local already living in its register
///   (`loop(a, b)` passing the frame's own parameters): nothing is copied;
/// - `Direct`: a one-instruction expression of locals and integers
///   (`n - 1`) whose register holds a live local that no other argument
///   reads or assigns: it is computed straight into its register;
/// - `Window`: anything else is evaluated into a fresh window first (so
///   every argument sees the old values) and then moved down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Stays,
    Direct,
    Window,
}
