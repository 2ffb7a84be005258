//! A green process: its own frames, registers and mailbox.
//!
//! Invariants:
//! - A process is touched only by the scheduler and, while it runs, by the
//!   interpreter; another process reaches it only through the scheduler
//!   (sending, waking, signalling), never by holding a reference.
//! - `frames` is empty only for a process that has finished.
//! - While a process runs, `stack.len() >= top.base + top.registers`.
//! - `wait_token` changes every time the process blocks, so a wake-up meant
//!   for an earlier wait (a stale timer, a stale channel waiter) is ignored.
//! - Fields most processes never use live in `extra`, allocated on first
//!   use, to keep an idle process small (a million fit in memory).

pub(crate) mod ctx;
pub(crate) mod frames;
pub(crate) mod signal;
pub(crate) mod signal_queue;
pub(crate) mod table;

use std::collections::VecDeque;
use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};
use rustc_hash::FxBuildHasher;

pub(crate) use self::frames::{Frame, Frames};
use crate::data::resource::Resource;
use crate::data::value::{Pid, Value};

/// Who learns of a new process's end from its start (set before it can
/// run, so even a process that ends at once is seen).
pub(crate) enum Watcher<'a> {
    Nobody,
    /// Linked with the process that spawns it (`spawn_link`).
    Link(&'a mut Process),
    /// Monitored by the host (the main process, `Vm::call`): its end waits
    /// in `Shared::host_downs`.
    Host,
    /// Monitored by another node under this key (a process started for a
    /// remote caller, `NodeHandle::spawn_for`): its end, with the value its
    /// function returned, goes to `Distribution::down`.
    Remote(u64),
}

impl<'a> Watcher<'a> {
    pub(crate) fn link(parent: Option<&'a mut Process>) -> Watcher<'a> {
        parent.map_or(Watcher::Nobody, Watcher::Link)
    }
}

/// What a blocked process waits for (shown in deadlock reports and `:ps`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Wait {
    Mailbox,
    ChanRecv(u64),
    ChanSend(u64),
    Select(Vec<(bool, u64)>),
    Sleep,
    /// `node.connect` waits for the network.
    Node,
    /// An asynchronous host call waits for its ticket's answer.
    Host(u64),
    /// A `net` operation (named) waits for the network poller.
    #[cfg_attr(not(feature = "net"), allow(dead_code))]
    Net(&'static str),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Status {
    Runnable,
    Waiting(Wait),
}

/// How a blocked process was woken, read by the instruction it retries.
#[derive(Debug)]
pub(crate) enum Handoff {
    /// A channel receive (or `select` arm) got this value.
    Received { arm: u32, value: Value },
    /// A channel send (or `select` arm) was taken.
    Sent { arm: u32 },
    /// The channel was closed while waiting.
    Closed { arm: u32 },
    /// The deadline passed.
    TimedOut,
    /// An asynchronous host call failed with this message (`:host`); boxed,
    /// as it is rare: this enum at 24 bytes keeps every process record a
    /// malloc size class smaller.
    Failed(Box<String>),
}

#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// Linked processes: a set, so linking, unlinking and a linked exit are
    /// O(1) however many links a supervisor holds. Insertion-ordered (and
    /// `swap_remove`d), so the order signals go out in is deterministic.
    pub links: IndexSet<Pid, FxBuildHasher>,
    /// Monitors others hold on this process: ref to watcher.
    pub monitored_by: IndexMap<u64, Pid, FxBuildHasher>,
    /// Monitors this process holds: ref to target.
    pub monitoring: IndexMap<u64, Pid, FxBuildHasher>,
    /// The monitors of `monitoring` made by name (`monitor((name, node))`):
    /// their `:down` names the `(name, node)` pair, as Erlang's does.
    pub monitor_names: Vec<(u64, Value)>,
    pub trap_exits: bool,
    /// Files this process opened; closed when it ends.
    pub files: Vec<Arc<Resource>>,
    /// With a heap limit: the process's reduction count at which its heap
    /// is measured next (see `Vm::run_slice`).
    pub heap_check_at: u64,
    /// The call a native just asked for (`Ctx::call`), until the
    /// interpreter makes it.
    pub request: Option<crate::process::ctx::CallRequest>,
    /// Processes this one holds out of their slots while it moves them to
    /// another node (`process.migrate`); put back if it ends first.
    pub held: Vec<Box<Process>>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Process({})", self.pid)
    }
}

pub struct Process {
    pub(crate) pid: Pid,
    pub(crate) stack: Vec<Value>,
    pub(crate) frames: Frames,
    pub(crate) mailbox: VecDeque<Value>,
    pub(crate) status: Status,
    pub(crate) wait_token: u32,
    pub(crate) handoff: Option<Handoff>,
    pub(crate) reductions: u64,
    /// Reductions the process owes its next slice: the scheduler charges a
    /// process for freeing its garbage after the slice that made it
    /// (`run_slice`), and the next slice's `Fuel` starts that much lower.
    pub(crate) debt: u32,
    pub(crate) extra: Option<Box<Extra>>,
}

impl Process {
    pub(crate) fn new(pid: Pid, stack: Vec<Value>, frame: Frame) -> Process {
        let frames = Frames::new(frame);
        Process {
            pid,
            stack,
            frames,
            mailbox: VecDeque::new(),
            status: Status::Runnable,
            wait_token: 0,
            handoff: None,
            reductions: 0,
            debt: 0,
            extra: None,
        }
    }

    pub(crate) fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// Marks the process blocked on `wait`; a new wait token makes any
    /// wake-up meant for an earlier wait stale.
    pub(crate) fn set_waiting(&mut self, wait: Wait) {
        self.status = Status::Waiting(wait);
        self.wait_token = self.wait_token.wrapping_add(1);
    }

    pub(crate) fn trap_exits(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.trap_exits)
    }

    /// Bytes this process holds (its own structures, not shared data).
    pub(crate) fn memory(&self) -> usize {
        std::mem::size_of::<Process>()
            + self.stack.capacity() * std::mem::size_of::<Value>()
            + self.frames.capacity() * Frames::ENTRY_SIZE
            + self.mailbox.capacity() * std::mem::size_of::<Value>()
            + self
                .extra
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<Extra>())
    }

    /// Bytes of data this process can reach (registers, mailbox, and what
    /// they refer to, each shared container counted once), counting stops
    /// once past `limit`. Used only when a host sets a heap limit.
    pub(crate) fn reachable_bytes(&self, limit: usize) -> usize {
        let mut seen: std::collections::HashSet<usize, FxBuildHasher> = Default::default();
        let mut pending: Vec<&Value> = self.stack.iter().chain(self.mailbox.iter()).collect();
        // What the process uses, not what its vectors have reserved: the
        // register stack grows by doubling, and the limit must not trip on
        // room the process never filled.
        let mut total = std::mem::size_of::<Process>()
            + self.stack.len() * std::mem::size_of::<Value>()
            + self.frames.len() * Frames::ENTRY_SIZE
            + self.mailbox.len() * std::mem::size_of::<Value>();
        while let Some(value) = pending.pop() {
            if total > limit {
                break;
            }
            let pointer = match value {
                Value::Str(s) => Arc::as_ptr(s) as usize,
                Value::Bytes(b) => Arc::as_ptr(b) as usize,
                Value::List { items, .. } | Value::Tuple(items) => Arc::as_ptr(items) as usize,
                Value::Map(map) => Arc::as_ptr(map) as usize,
                Value::Fn(f) => Arc::as_ptr(f) as usize,
                _ => continue,
            };
            if !seen.insert(pointer) {
                continue;
            }
            match value {
                Value::Str(s) => total += 24 + s.capacity(),
                // A slice counts its own bytes (the buffer may be shared).
                Value::Bytes(b) => total += 48 + b.len(),
                Value::List { items, .. } | Value::Tuple(items) => {
                    total += 40 + 16 * items.capacity();
                    pending.extend(items.iter().filter(|v| !v.is_scalar()));
                }
                Value::Map(map) => {
                    total += 64 + 48 * map.0.capacity();
                    for (k, v) in map.iter() {
                        if !k.is_scalar() {
                            pending.push(k);
                        }
                        if !v.is_scalar() {
                            pending.push(v);
                        }
                    }
                }
                Value::Fn(f) => {
                    total += 48;
                    if let crate::data::value::FnKind::Weft { captures, .. } = &f.kind {
                        total += 16 * captures.len();
                        pending.extend(captures.iter().filter(|v| !v.is_scalar()));
                    }
                }
                _ => {}
            }
        }
        total
    }

    /// Drops the registers above the live frames, so a blocked process does
    /// not keep dead values (and their memory) alive.
    #[inline(always)]
    pub(crate) fn trim_stack(&mut self, top: usize) {
        if self.stack.len() > top {
            self.truncate_stack(top);
        }
    }

    #[inline(never)]
    fn truncate_stack(&mut self, top: usize) {
        self.stack.truncate(top);
    }
}

/// The sizes an idle process's memory is made of, pinned: a record of 184
/// bytes is one malloc size class (192 with the allocator's header) below
/// 192 bytes' (208), and an idle process is mostly its record and its
/// registers (docs/benchmarks-calls.md).
#[cfg(test)]
mod sizes {
    #[test]
    fn a_process_record_fits_its_size_class() {
        assert_eq!(std::mem::size_of::<Option<super::Handoff>>(), 24);
        assert!(std::mem::size_of::<super::Process>() <= 184);
    }
}
