//! Schedulers and the signals processes send each other.
//!
//! A `Scheduler` runs processes on one thread: the host's (when the host
//! steps the VM with `run(budget)`) or one of the pool's threads (one per
//! core). Everything the schedulers share is in `Shared`.
//!
//! Invariants:
//! - No code touches another process's state. Everything one process does
//!   to another — a message, an exit signal, link/unlink, monitor/demonitor,
//!   a `:down`, a channel hand-off — is a `Signal` pushed onto the target's
//!   inbox (`signal_queue.rs`), applied by whoever holds the target's body:
//!   the target itself when it runs, or, for exit signals, the sender when
//!   the target is not running (`apply_pending`), so a process killed while
//!   it waits dies at once.
//! - A process applies its signals at the start of each slice and whenever
//!   its `receive` runs out of messages; a waiting process whose signals did
//!   not end its wait (a `:down` during a `sleep`) parks again unchanged.
//! - Signals from one process to another are applied in the order sent.
//! - With one scheduler the run queue is FIFO, woken processes go to its
//!   back and timers fire in deadline order (ties in the order set), so a
//!   run depends only on the program, its input and the clock. With several,
//!   a process woken by a running one goes to that scheduler's run-next slot
//!   (the two keep talking on one core), and an idle scheduler steals half
//!   of a busy one's queue.
//! - Exit signals that kill are handled from a work list, never by
//!   recursion, so a chain of 100,000 linked processes dies without growing
//!   the Rust stack.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use crossbeam_utils::CachePadded;
use rustc_hash::FxHashMap;

use crate::data::atom::Atom;
use crate::data::channel::Channel;
use crate::data::limits::Limits;
use crate::data::ops::describe_value;
use crate::data::value::{Pid, Value};
use crate::process::signal::{Signal, SignalKind};
use crate::process::signal_queue::Pushed;
use crate::process::table::{Slot, Table};
use crate::process::{Frame, Handoff, Process, Status, Wait, Watcher};
use crate::runtime::dist::{Distribution, DIST_PID, RESERVED_SLOT};
use crate::runtime::events::{Event, Outcome};
use crate::runtime::external::External;
use crate::runtime::pool::Pool;
use crate::runtime::timer::{TimerKind, Timers};

pub(crate) use crate::data::ops::OpError;

/// Where `print` and `eprint` write.
pub(crate) type OutputSink = Box<dyn FnMut(&str) + Send>;

/// Counters for `Vm::stats`. Each scheduler thread (the host's, each
/// pool thread's) has its own set, written only by that thread, with a
/// plain load and store (no locked read-modify-write on the hot path).
/// Schedulers of threads that are not schedulers — a node's connections,
/// completers — share the last set and add to it atomically.
#[derive(Default)]
pub(crate) struct Counters {
    pub reductions: AtomicU64,
    pub messages: AtomicU64,
    pub spawned: AtomicU64,
}

/// Which counters a scheduler writes, and how.
#[derive(Clone, Copy)]
pub(crate) enum Counting {
    /// Its own set (index into `Shared::counters`), only its thread writes.
    Own(usize),
    /// The set shared by the threads that are not schedulers.
    Outside,
}

/// What every scheduler of one VM shares.
pub(crate) struct Shared {
    pub table: Table,
    pub timers: Timers,
    registry: Mutex<FxHashMap<Atom, Pid>>,
    /// Process groups (`pg`): the local members of each group.
    pub groups: crate::runtime::groups::Groups,
    pub events: Mutex<Vec<Event>>,
    pub output: Mutex<OutputSink>,
    pub error_output: Mutex<OutputSink>,
    pub next_ref: AtomicU64,
    pub next_chan: AtomicU64,
    pub rng: Mutex<u64>,
    pub args: Mutex<Vec<String>>,
    pub limits: Limits,
    /// The host is a process without a body: messages to `host_pid` wait
    /// in `host_inbox`, and the `:down` of a process it monitors (the main
    /// process, a `Vm::call`) waits in `host_downs` with how it ended.
    pub host_pid: Pid,
    pub host_inbox: Mutex<VecDeque<Value>>,
    pub host_downs: Mutex<FxHashMap<Pid, crate::runtime::events::Outcome>>,
    /// Set when a `:down` reaches the host: `Vm::run` returns at once, so
    /// the host sees it (`Vm::drive`).
    pub host_news: AtomicBool,
    start: Instant,
    /// One set per scheduler: index 0 is the host's.
    pub counters: Box<[CachePadded<Counters>]>,
    pub peak_live: AtomicU64,
    /// The scheduler threads, if the VM has any.
    pub pool: Option<Pool>,
    /// The other nodes, once the VM is a node (`Vm::start_distribution`).
    pub dist: OnceLock<Arc<dyn Distribution>>,
    /// Wake-ups from network threads for a host-stepped VM.
    pub external: External<Pid>,
    /// Asynchronous host calls waiting for their answer: ticket to caller.
    /// (The flag: a future answers it, not the host.)
    pub tickets: Mutex<FxHashMap<u64, (crate::runtime::dist::Waiter, bool)>>,
    pub next_ticket: AtomicU64,
    /// Pending host calls a future will answer (so `call` waits for them).
    pub futures_pending: AtomicUsize,
    /// The execution trace, when the host asked for one.
    pub trace: Option<crate::runtime::trace::Trace>,
    /// The process whose messages the host watches (`Vm::watch_messages`;
    /// its pid bits, 0 for none: no pid has serial 0), and what it saw. A
    /// subscriber of the trace stream: while it is set, schedulers trace.
    pub watched_pid: AtomicU64,
    pub watch_log: crate::runtime::trace::Trace,
    /// What the modules written in Rust keep per VM (the `net` poller).
    #[cfg_attr(not(feature = "net"), allow(dead_code))]
    pub extensions: crate::process::ctx::Extensions,
    /// Things outside the schedulers that may still wake a process.
    pub sources: Mutex<Vec<Arc<dyn crate::process::ctx::Source>>>,
}

/// The reference of the host's monitor of a process: refs count up from
/// one, so it is no other monitor's, and a process has at most one.
pub(crate) const HOST_MONITOR: u64 = u64::MAX;

impl Shared {
    pub fn new(
        limits: Limits,
        output: OutputSink,
        error_output: OutputSink,
        seed: u64,
        pool: Option<Pool>,
        trace: Option<crate::runtime::trace::Trace>,
    ) -> Shared {
        let schedulers = pool.as_ref().map_or(0, |p| p.size());
        Shared {
            table: Table::new(limits.max_processes),
            timers: Timers::default(),
            registry: Mutex::new(FxHashMap::default()),
            groups: Default::default(),
            events: Mutex::new(Vec::new()),
            output: Mutex::new(output),
            error_output: Mutex::new(error_output),
            next_ref: AtomicU64::new(1),
            next_chan: AtomicU64::new(1),
            rng: Mutex::new(crate::data::rng::seed_state(seed)),
            args: Mutex::new(Vec::new()),
            limits,
            host_pid: Pid::new(u32::MAX, 0),
            host_inbox: Mutex::new(VecDeque::new()),
            host_downs: Mutex::new(FxHashMap::default()),
            host_news: AtomicBool::new(false),
            start: Instant::now(),
            // The host's, one per pool thread, and the outside threads'.
            counters: (0..schedulers + 2).map(|_| Default::default()).collect(),
            peak_live: AtomicU64::new(0),
            pool,
            dist: OnceLock::new(),
            external: External::default(),
            tickets: Mutex::default(),
            next_ticket: AtomicU64::new(1),
            futures_pending: AtomicUsize::new(0),
            trace,
            watched_pid: AtomicU64::new(0),
            watch_log: crate::runtime::trace::Trace::new(crate::runtime::trace::WATCH_LOG_MAX),
            extensions: Default::default(),
            sources: Mutex::new(Vec::new()),
        }
    }

    /// Nanoseconds since the VM started.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    pub fn is_alive(&self, pid: Pid) -> bool {
        self.table.get(pid).is_some()
    }

    /// The pids of all live processes, by serial.
    pub fn pids(&self) -> Vec<Pid> {
        let mut pids: Vec<Pid> = self
            .table
            .slots()
            .filter(|(_, slot)| !slot.inbox.is_closed())
            .map(|(i, slot)| Pid::new(i as u32, slot.serial.load(Ordering::Acquire)))
            .filter(|pid| pid.serial() != 0)
            .collect();
        pids.sort_by_key(|p| p.serial());
        pids
    }

    pub fn whereis(&self, name: Atom) -> Option<Pid> {
        lock(&self.registry)
            .get(&name)
            .copied()
            .filter(|p| self.is_alive(*p))
    }

    pub fn name_of(&self, pid: Pid) -> Option<Atom> {
        let slot = self.table.get(pid)?;
        match slot.name.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Atom(n - 1)),
        }
    }

    /// Opens a claimable wait for the running process (before it joins
    /// any channel's queue: from then on any of them, or its timer, may
    /// end it).
    pub fn arm_claim(&self, process: &Process) {
        if let Some(slot) = self.table.slot(process.pid.slot()) {
            slot.claim.arm(process.pid.serial(), process.wait_token);
        }
    }

    /// Takes the right to end `pid`'s wait `token` (channels, select timers).
    pub fn claim(&self, pid: Pid, token: u32) -> bool {
        self.table
            .slot(pid.slot())
            .is_some_and(|slot| slot.claim.claim(pid.serial(), token))
    }

    pub fn stats(&self) -> crate::runtime::events::Stats {
        let sum = |f: fn(&Counters) -> &AtomicU64| {
            self.counters
                .iter()
                .map(|c| f(c).load(Ordering::Relaxed))
                .sum()
        };
        crate::runtime::events::Stats {
            spawned: sum(|c| &c.spawned),
            messages: sum(|c| &c.messages),
            reductions: sum(|c| &c.reductions),
            peak_live: self.peak_live.load(Ordering::Relaxed),
        }
    }
}

pub(crate) use crate::data::lock;

/// Where a scheduler puts the processes it makes runnable.
pub(crate) enum RunQueue {
    /// The host steps the VM itself: a plain FIFO.
    Local(VecDeque<Pid>),
    /// A pool thread: its deque, which idle threads steal from.
    Worker(crossbeam_deque::Worker<Pid>),
    /// The host of a VM with a pool: wake-ups go to the pool's injector.
    Host,
    /// A network thread of a host-stepped VM: wake-ups wait in
    /// `Shared::external` for the host's next `run`.
    External,
}

pub(crate) struct Scheduler {
    pub shared: Arc<Shared>,
    /// The scheduler's number (0 for the host's, 1.. for pool threads),
    /// as traces show it.
    pub(crate) index: usize,
    /// Which `Counters` it writes.
    counting: Counting,
    pub run_queue: RunQueue,
    /// The process a running one just woke (several schedulers only).
    pub run_next: Option<Pid>,
    /// Set while a process runs, so its wake-ups may use `run_next`.
    pub running: bool,
    /// Whether the process running now came from `run_next`, and the
    /// reductions the chain of such processes has spent (`next_local`).
    pub from_next: bool,
    pub chain: u64,
    pub limits: Limits,
    pub host_pid: Pid,
    /// Exit signals pushed to processes that may not be running: try to
    /// apply them now (`apply_pending`).
    pending: VecDeque<Pid>,
    /// Set while `apply_pending` runs: deaths it causes add to its list.
    applying: bool,
    /// Wake-ups claimed under a channel lock, delivered after unlocking.
    pub wakes: Vec<crate::data::channel_state::Wake<Pid, Value>>,
    /// Whether anyone listens to the trace stream (`Shared::trace`, or a
    /// watched process): the one test the hot paths make when tracing is
    /// off. Refreshed before each run of slices (`refresh_tracing`).
    pub tracing: bool,
    /// The process running now, for trace events (set only when tracing).
    pub traced: Option<Pid>,
    /// Values to free after the slice that just ran, beyond its share:
    /// what its process pays for a backlog past the bound (`run_slice`).
    pub(crate) extra_free: usize,
    /// Records of processes that ended here, kept for the next spawns
    /// (`recycle`): a spawn reuses the record's allocation and its
    /// register stack's, so a program that spawns and ends processes at a
    /// high rate does not pay two allocations and two frees for each.
    /// Each holds nothing (no value, no `Extra`); at most
    /// `SPARE_PROCESSES`, each stack at most `SPARE_STACK_MAX` values.
    spare: Vec<Box<Process>>,
    /// The body of a process the running one just woke with a message
    /// while the run queue was empty, held here to run next (the hand-off;
    /// one scheduler on the host's thread only, `RunQueue::Local`).
    /// Stackless Python runs a channel's receiver at once, Go's `runnext`
    /// next: holding the body skips putting it back in its slot, queueing
    /// it, popping it and taking it again — two atomic swaps and the queue
    /// per message, a third of a message's time in a ring.
    ///
    /// Invariants: a held process is runnable (status `Runnable`, its
    /// inbox unparked), its slot holds no body and its pid is in no run
    /// queue; to everyone else it looks like a running process (signals
    /// wait in its inbox, absorbed when it runs). It stands for the head
    /// of the queue: it is taken only when the queue is empty, and runs
    /// before anything queued after it (`next_local`), so the order in
    /// which processes run is exactly the queue's FIFO order, and fairness
    /// is the queue's. When `run_host` returns it is back in its slot,
    /// first in the queue (`release_handed`), so the host and every other
    /// part of the VM find bodies where they expect them.
    handed: Option<Box<Process>>,
}

/// How many ended process records a scheduler keeps for reuse: enough to
/// cover a burst of short-lived processes (a spawning loop starts about
/// two thousand in one slice), small enough to be noise in memory (about
/// 1.3 MB at most, with stacks).
const SPARE_PROCESSES: usize = 4096;

/// The largest register stack (in values) a kept record keeps: a process
/// that ran deep does not pin its big stack.
const SPARE_STACK_MAX: usize = 32;

impl Scheduler {
    /// The scheduler of thread `index` (0 for the host, 1.. for the pool's
    /// threads). A thread that is not a scheduler (a node's connection, a
    /// completer) makes one with `outside`.
    pub fn new(shared: Arc<Shared>, index: usize, run_queue: RunQueue) -> Scheduler {
        let mut scheduler = Scheduler::outside(shared, run_queue);
        scheduler.index = index;
        scheduler.counting = Counting::Own(index);
        scheduler
    }

    /// A scheduler for a thread that is not one of the VM's schedulers.
    pub fn outside(shared: Arc<Shared>, run_queue: RunQueue) -> Scheduler {
        let tracing = shared.trace.is_some();
        Scheduler {
            counting: Counting::Outside,
            limits: shared.limits.clone(),
            host_pid: shared.host_pid,
            shared,
            index: 0,
            run_queue,
            run_next: None,
            running: false,
            from_next: false,
            chain: 0,
            pending: VecDeque::new(),
            applying: false,
            wakes: Vec::new(),
            tracing,
            traced: None,
            extra_free: 0,
            spare: Vec::new(),
            handed: None,
        }
    }

    /// Whether anyone listens to the trace stream: the VM's trace, or the
    /// host watching a process. One relaxed load, once per run of slices
    /// (`run_host`, a pool thread's `run_slices`).
    #[inline]
    pub fn refresh_tracing(&mut self) {
        self.tracing =
            self.shared.trace.is_some() || self.shared.watched_pid.load(Ordering::Relaxed) != 0;
    }

    /// Records a trace event of `pid` now, for each subscriber of the
    /// stream: the VM's trace, and the host's watch when the event is the
    /// watched process's (call only when `self.tracing`).
    #[cold]
    pub fn trace(&self, pid: Pid, kind: crate::runtime::trace::TraceKind) {
        let watched = self.shared.watched_pid.load(Ordering::Relaxed);
        let for_watch = watched != 0
            && match &kind {
                crate::runtime::trace::TraceKind::Send { to, .. } => {
                    pid.0 == watched || to.0 == watched
                }
                crate::runtime::trace::TraceKind::Exit { .. } => pid.0 == watched,
                _ => false,
            };
        let event = crate::runtime::trace::TraceEvent {
            time_ns: self.now(),
            pid,
            kind,
        };
        match &self.shared.trace {
            Some(trace) if for_watch => {
                self.shared.watch_log.record(event.clone());
                trace.record(event);
            }
            Some(trace) => trace.record(event),
            None if for_watch => self.shared.watch_log.record(event),
            None => {}
        }
    }

    #[cold]
    fn trace_send(&self, from: Pid, to: Pid, message: &Value) {
        let kind = crate::runtime::trace::TraceKind::Send {
            to,
            message: message.inspect_within(crate::runtime::trace::PRINTED_MAX),
            flow: self.shared.trace.as_ref().map_or(0, |trace| trace.flow()),
        };
        self.trace(from, kind);
    }

    #[inline]
    fn count(&self, counter: fn(&Counters) -> &AtomicU64, n: u64) {
        match self.counting {
            Counting::Own(index) => {
                if let Some(set) = self.shared.counters.get(index) {
                    let counter = counter(set);
                    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
                }
            }
            Counting::Outside => {
                if let Some(set) = self.shared.counters.last() {
                    counter(set).fetch_add(n, Ordering::Relaxed);
                }
            }
        }
    }

    pub fn count_reductions(&self, n: u64) {
        self.count(|c| &c.reductions, n);
    }

    pub fn count_message(&self) {
        self.count(|c| &c.messages, 1);
    }

    // ----------------------------------------------------------------- time

    pub fn now(&self) -> u64 {
        self.shared.now()
    }

    /// The deadline `ms` milliseconds from now.
    pub fn deadline(&self, ms: f64) -> u64 {
        self.now()
            .saturating_add((ms.max(0.0) * 1_000_000.0) as u64)
    }

    pub fn make_ref(&mut self) -> u64 {
        self.shared.next_ref.fetch_add(1, Ordering::Relaxed)
    }

    pub fn new_channel(&mut self, capacity: usize) -> Arc<Channel> {
        let id = self.shared.next_chan.fetch_add(1, Ordering::Relaxed);
        Arc::new(Channel::new(id, capacity))
    }

    pub fn rng(&self) -> MutexGuard<'_, u64> {
        lock(&self.shared.rng)
    }

    pub fn write_output(&self, text: &str) {
        (lock(&self.shared.output))(text)
    }

    pub fn write_error(&self, text: &str) {
        (lock(&self.shared.error_output))(text)
    }

    pub fn is_alive(&self, pid: Pid) -> bool {
        self.shared.is_alive(pid)
    }

    pub fn pids(&self) -> Vec<Pid> {
        self.shared.pids()
    }

    // ---------------------------------------------------------- run queues

    /// Makes a process runnable (the caller won that right: it saw the
    /// process park, or it owns it).
    pub fn make_runnable(&mut self, pid: Pid) {
        self.queues().make_runnable(pid);
    }

    /// The run queue's parts, borrowed apart from the rest of the
    /// scheduler (a slot of `shared` may stay borrowed meanwhile).
    #[inline(always)]
    fn queues(&mut self) -> Queues<'_> {
        Queues {
            run_queue: &mut self.run_queue,
            run_next: &mut self.run_next,
            handed: &mut self.handed,
            running: self.running,
            shared: &self.shared,
        }
    }

    /// Wakes an idle scheduler to steal once `backlog` processes wait in
    /// this one's queue. Processes woken by messages wake another core only
    /// past `WAKE_BACKLOG`: they are most often the other half of a
    /// conversation, and moving them costs more than they wait. A process
    /// requeued after its slice (CPU-bound work, a new process) needs only
    /// one more waiting behind it, so computation spreads within a slice.
    fn share_work(&self, backlog: usize) {
        if let (RunQueue::Worker(worker), Some(pool)) = (&self.run_queue, &self.shared.pool) {
            if worker.len() >= backlog {
                pool.work_arrived();
            }
        }
    }

    /// Puts a process that keeps running at the back of the queue.
    pub fn requeue(&mut self, pid: Pid) {
        match &mut self.run_queue {
            RunQueue::Local(queue) => queue.push_back(pid),
            RunQueue::Worker(worker) => {
                worker.push(pid);
                self.share_work(2);
            }
            RunQueue::Host => {
                if let Some(pool) = &self.shared.pool {
                    pool.inject(pid);
                }
            }
            RunQueue::External => self.shared.external.push(pid),
        }
    }

    // -------------------------------------------------------- process table

    /// Starts a process running prototype `proto` with `stack` laid out for
    /// a frame at base 1; its link or host monitor is set before it can run.
    pub fn start_process(
        &mut self,
        proto: u32,
        stack: Vec<Value>,
        watcher: Watcher<'_>,
    ) -> Result<Pid, OpError> {
        self.start_process_at(proto, stack, 1, watcher)
    }

    /// `start_process` with the first frame's registers from `base` on
    /// (a spawned Weft function's start at 0: its stack holds exactly its
    /// registers). The first frame's `ret` is never written: its value
    /// ends the process.
    pub fn start_process_at(
        &mut self,
        proto: u32,
        stack: Vec<Value>,
        base: u32,
        watcher: Watcher<'_>,
    ) -> Result<Pid, OpError> {
        let frame = Frame {
            proto,
            pc: 0,
            base,
            ret: 0,
        };
        self.start_body(proto, |pid| Process::new(pid, stack, frame), watcher)
    }

    /// Starts the process `build` makes for its new pid (a first frame, or
    /// a process restored from an image); `initial` is the prototype the
    /// process list shows it started in.
    pub fn start_body(
        &mut self,
        initial: u32,
        build: impl FnOnce(Pid) -> Process,
        watcher: Watcher<'_>,
    ) -> Result<Pid, OpError> {
        let Some((pid, slot)) = self.shared.table.allocate() else {
            return Err(limit_error(self.limits.max_processes));
        };
        slot.initial.store(initial, Ordering::Relaxed);
        let mut process = match self.spare.pop() {
            Some(mut record) => {
                *record = build(pid);
                record
            }
            None => Box::new(build(pid)),
        };
        match watcher {
            Watcher::Nobody => {}
            Watcher::Link(parent) => {
                parent.extra().links.insert(pid);
                process.extra().links.insert(parent.pid);
            }
            Watcher::Host => {
                process
                    .extra()
                    .monitored_by
                    .insert(HOST_MONITOR, self.host_pid);
            }
            Watcher::Remote(key) => {
                process.extra().monitored_by.insert(key, DIST_PID);
            }
        }
        slot.put_body(process);
        self.count(|c| &c.spawned, 1);
        if self.tracing {
            if let Some(parent) = self.traced {
                self.trace(
                    parent,
                    crate::runtime::trace::TraceKind::Spawn { child: pid },
                );
            }
        }
        let live = self.shared.table.live.load(Ordering::Relaxed) as u64;
        self.shared.peak_live.fetch_max(live, Ordering::Relaxed);
        // With several schedulers a child spawned by a running process takes
        // the run-next slot (as Go's `go` does): it runs on this core when
        // the parent blocks, and the parent's next steps (a monitor, a
        // first message) usually reach it before it starts. The child it
        // displaces becomes stealable, so spawning many spreads them out.
        // With one scheduler it goes to the back of the queue.
        self.make_runnable(pid);
        Ok(pid)
    }

    // -------------------------------------------------------------- signals

    /// Pushes a signal to its target. A dead target answers as Erlang's
    /// would (`answer_for_dead`).
    pub fn send_signal(&mut self, to: Pid, kind: SignalKind) {
        if to.slot() >= RESERVED_SLOT {
            if to == DIST_PID {
                return self.signal_distribution(kind);
            }
            if let SignalKind::Message(value) = kind {
                lock(&self.shared.host_inbox).push_back(value);
            }
            return;
        }
        let mut kind = kind;
        // The slot is looked up once for the whole delivery.
        let max_mailbox = self.limits.max_mailbox;
        let mut queues = Queues {
            run_queue: &mut self.run_queue,
            run_next: &mut self.run_next,
            handed: &mut self.handed,
            running: self.running,
            shared: &self.shared,
        };
        let Some(slot) = queues.shared.table.slot(to.slot()) else {
            return self.answer_for_dead(Signal { to, kind });
        };
        if let SignalKind::Message(value) = kind {
            match deliver_directly(&mut queues, slot, to, value, max_mailbox) {
                Delivered::Done => return,
                Delivered::Dies(process, reason) => {
                    return self.finish(process, Outcome::Exited(reason));
                }
                Delivered::Not(value) => kind = SignalKind::Message(value),
            }
        }
        if matches!(kind, SignalKind::Message(_)) && max_mailbox != usize::MAX {
            // Past the mailbox limit the receiver is at fault: it dies (see
            // EMBEDDING.md), at once if it is not running.
            let queued = slot.queued.fetch_add(1, Ordering::Relaxed) as usize;
            let held = slot.mailbox.load(Ordering::Relaxed) as usize + queued;
            if held >= max_mailbox {
                kind = SignalKind::Exit {
                    from: to,
                    reason: mailbox_over(max_mailbox),
                    untrappable: true,
                    linked: false,
                };
            }
        }
        let exit = matches!(
            kind,
            SignalKind::Exit { .. } | SignalKind::RemoteExit { .. }
        );
        let wake = kind.wakes();
        match slot.inbox.push(Signal { to, kind }, wake) {
            Pushed::Queued => {
                if exit {
                    self.pending.push_back(to);
                }
            }
            Pushed::Wake => {
                if exit {
                    // This push owns the parked process: apply the exit
                    // signal now (it most likely dies).
                    self.pending.push_back(Pid(to.0 | OWNED));
                } else {
                    queues.make_runnable(to);
                }
            }
            Pushed::Closed(signal) => return self.answer_for_dead(signal),
        }
        if exit {
            self.apply_pending();
        }
    }

    /// What a signal to a dead process gets back: a link gets a `:noproc`
    /// exit signal, a monitor a `:down` with `:noproc`; the rest is dropped.
    fn answer_for_dead(&mut self, signal: Signal) {
        let dead = signal.to;
        match signal.kind {
            SignalKind::Link(from) => self.send_signal(
                from,
                SignalKind::Exit {
                    from: dead,
                    reason: Value::Atom(Atom::NOPROC),
                    untrappable: false,
                    linked: true,
                },
            ),
            SignalKind::Monitor { from, reference } => self.send_signal(
                from,
                SignalKind::Down {
                    from: dead,
                    reference,
                    reason: Value::Atom(Atom::NOPROC),
                },
            ),
            _ => {}
        }
    }

    /// Applies pending exit signals to processes that are not running, so
    /// they take effect at once (as in a single-threaded VM). Iterative: a
    /// death that signals more processes adds to the work list.
    #[inline]
    pub fn apply_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.apply_pending_slow();
    }

    fn apply_pending_slow(&mut self) {
        if self.applying {
            return;
        }
        self.applying = true;
        while let Some(entry) = self.pending.pop_front() {
            let owned = entry.0 & OWNED != 0;
            let pid = Pid(entry.0 & !OWNED);
            let taken = self
                .shared
                .table
                .slot(pid.slot())
                .and_then(|slot| slot.take_body(pid));
            let Some(mut process) = taken else {
                // Running elsewhere (it applies the signal itself soon) or
                // ended; a parked process we own must still be woken.
                if owned {
                    self.make_runnable(pid);
                }
                continue;
            };
            match self.absorb(&mut process) {
                Err(reason) => self.finish(process, Outcome::Exited(reason)),
                Ok(arrived) => {
                    if owned {
                        self.resume_or_park(process, arrived);
                    } else {
                        // Not parked, so runnable: its pid is queued. What
                        // was applied may have ended its wait; the slice it
                        // gets next must know.
                        self.resume(&mut process, arrived);
                        if let Some(slot) = self.shared.table.slot(pid.slot()) {
                            slot.put_body(process);
                        }
                    }
                }
            }
        }
        self.applying = false;
    }

    /// Applies every signal in the process's inbox. `Ok(true)` if one
    /// could end its wait (a message or a hand-off arrived); `Err(reason)`
    /// if it must die.
    #[inline]
    pub fn absorb(&mut self, process: &mut Process) -> Result<bool, Value> {
        if !self.has_signals(process.pid) {
            return Ok(false);
        }
        self.absorb_slow(process)
    }

    fn absorb_slow(&mut self, process: &mut Process) -> Result<bool, Value> {
        let Some(slot) = self.shared.table.slot(process.pid.slot()) else {
            return Ok(false);
        };
        if self.limits.max_mailbox != usize::MAX {
            slot.queued.store(0, Ordering::Relaxed);
        }
        let signals = slot.inbox.take_all();
        let mut arrived = false;
        let mut death = None;
        for signal in signals {
            if death.is_some() {
                // Dying: what is left is answered when the inbox closes.
                self.answer_while_exiting(process, signal, &Value::Nil);
                continue;
            }
            match self.apply(process, signal) {
                Applied::Nothing => {}
                Applied::Arrived => arrived = true,
                Applied::Dies(reason) => death = Some(reason),
            }
        }
        match death {
            Some(reason) => Err(reason),
            None => Ok(arrived),
        }
    }

    fn apply(&mut self, process: &mut Process, signal: Signal) -> Applied {
        if signal.to != process.pid {
            // Meant for an earlier process in this slot.
            self.answer_for_dead(signal);
            return Applied::Nothing;
        }
        match signal.kind {
            SignalKind::Message(value) => enqueue(self.limits.max_mailbox, process, value),
            SignalKind::Exit {
                from,
                reason,
                untrappable,
                linked,
            } => {
                if linked {
                    let was_linked = process
                        .extra
                        .as_mut()
                        .is_some_and(|e| e.links.swap_remove(&from));
                    if !was_linked {
                        // Unlinked meanwhile: the link's signal is void.
                        return Applied::Nothing;
                    }
                }
                // A `:normal` exit signal kills only a process that sent
                // it to itself.
                let normal_is_void = linked || from != process.pid;
                self.exit_signal(
                    process,
                    Value::Pid(from),
                    reason,
                    untrappable,
                    normal_is_void,
                )
            }
            SignalKind::Link(from) => {
                process.extra().links.insert(from);
                Applied::Nothing
            }
            SignalKind::Unlink(from) => {
                if let Some(extra) = process.extra.as_mut() {
                    extra.links.swap_remove(&from);
                }
                Applied::Nothing
            }
            SignalKind::Monitor { from, reference } => {
                process.extra().monitored_by.insert(reference, from);
                Applied::Nothing
            }
            SignalKind::Demonitor(reference) => {
                if let Some(extra) = process.extra.as_mut() {
                    extra.monitored_by.swap_remove(&reference);
                }
                Applied::Nothing
            }
            SignalKind::Down {
                from,
                reference,
                reason,
            } => self.down(process, reference, Value::Pid(from), reason),
            SignalKind::RemoteExit {
                from,
                reason,
                untrappable,
            } => self.exit_signal(process, Value::RemotePid(from), reason, untrappable, true),
            SignalKind::RemoteDown {
                from,
                reference,
                reason,
            } => self.down(process, reference, from, reason),
            SignalKind::Handoff { token, handoff } => {
                if token == process.wait_token && matches!(process.status, Status::Waiting(_)) {
                    process.handoff = Some(handoff);
                    Applied::Arrived
                } else {
                    Applied::Nothing
                }
            }
        }
    }

    /// An exit signal from `from` (its link, if any, already checked): a
    /// message for a trapping process, else death — except that a
    /// `:normal` one is ignored when `normal_is_void`.
    fn exit_signal(
        &mut self,
        process: &mut Process,
        from: Value,
        reason: Value,
        untrappable: bool,
        normal_is_void: bool,
    ) -> Applied {
        if !untrappable && process.trap_exits() {
            let message = Value::tuple(vec![Value::Atom(Atom::EXIT), from, reason]);
            return enqueue(self.limits.max_mailbox, process, message);
        }
        if normal_is_void && reason == Value::Atom(Atom::NORMAL) {
            return Applied::Nothing;
        }
        if untrappable && reason == Value::Atom(Atom::KILL) {
            Applied::Dies(Value::Atom(Atom::KILLED))
        } else {
            Applied::Dies(reason)
        }
    }

    /// A monitored process ended: a `:down` message if the monitor is on.
    fn down(
        &mut self,
        process: &mut Process,
        reference: u64,
        from: Value,
        reason: Value,
    ) -> Applied {
        let Some(extra) = process.extra.as_mut() else {
            return Applied::Nothing;
        };
        if extra.monitoring.swap_remove(&reference).is_none() {
            return Applied::Nothing;
        }
        let mut from = from;
        if let Some(at) = extra
            .monitor_names
            .iter()
            .position(|(r, _)| *r == reference)
        {
            from = extra.monitor_names.swap_remove(at).1;
        }
        enqueue(
            self.limits.max_mailbox,
            process,
            down_message(reference, from, reason),
        )
    }

    /// A signal that reaches a process as it ends: links and monitors
    /// learn of the end; the rest is dropped.
    fn answer_while_exiting(&mut self, process: &mut Process, signal: Signal, reason: &Value) {
        if signal.to != process.pid {
            return self.answer_for_dead(signal);
        }
        match signal.kind {
            SignalKind::Link(from) => {
                process.extra().links.insert(from);
            }
            SignalKind::Unlink(from) => {
                if let Some(extra) = process.extra.as_mut() {
                    extra.links.swap_remove(&from);
                }
            }
            SignalKind::Monitor { from, reference } => self.send_signal(
                from,
                SignalKind::Down {
                    from: process.pid,
                    reference,
                    reason: reason.clone(),
                },
            ),
            SignalKind::Demonitor(reference) => {
                if let Some(extra) = process.extra.as_mut() {
                    extra.monitored_by.swap_remove(&reference);
                }
            }
            _ => {}
        }
    }

    /// After its signals are applied: a process whose wait they ended runs
    /// again; one still waiting parks again.
    pub fn resume_or_park(&mut self, mut process: Box<Process>, arrived: bool) {
        if self.resume(&mut process, arrived) {
            let pid = process.pid;
            if let Some(slot) = self.shared.table.slot(pid.slot()) {
                slot.put_body(process);
            }
            self.make_runnable(pid);
        } else {
            self.park(process);
        }
    }

    /// Whether a waiting process's wait is over (then it is runnable).
    #[inline]
    pub fn resume(&mut self, process: &mut Process, arrived: bool) -> bool {
        matches!(process.status, Status::Runnable) || resume(process, arrived)
    }

    /// Parks a waiting process (its body back in its slot); if signals
    /// arrived meanwhile it is runnable at once instead.
    pub fn park(&mut self, process: Box<Process>) {
        let pid = process.pid;
        let Some(slot) = self.shared.table.slot(pid.slot()) else {
            return;
        };
        // Park first, then put the body back: a thread that takes the body
        // of a process that is not parked then only ever finds a runnable
        // one (a popper that comes too early finds no body and retries).
        let parked = slot.inbox.park();
        slot.put_body(process);
        if !parked {
            self.make_runnable(pid);
        }
    }

    /// Whether signals wait in `pid`'s inbox (one atomic read).
    #[inline]
    pub fn has_signals(&self, pid: Pid) -> bool {
        self.shared
            .table
            .slot(pid.slot())
            .is_some_and(|slot| !slot.inbox.is_empty())
    }

    /// Resolves a send target: a pid, or an atom registered to one.
    pub fn resolve(&self, target: &Value) -> Result<Pid, OpError> {
        match target {
            Value::Pid(pid) => Ok(*pid),
            Value::Atom(name) => lock(&self.shared.registry)
                .get(name)
                .copied()
                .ok_or_else(|| {
                    (
                        Atom::BADARG,
                        format!("no process is registered as :{}", name.name()),
                    )
                }),
            other => Err((
                Atom::BADARG,
                format!(
                    "`!` sends to a pid or a registered name, got {}",
                    describe_value(other)
                ),
            )),
        }
    }

    /// `target ! message` from the running process.
    pub fn send_from(
        &mut self,
        sender: &mut Process,
        target: &Value,
        message: Value,
    ) -> Result<(), OpError> {
        let pid = match target {
            Value::Pid(pid) => *pid,
            Value::RemotePid(_) | Value::Tuple(_) => {
                return self.send_remote(sender, target, message);
            }
            _ => self.resolve(target)?,
        };
        self.send_to_pid(sender, pid, message)
    }

    /// `pid ! message` from the running process, to a local pid.
    #[inline]
    pub fn send_to_pid(
        &mut self,
        sender: &mut Process,
        pid: Pid,
        message: Value,
    ) -> Result<(), OpError> {
        self.count_message();
        if self.tracing {
            self.trace_send(sender.pid, pid, &message);
        }
        if pid == sender.pid {
            // Past its own mailbox limit the sender is the receiver at
            // fault: it fails at once.
            if sender.mailbox.len() >= self.limits.max_mailbox {
                let max = self.limits.max_mailbox;
                return Err((
                    Atom::SYSTEM_LIMIT,
                    format!("mailbox over its limit of {max} messages"),
                ));
            }
            sender.mailbox.push_back(message);
            return Ok(());
        }
        self.send_message(pid, message);
        Ok(())
    }

    /// A message to a local process: straight into its mailbox when it is
    /// not running and has nothing queued (`deliver_directly`), else
    /// through its inbox (`send_signal`).
    #[inline]
    fn send_message(&mut self, to: Pid, message: Value) {
        if to.slot() >= RESERVED_SLOT {
            return self.send_signal(to, SignalKind::Message(message));
        }
        let max_mailbox = self.limits.max_mailbox;
        let mut queues = Queues {
            run_queue: &mut self.run_queue,
            run_next: &mut self.run_next,
            handed: &mut self.handed,
            running: self.running,
            shared: &self.shared,
        };
        let Some(slot) = queues.shared.table.slot(to.slot()) else {
            return;
        };
        match deliver_directly(&mut queues, slot, to, message, max_mailbox) {
            Delivered::Done => {}
            Delivered::Dies(process, reason) => self.finish(process, Outcome::Exited(reason)),
            Delivered::Not(message) => self.send_signal(to, SignalKind::Message(message)),
        }
    }

    /// A message from the host or a timer.
    pub fn deliver(&mut self, pid: Pid, message: Value) {
        self.send_signal(pid, SignalKind::Message(message));
    }

    /// Marks the running process blocked; with a deadline, sets a timer.
    /// `claimable`: the wait can also end by a channel (the timer must
    /// claim it).
    pub fn block(&mut self, process: &mut Process, wait: Wait, deadline: Option<u64>) {
        let claimable = matches!(wait, Wait::Select(_));
        process.set_waiting(wait);
        if claimable {
            self.shared.arm_claim(process);
        }
        if let Some(deadline) = deadline {
            self.shared.timers.add(
                deadline,
                TimerKind::Wake {
                    pid: process.pid,
                    token: process.wait_token,
                    claimed: claimable,
                },
            );
        }
    }

    pub fn send_after(&mut self, ms: f64, to: Pid, message: Value) {
        let deadline = self.deadline(ms);
        self.shared
            .timers
            .add(deadline, TimerKind::Send { to, message });
    }

    /// Fires every timer that is due.
    #[inline]
    pub fn fire_timers(&mut self) {
        if self.shared.timers.any() {
            self.fire_due_timers();
        }
    }

    fn fire_due_timers(&mut self) {
        let now = self.now();
        for kind in self.shared.timers.due(now) {
            match kind {
                TimerKind::Wake {
                    pid,
                    token,
                    claimed,
                } => {
                    if claimed && !self.shared.claim(pid, token) {
                        continue;
                    }
                    self.send_signal(
                        pid,
                        SignalKind::Handoff {
                            token,
                            handoff: Handoff::TimedOut,
                        },
                    );
                }
                TimerKind::Send { to, message } => self.deliver(to, message),
            }
        }
    }

    /// The next deadline that still matters.
    pub fn next_timer(&self) -> Option<u64> {
        self.shared.timers.next(&self.shared)
    }

    // ---------------------------------------------------- links and signals

    pub fn register(&mut self, name: Atom, pid: Pid) -> Result<(), OpError> {
        let mut registry = lock(&self.shared.registry);
        if let Some(existing) = registry.get(&name) {
            if self.shared.is_alive(*existing) && *existing != pid {
                return Err((
                    Atom::BADARG,
                    format!(
                        "{} is already registered",
                        weft_compiler::atom_source(name.name())
                    ),
                ));
            }
        }
        let Some(slot) = self.shared.table.get(pid) else {
            return Err((Atom::BADARG, format!("{pid} is not alive")));
        };
        registry.retain(|_, p| *p != pid);
        registry.insert(name, pid);
        slot.name.store(name.0 + 1, Ordering::Relaxed);
        Ok(())
    }

    pub fn whereis(&self, name: Atom) -> Option<Pid> {
        self.shared.whereis(name)
    }

    /// Puts a process taken out of its slot (held while it was moved) back
    /// where it was: it goes on as if nothing happened. Whatever woke it
    /// meanwhile left its pid in a run queue, which finds the body now.
    pub fn put_back(&mut self, process: Box<Process>) {
        if let Some(slot) = self.shared.table.slot(process.pid.slot()) {
            slot.put_body(process);
        }
    }

    /// Links the running process with `other` (both ways).
    ///
    /// A local `other` that is already dead is Erlang's `noproc`, decided
    /// here and now (LANGUAGE.md §6): a caller that traps exits gets
    /// `(:exit, other, :noproc)` in its mailbox, one that does not gets
    /// `Err(:noproc)` and dies in the `link` call. (A process that dies
    /// after this check is still reached: its end answers the `Link`
    /// signal with the same exit signal, as in Erlang.)
    pub fn link(&mut self, process: &mut Process, other: Pid) -> Result<(), Value> {
        if other == process.pid {
            return Ok(());
        }
        if other == self.host_pid || self.shared.table.get(other).is_none() {
            let reason = Value::Atom(Atom::NOPROC);
            if process.trap_exits() {
                let message =
                    Value::tuple(vec![Value::Atom(Atom::EXIT), Value::Pid(other), reason]);
                process.mailbox.push_back(message);
                return Ok(());
            }
            return Err(reason);
        }
        process.extra().links.insert(other);
        self.send_signal(other, SignalKind::Link(process.pid));
        Ok(())
    }

    pub fn unlink(&mut self, process: &mut Process, other: Pid) {
        if let Some(extra) = process.extra.as_mut() {
            extra.links.swap_remove(&other);
        }
        self.send_signal(other, SignalKind::Unlink(process.pid));
    }

    /// `monitor(pid)`: returns the ref; a dead pid gets `:noproc`.
    pub fn monitor(&mut self, process: &mut Process, target: Pid) -> u64 {
        let reference = self.make_ref();
        process.extra().monitoring.insert(reference, target);
        if target == self.host_pid || target == process.pid {
            let down = down_message(reference, Value::Pid(target), Value::Atom(Atom::NOPROC));
            if target == self.host_pid {
                process.extra().monitoring.swap_remove(&reference);
                process.mailbox.push_back(down);
            }
            return reference;
        }
        self.send_signal(
            target,
            SignalKind::Monitor {
                from: process.pid,
                reference,
            },
        );
        reference
    }

    pub fn demonitor(&mut self, process: &mut Process, reference: u64) -> bool {
        let Some(extra) = process.extra.as_mut() else {
            return false;
        };
        let Some(target) = extra.monitoring.swap_remove(&reference) else {
            return false;
        };
        extra.monitor_names.retain(|(r, _)| *r != reference);
        self.send_signal(target, SignalKind::Demonitor(reference));
        // A `:down` already delivered for this ref is dropped too (one
        // still on its way finds the monitor off and is dropped).
        process.mailbox.retain(|m| !is_down_for(m, reference));
        true
    }

    /// Sends an exit signal from `from` to `to`.
    pub fn signal(&mut self, to: Pid, from: Pid, reason: Value, untrappable: bool, linked: bool) {
        self.send_signal(
            to,
            SignalKind::Exit {
                from,
                reason,
                untrappable,
                linked,
            },
        );
    }

    /// Ends a process this scheduler holds: closes its inbox (answering
    /// what was left in it), tells its links and monitors, frees its slot.
    /// `crashed` says a crash event was already recorded.
    #[allow(clippy::boxed_local)]
    pub fn finish(&mut self, mut process: Box<Process>, outcome: Outcome) {
        let pid = process.pid;
        let reason = outcome.reason();
        if self.tracing {
            let reason = reason.inspect_within(crate::runtime::trace::PRINTED_MAX);
            self.trace(pid, crate::runtime::trace::TraceKind::Exit { reason });
        }
        let crashed = matches!(outcome, Outcome::Crashed(_));
        if let Outcome::Crashed(error) = &outcome {
            lock(&self.shared.events).push(Event::Crash {
                pid,
                error: error.clone(),
            });
        }
        let Some(slot) = self.shared.table.slot(pid.slot()) else {
            return;
        };
        slot.claim.disarm();
        let registered = slot.name.load(Ordering::Relaxed) != 0;
        for signal in slot.inbox.close() {
            self.answer_while_exiting(&mut process, signal, &reason);
        }
        if let Status::Waiting(Wait::Host(ticket)) = process.status {
            // Killed while waiting for the host: the ticket is cancelled.
            self.shared.take_ticket(ticket);
        }
        // A pattern, not `!=`: value equality is the general walk, and
        // every process that ends passes here.
        let normal = matches!(reason, Value::Atom(atom) if atom == Atom::NORMAL);
        if !normal && !crashed {
            lock(&self.shared.events).push(Event::Exit {
                pid,
                reason: reason.clone(),
            });
        }
        if registered {
            lock(&self.shared.registry).retain(|_, p| *p != pid);
        }
        self.shared.leave_all(pid);
        if let Some(extra) = process.extra.as_mut() {
            // Processes it was moving go on here.
            for held in std::mem::take(&mut extra.held) {
                self.put_back(held);
            }
        }
        if let Some(extra) = process.extra.take() {
            for file in &extra.files {
                file.close_if_owned_by(pid);
            }
            let mut outcome = Some(outcome);
            for (reference, watcher) in extra.monitored_by {
                if watcher == self.host_pid {
                    if let Some(outcome) = outcome.take() {
                        self.host_down(pid, outcome);
                    }
                    continue;
                }
                if watcher == DIST_PID {
                    // A remote caller may want the value the function
                    // returned (an `erpc` call), not only `:normal`.
                    if let Some(dist) = self.shared.dist.get() {
                        let returned = match &outcome {
                            Some(Outcome::Returned(value)) => Some(value),
                            _ => None,
                        };
                        dist.down(pid, reference, &reason, returned);
                    }
                    continue;
                }
                self.send_signal(
                    watcher,
                    SignalKind::Down {
                        from: pid,
                        reference,
                        reason: reason.clone(),
                    },
                );
            }
            for (reference, target) in extra.monitoring {
                self.send_signal(target, SignalKind::Demonitor(reference));
            }
            for linked in extra.links {
                self.send_signal(
                    linked,
                    SignalKind::Exit {
                        from: pid,
                        reason: reason.clone(),
                        untrappable: false,
                        linked: true,
                    },
                );
            }
        }
        self.recycle(process);
        self.shared.table.release(pid);
        self.apply_pending();
    }

    /// Keeps an ended process's record for a later spawn (see `spare`),
    /// emptied now so that nothing it held outlives it.
    fn recycle(&mut self, mut process: Box<Process>) {
        if self.spare.len() >= SPARE_PROCESSES || process.stack.capacity() > SPARE_STACK_MAX {
            return;
        }
        process.stack.clear();
        process.mailbox.clear();
        process.handoff = None;
        process.extra = None;
        self.spare.push(process);
    }

    /// Puts the held process (`handed`) back in its slot, first in the run
    /// queue: what `run_host` does before it returns.
    pub(crate) fn release_handed(&mut self) {
        let Some(held) = self.handed.take() else {
            return;
        };
        let pid = held.pid;
        if let Some(slot) = self.shared.table.slot(pid.slot()) {
            slot.put_body(held);
        }
        match &mut self.run_queue {
            RunQueue::Local(queue) => queue.push_front(pid),
            _ => self.requeue(pid),
        }
    }

    /// Takes the held process's body for `pid` to run, or `None` when it is
    /// not the one held.
    pub(crate) fn take_handed(&mut self, pid: Pid) -> Option<Box<Process>> {
        self.handed.take_if(|held| held.pid == pid)
    }

    /// The pid of the held process: the head of the queue, to run next.
    pub(crate) fn handed_pid(&self) -> Option<Pid> {
        self.handed.as_ref().map(|held| held.pid)
    }

    /// An empty register stack for `registers` values: a kept record's
    /// when there is one big enough (its record is reused by `start_body`
    /// just after).
    pub(crate) fn spare_stack(&mut self, registers: usize) -> Vec<Value> {
        match self.spare.last_mut() {
            Some(record) if record.stack.capacity() >= registers => {
                std::mem::take(&mut record.stack)
            }
            _ => Vec::with_capacity(registers),
        }
    }

    /// A process the host monitors ended: its outcome waits for the host,
    /// and a host waiting in `run` or `wait_for_work` is woken.
    fn host_down(&self, pid: Pid, outcome: Outcome) {
        lock(&self.shared.host_downs).insert(pid, outcome);
        self.shared.host_news.store(true, Ordering::Release);
        if let Some(pool) = &self.shared.pool {
            pool.notify_host();
        }
        self.shared.external.notify();
    }

    /// Stops every process (the main process ended). Host only, with no
    /// scheduler running.
    pub fn stop_all(&mut self) {
        let mut stopped = Vec::new();
        for (index, slot) in self.shared.table.slots() {
            let serial = slot.serial.load(Ordering::Acquire);
            if serial == 0 {
                continue;
            }
            let pid = Pid::new(index as u32, serial);
            if let Some(process) = slot.take_body(pid) {
                slot.claim.disarm();
                drop(slot.inbox.close());
                if let Some(extra) = &process.extra {
                    for file in &extra.files {
                        file.close();
                    }
                }
                drop(process);
                stopped.push(pid);
            }
        }
        self.shared.table.release_all(&stopped);
        if let RunQueue::Local(queue) = &mut self.run_queue {
            queue.clear();
        }
        self.run_next = None;
        self.shared.timers.clear();
    }

    /// Every live process with what it waits on (host only, with no
    /// scheduler running).
    pub fn blocked_processes(&self) -> Vec<(Pid, String)> {
        self.shared
            .pids()
            .into_iter()
            .filter_map(|pid| {
                let slot = self.shared.table.get(pid)?;
                slot.peek_body(pid, |p| (pid, describe_wait(&p.status)))
            })
            .collect()
    }
}

/// How many processes woken by messages may wait in one scheduler's queue
/// before an idle scheduler is woken to steal some (see `share_work`).
const WAKE_BACKLOG: usize = 8;

/// Marks a pending entry whose pusher owns the (parked) process.
const OWNED: u64 = 1 << 31;

/// Whether a waiting process's wait is over (then it is runnable).
#[inline]
pub(crate) fn resume(process: &mut Process, arrived: bool) -> bool {
    let Status::Waiting(wait) = &process.status else {
        return true;
    };
    let over = match wait {
        Wait::Mailbox => {
            if arrived && !process.mailbox.is_empty() {
                // A message and the deadline at once: the messages are
                // examined first (the deadline is checked again after).
                if matches!(process.handoff, Some(Handoff::TimedOut)) {
                    process.handoff = None;
                }
                true
            } else {
                process.handoff.is_some()
            }
        }
        _ => process.handoff.is_some(),
    };
    if over {
        process.status = Status::Runnable;
        // Late hand-offs for this wait (a deadline that fired as a
        // message woke it) carry the old token and are dropped.
        process.wait_token = process.wait_token.wrapping_add(1);
    }
    over
}

/// The exit reason of a process whose mailbox is over the VM's limit.
pub(crate) fn mailbox_over(max_mailbox: usize) -> Value {
    Value::error_reason(
        Atom::SYSTEM_LIMIT,
        &format!("mailbox over its limit of {max_mailbox} messages"),
    )
}

/// A message joins the mailbox; past the mailbox limit the receiver is at
/// fault and dies (see EMBEDDING.md).
/// A scheduler's run queue and what deciding where a woken process goes
/// needs, borrowed apart from the rest of the scheduler.
struct Queues<'a> {
    run_queue: &'a mut RunQueue,
    run_next: &'a mut Option<Pid>,
    /// `Scheduler::handed`.
    handed: &'a mut Option<Box<Process>>,
    running: bool,
    shared: &'a Shared,
}

impl Queues<'_> {
    /// Makes a process runnable (the caller won that right: it saw the
    /// process park, or it owns it).
    #[inline]
    fn make_runnable(&mut self, pid: Pid) {
        match &mut *self.run_queue {
            RunQueue::Local(queue) => queue.push_back(pid),
            RunQueue::Worker(worker) => {
                if self.running {
                    // Go's runnext: the woken process runs next here, on
                    // the core whose cache holds what it was sent.
                    match self.run_next.replace(pid) {
                        Some(previous) => worker.push(previous),
                        None => return,
                    }
                } else {
                    worker.push(pid);
                }
                if let Some(pool) = &self.shared.pool {
                    if worker.len() >= WAKE_BACKLOG {
                        pool.work_arrived();
                    }
                }
            }
            RunQueue::Host => {
                if let Some(pool) = &self.shared.pool {
                    pool.inject(pid);
                }
            }
            RunQueue::External => self.shared.external.push(pid),
        }
    }
}

/// What `deliver_directly` did with a message.
enum Delivered {
    Done,
    /// Its mailbox was full: the receiver dies (the caller finishes it).
    Dies(Box<Process>, Value),
    /// The receiver runs or has signals queued: the message goes through
    /// its inbox.
    Not(Value),
}

/// Puts a message straight into the mailbox of a process that is not
/// running and has nothing queued, holding its body meanwhile (the sender
/// delivers, as BEAM's does): no queue node, and the same order as a push
/// (nothing of this sender's is still queued ahead of it).
///
/// The protocol (model-checked in `vm/tests/loom_protocols.rs`): take the
/// body (only a parked or runnable-but-not-running process has one to
/// take); look at the inbox again now that the body is held (a signal
/// pushed before is ahead of this message: give up); enqueue; if the
/// process waited for a message, mark it runnable and unpark its inbox
/// (winning the right to queue it); put the body back; queue it — or,
/// on the host's FIFO with an empty queue, keep it as the process to run
/// next (`Scheduler::handed`). A body already held that way is this
/// scheduler's to write to: the message goes straight into its mailbox.
#[inline(always)]
fn deliver_directly(
    queues: &mut Queues<'_>,
    slot: &Slot,
    to: Pid,
    value: Value,
    max_mailbox: usize,
) -> Delivered {
    if !slot.inbox.is_empty() {
        return Delivered::Not(value);
    }
    // The process held to run next is this scheduler's to write to (it is
    // runnable, so nothing more to wake).
    if let Some(held) = queues.handed.as_mut().filter(|held| held.pid == to) {
        if let Applied::Dies(reason) = enqueue(max_mailbox, held, value) {
            if let Some(held) = queues.handed.take() {
                return Delivered::Dies(held, reason);
            }
        }
        return Delivered::Done;
    }
    let Some(mut process) = slot.take_body(to) else {
        return Delivered::Not(value);
    };
    // Holding the body, the process cannot have ended; look again for
    // signals pushed before we took it.
    if !slot.inbox.is_empty() {
        slot.put_body(process);
        return Delivered::Not(value);
    }
    if let Applied::Dies(reason) = enqueue(max_mailbox, &mut process, value) {
        return Delivered::Dies(process, reason);
    }
    if matches!(process.status, Status::Waiting(Wait::Mailbox)) {
        resume(&mut process, true);
        let unparked = slot.inbox.unpark();
        if unparked
            && queues.running
            && queues.handed.is_none()
            && matches!(&*queues.run_queue, RunQueue::Local(queue) if queue.is_empty())
        {
            // The hand-off: it would be first in the queue; it runs next
            // from here instead (`Scheduler::handed`).
            *queues.handed = Some(process);
            return Delivered::Done;
        }
        slot.put_body(process);
        if unparked {
            queues.make_runnable(to);
        }
    } else {
        slot.put_body(process);
    }
    Delivered::Done
}

#[inline(always)]
fn enqueue(max_mailbox: usize, process: &mut Process, message: Value) -> Applied {
    if process.mailbox.len() >= max_mailbox {
        return Applied::Dies(mailbox_over(max_mailbox));
    }
    process.mailbox.push_back(message);
    Applied::Arrived
}

enum Applied {
    Nothing,
    Arrived,
    Dies(Value),
}

pub(crate) fn limit_error(max: usize) -> OpError {
    (
        Atom::SYSTEM_LIMIT,
        format!("the VM's limit of {max} processes is reached"),
    )
}

fn down_message(reference: u64, pid: Value, reason: Value) -> Value {
    Value::tuple(vec![
        Value::Atom(Atom::DOWN),
        Value::Ref(reference),
        pid,
        reason,
    ])
}

fn is_down_for(message: &Value, reference: u64) -> bool {
    matches!(message.as_tuple(), Some([Value::Atom(a), Value::Ref(r), _, _]) if *a == Atom::DOWN && *r == reference)
}

pub(crate) fn describe_wait(status: &Status) -> String {
    match status {
        Status::Runnable => "runnable".to_string(),
        Status::Waiting(Wait::Mailbox) => "receive (waiting for a message)".to_string(),
        Status::Waiting(Wait::ChanRecv(id)) => format!("receive on <chan {id}>"),
        Status::Waiting(Wait::ChanSend(id)) => format!("send on <chan {id}>"),
        Status::Waiting(Wait::Sleep) => "sleep".to_string(),
        Status::Waiting(Wait::Node) => "node.connect".to_string(),
        Status::Waiting(Wait::Net(operation)) => operation.to_string(),
        Status::Waiting(Wait::Host(ticket)) => {
            format!("an asynchronous host call (ticket #{ticket})")
        }
        Status::Waiting(Wait::Select(arms)) => {
            let arms: Vec<String> = arms
                .iter()
                .map(|(send, id)| {
                    format!(
                        "{} <chan {id}>",
                        if *send { "send on" } else { "receive on" }
                    )
                })
                .collect();
            format!("select ({})", arms.join(", "))
        }
    }
}
