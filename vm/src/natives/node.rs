//! The `node` module (LANGUAGE.md §12): this node's name, the nodes it is
//! connected to, connecting and watching connections. On a VM that is not
//! a node, `self()` is `"nonode@nohost"`, `list()` is empty and `connect`
//! is false, as in Erlang.

use super::{badarg, expected, native, Ctx, Native, NativeResult, Trap};
use crate::data::remote::node_name;
use crate::data::value::Value;
use crate::process::{Handoff, Wait};

pub(crate) const NATIVES: &[Native] = &[
    native("node.self", 0, 0, self_name_native),
    native("node.list", 0, 0, list),
    native("node.connect", 1, 1, connect),
    native("node.monitor", 1, 1, monitor),
];

fn self_name_native(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Ok(Value::str(ctx.vm.node_name().name()))
}

fn list(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Ok(Value::list(
        ctx.vm
            .nodes()
            .into_iter()
            .map(|n| Value::str(n.name()))
            .collect(),
    ))
}

/// `node.connect(name)`: true once connected, false if the node cannot be
/// reached. Blocks only the caller while the network thread connects.
fn connect(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if matches!(ctx.process.handoff, Some(Handoff::Received { .. })) {
        if let Some(Handoff::Received { value, .. }) = ctx.process.handoff.take() {
            return Ok(value);
        }
    }
    let node =
        node_name(&args[0]).ok_or_else(|| expected("a node name", "node.connect", 0, &args[0]))?;
    if !ctx.vm.is_node() {
        return Ok(Value::Bool(false));
    }
    if node == ctx.vm.node_name().name() || ctx.vm.is_connected(node) {
        return Ok(Value::Bool(true));
    }
    if !node.contains('@') {
        return Err(badarg(format!(
            "node.connect expects a name like \"name@host\", got {node:?}"
        )));
    }
    let node = node.to_string();
    let waiter = ctx.park(Wait::Node);
    ctx.vm.connect_node(&node, waiter);
    Err(Trap::Block)
}

/// `node.monitor(name)`: a `(:nodedown, name)` message when the connection
/// to `name` is lost (at once if it is not up).
fn monitor(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let node =
        node_name(&args[0]).ok_or_else(|| expected("a node name", "node.monitor", 0, &args[0]))?;
    if !ctx.vm.is_node() {
        return Err(badarg(
            "node.monitor needs this VM to be a node: start it with --sname or --name",
        ));
    }
    let node = node.to_string();
    let pid = ctx.process.pid;
    ctx.vm.monitor_node(pid, &node);
    Ok(Value::Bool(true))
}
