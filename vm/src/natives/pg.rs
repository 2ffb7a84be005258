//! The `pg` module (LANGUAGE.md §12): process groups, Erlang's `pg`
//! default scope. `join` and `leave` take a local pid or a list of them;
//! `members` lists the local members and, on a node, those other nodes
//! told of (runtime/groups.rs keeps the local ones).

use super::{expected, native, Ctx, Native, NativeResult};
use crate::data::atom::Atom;
use crate::data::value::{Pid, Value};

pub(crate) const NATIVES: &[Native] = &[
    native("pg.join", 2, 2, join),
    native("pg.leave", 2, 2, leave),
    native("pg.members", 1, 1, members),
];

/// `pg.join(group, pid_or_pids)`: `:ok`. A pid already in the group, or
/// one that has ended, is left as it is.
fn join(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let pids = local_pids(ctx, &args[1], "pg.join")?;
    ctx.charge(pids.len());
    ctx.vm.pg_join(&args[0], &pids);
    Ok(Value::Atom(Atom::OK))
}

/// `pg.leave(group, pid_or_pids)`: `:ok`, or `:not_joined` if none of them
/// was in the group (as Erlang's `pg:leave` answers).
fn leave(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let pids = local_pids(ctx, &args[1], "pg.leave")?;
    ctx.charge(pids.len());
    if ctx.vm.pg_leave(&args[0], &pids) {
        Ok(Value::Atom(Atom::OK))
    } else {
        Ok(Value::atom("not_joined"))
    }
}

/// `pg.members(group)`: a list of pids, local ones first.
fn members(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let all = ctx.vm.pg_members(&args[0]);
    ctx.charge(all.len());
    Ok(Value::list(all))
}

/// A local pid, or a list of them (a process on another node joins its
/// own node's groups, as in Erlang).
fn local_pids(ctx: &Ctx<'_>, value: &Value, name: &str) -> Result<Vec<Pid>, super::Trap> {
    let one = |v: &Value| match v {
        Value::Pid(pid) => Ok(*pid),
        Value::Atom(_) => super::pid_arg(ctx, std::slice::from_ref(v), 0, name),
        other => Err(expected("a local pid or a list of them", name, 1, other)),
    };
    match value.as_list() {
        Some(items) => items.iter().map(one).collect(),
        None => one(value).map(|pid| vec![pid]),
    }
}
