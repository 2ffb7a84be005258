//! Natives that call Weft: a native may answer "call this function with
//! these arguments, then continue with this Rust continuation" (piccolo's
//! `CallbackReturn::Call { then }`), which is how `list.map`, `list.filter`,
//! `list.fold` and `list.sort` with a comparator are written in Rust while
//! the interpreter stays stackless.
//!
//! Invariants:
//! - The interpreter never recurses: a native's request becomes an ordinary
//!   frame, and the continuation waits in the process's one frame stack (a
//!   `Native` entry between the native's caller and the callee,
//!   `process/frames.rs`) until that frame returns. So a user function that
//!   blocks, yields or runs long inside `list.map` is just a process doing
//!   those things, and a guard or `try` that unwinds past the callee drops
//!   the continuation with it.
//! - Every call a continuation makes spends a reduction, as a call from
//!   bytecode does, so `list.map` over a million elements with a trivial
//!   function still yields the scheduler every slice.

use crate::data::atom::Atom;
use crate::data::ops::describe_value;
use crate::data::value::{FnKind, Value};
use crate::interp::code::{Code, Global};
use crate::interp::machine::Machine;
use crate::interp::{self, Flow, Push, MAX_FRAMES};
use crate::process::ctx::{CallRequest, Ctx, Fuel, Trap};
use crate::process::frames::{Frame, NativeFrame};
use crate::process::Process;
use crate::runtime::scheduler::Scheduler;

/// Where a native call stood when it asked to call Weft: its result
/// register and whether it was a tail call (its request waits in the
/// process).
pub(crate) struct NativeCall {
    pub ret: usize,
    pub tail: bool,
}

/// Starts a native's request: pushes the frame for the function it asked
/// to call, with the continuation under it.
pub(crate) fn begin(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    call: NativeCall,
    fuel: &mut Fuel,
) -> Flow {
    let NativeCall { ret, tail } = call;
    let Some(request) = take_request(process) else {
        return missing_request();
    };
    let native = Box::new(NativeFrame {
        then: Some(request.then),
        ret: ret as u32,
        tail,
    });
    push_call(
        code,
        scheduler,
        process,
        native,
        request.function,
        request.argc,
        fuel,
    )
}

/// The frame a native asked for returned `value`: runs the continuation
/// until it finishes or asks for another call.
pub(crate) fn resume(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    mut native: Box<NativeFrame>,
    value: Value,
    fuel: &mut Fuel,
) -> Flow {
    let Some(then) = native.then.take() else {
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
            let Some(request) = take_request(process) else {
                return missing_request();
            };
            native.then = Some(request.then);
            push_call(
                code,
                scheduler,
                process,
                native,
                request.function,
                request.argc,
                fuel,
            )
        }
        Ok(result) if native.tail => {
            // A tail-called native returns from its caller's frame.
            interp::return_value(process, result)
        }
        Ok(result) => {
            if let Some(slot) = process.stack.get_mut(native.ret as usize) {
                *slot = result;
            }
            Flow::Reload
        }
        // The error is the native call's: point at it.
        Err(Trap::Error(kind, message)) => interp::fail_at_call(process, kind, message),
        Err(Trap::Exit(reason)) => Flow::End(interp::SliceEnd::Exited(reason)),
        Err(Trap::Block | Trap::Yield | Trap::SaveSelf { .. }) => Flow::Error(
            Atom::BADARG,
            "a native's continuation tried to block (a bug in Weft)".to_string(),
        ),
    }
}

fn take_request(process: &mut Process) -> Option<CallRequest> {
    process
        .extra
        .as_mut()
        .and_then(|extra| extra.request.take())
}

fn missing_request() -> Flow {
    Flow::Error(
        Atom::BADARG,
        "a native's call request is missing (a bug in Weft)".into(),
    )
}

/// Pushes a frame running `function` on the `argc` arguments `Ctx::call`
/// placed, with `native` waiting under it for the result. A function value
/// that is not Weft code (a native, a host function) runs through a
/// two-instruction trampoline (`Call r0 argc; Return r0`, with the
/// function in the slot before the arguments), so it blocks and fails as
/// from bytecode.
fn push_call(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    native: Box<NativeFrame>,
    function: Value,
    argc: usize,
    fuel: &mut Fuel,
) -> Flow {
    fuel.spend(1);
    let Some(caller) = process.frames.last().copied() else {
        return Flow::Error(Atom::BADARG, "no caller for a native's call".to_string());
    };
    let top = interp::frame_top(code, process);
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
    let entered = match weft {
        Some((proto, captures, closure)) => interp::enter(
            code,
            scheduler.limits.max_heap,
            process,
            proto,
            closure,
            captures,
            top + 1,
            argc,
            pc,
            Push::Native(native),
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
            if process.frames.len() >= MAX_FRAMES {
                let message = format!("call depth passed {MAX_FRAMES} frames");
                return interp::fail_at_call(process, Atom::STACK_OVERFLOW, message);
            }
            if process.stack.len() < top + registers {
                process.stack.resize(top + registers, Value::Nil);
            }
            process.stack[top] = function.clone();
            let frame = Frame {
                proto: trampoline,
                pc: 0,
                base: top as u32,
                ret: top as u32,
            };
            process.frames.push_for_native(native, frame);
            Ok(())
        }
    };
    match entered {
        Ok(()) if fuel.is_spent() => Flow::End(interp::SliceEnd::Yielded),
        Ok(()) => Flow::Reload,
        Err(flow) => flow,
    }
}
