//! The runtime as natives see it: `Machine` implements `Runtime` (the
//! narrow interface of `process/ctx.rs`) over the scheduler running the
//! process and the loaded code.

use std::sync::Arc;

use crate::data::atom::Atom;
use crate::data::channel::{ChanOutcome, Channel};
use crate::data::image::{RestoreError, SaveOutcome};
use crate::data::limits::Limits;
use crate::data::lock;
use crate::data::ops::OpError;
use crate::data::remote::RemotePid;
use crate::data::value::{Pid, Value};
use crate::interp::code::Code;
use crate::interp::image;
use crate::process::ctx::{
    Extensions, Glance, HoldOutcome, Port, Runtime, Source, TicketAnswerer, Waiter,
};
use crate::process::{Process, Status, Wait, Watcher};
use crate::runtime::dist::{self_name, NodeHandle};
use crate::runtime::events::{Event, Ticket};
use crate::runtime::scheduler::Scheduler;

pub(crate) struct Machine<'a> {
    pub scheduler: &'a mut Scheduler,
    pub code: &'a Code,
}

impl Runtime for Machine<'_> {
    fn now(&self) -> u64 {
        self.scheduler.now()
    }

    fn deadline(&self, ms: f64) -> u64 {
        self.scheduler.deadline(ms)
    }

    fn limits(&self) -> &Limits {
        &self.scheduler.limits
    }

    fn block(&mut self, process: &mut Process, wait: Wait, deadline: Option<u64>) {
        self.scheduler.block(process, wait, deadline)
    }

    fn deliver(&mut self, to: Pid, message: Value) {
        self.scheduler.deliver(to, message)
    }

    fn exit_signal(&mut self, to: Pid, from: Pid, reason: Value, untrappable: bool) {
        self.scheduler.signal(to, from, reason, untrappable, false)
    }

    fn link(&mut self, process: &mut Process, other: Pid) -> Result<(), Value> {
        self.scheduler.link(process, other)
    }

    fn unlink(&mut self, process: &mut Process, other: Pid) {
        self.scheduler.unlink(process, other)
    }

    fn monitor(&mut self, process: &mut Process, target: Pid) -> u64 {
        self.scheduler.monitor(process, target)
    }

    fn demonitor(&mut self, process: &mut Process, reference: u64) -> bool {
        self.scheduler.demonitor(process, reference)
    }

    fn link_remote(&mut self, process: &mut Process, to: &RemotePid) -> Result<(), OpError> {
        self.scheduler.link_remote(process, to)
    }

    fn unlink_remote(&mut self, process: &mut Process, to: &RemotePid) -> Result<(), OpError> {
        self.scheduler.unlink_remote(process, to)
    }

    fn monitor_remote(&mut self, process: &mut Process, to: &RemotePid) -> Result<u64, OpError> {
        self.scheduler.monitor_remote(process, to)
    }

    fn monitor_named(
        &mut self,
        process: &mut Process,
        name: Atom,
        node: &str,
        target: &Value,
    ) -> Result<u64, OpError> {
        self.scheduler.monitor_named(process, name, node, target)
    }

    fn exit_remote(
        &mut self,
        process: &mut Process,
        to: &RemotePid,
        reason: &Value,
    ) -> Result<(), OpError> {
        self.scheduler.exit_remote(process, to, reason)
    }

    fn spawn(
        &mut self,
        function: &Value,
        args: Vec<Value>,
        link: Option<&mut Process>,
    ) -> Result<Pid, OpError> {
        self.scheduler
            .spawn_value(self.code, function, args, Watcher::link(link))
    }

    fn function_named(&self, name: &str) -> Option<Value> {
        crate::interp::code::function_named(self.code, name)
    }

    fn register(&mut self, name: Atom, pid: Pid) -> Result<(), OpError> {
        self.scheduler.register(name, pid)
    }

    fn whereis(&self, name: Atom) -> Option<Pid> {
        self.scheduler.whereis(name)
    }

    fn resolve(&self, target: &Value) -> Result<Pid, OpError> {
        self.scheduler.resolve(target)
    }

    fn is_alive(&self, pid: Pid) -> bool {
        self.scheduler.is_alive(pid)
    }

    fn remote_alive(&self, to: &RemotePid) -> bool {
        self.scheduler.remote_alive(to)
    }

    fn pids(&self) -> Vec<Pid> {
        self.scheduler.pids()
    }

    fn save_process(&mut self, pid: Pid) -> SaveOutcome {
        let Some(slot) = self.scheduler.shared.table.get(pid) else {
            return SaveOutcome::Dead;
        };
        let (now, place) = (self.scheduler.now(), self.scheduler.place());
        // Holding the body is the safe point: whoever holds it owns the
        // process, which is not running (`table.rs`).
        let saved = slot.peek_body(pid, |process| {
            image::save(self.code, process, None, now, place)
        });
        match saved {
            Some(Ok(bytes)) => SaveOutcome::Saved(bytes),
            Some(Err(what)) => SaveOutcome::Unsaveable(what),
            None if self.scheduler.is_alive(pid) => SaveOutcome::Busy,
            None => SaveOutcome::Dead,
        }
    }

    fn restore_process(&mut self, image: &Value) -> Result<Pid, RestoreError> {
        image::start(self.code, self.scheduler, image)
    }

    fn hold_process(&mut self, pid: Pid) -> HoldOutcome {
        let Some(slot) = self.scheduler.shared.table.get(pid) else {
            return SaveOutcome::Dead;
        };
        let Some(process) = slot.take_body(pid) else {
            return if self.scheduler.is_alive(pid) {
                SaveOutcome::Busy
            } else {
                SaveOutcome::Dead
            };
        };
        let (now, place) = (self.scheduler.now(), self.scheduler.place());
        match image::save(self.code, &process, None, now, place) {
            Ok(bytes) => {
                let name = self.scheduler.shared.name_of(pid);
                SaveOutcome::Saved((process, bytes, name))
            }
            Err(what) => {
                slot.put_body(process);
                SaveOutcome::Unsaveable(what)
            }
        }
    }

    fn end_held(&mut self, process: Box<Process>, reason: Value) {
        self.scheduler
            .finish(process, crate::runtime::events::Outcome::Exited(reason));
    }

    fn put_back(&mut self, process: Box<Process>) {
        self.scheduler.put_back(process);
    }

    fn glance(&self, pid: Pid) -> Option<Glance> {
        let slot = self.scheduler.shared.table.get(pid)?;
        let read = |p: &Process| Glance {
            status: match p.status {
                Status::Runnable => Atom::RUNNABLE,
                Status::Waiting(_) => Atom::WAITING,
            },
            reductions: p.reductions,
            mailbox: p.mailbox.len(),
            memory: p.memory(),
        };
        Some(slot.peek_body(pid, read).unwrap_or_else(|| {
            // Running on another core: what it published last.
            use std::sync::atomic::Ordering::Relaxed;
            Glance {
                status: Atom::RUNNING,
                reductions: slot.reductions.load(Relaxed),
                mailbox: slot.mailbox.load(Relaxed) as usize,
                memory: std::mem::size_of::<Process>(),
            }
        }))
    }

    fn make_ref(&mut self) -> u64 {
        self.scheduler.make_ref()
    }

    fn send_after(&mut self, ms: f64, to: Pid, message: Value) {
        self.scheduler.send_after(ms, to, message)
    }

    fn new_channel(&mut self, capacity: usize) -> Arc<Channel> {
        self.scheduler.new_channel(capacity)
    }

    fn chan_recv(&mut self, process: &mut Process, channel: &Arc<Channel>) -> ChanOutcome {
        self.scheduler.chan_recv(process, channel)
    }

    fn try_recv(&mut self, channel: &Arc<Channel>) -> Result<Value, bool> {
        self.scheduler.try_recv(channel)
    }

    fn balance(&self, channel: &Channel) -> i64 {
        self.scheduler.balance(channel)
    }

    fn close_channel(&mut self, channel: &Arc<Channel>) -> Result<(), OpError> {
        self.scheduler.close(channel)
    }

    fn write_output(&self, text: &str) {
        self.scheduler.write_output(text)
    }

    fn write_error(&self, text: &str) {
        self.scheduler.write_error(text)
    }

    fn args(&self) -> Vec<String> {
        lock(&self.scheduler.shared.args).clone()
    }

    fn random(&mut self) -> u64 {
        crate::data::rng::next(&mut self.scheduler.rng())
    }

    fn seed_random(&mut self, seed: u64) {
        *self.scheduler.rng() = crate::data::rng::seed_state(seed);
    }

    fn node_name(&self) -> Atom {
        self_name(&self.scheduler.shared)
    }

    fn nodes(&self) -> Vec<Atom> {
        match self.scheduler.shared.dist.get() {
            Some(dist) => dist.nodes(),
            None => Vec::new(),
        }
    }

    fn is_node(&self) -> bool {
        self.scheduler.shared.dist.get().is_some()
    }

    fn is_connected(&self, node: &str) -> bool {
        self.scheduler
            .shared
            .dist
            .get()
            .is_some_and(|dist| dist.is_connected(node))
    }

    fn connect_node(&mut self, node: &str, waiter: Waiter) {
        match self.scheduler.shared.dist.get().cloned() {
            Some(dist) => dist.connect(node, waiter),
            None => NodeHandle::new(self.scheduler.shared.clone()).complete(waiter, false.into()),
        }
    }

    fn monitor_node(&mut self, pid: Pid, node: &str) {
        if let Some(dist) = self.scheduler.shared.dist.get() {
            dist.monitor_node(pid, node);
        }
    }

    fn port(&self) -> Box<dyn Port> {
        Box::new(NodeHandle::new(self.scheduler.shared.clone()))
    }

    fn add_source(&self, source: Arc<dyn Source>) {
        lock(&self.scheduler.shared.sources).push(source);
    }

    fn pg_join(&mut self, group: &Value, pids: &[Pid]) {
        self.scheduler.pg_join(group, pids)
    }

    fn pg_leave(&mut self, group: &Value, pids: &[Pid]) -> bool {
        self.scheduler.pg_leave(group, pids)
    }

    fn pg_members(&self, group: &Value) -> Vec<Value> {
        self.scheduler.pg_members(group)
    }

    fn extensions(&self) -> &Extensions {
        &self.scheduler.shared.extensions
    }

    fn new_ticket(&mut self, waiter: Waiter, by_future: bool) -> u64 {
        let shared = &self.scheduler.shared;
        let ticket = Ticket(
            shared
                .next_ticket
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        );
        shared.add_ticket(ticket, waiter, by_future);
        ticket.0
    }

    fn host_call(&mut self, ticket: u64, caller: Pid, name: &str, args: Vec<Value>) {
        lock(&self.scheduler.shared.events).push(Event::HostCall {
            ticket: Ticket(ticket),
            name: name.to_string(),
            args,
            caller,
        });
    }

    fn completer(&self) -> Box<dyn TicketAnswerer> {
        Box::new(NodeHandle::new(self.scheduler.shared.clone()))
    }

    fn frame_top(&self, process: &Process) -> usize {
        crate::interp::frame_top(self.code, process)
    }
}
