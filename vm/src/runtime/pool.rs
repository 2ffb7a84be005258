//! The scheduler threads: one `Scheduler` per thread (by default one per
//! core), each with its own run queue, stealing from the others when idle.
//!
//! Invariants:
//! - A thread sleeps only after registering in `idle.sleepers`, then
//!   checking every queue once more: a producer pushes first and then looks
//!   for sleepers (`work_arrived`, with a full fence on both sides), so
//!   either the sleeper sees the work or the producer sees the sleeper and
//!   unparks it. A parked thread uses no CPU; it wakes for work, for the
//!   earliest timer, or to stop.
//! - Work is stolen only by a thread that found its own queue and run-next
//!   slot empty, half a queue at a time (`steal_batch_and_pop`), so
//!   processes that talk keep running on one core. A busy thread looks at
//!   the injector (the host's wake-ups) every `INJECTOR_EVERY` slices, so
//!   those are never starved.
//! - `idle.committed` counts threads past their last check and asleep; all
//!   of them committed with the injector empty means nothing can run until a
//!   timer fires or the host acts. It changes only under `idle`'s lock, which
//!   the host holds while it decides the VM is idle.
//! - A thread holds the code's read guard only while it runs slices; it
//!   drops it before sleeping and whenever `pause` is set, so the host can
//!   take the write guard (load code, read every process) in bounded time.

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::sync::{Parker, Unparker};

use crate::data::value::{self, Pid};
use crate::runtime::scheduler::{lock, RunQueue, Scheduler, Shared};

/// How many slices a thread runs between looks at the injector when its own
/// queue keeps it busy (Go's figure).
const INJECTOR_EVERY: u32 = 61;

struct Idle {
    sleepers: Vec<usize>,
    committed: usize,
}

pub(crate) struct Pool {
    injector: Injector<Pid>,
    stealers: Vec<Stealer<Pid>>,
    unparkers: Vec<Unparker>,
    sleeping: AtomicUsize,
    idle: Mutex<Idle>,
    /// The host waits on this (with `idle`) for the VM to go idle or the
    /// main process to end.
    host: Condvar,
    pub pause: AtomicBool,
    shutdown: AtomicBool,
    /// The queues and parkers, until the threads start and take them.
    parts: Mutex<Vec<(Worker<Pid>, Parker)>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    pub fn new(size: usize) -> Pool {
        let parts: Vec<(Worker<Pid>, Parker)> = (0..size)
            .map(|_| (Worker::new_fifo(), Parker::new()))
            .collect();
        Pool {
            injector: Injector::new(),
            stealers: parts.iter().map(|(w, _)| w.stealer()).collect(),
            unparkers: parts.iter().map(|(_, p)| p.unparker().clone()).collect(),
            sleeping: AtomicUsize::new(0),
            idle: Mutex::new(Idle {
                sleepers: Vec::new(),
                committed: 0,
            }),
            host: Condvar::new(),
            pause: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            parts: Mutex::new(parts),
            threads: Mutex::new(Vec::new()),
        }
    }

    pub fn size(&self) -> usize {
        self.stealers.len()
    }

    /// Starts the threads (once), running processes with `executor`.
    pub fn start(shared: &Arc<Shared>, executor: Arc<dyn Executor>) {
        let Some(pool) = &shared.pool else {
            return;
        };
        let parts = std::mem::take(&mut *lock(&pool.parts));
        let mut threads = lock(&pool.threads);
        for (index, (worker, parker)) in parts.into_iter().enumerate() {
            let shared = shared.clone();
            let executor = executor.clone();
            let thread = std::thread::Builder::new()
                .name(format!("weft-scheduler-{index}"))
                // Deep values are walked iteratively; 8 MiB matches the main
                // thread for natives that are not.
                .stack_size(8 << 20)
                .spawn(move || thread_main(shared, index, worker, parker, executor));
            if let Ok(thread) = thread {
                threads.push(thread);
            }
        }
    }

    /// Stops and joins the threads.
    pub fn stop(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for unparker in &self.unparkers {
            unparker.unpark();
        }
        let threads = std::mem::take(&mut *lock(&self.threads));
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// A process became runnable from outside the threads (the host, a
    /// timer fired by the host).
    pub fn inject(&self, pid: Pid) {
        self.injector.push(pid);
        self.work_arrived();
    }

    /// Work was queued: wake a sleeping thread to take (or steal) it.
    pub fn work_arrived(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut idle = lock(&self.idle);
        if let Some(index) = idle.sleepers.pop() {
            self.sleeping.fetch_sub(1, Ordering::SeqCst);
            drop(idle);
            self.unparkers[index].unpark();
        }
    }

    /// Wakes the host if it waits in `run` (a process it monitors ended).
    pub fn notify_host(&self) {
        let _idle = lock(&self.idle);
        self.host.notify_all();
    }

    fn has_work(&self, shared: &Shared) -> bool {
        !self.injector.is_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
            || self.pause.load(Ordering::SeqCst)
            || self.shutdown.load(Ordering::SeqCst)
            || shared.timers.earliest() <= shared.now()
    }

    /// Sleeps until woken for work, the next timer, or shutdown.
    fn sleep(&self, shared: &Shared, index: usize, parker: &Parker) {
        {
            let mut idle = lock(&self.idle);
            idle.sleepers.push(index);
            self.sleeping.fetch_add(1, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        let mut idle = lock(&self.idle);
        let registered = idle.sleepers.contains(&index);
        if !registered || self.has_work(shared) {
            if registered {
                idle.sleepers.retain(|&i| i != index);
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
            }
            return;
        }
        idle.committed += 1;
        if idle.committed == self.size() {
            self.host.notify_all();
        }
        drop(idle);
        let earliest = shared.timers.earliest();
        if earliest == u64::MAX {
            parker.park();
        } else {
            parker.park_timeout(Duration::from_nanos(earliest.saturating_sub(shared.now())));
        }
        let mut idle = lock(&self.idle);
        idle.committed -= 1;
        if idle.sleepers.contains(&index) {
            idle.sleepers.retain(|&i| i != index);
            self.sleeping.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// One process from the injector, if any.
    fn take_injected(&self) -> Option<Pid> {
        loop {
            match self.injector.steal() {
                Steal::Success(pid) => return Some(pid),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    /// Takes work for an idle thread: the injector first, then half of
    /// another thread's queue.
    fn steal(&self, index: usize, worker: &Worker<Pid>) -> Option<Pid> {
        loop {
            let mut retry = false;
            match self.injector.steal_batch_and_pop(worker) {
                Steal::Success(pid) => return Some(pid),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            let n = self.stealers.len();
            for offset in 1..n {
                match self.stealers[(index + offset) % n].steal_batch_and_pop(worker) {
                    Steal::Success(pid) => return Some(pid),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// The host's wait in `Vm::run`: until a process the host monitors
    /// ends (`None`, as for a spent budget: the host looks), the VM
    /// goes idle (`Some(None)`: nothing runnable, no timer; `Some(Some(t))`:
    /// only timers), or `spent()` reaches `budget` (`None`).
    pub fn wait(
        &self,
        shared: &Shared,
        budget: u64,
        spent: impl Fn() -> u64,
    ) -> Option<Option<u64>> {
        let mut idle = lock(&self.idle);
        loop {
            if shared.host_news.load(Ordering::Acquire) {
                return None;
            }
            if idle.committed == self.size() && self.injector.is_empty() {
                return Some(shared.timers.next(shared));
            }
            if spent() >= budget {
                return None;
            }
            // The wait is woken by the events above; the timeout only bounds
            // how late a spent budget is noticed.
            idle = self
                .host
                .wait_timeout(idle, Duration::from_millis(2))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

/// What a pool thread runs its processes with: the interpreter, from the
/// layer above (the runtime does not depend on it).
pub(crate) trait Executor: Send + Sync {
    /// Runs a slice for each pid `next` gives, until it gives none, holding
    /// what slices need (the code's read guard) across them, and frees what
    /// each slice left to free.
    fn run_slices(
        &self,
        scheduler: &mut Scheduler,
        next: &mut dyn FnMut(&mut Scheduler) -> Option<Pid>,
    );
}

fn thread_main(
    shared: Arc<Shared>,
    index: usize,
    worker: Worker<Pid>,
    parker: Parker,
    executor: Arc<dyn Executor>,
) {
    let Some(pool) = shared.pool.as_ref() else {
        return;
    };
    let mut scheduler = Scheduler::new(shared.clone(), index + 1, RunQueue::Worker(worker));
    value::set_deferring(true);
    let mut ticks: u32 = 0;
    while !pool.shutdown.load(Ordering::Acquire) {
        executor.run_slices(&mut scheduler, &mut |scheduler| {
            if pool.pause.load(Ordering::Relaxed) || pool.shutdown.load(Ordering::Relaxed) {
                return None;
            }
            scheduler.fire_timers();
            ticks = ticks.wrapping_add(1);
            // Now and then the injector (the host's wake-ups) goes first, or
            // a thread kept busy by its own queue would never look there (Go
            // checks its global queue every 61 ticks).
            let injected = if ticks.is_multiple_of(INJECTOR_EVERY) {
                pool.take_injected()
            } else {
                None
            };
            injected
                .or_else(|| scheduler.next_local())
                .or_else(|| match &scheduler.run_queue {
                    RunQueue::Worker(worker) => pool.steal(index, worker),
                    _ => None,
                })
        });
        value::drain_deferred(usize::MAX);
        if pool.pause.load(Ordering::Relaxed) {
            // The host wants the write guard: give it a turn.
            std::thread::yield_now();
            continue;
        }
        if !pool.shutdown.load(Ordering::Relaxed) {
            pool.sleep(&shared, index, &parker);
        }
    }
    value::set_deferring(false);
    value::drain_deferred(usize::MAX);
}
