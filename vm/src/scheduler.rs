//! The scheduler: the process table, the run queue, timers, message
//! delivery, channels' blocking, links, monitors and exit signals.
//!
//! Invariants:
//! - A pid is in `run_queue` at most once, and only while its process is
//!   `Runnable`; a process is runnable iff it is in the queue or running.
//! - The running process is taken out of its slot; anything addressed to it
//!   meanwhile (an exit signal, a message from a timer) waits in `deferred`
//!   and is applied when its slice ends.
//! - The run queue is FIFO and timers fire in deadline order (ties in the
//!   order they were set), so a program's schedule depends only on the
//!   program, its input and the clock.
//! - Exit signals are processed from a work list, never by recursion, so a
//!   chain of 100,000 linked processes dies without growing the Rust stack.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashMap;
use weft_compiler::bytecode::{SelectArm, SelectTable};

use crate::atom::Atom;
use crate::channel::{ChanState, Channel, Waiter};
use crate::code::{Code, Global};
use crate::interp::set_waiting;
use crate::ops::describe_value;
use crate::process::{Frame, Handoff, Process, Status, Wait};
use crate::value::{FnKind, Pid, Value};
use crate::{Event, Limits, Stats};

/// What a timer does when it fires.
#[derive(Debug)]
enum TimerKind {
    /// Wake a process blocked with this wait token (`after`, `sleep`).
    Wake { pid: Pid, token: u32 },
    /// `send_after`: deliver a message.
    Send { to: Pid, message: Value },
}

#[derive(Debug)]
struct Timer {
    deadline: u64,
    sequence: u64,
    kind: TimerKind,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Timer) -> bool {
        (self.deadline, self.sequence) == (other.deadline, other.sequence)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Timer) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Timer) -> std::cmp::Ordering {
        (self.deadline, self.sequence).cmp(&(other.deadline, other.sequence))
    }
}

/// The result of a channel operation.
pub(crate) enum ChanOutcome {
    /// Done: for a receive, the value.
    Done(Value),
    /// The process parked on the channel.
    Blocked,
    /// The channel is closed (a receive gets nil; a send fails).
    Closed,
}

/// An exit signal on its way (LANGUAGE.md §6).
struct Signal {
    to: Pid,
    from: Pid,
    reason: Value,
    /// `kill`: cannot be trapped.
    untrappable: bool,
    /// From a link rather than from `exit(pid, reason)`: a `:normal` exit
    /// from a link is ignored by a process that does not trap exits.
    linked: bool,
}

pub(crate) type OpError = (Atom, String);

pub(crate) struct Scheduler {
    slots: Vec<Option<Box<Process>>>,
    free_slots: Vec<u32>,
    next_serial: u32,
    pub run_queue: VecDeque<Pid>,
    timers: BinaryHeap<Reverse<Timer>>,
    timer_sequence: u64,
    registry: FxHashMap<Atom, Pid>,
    /// The process running now (taken out of its slot).
    pub current: Option<Pid>,
    deferred: Vec<Signal>,
    deferred_messages: Vec<Value>,
    pub live: usize,
    pub stats: Stats,
    start: Instant,
    pub events: Vec<Event>,
    pub output: Box<dyn FnMut(&str) + Send>,
    /// Where `eprint` writes.
    pub error_output: Box<dyn FnMut(&str) + Send>,
    next_ref: u64,
    next_chan: u64,
    pub rng: u64,
    pub args: Vec<String>,
    pub limits: Limits,
    pub main: Option<Pid>,
    /// Set when the main process ends: its exit reason.
    pub main_exit: Option<Value>,
    /// The host's own pid: messages sent to it wait in `host_inbox`.
    pub host_pid: Pid,
    pub host_inbox: VecDeque<Value>,
    /// Trampolines that let a process start with a native function.
    pub trampolines: Vec<u32>,
    /// Processes whose end a host `call` waits for, and how they ended.
    pub watched: FxHashMap<Pid, Option<crate::host::Outcome>>,
}

impl Scheduler {
    pub fn new(limits: Limits, output: Box<dyn FnMut(&str) + Send>) -> Scheduler {
        Scheduler {
            slots: Vec::new(),
            free_slots: Vec::new(),
            // <0.0> is the host; the first process (the main script) is <0.1>.
            next_serial: 1,
            run_queue: VecDeque::new(),
            timers: BinaryHeap::new(),
            timer_sequence: 0,
            registry: FxHashMap::default(),
            current: None,
            deferred: Vec::new(),
            deferred_messages: Vec::new(),
            live: 0,
            stats: Stats::default(),
            start: Instant::now(),
            events: Vec::new(),
            output,
            error_output: Box::new(|text: &str| {
                use std::io::Write;
                let _ = std::io::stderr().write_all(text.as_bytes());
            }),
            next_ref: 1,
            next_chan: 1,
            rng: 0x853c_49e6_748f_ea9b,
            args: Vec::new(),
            limits,
            main: None,
            main_exit: None,
            host_pid: Pid::new(u32::MAX, 0),
            host_inbox: VecDeque::new(),
            trampolines: Vec::new(),
            watched: FxHashMap::default(),
        }
    }

    // ----------------------------------------------------------------- time

    /// Nanoseconds since the VM started.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// The deadline `ms` milliseconds from now.
    pub fn deadline(&self, ms: f64) -> u64 {
        self.now()
            .saturating_add((ms.max(0.0) * 1_000_000.0) as u64)
    }

    pub fn make_ref(&mut self) -> u64 {
        let r = self.next_ref;
        self.next_ref += 1;
        r
    }

    pub fn new_channel(&mut self, capacity: usize) -> Arc<Channel> {
        let id = self.next_chan;
        self.next_chan += 1;
        Arc::new(Channel::new(id, capacity))
    }

    // -------------------------------------------------------- process table

    pub fn get(&self, pid: Pid) -> Option<&Process> {
        match self.slots.get(pid.slot()) {
            Some(Some(p)) if p.pid == pid => Some(p),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, pid: Pid) -> Option<&mut Process> {
        match self.slots.get_mut(pid.slot()) {
            Some(Some(p)) if p.pid == pid => Some(p),
            _ => None,
        }
    }

    pub fn is_alive(&self, pid: Pid) -> bool {
        self.get(pid).is_some() || self.current == Some(pid)
    }

    pub fn take(&mut self, pid: Pid) -> Option<Box<Process>> {
        match self.slots.get_mut(pid.slot()) {
            Some(slot @ Some(_)) if slot.as_ref().is_some_and(|p| p.pid == pid) => slot.take(),
            _ => None,
        }
    }

    pub fn put_back(&mut self, process: Box<Process>) {
        let slot = process.pid.slot();
        self.slots[slot] = Some(process);
    }

    /// The pids of all live processes, in slot order.
    pub fn pids(&self) -> Vec<Pid> {
        let mut pids: Vec<Pid> = self.slots.iter().flatten().map(|p| p.pid).collect();
        if let Some(current) = self.current {
            pids.push(current);
        }
        pids.sort_by_key(|p| p.serial());
        pids
    }

    fn allocate_pid(&mut self) -> Pid {
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1).max(1);
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        Pid::new(slot, serial)
    }

    /// Starts a process running prototype `proto` with `stack` laid out for
    /// a frame at base 1.
    pub fn start_process(&mut self, proto: u32, stack: Vec<Value>) -> Pid {
        let pid = self.allocate_pid();
        let frame = Frame {
            proto,
            pc: 0,
            base: 1,
            ret: 0,
        };
        let process = Process::new(pid, stack, frame);
        self.slots[pid.slot()] = Some(Box::new(process));
        self.run_queue.push_back(pid);
        self.live += 1;
        self.stats.spawned += 1;
        self.stats.peak_live = self.stats.peak_live.max(self.live as u64);
        pid
    }

    /// `spawn f(args)`: a new process calling the function value.
    pub fn spawn_value(
        &mut self,
        code: &Code,
        function: &Value,
        args: Vec<Value>,
        link_parent: Option<&mut Process>,
    ) -> Result<Pid, OpError> {
        if self.live >= self.limits.max_processes {
            return Err((
                Atom::LIMIT,
                format!(
                    "the VM's limit of {} processes is reached",
                    self.limits.max_processes
                ),
            ));
        }
        let Value::Fn(f) = function else {
            return Err((
                Atom::BADARG,
                format!("`spawn` needs a function, got {}", describe_value(function)),
            ));
        };
        let (proto, captures): (Option<u32>, &[Value]) = match &f.kind {
            FnKind::Weft { proto, captures } => (Some(*proto), captures),
            FnKind::Global(slot) => match &code.globals[*slot as usize] {
                Global::Weft(proto) => (Some(*proto), &[]),
                Global::Undefined => {
                    return Err((
                        Atom::UNDEF,
                        format!("{} is not defined", code.global_names[*slot as usize]),
                    ))
                }
                _ => (None, &[]),
            },
        };
        let pid = match proto {
            Some(index) => {
                let target = &code.protos[index as usize];
                if target.arity as usize != args.len() {
                    return Err((
                        Atom::BADARITY,
                        format!(
                            "{} takes {} arguments, got {}",
                            target.name,
                            target.arity,
                            args.len()
                        ),
                    ));
                }
                // Slot 0 is unused: frames start at base 1 so `ret` 0 is free.
                let mut stack = Vec::with_capacity(1 + target.registers as usize);
                stack.push(Value::Nil);
                stack.extend(args);
                stack.extend(captures.iter().cloned());
                if target.self_slot {
                    stack.push(function.clone());
                }
                stack.resize(1 + target.registers as usize, Value::Nil);
                self.start_process(index, stack)
            }
            None => {
                // A native: run it through a two-instruction trampoline.
                let Some(&trampoline) = self.trampolines.get(args.len()) else {
                    return Err((
                        Atom::BADARG,
                        "too many arguments to spawn a builtin".to_string(),
                    ));
                };
                let mut stack = Vec::with_capacity(2 + args.len());
                stack.push(Value::Nil);
                stack.push(function.clone());
                stack.extend(args);
                self.start_process(trampoline, stack)
            }
        };
        if let Some(parent) = link_parent {
            parent.extra().links.insert(pid);
            if let Some(child) = self.get_mut(pid) {
                child.extra().links.insert(parent.pid);
            }
        }
        Ok(pid)
    }

    // ------------------------------------------------------------- messages

    /// Resolves a send target: a pid, or an atom registered to one.
    pub fn resolve(&self, target: &Value) -> Result<Pid, OpError> {
        match target {
            Value::Pid(pid) => Ok(*pid),
            Value::Atom(name) => self.registry.get(name).copied().ok_or_else(|| {
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
        let pid = self.resolve(target)?;
        self.stats.messages += 1;
        if pid == sender.pid {
            sender.mailbox.push_back(message);
            return Ok(());
        }
        self.deliver(pid, message);
        Ok(())
    }

    /// Puts a message in a mailbox, waking the process if it waits for one.
    /// A dead pid drops the message (LANGUAGE.md §6).
    pub fn deliver(&mut self, pid: Pid, message: Value) {
        if pid == self.host_pid {
            self.host_inbox.push_back(message);
            return;
        }
        if self.current == Some(pid) {
            self.deferred_messages.push(message);
            return;
        }
        let max_mailbox = self.limits.max_mailbox;
        let Some(process) = self.get_mut(pid) else {
            return;
        };
        if process.mailbox.len() >= max_mailbox {
            // Past the limit the receiver is at fault: it dies (see EMBEDDING.md).
            let reason = Value::error_reason(
                Atom::LIMIT,
                &format!("mailbox over its limit of {max_mailbox} messages"),
            );
            self.signal_now(Signal {
                to: pid,
                from: pid,
                reason,
                untrappable: true,
                linked: false,
            });
            return;
        }
        process.mailbox.push_back(message);
        if process.status == Status::Waiting(Wait::Mailbox) {
            process.status = Status::Runnable;
            self.run_queue.push_back(pid);
        }
    }

    /// Marks the running process blocked; with a deadline, sets a timer.
    pub fn block(&mut self, process: &mut Process, wait: Wait, deadline: Option<u64>) {
        set_waiting(process, wait);
        if let Some(deadline) = deadline {
            self.add_timer(
                deadline,
                TimerKind::Wake {
                    pid: process.pid,
                    token: process.wait_token,
                },
            );
        }
    }

    fn add_timer(&mut self, deadline: u64, kind: TimerKind) {
        self.timer_sequence += 1;
        self.timers.push(Reverse(Timer {
            deadline,
            sequence: self.timer_sequence,
            kind,
        }));
    }

    pub fn send_after(&mut self, ms: f64, to: Pid, message: Value) {
        let deadline = self.deadline(ms);
        self.add_timer(deadline, TimerKind::Send { to, message });
    }

    /// Wakes `pid` if it still waits with `token`, handing it `handoff`.
    fn wake(&mut self, pid: Pid, token: u32, handoff: Handoff) -> bool {
        let Some(process) = self.get_mut(pid) else {
            return false;
        };
        if !matches!(process.status, Status::Waiting(_)) || process.wait_token != token {
            return false;
        }
        process.status = Status::Runnable;
        process.handoff = Some(handoff);
        self.run_queue.push_back(pid);
        true
    }

    fn is_live_waiter(&self, waiter: &Waiter) -> bool {
        self.get(waiter.pid)
            .is_some_and(|p| matches!(p.status, Status::Waiting(_)) && p.wait_token == waiter.token)
    }

    /// Fires every timer that is due. Returns whether any did something.
    pub fn fire_timers(&mut self) -> bool {
        let mut fired = false;
        if self.timers.is_empty() {
            return false;
        }
        let now = self.now();
        while let Some(Reverse(timer)) = self.timers.peek() {
            if timer.deadline > now {
                break;
            }
            let Some(Reverse(timer)) = self.timers.pop() else {
                break;
            };
            match timer.kind {
                TimerKind::Wake { pid, token } => fired |= self.wake(pid, token, Handoff::TimedOut),
                TimerKind::Send { to, message } => {
                    self.deliver(to, message);
                    fired = true;
                }
            }
        }
        fired
    }

    /// The next deadline that still matters, dropping stale timers.
    pub fn next_timer(&mut self) -> Option<u64> {
        while let Some(Reverse(timer)) = self.timers.peek() {
            let live = match &timer.kind {
                TimerKind::Wake { pid, token } => self.get(*pid).is_some_and(|p| {
                    matches!(p.status, Status::Waiting(_)) && p.wait_token == *token
                }),
                TimerKind::Send { to, .. } => self.get(*to).is_some() || *to == self.host_pid,
            };
            if live {
                return Some(timer.deadline);
            }
            self.timers.pop();
        }
        None
    }

    // ------------------------------------------------------------- channels

    /// Pops the first live waiter of a queue.
    fn pop_live(&self, queue: &mut VecDeque<Waiter>) -> Option<Waiter> {
        while let Some(waiter) = queue.pop_front() {
            if self.is_live_waiter(&waiter) {
                return Some(waiter);
            }
        }
        None
    }

    pub fn chan_send(
        &mut self,
        process: &mut Process,
        channel: &Arc<Channel>,
        value: Value,
    ) -> ChanOutcome {
        let mut state = channel.lock();
        match self.try_send(&mut state, value) {
            Ok(()) => ChanOutcome::Done(Value::Nil),
            Err(None) => ChanOutcome::Closed,
            Err(Some(value)) => {
                set_waiting(process, Wait::ChanSend(channel.id));
                state.senders.push_back(Waiter {
                    pid: process.pid,
                    token: process.wait_token,
                    arm: 0,
                    value,
                });
                ChanOutcome::Blocked
            }
        }
    }

    /// Sends without waiting: `Err(None)` if closed, `Err(Some(value))`
    /// (the value back) if it would have to wait.
    fn try_send(&mut self, state: &mut ChanState, value: Value) -> Result<(), Option<Value>> {
        if state.closed {
            return Err(None);
        }
        if let Some(receiver) = self.pop_live(&mut state.receivers) {
            self.wake(
                receiver.pid,
                receiver.token,
                Handoff::Received {
                    arm: receiver.arm,
                    value,
                },
            );
            return Ok(());
        }
        if state.buffer.len() < state.capacity {
            state.buffer.push_back(value);
            return Ok(());
        }
        Err(Some(value))
    }

    pub fn chan_recv(&mut self, process: &mut Process, channel: &Arc<Channel>) -> ChanOutcome {
        let mut state = channel.lock();
        match self.try_recv(&mut state) {
            Ok(value) => ChanOutcome::Done(value),
            Err(true) => ChanOutcome::Closed,
            Err(false) => {
                set_waiting(process, Wait::ChanRecv(channel.id));
                state.receivers.push_back(Waiter {
                    pid: process.pid,
                    token: process.wait_token,
                    arm: 0,
                    value: Value::Nil,
                });
                ChanOutcome::Blocked
            }
        }
    }

    /// Receives without waiting: `Err(true)` closed and drained,
    /// `Err(false)` nothing there yet.
    pub fn try_recv(&mut self, state: &mut ChanState) -> Result<Value, bool> {
        if let Some(value) = state.buffer.pop_front() {
            // Room opened: a waiting sender's value moves into the buffer.
            if let Some(sender) = self.pop_live(&mut state.senders) {
                state.buffer.push_back(sender.value);
                self.wake(sender.pid, sender.token, Handoff::Sent { arm: sender.arm });
            }
            return Ok(value);
        }
        if let Some(sender) = self.pop_live(&mut state.senders) {
            self.wake(sender.pid, sender.token, Handoff::Sent { arm: sender.arm });
            return Ok(sender.value);
        }
        Err(state.closed)
    }

    /// `close(ch)`: wakes every waiter; receivers get nil, senders fail.
    pub fn close(&mut self, channel: &Arc<Channel>) -> Result<(), OpError> {
        let mut state = channel.lock();
        if state.closed {
            return Err((
                Atom::CLOSED,
                "close of a channel that is already closed".to_string(),
            ));
        }
        state.closed = true;
        let receivers: Vec<Waiter> = state.receivers.drain(..).collect();
        let senders: Vec<Waiter> = state.senders.drain(..).collect();
        drop(state);
        for waiter in receivers.into_iter().chain(senders) {
            self.wake(
                waiter.pid,
                waiter.token,
                Handoff::Closed { arm: waiter.arm },
            );
        }
        Ok(())
    }

    /// Stackless' balance: senders waiting minus receivers waiting.
    pub fn balance(&self, channel: &Channel) -> i64 {
        let state = channel.lock();
        let senders = state
            .senders
            .iter()
            .filter(|w| self.is_live_waiter(w))
            .count() as i64;
        let receivers = state
            .receivers
            .iter()
            .filter(|w| self.is_live_waiter(w))
            .count() as i64;
        senders - receivers
    }

    /// `select`: the first ready arm in source order, else wait on all.
    /// `Ok(None)` means the process blocked.
    pub fn select(
        &mut self,
        process: &mut Process,
        base: usize,
        table: &SelectTable,
    ) -> Result<Option<u32>, OpError> {
        let arm_count = table.arms.len() as u32;
        match process.handoff.take() {
            Some(Handoff::Received { arm, value }) => {
                if let Some(SelectArm::Recv {
                    value: register, ..
                }) = table.arms.get(arm as usize)
                {
                    process.stack[base + register.index()] = value;
                }
                return Ok(Some(arm));
            }
            Some(Handoff::Sent { arm }) => return Ok(Some(arm)),
            Some(Handoff::Closed { arm }) => {
                return match table.arms.get(arm as usize) {
                    Some(SelectArm::Recv { value, .. }) => {
                        process.stack[base + value.index()] = Value::Nil;
                        Ok(Some(arm))
                    }
                    _ => Err((Atom::CLOSED, "send on a closed channel".to_string())),
                };
            }
            Some(Handoff::TimedOut) => return Ok(Some(arm_count)),
            None => {}
        }
        let mut channels = Vec::with_capacity(table.arms.len());
        for arm in &table.arms {
            let (SelectArm::Recv { chan, .. } | SelectArm::Send { chan, .. }) = arm;
            match &process.stack[base + chan.index()] {
                Value::Chan(c) => channels.push(c.clone()),
                other => {
                    return Err((
                        Atom::BADARG,
                        format!(
                            "a select arm needs a channel, got {}",
                            describe_value(other)
                        ),
                    ))
                }
            }
        }
        for (i, arm) in table.arms.iter().enumerate() {
            let mut state = channels[i].lock();
            match arm {
                SelectArm::Recv { value, .. } => match self.try_recv(&mut state) {
                    Ok(v) => {
                        process.stack[base + value.index()] = v;
                        return Ok(Some(i as u32));
                    }
                    Err(true) => {
                        process.stack[base + value.index()] = Value::Nil;
                        return Ok(Some(i as u32));
                    }
                    Err(false) => {}
                },
                SelectArm::Send { value, .. } => {
                    let v = process.stack[base + value.index()].clone();
                    match self.try_send(&mut state, v) {
                        Ok(()) => return Ok(Some(i as u32)),
                        Err(None) => {
                            return Err((Atom::CLOSED, "send on a closed channel".to_string()))
                        }
                        Err(Some(_)) => {}
                    }
                }
            }
        }
        let deadline = match table.timeout {
            None => None,
            Some(register) => match &process.stack[base + register.index()] {
                Value::Int(ms) if *ms <= 0 => return Ok(Some(arm_count)),
                Value::Float(ms) if *ms <= 0.0 => return Ok(Some(arm_count)),
                Value::Int(ms) => Some(self.deadline(*ms as f64)),
                Value::Float(ms) => Some(self.deadline(*ms)),
                other => {
                    return Err((
                        Atom::BADARG,
                        format!(
                            "`after` needs a number of milliseconds, got {}",
                            describe_value(other)
                        ),
                    ))
                }
            },
        };
        let waits = table
            .arms
            .iter()
            .zip(&channels)
            .map(|(arm, c)| (matches!(arm, SelectArm::Send { .. }), c.id))
            .collect();
        self.block(process, Wait::Select(waits), deadline);
        for (i, arm) in table.arms.iter().enumerate() {
            let mut state = channels[i].lock();
            match arm {
                SelectArm::Recv { .. } => state.receivers.push_back(Waiter {
                    pid: process.pid,
                    token: process.wait_token,
                    arm: i as u32,
                    value: Value::Nil,
                }),
                SelectArm::Send { value, .. } => state.senders.push_back(Waiter {
                    pid: process.pid,
                    token: process.wait_token,
                    arm: i as u32,
                    value: process.stack[base + value.index()].clone(),
                }),
            }
        }
        Ok(None)
    }

    // ---------------------------------------------------- links and signals

    pub fn register(&mut self, name: Atom, pid: Pid) -> Result<(), OpError> {
        if let Some(existing) = self.registry.get(&name) {
            if self.is_alive(*existing) && *existing != pid {
                return Err((
                    Atom::BADARG,
                    format!(":{} is already registered", name.name()),
                ));
            }
        }
        if !self.is_alive(pid) {
            return Err((Atom::BADARG, format!("{pid} is not alive")));
        }
        self.registry.retain(|_, p| *p != pid);
        self.registry.insert(name, pid);
        Ok(())
    }

    pub fn whereis(&self, name: Atom) -> Option<Pid> {
        self.registry
            .get(&name)
            .copied()
            .filter(|p| self.is_alive(*p))
    }

    pub fn name_of(&self, pid: Pid) -> Option<Atom> {
        self.registry
            .iter()
            .find(|(_, p)| **p == pid)
            .map(|(n, _)| *n)
    }

    /// Links the running process with `other` (both ways). A dead `other`
    /// sends the running process a `:noproc` exit signal, as in Erlang.
    pub fn link(&mut self, process: &mut Process, other: Pid) {
        if other == process.pid {
            return;
        }
        match self.get_mut(other) {
            Some(target) => {
                target.extra().links.insert(process.pid);
                process.extra().links.insert(other);
            }
            None => self.signal(process.pid, other, Value::Atom(Atom::NOPROC), false, true),
        }
    }

    pub fn unlink(&mut self, process: &mut Process, other: Pid) {
        if let Some(extra) = process.extra.as_mut() {
            extra.links.swap_remove(&other);
        }
        if let Some(target) = self.get_mut(other) {
            if let Some(extra) = target.extra.as_mut() {
                extra.links.swap_remove(&process.pid);
            }
        }
    }

    /// `monitor(pid)`: returns the ref; a dead pid gets `:noproc` at once.
    pub fn monitor(&mut self, process: &mut Process, target: Pid) -> u64 {
        let reference = self.make_ref();
        match self.get_mut(target) {
            Some(t) => {
                t.extra().monitored_by.insert(reference, process.pid);
                process.extra().monitoring.insert(reference, target);
            }
            None => process.mailbox.push_back(down_message(
                reference,
                target,
                Value::Atom(Atom::NOPROC),
            )),
        }
        reference
    }

    pub fn demonitor(&mut self, process: &mut Process, reference: u64) -> bool {
        let Some(extra) = process.extra.as_mut() else {
            return false;
        };
        let Some(target) = extra.monitoring.swap_remove(&reference) else {
            return false;
        };
        if let Some(t) = self.get_mut(target) {
            if let Some(e) = t.extra.as_mut() {
                e.monitored_by.swap_remove(&reference);
            }
        }
        // A `:down` already delivered for this ref is dropped too.
        process.mailbox.retain(|m| !is_down_for(m, reference));
        true
    }

    /// Sends an exit signal from `from` to `to`.
    pub fn signal(&mut self, to: Pid, from: Pid, reason: Value, untrappable: bool, linked: bool) {
        self.signal_now(Signal {
            to,
            from,
            reason,
            untrappable,
            linked,
        });
    }

    fn signal_now(&mut self, first: Signal) {
        let mut work = VecDeque::from([first]);
        while let Some(signal) = work.pop_front() {
            if self.current == Some(signal.to) {
                self.deferred.push(signal);
                continue;
            }
            let Some(target) = self.get_mut(signal.to) else {
                continue;
            };
            let normal = signal.reason == Value::Atom(Atom::NORMAL);
            if !signal.untrappable && target.trap_exits() {
                let message = Value::tuple(vec![
                    Value::Atom(Atom::EXIT),
                    Value::Pid(signal.from),
                    signal.reason,
                ]);
                self.deliver(signal.to, message);
                continue;
            }
            if normal && (signal.linked || signal.from != signal.to) {
                continue;
            }
            let reason = if signal.untrappable && signal.reason == Value::Atom(Atom::KILL) {
                Value::Atom(Atom::KILLED)
            } else {
                signal.reason
            };
            if let Some(process) = self.take(signal.to) {
                self.finish_into(process, reason, &mut work);
            }
        }
    }

    /// Ends a process that is out of its slot: frees the slot, tells its
    /// links and monitors. Further signals go to `work`.
    fn finish_into(&mut self, process: Box<Process>, reason: Value, work: &mut VecDeque<Signal>) {
        self.finish_with(process, reason, false, work);
    }

    /// Ends a process; `crashed` says a crash event was already recorded.
    /// It takes the box the process lived in: unboxing would copy it.
    #[allow(clippy::boxed_local)]
    fn finish_with(
        &mut self,
        mut process: Box<Process>,
        reason: Value,
        crashed: bool,
        work: &mut VecDeque<Signal>,
    ) {
        let pid = process.pid;
        self.live = self.live.saturating_sub(1);
        self.free_slots.push(pid.slot() as u32);
        if self.main == Some(pid) {
            self.main_exit = Some(reason.clone());
        }
        if let Some(outcome @ None) = self.watched.get_mut(&pid) {
            *outcome = Some(crate::host::Outcome::Exited(reason.clone()));
        }
        if reason != Value::Atom(Atom::NORMAL) && !crashed {
            self.events.push(Event::Exit {
                pid,
                reason: reason.clone(),
            });
        }
        let Some(extra) = process.extra.take() else {
            return;
        };
        if let Some(name) = extra.name {
            self.registry.remove(&name);
        }
        self.registry.retain(|_, p| *p != pid);
        for file in &extra.files {
            crate::natives::io::close_resource(file);
        }
        for (reference, watcher) in extra.monitored_by {
            self.deliver(watcher, down_message(reference, pid, reason.clone()));
            if let Some(w) = self.get_mut(watcher) {
                if let Some(e) = w.extra.as_mut() {
                    e.monitoring.swap_remove(&reference);
                }
            }
        }
        for (reference, target) in extra.monitoring {
            if let Some(t) = self.get_mut(target) {
                if let Some(e) = t.extra.as_mut() {
                    e.monitored_by.swap_remove(&reference);
                }
            }
        }
        for linked in extra.links {
            if let Some(other) = self.get_mut(linked) {
                if let Some(e) = other.extra.as_mut() {
                    e.links.swap_remove(&pid);
                }
            }
            work.push_back(Signal {
                to: linked,
                from: pid,
                reason: reason.clone(),
                untrappable: false,
                linked: true,
            });
        }
    }

    /// Ends the process that just ran (it is out of its slot); `crashed`
    /// says its runtime error was already reported.
    pub fn finish(&mut self, process: Box<Process>, reason: Value, crashed: bool) {
        self.deferred.clear();
        self.deferred_messages.clear();
        let mut work = VecDeque::new();
        self.finish_with(process, reason, crashed, &mut work);
        while let Some(signal) = work.pop_front() {
            self.signal_now(signal);
        }
    }

    /// Puts the process that just ran back, applying what arrived for it
    /// while it ran. Returns false if a deferred signal killed it.
    pub fn settle(&mut self, mut process: Box<Process>) -> bool {
        let pid = process.pid;
        let messages = std::mem::take(&mut self.deferred_messages);
        let wake = !messages.is_empty() && process.status == Status::Waiting(Wait::Mailbox);
        process.mailbox.extend(messages);
        if wake {
            process.status = Status::Runnable;
        }
        let runnable = process.status == Status::Runnable;
        self.put_back(process);
        if runnable {
            self.run_queue.push_back(pid);
        }
        let signals = std::mem::take(&mut self.deferred);
        for signal in signals {
            self.signal_now(signal);
        }
        self.get(pid).is_some()
    }

    /// Stops every process (the main process ended).
    pub fn stop_all(&mut self) {
        for slot in &mut self.slots {
            if let Some(process) = slot.take() {
                if let Some(extra) = &process.extra {
                    for file in &extra.files {
                        crate::natives::io::close_resource(file);
                    }
                }
            }
        }
        self.run_queue.clear();
        self.timers.clear();
        self.live = 0;
    }

    /// Every live process with what it waits on (for deadlock reports).
    pub fn blocked_processes(&self) -> Vec<(Pid, String)> {
        let mut list: Vec<(Pid, String)> = self
            .slots
            .iter()
            .flatten()
            .map(|p| (p.pid, describe_wait(&p.status)))
            .collect();
        list.sort_by_key(|(p, _)| p.serial());
        list
    }
}

fn down_message(reference: u64, pid: Pid, reason: Value) -> Value {
    Value::tuple(vec![
        Value::Atom(Atom::DOWN),
        Value::Ref(reference),
        Value::Pid(pid),
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
