//! The VM as the host holds it: `Vm`, `VmBuilder`, loading code and
//! stepping the schedulers.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use weft_compiler::bytecode::Instr;
use weft_compiler::{Diagnostic, SourceFile, Span};

use crate::data::limits::Limits;
use crate::data::value::{Pid, Value};
use crate::interp::code::{Code, Global, LoadedProto};
use crate::process::Watcher;
use crate::runtime::events::{Event, RunStatus, Stats};
use crate::runtime::scheduler::{lock, RunQueue, Scheduler, Shared};
use crate::runtime::trace::TraceEvent;

/// Builds a `Vm` with non-default settings.
///
/// Start from [`Vm::builder`]; every setting is optional.
///
/// ```
/// use weft_vm::Vm;
///
/// let vm = Vm::builder()
///     .allow_io(false)       // no `io` module (the default)
///     .reductions(1_000)     // a process runs at most 1,000 reductions per turn
///     .seed(7)               // the `random` module's seed
///     .max_processes(10_000) // `spawn` past this fails with :system_limit
///     .max_mailbox(1_000)    // a delivery to a full mailbox kills the receiver
///     .max_heap(1 << 20)     // bytes one process may hold
///     .output(|text: &str| eprint!("{text}")) // where `print` writes
///     .build();
/// # drop(vm);
/// ```
pub struct VmBuilder {
    allow_io: bool,
    allow_net: bool,
    schedulers: usize,
    limits: Limits,
    seed: u64,
    output: Option<OutputSink>,
    error_output: Option<OutputSink>,
    trace: Option<usize>,
}

/// Where `print` writes.
type OutputSink = Box<dyn FnMut(&str) + Send>;

impl VmBuilder {
    /// Lets scripts use the `io` module (files). Off by default.
    ///
    /// Without it `io` is an unknown module: a script that uses it does not
    /// compile, and the diagnostic names `io`.
    ///
    /// ```
    /// use weft_vm::Vm;
    ///
    /// let script = r#"fn save(text) { io.write_file("save.txt", text) }"#;
    /// assert!(Vm::new().load("save.weft", script).is_err());
    /// assert!(Vm::builder().allow_io(true).build().load("save.weft", script).is_ok());
    /// ```
    pub fn allow_io(mut self, allow: bool) -> VmBuilder {
        self.allow_io = allow;
        self
    }

    /// Lets scripts use the `net` module (TCP sockets). Off by default.
    ///
    /// Without it `net` is an unknown module: a script that uses it does
    /// not compile, and the diagnostic names `net`. The module exists only
    /// with the crate's `net` feature (on by default); without the feature
    /// this setting changes nothing.
    ///
    /// ```
    /// use weft_vm::Vm;
    ///
    /// let script = r#"fn serve() { net.listen("127.0.0.1", 0) }"#;
    /// assert!(Vm::new().load("serve.weft", script).is_err());
    /// # #[cfg(feature = "net")]
    /// assert!(Vm::builder().allow_net(true).build().load("serve.weft", script).is_ok());
    /// ```
    pub fn allow_net(mut self, allow: bool) -> VmBuilder {
        self.allow_net = allow;
        self
    }

    /// Reductions per slice (LANGUAGE.md §8).
    ///
    /// How long one process runs before it goes to the back of the run queue
    /// (default [`DEFAULT_REDUCTIONS`]; at least 1). A reduction is one function
    /// call or loop iteration; library functions that walk a long list or string
    /// charge more. This is about fairness between processes; the host's own
    /// bound per step is the budget it passes to [`Vm::run`].
    pub fn reductions(mut self, reductions: u32) -> VmBuilder {
        self.limits.reductions = reductions.max(1);
        self
    }

    /// The most processes alive at once (default 10,000,000). Past it,
    /// [`Vm::spawn`] and [`Vm::call`] return [`Error::Limit`], and a Weft `spawn`
    /// is the runtime error `:system_limit` in the spawning process.
    ///
    /// ```
    /// use weft_vm::{Error, Vm};
    ///
    /// let mut vm = Vm::builder().max_processes(1).build();
    /// vm.load("idle.weft", "fn idle() { receive { _ => nil } }").unwrap();
    /// vm.spawn("idle", vec![]).unwrap();
    /// assert!(matches!(vm.spawn("idle", vec![]), Err(Error::Limit(_))));
    /// ```
    pub fn max_processes(mut self, max: usize) -> VmBuilder {
        self.limits.max_processes = max;
        self
    }

    /// The most messages one mailbox holds (default unlimited; at least 1). A
    /// message delivered to a full mailbox kills the receiver, untrappably, with
    /// `(:error, :system_limit, "mailbox over its limit of N messages")`; the sender is
    /// not at fault and goes on. The host's own inbox ([`Vm::recv`]) has no limit.
    ///
    /// ```
    /// use weft_vm::{Value, Vm};
    ///
    /// let mut vm = Vm::builder().max_mailbox(2).build();
    /// vm.load("idle.weft", "fn idle() { receive { :never_sent => nil } }").unwrap();
    /// let pid = vm.spawn("idle", vec![]).unwrap();
    /// vm.send(pid, Value::from(1));
    /// vm.send(pid, Value::from(2));
    /// assert!(vm.is_alive(pid));
    /// vm.send(pid, Value::from(3)); // one too many
    /// assert!(!vm.is_alive(pid));
    /// ```
    pub fn max_mailbox(mut self, max: usize) -> VmBuilder {
        self.limits.max_mailbox = max.max(1);
        self
    }

    /// The most bytes one process may hold: its registers (call stack) and
    /// the data they and its mailbox reach, a value shared with others
    /// counted in full.
    ///
    /// (Default unlimited; at least 1024.) A process over it dies with
    /// `(:error, :system_limit, ...)`: at once when a call would grow its registers
    /// past it or a `++` or range would build a bigger value, and at the end
    /// of its turn when the data it holds has grown past it.
    ///
    /// ```
    /// use weft_vm::{Error, Value, Vm};
    ///
    /// let mut vm = Vm::builder().max_heap(64 * 1024).build();
    /// vm.load("deep.weft", "fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } }").unwrap();
    /// assert_eq!(vm.call("depth", vec![Value::from(100)]).unwrap(), Value::from(100));
    /// match vm.call("depth", vec![Value::from(100_000)]) {
    ///     Err(Error::Runtime(error)) => assert_eq!(error.kind.name(), "system_limit"),
    ///     other => panic!("expected a :system_limit error, got {other:?}"),
    /// }
    /// ```
    pub fn max_heap(mut self, bytes: usize) -> VmBuilder {
        self.limits.max_heap = bytes.max(1024);
        self
    }

    /// The most bytes the whole program may hold (default unlimited). A
    /// value that would take the program past it is refused before it is
    /// built, and a process at the end of whose slice the program holds
    /// more dies; either way with `(:error, :system_limit, ...)` and a crash
    /// report, and the VM goes on. Counting every allocation needs the
    /// [`memory::CountingAllocator`] as the host's global allocator (the
    /// `weft` command installs it); without it only a single value bigger
    /// than the limit is refused.
    ///
    /// ```
    /// use weft_vm::{Error, Vm};
    ///
    /// let mut vm = Vm::builder().max_vm_heap(1 << 20).build();
    /// vm.load("bomb.weft", "fn bomb() { let s = \"x\"; loop { s = s ++ s } }").unwrap();
    /// match vm.call("bomb", vec![]) {
    ///     Err(Error::Runtime(error)) => assert_eq!(error.kind.name(), "system_limit"),
    ///     other => panic!("expected a :system_limit error, got {other:?}"),
    /// }
    /// ```
    pub fn max_vm_heap(mut self, bytes: usize) -> VmBuilder {
        self.limits.max_vm_heap = bytes.max(1024);
        self
    }

    /// Records an execution trace of at most `max_events` events (slices
    /// run, spawns, messages, channel operations, exits); read it with
    /// [`Vm::take_trace`] and render it with [`chrome_trace_json`]. Off by
    /// default, and then it costs one test of a flag per slice and send.
    ///
    /// ```
    /// use weft_vm::{chrome_trace_json, TraceKind, Vm};
    ///
    /// let mut vm = Vm::builder().trace(10_000).build();
    /// vm.load("t.weft", "fn main() { let me = self()\n spawn { me ! :hi }\n receive { m => m } }").unwrap();
    /// assert_eq!(vm.call("main", vec![]).unwrap(), weft_vm::Value::atom("hi"));
    /// let (events, dropped) = vm.take_trace();
    /// assert_eq!(dropped, 0);
    /// assert!(events.iter().any(|e| matches!(&e.kind, TraceKind::Send { message, .. } if message == ":hi")));
    /// assert!(chrome_trace_json(&events, dropped).starts_with("{\"displayTimeUnit\""));
    /// ```
    pub fn trace(mut self, max_events: usize) -> VmBuilder {
        self.trace = Some(max_events);
        self
    }

    /// The seed of the `random` module.
    ///
    /// (Default 0.) The same program, seed and inputs give the same run.
    pub fn seed(mut self, seed: u64) -> VmBuilder {
        self.seed = seed;
        self
    }

    /// Where `print` writes. The default is the process's standard output.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use weft_vm::Vm;
    ///
    /// let printed = Arc::new(Mutex::new(String::new()));
    /// let sink = printed.clone();
    /// let mut vm = Vm::builder()
    ///     .output(move |text: &str| sink.lock().unwrap().push_str(text))
    ///     .build();
    /// vm.load("hello.weft", r#"print("hello", (:hp, 80))"#).unwrap();
    /// vm.run_until_idle(); // a file's top-level code runs in a new process
    /// assert_eq!(*printed.lock().unwrap(), "hello (:hp, 80)\n");
    /// ```
    pub fn output(mut self, output: impl FnMut(&str) + Send + 'static) -> VmBuilder {
        self.output = Some(Box::new(output));
        self
    }

    /// Where `eprint` writes. The default is the process's standard error.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use weft_vm::Vm;
    ///
    /// let errors = Arc::new(Mutex::new(String::new()));
    /// let sink = errors.clone();
    /// let mut vm = Vm::builder()
    ///     .error_output(move |text: &str| sink.lock().unwrap().push_str(text))
    ///     .build();
    /// vm.load("warn.weft", r#"eprint("careful:", 3)"#).unwrap();
    /// vm.run_until_idle();
    /// assert_eq!(*errors.lock().unwrap(), "careful: 3\n");
    /// ```
    pub fn error_output(mut self, output: impl FnMut(&str) + Send + 'static) -> VmBuilder {
        self.error_output = Some(Box::new(output));
        self
    }

    /// How many scheduler threads run the VM's processes (default 0).
    ///
    /// With 0 the VM runs only inside [`Vm::run`], on the host's thread: the
    /// host decides when and for how long (the game-loop case), and with one
    /// run queue the schedule is deterministic. With `n` ≥ 1 the VM starts
    /// `n` threads (one per core is what `weft run` uses) that run processes
    /// in parallel, in the background; `run` then waits for them. See
    /// docs/EMBEDDING.md, "Threads".
    ///
    /// ```
    /// use weft_vm::{Value, Vm};
    ///
    /// let mut vm = Vm::builder().schedulers(2).build();
    /// vm.load("sum.weft", "fn sum(n) { list.sum(1..n + 1) }")?;
    /// assert_eq!(vm.call("sum", vec![Value::from(100)])?, Value::from(5050));
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    pub fn schedulers(mut self, n: usize) -> VmBuilder {
        self.schedulers = n.min(1024);
        self
    }

    /// The VM, with the standard library loaded and no processes.
    pub fn build(self) -> Vm {
        let output = self.output.unwrap_or_else(|| {
            Box::new(|text: &str| {
                use std::io::Write;
                let _ = std::io::stdout().write_all(text.as_bytes());
            })
        });
        let error_output = self.error_output.unwrap_or_else(|| {
            Box::new(|text: &str| {
                use std::io::Write;
                let _ = std::io::stderr().write_all(text.as_bytes());
            })
        });
        let pool = (self.schedulers > 0).then(|| crate::runtime::pool::Pool::new(self.schedulers));
        let shared = Arc::new(Shared::new(
            self.limits,
            output,
            error_output,
            self.seed,
            pool,
            self.trace.map(crate::runtime::trace::Trace::new),
        ));
        let run_queue = if shared.pool.is_some() {
            RunQueue::Host
        } else {
            RunQueue::Local(Default::default())
        };
        let mut vm = Vm {
            scheduler: Scheduler::new(shared.clone(), 0, run_queue),
            shared,
            code: Arc::new(RwLock::new(Code::default())),
            allow_io: self.allow_io,
            allow_net: self.allow_net,
            main: None,
        };
        vm.install_library();
        let executor = Arc::new(crate::interp::run::Interpreter {
            code: vm.code.clone(),
        });
        crate::runtime::pool::Pool::start(&vm.shared, executor);
        vm
    }
}

/// A Weft virtual machine.
///
/// Build one with [`Vm::new`] (sandboxed, default limits) or [`Vm::builder`],
/// register host functions, [`load`](Vm::load) Weft source, [`spawn`](Vm::spawn)
/// processes, talk to them with [`send`](Vm::send) and [`recv`](Vm::recv), and
/// step them with [`run`](Vm::run) — at most `budget` reductions per call, so a
/// game loop can run the VM a little every frame. A VM runs on the thread
/// that calls it and is `Send`: it can be moved to another thread. The guide
/// is docs/EMBEDDING.md.
///
/// ```
/// use weft_vm::{FromValue, RunStatus, Value, Vm};
///
/// let mut vm = Vm::builder().reductions(2_000).seed(7).build();
///
/// // A host function, callable from Weft as `game.damage(hp, hit)`. Its
/// // arguments are checked and converted; its arity is the closure's.
/// vm.register("game.damage", |hp: i64, hit: i64| (hp - hit).max(0));
///
/// // Compile a module; an `Err` displays the diagnostics.
/// vm.load("npc.weft", r#"
///     fn npc(host, hp) {
///       receive {
///         (:hit, damage) => {
///           let left = game.damage(hp, damage)
///           host ! (:hp, left)
///           npc(host, left)
///         },
///       }
///     }
///     fn add(a, b) { a + b }
/// "#)?;
///
/// // Run a loaded top-level function in a new process.
/// let pid = vm.spawn("npc", vec![vm.host_pid().into(), Value::from(100)])?;
/// vm.send(pid, Value::tuple(vec![Value::atom("hit"), Value::from(30)]));
///
/// // Spend at most 10,000 reductions, then return.
/// let status: RunStatus = vm.run(10_000);
/// assert_eq!(status, RunStatus::Idle); // the npc waits for its next message
///
/// // A message a process sent to `vm.host_pid()`, read as Rust data.
/// let reply: Value = vm.recv().expect("the npc replied");
/// let (tag, hp): (Value, i64) = FromValue::from_value(&reply)?;
/// assert_eq!((tag, hp), (Value::atom("hp"), 70));
///
/// // Run a function to completion and return its value.
/// let sum = vm.call("add", vec![Value::from(2), Value::from(3)])?;
/// assert_eq!(i64::from_value(&sum)?, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// `Vm` is `Send`, so it can be built on one thread and run on another:
///
/// ```
/// use weft_vm::{Value, Vm};
///
/// let mut vm = Vm::new();
/// vm.load("square.weft", "fn square(n) { n * n }")?;
/// let worker = std::thread::spawn(move || vm.call("square", vec![Value::from(7)]));
/// assert_eq!(worker.join().unwrap()?, Value::from(49));
/// # Ok::<(), weft_vm::Error>(())
/// ```
pub struct Vm {
    pub(crate) shared: Arc<Shared>,
    /// The loaded code. Scheduler threads hold a read guard while they run
    /// slices; the host takes the write guard (stopping them) to load code
    /// or read every process (`Vm::world`).
    pub(crate) code: Arc<RwLock<Code>>,
    /// The host's scheduler: it runs processes in `run` when the VM has no
    /// threads, and otherwise only sends the host's signals.
    pub(crate) scheduler: Scheduler,
    pub(crate) allow_io: bool,
    pub(crate) allow_net: bool,
    /// The main process (`spawn_main`), monitored by the host.
    pub(crate) main: Option<Pid>,
}

impl Default for Vm {
    /// Same as [`Vm::new`].
    fn default() -> Vm {
        Vm::new()
    }
}

impl Vm {
    /// A VM with the standard library and no `io`.
    ///
    /// It is sandboxed: a script reaches only its own functions, the standard
    /// library without `io`, and the host functions registered with
    /// [`Vm::register`] and its kin.
    ///
    /// ```
    /// use weft_vm::Vm;
    ///
    /// let mut vm = Vm::new();
    /// let error = vm.load("save.weft", r#"fn save(s) { io.write_file("out.txt", s) }"#).unwrap_err();
    /// assert!(error.to_string().contains("unknown module `io`"));
    /// ```
    pub fn new() -> Vm {
        Vm::builder().build()
    }

    /// Starts building a VM with non-default settings: `io`, limits, seed,
    /// output. See [`VmBuilder`].
    ///
    /// ```
    /// use weft_vm::Vm;
    ///
    /// let mut vm = Vm::builder().reductions(500).max_processes(1_000).build();
    /// vm.load("one.weft", "fn one() { 1 }").unwrap();
    /// ```
    pub fn builder() -> VmBuilder {
        VmBuilder {
            allow_io: false,
            allow_net: false,
            schedulers: 0,
            limits: Limits::default(),
            seed: 0,
            output: None,
            error_output: None,
            trace: None,
        }
    }

    /// Watches one process's messages (`None`: stop): every message it
    /// sends or is sent, and its exit, are logged for
    /// [`Vm::take_watched_messages`] (the REPL's `:trace PID`). At most
    /// 10,000 events wait between two reads. The watch subscribes to the
    /// trace stream: while it is on, every process's sends and exits are
    /// traced (and filtered), so the VM runs slower; off, it costs nothing.
    ///
    /// ```
    /// use weft_vm::{TraceKind, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("echo.weft", "fn echo() { receive { (from, m) => from ! m } }").unwrap();
    /// let echo = vm.spawn("echo", vec![]).unwrap();
    /// vm.watch_messages(Some(echo));
    /// vm.send(echo, weft_vm::Value::tuple(vec![vm.host_pid().into(), "hi".into()]));
    /// vm.run_until_idle();
    /// let seen: Vec<TraceKind> = vm.take_watched_messages().into_iter().map(|e| e.kind).collect();
    /// assert!(matches!(&seen[0], TraceKind::Send { message, .. } if message == "\"hi\""));
    /// assert!(matches!(&seen[1], TraceKind::Exit { reason } if reason == ":normal"));
    /// ```
    pub fn watch_messages(&mut self, pid: Option<Pid>) {
        let bits = pid.map_or(0, |p| p.0);
        self.shared
            .watched_pid
            .store(bits, std::sync::atomic::Ordering::Relaxed);
        let _ = self.shared.watch_log.take();
    }

    /// The watched process's messages and exit since the last call.
    pub fn take_watched_messages(&mut self) -> Vec<TraceEvent> {
        self.shared.watch_log.take().0
    }

    /// The trace recorded so far (with [`VmBuilder::trace`]) and how many
    /// events past its cap were dropped; the VM keeps recording into an
    /// empty one. Without tracing, nothing.
    pub fn take_trace(&mut self) -> (Vec<TraceEvent>, u64) {
        self.shared
            .trace
            .as_ref()
            .map_or((Vec::new(), 0), |trace| trace.take())
    }

    fn install_library(&mut self) {
        let allow_io = self.allow_io;
        let allow_net = self.allow_net;
        let mut code = self.code_mut();
        code.sources.push(SourceFile::new("<builtin>", ""));
        for native in crate::natives::all(allow_io, allow_net) {
            code.define(native.name, Global::Native(native));
        }
        for (name, _) in crate::natives::math::CONSTANTS {
            code.add_name(name);
        }
        let mut trampolines = Vec::new();
        // Trampolines let a process start with a native (`spawn print(x)`).
        // They are a module of their own for process images, whose hash is
        // their version: change it when their code changes.
        let module = code.modules.len() as u32;
        let first = code.protos.len() as u32;
        code.modules.push(crate::interp::code::LoadedModule {
            name: Arc::from("<spawn>"),
            hash: 1,
            first,
            count: 9,
        });
        for argc in 0..=8u16 {
            let index = code.protos.len() as u32;
            let r0 = weft_compiler::bytecode::Reg::new(0);
            code.protos.push(LoadedProto {
                name: Arc::from("<spawn>"),
                arity: 0,
                captures: 0,
                self_slot: false,
                registers: argc + 1,
                code: vec![
                    Instr::Call {
                        base: r0,
                        argc: weft_compiler::bytecode::Count::of(argc as usize),
                    },
                    Instr::Return { src: r0 },
                ]
                .into(),
                spans: vec![Span::default(); 2].into(),
                constants: Box::new([]),
                selects: Box::new([]),
                source: 0,
                module,
            });
            trampolines.push(index);
        }
        code.trampolines = trampolines;
        // The library's Weft modules are compiled on first use; until then
        // only their names are known.
        for module in weft_stdlib::MODULES {
            for function in module.api {
                code.add_name(&format!("{}.{function}", module.name));
            }
            code.lazy.push((module.name, module.source));
        }
    }

    /// Compiles and loads the library modules `modules` call that are not
    /// loaded yet (their own needs first), so they are linked like any
    /// other code.
    pub(crate) fn load_library_for(code: &mut Code, modules: &[weft_compiler::Module]) {
        let calls = |module: &str| {
            modules.iter().any(|m| {
                m.globals.iter().any(|g| {
                    g.split_once('.')
                        .is_some_and(|(prefix, _)| prefix == module)
                })
            })
        };
        while let Some((module, _)) = code.lazy.iter().find(|(module, _)| calls(module)).copied() {
            Self::load_library(code, module);
        }
    }

    /// Compiles and loads the pending library module `module` (and the
    /// library modules it calls first).
    pub(crate) fn load_library(code: &mut Code, module: &str) {
        let Some(at) = code.lazy.iter().position(|(m, _)| *m == module) else {
            return;
        };
        let (module, text) = code.lazy.remove(at);
        let source = SourceFile::new(format!("<stdlib>/{module}.weft"), text);
        let environment = Self::environment_of(code);
        let compiled =
            weft_compiler::compile(source, module, &environment, &mut weft_compiler::NoImports);
        drop(environment);
        match compiled {
            Ok(library) => {
                Self::load_library_for(code, &library);
                if let Err(error) = code.load(library) {
                    panic!("the standard library module {module} fails verification: {error}");
                }
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

    /// The names a program may call beyond its own functions (what a
    /// program compiled for this VM may use).
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    pub fn environment(&self) -> weft_compiler::Environment {
        Self::environment_of(&self.code())
    }

    fn environment_of(code: &Code) -> weft_compiler::Environment {
        // The constants' names are in the code's names already (added when
        // the library is installed), so the shared set is not copied.
        let mut environment = weft_compiler::Environment {
            globals: code.environment(),
            ..Default::default()
        };
        environment = environment.with_constants(
            crate::natives::math::CONSTANTS
                .iter()
                .map(|(name, value)| (name.to_string(), weft_compiler::Constant::Float(*value))),
        );
        environment
    }

    /// Compiles `source` (and its imports, read through `loader`) as the
    /// module `main` and loads it. Returns the top-level code's entry point
    /// for `spawn_main`.
    ///
    /// Used by the `weft` command (a program with imports and a main process
    /// whose end stops `run`); an embedding host uses [`Vm::load`].
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    pub fn load_main(
        &mut self,
        source: Arc<SourceFile>,
        loader: &mut dyn weft_compiler::Loader,
    ) -> Result<EntryPoint, Vec<Diagnostic>> {
        let environment = self.environment();
        let modules = weft_compiler::compile(source.clone(), "main", &environment, loader)?;
        // Loading adds names to the shared set: let go of it first, so it
        // is updated in place rather than copied.
        drop(environment);
        let mut code = self.code_mut();
        Self::load_library_for(&mut code, &modules);
        code.load(modules).map(EntryPoint).map_err(|error| {
            // The compiler's own output failing the verifier is a bug in
            // Weft; report it rather than run it.
            vec![
                Diagnostic::error(format!("internal compiler error: {error}"), Span::default())
                    .in_file(&source),
            ]
        })
    }

    /// Starts the main process (`<0.1>` for the first) running `entry`,
    /// monitored by the host: [`Vm::main_exit`] says when and how it ended,
    /// and `run` returns as soon as it has (other processes may still be
    /// runnable; the program is over).
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    ///
    /// ```
    /// use weft_vm::{SourceFile, Vm, NoImports};
    ///
    /// let mut vm = Vm::new();
    /// vm.set_args(vec!["7".to_string()]);
    /// let source = SourceFile::new("main.weft", "print(int(args()[0]) * 6)");
    /// let entry = vm.load_main(source, &mut NoImports).unwrap();
    /// let main = vm.spawn_main(entry);
    /// vm.drive(|vm| if vm.main_exit().is_some() { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) });
    /// assert_eq!(vm.main_exit(), Some(weft_vm::Value::atom("normal")));
    /// assert!(!vm.is_alive(main));
    /// ```
    pub fn spawn_main(&mut self, entry: EntryPoint) -> Pid {
        if let Some(old) = self.main.take() {
            lock(&self.shared.host_downs).remove(&old);
        }
        let registers = self.code().protos[entry.0 as usize].registers as usize;
        let stack = vec![Value::Nil; 1 + registers];
        let pid = self
            .scheduler
            .start_process(entry.0, stack, Watcher::Host)
            .unwrap_or(self.shared.host_pid);
        self.main = Some(pid);
        pid
    }

    /// The arguments `args()` returns.
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    pub fn set_args(&mut self, args: Vec<String>) {
        *lock(&self.shared.args) = args;
    }

    /// The main process (`spawn_main`, or the one a loaded whole-VM image
    /// had).
    ///
    /// For tools: unstable, and an embedding host does not need it.
    pub fn main_pid(&self) -> Option<Pid> {
        self.main
    }

    /// The main process's exit reason, once it has ended (`spawn_main`).
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    pub fn main_exit(&self) -> Option<Value> {
        let main = self.main?;
        lock(&self.shared.host_downs)
            .get(&main)
            .map(|outcome| outcome.reason())
    }

    /// Crash reports and other events since the last call.
    ///
    /// ```
    /// use weft_vm::{Event, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("oops.weft", "fn oops() { 1 / 0 }\nfn fine() { receive { _ => nil } }").unwrap();
    /// let fine = vm.spawn("fine", vec![]).unwrap();
    /// let oops = vm.spawn("oops", vec![]).unwrap();
    /// vm.run_until_idle();
    /// for event in vm.take_events() {
    ///     match event {
    ///         Event::Crash { pid, error } => {
    ///             assert_eq!(pid, oops);
    ///             assert_eq!(error.reason().to_string(), r#"(:error, :badarith, "division by zero")"#);
    ///         }
    ///         Event::Exit { pid, reason } => panic!("{pid} exited: {reason}"),
    ///         Event::HostCall { name, .. } => panic!("no asynchronous host function here: {name}"),
    ///         _ => {} // `Event` is #[non_exhaustive]: events a later VM adds
    ///     }
    /// }
    /// assert!(vm.is_alive(fine)); // the others go on
    /// assert!(vm.take_events().is_empty());
    /// ```
    #[must_use = "events taken and dropped are lost (crash reports, host calls)"]
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut *lock(&self.shared.events))
    }

    /// Counters since the VM was built (processes, messages, reductions).
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// How many scheduler threads the VM has (0: it runs inside `run`).
    pub fn scheduler_threads(&self) -> usize {
        self.shared.pool.as_ref().map_or(0, |p| p.size())
    }

    /// Every live process and what it waits on (deadlock reports).
    ///
    /// For tools (the `weft` command, its REPL and LSP, fuzzers): unstable,
    /// and an embedding host does not need it.
    pub fn blocked_processes(&self) -> Vec<(Pid, String)> {
        let _world = self.world();
        self.scheduler.blocked_processes()
    }

    /// Stops every process.
    pub fn stop_all(&mut self) {
        let shared = self.shared.clone();
        let _world = world(&shared, &self.code);
        self.scheduler.stop_all();
    }

    /// The loaded code, for reading.
    pub(crate) fn code(&self) -> std::sync::RwLockReadGuard<'_, Code> {
        self.code.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The whole VM, with every scheduler thread stopped between slices:
    /// for loading code and for reading every process. Threads stop at their
    /// next slice boundary (at most one slice, ~2,000 reductions, away).
    pub(crate) fn world(&self) -> std::sync::RwLockWriteGuard<'_, Code> {
        world(&self.shared, &self.code)
    }

    /// The loaded code, for changing (stops the threads, as `world`).
    pub(crate) fn code_mut(&self) -> std::sync::RwLockWriteGuard<'_, Code> {
        self.world()
    }

    /// Runs processes for at most `budget` reductions. Returns early when
    /// nothing is runnable, or when the main process (if any) has ended.
    ///
    /// This is the call a game loop makes once per frame. Processes run in
    /// turns of at most [`VmBuilder::reductions`] each, and the whole call
    /// spends at most `budget` reductions, whatever the scripts do: a process
    /// stuck in `loop {}` is preempted, the others still get their turns, and
    /// `run` returns [`RunStatus::BudgetSpent`]. Work left over continues on the
    /// next call. Messages sent with [`Vm::send`] are handled when the VM runs;
    /// the replies are read with [`Vm::recv`].
    ///
    /// ```
    /// use weft_vm::{RunStatus, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.load("actors.weft", r#"
    ///     fn stuck() { loop {} }
    ///     fn echo(host) { receive { m => host ! m }; echo(host) }
    /// "#).unwrap();
    /// vm.spawn("stuck", vec![]).unwrap(); // never blocks, never yields
    /// let echo = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    /// for frame in 0..3 {
    ///     vm.send(echo, Value::from(frame));          // feed events in
    ///     let status = vm.run(5_000);                 // at most 5,000 reductions
    ///     assert_eq!(status, RunStatus::BudgetSpent); // the stuck process wants more
    ///     assert_eq!(vm.recv(), Some(Value::from(frame))); // read commands out
    ///     // ... draw the frame, wait for the next one ...
    /// }
    /// ```
    #[must_use = "the status says whether work is left and when the next timer is due"]
    pub fn run(&mut self, budget: u64) -> RunStatus {
        // News for the host that it has had the chance to see (it calls
        // `run` again) stops no more runs.
        self.shared
            .host_news
            .store(false, std::sync::atomic::Ordering::Release);
        if let Some(pool) = &self.shared.pool {
            // The threads run the processes; the host waits for them.
            let start = self.shared.stats().reductions;
            let shared = &self.shared;
            return match pool.wait(shared, budget, || {
                shared.stats().reductions.saturating_sub(start)
            }) {
                None => RunStatus::BudgetSpent,
                Some(None) => RunStatus::Idle,
                Some(Some(deadline)) => RunStatus::Waiting {
                    next_timer: Duration::from_nanos(deadline.saturating_sub(shared.now())),
                },
            };
        }
        let was_deferring = crate::data::value::set_deferring(true);
        let code = self.code.clone();
        let code = code.read().unwrap_or_else(|e| e.into_inner());
        let status = self.scheduler.run_host(&code, budget);
        drop(code);
        crate::data::value::set_deferring(was_deferring);
        status
    }
}

/// The entry point of loaded top-level code.
///
/// Made by [`Vm::load_main`] and [`Vm::load_modules`] (the `weft` command
/// and REPL).
#[derive(Clone, Copy, Debug)]
pub struct EntryPoint(pub(crate) u32);

/// What a VM's processes left to free when it goes is freed now (with
/// deferring off, iteratively), not held until the thread ends.
impl Drop for Vm {
    fn drop(&mut self) {
        if let Some(pool) = &self.shared.pool {
            pool.stop();
        }
        let was_deferring = crate::data::value::set_deferring(false);
        crate::data::value::drain_deferred(usize::MAX);
        crate::data::value::set_deferring(was_deferring);
    }
}

/// Every scheduler thread of the VM stopped between slices, and its code
/// for changing: the pool's threads see `pause`, drop their read guards at
/// their next slice boundary, and wait while the host holds the write guard.
pub(crate) fn world<'a>(
    shared: &Shared,
    code: &'a RwLock<Code>,
) -> std::sync::RwLockWriteGuard<'a, Code> {
    let pool = shared.pool.as_ref();
    if let Some(pool) = pool {
        pool.pause.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let guard = code.write().unwrap_or_else(|e| e.into_inner());
    if let Some(pool) = pool {
        pool.pause.store(false, std::sync::atomic::Ordering::SeqCst);
    }
    guard
}

impl Vm {
    /// Makes this VM a node: `dist` carries what leaves it. Returns the
    /// handle its network threads deliver what arrives through. A VM is a
    /// node at most once (`None` the second time).
    pub fn start_distribution(
        &mut self,
        dist: Arc<dyn crate::runtime::dist::Distribution>,
    ) -> Option<crate::runtime::dist::NodeHandle> {
        self.shared.dist.set(dist).ok()?;
        let spawner = Arc::new(CodeSpawner(self.code.clone()));
        Some(crate::runtime::dist::NodeHandle::new(self.shared.clone()).with_spawner(spawner))
    }

    /// Whether this VM is a node (see
    /// [`Vm::start_distribution`](crate::Vm::start_distribution)). A node's
    /// processes can be woken from the network, so "every process is
    /// blocked" is not a deadlock for it.
    pub fn is_node(&self) -> bool {
        self.shared.dist.get().is_some()
    }

    /// Waits until something from outside the VM may have made a process
    /// runnable — a signal from the network, an answer from a
    /// [`Completer`](crate::Completer) or a `register_future` future — or
    /// `timeout` passes: what a host calls instead of sleeping when `run`
    /// says nothing is runnable. A notice that came since the last wait
    /// makes it return at once, so none is missed between `run` and
    /// `wait_for_work`.
    pub fn wait_for_work(&self, timeout: Duration) {
        self.shared.external.wait(timeout)
    }
}

/// Starts processes for other nodes (`NodeHandle::spawn_for`) from the
/// VM's code.
struct CodeSpawner(Arc<RwLock<Code>>);

impl crate::runtime::dist::RemoteSpawner for CodeSpawner {
    fn restore(
        &self,
        scheduler: &mut crate::runtime::scheduler::Scheduler,
        image: &Value,
    ) -> Result<Pid, crate::data::image::RestoreError> {
        crate::host::image::restore(&self.0, scheduler, image)
    }

    fn spawn_for(
        &self,
        scheduler: &mut crate::runtime::scheduler::Scheduler,
        module: &str,
        function: &str,
        args: Vec<Value>,
        key: Option<u64>,
    ) -> Result<Pid, crate::runtime::dist::SpawnRefused> {
        use crate::runtime::dist::SpawnRefused;
        if module.is_empty() || function.is_empty() {
            return Err(SpawnRefused::Undefined);
        }
        let pending = read(&self.0).lazy.iter().any(|(m, _)| *m == module);
        if pending {
            // A library module written in Weft (`server`) is compiled on
            // first use, as for a host's `Vm::spawn`.
            Vm::load_library(
                &mut self.0.write().unwrap_or_else(|e| e.into_inner()),
                module,
            );
        }
        let code = read(&self.0);
        // A module the script imported is named by its `as` name, as the
        // script names it (and that name wins, as in the script).
        let module = match code.main_imports.get(module) {
            Some((name, _)) => name.as_str(),
            None => module,
        };
        let function = crate::interp::code::function_named(&code, &format!("{module}.{function}"))
            .ok_or(SpawnRefused::Undefined)?;
        // A builtin of another arity is not that function (Erlang's
        // `undef`), as for a Weft function (whose spawn checks it).
        if let Value::Fn(f) = &function {
            if let crate::data::value::FnKind::Global(slot) = f.kind {
                if let Some(crate::interp::code::Global::Native(native)) =
                    code.globals.get(slot as usize)
                {
                    if args.len() < native.min as usize || args.len() > native.max as usize {
                        return Err(SpawnRefused::Undefined);
                    }
                }
            }
        }
        let watcher = match key {
            Some(key) => crate::process::Watcher::Remote(key),
            None => crate::process::Watcher::Nobody,
        };
        scheduler
            .spawn_value(&code, &function, args, watcher)
            .map_err(|(kind, message)| SpawnRefused::Failed(kind, message))
    }
}

fn read(code: &RwLock<Code>) -> std::sync::RwLockReadGuard<'_, Code> {
    code.read().unwrap_or_else(|e| e.into_inner())
}
