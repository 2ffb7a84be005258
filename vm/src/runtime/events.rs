//! What the VM reports to its host: runtime errors with their Weft call
//! stacks, the `Event`s a host collects, and the tickets of asynchronous
//! host calls.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use weft_compiler::{Diagnostic, SourceFile, Span};

use crate::data::atom::Atom;
use crate::data::lock;
use crate::data::value::{Pid, Value};
use crate::process::ctx::Waiter;
use crate::process::signal::SignalKind;
use crate::process::Handoff;
use crate::runtime::scheduler::{Scheduler, Shared};

/// A frame of a Weft call stack, for error reports.
#[derive(Clone, Debug)]
pub struct TraceFrame {
    /// The function, as Weft names it (`inner`, `list.map`).
    pub function: Arc<str>,
    /// The file it was loaded from (`source.name` is the name given to `load`).
    pub source: Arc<SourceFile>,
    /// The bytes of `source` that were running: the failing operation in the
    /// innermost frame, the pending call in the others.
    pub span: Span,
}

/// A runtime error (LANGUAGE.md §6): its kind (`badarith`, ...), message,
/// and the Weft call stack where it happened, innermost first.
///
/// The host sees one in an [`Event::Crash`] and in [`Error::Runtime`]
/// (from [`Vm::call`]).
#[derive(Clone, Debug)]
pub struct RuntimeError {
    /// What kind of error: `badarith`, `badarg`, `host`, `limit`, ... (`kind.name()`).
    pub kind: Atom,
    /// The message, in words.
    pub message: String,
    /// The Weft call stack, innermost frame first: at most 20 frames (the
    /// 16 innermost, then the 4 outermost), with `frames_omitted` between.
    pub trace: Vec<TraceFrame>,
    /// How many frames of a deep call stack the trace leaves out, between
    /// its 16th and 17th entries.
    pub frames_omitted: usize,
}

impl RuntimeError {
    pub(crate) fn new(kind: Atom, message: String, trace: Vec<TraceFrame>) -> RuntimeError {
        RuntimeError {
            kind,
            message,
            trace,
            frames_omitted: 0,
        }
    }

    /// The exit reason this error gives its process: `(:error, kind, message)`.
    ///
    /// ```
    /// use weft_vm::{Error, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("div.weft", "fn div(a, b) { a / b }").unwrap();
    /// let Err(Error::Runtime(error)) = vm.call("div", vec![Value::from(1), Value::from(0)]) else {
    ///     panic!("expected a runtime error");
    /// };
    /// assert_eq!(error.kind.name(), "badarith");
    /// assert_eq!(error.reason().to_string(), r#"(:error, :badarith, "division by zero")"#);
    /// ```
    pub fn reason(&self) -> Value {
        Value::error_reason(self.kind, &self.message)
    }

    /// The error as a diagnostic located at the failing span, with the call
    /// stack as its trace lines.
    ///
    /// With only `weft-vm` as a dependency, render it through
    /// [`Error::Compile`]'s `Display` (the renderer the `weft` command uses):
    ///
    /// ```
    /// use weft_vm::{Error, Event, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("oops.weft", "fn oops() { 1 / 0 }").unwrap();
    /// vm.spawn("oops", vec![]).unwrap();
    /// vm.run_until_idle();
    /// let Some(Event::Crash { pid, error }) = vm.take_events().pop() else {
    ///     panic!("expected a crash");
    /// };
    /// let report = Error::Compile(vec![error.to_diagnostic(pid)]).to_string();
    /// assert!(report.contains("crashed: :badarith: division by zero"));
    /// assert!(report.contains("in oops at oops.weft:1:13"));
    /// ```
    pub fn to_diagnostic(&self, pid: Pid) -> Diagnostic {
        let headline = format!(
            "process {pid} crashed: :{}: {}",
            self.kind.name(),
            self.message
        );
        let top = self.trace.first();
        let mut diagnostic = Diagnostic::error(headline, top.map(|f| f.span).unwrap_or_default())
            .with_label(format!(":{} {}", self.kind.name(), self.message));
        if let Some(top) = top {
            diagnostic = diagnostic.in_file(&top.source);
        }
        for (i, frame) in self.trace.iter().enumerate() {
            if i == 16 && self.frames_omitted > 0 {
                diagnostic
                    .trace
                    .push(format!("… {} more frames", self.frames_omitted));
            }
            let (line, column) = frame.source.line_col(frame.span.start);
            diagnostic.trace.push(format!(
                "in {} at {}:{line}:{column}",
                frame.function, frame.source.name
            ));
        }
        diagnostic
    }
}

/// Something the VM reports to its host.
///
/// Collect them with [`Vm::take_events`] (say, once per frame). A process
/// that ends normally is not an event.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// A process died of a runtime error (the others go on).
    ///
    /// `pid` is the process that died; `error` says what went wrong and where.
    /// Its exit reason, `error.reason()`, is `(:error, kind, message)`.
    Crash { pid: Pid, error: RuntimeError },
    /// A process ended with a reason other than `:normal` and without a
    /// runtime error of its own: `exit(reason)`, `kill`, a linked process's
    /// exit, or a VM limit (mailbox, heap).
    Exit { pid: Pid, reason: Value },
    /// A process called an asynchronous host function (see
    /// [`Vm::register_async`]) and waits for [`Vm::complete`] with `ticket`.
    HostCall {
        /// What to answer with: [`Vm::complete`], or a [`Completer`] on
        /// another thread.
        ticket: Ticket,
        /// The function's name (`"assets.load"`).
        name: String,
        /// The arguments, as the caller passed them (their number is the
        /// registered arity).
        args: Vec<Value>,
        /// The process waiting.
        caller: Pid,
    },
}

/// An asynchronous host call waiting for its answer (see
/// [`Vm::register_async`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub(crate) u64);

impl std::fmt::Display for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl Ticket {
    /// The ticket's number (unique within its VM).
    pub fn number(self) -> u64 {
        self.0
    }
}

impl Shared {
    /// Records a pending host call (`by_future`: a future will answer it).
    pub(crate) fn add_ticket(&self, ticket: Ticket, waiter: Waiter, by_future: bool) {
        if by_future {
            self.futures_pending.fetch_add(1, Ordering::AcqRel);
        }
        lock(&self.tickets).insert(ticket.0, (waiter, by_future));
    }

    /// Takes a pending host call out of the table (answered or cancelled).
    pub(crate) fn take_ticket(&self, ticket: u64) -> Option<Waiter> {
        let (waiter, by_future) = lock(&self.tickets).remove(&ticket)?;
        if by_future {
            self.futures_pending.fetch_sub(1, Ordering::AcqRel);
        }
        Some(waiter)
    }

    /// Answers ticket `ticket` from scheduler `by`: false if it is not (or
    /// no longer) waiting.
    pub(crate) fn complete(
        &self,
        by: &mut Scheduler,
        ticket: Ticket,
        result: Result<Value, String>,
    ) -> bool {
        let Some(waiter) = self.take_ticket(ticket.0) else {
            return false;
        };
        if !self.is_alive(waiter.pid) {
            return false;
        }
        let handoff = match result {
            Ok(value) => Handoff::Received { arm: 0, value },
            Err(message) => Handoff::Failed(Box::new(message)),
        };
        by.send_signal(
            waiter.pid,
            SignalKind::Handoff {
                token: waiter.token,
                handoff,
            },
        );
        true
    }
}

/// How a process ended: what `finish` is told, and what the host learns of
/// a process it monitors (the main process, a `Vm::call`).
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Its first function returned this value (exit reason `:normal`).
    Returned(Value),
    /// A runtime error it did not catch.
    Crashed(RuntimeError),
    /// `exit(reason)`, or an exit signal, or the VM killed it.
    Exited(Value),
}

impl Outcome {
    /// The exit reason links and monitors see.
    pub(crate) fn reason(&self) -> Value {
        match self {
            Outcome::Returned(_) => Value::Atom(Atom::NORMAL),
            Outcome::Crashed(error) => error.reason(),
            Outcome::Exited(reason) => reason.clone(),
        }
    }
}

/// Counters for `weft run --stats`.
///
/// Read them with [`Vm::stats`].
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Processes started since the VM was built.
    pub spawned: u64,
    /// Messages sent, by processes and by the host.
    pub messages: u64,
    /// Reductions spent by all processes.
    pub reductions: u64,
    /// The most processes alive at once.
    pub peak_live: u64,
}

/// What `run` left behind.
///
/// ```
/// use std::time::Duration;
/// use weft_vm::{RunStatus, Value, Vm};
///
/// let mut vm = Vm::new();
/// assert_eq!(vm.run(1_000), RunStatus::Idle); // nothing to do
/// vm.load("nap.weft", "fn nap(host) { sleep(20); host ! :awake }").unwrap();
/// vm.spawn("nap", vec![vm.host_pid().into()]).unwrap();
/// let RunStatus::Waiting { next_timer } = vm.run(1_000) else {
///     panic!("expected a pending timer");
/// };
/// assert!(next_timer <= Duration::from_millis(20));
/// std::thread::sleep(next_timer); // the VM never sleeps: the host decides
/// assert_eq!(vm.run(1_000), RunStatus::Idle);
/// assert_eq!(vm.recv(), Some(Value::atom("awake")));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunStatus {
    /// Nothing is runnable and no timer is pending.
    Idle,
    /// The budget ran out with work left.
    ///
    /// A process that never blocks (`loop {}`) keeps the VM here: every `run`
    /// spends its whole budget and returns.
    BudgetSpent,
    /// Nothing is runnable now; a timer is due after this long.
    ///
    /// `next_timer` is the time until the earliest `sleep`, `receive ... after`
    /// or `send_after` is due: call `run` again then (or sooner, after a `send`).
    /// Timers follow the real monotonic clock, not frames.
    Waiting { next_timer: Duration },
}
