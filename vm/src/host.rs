//! The host's side of the VM: loading code, host functions, starting
//! processes, messages both ways, and calls that run to completion.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use weft_compiler::{Diagnostic, Module, SourceFile};

use crate::atom::Atom;
use crate::code::Global;
use crate::process::Status;
use crate::scheduler::describe_wait;
use crate::value::Value;
use crate::{EntryPoint, Pid, RunStatus, RuntimeError, Vm};

/// Why a host request failed.
#[derive(Debug)]
pub enum Error {
    /// The source did not compile; `Display` shows the diagnostics.
    Compile(Vec<Diagnostic>),
    /// No function of that name is loaded.
    NoFunction(String),
    /// The function's process died of a runtime error.
    Runtime(RuntimeError),
    /// The function's process ended with this reason without returning.
    Exited(Value),
    /// A limit of the VM stopped the request.
    Limit(String),
    /// The call can never finish: every process is blocked.
    Deadlock,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(diagnostics) => f.write_str(&weft_compiler::render(diagnostics, false)),
            Error::NoFunction(name) => write!(f, "no function `{name}` is loaded"),
            Error::Runtime(error) => write!(f, ":{}: {}", error.kind.name(), error.message),
            Error::Exited(reason) => write!(f, "the process exited: {}", reason.inspect()),
            Error::Limit(message) => f.write_str(message),
            Error::Deadlock => f.write_str("the call can never finish: every process is blocked"),
        }
    }
}

impl std::error::Error for Error {}

/// How a process ended, kept for `call`.
#[derive(Debug)]
pub(crate) enum Outcome {
    Returned(Value),
    Crashed(RuntimeError),
    Exited(Value),
}

/// One row of the process table (the REPL's `:ps`).
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    pub pid: Pid,
    pub name: Option<String>,
    /// `runnable` or `waiting`.
    pub status: &'static str,
    /// What it waits on, in words.
    pub waiting_on: String,
    pub reductions: u64,
    pub mailbox: usize,
    pub memory: usize,
}

struct NoLoader;

impl weft_compiler::Loader for NoLoader {
    fn load(&mut self, _: &SourceFile, _: &str) -> Result<weft_compiler::LoadedFile, String> {
        Err("this host does not allow imports".to_string())
    }
}

impl Vm {
    /// Registers a host function callable from Weft by `name` (`"twice"`,
    /// or `"game.twice"` for `game.twice(x)`). `arity` is checked on each
    /// call. An `Err(message)` or a panic becomes the runtime error
    /// `(:error, :host, message)` in the calling process only.
    ///
    /// ```
    /// use weft_vm::{Value, Vm};
    /// let mut vm = Vm::new();
    /// vm.register_fn("twice", 1, |args: &[Value]| -> Result<Value, String> {
    ///     Ok(Value::from(args[0].as_int().ok_or("expected an int")? * 2))
    /// });
    /// vm.load("demo.weft", "fn go() { twice(21) }").unwrap();
    /// assert_eq!(vm.call("go", vec![]).unwrap(), Value::from(42));
    /// ```
    pub fn register_fn<F>(&mut self, name: &str, arity: u8, function: F)
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.code.define(
            name,
            Global::Host {
                function: Arc::new(function),
                arity: Some(arity),
            },
        );
    }

    /// Compiles `source` and defines its top-level functions (replacing any
    /// of the same name: running processes call the new version next time).
    /// The file's top-level statements, if any, run in a new process.
    pub fn load(&mut self, name: &str, source: &str) -> Result<(), Error> {
        let file = SourceFile::new(name, source);
        let environment = self.session_environment();
        let modules = weft_compiler::compile(file, "main", &environment, &mut NoLoader).map_err(Error::Compile)?;
        let has_statements = modules.last().is_some_and(|m| {
            m.protos.first().is_some_and(|p| p.code.len() > 2)
        });
        let entry = self.load_modules(modules);
        if has_statements {
            let registers = self.code.protos[entry.0 as usize].registers as usize;
            self.scheduler.start_process(entry.0, vec![Value::Nil; 1 + registers]);
        }
        Ok(())
    }

    /// Loads compiled modules (dependencies first); returns the last one's
    /// top-level code.
    pub fn load_modules(&mut self, modules: Vec<Module>) -> EntryPoint {
        EntryPoint(self.code.load(modules))
    }

    /// The names a host-loaded file or REPL entry may use: the library and
    /// builtins, plus the functions already loaded into `main`.
    pub fn session_environment(&self) -> weft_compiler::Environment {
        let mut environment = self.environment();
        environment.module_functions = self
            .code
            .global_index
            .iter()
            .filter(|(name, slot)| {
                name.starts_with("main.") && !matches!(self.code.globals[**slot as usize], Global::Undefined)
            })
            .map(|(name, _)| name["main.".len()..].to_string())
            .collect();
        environment
    }

    /// The function value of loaded top-level code (a REPL entry).
    pub fn entry_function(&self, entry: EntryPoint) -> Value {
        let proto = &self.code.protos[entry.0 as usize];
        Value::Fn(Arc::new(crate::value::Function {
            name: proto.name.clone(),
            arity: Some(proto.arity),
            kind: crate::value::FnKind::Weft {
                proto: entry.0,
                captures: Box::new([]),
            },
        }))
    }

    /// Starts a process running the loaded top-level function `name`.
    pub fn spawn(&mut self, name: &str, args: Vec<Value>) -> Result<Pid, Error> {
        let function = self.function(name)?;
        self.spawn_value(&function, args)
    }

    /// Starts a process calling a function value.
    pub fn spawn_value(&mut self, function: &Value, args: Vec<Value>) -> Result<Pid, Error> {
        self.scheduler
            .spawn_value(&self.code, function, args, None)
            .map_err(|(kind, message)| {
                if kind == Atom::LIMIT {
                    Error::Limit(message)
                } else {
                    Error::NoFunction(message)
                }
            })
    }

    fn function(&self, name: &str) -> Result<Value, Error> {
        let qualified = if name.contains('.') { name.to_string() } else { format!("main.{name}") };
        for candidate in [qualified.as_str(), name] {
            if let Some(&slot) = self.code.global_index.get(candidate) {
                if !matches!(self.code.globals[slot as usize], Global::Undefined) {
                    return Ok(crate::interp::function_value(&self.code, slot));
                }
            }
        }
        Err(Error::NoFunction(name.to_string()))
    }

    /// Calls the loaded function `name` in a new process and runs the VM
    /// until it returns (other processes run meanwhile; timers are waited
    /// for). Returns its value, or how it failed.
    pub fn call(&mut self, name: &str, args: Vec<Value>) -> Result<Value, Error> {
        let function = self.function(name)?;
        let pid = self.spawn_value(&function, args)?;
        self.scheduler.watched.insert(pid, None);
        loop {
            if let Some(Some(_)) = self.scheduler.watched.get(&pid) {
                break;
            }
            match self.run(100_000) {
                RunStatus::BudgetSpent => {}
                RunStatus::Waiting { next_timer } => {
                    if !self.scheduler.watched.get(&pid).is_some_and(|o| o.is_some()) {
                        std::thread::sleep(next_timer.min(Duration::from_millis(50)));
                    }
                }
                RunStatus::Idle => {
                    if !self.scheduler.watched.get(&pid).is_some_and(|o| o.is_some()) {
                        self.scheduler.watched.remove(&pid);
                        return Err(Error::Deadlock);
                    }
                }
            }
        }
        match self.scheduler.watched.remove(&pid).flatten() {
            Some(Outcome::Returned(value)) => Ok(value),
            Some(Outcome::Crashed(error)) => Err(Error::Runtime(error)),
            Some(Outcome::Exited(reason)) => Err(Error::Exited(reason)),
            None => Err(Error::Deadlock),
        }
    }

    /// Runs until nothing is runnable (timers may remain).
    pub fn run_until_idle(&mut self) -> RunStatus {
        loop {
            match self.run(1_000_000) {
                RunStatus::BudgetSpent => continue,
                other => return other,
            }
        }
    }

    /// The host's own pid: Weft code sends to it like to any process, and
    /// the host reads those messages with `recv`.
    pub fn host_pid(&self) -> Pid {
        self.scheduler.host_pid
    }

    /// Sends a message to a process (dropped if it is dead).
    pub fn send(&mut self, pid: Pid, message: Value) {
        self.scheduler.stats.messages += 1;
        self.scheduler.deliver(pid, message);
    }

    /// The oldest message a process sent to `host_pid()`, if any.
    pub fn recv(&mut self) -> Option<Value> {
        self.scheduler.host_inbox.pop_front()
    }

    /// The live process shown as `<0.N>`, if any.
    pub fn pid_by_serial(&self, serial: u32) -> Option<Pid> {
        self.scheduler.pids().into_iter().find(|p| p.serial() == serial)
    }

    /// Is the process alive?
    pub fn is_alive(&self, pid: Pid) -> bool {
        self.scheduler.is_alive(pid)
    }

    /// Kills a process (`kill(pid)` from the host).
    pub fn kill(&mut self, pid: Pid) {
        let host = self.scheduler.host_pid;
        self.scheduler.signal(pid, host, Value::Atom(Atom::KILL), true, false);
    }

    /// Every live process, by pid.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        self.scheduler
            .pids()
            .into_iter()
            .filter_map(|pid| {
                let process = self.scheduler.get(pid)?;
                Some(ProcessInfo {
                    pid,
                    name: self.scheduler.name_of(pid).map(|a| a.name().to_string()),
                    status: match process.status {
                        Status::Runnable => "runnable",
                        Status::Waiting(_) => "waiting",
                    },
                    waiting_on: describe_wait(&process.status),
                    reductions: process.reductions,
                    mailbox: process.mailbox.len(),
                    memory: process.memory(),
                })
            })
            .collect()
    }
}
