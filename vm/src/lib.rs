//! The Weft virtual machine.
//!
//! A `Vm` holds loaded code and any number of green processes, and runs
//! them on the calling thread when asked: `run(budget)` spends at most that
//! many reductions and returns, so a host can step it from a game loop.
//! The VM does no I/O of its own: `print` goes to the output sink the host
//! gives it, the `io` module exists only if the host allows it, crash
//! reports are returned as `Event`s, and the VM never sleeps — it tells the
//! host when its next timer is due.

mod atom;
mod channel;
mod code;
mod host;
mod interp;
mod natives;
mod ops;
mod process;
mod resource;
mod scheduler;
mod value;

use std::sync::Arc;
use std::time::Duration;

use weft_compiler::bytecode::Instr;
pub use weft_compiler::{Diagnostic, SourceFile, Span};

pub use crate::atom::Atom;
pub use crate::code::HostFn;
pub use crate::host::{Error, ProcessInfo};
pub use crate::value::{Pid, Value};

use crate::code::{Code, Global, LoadedProto};
use crate::interp::SliceEnd;
use crate::scheduler::Scheduler;

/// Reductions a process may spend before it goes to the back of the run
/// queue (LANGUAGE.md §8). 2000 is Erlang's figure (`CONTEXT_REDS` was
/// 2000 for years): long enough that switching costs little next to the
/// work, short enough (well under a millisecond of interpretation) that a
/// busy process cannot hold up a timer or the others noticeably.
pub const DEFAULT_REDUCTIONS: u32 = 2000;

/// Limits a host can set on one VM.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Reductions per slice (see `DEFAULT_REDUCTIONS`).
    pub reductions: u32,
    /// The most live processes; `spawn` past it is the error `:limit`.
    pub max_processes: usize,
    /// The most messages a mailbox holds; a delivery past it kills the
    /// receiving process with `(:error, :limit, ...)`.
    pub max_mailbox: usize,
    /// The most bytes of registers one process may use (its call stack);
    /// past it the process dies with `(:error, :limit, ...)`. Values shared
    /// by reference are not charged to any one process.
    pub max_heap: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            reductions: DEFAULT_REDUCTIONS,
            max_processes: 10_000_000,
            max_mailbox: usize::MAX,
            max_heap: usize::MAX,
        }
    }
}

/// Counters for `weft run --stats`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub spawned: u64,
    pub messages: u64,
    pub reductions: u64,
    pub peak_live: u64,
}

/// A frame of a Weft call stack, for error reports.
#[derive(Clone, Debug)]
pub struct TraceFrame {
    pub function: Arc<str>,
    pub source: Arc<SourceFile>,
    pub span: Span,
}

/// A runtime error (LANGUAGE.md §6): its kind (`badarith`, ...), message,
/// and the Weft call stack where it happened, innermost first.
#[derive(Clone, Debug)]
pub struct RuntimeError {
    pub kind: Atom,
    pub message: String,
    pub trace: Vec<TraceFrame>,
}

impl RuntimeError {
    pub(crate) fn new(kind: Atom, message: String, trace: Vec<TraceFrame>) -> RuntimeError {
        RuntimeError { kind, message, trace }
    }

    /// The exit reason this error gives its process: `(:error, kind, message)`.
    pub fn reason(&self) -> Value {
        Value::error_reason(self.kind, &self.message)
    }

    /// The error as a diagnostic located at the failing span, with the call
    /// stack as its trace lines.
    pub fn to_diagnostic(&self, pid: Pid) -> Diagnostic {
        let headline = format!("process {pid} crashed: :{}: {}", self.kind.name(), self.message);
        let top = self.trace.first();
        let mut diagnostic = Diagnostic::error(headline, top.map(|f| f.span).unwrap_or_default())
            .with_label(format!(":{} {}", self.kind.name(), self.message));
        if let Some(top) = top {
            diagnostic = diagnostic.in_file(&top.source);
        }
        for frame in &self.trace {
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
#[derive(Clone, Debug)]
pub enum Event {
    /// A process died of a runtime error (the others go on).
    Crash { pid: Pid, error: RuntimeError },
}

/// What `run` left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Nothing is runnable and no timer is pending.
    Idle,
    /// The budget ran out with work left.
    BudgetSpent,
    /// Nothing is runnable now; a timer is due after this long.
    Waiting { next_timer: Duration },
}

/// Builds a `Vm` with non-default settings.
pub struct VmBuilder {
    allow_io: bool,
    limits: Limits,
    seed: u64,
    output: Option<Box<dyn FnMut(&str) + Send>>,
}

impl VmBuilder {
    /// Lets scripts use the `io` module (files). Off by default.
    pub fn allow_io(mut self, allow: bool) -> VmBuilder {
        self.allow_io = allow;
        self
    }

    /// Reductions per slice (LANGUAGE.md §8).
    pub fn reductions(mut self, reductions: u32) -> VmBuilder {
        self.limits.reductions = reductions.max(1);
        self
    }

    pub fn max_processes(mut self, max: usize) -> VmBuilder {
        self.limits.max_processes = max;
        self
    }

    pub fn max_mailbox(mut self, max: usize) -> VmBuilder {
        self.limits.max_mailbox = max.max(1);
        self
    }

    /// The most bytes of registers (call stack) per process.
    pub fn max_heap(mut self, bytes: usize) -> VmBuilder {
        self.limits.max_heap = bytes.max(1024);
        self
    }

    /// The seed of the `random` module.
    pub fn seed(mut self, seed: u64) -> VmBuilder {
        self.seed = seed;
        self
    }

    /// Where `print` writes. The default is the process's standard output.
    pub fn output(mut self, output: impl FnMut(&str) + Send + 'static) -> VmBuilder {
        self.output = Some(Box::new(output));
        self
    }

    pub fn build(self) -> Vm {
        let output = self.output.unwrap_or_else(|| {
            Box::new(|text: &str| {
                use std::io::Write;
                let _ = std::io::stdout().write_all(text.as_bytes());
            })
        });
        let mut scheduler = Scheduler::new(self.limits.clone(), output);
        scheduler.rng = natives::random::seed_state(self.seed);
        let mut vm = Vm {
            code: Code::default(),
            scheduler,
            allow_io: self.allow_io,
        };
        vm.install_library();
        vm
    }
}

/// A Weft virtual machine.
pub struct Vm {
    code: Code,
    scheduler: Scheduler,
    allow_io: bool,
}

impl Default for Vm {
    fn default() -> Vm {
        Vm::new()
    }
}

impl Vm {
    /// A VM with the standard library and no `io`.
    pub fn new() -> Vm {
        Vm::builder().build()
    }

    pub fn builder() -> VmBuilder {
        VmBuilder {
            allow_io: false,
            limits: Limits::default(),
            seed: 0,
            output: None,
        }
    }

    fn install_library(&mut self) {
        self.code.sources.push(SourceFile::new("<builtin>", ""));
        for native in natives::all(self.allow_io) {
            self.code.define(native.name, Global::Native(native));
        }
        // Trampolines let a process start with a native (`spawn print(x)`).
        for argc in 0..=8u8 {
            let index = self.code.protos.len() as u32;
            self.code.protos.push(LoadedProto {
                name: Arc::from("<spawn>"),
                arity: 0,
                captures: 0,
                self_slot: false,
                registers: argc + 1,
                code: vec![Instr::Call { base: 0, argc }, Instr::Return { src: 0 }].into(),
                spans: vec![Span::default(); 2].into(),
                constants: Box::new([]),
                selects: Box::new([]),
                source: 0,
            });
            self.scheduler.trampolines.push(index);
        }
        for (module, text) in weft_stdlib::MODULES {
            let source = SourceFile::new(format!("<stdlib>/{module}.weft"), *text);
            let environment = weft_compiler::Environment::new(self.code.environment());
            match weft_compiler::compile(source, module, &environment, &mut weft_compiler::NoImports) {
                Ok(modules) => {
                    self.code.load(modules);
                }
                Err(diagnostics) => {
                    // The standard library is compiled into the binary and
                    // tested; failing here is a bug in Weft, not in a script.
                    panic!(
                        "the standard library module {module} does not compile:\n{}",
                        weft_compiler::render(&diagnostics, false)
                    );
                }
            }
        }
    }

    /// The names a program may call beyond its own functions.
    pub fn environment(&self) -> weft_compiler::Environment {
        weft_compiler::Environment::new(self.code.environment())
    }

    /// Compiles `source` (and its imports, read through `loader`) as the
    /// module `main` and loads it. Returns the top-level code's entry point
    /// for `spawn_main`.
    pub fn load_main(
        &mut self,
        source: Arc<SourceFile>,
        loader: &mut dyn weft_compiler::Loader,
    ) -> Result<EntryPoint, Vec<Diagnostic>> {
        let environment = self.environment();
        let modules = weft_compiler::compile(source, "main", &environment, loader)?;
        Ok(EntryPoint(self.code.load(modules)))
    }

    /// Starts the main process (`<0.1>` for the first) running `entry`.
    pub fn spawn_main(&mut self, entry: EntryPoint) -> Pid {
        let registers = self.code.protos[entry.0 as usize].registers as usize;
        let pid = self.scheduler.start_process(entry.0, vec![Value::Nil; 1 + registers]);
        self.scheduler.main = Some(pid);
        self.scheduler.main_exit = None;
        pid
    }

    /// The arguments `args()` returns.
    pub fn set_args(&mut self, args: Vec<String>) {
        self.scheduler.args = args;
    }

    /// The main process's exit reason, once it has ended.
    pub fn main_exit(&self) -> Option<&Value> {
        self.scheduler.main_exit.as_ref()
    }

    /// Crash reports and other events since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.scheduler.events)
    }

    pub fn stats(&self) -> Stats {
        self.scheduler.stats.clone()
    }

    /// Every live process and what it waits on (deadlock reports).
    pub fn blocked_processes(&self) -> Vec<(Pid, String)> {
        self.scheduler.blocked_processes()
    }

    /// Stops every process.
    pub fn stop_all(&mut self) {
        self.scheduler.stop_all();
    }

    /// Runs processes for at most `budget` reductions. Returns early when
    /// nothing is runnable, or when the main process (if any) has ended.
    pub fn run(&mut self, budget: u64) -> RunStatus {
        let mut left = budget;
        loop {
            self.scheduler.fire_timers();
            if self.scheduler.main.is_some() && self.scheduler.main_exit.is_some() {
                return RunStatus::Idle;
            }
            let Some(pid) = self.scheduler.run_queue.pop_front() else {
                return match self.scheduler.next_timer() {
                    Some(deadline) => RunStatus::Waiting {
                        next_timer: Duration::from_nanos(deadline.saturating_sub(self.scheduler.now())),
                    },
                    None => RunStatus::Idle,
                };
            };
            if left == 0 {
                self.scheduler.run_queue.push_front(pid);
                return RunStatus::BudgetSpent;
            }
            let slice = (self.scheduler.limits.reductions as u64).min(left) as u32;
            let spent = self.run_slice(pid, slice);
            left = left.saturating_sub(spent.max(1));
        }
    }

    /// Runs one process for one slice; returns the reductions it spent.
    fn run_slice(&mut self, pid: Pid, budget: u32) -> u64 {
        let Some(mut process) = self.scheduler.take(pid) else {
            return 0;
        };
        let before = process.reductions;
        self.scheduler.current = Some(pid);
        let end = interp::run(&self.code, &mut self.scheduler, &mut process, budget);
        self.scheduler.current = None;
        let spent = process.reductions - before;
        self.scheduler.stats.reductions += spent;
        match end {
            SliceEnd::Yielded => {
                process.status = process::Status::Runnable;
                self.scheduler.settle(process);
            }
            SliceEnd::Waiting => {
                let top = process.frames.last().map_or(0, |f| {
                    f.base as usize + self.code.protos[f.proto as usize].registers as usize
                });
                process.trim_stack(top);
                self.scheduler.settle(process);
            }
            SliceEnd::Returned => {
                if let Some(outcome @ None) = self.scheduler.watched.get_mut(&pid) {
                    let value = process.stack.first().cloned().unwrap_or_default();
                    *outcome = Some(host::Outcome::Returned(value));
                }
                self.scheduler.finish(process, Value::Atom(Atom::NORMAL))
            }
            SliceEnd::Exited(reason) => self.scheduler.finish(process, reason),
            SliceEnd::Failed(error) => {
                let reason = error.reason();
                if let Some(outcome @ None) = self.scheduler.watched.get_mut(&pid) {
                    *outcome = Some(host::Outcome::Crashed(error.clone()));
                }
                self.scheduler.events.push(Event::Crash { pid, error });
                self.scheduler.finish(process, reason);
            }
        }
        spent
    }
}

/// The entry point of loaded top-level code.
#[derive(Clone, Copy, Debug)]
pub struct EntryPoint(pub(crate) u32);
