//! The one drive loop: how a host that has nothing else to do runs a VM —
//! the `weft` command, both loops of its REPL, `Vm::call`, and any
//! embedding host that is not a game loop.
//!
//! Invariants:
//! - This is the only place that decides, when nothing is runnable,
//!   between waiting for a timer, waiting for a wake-up from outside the
//!   schedulers (a node's connections, a socket, a future answering a host
//!   call, a `Waker`), and reporting that nothing can ever run again.
//! - The host's `step` runs after every chunk of work and before every
//!   wait, so what it watches for (a process it monitors ending, a request
//!   from its user) is seen within one chunk or one wake-up.
//! - A wait never outlasts its reason: a timer's wait ends at the timer, an
//!   outside wake-up ends any wait (`Waker::wake`, `External::notify`).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use crate::host::vm::Vm;
use crate::runtime::events::RunStatus;
use crate::runtime::scheduler::Shared;

/// Reductions per `run` inside `drive`: large enough that the loop's own
/// work (a `step`, an events check) is noise, small enough that a `step`
/// watching for a request answers within a few milliseconds.
const DRIVE_CHUNK: u64 = 20_000;

/// How long an idle VM that something outside may still wake (see
/// `Vm::answer_may_come`) waits before it looks again, for the sources
/// that cannot notify it.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// How [`Vm::drive`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driven {
    /// The host's `step` said to stop.
    Stopped,
    /// Every process is blocked, no timer is pending and nothing outside
    /// the VM can wake one: a deadlock for a program, nothing to do until
    /// the user types for a REPL.
    Idle,
}

/// Wakes a host waiting in [`Vm::drive`] (or [`Vm::wait_for_work`]) from
/// another thread: a REPL's input thread calls it after queueing a line.
#[derive(Clone)]
pub struct Waker {
    shared: Arc<Shared>,
}

impl Waker {
    pub fn wake(&self) {
        self.shared.external.notify();
    }
}

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waker")
    }
}

impl Vm {
    /// Runs the VM until `step` says to stop, or nothing can ever run
    /// again. `step` is called before the first chunk of work, after each
    /// one, and before every wait: it takes events, flushes output, looks
    /// for what its host waits for.
    ///
    /// Between chunks it waits rather than spins: for the next timer, or
    /// for a wake-up from outside (the network, a future, a [`Waker`]).
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use weft_vm::{Driven, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("nap.weft", "fn nap(host) { sleep(5)\n host ! :woke }").unwrap();
    /// vm.spawn("nap", vec![vm.host_pid().into()]).unwrap();
    /// let mut seen = None;
    /// let driven = vm.drive(|vm| match vm.recv() {
    ///     Some(message) => { seen = Some(message); ControlFlow::Break(()) }
    ///     None => ControlFlow::Continue(()),
    /// });
    /// assert_eq!((driven, seen), (Driven::Stopped, Some(Value::atom("woke"))));
    /// // Nothing is left to run, and nothing can come: the VM is idle.
    /// assert_eq!(vm.drive(|_| ControlFlow::Continue(())), Driven::Idle);
    /// ```
    pub fn drive(&mut self, mut step: impl FnMut(&mut Vm) -> ControlFlow<()>) -> Driven {
        if step(self).is_break() {
            return Driven::Stopped;
        }
        loop {
            let status = self.run(DRIVE_CHUNK);
            if step(self).is_break() {
                return Driven::Stopped;
            }
            match status {
                RunStatus::BudgetSpent => {}
                RunStatus::Waiting { next_timer } => self.wait_for_work(next_timer),
                RunStatus::Idle if self.answer_may_come() => self.wait_for_work(IDLE_POLL),
                RunStatus::Idle => return Driven::Idle,
            }
        }
    }

    /// A handle another thread uses to wake this VM's host from
    /// [`Vm::drive`] or [`Vm::wait_for_work`].
    pub fn waker(&self) -> Waker {
        Waker {
            shared: self.shared.clone(),
        }
    }
}
