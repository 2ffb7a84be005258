//! The VM's side of distribution (LANGUAGE.md §12): remote pids and refs,
//! the hooks a node implementation provides (`Distribution`, implemented
//! by the `weft-node` crate), and the handle its network threads deliver
//! signals through (`NodeHandle`).
//!
//! Invariants:
//! - The VM does no network I/O of its own. Everything that leaves the node
//!   goes out through a `Distribution`; everything that arrives comes in
//!   through a `NodeHandle`, which pushes signals onto inboxes exactly as a
//!   local sender does (so order and wake-ups follow `scheduler.rs`).
//! - A local process with links or monitors across nodes holds the reserved
//!   pid `DIST_PID` in its link set or monitor maps; the distribution keeps
//!   which remote processes they are. So the end of a local process reaches
//!   the distribution as a signal to `DIST_PID`, sent by the same code that
//!   tells its local links and monitors — `DIST_PID` is never a value a
//!   script can hold.
//! - No `Distribution` method blocks or calls back into the VM: each one
//!   encodes, queues bytes for a connection's writer thread and returns.
//!   What it learns later (a connection lost, a connect that finished)
//!   comes back through a `NodeHandle`, on the network's own threads.

use std::sync::Arc;

use crate::data::atom::Atom;
use crate::data::ops::describe_value;
use crate::data::remote::{node_name, RemotePid};
use crate::data::value::{Pid, Value};
use crate::process::signal::SignalKind;
use crate::process::{Handoff, Process};
use crate::runtime::scheduler::{OpError, RunQueue, Scheduler, Shared};

/// The reserved pid that stands for "the other nodes" in link sets and
/// monitor maps (the host's pid is the slot above it).
pub(crate) const DIST_PID: Pid = Pid((u32::MAX - 1) as u64);

/// The first reserved slot: pids at or above it are not processes.
pub(crate) const RESERVED_SLOT: usize = (u32::MAX - 1) as usize;

pub use crate::process::ctx::Waiter;

/// What a node implementation provides. The VM calls these from scheduler
/// threads, often while holding a process's body: none may block, and none
/// may call back into the VM (see the invariants above).
pub trait Distribution: Send + Sync {
    /// This node's name, as an atom (`weft@localhost`).
    fn node_name(&self) -> Atom;
    /// `to ! message` from local process `from`.
    fn send(&self, from: Pid, to: &RemotePid, message: &Value);
    /// `(:name, "node@host") ! message` from local process `from`. Node
    /// names from scripts come as text, never interned by the VM: a
    /// script naming a million nodes must not grow the atom table.
    fn send_named(&self, from: Pid, name: Atom, node: &str, message: &Value);
    /// Local `from` links to `to` (the VM has put `DIST_PID` in its links).
    fn link(&self, from: Pid, to: &RemotePid);
    fn unlink(&self, from: Pid, to: &RemotePid);
    /// `exit(to, reason)` from `from`.
    fn exit(&self, from: Pid, to: &RemotePid, reason: &Value);
    /// Local `from` monitors `to` under `reference`.
    fn monitor(&self, from: Pid, to: &RemotePid, reference: u64);
    /// Local `from` monitors whatever process is registered as `name` on
    /// `node` under `reference` (Erlang's `monitor(process, {Name, Node})`;
    /// `:noproc` at once if none is).
    fn monitor_named(&self, from: Pid, name: Atom, node: &str, reference: u64);
    /// The monitor `reference` a local process held on a remote one is off.
    fn demonitor(&self, reference: u64);
    /// A local process that had links to remote processes ended (or was
    /// already dead when one linked to it).
    fn ended(&self, pid: Pid, reason: &Value);
    /// The monitor a remote process holds on local `pid` (under the key
    /// the distribution gave it) fired. `returned`: the value `pid`'s
    /// function returned, when it ended so (its reason is then `:normal`)
    /// and the monitor was set when it started (`NodeHandle::spawn_for`).
    fn down(&self, pid: Pid, key: u64, reason: &Value, returned: Option<&Value>);
    /// Whether a connection to `node` is up.
    fn is_connected(&self, node: &str) -> bool;
    /// The nodes connected now.
    fn nodes(&self) -> Vec<Atom>;
    /// Connects to `node` in the background; finishes `waiter` with `true`
    /// or `false` through [`NodeHandle::complete`].
    fn connect(&self, node: &str, waiter: Waiter);
    /// Sends `(:nodedown, name)` to `pid` when the connection to `node` is
    /// lost (at once if it is not up).
    fn monitor_node(&self, pid: Pid, node: &str);
    /// Local `pids` joined `group` (`pg.join`): the other nodes' `pg`
    /// scopes hear of it. Called with the VM's groups locked.
    fn pg_join(&self, group: &Value, pids: &[Pid]) {
        let _ = (group, pids);
    }
    /// Local `pids` left `group` (`pg.leave`, or they ended).
    fn pg_leave(&self, group: &Value, pids: &[Pid]) {
        let _ = (group, pids);
    }
    /// The members of `group` on other nodes.
    fn pg_members(&self, group: &Value) -> Vec<Value> {
        let _ = group;
        Vec::new()
    }
    /// This node's creation (the number that tells its incarnations
    /// apart), written into process images with its name.
    fn creation(&self) -> u32 {
        0
    }
    /// The index `node`'s pids print with (`<index.id.serial>`), for pids
    /// of other nodes that arrive in a process image.
    fn node_index(&self, node: Atom) -> u32 {
        let _ = node;
        0
    }
}

/// How a node's network threads reach the VM's processes. Each thread
/// keeps its own handle (cloning one gives a new one): a handle holds a
/// scheduler of its own, which is not shared between threads.
pub struct NodeHandle {
    scheduler: Scheduler,
    /// Starts the processes other nodes ask for
    /// ([`NodeHandle::spawn_for`]); only the node's own handle has one.
    spawner: Option<Arc<dyn RemoteSpawner>>,
}

impl Clone for NodeHandle {
    fn clone(&self) -> NodeHandle {
        let mut handle = NodeHandle::new(self.scheduler.shared.clone());
        handle.spawner = self.spawner.clone();
        handle
    }
}

/// Starts a process for another node: the VM's code lives a layer above
/// this one (`host`), which implements it.
pub(crate) trait RemoteSpawner: Send + Sync {
    fn spawn_for(
        &self,
        scheduler: &mut Scheduler,
        module: &str,
        function: &str,
        args: Vec<Value>,
        key: Option<u64>,
    ) -> Result<Pid, SpawnRefused>;
    /// Starts a process from an image another node sent.
    fn restore(
        &self,
        scheduler: &mut Scheduler,
        image: &Value,
    ) -> Result<Pid, crate::data::image::RestoreError>;
}

/// Why [`NodeHandle::spawn_for`] started nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum SpawnRefused {
    /// No function of that name: a standard module's, an imported module's
    /// (by its `as` name), or the script's own (module `main`).
    Undefined,
    /// It exists but cannot start with these arguments, or the VM is at
    /// its process limit: the runtime error a local `spawn` would raise.
    Failed(Atom, String),
}

impl NodeHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> NodeHandle {
        let run_queue = if shared.pool.is_some() {
            RunQueue::Host
        } else {
            RunQueue::External
        };
        NodeHandle {
            scheduler: Scheduler::outside(shared, run_queue),
            spawner: None,
        }
    }

    pub(crate) fn with_spawner(mut self, spawner: Arc<dyn RemoteSpawner>) -> NodeHandle {
        self.spawner = Some(spawner);
        self
    }

    /// Starts a process calling `module.function(args...)` for another
    /// node (Erlang's `erpc:call` into this one), monitored under `key`
    /// from its start: its end reaches [`Distribution::down`] with the
    /// value the function returned. `module` is a standard module, a module
    /// the script imported (its `as` name) or `main`, the script's own.
    pub fn spawn_for(
        &mut self,
        module: &str,
        function: &str,
        args: Vec<Value>,
        key: Option<u64>,
    ) -> Result<Pid, SpawnRefused> {
        let Some(spawner) = self.spawner.clone() else {
            return Err(SpawnRefused::Undefined);
        };
        let pid = spawner.spawn_for(&mut self.scheduler, module, function, args, key)?;
        self.done();
        Ok(pid)
    }

    /// Restores a process image another node sent (`process.migrate`),
    /// registering it as `name` when that name is free here: `(:ok, pid)`,
    /// or `(:error, reason)` as `process.restore` gives it.
    pub fn restore_image(&mut self, image: &Value, name: Option<Atom>) -> Value {
        use crate::data::image::RestoreError;
        let error = |reason: Value| Value::tuple(vec![Value::Atom(Atom::ERROR), reason]);
        let Some(spawner) = self.spawner.clone() else {
            return error(Value::atom("notsup"));
        };
        let result = match spawner.restore(&mut self.scheduler, image) {
            Ok(pid) => {
                if let Some(name) = name {
                    if self.scheduler.whereis(name).is_none() {
                        let _ = self.scheduler.register(name, pid);
                    }
                }
                Value::tuple(vec![Value::Atom(Atom::OK), Value::Pid(pid)])
            }
            Err(RestoreError::CodeChanged) => error(Value::Atom(Atom::CODE_CHANGED)),
            Err(RestoreError::Bad(why)) => error(Value::tuple(vec![
                Value::Atom(Atom::BAD_IMAGE),
                Value::str(why),
            ])),
            Err(RestoreError::Refused((kind, _))) => error(Value::Atom(kind)),
        };
        self.done();
        result
    }

    fn done(&mut self) {
        self.scheduler.shared.external.notify();
    }

    /// Whether `pid` is a live local process.
    pub fn is_alive(&self, pid: Pid) -> bool {
        self.scheduler.is_alive(pid)
    }

    /// The local process registered as `name`.
    pub fn whereis(&self, name: Atom) -> Option<Pid> {
        self.scheduler.whereis(name)
    }

    /// A fresh number from the VM's ref counter (for monitor keys).
    pub fn make_ref(&mut self) -> u64 {
        self.scheduler.make_ref()
    }

    /// A message from another node to local `to`.
    pub fn send(&mut self, to: Pid, message: Value) {
        self.scheduler.count_message();
        self.scheduler.send_signal(to, SignalKind::Message(message));
        self.done();
    }

    /// An exit signal from remote `from` to local `to`. `linked`: through a
    /// link (the distribution has checked the link exists and removed it).
    pub fn exit(&mut self, to: Pid, from: Arc<RemotePid>, reason: Value, linked: bool) {
        let untrappable = !linked && reason == Value::Atom(Atom::KILL);
        self.scheduler.send_signal(
            to,
            SignalKind::RemoteExit {
                from,
                reason,
                untrappable,
            },
        );
        self.done();
    }

    /// A remote process linked to local `to`. A dead `to` answers with
    /// [`Distribution::ended`] (`:noproc`).
    pub fn link(&mut self, to: Pid) {
        self.scheduler.send_signal(to, SignalKind::Link(DIST_PID));
        self.done();
    }

    /// A remote process monitors local `to` under `key`. A dead `to`
    /// answers with [`Distribution::down`] (`:noproc`).
    pub fn monitor(&mut self, to: Pid, key: u64) {
        self.scheduler.send_signal(
            to,
            SignalKind::Monitor {
                from: DIST_PID,
                reference: key,
            },
        );
        self.done();
    }

    /// The remote monitor `key` on local `to` is off.
    pub fn demonitor(&mut self, to: Pid, key: u64) {
        self.scheduler.send_signal(to, SignalKind::Demonitor(key));
        self.done();
    }

    /// Remote `from`, which local `to` monitored under `reference`, ended:
    /// `from` is what `to` monitored, a remote pid or a `(name, node)` pair,
    /// and is what its `:down` message names.
    pub fn down(&mut self, to: Pid, reference: u64, from: Value, reason: Value) {
        self.scheduler.send_signal(
            to,
            SignalKind::RemoteDown {
                from,
                reference,
                reason,
            },
        );
        self.done();
    }

    /// Every group with local members, and them, handed to `f` while no
    /// process can join or leave (a node answering another's `pg`
    /// discovery with its `sync`, see `runtime/groups.rs`).
    pub fn with_groups<R>(&self, f: impl FnOnce(Vec<(Value, Vec<Pid>)>) -> R) -> R {
        self.scheduler.shared.groups.with_all(f)
    }

    /// Finishes a call that waited on the network with its result.
    pub fn complete(&mut self, waiter: Waiter, value: Value) {
        self.scheduler.send_signal(
            waiter.pid,
            SignalKind::Handoff {
                token: waiter.token,
                handoff: Handoff::Received { arm: 0, value },
            },
        );
        self.done();
    }
}

/// The handle is the port every foreign thread of a VM uses (the network's
/// connections, the `net` poller, the host's completers).
impl crate::process::ctx::Port for NodeHandle {
    fn complete(&mut self, waiter: Waiter, value: Value) {
        NodeHandle::complete(self, waiter, value)
    }
    fn send(&mut self, to: Pid, message: Value) {
        NodeHandle::send(self, to, message)
    }
}

/// A completer's side: answers asynchronous host calls from its thread.
impl crate::process::ctx::TicketAnswerer for NodeHandle {
    fn answer(&mut self, ticket: u64, result: Result<Value, String>) -> bool {
        let shared = self.scheduler.shared.clone();
        let done = shared.complete(
            &mut self.scheduler,
            crate::runtime::events::Ticket(ticket),
            result,
        );
        shared.external.notify();
        done
    }
}

impl Scheduler {
    /// Takes the wake-ups network threads left for a host-stepped VM.
    pub(crate) fn take_external(&mut self) {
        for pid in self.shared.external.take() {
            self.make_runnable(pid);
        }
    }

    /// A signal to `DIST_PID`: a local process's end, or the end of a
    /// monitor, that remote processes must hear of.
    pub(crate) fn signal_distribution(&mut self, kind: SignalKind) {
        let Some(dist) = self.shared.dist.get() else {
            return;
        };
        match kind {
            SignalKind::Exit { from, reason, .. } => dist.ended(from, &reason),
            SignalKind::Down {
                from,
                reference,
                reason,
            } => dist.down(from, reference, &reason, None),
            SignalKind::Demonitor(reference) => dist.demonitor(reference),
            _ => {}
        }
    }
}

impl Pid {
    /// The two numbers Erlang's external format carries for a local pid:
    /// `(id, serial)` — the printed number, then the slot.
    pub fn erlang_parts(self) -> (u32, u32) {
        (self.serial(), self.slot() as u32)
    }

    /// The local pid for Erlang's `(id, serial)`, if it names a process
    /// slot at all (it may have ended: signals to it are answered as to
    /// any ended process).
    pub fn from_erlang_parts(id: u32, serial: u32) -> Option<Pid> {
        ((serial as usize) < RESERVED_SLOT && id != 0).then(|| Pid::new(serial, id))
    }
}

fn not_a_node() -> OpError {
    (
        Atom::BADARG,
        "this VM is not a node: start it with --sname or --name to reach other nodes".to_string(),
    )
}

impl Scheduler {
    /// Where this VM stands, as process images record it: its node name
    /// and creation.
    pub(crate) fn place(&self) -> crate::data::image::Place {
        crate::data::image::Place {
            node: self_name(&self.shared),
            creation: self.shared.dist.get().map_or(0, |dist| dist.creation()),
        }
    }
}

impl Shared {
    /// Removes `pid` from every group it is in (it ended); the other nodes
    /// hear of each leave.
    pub(crate) fn leave_all(&self, pid: Pid) {
        let dist = self.dist.get();
        self.groups.leave_all(pid, |group| {
            if let Some(dist) = dist {
                dist.pg_leave(group, &[pid]);
            }
        });
    }
}

impl Scheduler {
    /// `pg.join(group, pids)`: each live pid not yet in the group joins it.
    pub(crate) fn pg_join(&mut self, group: &Value, pids: &[Pid]) {
        let shared = &self.shared;
        shared.groups.join(
            group,
            pids,
            |pid| shared.is_alive(pid),
            |joined| {
                if let Some(dist) = shared.dist.get() {
                    dist.pg_join(group, joined);
                }
            },
        );
    }

    /// `pg.leave(group, pids)`: whether any of them was in the group.
    pub(crate) fn pg_leave(&mut self, group: &Value, pids: &[Pid]) -> bool {
        let shared = &self.shared;
        shared.groups.leave(group, pids, |left| {
            if let Some(dist) = shared.dist.get() {
                dist.pg_leave(group, left);
            }
        })
    }

    /// `pg.members(group)`: the local members, then those on other nodes.
    pub(crate) fn pg_members(&self, group: &Value) -> Vec<Value> {
        let mut all = self.shared.groups.members(group, |pid| self.is_alive(pid));
        if let Some(dist) = self.shared.dist.get() {
            all.extend(dist.pg_members(group));
        }
        all
    }
}

/// This VM's node name: `nonode@nohost` when it is not a node.
pub(crate) fn self_name(shared: &Shared) -> Atom {
    match shared.dist.get() {
        Some(dist) => dist.node_name(),
        None => Atom::new("nonode@nohost"),
    }
}

impl Scheduler {
    fn distribution(&self) -> Result<Arc<dyn Distribution>, OpError> {
        self.shared.dist.get().cloned().ok_or_else(not_a_node)
    }

    /// `target ! message` where the target is a remote pid or a
    /// `(name, node)` pair.
    pub(crate) fn send_remote(
        &mut self,
        sender: &mut Process,
        target: &Value,
        message: Value,
    ) -> Result<(), OpError> {
        match target {
            Value::RemotePid(to) => {
                self.count_message();
                self.distribution()?.send(sender.pid, to, &message);
                Ok(())
            }
            Value::Tuple(items) => {
                let (Some(Value::Atom(name)), Some(node), 2) =
                    (items.first(), items.get(1).and_then(node_name), items.len())
                else {
                    return Err((
                        Atom::BADARG,
                        format!(
                            "`!` sends to a pid, a registered name or a (name, node) pair, got {}",
                            describe_value(target)
                        ),
                    ));
                };
                if node == self_name(&self.shared).name() {
                    return self.send_from(sender, &Value::Atom(*name), message);
                }
                self.count_message();
                self.distribution()?
                    .send_named(sender.pid, *name, node, &message);
                Ok(())
            }
            _ => self.send_from(sender, target, message),
        }
    }

    /// `link(pid)` for a pid on another node.
    pub(crate) fn link_remote(
        &mut self,
        process: &mut Process,
        to: &RemotePid,
    ) -> Result<(), OpError> {
        let dist = self.distribution()?;
        process.extra().links.insert(DIST_PID);
        dist.link(process.pid, to);
        Ok(())
    }

    pub(crate) fn unlink_remote(
        &mut self,
        process: &Process,
        to: &RemotePid,
    ) -> Result<(), OpError> {
        self.distribution()?.unlink(process.pid, to);
        Ok(())
    }

    /// `monitor(pid)` for a pid on another node.
    pub(crate) fn monitor_remote(
        &mut self,
        process: &mut Process,
        to: &RemotePid,
    ) -> Result<u64, OpError> {
        let dist = self.distribution()?;
        let reference = self.make_ref();
        process.extra().monitoring.insert(reference, DIST_PID);
        dist.monitor(process.pid, to, reference);
        Ok(reference)
    }

    /// `monitor((name, node))`: the process registered as `name` on
    /// `node` (on this node, whichever is registered now).
    pub(crate) fn monitor_named(
        &mut self,
        process: &mut Process,
        name: Atom,
        node: &str,
        target: &Value,
    ) -> Result<u64, OpError> {
        if node == self_name(&self.shared).name() || node == "nonode@nohost" {
            return match self.whereis(name) {
                Some(pid) => {
                    let reference = self.monitor(process, pid);
                    process
                        .extra()
                        .monitor_names
                        .push((reference, target.clone()));
                    Ok(reference)
                }
                None => {
                    // Nobody has the name: the monitor fires at once.
                    let reference = self.make_ref();
                    process.extra().monitoring.insert(reference, DIST_PID);
                    self.send_signal(
                        process.pid,
                        SignalKind::RemoteDown {
                            from: target.clone(),
                            reference,
                            reason: Value::Atom(Atom::new("noproc")),
                        },
                    );
                    Ok(reference)
                }
            };
        }
        let dist = self.distribution()?;
        let reference = self.make_ref();
        process.extra().monitoring.insert(reference, DIST_PID);
        dist.monitor_named(process.pid, name, node, reference);
        Ok(reference)
    }

    /// `exit(pid, reason)` (and `kill`) for a pid on another node.
    pub(crate) fn exit_remote(
        &mut self,
        process: &Process,
        to: &RemotePid,
        reason: &Value,
    ) -> Result<(), OpError> {
        self.distribution()?.exit(process.pid, to, reason);
        Ok(())
    }

    /// `alive(pid)` for a pid on another node: whether its node is
    /// connected (asking would take a round trip; Erlang does not offer
    /// it either).
    pub(crate) fn remote_alive(&self, to: &RemotePid) -> bool {
        self.shared
            .dist
            .get()
            .is_some_and(|dist| dist.is_connected(to.node.name()))
    }
}
