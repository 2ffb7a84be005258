//! The host's side of the VM: loading code, host functions, starting
//! processes, messages both ways, and calls that run to completion.

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use weft_compiler::{Diagnostic, Module, SourceFile};

use crate::data::atom::Atom;
use crate::data::value::Pid;
use crate::data::value::Value;
use crate::host::drive::Driven;
use crate::host::vm::{EntryPoint, Vm};
use crate::interp::code::Global;
use crate::process::signal::SignalKind;
use crate::process::Status;
use crate::process::Watcher;
use crate::runtime::events::{Outcome, RunStatus, RuntimeError};
use crate::runtime::scheduler::HOST_MONITOR;
use crate::runtime::scheduler::{describe_wait, lock};

/// Why a host request failed.
///
/// Returned by [`Vm::load`], [`Vm::spawn`] and [`Vm::call`]. `Display` gives
/// a message for each; for [`Error::Compile`] it renders the diagnostics
/// with the source line, the span underlined and a hint where one applies.
///
/// ```
/// use weft_vm::{Error, Vm};
///
/// let mut vm = Vm::new();
/// let error = vm.load("typo.weft", "fn size(xs) { lenght(xs) }").unwrap_err();
/// assert!(matches!(error, Error::Compile(_)));
/// let text = error.to_string();
/// assert!(text.contains("typo.weft:1") && text.contains("lenght"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The source did not compile; `Display` shows the diagnostics.
    Compile(Vec<Diagnostic>),
    /// No function of that name is loaded.
    ///
    /// The string is the name asked for.
    NoFunction(String),
    /// The function's process died of a runtime error.
    ///
    /// The error is also reported as an [`crate::Event::Crash`].
    Runtime(RuntimeError),
    /// The function's process ended with this reason without returning.
    Exited(Value),
    /// A limit of the VM stopped the request.
    ///
    /// From `spawn` or `call` past [`crate::VmBuilder::max_processes`].
    Limit(String),
    /// The call can never finish: every process is blocked.
    ///
    /// From [`Vm::call`] when the called process waits for something that
    /// cannot come, such as a message from the host (which is inside `call`)
    /// or the answer to an asynchronous host call.
    Deadlock,
    /// Modules given to
    /// [`Vm::load_modules`] failed the
    /// bytecode verifier (say, a module built or changed by hand); nothing
    /// of them was loaded.
    Invalid(weft_compiler::VerifyError),
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
            Error::Invalid(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Error {}

/// One row of the process table (the REPL's `:ps`).
///
/// From [`Vm::processes`].
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    /// The process.
    pub pid: Pid,
    /// The name it is registered under (`register(:name, pid)`), without the colon.
    pub name: Option<String>,
    /// The function it started in, as `name/arity` (Erlang's initial call;
    /// `fn/1` for an anonymous function, `main` for a script's top level).
    pub initial_call: String,
    /// `runnable` or `waiting`.
    pub status: &'static str,
    /// What it waits on, in words.
    pub waiting_on: String,
    /// Reductions it has spent since it started.
    pub reductions: u64,
    /// Messages waiting in its mailbox.
    pub mailbox: usize,
    /// Bytes of its own structures: registers, call frames and mailbox slots.
    /// Data shared by reference (strings, lists, maps) is not counted.
    pub memory: usize,
}

struct NoLoader;

impl weft_compiler::Loader for NoLoader {
    fn load(&mut self, _: &SourceFile, _: &str) -> Result<weft_compiler::LoadedFile, String> {
        Err("this host does not allow imports".to_string())
    }
}

impl Vm {
    /// Compiles `source` and defines its top-level functions (replacing any
    /// of the same name: running processes call the new version next time).
    /// The file's top-level statements, if any, run in a new process.
    ///
    /// `name` is the file name diagnostics and crash reports show. All files
    /// loaded this way share one namespace: a later file may call the functions
    /// of earlier ones, and defining a function again is hot reload — a process
    /// running the old version finishes its current call, and its next call by
    /// name runs the new one. A file that does not compile returns
    /// [`Error::Compile`] and changes nothing. `import` is not available
    /// through `load`. Top-level statements start a process but do not run
    /// until the VM runs.
    ///
    /// ```
    /// use weft_vm::{Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("server.weft", r#"
    ///     fn version() { 1 }
    ///     fn serve(host) { receive { :version => host ! version() }; serve(host) }
    /// "#).unwrap();
    /// let server = vm.spawn("serve", vec![vm.host_pid().into()]).unwrap();
    /// vm.send(server, Value::atom("version"));
    /// vm.run_until_idle();
    /// assert_eq!(vm.recv(), Some(Value::from(1)));
    ///
    /// // Hot reload: the running server calls the new `version` next time.
    /// vm.load("patch.weft", "fn version() { 2 }").unwrap();
    /// vm.send(server, Value::atom("version"));
    /// vm.run_until_idle();
    /// assert_eq!(vm.recv(), Some(Value::from(2)));
    ///
    /// // A file that does not compile changes nothing.
    /// let error = vm.load("broken.weft", "fn version() { 3 + }").unwrap_err();
    /// assert!(error.to_string().contains("broken.weft"));
    /// ```
    pub fn load(&mut self, name: &str, source: &str) -> Result<(), Error> {
        let file = SourceFile::new(name, source);
        let environment = self.session_environment();
        let modules = weft_compiler::compile(file, "main", &environment, &mut NoLoader)
            .map_err(Error::Compile)?;
        drop(environment);
        let has_statements = modules
            .last()
            .is_some_and(|m| m.protos.first().is_some_and(|p| p.code.len() > 2));
        let entry = self.load_modules(modules)?;
        if has_statements {
            let registers = self.code().protos[entry.0 as usize].registers as usize;
            self.scheduler
                .start_process(entry.0, vec![Value::Nil; 1 + registers], Watcher::Nobody)
                .map_err(|(_, message)| Error::Limit(message))?;
        }
        Ok(())
    }

    /// Verifies and loads compiled modules (dependencies first); returns the
    /// last one's top-level code. A module that fails the verifier (bad
    /// register, jump or index operands) is [`Error::Invalid`], and nothing
    /// is loaded: the VM runs only bytecode it has checked.
    ///
    /// For the `weft` command and REPL, which compile with `weft-compiler`
    /// themselves, and for hosts that build or store bytecode:
    ///
    /// ```
    /// use weft_compiler::{compile, NoImports, SourceFile};
    /// use weft_vm::{Error, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// // Compiled elsewhere (at build time, say) against the names this VM offers.
    /// let source = SourceFile::new("math.weft", "fn add(a, b) { a + b }");
    /// let modules = compile(source, "main", &vm.environment(), &mut NoImports).map_err(Error::Compile)?;
    /// let mut broken = modules.clone();
    /// vm.load_modules(modules)?;
    /// assert_eq!(vm.call("add", vec![Value::from(2), Value::from(3)])?, Value::from(5));
    ///
    /// // A module changed by hand fails the verifier, and nothing of it is loaded.
    /// broken[0].protos[1].registers = 1; // `add` needs two registers for its arguments
    /// let Err(Error::Invalid(error)) = vm.load_modules(broken) else { panic!("expected Error::Invalid") };
    /// assert_eq!(error.to_string(),
    ///     "invalid bytecode in module `main`, function 1: 2 parameters and captures need more than its 1 registers");
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    pub fn load_modules(&mut self, modules: Vec<Module>) -> Result<EntryPoint, Error> {
        let mut code = self.code_mut();
        Vm::load_library_for(&mut code, &modules);
        code.load(modules).map(EntryPoint).map_err(Error::Invalid)
    }

    /// The names a host-loaded file or REPL entry may use: the library and
    /// builtins, plus the functions already loaded into `main`.
    ///
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    pub fn session_environment(&self) -> weft_compiler::Environment {
        let mut environment = self.environment();
        let code = self.code();
        environment.module_functions = code
            .global_index
            .iter()
            .filter(|(name, slot)| {
                name.starts_with("main.")
                    && !matches!(code.globals[**slot as usize], Global::Undefined)
            })
            .map(|(name, _)| name["main.".len()..].to_string())
            .collect();
        environment.imports = code.main_imports.clone();
        environment
    }

    /// The function value of loaded top-level code (a REPL entry).
    ///
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    pub fn entry_function(&self, entry: EntryPoint) -> Value {
        let code = self.code();
        let proto = &code.protos[entry.0 as usize];
        Value::Fn(Arc::new(crate::data::value::Function {
            name: proto.name.clone(),
            arity: Some(proto.arity),
            kind: crate::data::value::FnKind::Weft {
                proto: entry.0,
                captures: Box::new([]),
            },
        }))
    }

    /// Starts a process running the loaded top-level function `name`.
    ///
    /// `name` is a function loaded with [`Vm::load`] (`"npc"`), a library or
    /// host function (`"list.sum"`, `"game.twice"`). The process is queued and
    /// runs when the VM runs. Fails for an unknown name
    /// ([`Error::NoFunction`]) or the wrong number of arguments, and with
    /// [`Error::Limit`] past [`crate::VmBuilder::max_processes`].
    ///
    /// ```
    /// use weft_vm::{Error, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("greet.weft", r#"fn greet(host, name) { host ! format("hello, {}", name) }"#).unwrap();
    /// let pid = vm.spawn("greet", vec![vm.host_pid().into(), Value::from("ann")]).unwrap();
    /// assert!(vm.is_alive(pid)); // queued, not run yet
    /// vm.run_until_idle();
    /// assert_eq!(vm.recv(), Some(Value::from("hello, ann")));
    /// assert!(!vm.is_alive(pid)); // its function returned
    /// assert!(matches!(vm.spawn("nobody", vec![]), Err(Error::NoFunction(_))));
    /// ```
    pub fn spawn(&mut self, name: &str, args: Vec<Value>) -> Result<Pid, Error> {
        let function = self.function(name)?;
        self.spawn_value(&function, args)
    }

    /// Starts a process calling a function value.
    ///
    /// For a function value a script gave the host (a closure in a message, or
    /// the result of [`Vm::call`]).
    ///
    /// ```
    /// use weft_vm::{Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("adder.weft", "fn adder(host, n) { fn(x) { host ! x + n } }").unwrap();
    /// let add_one = vm.call("adder", vec![vm.host_pid().into(), Value::from(1)]).unwrap();
    /// vm.spawn_value(&add_one, vec![Value::from(41)]).unwrap();
    /// vm.run_until_idle();
    /// assert_eq!(vm.recv(), Some(Value::from(42)));
    /// ```
    pub fn spawn_value(&mut self, function: &Value, args: Vec<Value>) -> Result<Pid, Error> {
        let code = self.code.clone();
        let code = code.read().unwrap_or_else(|e| e.into_inner());
        self.scheduler
            .spawn_value(&code, function, args, Watcher::Nobody)
            .map_err(spawn_error)
    }

    fn function(&self, name: &str) -> Result<Value, Error> {
        // A library module written in Weft is compiled on first use: a
        // host calling `server.cast` before any script did loads it here.
        if let Some((module, _)) = name.split_once('.') {
            let pending = self.code().lazy.iter().any(|(m, _)| *m == module);
            if pending {
                Vm::load_library(&mut self.code_mut(), module);
            }
        }
        function_named(&self.code(), name)
    }

    /// Calls the loaded function `name` in a new process and runs the VM
    /// until it returns (other processes run meanwhile; timers are waited
    /// for). Returns its value, or how it failed.
    ///
    /// Good for setup, queries and tests. It blocks the calling thread until
    /// the function returns: it sleeps while only timers are pending, and runs
    /// forever if the function never returns while some process stays runnable.
    /// A function that waits for a message from the host returns
    /// [`Error::Deadlock`] (the host is busy inside `call`), and so does one
    /// waiting for an asynchronous host call ([`Vm::register_async`]): the
    /// host learns of the call from [`Vm::take_events`], which it cannot
    /// call while inside `call`. A call answered by a future
    /// (`register_future`) is waited for, as is the network on a node.
    /// Messages processes send to the host meanwhile stay for
    /// [`Vm::recv`].
    ///
    /// ```
    /// use weft_vm::{Error, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("math.weft", "fn add(a, b) { a + b }\nfn div(a, b) { a / b }").unwrap();
    /// assert_eq!(vm.call("add", vec![Value::from(2), Value::from(3)]).unwrap(), Value::from(5));
    /// let xs = Value::from(vec![Value::from(1), Value::from(2)]);
    /// assert_eq!(vm.call("list.sum", vec![xs]).unwrap(), Value::from(3));
    /// match vm.call("div", vec![Value::from(1), Value::from(0)]) {
    ///     Err(Error::Runtime(error)) => assert_eq!(error.kind.name(), "badarith"),
    ///     other => panic!("expected :badarith, got {other:?}"),
    /// }
    /// assert!(matches!(vm.call("nothing", vec![]), Err(Error::NoFunction(_))));
    /// ```
    pub fn call(&mut self, name: &str, args: Vec<Value>) -> Result<Value, Error> {
        let function = self.function(name)?;
        // The host monitors the process from its start: with scheduler
        // threads it may end before `spawn_value` returns.
        let pid = {
            let code = self.code.clone();
            let code = code.read().unwrap_or_else(|e| e.into_inner());
            self.scheduler
                .spawn_value(&code, &function, args, Watcher::Host)
                .map_err(spawn_error)?
        };
        let ended = |vm: &mut Vm| match lock(&vm.shared.host_downs).contains_key(&pid) {
            true => ControlFlow::Break(()),
            false => ControlFlow::Continue(()),
        };
        let driven = self.drive(ended);
        let outcome = lock(&self.shared.host_downs).remove(&pid);
        match outcome {
            Some(Outcome::Returned(value)) => Ok(value),
            Some(Outcome::Crashed(error)) => Err(Error::Runtime(error)),
            Some(Outcome::Exited(reason)) => Err(Error::Exited(reason)),
            None => {
                debug_assert_eq!(driven, Driven::Idle);
                // The process waits forever: the host stops watching it.
                self.scheduler
                    .send_signal(pid, SignalKind::Demonitor(HOST_MONITOR));
                Err(Error::Deadlock)
            }
        }
    }

    /// Runs until nothing is runnable (timers may remain).
    ///
    /// Returns [`RunStatus::Idle`] or [`RunStatus::Waiting`]. It never returns
    /// while a process stays runnable (one stuck in `loop {}`, say): a host that
    /// must keep control uses [`Vm::run`] with a budget.
    ///
    /// ```
    /// use weft_vm::{RunStatus, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("hi.weft", "fn hi(host) { host ! :hi }").unwrap();
    /// vm.spawn("hi", vec![vm.host_pid().into()]).unwrap();
    /// assert_eq!(vm.run_until_idle(), RunStatus::Idle);
    /// assert_eq!(vm.recv(), Some(Value::atom("hi")));
    /// ```
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
    ///
    /// Give it to a process as an argument (`vm.host_pid().into()`): Weft has
    /// no other way to find it. See [`Vm::send`].
    pub fn host_pid(&self) -> Pid {
        self.shared.host_pid
    }

    /// Sends a message to a process (dropped if it is dead).
    ///
    /// It never blocks: the message waits in the mailbox, and the process
    /// handles it when the VM runs. A delivery to a full mailbox (see
    /// [`crate::VmBuilder::max_mailbox`]) kills the receiver.
    ///
    /// ```
    /// use weft_vm::{RunStatus, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("echo.weft", r#"
    ///     fn echo(host) { receive { (:ping, n) => host ! (:pong, n) }; echo(host) }
    /// "#).unwrap();
    /// let pid = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    /// vm.send(pid, Value::tuple(vec![Value::atom("ping"), Value::from(1)]));
    /// assert_eq!(vm.run(10_000), RunStatus::Idle);
    /// assert_eq!(vm.recv().unwrap().to_string(), "(:pong, 1)");
    /// assert_eq!(vm.recv(), None);
    /// ```
    pub fn send(&mut self, pid: Pid, message: Value) {
        self.scheduler.count_message();
        self.scheduler.deliver(pid, message);
    }

    /// The oldest message a process sent to `host_pid()`, if any.
    ///
    /// Messages wait here, oldest first, until the host takes them: drain them
    /// every frame (`while let Some(m) = vm.recv() { .. }`). There is no limit
    /// on how many wait. See [`Vm::send`].
    ///
    /// [`FromValue`](crate::FromValue) reads a message as Rust data, checking
    /// its shape; [`IntoValue`](crate::IntoValue) makes one:
    ///
    /// ```
    /// use weft_vm::{FromValue, IntoValue, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("scout.weft", r#"
    ///     fn scout(host) {
    ///       receive { (:look, x, y) => host ! (:saw, (x, y), ["tree", "rock"]) }
    ///       scout(host)
    ///     }
    /// "#)?;
    /// let scout = vm.spawn("scout", vec![vm.host_pid().into()])?;
    /// // Rust data becomes a message with `into_value`; an atom is `Value::atom`.
    /// vm.send(scout, (Value::atom("look"), 3, 4).into_value());
    /// vm.run_until_idle();
    /// while let Some(message) = vm.recv() {
    ///     let (tag, at, things): (Value, (i32, i32), Vec<String>) = FromValue::from_value(&message)?;
    ///     assert_eq!(tag, Value::atom("saw"));
    ///     assert_eq!((at, things), ((3, 4), vec!["tree".to_string(), "rock".to_string()]));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use = "a message taken and dropped is lost"]
    pub fn recv(&mut self) -> Option<Value> {
        lock(&self.shared.host_inbox).pop_front()
    }

    /// The live process shown as `<0.N>`, if any.
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    pub fn pid_by_serial(&self, serial: u32) -> Option<Pid> {
        self.shared
            .pids()
            .into_iter()
            .find(|p| p.serial() == serial)
    }

    /// Is the process alive?
    ///
    /// ```
    /// use weft_vm::Vm;
    ///
    /// let mut vm = Vm::new();
    /// vm.load("quick.weft", "fn quick() { nil }").unwrap();
    /// let pid = vm.spawn("quick", vec![]).unwrap();
    /// assert!(vm.is_alive(pid));
    /// vm.run_until_idle();
    /// assert!(!vm.is_alive(pid));
    /// ```
    pub fn is_alive(&self, pid: Pid) -> bool {
        self.shared.is_alive(pid)
    }

    /// The process registered as `name` (`register(:name, pid)` in Weft,
    /// or [`Vm::register_name`]), if it is alive.
    pub fn whereis(&self, name: &str) -> Option<Pid> {
        self.scheduler
            .whereis(Atom::new(name))
            .filter(|pid| self.shared.is_alive(*pid))
    }

    /// Registers `pid` as `name`, so scripts reach it as `:name` (`:name !
    /// msg`, `whereis(:name)`), as `register(:name, pid)` does in Weft. An
    /// `Err` when the name is taken by another live process or `pid` is
    /// not alive.
    ///
    /// ```
    /// use weft_vm::{Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("log.weft", r#"
    ///     fn logger(host) { receive { line => host ! line }; logger(host) }
    ///     fn hello() { :log ! "hello" }
    /// "#)?;
    /// let logger = vm.spawn("logger", vec![vm.host_pid().into()])?;
    /// vm.register_name("log", logger)?;
    /// assert_eq!(vm.whereis("log"), Some(logger));
    /// vm.call("hello", vec![])?;
    /// vm.run_until_idle();
    /// assert_eq!(vm.recv(), Some(Value::from("hello")));
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    pub fn register_name(&mut self, name: &str, pid: Pid) -> Result<(), Error> {
        self.scheduler
            .register(Atom::new(name), pid)
            .map_err(|(kind, message)| Error::Runtime(RuntimeError::new(kind, message, Vec::new())))
    }

    /// Kills a process (`kill(pid)` from the host).
    ///
    /// The process dies at once with reason `:killed` (linked processes are
    /// told as usual). This is not a crash: it is reported as an
    /// [`Event::Exit`](crate::Event::Exit) with the reason `:killed`. It is
    /// how a host stops a script that spins.
    ///
    /// ```
    /// use weft_vm::{RunStatus, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("stuck.weft", "fn stuck() { loop {} }").unwrap();
    /// let pid = vm.spawn("stuck", vec![]).unwrap();
    /// assert_eq!(vm.run(10_000), RunStatus::BudgetSpent);
    /// vm.kill(pid);
    /// assert_eq!(vm.run(10_000), RunStatus::Idle);
    /// assert!(!vm.is_alive(pid));
    /// ```
    pub fn kill(&mut self, pid: Pid) {
        let host = self.shared.host_pid;
        self.scheduler
            .signal(pid, host, Value::Atom(Atom::KILL), true, false);
    }

    /// Every live process, by pid.
    ///
    /// ```
    /// use weft_vm::Vm;
    ///
    /// let mut vm = Vm::new();
    /// vm.load("idle.weft", "fn idle() { receive { _ => nil } }").unwrap();
    /// let pid = vm.spawn("idle", vec![]).unwrap();
    /// vm.run_until_idle();
    /// let table = vm.processes();
    /// assert_eq!(table.len(), 1);
    /// assert_eq!(table[0].pid, pid);
    /// assert_eq!(table[0].status, "waiting");
    /// assert_eq!(table[0].mailbox, 0);
    /// ```
    pub fn processes(&self) -> Vec<ProcessInfo> {
        let world = self.world();
        self.shared
            .pids()
            .into_iter()
            .filter_map(|pid| {
                let slot = self.shared.table.get(pid)?;
                let name = self.shared.name_of(pid).map(|a| a.name().to_string());
                let initial_call = world
                    .protos
                    .get(slot.initial.load(std::sync::atomic::Ordering::Relaxed) as usize)
                    .map_or_else(String::new, initial_call);
                slot.peek_body(pid, |process| ProcessInfo {
                    pid,
                    name,
                    initial_call,
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

/// A prototype as the process list names it: `name/arity`, without the
/// script's `main.` prefix.
fn initial_call(proto: &crate::interp::code::LoadedProto) -> String {
    let name = proto.name.strip_prefix("main.").unwrap_or(&proto.name);
    match name {
        "" | "<fn>" => format!("fn/{}", proto.arity),
        name => format!("{name}/{}", proto.arity),
    }
}

/// The function value of the loaded function `name` (a script's `npc` is
/// `main.npc`; a qualified name is looked up as it is).
pub(crate) fn function_named(code: &crate::interp::code::Code, name: &str) -> Result<Value, Error> {
    crate::interp::code::function_named(code, name)
        .ok_or_else(|| Error::NoFunction(name.to_string()))
}

/// The host's error for a failed spawn: a limit, an unknown function, or
/// the runtime error a spawn from Weft would raise (`:badarity`, `:badarg`).
pub(crate) fn spawn_error((kind, message): crate::runtime::scheduler::OpError) -> Error {
    match kind {
        k if k == Atom::SYSTEM_LIMIT => Error::Limit(message),
        k if k == Atom::UNDEF => Error::NoFunction(message),
        kind => Error::Runtime(RuntimeError::new(kind, message, Vec::new())),
    }
}
