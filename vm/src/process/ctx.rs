//! What a function written in Rust sees of the VM: `Ctx` — its own process,
//! the fuel left in the slice, and the narrow set of things it may ask of
//! the rest of the VM (`Runtime`). Builtins (`natives/`), host functions
//! (`host/`) and the continuations of natives that call Weft all get one.
//!
//! Invariants:
//! - A native reaches other processes, timers, channels, the registry and
//!   the network only through `Runtime`, never through the scheduler's own
//!   state: the runtime layer implements the trait, and nothing above this
//!   layer depends on how.
//! - A native never calls Weft on the Rust stack. To call a function it
//!   returns the trap `Ctx::call` gives, naming a `Continuation`; the
//!   interpreter makes the call an ordinary frame and resumes the
//!   continuation with its result (piccolo's `CallbackReturn::Call`).
//! - Work beyond one call is paid from `fuel` before or while it is done
//!   (`Fuel::charge`), so a slice stays a slice.

use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::data::atom::Atom;
use crate::data::channel::{ChanOutcome, Channel};
use crate::data::limits::Limits;
use crate::data::ops::OpError;
use crate::data::remote::RemotePid;
use crate::data::value::{Pid, Value};
use crate::process::{Process, Wait};

pub(crate) use crate::data::fuel::Fuel;

/// What a native can do besides returning a value.
pub(crate) enum Trap {
    /// A runtime error of this kind.
    Error(Atom, String),
    /// Wait; the call runs again when the process is woken.
    Block,
    /// Return nil and let other processes run.
    Yield,
    /// End the process with this reason.
    Exit(Value),
    /// Call a function, then continue in Rust with its result: the request
    /// waits in the process (`Ctx::call`).
    Call,
    /// Save the running process (`process.save(self())`, or
    /// `process.image_for_move()` when `moving`): only the interpreter knows
    /// where the call's result goes, which the image must name, so it
    /// makes the image (`interp::save_self`).
    SaveSelf { moving: bool },
}

pub(crate) type NativeResult = Result<Value, Trap>;

pub(crate) type NativeFn = fn(&mut Ctx<'_>, &mut [Value]) -> NativeResult;

/// A host function inside the VM: a native that is a closure (it may hold
/// the host's state).
pub(crate) type HostCall = dyn Fn(&mut Ctx<'_>, &mut [Value]) -> NativeResult + Send + Sync;

/// A native function and the argument counts it accepts.
#[derive(Clone, Copy)]
pub(crate) struct Native {
    pub name: &'static str,
    pub min: u16,
    /// `ANY` for any number.
    pub max: u16,
    pub func: NativeFn,
}

/// A native's `max` when it takes any number of arguments.
pub(crate) const ANY: u16 = u16::MAX;

/// Shorthand for a table entry: `native("len", 1, 1, len)`.
pub(crate) const fn native(name: &'static str, min: u16, max: u16, func: NativeFn) -> Native {
    Native {
        name,
        min,
        max,
        func,
    }
}

/// What a native does with the result of a function it asked to call.
pub(crate) trait Continuation: Send {
    /// Continues with `result`: a final value, another call, or an error.
    fn resume(self: Box<Self>, ctx: &mut Ctx<'_>, result: Value) -> NativeResult;
}

/// A native's request: call `function` with the `argc` arguments already
/// placed above the caller's registers (see `Ctx::call`), then `then`.
pub(crate) struct CallRequest {
    pub function: Value,
    pub argc: usize,
    pub then: Box<dyn Continuation>,
}

impl std::fmt::Debug for CallRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRequest")
            .field("function", &self.function)
            .field("argc", &self.argc)
            .finish_non_exhaustive()
    }
}

/// A process waiting in a call that another thread finishes (a network
/// operation, `node.connect`, an asynchronous host call): the process and
/// the wait it is in. An answer meant for an earlier wait is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiter {
    pub(crate) pid: Pid,
    pub(crate) token: u32,
}

impl Waiter {
    /// The waiter for the wait `process` is in now.
    pub(crate) fn of(process: &Process) -> Waiter {
        Waiter {
            pid: process.pid,
            token: process.wait_token,
        }
    }
}

/// How a thread outside the schedulers (a network poller, a connection's
/// reader, a host's worker) reaches processes: it finishes a waiter's call
/// or sends a message, and the process is woken as by a local sender.
/// (Only `net` uses one today; the node's connections have their own.)
#[cfg_attr(not(feature = "net"), allow(dead_code))]
pub(crate) trait Port: Send {
    /// Ends `waiter`'s wait with `value` (its call returns it).
    fn complete(&mut self, waiter: Waiter, value: Value);
    /// `to ! message`.
    fn send(&mut self, to: Pid, message: Value);
}

/// Something outside the schedulers that may still wake a process (a
/// poller with open sockets, a host call not yet answered): while one says
/// so, a VM with nothing to run is waiting, not deadlocked.
pub(crate) trait Source: Send + Sync {
    fn may_wake(&self) -> bool;
}

/// What the modules written in Rust keep per VM (the `net` poller), by
/// type: the runtime holds them without knowing what they are.
#[cfg_attr(not(feature = "net"), allow(dead_code))]
#[derive(Default)]
pub(crate) struct Extensions {
    items: Mutex<FxHashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

#[cfg_attr(not(feature = "net"), allow(dead_code))]
impl Extensions {
    /// The `T` of this VM, made by `start` on first use.
    pub(crate) fn get_or_start<T: Any + Send + Sync>(
        &self,
        start: impl FnOnce() -> Result<Arc<T>, String>,
    ) -> Result<Arc<T>, String> {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(item) = items.get(&TypeId::of::<T>()) {
            if let Ok(item) = item.clone().downcast::<T>() {
                return Ok(item);
            }
        }
        let item = start()?;
        items.insert(TypeId::of::<T>(), item.clone());
        Ok(item)
    }
}

/// What taking another process out of its slot to move it came to
/// (`process.migrate`): its body, its image and its registered name.
pub(crate) type HoldOutcome =
    crate::data::image::SaveOutcome<(Box<Process>, Vec<u8>, Option<Atom>)>;

/// Another process as `process.info` and the process list see it.
pub(crate) struct Glance {
    pub status: Atom,
    pub reductions: u64,
    pub mailbox: usize,
    pub memory: usize,
}

/// What a native may ask of the VM beyond its own process. The runtime
/// implements it; each method says what LANGUAGE.md operation it is.
pub(crate) trait Runtime {
    /// Nanoseconds since the VM started.
    fn now(&self) -> u64;
    /// The time `ms` milliseconds from now, in `now`'s units.
    fn deadline(&self, ms: f64) -> u64;
    fn limits(&self) -> &Limits;
    /// Parks `process` on `wait` until a signal ends it (or `deadline`).
    fn block(&mut self, process: &mut Process, wait: Wait, deadline: Option<u64>);

    /// A message from outside any process (a host function's `send`).
    fn deliver(&mut self, to: Pid, message: Value);
    /// `exit(pid, reason)` and `kill(pid)` for a local pid.
    fn exit_signal(&mut self, to: Pid, from: Pid, reason: Value, untrappable: bool);
    fn link(&mut self, process: &mut Process, other: Pid) -> Result<(), Value>;
    fn unlink(&mut self, process: &mut Process, other: Pid);
    fn monitor(&mut self, process: &mut Process, target: Pid) -> u64;
    fn demonitor(&mut self, process: &mut Process, reference: u64) -> bool;
    fn link_remote(&mut self, process: &mut Process, to: &RemotePid) -> Result<(), OpError>;
    fn unlink_remote(&mut self, process: &mut Process, to: &RemotePid) -> Result<(), OpError>;
    fn monitor_remote(&mut self, process: &mut Process, to: &RemotePid) -> Result<u64, OpError>;
    /// `monitor((name, node))`; `target` is that pair, as the `:down`
    /// message will name it.
    fn monitor_named(
        &mut self,
        process: &mut Process,
        name: Atom,
        node: &str,
        target: &Value,
    ) -> Result<u64, OpError>;
    fn exit_remote(
        &mut self,
        process: &mut Process,
        to: &RemotePid,
        reason: &Value,
    ) -> Result<(), OpError>;
    /// `spawn f(args)` (linked to `link` if given).
    fn spawn(
        &mut self,
        function: &Value,
        args: Vec<Value>,
        link: Option<&mut Process>,
    ) -> Result<Pid, OpError>;
    /// The loaded function named `name` (`"npc"` is the script's own).
    fn function_named(&self, name: &str) -> Option<Value>;

    fn register(&mut self, name: Atom, pid: Pid) -> Result<(), OpError>;
    fn whereis(&self, name: Atom) -> Option<Pid>;
    /// `pg.join`, `pg.leave`, `pg.members` (runtime/groups.rs).
    fn pg_join(&mut self, group: &Value, pids: &[Pid]);
    fn pg_leave(&mut self, group: &Value, pids: &[Pid]) -> bool;
    fn pg_members(&self, group: &Value) -> Vec<Value>;
    /// A pid, or the pid registered under an atom.
    fn resolve(&self, target: &Value) -> Result<Pid, OpError>;
    fn is_alive(&self, pid: Pid) -> bool;
    fn remote_alive(&self, to: &RemotePid) -> bool;
    /// The live processes, by serial.
    fn pids(&self) -> Vec<Pid>;
    /// Saves another process of this VM at a safe point (`process.save`).
    fn save_process(&mut self, pid: Pid) -> crate::data::image::SaveOutcome;
    /// Starts a process from `image`, a bytes value (`process.restore`).
    fn restore_process(&mut self, image: &Value) -> Result<Pid, crate::data::image::RestoreError>;
    /// Takes another process out of its slot and saves it: it stays
    /// stopped until `end_held` or `put_back` (`process.migrate`).
    fn hold_process(&mut self, pid: Pid) -> HoldOutcome;
    /// Ends a held process with `reason` (links and monitors see it).
    fn end_held(&mut self, process: Box<Process>, reason: Value);
    /// Lets a held process go on where it was.
    fn put_back(&mut self, process: Box<Process>);

    /// Another process as it was when it last parked or yielded.
    fn glance(&self, pid: Pid) -> Option<Glance>;
    fn make_ref(&mut self) -> u64;
    fn send_after(&mut self, ms: f64, to: Pid, message: Value);

    fn new_channel(&mut self, capacity: usize) -> Arc<Channel>;
    fn chan_recv(&mut self, process: &mut Process, channel: &Arc<Channel>) -> ChanOutcome;
    /// `Ok(value)`, or `Err(closed)`.
    fn try_recv(&mut self, channel: &Arc<Channel>) -> Result<Value, bool>;
    fn balance(&self, channel: &Channel) -> i64;
    fn close_channel(&mut self, channel: &Arc<Channel>) -> Result<(), OpError>;

    fn write_output(&self, text: &str);
    fn write_error(&self, text: &str);
    fn args(&self) -> Vec<String>;
    /// The next 64 random bits of the VM's generator.
    fn random(&mut self) -> u64;
    fn seed_random(&mut self, seed: u64);

    /// This node's name (`nonode@nohost` when the VM is not a node).
    fn node_name(&self) -> Atom;
    /// The nodes connected now; empty when the VM is not a node.
    fn nodes(&self) -> Vec<Atom>;
    fn is_node(&self) -> bool;
    fn is_connected(&self, node: &str) -> bool;
    /// Connects to `node` in the background and finishes `waiter` with
    /// `true` or `false` (false at once when the VM is not a node).
    fn connect_node(&mut self, node: &str, waiter: Waiter);
    fn monitor_node(&mut self, pid: Pid, node: &str);

    /// A port for a thread of this VM's own (`Port`).
    #[cfg_attr(not(feature = "net"), allow(dead_code))]
    fn port(&self) -> Box<dyn Port>;
    /// Registers something outside the schedulers that may wake processes.
    #[cfg_attr(not(feature = "net"), allow(dead_code))]
    fn add_source(&self, source: Arc<dyn Source>);
    #[cfg_attr(not(feature = "net"), allow(dead_code))]
    fn extensions(&self) -> &Extensions;

    /// Records an asynchronous host call waiting for its answer; its
    /// ticket. (`by_future`: a future on the host's runtime answers it.)
    fn new_ticket(&mut self, waiter: Waiter, by_future: bool) -> u64;
    /// Asks the host to answer an asynchronous call (`Event::HostCall`).
    fn host_call(&mut self, ticket: u64, caller: Pid, name: &str, args: Vec<Value>);
    /// A `Completer` for a thread outside the VM (the host's futures).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    fn completer(&self) -> Box<dyn TicketAnswerer>;

    /// Where the registers of a call the top frame makes begin (just above
    /// its own).
    fn frame_top(&self, process: &Process) -> usize;
}

/// Answers asynchronous host calls from another thread.
pub(crate) trait TicketAnswerer: Send {
    fn answer(&mut self, ticket: u64, result: Result<Value, String>) -> bool;
}

/// A function written in Rust, running: its process, its fuel, the VM.
pub(crate) struct Ctx<'a> {
    pub process: &'a mut Process,
    pub fuel: &'a mut Fuel,
    pub vm: &'a mut dyn Runtime,
}

impl Ctx<'_> {
    /// Charges `work` elements processed (see `Fuel::charge`).
    #[inline]
    pub(crate) fn charge(&mut self, work: usize) {
        self.fuel.charge(work);
    }

    /// Whether a value of about `bytes` may be built now (the process's and
    /// the VM's heap limits, `memory::admit`), as a `:system_limit` error.
    pub(crate) fn admit(&self, bytes: usize, what: &str) -> Result<(), Trap> {
        crate::data::memory::admit(self.vm.limits(), bytes)
            .map_err(|why| Trap::Error(Atom::SYSTEM_LIMIT, format!("{what}: {why}")))
    }

    /// Parks the caller on `wait` (with no deadline) and returns the waiter
    /// another thread answers it through.
    pub(crate) fn park(&mut self, wait: Wait) -> Waiter {
        self.vm.block(self.process, wait, None);
        Waiter::of(self.process)
    }

    /// Pauses a builtin whose fuel ran out in the middle of its work: the
    /// process yields (through a call of `yield`, an ordinary frame), and
    /// `then` goes on with the rest next slice. So a builtin over ten
    /// million elements keeps a slice a slice (`natives::chunked`).
    pub(crate) fn pause(&mut self, then: Box<dyn Continuation>) -> Trap {
        match self.vm.function_named("yield") {
            Some(yield_function) => self.call(yield_function, [], then),
            // Without `yield` (never: it is a builtin) the work goes on.
            None => self.call(Value::Nil, [], then),
        }
    }

    /// Asks the interpreter to call `function(args)` and then resume
    /// `then` with its result; the native returns the trap this gives. The
    /// request waits in the process (no allocation beyond the continuation,
    /// whose box a native reuses from one call to the next).
    pub(crate) fn call(
        &mut self,
        function: Value,
        args: impl IntoIterator<Item = Value>,
        then: Box<dyn Continuation>,
    ) -> Trap {
        // The arguments go straight where the callee's frame will find
        // them: above the caller's registers, after one slot for the
        // function itself (which a trampoline needs).
        let top = self.vm.frame_top(self.process);
        let mut argc = 0;
        for value in args {
            let at = top + 1 + argc;
            if self.process.stack.len() <= at {
                self.process.stack.resize(at + 1, Value::Nil);
            }
            self.process.stack[at] = value;
            argc += 1;
        }
        self.process.extra().request = Some(CallRequest {
            function,
            argc,
            then,
        });
        Trap::Call
    }
}
