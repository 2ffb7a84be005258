//! Running slices: what one scheduler does with a runnable process, and the
//! host-stepped loop behind `Vm::run(budget)` when the VM has no threads.

use std::time::Duration;

use crate::data::atom::Atom;
use crate::data::value::{self, Pid};
use crate::interp::code::Code;
use crate::interp::{self, SliceEnd};
use crate::process::{self, Process};
use crate::runtime::events::{Outcome, RunStatus, RuntimeError};
use crate::runtime::scheduler::{RunQueue, Scheduler};

/// With a heap limit, a process measured at B bytes is measured again after
/// B / 1024 reductions: about the rate an instruction loop allocates at, so
/// measuring costs a bounded share of the time the process runs.
pub(crate) const HEAP_BYTES_PER_REDUCTION: usize = 1024;

/// How many deferred values `run` frees per reduction spent: the rate at
/// which walks visit nodes (`crate::data::fuel::WORK_PER_REDUCTION`), so freeing a
/// value costs about what comparing it would.
pub(crate) const FREED_PER_REDUCTION: usize = crate::data::fuel::WORK_PER_REDUCTION as usize;

impl Scheduler {
    /// The next process to run from this scheduler's own queue: the
    /// run-next slot while the chain of processes run through it has not
    /// spent a slice's reductions (Go's time-slice inheritance, so two
    /// processes passing a message back and forth cannot starve the rest),
    /// then the queue in FIFO order.
    pub fn next_local(&mut self) -> Option<Pid> {
        if let Some(pid) = self.handed_pid() {
            return Some(pid);
        }
        if let Some(pid) = self.run_next.take() {
            if self.chain < self.limits.reductions as u64 {
                self.from_next = true;
                return Some(pid);
            }
            self.chain = 0;
            self.requeue(pid);
        }
        self.from_next = false;
        self.chain = 0;
        match &mut self.run_queue {
            RunQueue::Local(queue) => queue.pop_front(),
            RunQueue::Worker(worker) => worker.pop(),
            RunQueue::Host | RunQueue::External => None,
        }
    }

    /// Runs one process for at most one slice; returns the reductions it
    /// spent. Its signals are applied first: they may end it, or leave it
    /// waiting (then it parks again without running).
    pub fn run_slice(&mut self, code: &Code, pid: Pid, budget: u32) -> u64 {
        let held = self.take_handed(pid);
        let Some(slot) = self.shared.table.slot(pid.slot()) else {
            return 0;
        };
        let taken = match held {
            Some(held) => Some(held),
            None => slot.take_body(pid),
        };
        let Some(mut process) = taken else {
            if self
                .shared
                .table
                .slot(pid.slot())
                .is_some_and(|s| s.is_live(pid))
            {
                // Another thread holds the body for a moment (applying an
                // exit signal, or parking it): try again later.
                self.requeue(pid);
            }
            return 0;
        };
        match self.absorb(&mut process) {
            Err(reason) => {
                self.finish(process, Outcome::Exited(reason));
                return 0;
            }
            Ok(arrived) => {
                if !self.resume(&mut process, arrived) {
                    self.park(process);
                    return 0;
                }
            }
        }
        let before = process.reductions;
        self.running = true;
        // The function is named before the slice: a process that returns
        // has no frames left after it.
        let end = if self.tracing {
            self.traced_slice(code, &mut process, budget)
        } else {
            interp::run(code, self, &mut process, budget)
        };
        self.running = false;
        let spent = process.reductions - before;
        self.count_reductions(spent);
        // Past the bound on values waiting to be freed, this process pays
        // for freeing more — up to a slice's worth, so the slice stays
        // bounded in time — with its next slice's reductions
        // (value.rs, `BACKLOG_BOUND`).
        let over = value::backlog().saturating_sub(value::BACKLOG_BOUND);
        if over > 0 {
            let extra = over.min(budget as usize * FREED_PER_REDUCTION);
            process.debt = process
                .debt
                .saturating_add((extra / FREED_PER_REDUCTION) as u32);
            self.extra_free = extra;
        }
        if self.from_next {
            self.chain += spent.max(1);
        }
        let end = match end {
            SliceEnd::Yielded | SliceEnd::Waiting if self.heap_check_due(&process) => {
                match self.heap_over(code, &mut process) {
                    Some(error) => SliceEnd::Failed(error),
                    None => end,
                }
            }
            end => end,
        };
        match end {
            SliceEnd::Yielded => {
                process.status = process::Status::Runnable;
                if let Some(slot) = self.shared.table.slot(pid.slot()) {
                    slot.put_body(process);
                }
                self.requeue(pid);
            }
            SliceEnd::Waiting => {
                // Keep every frame's registers: a caller's window can reach
                // above the blocked callee's when the callee uses fewer.
                let window = |f: &process::Frame| {
                    f.base as usize + code.protos[f.proto as usize].registers as usize
                };
                // One frame, the common case of a server loop blocked in
                // receive, needs no walk.
                let top = match process.frames.last() {
                    Some(frame) if process.frames.len() == 1 => window(frame),
                    _ => process.frames.iter().map(window).max().unwrap_or(0),
                };
                process.trim_stack(top);
                self.park(process);
            }
            SliceEnd::Returned => {
                let value = process.stack.first_mut().map(std::mem::take);
                self.finish(process, Outcome::Returned(value.unwrap_or_default()));
            }
            SliceEnd::Exited(reason) => self.finish(process, Outcome::Exited(reason)),
            SliceEnd::Failed(error) => self.finish(process, Outcome::Crashed(*error)),
        }
        self.apply_pending();
        spent
    }

    /// Runs a slice and records it in the trace.
    #[cold]
    fn traced_slice(&mut self, code: &Code, process: &mut Process, budget: u32) -> SliceEnd {
        let pid = process.pid;
        self.traced = Some(pid);
        let started = self.now();
        let function = slice_function(code, process);
        let end = interp::run(code, self, process, budget);
        self.trace_slice(pid, function, started);
        end
    }

    /// Records the slice `pid` just ran (tracing only).
    fn trace_slice(&mut self, pid: Pid, function: String, started: u64) {
        self.traced = None;
        let kind = crate::runtime::trace::TraceKind::Slice {
            function,
            duration_ns: self.now().saturating_sub(started),
            scheduler: self.index,
        };
        if let Some(trace) = &self.shared.trace {
            trace.record(crate::runtime::trace::TraceEvent {
                time_ns: started,
                pid,
                kind,
            });
        }
    }

    /// With a heap limit, a process that holds too much data dies here, and
    /// with a VM-wide limit, the process that ran while the program passed
    /// it — a crash with its report, the kind `:system_limit` and what was
    /// passed; the VM goes on.
    ///
    /// Measuring a process walks what it holds, so it is amortised: after
    /// measuring B bytes the next check waits B / HEAP_BYTES_PER_REDUCTION
    /// reductions. Walking costs about what the process spent meanwhile,
    /// and since an instruction allocates at most about that many bytes
    /// per reduction it charges, a process overshoots its limit by at most
    /// about its own size before it is stopped. The VM-wide check reads one
    /// counter (`memory::vm_heap_over`).
    #[inline(always)]
    fn heap_check_due(&self, process: &Process) -> bool {
        (self.limits.max_heap != usize::MAX
            && process.reductions >= process.extra.as_ref().map_or(0, |e| e.heap_check_at))
            || crate::data::memory::vm_heap_over(&self.limits)
    }

    /// The error of a process over its heap limit, or of the one that
    /// ran while the VM passed its own (see `heap_check_due`).
    #[inline(never)]
    fn heap_over(&self, code: &Code, process: &mut Process) -> Option<Box<RuntimeError>> {
        let mut over = None;
        if crate::data::memory::vm_heap_over(&self.limits) {
            over = Some(format!(
                "the program holds more than the VM's limit of {} bytes",
                self.limits.max_vm_heap
            ));
        } else if self.limits.max_heap != usize::MAX
            && process.reductions >= process.extra().heap_check_at
        {
            let limit = self.limits.max_heap;
            let bytes = process.reachable_bytes(limit);
            process.extra().heap_check_at =
                process.reductions + (bytes / HEAP_BYTES_PER_REDUCTION) as u64;
            if bytes > limit {
                over = Some(format!(
                    "the process holds more than its limit of {limit} bytes"
                ));
            }
        }
        let message = over?;
        let (frames, omitted) = interp::trace(code, process);
        let mut error = RuntimeError::new(Atom::SYSTEM_LIMIT, message, frames);
        error.frames_omitted = omitted;
        Some(Box::new(error))
    }

    /// Frees what the slice that spent `spent` reductions left to free:
    /// `FREED_PER_REDUCTION` values per reduction, so freeing keeps pace
    /// with what the processes build (copies are charged by size), plus
    /// what the process paid for past the backlog bound.
    pub(crate) fn free_after_slice(&mut self, spent: u64) {
        let share = (spent as usize + 1).saturating_mul(FREED_PER_REDUCTION);
        value::drain_deferred(share + std::mem::take(&mut self.extra_free));
    }

    /// `Vm::run` without threads: runs processes on the host's thread for
    /// at most `budget` reductions, with freeing deferred — after each
    /// slice the VM frees `FREED_PER_REDUCTION` values for each reduction
    /// the slice spent (so freeing keeps pace with what the processes
    /// built), and before returning it frees more with what is left.
    pub fn run_host(&mut self, code: &Code, budget: u64) -> RunStatus {
        self.refresh_tracing();
        let mut left = budget;
        let status = loop {
            self.fire_timers();
            self.take_external();
            // A process the host monitors ended: let the host see it.
            if self
                .shared
                .host_news
                .load(std::sync::atomic::Ordering::Acquire)
            {
                break RunStatus::BudgetSpent;
            }
            let Some(pid) = self.next_local() else {
                break match self.next_timer() {
                    Some(deadline) => RunStatus::Waiting {
                        next_timer: Duration::from_nanos(deadline.saturating_sub(self.now())),
                    },
                    None => RunStatus::Idle,
                };
            };
            if left == 0 {
                // The held process goes back first by `release_handed`.
                if self.handed_pid() != Some(pid) {
                    if let RunQueue::Local(queue) = &mut self.run_queue {
                        queue.push_front(pid);
                    }
                }
                break RunStatus::BudgetSpent;
            }
            let slice = (self.limits.reductions as u64).min(left) as u32;
            let spent = self.run_slice(code, pid, slice);
            left = left.saturating_sub(spent.max(1));
            self.free_after_slice(spent);
        };
        self.release_handed();
        value::drain_deferred((left as usize).saturating_mul(FREED_PER_REDUCTION));
        status
    }
}

/// The name a trace gives a slice of `process`: its outermost frame's
/// function (`fn` for an anonymous one).
#[cold]
fn slice_function(code: &Code, process: &Process) -> String {
    let name = process
        .frames
        .iter()
        .next()
        .and_then(|f| code.protos.get(f.proto as usize))
        .map_or("", |p| &*p.name);
    if name.is_empty() { "fn" } else { name }.to_string()
}

/// The pool threads run slices through the interpreter with the VM's code
/// (read-locked across a run of slices; the host's `world` waits for it).
pub(crate) struct Interpreter {
    pub code: std::sync::Arc<std::sync::RwLock<Code>>,
}

impl crate::runtime::pool::Executor for Interpreter {
    fn run_slices(
        &self,
        scheduler: &mut Scheduler,
        next: &mut dyn FnMut(&mut Scheduler) -> Option<Pid>,
    ) {
        let code = self.code.read().unwrap_or_else(|e| e.into_inner());
        scheduler.refresh_tracing();
        let slice = scheduler.limits.reductions;
        while let Some(pid) = next(scheduler) {
            let spent = scheduler.run_slice(&code, pid, slice);
            scheduler.free_after_slice(spent);
        }
    }
}
