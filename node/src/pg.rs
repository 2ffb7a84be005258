//! Process groups across nodes: this node's side of Erlang's `pg` default
//! scope (OTP 23+), so `pg:get_members/1` on an Erlang node and
//! `pg.members` here list the same processes (docs/DISTRIBUTION.md,
//! "Process groups"). The VM keeps the local members (vm's
//! runtime/groups.rs); this keeps what each peer scope told us.
//!
//! The protocol, as `pg.erl` speaks it (plain messages unless noted):
//! `{discover, PeerScope}` asks for a `sync`; `{'$gen_cast', {sync,
//! PeerScope, [{Group, Pids}]}}` replaces all we know of that peer;
//! `{join, PeerScope, Group, PidOrPids}` and `{leave, PeerScope,
//! PidOrPids, Groups}` change it. This node's scope is the pid
//! `SCOPE_ID.SCOPE_SERIAL`, which no process has; peers also reach it as
//! the registered name `pg` (when no Weft process has taken that name).
//!
//! Invariants:
//! - Erlang only discovers visible nodes and this one is hidden, so this
//!   side starts: once a script uses `pg` (`activate`), every connection up
//!   then, and every one that comes up later, gets `{discover, Scope}`. A
//!   node whose scripts never use `pg` sends nothing (it still answers a
//!   peer's `discover`).
//! - A peer is told of a leave only for a group it was told of (a `sync`
//!   or a `join`): Erlang's `pg` crashes on a leave for a group it never
//!   saw. Both are sent with the VM's groups locked (`with_groups`, and
//!   `Distribution::pg_join`/`pg_leave` are called under that lock), so a
//!   peer learns of each local join exactly once, before its leave.
//! - Nothing but these four messages is ever sent to a peer's scope, and
//!   anything unexpected from a peer is ignored (never answered).
//! - A peer's members are dropped when its connection goes, or when its
//!   scope ends (we monitor each peer scope; its node is asked again).
//! - A node we have no scope from is asked again on `pg.join`/`pg.members`,
//!   at most once per `ASK_AGAIN` (its `pg` may start after we connect).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHashSet};
use weft_vm::{Atom, NodeHandle, Pid, RemotePid, Value};

use crate::{conn, etf, lock, NodeState};

/// The pid parts of this node's scope: id 0 is no process's.
const SCOPE_ID: u32 = 0;
const SCOPE_SERIAL: u32 = 1;

/// What the peer scopes told us: each peer's groups and their members.
#[derive(Default)]
pub(crate) struct Peers {
    scopes: FxHashMap<Arc<RemotePid>, FxHashMap<Value, Vec<Value>>>,
    /// The peer scopes that have had our `sync`: only they hear of joins
    /// and leaves (a leave before the sync would name a group they have
    /// not seen).
    synced: FxHashSet<Arc<RemotePid>>,
    /// Our monitors of the peer scopes, by reference: a scope that ends
    /// (Erlang's `pg` killed and restarted) takes its members with it.
    monitors: FxHashMap<u64, Arc<RemotePid>>,
    next_monitor: u64,
    /// When each node's scope was last asked (`discover`), so a node whose
    /// `pg` is not running (yet) is asked again, at most once per `ASK_AGAIN`.
    asked: FxHashMap<Arc<str>, Instant>,
}

/// How long before a node that has not answered a `discover` is asked again.
const ASK_AGAIN: Duration = Duration::from_secs(1);

/// Whether `pid` is this node's scope.
pub(crate) fn is_scope(state: &NodeState, pid: &RemotePid) -> bool {
    pid.node == state.name && pid.id == SCOPE_ID && pid.serial == SCOPE_SERIAL
}

fn scope(state: &NodeState) -> Value {
    state.reserved_pid(SCOPE_SERIAL)
}

/// A script used `pg`: discover the scopes of the nodes connected now that
/// we have no scope from (and were not asked lately), and (`connected`) of
/// those that connect later. Called on every `pg.join` and `pg.members`,
/// so a node whose `pg` started late, or restarted, is found again.
pub(crate) fn activate(state: &NodeState) {
    state
        .pg_active
        .store(true, std::sync::atomic::Ordering::Release);
    let up: Vec<Arc<str>> = lock(&state.connections)
        .values()
        .filter(|c| c.is_up())
        .map(|c| c.node.clone())
        .collect();
    let now = Instant::now();
    let missing: Vec<Arc<str>> = {
        let mut peers = lock(&state.pg);
        let missing: Vec<Arc<str>> = up
            .into_iter()
            .filter(|node| !peers.scopes.keys().any(|p| p.node.name() == &**node))
            .filter(|node| {
                peers
                    .asked
                    .get(node)
                    .is_none_or(|at| now.duration_since(*at) >= ASK_AGAIN)
            })
            .collect();
        for node in &missing {
            peers.asked.insert(node.clone(), now);
        }
        missing
    };
    for node in missing {
        discover(state, &node);
    }
}

/// A connection to `node` came up.
pub(crate) fn connected(state: &NodeState, node: &str) {
    if state.pg_active.load(std::sync::atomic::Ordering::Acquire) {
        lock(&state.pg)
            .asked
            .insert(Arc::from(node), Instant::now());
        discover(state, node);
    }
}

/// A peer scope we monitor ended (`MONITOR_P_EXIT` to our scope): its
/// members go, and its node is asked again (a restarted `pg`).
pub(crate) fn scope_down(state: &NodeState, reference: &Value) {
    let Value::Ref(reference) = reference else {
        return;
    };
    let node = {
        let mut peers = lock(&state.pg);
        let Some(peer) = peers.monitors.remove(reference) else {
            return;
        };
        peers.scopes.remove(&peer);
        peers.synced.remove(&peer);
        let node: Arc<str> = Arc::from(peer.node.name());
        peers.asked.insert(node.clone(), Instant::now());
        node
    };
    discover(state, &node);
}

/// Records `peer` as a scope we know, monitoring it, if it is new.
fn know(state: &NodeState, peers: &mut Peers, peer: &Arc<RemotePid>) -> bool {
    if peers.scopes.contains_key(peer) {
        return false;
    }
    peers.scopes.insert(peer.clone(), FxHashMap::default());
    peers.next_monitor += 1;
    let reference = peers.next_monitor;
    peers.monitors.insert(reference, peer.clone());
    let frame = state.frame(
        |out| {
            // {MONITOR_P, FromPid, ToProc, Ref}
            etf::put_tuple_header(out, 4);
            etf::put_int(out, conn::MONITOR_P);
            etf::put_pid_parts(out, state.name, SCOPE_ID, SCOPE_SERIAL, state.creation);
            etf::put_remote_pid(out, peer);
            etf::put_local_ref(out, reference, state);
        },
        None,
    );
    if let Some(conn) = state.existing(peer.node.name()) {
        conn.queue(frame);
    }
    true
}

/// Asks `node`'s scope for its members (the `discover` Erlang's `pg` sends
/// only to visible nodes).
fn discover(state: &NodeState, node: &str) {
    let message = Value::tuple(vec![Value::atom("discover"), scope(state)]);
    let frame = state.frame(
        |out| {
            // {REG_SEND, FromPid, Unused, ToName}
            etf::put_tuple_header(out, 4);
            etf::put_int(out, conn::REG_SEND);
            etf::put_pid_parts(out, state.name, SCOPE_ID, SCOPE_SERIAL, state.creation);
            etf::put_atom_name(out, "");
            etf::put_atom_name(out, "pg");
        },
        Some(&message),
    );
    if let Some(conn) = state.existing(node) {
        conn.queue(frame);
    }
}

/// A connection went: its peer scopes' members go with it.
pub(crate) fn disconnected(state: &NodeState, node: &str) {
    let mut peers = lock(&state.pg);
    peers.scopes.retain(|peer, _| peer.node.name() != node);
    peers.synced.retain(|peer| peer.node.name() != node);
    peers.monitors.retain(|_, peer| peer.node.name() != node);
    peers.asked.remove(node);
}

/// A message to this node's scope.
pub(crate) fn message(state: &NodeState, handle: &NodeHandle, message: &Value) {
    let Some(fields) = message.as_tuple() else {
        return;
    };
    let atom = |i: usize| fields.get(i).and_then(Value::as_atom);
    let peer = |i: usize| match fields.get(i) {
        Some(Value::RemotePid(pid)) if !is_scope(state, pid) => Some(pid.clone()),
        _ => None,
    };
    match (atom(0), fields.len()) {
        // {discover, Peer} and OTP 26's {discover, Peer, Version}.
        (Some("discover"), 2 | 3) => {
            if let Some(peer) = peer(1) {
                discovered(state, handle, peer);
            }
        }
        (Some("$gen_cast"), 2) => {
            let Some([kind, from, groups]) = fields[1].as_tuple() else {
                return;
            };
            if let (Some("sync"), Value::RemotePid(from), Some(groups)) =
                (kind.as_atom(), from, groups.as_list())
            {
                let mut known = FxHashMap::default();
                for entry in groups {
                    if let Some([group, pids]) = entry.as_tuple() {
                        known.insert(group.clone(), pid_list(pids));
                    }
                }
                let mut peers = lock(&state.pg);
                know(state, &mut peers, from);
                peers.scopes.insert(from.clone(), known);
            }
        }
        (Some("join"), 4) => {
            let Some(peer) = peer(1) else { return };
            let mut peers = lock(&state.pg);
            if let Some(groups) = peers.scopes.get_mut(&peer) {
                let members = groups.entry(fields[2].clone()).or_default();
                members.extend(pid_list(&fields[3]));
            }
        }
        (Some("leave"), 4) => {
            let Some(peer) = peer(1) else { return };
            let gone = pid_list(&fields[2]);
            let mut peers = lock(&state.pg);
            let (Some(groups), Some(names)) = (peers.scopes.get_mut(&peer), fields[3].as_list())
            else {
                return;
            };
            for name in names {
                if let Some(members) = groups.get_mut(name) {
                    // One entry per leave: Erlang's `pg` counts joins, so
                    // a pid that joined twice is still in after one leave.
                    for pid in &gone {
                        if let Some(at) = members.iter().position(|m| m == pid) {
                            members.remove(at);
                        }
                    }
                    if members.is_empty() {
                        groups.remove(name);
                    }
                }
            }
        }
        _ => {}
    }
}

/// A pid or a list of pids, as `join` and `leave` carry them.
fn pid_list(value: &Value) -> Vec<Value> {
    let is_pid = |v: &Value| matches!(v, Value::Pid(_) | Value::RemotePid(_));
    match value.as_list() {
        Some(items) => items.iter().filter(|v| is_pid(v)).cloned().collect(),
        None if is_pid(value) => vec![value.clone()],
        None => Vec::new(),
    }
}

/// A peer scope asked for our members: a `sync` back, and, if it is new
/// to us, a `discover` of our own so it sends its members.
fn discovered(state: &NodeState, handle: &NodeHandle, peer: Arc<RemotePid>) {
    handle.with_groups(|local| {
        let groups = local
            .into_iter()
            .map(|(group, pids)| {
                let pids = pids.into_iter().map(Value::Pid).collect();
                Value::tuple(vec![group, Value::list(pids)])
            })
            .collect();
        let sync = Value::tuple(vec![
            Value::atom("$gen_cast"),
            Value::tuple(vec![Value::atom("sync"), scope(state), Value::list(groups)]),
        ]);
        let mut peers = lock(&state.pg);
        send(state, &peer, &sync);
        peers.synced.insert(peer.clone());
        if know(state, &mut peers, &peer) {
            send(
                state,
                &peer,
                &Value::tuple(vec![Value::atom("discover"), scope(state)]),
            );
        }
    });
}

/// Sends to a peer scope over its connection if it is up (a scope's
/// messages never start a connection).
fn send(state: &NodeState, to: &RemotePid, message: &Value) {
    if let Some(conn) = state.existing(to.node.name()) {
        conn.queue(state.send_frame(to, message));
    }
}

/// Local `pids` joined `group`: every known peer scope hears of it.
pub(crate) fn joined(state: &NodeState, group: &Value, pids: &[Pid]) {
    activate(state);
    let pids = Value::list(pids.iter().map(|p| Value::Pid(*p)).collect());
    let message = Value::tuple(vec![Value::atom("join"), scope(state), group.clone(), pids]);
    for peer in &lock(&state.pg).synced {
        send(state, peer, &message);
    }
}

/// Local `pids` left `group`.
pub(crate) fn left(state: &NodeState, group: &Value, pids: &[Pid]) {
    let pids = Value::list(pids.iter().map(|p| Value::Pid(*p)).collect());
    let groups = Value::list(vec![group.clone()]);
    let message = Value::tuple(vec![Value::atom("leave"), scope(state), pids, groups]);
    for peer in &lock(&state.pg).synced {
        send(state, peer, &message);
    }
}

/// The members of `group` the peer scopes told us of.
pub(crate) fn members(state: &NodeState, group: &Value) -> Vec<Value> {
    activate(state);
    let peers = lock(&state.pg);
    let mut all = Vec::new();
    for groups in peers.scopes.values() {
        if let Some(members) = groups.get(group) {
            all.extend(members.iter().cloned());
        }
    }
    all
}

/// Whether `name` is the scope's registered name.
pub(crate) fn is_scope_name(name: Atom) -> bool {
    name.name() == "pg"
}
