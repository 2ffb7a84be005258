//! Process builtins (LANGUAGE.md §6, §7, §9): `self yield sleep exit kill
//! link unlink monitor demonitor trap_exits register whereis alive make_ref
//! send_after chan close` and the `process` module.

use super::{
    badarg, expected, int_arg, native, number_arg, pid_arg, Ctx, Native, NativeResult, Trap,
};
use crate::data::atom::Atom;
use crate::data::image::{RestoreError, SaveOutcome};
use crate::data::value::{Value, WeftMap};
use crate::process::{Handoff, Wait};

pub(crate) const NATIVES: &[Native] = &[
    native("self", 0, 0, self_pid),
    native("yield", 0, 0, yield_now),
    native("sleep", 1, 1, sleep),
    native("exit", 1, 2, exit),
    native("kill", 1, 1, kill),
    native("link", 1, 1, link),
    native("unlink", 1, 1, unlink),
    native("monitor", 1, 1, monitor),
    native("demonitor", 1, 1, demonitor),
    native("trap_exits", 1, 1, trap_exits),
    native("register", 2, 2, register),
    native("whereis", 1, 1, whereis),
    native("alive", 1, 1, alive),
    native("make_ref", 0, 0, make_ref),
    native("send_after", 3, 3, send_after),
    native("chan", 0, 1, chan),
    native("close", 1, 1, close),
    native("flush", 0, 0, flush),
    native("process.list", 0, 0, list),
    native("process.info", 1, 1, info),
    native("process.save", 1, 1, save),
    native("process.restore", 1, 1, restore),
    native("process.image_for_move", 0, 0, image_for_move),
    native("process.hold", 1, 1, hold),
    native("process.release", 2, 2, release),
];

fn self_pid(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Ok(Value::Pid(ctx.process.pid))
}

fn yield_now(_: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Err(Trap::Yield)
}

/// `sleep(ms)`: blocks this process only; the VM sleeps if nothing else runs.
fn sleep(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if matches!(ctx.process.handoff, Some(Handoff::TimedOut)) {
        ctx.process.handoff = None;
        return Ok(Value::Nil);
    }
    let ms = number_arg(args, 0, "sleep")?;
    if ms <= 0.0 {
        return Err(Trap::Yield);
    }
    let deadline = ctx.vm.deadline(ms);
    ctx.vm.block(ctx.process, Wait::Sleep, Some(deadline));
    Err(Trap::Block)
}

/// `exit(reason)` ends this process; `exit(pid, reason)` signals another.
fn exit(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if args.len() == 1 {
        return Err(Trap::Exit(std::mem::take(&mut args[0])));
    }
    if let Value::RemotePid(to) = &args[0] {
        ctx.vm
            .exit_remote(ctx.process, to, &args[1])
            .map_err(op_error)?;
        return Ok(Value::Bool(true));
    }
    let pid = pid_arg(ctx, args, 0, "exit")?;
    let reason = std::mem::take(&mut args[1]);
    signal(ctx, pid, reason)
}

fn kill(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Value::RemotePid(to) = &args[0] {
        ctx.vm
            .exit_remote(ctx.process, to, &Value::Atom(Atom::KILL))
            .map_err(op_error)?;
        return Ok(Value::Bool(true));
    }
    let pid = pid_arg(ctx, args, 0, "kill")?;
    signal(ctx, pid, Value::Atom(Atom::KILL))
}

fn signal(ctx: &mut Ctx<'_>, pid: crate::data::value::Pid, reason: Value) -> NativeResult {
    let untrappable = reason == Value::Atom(Atom::KILL);
    let me = ctx.process.pid;
    if pid == me {
        if untrappable {
            return Err(Trap::Exit(Value::Atom(Atom::KILLED)));
        }
        if ctx.process.trap_exits() {
            let message = Value::tuple(vec![Value::Atom(Atom::EXIT), Value::Pid(me), reason]);
            ctx.process.mailbox.push_back(message);
            return Ok(Value::Bool(true));
        }
        return Err(Trap::Exit(reason));
    }
    ctx.vm.exit_signal(pid, me, reason, untrappable);
    Ok(Value::Bool(true))
}

fn link(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Value::RemotePid(to) = &args[0] {
        ctx.vm.link_remote(ctx.process, to).map_err(op_error)?;
        return Ok(Value::Bool(true));
    }
    let pid = pid_arg(ctx, args, 0, "link")?;
    ctx.vm.link(ctx.process, pid).map_err(Trap::Exit)?;
    Ok(Value::Bool(true))
}

fn unlink(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Value::RemotePid(to) = &args[0] {
        ctx.vm.unlink_remote(ctx.process, to).map_err(op_error)?;
        return Ok(Value::Bool(true));
    }
    let pid = pid_arg(ctx, args, 0, "unlink")?;
    ctx.vm.unlink(ctx.process, pid);
    Ok(Value::Bool(true))
}

fn monitor(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Value::RemotePid(to) = &args[0] {
        let reference = ctx.vm.monitor_remote(ctx.process, to).map_err(op_error)?;
        return Ok(Value::Ref(reference));
    }
    if let Some([Value::Atom(name), node]) = args[0].as_tuple() {
        // `(name, node)`: whatever is registered as `name` there.
        if let Some(node) = crate::data::remote::node_name(node) {
            let reference = ctx
                .vm
                .monitor_named(ctx.process, *name, node, &args[0])
                .map_err(op_error)?;
            return Ok(Value::Ref(reference));
        }
    }
    let pid = pid_arg(ctx, args, 0, "monitor")?;
    Ok(Value::Ref(ctx.vm.monitor(ctx.process, pid)))
}

fn demonitor(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let Value::Ref(reference) = args[0] else {
        return Err(expected("a ref", "demonitor", 0, &args[0]));
    };
    Ok(Value::Bool(ctx.vm.demonitor(ctx.process, reference)))
}

/// `trap_exits(flag)`: returns the previous setting.
fn trap_exits(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let Value::Bool(flag) = args[0] else {
        return Err(expected("true or false", "trap_exits", 0, &args[0]));
    };
    let previous = ctx.process.trap_exits();
    ctx.process.extra().trap_exits = flag;
    Ok(Value::Bool(previous))
}

fn register(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let Value::Atom(name) = args[0] else {
        return Err(expected("an atom", "register", 0, &args[0]));
    };
    let Value::Pid(pid) = args[1] else {
        return Err(expected("a pid", "register", 1, &args[1]));
    };
    ctx.vm
        .register(name, pid)
        .map_err(|(kind, message)| Trap::Error(kind, message))?;
    Ok(Value::Bool(true))
}

fn whereis(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let Value::Atom(name) = args[0] else {
        return Err(expected("an atom", "whereis", 0, &args[0]));
    };
    Ok(ctx.vm.whereis(name).map_or(Value::Nil, Value::Pid))
}

fn alive(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Value::RemotePid(to) = &args[0] {
        return Ok(Value::Bool(ctx.vm.remote_alive(to)));
    }
    let Value::Pid(pid) = args[0] else {
        return Err(expected("a pid", "alive", 0, &args[0]));
    };
    Ok(Value::Bool(pid == ctx.process.pid || ctx.vm.is_alive(pid)))
}

fn make_ref(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Ok(Value::Ref(ctx.vm.make_ref()))
}

fn send_after(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let ms = number_arg(args, 0, "send_after")?;
    let pid = pid_arg(ctx, args, 1, "send_after")?;
    let message = std::mem::take(&mut args[2]);
    ctx.vm.send_after(ms, pid, message);
    Ok(Value::Ref(ctx.vm.make_ref()))
}

/// `chan()` is unbuffered (rendezvous); `chan(n)` buffers n values.
fn chan(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let capacity = if args.is_empty() {
        0
    } else {
        int_arg(args, 0, "chan")?
    };
    if !(0..=1 << 30).contains(&capacity) {
        return Err(badarg(format!(
            "chan needs a capacity from 0 to 2^30, got {capacity}"
        )));
    }
    Ok(Value::Chan(ctx.vm.new_channel(capacity as usize)))
}

fn close(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    match &args[0] {
        Value::Chan(channel) => {
            let channel = channel.clone();
            ctx.vm
                .close_channel(&channel)
                .map_err(|(kind, message)| Trap::Error(kind, message))?;
            Ok(Value::Nil)
        }
        Value::Resource(resource) => {
            resource.close();
            Ok(Value::Nil)
        }
        other => Err(expected("a channel", "close", 0, other)),
    }
}

/// `flush()`: prints every message in the caller's mailbox and empties it
/// (Erlang's shell `flush()`); returns `:ok`.
fn flush(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    let messages: Vec<Value> = ctx.process.mailbox.drain(..).collect();
    for message in messages {
        let line = format!("Shell got {}\n", message.inspect());
        ctx.vm.write_output(&line);
    }
    Ok(Value::Atom(Atom::OK))
}

fn list(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Ok(Value::list(
        ctx.vm.pids().into_iter().map(Value::Pid).collect(),
    ))
}

/// `process.info(pid)`: `:status`, `:reductions`, `:mailbox` (its length),
/// `:memory` (bytes); nil for a dead process.
fn info(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let pid = pid_arg(ctx, args, 0, "process.info")?;
    let (status, reductions, mailbox, memory) = if pid == ctx.process.pid {
        let p = &*ctx.process;
        (Atom::RUNNING, p.reductions, p.mailbox.len(), p.memory())
    } else {
        // Another process is read from what it published when it last
        // parked or yielded: it may be running on another core.
        let Some(glance) = ctx.vm.glance(pid) else {
            return Ok(Value::Nil);
        };
        (
            glance.status,
            glance.reductions,
            glance.mailbox,
            glance.memory,
        )
    };
    let mut map = WeftMap::default();
    map.insert(Value::Atom(Atom::STATUS), Value::Atom(status));
    map.insert(Value::Atom(Atom::REDUCTIONS), Value::Int(reductions as i64));
    map.insert(Value::Atom(Atom::MAILBOX), Value::Int(mailbox as i64));
    map.insert(Value::Atom(Atom::MEMORY), Value::Int(memory as i64));
    Ok(Value::map(crate::data::value::MapItems(map)))
}

/// `process.save(pid)`: `(:ok, image)`, `(:error, (:unsaveable, what))`, or
/// `(:error, :noproc)`. Saving `self()` is the interpreter's (`Trap::SaveSelf`).
fn save(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Value::RemotePid(_) = &args[0] {
        return Err(badarg(
            "process.save saves a process of this node (process.migrate moves one here)"
                .to_string(),
        ));
    }
    let pid = pid_arg(ctx, args, 0, "process.save")?;
    if pid == ctx.process.pid {
        return Err(Trap::SaveSelf { moving: false });
    }
    let outcome = ctx.vm.save_process(pid);
    saved(ctx, outcome, |ctx, bytes| {
        ctx.charge(bytes.len() / IMAGE_BYTES_PER_REDUCTION);
        Value::tuple(vec![Value::Atom(Atom::OK), Value::bytes(bytes)])
    })
}

/// The answer to saving another process (`process.save`, `process.hold`):
/// `made` turns what the save gave into the result; a process that cannot
/// be saved or does not exist is an `(:error, ...)`; one running on another
/// core is looked at again once this core has run whatever else is ready
/// (the call blocks on a timer due now and runs again).
fn saved<T>(
    ctx: &mut Ctx<'_>,
    outcome: SaveOutcome<T>,
    made: impl FnOnce(&mut Ctx<'_>, T) -> Value,
) -> NativeResult {
    if matches!(ctx.process.handoff, Some(Handoff::TimedOut)) {
        // The retry's timer woke us.
        ctx.process.handoff = None;
    }
    let error = |reason: Value| Ok(Value::tuple(vec![Value::Atom(Atom::ERROR), reason]));
    match outcome {
        SaveOutcome::Saved(saved) => Ok(made(ctx, saved)),
        SaveOutcome::Unsaveable(what) => error(Value::tuple(vec![
            Value::Atom(Atom::UNSAVEABLE),
            Value::atom(what),
        ])),
        SaveOutcome::Dead => error(Value::Atom(Atom::NOPROC)),
        SaveOutcome::Busy => {
            let deadline = ctx.vm.deadline(0.0);
            ctx.vm.block(ctx.process, Wait::Sleep, Some(deadline));
            Err(Trap::Block)
        }
    }
}

/// Image bytes written or read per reduction charged: about what copying a
/// value of that size costs (`Fuel`'s scale).
const IMAGE_BYTES_PER_REDUCTION: usize = 16;

/// `process.restore(image)`: `(:ok, pid)`, `(:error, :code_changed)` or
/// `(:error, (:bad_image, why))`.
fn restore(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let Value::Bytes(image) = &args[0] else {
        return Err(expected("bytes", "process.restore", 0, &args[0]));
    };
    ctx.charge(image.len() / IMAGE_BYTES_PER_REDUCTION);
    let error = |reason: Value| Ok(Value::tuple(vec![Value::Atom(Atom::ERROR), reason]));
    match ctx.vm.restore_process(&args[0]) {
        Ok(pid) => Ok(Value::tuple(vec![Value::Atom(Atom::OK), Value::Pid(pid)])),
        Err(RestoreError::CodeChanged) => error(Value::Atom(Atom::CODE_CHANGED)),
        Err(RestoreError::Bad(why)) => error(Value::tuple(vec![
            Value::Atom(Atom::BAD_IMAGE),
            Value::str(why),
        ])),
        Err(RestoreError::Refused((kind, message))) => Err(Trap::Error(kind, message)),
    }
}

// `process.migrate` is written in Weft (stdlib `process.weft`) over the
// three natives below, which are not meant for scripts of their own.

/// `process.image_for_move()`: the caller's image, `(:image, image, name)`;
/// the copy restored from it finds `(:moved, nil)` here instead.
fn image_for_move(_: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Err(Trap::SaveSelf { moving: true })
}

/// `process.hold(pid)`: stops another process where it stands and saves it:
/// `(:ok, image, name)`; it stays stopped until `process.release`.
fn hold(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let pid = pid_arg(ctx, args, 0, "process.hold")?;
    if pid == ctx.process.pid {
        return Err(badarg("process.hold holds another process".to_string()));
    }
    let outcome = ctx.vm.hold_process(pid);
    saved(ctx, outcome, |ctx, (process, bytes, name)| {
        ctx.charge(bytes.len() / IMAGE_BYTES_PER_REDUCTION);
        ctx.process.extra().held.push(process);
        Value::tuple(vec![
            Value::Atom(Atom::OK),
            Value::bytes(bytes),
            name.map_or(Value::Nil, Value::Atom),
        ])
    })
}

/// `process.release(pid, reason)`: a held process ends with `reason`, or
/// with `nil` goes on where it was. False if it is not held.
fn release(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let pid = pid_arg(ctx, args, 0, "process.release")?;
    let Some(held) = ctx.process.extra.as_mut().map(|extra| &mut extra.held) else {
        return Ok(Value::Bool(false));
    };
    let Some(at) = held.iter().position(|process| process.pid == pid) else {
        return Ok(Value::Bool(false));
    };
    let process = held.swap_remove(at);
    match std::mem::take(&mut args[1]) {
        Value::Nil => ctx.vm.put_back(process),
        reason => ctx.vm.end_held(process, reason),
    }
    Ok(Value::Bool(true))
}

fn op_error((kind, message): crate::data::ops::OpError) -> Trap {
    Trap::Error(kind, message)
}
