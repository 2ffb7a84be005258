//! Control flow: `if`, loops, `match`, `receive`, `select`, and the jumps
//! `break`, `continue` and `return`.

use super::{deep, Compiler, LoopState, Site};
use crate::ast::*;
use crate::bytecode::{
    FailKind, Imm16, Imm32, Instr, Jump, Reg, SelectArm as TableArm, SelectTable,
};
use crate::diagnostic::Diagnostic;

impl<'a> Compiler<'a, '_, '_> {
    pub(super) fn control(&mut self, e: &Expr<'a>, dst: Reg, tail: bool) {
        match e.kind {
            ExprKind::If(cond, then, otherwise) => {
                let falses = self.condition(cond);
                self.block_body(then, dst, tail);
                // In tail position each branch returns by itself.
                let end = if tail {
                    self.emit_return(dst)
                } else {
                    self.jump()
                };
                for at in falses {
                    self.patch(at);
                }
                match otherwise {
                    Some(otherwise) => self.expr(otherwise, dst, tail),
                    None => {
                        self.emit(Instr::Nil { dst });
                    }
                }
                if !tail {
                    self.patch(end);
                }
            }
            ExprKind::While(cond, body) => {
                let top = self.here();
                let falses = self.condition(cond);
                self.loop_body(dst, |c| c.block_effect(body));
                let cont = self.here();
                self.loop_back(top);
                for at in falses {
                    self.patch(at);
                }
                self.end_loop(dst, cont);
            }
            ExprKind::Loop(body) => {
                let top = self.here();
                self.loop_body(dst, |c| c.block_effect(body));
                let cont = self.here();
                self.loop_back(top);
                // A `loop` ends only by `break`; nothing falls out of it.
                self.end_loop_without_exit(cont);
            }
            ExprKind::For(pattern, iterable, body) => self.for_loop(pattern, iterable, body, dst),
            ExprKind::Match(scrutinee, arms) => {
                let src = self.expr_any(scrutinee);
                let mut ends = Vec::new();
                for arm in arms {
                    let fails = self.arm(arm, src, dst, tail, None);
                    if tail {
                        self.emit_return(dst);
                    } else {
                        ends.push(self.jump());
                    }
                    for at in fails {
                        self.patch(at);
                    }
                }
                self.span = e.span;
                self.emit(Instr::Fail {
                    kind: FailKind::NoMatch as u8,
                    src,
                });
                for at in ends {
                    self.patch(at);
                }
            }
            ExprKind::Receive(arms, after) => self.receive(arms, after, dst, tail, e),
            ExprKind::Select(arms, after) => self.select(arms, after, dst, tail, e),
            ExprKind::Break(value) => {
                let Some((target, handlers)) =
                    self.state().loops.last().map(|l| (l.dst, l.handlers))
                else {
                    self.error(Diagnostic::error("`break` outside a loop", e.span));
                    return;
                };
                match value {
                    Some(value) => self.expr(value, target, false),
                    None => {
                        self.emit(Instr::Nil { dst: target });
                    }
                }
                self.end_handlers(handlers);
                let at = self.jump();
                if let Some(l) = self.state().loops.last_mut() {
                    l.breaks.push(at);
                }
            }
            ExprKind::Continue => {
                let Some(handlers) = self.state().loops.last().map(|l| l.handlers) else {
                    self.error(Diagnostic::error("`continue` outside a loop", e.span));
                    return;
                };
                self.end_handlers(handlers);
                let at = self.jump();
                if let Some(l) = self.state().loops.last_mut() {
                    l.continues.push(at);
                }
            }
            ExprKind::Return(value) => {
                let register = self.alloc();
                // Inside a guard or `try`, the call can't replace the frame:
                // its errors belong to the handler, which must end first.
                let tail = self.state().handlers == 0;
                match value {
                    Some(value) => self.expr(value, register, tail),
                    None => {
                        self.emit(Instr::Nil { dst: register });
                    }
                }
                self.span = e.span;
                self.end_handlers(0);
                self.emit(Instr::Return { src: register });
            }
            _ => unreachable!("control() only takes control-flow expressions"),
        }
    }

    /// Ends the guard and `try` handlers opened since there were `down_to`
    /// (before a jump out of them).
    fn end_handlers(&mut self, down_to: u32) {
        let open = self.state().handlers;
        for _ in down_to..open {
            self.emit(Instr::GuardEnd {});
        }
    }

    /// Compiles a loop's body with a loop context whose `break` targets `dst`.
    fn loop_body(&mut self, dst: Reg, body: impl FnOnce(&mut Self)) {
        let depth = self.state().scopes.len();
        let handlers = self.state().handlers;
        self.state().loops.push(LoopState {
            dst,
            handlers,
            breaks: Vec::new(),
            continues: Vec::new(),
            scope_depth: depth,
        });
        let mark = self.mark();
        body(self);
        self.release(mark);
    }

    /// At the loop's normal exit: its value is nil; `break`s land after that.
    fn end_loop(&mut self, dst: Reg, cont: usize) {
        self.emit(Instr::Nil { dst });
        self.end_loop_without_exit(cont);
    }

    fn end_loop_without_exit(&mut self, cont: usize) {
        let state = self.state().loops.pop().expect("the loop's state");
        debug_assert!(state.scope_depth <= self.state().scopes.len());
        for at in state.breaks {
            self.patch(at);
        }
        for at in state.continues {
            self.patch_to(at, cont);
        }
    }

    fn for_loop(&mut self, pattern: &Pattern<'a>, iterable: &Expr<'a>, body: &Block<'a>, dst: Reg) {
        let mark = self.mark();
        if let ExprKind::Range(from, to) = iterable.kind {
            // A counted loop: no list is built.
            let counter = self.alloc();
            let end = self.alloc();
            self.expr(from, counter, false);
            self.expr(to, end, false);
            self.span = iterable.span;
            let top = self.here();
            let exit = self.emit(Instr::JumpIfNotLt {
                a: counter,
                b: end,
                offset: Jump::default(),
            });
            self.loop_body(dst, |c| {
                let scope = c.push_scope(body.span);
                c.bind_loop_variable(pattern, counter, body.span.start);
                c.block_effect(body);
                c.pop_scope(scope);
            });
            let cont = self.here();
            self.span = iterable.span;
            self.emit(Instr::AddInt {
                dst: counter,
                a: counter,
                value: Imm16::new(1),
            });
            self.loop_back(top);
            self.patch(exit);
            self.end_loop(dst, cont);
        } else {
            let iter = self.alloc_n(2);
            self.expr(iterable, iter, false);
            self.span = iterable.span;
            self.emit(Instr::IterStart { iter, src: iter });
            let item = self.alloc();
            let top = self.here();
            let exit = self.emit(Instr::IterNext {
                iter,
                dst: item,
                offset: Jump::default(),
            });
            self.loop_body(dst, |c| {
                let scope = c.push_scope(body.span);
                c.bind_loop_variable(pattern, item, body.span.start);
                c.block_effect(body);
                c.pop_scope(scope);
            });
            let cont = self.here();
            self.loop_back(top);
            self.patch(exit);
            self.end_loop(dst, cont);
        }
        self.release(mark);
    }

    /// Binds a `for` loop's pattern to each item (a copy, so assigning the
    /// variable in the body does not disturb the iteration); its names are
    /// visible from `from` (the body: not in the iterable).
    fn bind_loop_variable(&mut self, pattern: &Pattern<'a>, item: Reg, from: u32) {
        match pattern.kind {
            PatternKind::Bind(name) => {
                let register = self.alloc();
                self.emit(Instr::Move {
                    dst: register,
                    src: item,
                });
                self.declare(name, register, Site::new(pattern.span, from));
            }
            PatternKind::Wildcard => {}
            _ => self.bind_pattern(pattern, item, FailKind::NoMatch, from),
        }
    }

    /// One arm of `match` or `receive`: its tests, guard and body. Returns
    /// the jumps taken when the arm does not match. `accept` is the receive
    /// cursor: a matching message is taken out of the mailbox.
    fn arm(
        &mut self,
        arm: &Arm<'a>,
        src: Reg,
        dst: Reg,
        tail: bool,
        accept: Option<Reg>,
    ) -> Vec<usize> {
        let scope = self.push_scope(arm.pattern.span.to(arm.body.span));
        // The pattern's names are visible in the guard and the body (a pin
        // in the pattern means an earlier variable).
        let from = arm.pattern.span.end;
        let mut fails = Vec::new();
        match arm.pattern.kind {
            // A receive arm that binds the whole message to a name the arm
            // never assigns: the name is the message's register itself, so
            // no copy is made (the register belongs to this receive, and
            // nothing writes it before the next message is loaded).
            PatternKind::Bind(name) if accept.is_some() && !arm_assigns(arm, name) => {
                self.declare(name, src, Site::new(arm.pattern.span, from));
            }
            _ => {
                let vars = self.pattern_registers(&arm.pattern);
                self.match_pattern(&arm.pattern, src, &vars, &mut fails);
                for &(name, register, span) in &vars {
                    self.declare(name, register, Site::new(span, from));
                }
            }
        }
        if let Some(guard) = &arm.guard {
            fails.extend(self.guard(guard));
        }
        if let Some(cursor) = accept {
            self.span = arm.pattern.span;
            self.emit(Instr::ReceiveAccept { cursor });
        }
        self.expr(&arm.body, dst, tail);
        self.pop_scope(scope);
        fails
    }

    /// A guard: an error while evaluating it counts as false (as in Erlang),
    /// so `n if n < 0` simply does not match a list.
    fn guard(&mut self, guard: &Expr<'a>) -> Vec<usize> {
        self.span = guard.span;
        if cannot_fail(guard) {
            // Nothing in it can raise: no handler needed.
            return self.condition(guard);
        }
        let begin = self.emit(Instr::GuardBegin {
            offset: Jump::default(),
        });
        self.state().handlers += 1;
        let falses = self.condition(guard);
        self.state().handlers -= 1;
        self.span = guard.span;
        self.emit(Instr::GuardEnd {});
        let ok = self.jump();
        for at in falses {
            self.patch(at);
        }
        self.emit(Instr::GuardEnd {});
        let failed = self.jump();
        self.patch(ok);
        vec![begin, failed]
    }

    fn receive(
        &mut self,
        arms: &[Arm<'a>],
        after: Option<&After<'a>>,
        dst: Reg,
        tail: bool,
        e: &Expr<'a>,
    ) {
        let cursor = self.alloc_n(2);
        match after {
            Some(after) => {
                self.expr(&after.timeout, cursor + 1, false);
                self.span = after.span;
                self.emit(Instr::ReceiveStart {
                    cursor,
                    timeout: true,
                });
            }
            None => {
                self.span = e.span;
                self.emit(Instr::ReceiveStart {
                    cursor,
                    timeout: false,
                });
            }
        }
        let message = self.alloc();
        let top = self.here();
        self.span = e.span;
        let next = self.emit(Instr::ReceiveNext {
            dst: message,
            cursor,
            offset: Jump::default(),
        });
        let mut ends = Vec::new();
        for arm in arms {
            let fails = self.arm(arm, message, dst, tail, Some(cursor));
            ends.push(self.jump());
            for at in fails {
                self.patch(at);
            }
        }
        // No arm matched this message: it stays; look at the next one.
        self.span = e.span;
        self.emit(Instr::ReceiveSkip { cursor });
        let back = self.jump();
        self.patch_to(back, top);
        self.patch(next);
        let wait = self.emit(Instr::ReceiveWait {
            cursor,
            offset: Jump::default(),
        });
        let again = self.jump();
        self.patch_to(again, top);
        self.patch(wait);
        match after {
            Some(after) => self.expr(&after.body, dst, tail),
            None => {
                self.emit(Instr::Nil { dst });
            }
        }
        for at in ends {
            self.patch(at);
        }
    }

    fn select(
        &mut self,
        arms: &[SelectArm<'a>],
        after: Option<&After<'a>>,
        dst: Reg,
        tail: bool,
        e: &Expr<'a>,
    ) {
        let mut table = Vec::new();
        for arm in arms {
            self.span = arm.op.span;
            match arm.op.kind {
                ExprKind::ChanRecv(chan) => {
                    let chan_register = self.alloc();
                    self.expr(chan, chan_register, false);
                    let value = self.alloc();
                    table.push(TableArm::Recv {
                        chan: chan_register,
                        value,
                    });
                }
                ExprKind::ChanSend(chan, value) => {
                    let chan_register = self.alloc();
                    self.expr(chan, chan_register, false);
                    let value_register = self.alloc();
                    self.expr(value, value_register, false);
                    table.push(TableArm::Send {
                        chan: chan_register,
                        value: value_register,
                    });
                    if let Some(binding) = &arm.binding {
                        self.error(
                            Diagnostic::error("a send arm binds nothing", binding.span)
                                .with_help("only a receive arm `<-ch as x => ...` takes `as`"),
                        );
                    }
                }
                _ => {
                    self.error(
                        Diagnostic::error(
                            "a select arm must receive or send on a channel",
                            arm.op.span,
                        )
                        .with_help("write `<-ch as x => ...` or `ch <- value => ...`"),
                    );
                    return;
                }
            }
        }
        let timeout = after.map(|after| {
            let register = self.alloc();
            self.expr(&after.timeout, register, false);
            register
        });
        let index = self.alloc();
        let table = self.select_table(SelectTable {
            arms: table.clone(),
            timeout,
        });
        self.span = e.span;
        self.emit(Instr::Select { dst: index, table });
        let arm_registers: Vec<TableArm> = self.state().proto.selects[table.index()].arms.clone();
        let mut ends = Vec::new();
        let number = self.alloc();
        for (i, arm) in arms.iter().enumerate() {
            self.span = arm.op.span;
            self.emit(Instr::Int {
                dst: number,
                value: Imm32::new(i as i32),
            });
            let skip = self.emit(Instr::JumpIfNe {
                a: index,
                b: number,
                offset: Jump::default(),
            });
            let scope = self.push_scope(arm.op.span.to(arm.body.span));
            if let (Some(binding), TableArm::Recv { value, .. }) = (&arm.binding, arm_registers[i])
            {
                self.bind_pattern(binding, value, FailKind::NoMatch, binding.span.end);
            }
            self.expr(&arm.body, dst, tail);
            self.pop_scope(scope);
            ends.push(self.jump());
            self.patch(skip);
        }
        match after {
            Some(after) => self.expr(&after.body, dst, tail),
            None => {
                self.emit(Instr::Nil { dst });
            }
        }
        for at in ends {
            self.patch(at);
        }
    }
}

/// Can evaluating this expression never raise a runtime error? (Equality
/// and truthiness never fail; arithmetic, ordering and calls can.)
fn cannot_fail(e: &Expr<'_>) -> bool {
    deep(|| cannot_fail_here(e))
}

fn cannot_fail_here(e: &Expr<'_>) -> bool {
    match e.kind {
        ExprKind::Name(_)
        | ExprKind::Nil
        | ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bytes(_)
        | ExprKind::Atom(_) => true,
        ExprKind::Binary(BinOp::Eq | BinOp::Ne, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b) => cannot_fail(a) && cannot_fail(b),
        ExprKind::Not(a) => cannot_fail(a),
        _ => false,
    }
}

/// Whether the arm's guard or body assigns `name`.
fn arm_assigns(arm: &Arm<'_>, name: &str) -> bool {
    let mut assigned = std::collections::BTreeSet::new();
    if let Some(guard) = &arm.guard {
        super::free_names::assigned(guard, &mut assigned);
    }
    super::free_names::assigned(&arm.body, &mut assigned);
    assigned.contains(name)
}
