//! The `chan` module (LANGUAGE.md §7): `recv try_recv balance len closed?`.

use super::{expected, native, Ctx, Native, NativeResult, Trap};
use crate::data::atom::Atom;
use crate::data::channel::ChanOutcome;
use crate::data::channel::Channel;
use crate::data::value::Value;
use crate::process::Handoff;
use std::sync::Arc;

pub(crate) const NATIVES: &[Native] = &[
    native("chan.recv", 1, 1, recv),
    native("chan.try_recv", 1, 1, try_recv),
    native("chan.balance", 1, 1, balance),
    native("chan.len", 1, 1, len),
    native("chan.closed?", 1, 1, closed),
];

fn channel(args: &[Value], name: &str) -> Result<Arc<Channel>, Trap> {
    match &args[0] {
        Value::Chan(c) => Ok(c.clone()),
        other => Err(expected("a channel", name, 0, other)),
    }
}

fn ok(value: Value) -> Value {
    Value::tuple(vec![Value::Atom(Atom::OK), value])
}

/// `(:ok, v)`, or `:closed` once the channel is closed and drained; waits.
fn recv(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    match ctx.process.handoff.take() {
        Some(Handoff::Received { value, .. }) => return Ok(ok(value)),
        Some(Handoff::Closed { .. }) => return Ok(Value::Atom(Atom::CLOSED)),
        _ => {}
    }
    let channel = channel(args, "chan.recv")?;
    match ctx.vm.chan_recv(ctx.process, &channel) {
        ChanOutcome::Done(value) => Ok(ok(value)),
        ChanOutcome::Closed => Ok(Value::Atom(Atom::CLOSED)),
        ChanOutcome::Blocked => Err(Trap::Block),
    }
}

/// `(:ok, v)`, `:empty` or `:closed`, without waiting.
fn try_recv(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let channel = channel(args, "chan.try_recv")?;
    Ok(match ctx.vm.try_recv(&channel) {
        Ok(value) => ok(value),
        Err(true) => Value::Atom(Atom::CLOSED),
        Err(false) => Value::Atom(Atom::EMPTY),
    })
}

fn balance(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let channel = channel(args, "chan.balance")?;
    Ok(Value::Int(ctx.vm.balance(&channel)))
}

/// The number of values waiting in the buffer.
fn len(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let channel = channel(args, "chan.len")?;
    let length = channel.lock().buffer.len();
    Ok(Value::Int(length as i64))
}

fn closed(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let channel = channel(args, "chan.closed?")?;
    let closed = channel.lock().closed;
    Ok(Value::Bool(closed))
}
