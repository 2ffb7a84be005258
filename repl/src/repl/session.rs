//! The VM thread: it owns the `Vm` and runs its scheduler all the time, so
//! processes spawned from the shell keep running between prompts. The
//! editor sends it requests (evaluate this entry, list the processes, ...)
//! and waits for the reply; everything it prints goes through the
//! `Console`, in order with what the processes print.
//!
//! Entries run in the shell process, a Weft process that receives each
//! compiled entry as a function, calls it with the session's variables and
//! hands the result to the host. If the shell dies (a runtime error, an
//! exit signal from a linked process, `exit(reason)` in an entry, Ctrl-C),
//! the VM's events say why, and a new shell starts; the session's
//! variables live here, so they survive.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weft_compiler::{render, Module, SourceFile};
use weft_vm::{Driven, Event, Pid, TraceKind, Value, Vm};

use super::complete::{Names, SharedNames};
use super::console::Console;
use crate::files::{read_source, FileLoader, ReadError};

/// How many bytes of a result the REPL echoes before cutting it with `…`,
/// as Erlang's shell does: a million-element list is built in a blink but
/// would scroll for minutes. `print(x)` still shows all of it.
const RESULT_LIMIT: usize = 4096;

/// The stack of the VM thread: printing, comparing and compiling deeply
/// nested values recurse on it (as in `main.rs`, reserved, touched only as
/// used).
const VM_STACK: usize = 1 << 30;

/// The shell process, loaded into every VM. It hands each result to the
/// host function `__weft_repl_done`, which prints the value at once —
/// before other processes run on and print more.
const SHELL_CODE: &str = "\
fn __weft_shell() {
  receive {
    (:weft_repl_eval, entry, bindings) => __weft_repl_done(entry(bindings)),
  }
  __weft_shell()
}
";

/// Where `__weft_repl_done` leaves an entry's result.
#[derive(Default)]
struct Done {
    /// Print the value when it arrives (not for `:load`).
    show: bool,
    /// The entry's value and its bindings tuple.
    result: Option<(Value, Value)>,
}

type DoneSlot = Arc<Mutex<Done>>;

/// What the editor asks of the VM thread.
#[derive(Debug)]
pub enum Request {
    /// Evaluate an entry and print its value.
    Eval(String),
    /// Evaluate, then print the wall time and reductions.
    Time(String),
    /// Compile a file into the session.
    Load(String),
    Ps,
    /// The process table sorted by reductions, busiest first (`:top`).
    Top,
    /// Watch a process's messages (`:trace PID`), or stop (`off`).
    Trace(String),
    Kill(String),
    Disasm(String),
    Reset,
    /// Look at the interrupt flag now (sent by the Ctrl-C handler).
    Wake,
    Quit,
}

/// The VM thread's answer: did the request succeed?
pub struct Reply {
    pub ok: bool,
}

/// Where the VM thread leaves its VM's waker for the editor's thread.
type VmWaker = Arc<Mutex<Option<weft_vm::Waker>>>;

/// Sends requests to the VM thread, waking its VM if it waits (for a
/// timer, the network, or nothing) in `Vm::drive`.
#[derive(Clone)]
pub struct Requests {
    requests: Sender<Request>,
    vm_waker: VmWaker,
}

impl Requests {
    pub fn send(&self, request: Request) -> Result<(), mpsc::SendError<Request>> {
        self.requests.send(request)?;
        if let Some(waker) = self
            .vm_waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            waker.wake();
        }
        Ok(())
    }
}

/// The editor's end of the VM thread.
pub struct Handle {
    requests: Requests,
    replies: Receiver<Reply>,
}

impl Handle {
    /// Sends a request and waits for it to finish. None if the VM thread
    /// is gone.
    pub fn request(&self, request: Request) -> Option<Reply> {
        self.requests.send(request).ok()?;
        self.replies.recv().ok()
    }

    /// A sender for the Ctrl-C handler's wake-ups.
    pub fn waker(&self) -> Requests {
        self.requests.clone()
    }
}

/// Starts the VM thread. The VM is built there, so the editor can show its
/// prompt before the standard library has been compiled.
pub fn start(console: Console, names: SharedNames, interrupt: Arc<AtomicU32>) -> Handle {
    let (requests, inbox) = mpsc::channel();
    let (outbox, replies) = mpsc::channel();
    let vm_waker = VmWaker::default();
    let requests = Requests {
        requests,
        vm_waker: vm_waker.clone(),
    };
    std::thread::Builder::new()
        .name("weft-vm".into())
        .stack_size(VM_STACK)
        .spawn(move || {
            let mut session = Session::new(console, vm_waker, inbox, outbox, names, interrupt);
            session.serve();
        })
        .expect("cannot start the VM thread");
    Handle { requests, replies }
}

/// Makes the session's VM a node if the command line asked; `old` is the
/// node of the VM it replaces (`:reset`), stopped first. A node that
/// cannot start ends the REPL (status 69), as `weft run` does.
fn start_node(vm: &mut Vm, old: Option<weft_node::Node>) -> Option<weft_node::Node> {
    let restarting = old.is_some();
    if let Some(old) = old {
        old.stop();
    }
    let mut attempts = 0;
    loop {
        match crate::node::start(vm) {
            Ok(node) => return node,
            // EPMD lets go of the old registration a moment after its
            // connection closes.
            Err(_) if restarting && attempts < 50 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(message) => {
                eprintln!("weft: {message}");
                std::process::exit(crate::node::EXIT_UNAVAILABLE.into());
            }
        }
    }
}

fn new_vm(console: &Console, done: &DoneSlot) -> Vm {
    let sink = console.clone();
    let mut vm = Vm::builder()
        .allow_io(true)
        .allow_net(true)
        // An entry that would exhaust memory dies, not the session.
        .max_vm_heap(crate::limits::default_vm_heap())
        .output(move |text: &str| sink.process_output(text))
        .build();
    let console = console.clone();
    let slot = done.clone();
    vm.register_fn(
        "__weft_repl_done",
        1,
        move |args: &[Value]| -> Result<Value, String> {
            let Some([value, bindings]) = args[0].as_tuple() else {
                return Err("__weft_repl_done expects (value, bindings)".to_string());
            };
            let mut done = slot.lock().unwrap_or_else(|e| e.into_inner());
            if done.show {
                console.out(format!("{}\n", value.inspect_within(RESULT_LIMIT)));
            }
            done.result = Some((value.clone(), bindings.clone()));
            Ok(Value::atom("ok"))
        },
    );
    if let Err(error) = vm.load("<shell>", SHELL_CODE) {
        // Compiled into the binary: failing here is a bug in Weft.
        panic!("the REPL's shell code does not compile: {error}");
    }
    vm
}

/// How an entry ended, when it did not return a value.
enum Failure {
    /// Already reported.
    Reported,
}

/// How the shell process ended, from the VM's events.
enum ShellEnd {
    /// A runtime error (its report is already printed).
    Crashed,
    /// Any other reason but `:normal`.
    Exited(Value),
}

/// What the session's housekeeping changes besides the VM, apart from the
/// rest so the drive loop's step can keep house while the VM runs.
struct Keeper {
    console: Console,
    /// The shell process entries run in, and how it ended if it has.
    shell: Pid,
    shell_end: Option<ShellEnd>,
    /// The process `:trace` watches, if any.
    tracing: Option<Pid>,
}

impl Keeper {
    /// Starts a new shell process.
    fn start_shell(&mut self, vm: &mut Vm) {
        self.shell_end = None;
        match vm.spawn("__weft_shell", vec![]) {
            Ok(shell) => self.shell = shell,
            Err(error) => self
                .console
                .err(format!("weft: cannot start the shell process: {error}\n")),
        }
    }

    fn report_crash(&self, pid: Pid, error: &weft_vm::RuntimeError) {
        let mut diagnostic = error.to_diagnostic(pid);
        // The shell's own frame is machinery, not the user's code.
        diagnostic
            .trace
            .retain(|line| !line.starts_with("in __weft_"));
        self.console.err(render(&[diagnostic], self.console.color));
    }

    /// Prints crash reports; notes how the shell ended, if it did. Other
    /// exits are not reported (as `weft run` does not).
    fn collect_events(&mut self, vm: &mut Vm) {
        if self.tracing.is_some() {
            self.print_watched(vm);
        }
        for event in vm.take_events() {
            match event {
                Event::Crash { pid, error } => {
                    self.report_crash(pid, &error);
                    if pid == self.shell {
                        self.shell_end = Some(ShellEnd::Crashed);
                    }
                }
                Event::Exit { pid, reason } if pid == self.shell => {
                    self.shell_end = Some(ShellEnd::Exited(reason));
                }
                _ => {}
            }
        }
    }

    /// If the shell has ended, says why (unless its crash report did) and
    /// starts a new one. True if it had ended.
    fn replace_dead_shell(&mut self, vm: &mut Vm) -> bool {
        let shell = self.shell;
        match self.shell_end.take() {
            Some(ShellEnd::Crashed) => {}
            Some(ShellEnd::Exited(reason)) => self.console.err(format!(
                "** the shell process {shell} exited: {}\n",
                reason.inspect()
            )),
            None if !vm.is_alive(shell) => self
                .console
                .err(format!("** the shell process {shell} exited\n")),
            None => return false,
        }
        self.start_shell(vm);
        true
    }

    /// Between entries: report crashes of background processes, and start
    /// a new shell if something killed this one.
    fn housekeeping(&mut self, vm: &mut Vm) {
        self.collect_events(vm);
        // Messages to the host pid: nothing sends them but user code that
        // got hold of it; drop them.
        while vm.recv().is_some() {}
        self.replace_dead_shell(vm);
    }

    /// Prints what the watched process sent, received and how it ended.
    fn print_watched(&mut self, vm: &mut Vm) {
        let Some(watched) = self.tracing else { return };
        let mut out = String::new();
        for event in vm.take_watched_messages() {
            match event.kind {
                TraceKind::Send { to, message, .. } if to == watched => {
                    out.push_str(&format!(
                        "[trace] {watched} <- {message} (from {})\n",
                        event.pid
                    ));
                }
                TraceKind::Send { to, message, .. } => {
                    out.push_str(&format!("[trace] {watched} -> {to}: {message}\n"));
                }
                TraceKind::Exit { reason } => {
                    out.push_str(&format!("[trace] {watched} exited: {reason}\n"));
                    self.tracing = None;
                }
                _ => {}
            }
        }
        if !out.is_empty() {
            self.console.out(out);
        }
    }
}

struct Session {
    vm: Vm,
    keep: Keeper,
    /// Where the editor's thread finds this VM's waker (a new VM after
    /// `:reset` replaces it).
    vm_waker: VmWaker,
    /// The session's variables, and their values in the same order.
    names: Vec<String>,
    values: Vec<Value>,
    /// Every module loaded this session, for `:disasm`.
    modules: Vec<Module>,
    /// The last entry's modules (`:disasm` with no name).
    last_entry: Vec<Module>,
    /// Entries compiled so far, to name each one's source `<repl:N>`.
    entries: u32,
    requests: Receiver<Request>,
    replies: Sender<Reply>,
    /// Ctrl-C presses not yet acted on.
    interrupt: Arc<AtomicU32>,
    snapshot: SharedNames,
    /// Requests that arrived while an entry was running.
    deferred: VecDeque<Request>,
    /// Each process's reductions at the last `:top` refresh, and when: the
    /// table sorts by what each spent since (not since it started).
    last_top: Option<(std::time::Instant, std::collections::HashMap<Pid, u64>)>,
    done: DoneSlot,
    /// The node this VM is, with `--sname` or `--name`.
    node: Option<weft_node::Node>,
}

impl Session {
    fn new(
        console: Console,
        vm_waker: VmWaker,
        requests: Receiver<Request>,
        replies: Sender<Reply>,
        snapshot: SharedNames,
        interrupt: Arc<AtomicU32>,
    ) -> Session {
        let done = DoneSlot::default();
        let mut vm = new_vm(&console, &done);
        let node = start_node(&mut vm, None);
        *vm_waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(vm.waker());
        let mut session = Session {
            node,
            done,
            keep: Keeper {
                shell: vm.host_pid(),
                shell_end: None,
                tracing: None,
                console,
            },
            vm,
            vm_waker,
            names: Vec::new(),
            values: Vec::new(),
            modules: Vec::new(),
            last_entry: Vec::new(),
            entries: 0,
            requests,
            replies,
            interrupt,
            snapshot,
            deferred: VecDeque::new(),
            last_top: None,
        };
        session.keep.start_shell(&mut session.vm);
        session.update_snapshot();
        session
    }

    /// Runs the VM and answers requests until told to quit. The VM runs
    /// in `Vm::drive` (the one loop that decides between running, waiting
    /// and idling); a request wakes it (`Handle`).
    fn serve(&mut self) {
        loop {
            while let Some(request) = self.deferred.pop_front() {
                if !self.handle(request) {
                    return;
                }
            }
            let requests = &self.requests;
            let keep = &mut self.keep;
            let mut arrived = None;
            let driven = self.vm.drive(|vm| {
                keep.housekeeping(vm);
                match requests.try_recv() {
                    Ok(request) => arrived = Some(Some(request)),
                    Err(TryRecvError::Disconnected) => arrived = Some(None),
                    Err(TryRecvError::Empty) => return ControlFlow::Continue(()),
                }
                ControlFlow::Break(())
            });
            let request = match (arrived, driven) {
                (Some(request), _) => request,
                // Nothing can run until the user asks for something.
                (None, Driven::Idle) => self.requests.recv().ok(),
                (None, Driven::Stopped) => continue,
            };
            let Some(request) = request else { return };
            if !self.handle(request) {
                return;
            }
        }
    }

    /// Carries out one request and replies; false for `Quit`.
    fn handle(&mut self, request: Request) -> bool {
        let ok = match request {
            Request::Eval(text) => self.eval(&text, false),
            Request::Time(text) => self.eval(&text, true),
            Request::Load(path) => self.load(&path),
            Request::Ps => {
                self.ps(false);
                true
            }
            Request::Top => {
                self.ps(true);
                true
            }
            Request::Kill(pid) => self.kill(&pid),
            Request::Trace(pid) => self.trace(&pid),
            Request::Disasm(name) => self.disasm(&name),
            Request::Reset => {
                self.vm.stop_all();
                self.vm = new_vm(&self.keep.console, &self.done);
                *self.vm_waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.vm.waker());
                self.keep.tracing = None;
                self.node = start_node(&mut self.vm, self.node.take());
                self.names.clear();
                self.values.clear();
                self.modules.clear();
                self.last_entry.clear();
                self.keep.start_shell(&mut self.vm);
                self.keep
                    .console
                    .out("the session is reset: a new VM, no variables, no functions\n");
                true
            }
            // A Ctrl-C with no entry running has nothing to interrupt.
            Request::Wake => {
                self.interrupt.store(0, Ordering::SeqCst);
                return true;
            }
            Request::Quit => {
                self.vm.stop_all();
                let _ = self.replies.send(Reply { ok: true });
                return false;
            }
        };
        self.update_snapshot();
        let _ = self.replies.send(Reply { ok });
        true
    }

    fn update_snapshot(&self) {
        let environment = self.vm.session_environment();
        let names = Names {
            variables: self.names.clone(),
            functions: environment
                .module_functions
                .iter()
                .filter(|name| !name.starts_with("__weft"))
                .cloned()
                .collect(),
            globals: environment.globals.iter().cloned().collect(),
        };
        if let Ok(mut snapshot) = self.snapshot.lock() {
            *snapshot = names;
        }
    }

    fn next_source_name(&mut self) -> String {
        self.entries += 1;
        format!("<repl:{}>", self.entries)
    }

    /// Compiles and runs an entry; prints its value (and, for `:time`, the
    /// cost).
    fn eval(&mut self, text: &str, timed: bool) -> bool {
        let name = self.next_source_name();
        let source = SourceFile::new(name, text);
        let started = Instant::now();
        let reductions = self.vm.stats().reductions;
        match self.run_entry(source, true) {
            Ok(_) => {
                if timed {
                    let elapsed = started.elapsed();
                    let spent = self.vm.stats().reductions.saturating_sub(reductions);
                    self.keep.console.out(format!(
                        "time: {}, reductions: {spent}\n",
                        duration_text(elapsed)
                    ));
                }
                true
            }
            Err(Failure::Reported) => false,
        }
    }

    /// `:load FILE`: the file is compiled as one entry.
    fn load(&mut self, path: &str) -> bool {
        let source = match read_source(path) {
            Ok(source) => source,
            Err(ReadError::Io(message)) => {
                self.keep.console.err(format!("weft: {message}\n"));
                return false;
            }
            Err(ReadError::NotText(diagnostic)) => {
                self.keep
                    .console
                    .err(render(&[*diagnostic], self.keep.console.color));
                return false;
            }
        };
        let before = self.names.clone();
        match self.run_entry(source, false) {
            Ok(_) => {
                let functions: Vec<String> = self
                    .last_entry
                    .last()
                    .map(|m| m.functions.iter().map(|(name, _)| name.clone()).collect())
                    .unwrap_or_default();
                let variables: Vec<&String> =
                    self.names.iter().filter(|n| !before.contains(n)).collect();
                let mut summary = format!("loaded {path}");
                if !functions.is_empty() {
                    summary.push_str(&format!("; functions: {}", functions.join(", ")));
                }
                if !variables.is_empty() {
                    let list: Vec<&str> = variables.iter().map(|s| s.as_str()).collect();
                    summary.push_str(&format!("; variables: {}", list.join(", ")));
                }
                summary.push('\n');
                self.keep.console.out(summary);
                true
            }
            Err(Failure::Reported) => false,
        }
    }

    /// Compiles an entry, loads it, has the shell run it and waits for the
    /// result. On success the session takes the entry's bindings.
    fn run_entry(&mut self, source: Arc<SourceFile>, show: bool) -> Result<Value, Failure> {
        let environment = self.vm.session_environment();
        let compiled = weft_compiler::compile_entry(
            source,
            "main",
            &environment,
            &mut FileLoader,
            &self.names,
        );
        let (modules, names) = match compiled {
            Ok(compiled) => compiled,
            Err(diagnostics) => {
                self.keep
                    .console
                    .err(render(&diagnostics, self.keep.console.color));
                return Err(Failure::Reported);
            }
        };
        self.modules.extend(modules.iter().cloned());
        self.last_entry = modules.clone();
        let entry = match self.vm.load_modules(modules) {
            Ok(entry) => entry,
            Err(error) => {
                self.keep
                    .console
                    .err(format!("internal compiler error: {error}\n"));
                return Err(Failure::Reported);
            }
        };
        let function = self.vm.entry_function(entry);
        self.keep.collect_events(&mut self.vm);
        self.keep.replace_dead_shell(&mut self.vm);
        let message = Value::tuple(vec![
            Value::atom("weft_repl_eval"),
            function,
            Value::tuple(self.values.clone()),
        ]);
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = Done { show, result: None };
        self.vm.send(self.keep.shell, message);
        let (value, bindings) = self.wait_for_result()?;
        match bindings.as_tuple() {
            Some(values) if values.len() == names.len() => {
                self.names = names;
                self.values = values.to_vec();
            }
            // Only a call of `__weft_repl_done` from user code gets here.
            _ => self
                .keep
                .console
                .err("** the entry's variables were lost; the earlier ones are kept\n"),
        }
        Ok(value)
    }

    /// Runs the VM until the shell sends back its result, dies, can never
    /// finish, or the user presses Ctrl-C.
    fn wait_for_result(&mut self) -> Result<(Value, Value), Failure> {
        /// Why the drive stopped.
        enum Stop {
            Interrupted,
            Result((Value, Value)),
            ShellDied,
        }
        let shell = self.keep.shell;
        let keep = &mut self.keep;
        let interrupt = &self.interrupt;
        let done = &self.done;
        let requests = &self.requests;
        let deferred = &mut self.deferred;
        let mut stop = None;
        let driven = self.vm.drive(|vm| {
            if interrupt.swap(0, Ordering::SeqCst) > 0 {
                stop = Some(Stop::Interrupted);
                return ControlFlow::Break(());
            }
            keep.collect_events(vm);
            let result = done.lock().unwrap_or_else(|e| e.into_inner()).result.take();
            if let Some(result) = result {
                // If the shell died since (a linked process crashed, say),
                // housekeeping reports it.
                stop = Some(Stop::Result(result));
                return ControlFlow::Break(());
            }
            while vm.recv().is_some() {}
            if keep.replace_dead_shell(vm) {
                stop = Some(Stop::ShellDied);
                return ControlFlow::Break(());
            }
            // Requests that come while the entry runs wait for it.
            while let Ok(request) = requests.try_recv() {
                if !matches!(request, Request::Wake) {
                    deferred.push_back(request);
                }
            }
            ControlFlow::Continue(())
        });
        match (stop, driven) {
            (Some(Stop::Result(result)), _) => Ok(result),
            (Some(Stop::ShellDied), _) => Err(Failure::Reported),
            (Some(Stop::Interrupted), _) => {
                self.vm.kill(shell);
                self.keep.console.err("** interrupted\n");
                self.keep.start_shell(&mut self.vm);
                Err(Failure::Reported)
            }
            (None, _) => {
                let waits = self
                    .vm
                    .blocked_processes()
                    .into_iter()
                    .find(|(pid, _)| *pid == shell)
                    .map(|(_, wait)| wait)
                    .unwrap_or_else(|| "something".to_string());
                self.keep.console.err(format!(
                    "** deadlock: the entry waits on {waits}, and every process is blocked\n"
                ));
                self.vm.kill(shell);
                self.keep.start_shell(&mut self.vm);
                Err(Failure::Reported)
            }
        }
    }

    /// `:ps` (by pid), or for `:top` the busiest first: the processes that
    /// spent the most reductions since the last refresh (`RECENT`).
    fn ps(&mut self, busiest_first: bool) {
        let shell = self.keep.shell;
        let mut rows = vec![[
            "PID".to_string(),
            "NAME".to_string(),
            "STATUS".to_string(),
            "WAITING ON".to_string(),
            if busiest_first { "RECENT" } else { "" }.to_string(),
            "REDUCTIONS".to_string(),
            "MAILBOX".to_string(),
            "MEMORY".to_string(),
        ]];
        let mut processes = self.vm.processes();
        // What each spent since the last refresh; a snapshot older than a
        // few refreshes belongs to an earlier `:top`, so it counts from 0.
        let now = std::time::Instant::now();
        let before = match self.last_top.take() {
            Some((at, seen)) if now.duration_since(at) < std::time::Duration::from_secs(5) => seen,
            _ => std::collections::HashMap::new(),
        };
        let recent =
            |pid: Pid, total: u64| total.saturating_sub(before.get(&pid).copied().unwrap_or(0));
        if busiest_first {
            processes.sort_by(|a, b| {
                recent(b.pid, b.reductions)
                    .cmp(&recent(a.pid, a.reductions))
                    .then(b.reductions.cmp(&a.reductions))
                    .then(a.pid.serial().cmp(&b.pid.serial()))
            });
        }
        for info in &processes {
            // The registered name (as an atom prints: `:"my server"` for
            // one that is not a plain name), else the function it started
            // in, as Erlang's `i()` shows its initial call.
            let name = match &info.name {
                Some(name) => Value::atom(name).inspect(),
                None if info.pid == shell => "(shell)".to_string(),
                None => info.initial_call.clone(),
            };
            let waiting = if info.status == "runnable" {
                String::new()
            } else {
                info.waiting_on.clone()
            };
            rows.push([
                info.pid.to_string(),
                name,
                info.status.to_string(),
                waiting,
                if busiest_first {
                    recent(info.pid, info.reductions).to_string()
                } else {
                    String::new()
                },
                info.reductions.to_string(),
                info.mailbox.to_string(),
                bytes_text(info.memory),
            ]);
        }
        if busiest_first {
            self.last_top = Some((
                now,
                processes.iter().map(|p| (p.pid, p.reductions)).collect(),
            ));
        }
        // `:ps` has no RECENT column.
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .filter(|&(i, _)| busiest_first || i != 4)
                    .map(|(_, cell)| cell)
                    .collect()
            })
            .collect();
        let mut widths = [0usize; 8];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
                // Numbers right-aligned, words left-aligned.
                if i >= 4 {
                    line.push_str(&format!("{cell:>width$}  "));
                } else {
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(&format!("{} processes\n", rows.len() - 1));
        self.keep.console.out(out);
    }

    /// `:trace PID` / `:trace off`.
    fn trace(&mut self, text: &str) -> bool {
        if text.trim() == "off" {
            self.vm.watch_messages(None);
            self.keep.tracing = None;
            self.keep.console.out("tracing is off\n");
            return true;
        }
        let Some(pid) = self.pid_argument(text) else {
            return false;
        };
        self.vm.watch_messages(Some(pid));
        self.keep.tracing = Some(pid);
        self.keep
            .console
            .out(format!("tracing {pid}'s messages (`:trace off` stops)\n"));
        true
    }

    /// A live process named by `<0.5>`, `5`, or a session variable holding
    /// a pid (`:kill worker`); reports and gives nothing otherwise.
    fn pid_argument(&mut self, text: &str) -> Option<Pid> {
        let variable = self
            .names
            .iter()
            .position(|n| n == text.trim())
            .and_then(|i| self.values[i].as_pid());
        let Some(serial) = variable
            .map(|pid| pid.serial())
            .or_else(|| super::commands::parse_pid(text))
        else {
            self.keep.console.err(format!(
                "weft: `{text}` is not a pid (write <0.5>, 5, or a variable holding a pid)\n"
            ));
            return None;
        };
        let pid = self.vm.pid_by_serial(serial);
        if pid.is_none() {
            self.keep
                .console
                .err(format!("weft: no process <0.{serial}> is alive\n"));
        }
        pid
    }

    fn kill(&mut self, text: &str) -> bool {
        let Some(pid) = self.pid_argument(text) else {
            return false;
        };
        self.vm.kill(pid);
        if pid == self.keep.shell {
            self.keep.start_shell(&mut self.vm);
            self.keep.console.out(format!(
                "killed the shell {pid}; the new shell is {}\n",
                self.keep.shell
            ));
        } else {
            self.keep.console.out(format!("killed {pid}\n"));
        }
        true
    }

    fn disasm(&mut self, name: &str) -> bool {
        let name = name.trim();
        if name.is_empty() {
            return match weft_compiler::disasm::function_text(&self.last_entry, "<entry>") {
                Some(text) => {
                    self.keep.console.out(text);
                    true
                }
                None => {
                    self.keep.console.err(
                        "weft: no entry has been compiled yet (:disasm NAME shows a function)\n",
                    );
                    false
                }
            };
        }
        if let Some(text) = weft_compiler::disasm::function_text(&self.modules, name) {
            self.keep.console.out(text);
            return true;
        }
        if let Some((module, member)) = name.split_once('.') {
            if let Some(text) = weft_stdlib::MODULES
                .iter()
                .find(|m| m.name == module)
                .map(|m| m.source)
            {
                let source = SourceFile::new(format!("<stdlib>/{module}.weft"), text);
                let environment = self.vm.environment();
                if let Ok(modules) = weft_compiler::compile(
                    source,
                    module,
                    &environment,
                    &mut weft_compiler::NoImports,
                ) {
                    if let Some(text) = weft_compiler::disasm::function_text(&modules, member) {
                        self.keep.console.out(text);
                        return true;
                    }
                }
            }
        }
        if self.vm.environment().globals.contains(name) {
            self.keep.console.err(format!(
                "weft: `{name}` is a native function (written in Rust): it has no bytecode\n"
            ));
        } else {
            self.keep
                .console
                .err(format!("weft: no function `{name}` is defined\n"));
        }
        false
    }
}

fn duration_text(elapsed: Duration) -> String {
    let micros = elapsed.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1e6 {
        format!("{:.3} ms", micros / 1000.0)
    } else {
        format!("{:.3} s", micros / 1e6)
    }
}

fn bytes_text(bytes: usize) -> String {
    if bytes < 10 * 1024 {
        format!("{bytes} B")
    } else if bytes < 10 * 1024 * 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{} MB", bytes / (1024 * 1024))
    }
}
