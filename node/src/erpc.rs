//! Calls into this node from other nodes: Erlang's `erpc:call` (which is
//! also `rpc:call` from OTP 25 on) and `erpc:cast`, as the distributed spawn
//! requests they are (`SPAWN_REQUEST` of `erpc:execute_call/4` and
//! `erpc:execute_cast/3`; docs/DISTRIBUTION.md, "Calling Weft from Erlang").
//!
//! Invariants:
//! - Every spawn request gets exactly one `SPAWN_REPLY`, and for a call it
//!   is queued before the `MONITOR_P_EXIT` that carries the call's result:
//!   OTP closes a connection that reports a spawned process's end before
//!   its spawn (OTP-17737). A process that ends before its reply is queued
//!   leaves its end in its `Call` (`order`, reply_first.rs), and the
//!   reply's sender queues the end after the reply, under the same lock.
//! - The result travels as the spawned process's exit reason, in the shape
//!   `erpc:execute_call/4` gives it: `{Res, return, Value}`,
//!   `{Res, error, Reason, Stack}`, `{Res, exit, Reason}`; `killed` as it is.
//! - Only `erpc`'s two entry points are started; any other MFA is refused
//!   with `notsup` (Weft runs no Erlang code), any option but `monitor`
//!   with `badopt`, so a request is never left unanswered.

use std::sync::Arc;

use weft_vm::{Atom, NodeHandle, RemotePid, SpawnRefused, Value};

use crate::{etf, lock, MonitorIn, NodeState};

pub const SPAWN_REQUEST: i64 = 29;
pub const SPAWN_REQUEST_TT: i64 = 30;
const SPAWN_REPLY: i64 = 31;
/// `SPAWN_REPLY`'s flag: the monitor the request asked for is set.
const MONITOR_SET: i64 = 2;

/// A call from another node running here, until its end is sent.
pub(crate) struct Call {
    /// `Res`, the caller's reference the result is tagged with.
    result_tag: Value,
    /// Whether the `SPAWN_REPLY` is queued, and the process's end (its
    /// reason and returned value) if it came first.
    pub(crate) order: crate::reply_first::ReplyFirst<(Value, Option<Value>)>,
}

impl Call {
    /// The exit reason `erpc` expects for a process that ended with
    /// `reason` (having returned `returned`).
    pub(crate) fn reason(&self, reason: &Value, returned: Option<&Value>) -> Value {
        let res = self.result_tag.clone();
        if let Some(value) = returned {
            return Value::tuple(vec![res, Value::atom("return"), value.clone()]);
        }
        match reason.as_tuple() {
            // A runtime error, `(:error, kind, message)`: an `error`
            // exception whose reason is `{Kind, Message}`.
            Some([label, kind, message]) if label.as_atom() == Some("error") => Value::tuple(vec![
                res,
                Value::atom("error"),
                Value::tuple(vec![kind.clone(), message.clone()]),
                Value::list(Vec::new()),
            ]),
            _ if reason.as_atom() == Some("killed") => reason.clone(),
            _ => Value::tuple(vec![res, Value::atom("exit"), reason.clone()]),
        }
    }
}

/// What a spawn request asks for, once checked.
enum Request {
    /// `erpc:execute_call(Res, M, F, A)` with a monitor.
    Call {
        result_tag: Value,
        module: Atom,
        function: Atom,
        args: Vec<Value>,
    },
    /// `erpc:execute_cast(M, F, A)`.
    Cast {
        module: Atom,
        function: Atom,
        args: Vec<Value>,
    },
}

/// Acts on a `SPAWN_REQUEST`: `{29, ReqId, From, GroupLeader, {M, F,
/// Arity}, Opts}` (`_TT` adds a token), its argument list as the message.
pub(crate) fn spawn_request(
    state: &NodeState,
    handle: &mut NodeHandle,
    fields: &[Value],
    args: Option<Value>,
) {
    let (Some(request_id), Some(Value::RemotePid(from))) = (fields.get(1), fields.get(2)) else {
        // Nobody to answer: a malformed request is dropped.
        return;
    };
    let request = match read_request(fields, args) {
        Ok(request) => request,
        Err(why) => return reply(state, request_id, from, 0, &Value::atom(why)),
    };
    match request {
        Request::Cast {
            module,
            function,
            args,
        } => {
            // The caller wants no result: errors go nowhere, as in Erlang.
            let pid = handle.spawn_for(module.name(), function.name(), args, None);
            let pid = pid
                .map(Value::from)
                .unwrap_or_else(|_| state.reserved_pid(0));
            reply(state, request_id, from, 0, &pid);
        }
        Request::Call {
            result_tag,
            module,
            function,
            args,
        } => call(
            state, handle, request_id, from, result_tag, module, function, args,
        ),
    }
}

fn read_request(fields: &[Value], args: Option<Value>) -> Result<Request, &'static str> {
    let (Some(mfa), Some(options)) = (fields.get(4), fields.get(5)) else {
        return Err("badarg");
    };
    let Some(options) = options.as_list() else {
        return Err("badopt");
    };
    let monitor = Value::atom("monitor");
    if options.iter().any(|o| *o != monitor) {
        return Err("badopt");
    }
    let args = args.as_ref().and_then(Value::as_list).ok_or("badarg")?;
    let (module, function, arity) = match mfa.as_tuple() {
        Some([m, f, a]) => (m.as_atom(), f.as_atom(), a.as_int()),
        _ => return Err("badarg"),
    };
    if arity != Some(args.len() as i64) {
        return Err("badarg");
    }
    let erpc_call = |args: &[Value]| -> Option<(Atom, Atom, Vec<Value>)> {
        match args {
            [Value::Atom(m), Value::Atom(f), list] => Some((*m, *f, list.as_list()?.to_vec())),
            _ => None,
        }
    };
    match (module, function, args) {
        (Some("erpc"), Some("execute_call"), [result_tag, rest @ ..]) if !options.is_empty() => {
            let (module, function, args) = erpc_call(rest).ok_or("badarg")?;
            Ok(Request::Call {
                result_tag: result_tag.clone(),
                module,
                function,
                args,
            })
        }
        (Some("erpc"), Some("execute_cast"), rest) if options.is_empty() => {
            let (module, function, args) = erpc_call(rest).ok_or("badarg")?;
            Ok(Request::Cast {
                module,
                function,
                args,
            })
        }
        // Weft runs no Erlang code: `spawn(WeftNode, M, F, A)` is refused.
        _ => Err("notsup"),
    }
}

#[allow(clippy::too_many_arguments)]
fn call(
    state: &NodeState,
    handle: &mut NodeHandle,
    request_id: &Value,
    from: &Arc<RemotePid>,
    result_tag: Value,
    module: Atom,
    function: Atom,
    args: Vec<Value>,
) {
    let key = handle.make_ref();
    lock(&state.tables).calls.insert(
        key,
        Call {
            result_tag: result_tag.clone(),
            order: crate::reply_first::ReplyFirst::new(),
        },
    );
    let started = handle.spawn_for(module.name(), function.name(), args.clone(), Some(key));
    let pid = match started {
        Ok(pid) => pid,
        Err(refused) => {
            // Nothing started: the answer is the error Erlang's apply
            // would raise, as the end of the node's pid 0.
            lock(&state.tables).calls.remove(&key);
            let reason = match refused {
                // A function of another arity is not that function.
                SpawnRefused::Undefined => undefined(&result_tag, module, function, args),
                SpawnRefused::Failed(kind, _) if kind.name() == "badarity" => {
                    undefined(&result_tag, module, function, args)
                }
                SpawnRefused::Failed(kind, message) => Value::tuple(vec![
                    result_tag,
                    Value::atom("error"),
                    Value::tuple(vec![Value::Atom(kind), Value::str(message)]),
                    Value::list(Vec::new()),
                ]),
            };
            let pid = state.reserved_pid(0);
            reply(state, request_id, from, MONITOR_SET, &pid);
            let frame = crate::conn::monitor_exit_frame(state, &pid, from, request_id, &reason);
            if let Some(conn) = state.existing(from.node.name()) {
                conn.queue(frame);
            }
            return;
        }
    };
    // The monitor is the caller's, under its request id (as erpc expects:
    // a `DEMONITOR_P` for it on a timeout finds it).
    let mut tables = lock(&state.tables);
    tables
        .monitor_keys
        .insert((from.clone(), request_id.clone()), key);
    tables.monitors_in.insert(
        key,
        MonitorIn {
            watcher: from.clone(),
            reference: request_id.clone(),
            target: pid,
            name: None,
        },
    );
    reply(state, request_id, from, MONITOR_SET, &Value::from(pid));
    let Some(call) = tables.calls.get_mut(&key) else {
        return;
    };
    if let Some((reason, returned)) = call.order.replied() {
        // It ended before the reply went: its end follows it now.
        let reason = call.reason(&reason, returned.as_ref());
        tables.calls.remove(&key);
        tables
            .monitor_keys
            .remove(&(from.clone(), request_id.clone()));
        tables.monitors_in.remove(&key);
        drop(tables);
        let frame =
            crate::conn::monitor_exit_frame(state, &Value::from(pid), from, request_id, &reason);
        if let Some(conn) = state.existing(from.node.name()) {
            conn.queue(frame);
        }
    }
}

/// `{Res, error, undef, [{M, F, Args, []}]}`: what `erpc` gets from Erlang
/// for a function that does not exist.
fn undefined(result_tag: &Value, module: Atom, function: Atom, args: Vec<Value>) -> Value {
    let frame = Value::tuple(vec![
        Value::Atom(module),
        Value::Atom(function),
        Value::list(args),
        Value::list(Vec::new()),
    ]);
    Value::tuple(vec![
        result_tag.clone(),
        Value::atom("error"),
        Value::atom("undef"),
        Value::list(vec![frame]),
    ])
}

/// Queues `{SPAWN_REPLY, ReqId, To, Flags, Result}`.
fn reply(state: &NodeState, request_id: &Value, to: &Arc<RemotePid>, flags: i64, result: &Value) {
    let frame = state.frame(
        |out| {
            etf::put_tuple_header(out, 5);
            etf::put_int(out, SPAWN_REPLY);
            etf::encode_bare(out, request_id, state);
            etf::put_remote_pid(out, to);
            etf::put_int(out, flags);
            etf::encode_bare(out, result, state);
        },
        None,
    );
    if let Some(conn) = state.existing(to.node.name()) {
        conn.queue(frame);
    }
}
