//! Natives that call Weft: a native may answer "call this function with
//! these arguments, then continue with this Rust continuation" (piccolo's
//! `CallbackReturn::Call { then }`), which is how `list.map`, `list.filter`,
//! `list.fold` and `list.sort` with a comparator are written in Rust while
//! the interpreter stays stackless.
//!
//! Invariants:
//! - The interpreter never recurses: a native's request becomes an ordinary
//!   frame whose `ret` is `CONTINUE`, and the continuation waits in the
//!   process (`Extra::continuations`) until that frame returns. So a user
//!   function that blocks, yields or runs long inside `list.map` is just a
//!   process doing those things.
//! - Each pending continuation records the depth of the Weft frame that
//!   called the native (`caller_depth`); the frame it asked for sits just
//!   above it. Frames are only popped by returns (which resume the
//!   continuation on top) and by a guard or `try` unwinding, which drops
//!   every continuation at or above the depth it unwinds to.
//! - Every call a continuation makes spends a reduction, as a call from
//!   bytecode does, so `list.map` over a million elements with a trivial
//!   function still yields the scheduler every slice.

use crate::data::atom::Atom;
use crate::data::ops::describe_value;
use crate::data::value::{FnKind, Value};
use crate::interp::code::{Code, Global};
use crate::interp::machine::Machine;
use crate::interp::{self, Flow};
use crate::process::ctx::{CallRequest, Ctx, Fuel, Pending, Trap};
use crate::process::{Frame, Process};
use crate::runtime::scheduler::Scheduler;

/// `Frame::ret` of a frame whose result goes to a native's continuation.
pub(crate) const CONTINUE: u32 = u32::MAX;

/// Where a native call stood when it asked to call Weft: its result
/// register and whether it was a tail call (its request waits in the
/// process).
pub(crate) struct NativeCall {
    pub ret: usize,
    pub tail: bool,
}

/// Starts a native's request: records the continuation and pushes the
/// frame for the function it asked to call.
pub(crate) fn begin(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    call: NativeCall,
    fuel: &mut Fuel,
) -> Flow {
    let NativeCall { ret, tail } = call;
    let Some(CallRequest {
        function,
        argc,
        then,
    }) = process
        .extra
        .as_mut()
        .and_then(|extra| extra.request.take())
    else {
        return Flow::Error(
            Atom::BADARG,
            "a native's call request is missing (a bug in Weft)".into(),
        );
    };
    let caller_depth = process.frames.len() as u32;
    process.extra().continuations.push(Pending {
        caller_depth,
        ret: ret as u32,
        tail,
        then: Some(then),
    });
    push_call(code, scheduler, process, function, argc, fuel)
}

/// A frame whose result belongs to a continuation returned `value`: runs
/// the continuation until it finishes or asks for another call.
pub(crate) fn resume(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    mut value: Value,
    fuel: &mut Fuel,
) -> Flow {
    loop {
        let Some(then) = process
            .extra
            .as_mut()
            .and_then(|extra| extra.continuations.last_mut())
            .and_then(|pending| pending.then.take())
        else {
            return Flow::Error(
                Atom::BADARG,
                "a native's continuation is missing (a bug in Weft)".to_string(),
            );
        };
        let result = {
            let mut machine = Machine {
                scheduler: &mut *scheduler,
                code,
            };
            let mut ctx = Ctx {
                process: &mut *process,
                fuel: &mut *fuel,
                vm: &mut machine,
            };
            then.resume(&mut ctx, value)
        };
        match result {
            Err(Trap::Call) => {
                let Some(extra) = process.extra.as_mut() else {
                    return Flow::Reload;
                };
                let Some(CallRequest {
                    function,
                    argc,
                    then,
                }) = extra.request.take()
                else {
                    return Flow::Error(
                        Atom::BADARG,
                        "a native's call request is missing (a bug in Weft)".into(),
                    );
                };
                if let Some(pending) = extra.continuations.last_mut() {
                    pending.then = Some(then);
                }
                return push_call(code, scheduler, process, function, argc, fuel);
            }
            Ok(result) => {
                let Some(pending) = process
                    .extra
                    .as_mut()
                    .and_then(|extra| extra.continuations.pop())
                else {
                    return Flow::Reload;
                };
                if !pending.tail {
                    if let Some(slot) = process.stack.get_mut(pending.ret as usize) {
                        *slot = result;
                    }
                    return Flow::Reload;
                }
                // A tail-called native returns from its caller's frame.
                match interp::return_value(process, result) {
                    Flow::Resume(next) => value = next,
                    flow => return flow,
                }
            }
            Err(trap) => {
                if let Some(extra) = process.extra.as_mut() {
                    extra.continuations.pop();
                }
                return match trap {
                    Trap::Error(kind, message) => {
                        // The error is the native call's: point at it.
                        if let Some(top) = process.frames.last_mut() {
                            top.pc = top.pc.saturating_sub(1);
                        }
                        Flow::Error(kind, message)
                    }
                    Trap::Exit(reason) => Flow::End(interp::SliceEnd::Exited(reason)),
                    Trap::Block | Trap::Yield | Trap::Call => Flow::Error(
                        Atom::BADARG,
                        "a native's continuation tried to block (a bug in Weft)".to_string(),
                    ),
                };
            }
        }
    }
}

/// Drops the continuations of native calls a guard or `try` unwound: those
/// whose caller is at `depth` or deeper.
pub(crate) fn unwind(process: &mut Process, depth: usize) {
    if let Some(extra) = process.extra.as_mut() {
        while extra
            .continuations
            .last()
            .is_some_and(|pending| pending.caller_depth as usize >= depth)
        {
            extra.continuations.pop();
        }
    }
}

/// Where a native's call puts the callee: just above the registers of
/// the frame that called the native (the top frame while it runs).
fn frame_top(code: &Code, process: &Process) -> usize {
    process.frames.last().map_or(process.stack.len(), |caller| {
        caller.base as usize + code.protos[caller.proto as usize].registers as usize
    })
}

/// Pushes a frame running `function` on the `argc` arguments `Ctx::call`
/// placed, whose result goes to the continuation on top. A function value
/// that is not Weft code (a native, a host function) runs through a
/// two-instruction trampoline (`Call r0 argc; Return r0`, with the
/// function in the slot before the arguments), so it blocks and fails as
/// from bytecode.
fn push_call(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    function: Value,
    argc: usize,
    fuel: &mut Fuel,
) -> Flow {
    fuel.spend(1);
    let Some(caller) = process.frames.last().copied() else {
        return Flow::Error(Atom::BADARG, "no caller for a native's call".to_string());
    };
    let top = frame_top(code, process);
    let pc = caller.pc as usize;
    let Value::Fn(callee) = &function else {
        let message = format!(
            "can't call {}: it is not a function",
            describe_value(&function)
        );
        return interp::fail_at_call(process, Atom::BADARG, message);
    };
    let weft = match &callee.kind {
        FnKind::Weft { proto, captures } => Some((*proto, &captures[..], Some(callee))),
        FnKind::Global(global) => match code.globals.get(*global as usize) {
            Some(Global::Weft(proto)) => Some((*proto, &[][..], None)),
            _ => None,
        },
    };
    let flow = match weft {
        Some((proto, captures, closure)) => interp::enter_for_continuation(
            code,
            scheduler,
            process,
            proto,
            closure,
            captures,
            top + 1,
            argc,
            pc,
        ),
        None => {
            let trampoline = code.trampolines.get(argc).copied();
            let Some(trampoline) = trampoline else {
                return interp::fail_at_call(
                    process,
                    Atom::BADARG,
                    "too many arguments for a library call".to_string(),
                );
            };
            let registers = code.protos[trampoline as usize].registers as usize;
            if process.stack.len() < top + registers {
                process.stack.resize(top + registers, Value::Nil);
            }
            process.stack[top] = function.clone();
            process.frames.push(Frame {
                proto: trampoline,
                pc: 0,
                base: top as u32,
                ret: CONTINUE,
            });
            Flow::Reload
        }
    };
    if fuel.is_spent() && matches!(flow, Flow::Reload) {
        return Flow::End(interp::SliceEnd::Yielded);
    }
    flow
}
