//! Host functions: Rust callable from Weft, in three shapes.
//!
//! - Typed ([`Vm::register`]): a closure of up to six arguments that
//!   implement [`FromValue`], returning something that implements
//!   [`IntoValue`] or a `Result` of it. The arity comes from the closure.
//! - With context ([`Vm::register_with_context`]): the raw arguments and a
//!   [`HostContext`] that knows the caller and can send, spawn and look up
//!   registered names.
//! - Asynchronous ([`Vm::register_async`]): the call parks only the caller
//!   and hands the host an [`Event::HostCall`](crate::Event::HostCall); the
//!   host answers later with [`Vm::complete`] (from any thread through a
//!   [`Completer`]).
//!
//! Invariants:
//! - A host function runs inside the caller's turn, on the thread running
//!   it, holding the caller's body: it must not block and cannot reach the
//!   VM except through its `HostContext`.
//! - A failed argument conversion is `:badarg` naming the function, the
//!   argument and the expected type; an `Err` from the function is `:host`;
//!   a panic is caught and is `:host` too. Each kills only the caller.
//! - An asynchronous call's ticket is answered at most once: `complete`
//!   takes it out of the table, and a caller that ended meanwhile (killed
//!   while waiting) has had its ticket removed, so `complete` says `false`.

use crate::data::convert::argument;
use std::fmt::Display;
use std::sync::Arc;

use crate::data::atom::Atom;
use crate::data::convert::{FromValue, IntoValue};
use crate::data::lock;
use crate::data::value::{Pid, Value};
use crate::host::api::Error;
use crate::host::vm::Vm;
use crate::interp::code::Global;
use crate::process::ctx::{Ctx, TicketAnswerer, Trap};
use crate::process::{Handoff, Wait};
use crate::runtime::dist::NodeHandle;
use crate::runtime::events::Ticket;

/// What a host function is inside the VM: arguments in, a value or a trap
/// (an error, or `Block` for an asynchronous call) out.
pub(crate) type HostCall =
    dyn Fn(&mut HostContext<'_>, &mut [Value]) -> Result<Value, Trap> + Send + Sync;

/// A host function as the interpreter calls it: a native that gives the
/// function its `HostContext` (with the name it was registered under), and
/// ends the caller if the function asked (`HostContext::send` past the
/// caller's mailbox limit).
pub(crate) fn as_native(name: &str, function: Arc<HostCall>) -> Arc<crate::process::ctx::HostCall> {
    let name: Arc<str> = Arc::from(name);
    Arc::new(move |ctx: &mut Ctx<'_>, args: &mut [Value]| {
        let mut context = HostContext {
            ctx: Ctx {
                process: &mut *ctx.process,
                fuel: &mut *ctx.fuel,
                vm: &mut *ctx.vm,
            },
            name: &name,
            exit: None,
        };
        let result = function(&mut context, args);
        match context.exit {
            Some(reason) => Err(Trap::Exit(reason)),
            None => result,
        }
    })
}

/// A Rust closure callable from Weft with typed arguments: implemented for
/// `Fn(A, B, ...) -> R` with up to six arguments `A, B, ...:`
/// [`FromValue`] and `R:` [`IntoHostResult`]. Used by [`Vm::register`].
pub trait HostFunction<Args>: Send + Sync + 'static {
    /// How many arguments the closure takes.
    const ARITY: u16;
    /// Converts the arguments, calls, converts the result. `Err((kind,
    /// message))` with kind `:badarg` or `:host`.
    #[doc(hidden)]
    fn call_typed(&self, name: &str, args: &[Value]) -> Result<Value, (Atom, String)>;
}

/// What a typed host function may return: any [`IntoValue`], or a
/// `Result` whose `Err` (anything `Display`) becomes the runtime error
/// `:host` with its text, in the caller only.
pub trait IntoHostResult {
    fn into_host_result(self) -> Result<Value, String>;
}

impl<T: IntoValue> IntoHostResult for T {
    fn into_host_result(self) -> Result<Value, String> {
        Ok(self.into_value())
    }
}

impl<T: IntoValue, E: Display> IntoHostResult for Result<T, E> {
    fn into_host_result(self) -> Result<Value, String> {
        self.map(IntoValue::into_value).map_err(|e| e.to_string())
    }
}

macro_rules! host_function {
    ($arity:literal; $($arg:ident $index:tt),*) => {
        impl<Func, Ret, $($arg),*> HostFunction<($($arg,)*)> for Func
        where
            Func: Fn($($arg),*) -> Ret + Send + Sync + 'static,
            Ret: IntoHostResult,
            $($arg: FromValue,)*
        {
            const ARITY: u16 = $arity;

            #[allow(unused_variables)]
            #[inline(always)]
            fn call_typed(&self, name: &str, args: &[Value]) -> Result<Value, (Atom, String)> {
                (self)($(argument::<$arg>(name, args, $index)?),*)
                    .into_host_result()
                    .map_err(|message| (Atom::HOST, message))
            }
        }
    };
}
host_function!(0;);
host_function!(1; A 0);
host_function!(2; A 0, B 1);
host_function!(3; A 0, B 1, C 2);
host_function!(4; A 0, B 1, C 2, D 3);
host_function!(5; A 0, B 1, C 2, D 3, E 4);
host_function!(6; A 0, B 1, C 2, D 3, E 4, F 5);

/// What a host function registered with [`Vm::register_with_context`] can
/// do besides computing its result: learn its caller, send messages, start
/// processes, look up registered names.
///
/// ```
/// use weft_vm::{HostContext, Value, Vm};
///
/// let mut vm = Vm::new();
/// // `game.hire(post)` starts a guard, tells the process registered as
/// // `captain` about it, and returns the guard's pid.
/// vm.register_with_context("game.hire", |ctx: &mut HostContext, args: &[Value]| {
///     let [post] = args else { return Err(format!("{} takes one argument", ctx.name())) };
///     let guard = ctx.spawn("guard", vec![post.clone()]).map_err(|e| e.to_string())?;
///     if let Some(captain) = ctx.whereis("captain") {
///         ctx.send(captain, Value::tuple(vec![Value::atom("hired"), guard.into()]));
///     }
///     Ok(guard.into())
/// });
/// vm.load("guards.weft", r#"
///     fn guard(post) { receive { :report => post } }
///     fn captain(host) { register(:captain, self()); command(host) }
///     fn command(host) { receive { (:hired, guard) => host ! (:new_guard, guard) }; command(host) }
///     fn hire(post) { game.hire(post) }
/// "#)?;
/// vm.spawn("captain", vec![vm.host_pid().into()])?;
/// vm.run_until_idle(); // the captain registers itself
/// let guard = vm.call("hire", vec![Value::from("gate")])?;
/// vm.run_until_idle();
/// assert_eq!(vm.recv(), Some(Value::tuple(vec![Value::atom("new_guard"), guard.clone()])));
/// assert!(vm.is_alive(guard.as_pid().unwrap()));
/// # Ok::<(), weft_vm::Error>(())
/// ```
pub struct HostContext<'a> {
    pub(crate) ctx: Ctx<'a>,
    pub(crate) name: &'a str,
    /// Set when the caller must die as the call returns (its mailbox
    /// overflowed with messages the function sent it).
    pub(crate) exit: Option<Value>,
}

impl HostContext<'_> {
    /// The process that called the function.
    pub fn caller(&self) -> Pid {
        self.ctx.process.pid
    }

    /// The name the function was called by (`"game.spawn_npc"`).
    pub fn name(&self) -> &str {
        self.name
    }

    /// Sends `value` to `pid` (the caller included: it gets the message
    /// after the call returns), as `pid ! value` would.
    pub fn send(&mut self, pid: Pid, value: Value) {
        if pid == self.ctx.process.pid {
            // The caller's mailbox limit holds here too: past it, the
            // message is dropped and the caller dies when the call returns
            // (as a process sending to itself does).
            let max = self.ctx.vm.limits().max_mailbox;
            if self.ctx.process.mailbox.len() >= max {
                self.exit = Some(crate::runtime::scheduler::mailbox_over(max));
                return;
            }
            self.ctx.process.mailbox.push_back(value);
        } else {
            self.ctx.vm.deliver(pid, value);
        }
    }

    /// Starts a process running the loaded function `function` (`"npc"`,
    /// `"list.sum"`) on `args`.
    pub fn spawn(&mut self, function: &str, args: Vec<Value>) -> Result<Pid, Error> {
        let function = self
            .ctx
            .vm
            .function_named(function)
            .ok_or_else(|| Error::NoFunction(function.to_string()))?;
        self.ctx
            .vm
            .spawn(&function, args, None)
            .map_err(crate::host::api::spawn_error)
    }

    /// The process registered as `name` (`register(:name, pid)`), if any.
    pub fn whereis(&self, name: &str) -> Option<Pid> {
        self.ctx.vm.whereis(Atom::lookup(name)?)
    }
}

/// Answers asynchronous host calls from any thread (a worker pool, an
/// async runtime): get one with [`Vm::completer`]. Each thread keeps its
/// own (cloning gives a new one). An answer wakes a host waiting in
/// [`Vm::wait_for_work`]; a host-stepped VM runs the caller at its next
/// [`Vm::run`].
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
/// use weft_vm::{Event, RunStatus, Ticket, Value, Vm};
///
/// let mut vm = Vm::new();
/// vm.register_async("assets.load", 1);
/// vm.load("level.weft", r#"fn start(host) { host ! assets.load("forest.map") }"#)?;
/// vm.spawn("start", vec![vm.host_pid().into()])?;
///
/// // A loader thread reads files and answers the calls itself.
/// let (to_loader, requests) = mpsc::channel::<(Ticket, String)>();
/// let mut completer = vm.completer();
/// let loader = std::thread::spawn(move || {
///     for (ticket, file) in requests {
///         let size = file.len() as i64 * 100; // stands in for reading the file
///         // False only if the caller died while it waited.
///         let _ = completer.complete(ticket, Ok(Value::from(size)));
///     }
/// });
///
/// let reply = loop {
///     let status = vm.run(10_000);
///     for event in vm.take_events() {
///         if let Event::HostCall { ticket, args, .. } = event {
///             to_loader.send((ticket, args[0].to_string())).expect("the loader runs");
///         }
///     }
///     if let Some(reply) = vm.recv() {
///         break reply;
///     }
///     if status != RunStatus::BudgetSpent {
///         vm.wait_for_work(Duration::from_millis(100)); // a completer wakes it
///     }
/// };
/// assert_eq!(reply, Value::from(1000));
/// drop(to_loader);
/// loader.join().expect("the loader ends");
/// # Ok::<(), weft_vm::Error>(())
/// ```
pub struct Completer {
    port: NodeHandle,
}

impl Clone for Completer {
    fn clone(&self) -> Completer {
        Completer {
            port: self.port.clone(),
        }
    }
}

impl Completer {
    pub(crate) fn new(port: NodeHandle) -> Completer {
        Completer { port }
    }

    /// Answers `ticket` (see [`Vm::complete`]); wakes a host waiting in
    /// [`Vm::wait_for_work`]. False if the ticket is unknown or its caller
    /// has ended.
    #[must_use = "false means the caller is gone (killed while it waited)"]
    pub fn complete(&mut self, ticket: Ticket, result: Result<Value, String>) -> bool {
        self.port.answer(ticket.0, result)
    }
}

impl Vm {
    /// Registers a host function callable from Weft by `name` (`"twice"`, or
    /// `"game.twice"` for `game.twice(x)`), taking raw arguments: `arity`
    /// is checked on each call, an `Err(message)` or a panic becomes the
    /// runtime error `(:error, :host, message)` in the calling process only.
    /// [`Vm::register`] does the same with typed arguments.
    ///
    /// ```
    /// use weft_vm::{Error, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.register_fn("game.twice", 1, |args: &[Value]| -> Result<Value, String> {
    ///     Ok(Value::from(args[0].as_int().ok_or("expected an int")? * 2))
    /// });
    /// vm.load("demo.weft", "fn go(x) { game.twice(x) }").unwrap();
    /// assert_eq!(vm.call("go", vec![Value::from(21)]).unwrap(), Value::from(42));
    /// // An `Err` kills the calling process (only) with (:error, :host, message).
    /// match vm.call("go", vec![Value::from("21")]) {
    ///     Err(Error::Runtime(error)) => {
    ///         assert_eq!(error.reason().to_string(), r#"(:error, :host, "expected an int")"#)
    ///     }
    ///     other => panic!("expected a :host error, got {other:?}"),
    /// }
    /// ```
    ///
    /// Register host functions before loading the scripts that call them:
    /// names are resolved when a script is compiled, so a call of an
    /// unregistered name is a compile error. Registering a name again
    /// replaces the function (scripts already loaded call the new one). The
    /// function runs on the thread running the calling process, inside its
    /// turn; it costs one reduction however long it takes, so keep it
    /// short (or make it asynchronous). It may capture host state (it must
    /// be `Send + Sync + 'static`: use `Arc<Mutex<..>>` or atomics). A
    /// panic is caught (Rust's panic hook still reports it) and becomes
    /// `(:error, :host, "host function panicked: ...")`.
    pub fn register_fn<F>(&mut self, name: &str, arity: u8, function: F)
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        let call = move |_: &mut HostContext<'_>, args: &mut [Value]| {
            function(args).map_err(|message| Trap::Error(Atom::HOST, message))
        };
        self.define_host(name, Arc::new(call), Some(arity as u16));
    }

    /// Registers a typed host function: its arguments are read with
    /// [`FromValue`] and its result made with [`IntoValue`]; the arity is
    /// the closure's. A wrong argument is the runtime error `:badarg`
    /// naming the function, the argument and the type it needs; a returned
    /// `Err(e)` is `:host` with `e`'s text. Either kills only the caller.
    ///
    /// ```
    /// use weft_vm::{Error, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.register("game.damage", |hp: i64, hit: i64| (hp - hit).max(0));
    /// vm.register("game.name", |id: u32| -> Result<String, String> {
    ///     if id < 3 { Ok(format!("npc-{id}")) } else { Err(format!("no npc {id}")) }
    /// });
    /// vm.load("demo.weft", r#"
    ///     fn hurt(hp) { game.damage(hp, 30) }
    ///     fn name(id) { game.name(id) }
    /// "#)?;
    /// assert_eq!(vm.call("hurt", vec![Value::from(100)])?, Value::from(70));
    /// assert_eq!(vm.call("name", vec![Value::from(1)])?, Value::from("npc-1"));
    /// let Err(Error::Runtime(error)) = vm.call("hurt", vec![Value::from("lots")]) else { panic!() };
    /// assert_eq!(error.reason().to_string(),
    ///     r#"(:error, :badarg, "game.damage: argument 1: expected an int, got \"lots\"")"#);
    /// let Err(Error::Runtime(error)) = vm.call("name", vec![Value::from(7)]) else { panic!() };
    /// assert_eq!(error.reason().to_string(), r#"(:error, :host, "no npc 7")"#);
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    ///
    /// Tuples, lists, options and maps convert element by element (see
    /// [`FromValue`] for the whole table), and a wrong element is named:
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use weft_vm::{Error, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.register("game.distance", |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).hypot(a.1 - b.1));
    /// vm.register("game.price", |prices: HashMap<String, i64>, item: String| prices.get(&item).copied());
    /// vm.register("game.total", |costs: Vec<u32>| costs.iter().sum::<u32>());
    /// vm.load("shop.weft", r#"
    ///     fn go() {
    ///       let prices = %{"rope" => 3, "lamp" => 12}
    ///       (game.distance((0, 0), (3, 4)), game.price(prices, "rope"), game.price(prices, "map"),
    ///        game.total([1, 2, 3]))
    ///     }
    ///     fn bad() { game.distance((0, :north), (3, 4)) }
    /// "#)?;
    /// assert_eq!(vm.call("go", vec![])?.to_string(), "(5.0, 3, nil, 6)");
    /// let Err(Error::Runtime(error)) = vm.call("bad", vec![]) else { panic!("expected :badarg") };
    /// assert_eq!(error.message, "game.distance: argument 1: element 1: expected a number, got :north");
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    pub fn register<Args, F: HostFunction<Args>>(&mut self, name: &str, function: F) {
        let shown: Arc<str> = Arc::from(name);
        let call = move |_: &mut HostContext<'_>, args: &mut [Value]| {
            function
                .call_typed(&shown, args)
                .map_err(|(kind, message)| Trap::Error(kind, message))
        };
        self.define_host(name, Arc::new(call), Some(F::ARITY));
    }

    /// Registers a host function that gets a [`HostContext`] (its caller,
    /// and ways to send, spawn and find registered processes) with its raw
    /// arguments. Any number of arguments is accepted: check them in the
    /// function. An `Err(message)` is the runtime error `:host`.
    ///
    /// ```
    /// use weft_vm::{HostContext, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// // Replies to the caller by message, and returns at once.
    /// vm.register_with_context("game.ask", |ctx: &mut HostContext, args: &[Value]| {
    ///     let caller = ctx.caller();
    ///     ctx.send(caller, Value::tuple(vec![Value::atom("answer"), args[0].clone()]));
    ///     Ok(Value::atom("asked"))
    /// });
    /// vm.load("ask.weft", "fn go() { let r = game.ask(42); receive { (:answer, x) => (r, x) } }")?;
    /// assert_eq!(vm.call("go", vec![])?.to_string(), "(:asked, 42)");
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    pub fn register_with_context<F>(&mut self, name: &str, function: F)
    where
        F: Fn(&mut HostContext<'_>, &[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        let call = move |ctx: &mut HostContext<'_>, args: &mut [Value]| {
            function(ctx, args).map_err(|message| Trap::Error(Atom::HOST, message))
        };
        self.define_host(name, Arc::new(call), None);
    }

    /// Registers an asynchronous host function of `arity` arguments. A call
    /// parks only the calling process and reports [`Event::HostCall`]
    /// with a [`Ticket`]
    /// (collect it with [`Vm::take_events`]); the others keep running. The
    /// host answers when it is ready — the next frame, after a file loads,
    /// from another thread — with [`Vm::complete`]: `Ok(value)` is what the
    /// call returns, `Err(message)` the runtime error `:host`. A caller
    /// killed while it waits cancels its ticket (`complete` then says
    /// `false`).
    ///
    /// The arity is checked on each call (a wrong count is `:badarity` and
    /// reports no event). A call has no timeout: a caller waits until the
    /// host answers or the process is killed, and while it waits `run` may
    /// return [`RunStatus::Idle`](crate::RunStatus::Idle), so the host keeps
    /// its own list of the tickets it owes. [`Vm::call`] does not wait for
    /// answers: a function that makes an asynchronous call is
    /// [`Error::Deadlock`] there.
    ///
    /// ```
    /// use weft_vm::{Event, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.register_async("assets.load", 1);
    /// vm.load("level.weft", r#"fn start(host) { host ! (:loaded, assets.load("forest")) }"#)?;
    /// vm.spawn("start", vec![vm.host_pid().into()])?;
    /// vm.run_until_idle(); // the process waits; nothing else to do
    /// let mut tickets = Vec::new();
    /// for event in vm.take_events() {
    ///     if let Event::HostCall { ticket, name, args, .. } = event {
    ///         assert_eq!((name.as_str(), args[0].as_str()), ("assets.load", Some("forest")));
    ///         tickets.push(ticket);
    ///     }
    /// }
    /// // ...frames later, the asset is ready:
    /// assert!(vm.complete(tickets[0], Ok(Value::from(1024))));
    /// vm.run_until_idle();
    /// assert_eq!(vm.recv().unwrap().to_string(), "(:loaded, 1024)");
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    pub fn register_async(&mut self, name: &str, arity: u8) {
        let shown: Arc<str> = Arc::from(name);
        let call = move |ctx: &mut HostContext<'_>, args: &mut [Value]| {
            // Woken with the answer: the call returns it.
            match ctx.ctx.process.handoff.take() {
                Some(Handoff::Received { value, .. }) => return Ok(value),
                Some(Handoff::Failed(message)) => return Err(Trap::Error(Atom::HOST, *message)),
                _ => {}
            }
            let ctx = &mut ctx.ctx;
            let caller = ctx.process.pid;
            // The wait is on the ticket's number, known once it is made.
            let waiter = ctx.park(Wait::Host(0));
            let ticket = ctx.vm.new_ticket(waiter, false);
            ctx.process.status = crate::process::Status::Waiting(Wait::Host(ticket));
            ctx.vm.host_call(ticket, caller, &shown, args.to_vec());
            Err(Trap::Block)
        };
        self.define_host(name, Arc::new(call), Some(arity as u16));
    }

    /// Registers a host function answered by a future on the host's tokio
    /// runtime (feature `tokio`): a call parks only the caller, the future
    /// `function(args)` is spawned on the runtime that was current when
    /// this was called, and its output is what the call returns (`Err` is
    /// the runtime error `:host`). Any number of arguments is accepted.
    /// Register from inside the runtime (a call made when none was current
    /// fails with `:host`). A host that steps the VM itself sleeps in
    /// [`Vm::wait_for_work`], which a finished future wakes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_vm::{RunStatus, Value, Vm};
    ///
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// let mut vm = Vm::new();
    /// runtime.block_on(async {
    ///     vm.register_future("net.fetch", |args: Vec<Value>| async move {
    ///         tokio::time::sleep(Duration::from_millis(5)).await;
    ///         Ok(Value::from(format!("page {}", args[0])))
    ///     });
    /// });
    /// vm.load("f.weft", "fn go(host) { host ! net.fetch(7) }").unwrap();
    /// vm.spawn("go", vec![vm.host_pid().into()]).unwrap();
    /// let reply = loop {
    ///     if let Some(reply) = vm.recv() { break reply; }
    ///     if vm.run(10_000) != RunStatus::BudgetSpent {
    ///         vm.wait_for_work(Duration::from_millis(100));
    ///     }
    /// };
    /// assert_eq!(reply, Value::from("page 7"));
    /// ```
    #[cfg(feature = "tokio")]
    pub fn register_future<F, Fut>(&mut self, name: &str, function: F)
    where
        F: Fn(Vec<Value>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Value, String>> + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let shown: Arc<str> = Arc::from(name);
        let call = move |ctx: &mut HostContext<'_>, args: &mut [Value]| {
            match ctx.ctx.process.handoff.take() {
                Some(Handoff::Received { value, .. }) => return Ok(value),
                Some(Handoff::Failed(message)) => return Err(Trap::Error(Atom::HOST, *message)),
                _ => {}
            }
            let Some(runtime) = &runtime else {
                return Err(Trap::Error(
                    Atom::HOST,
                    format!("{shown} was registered outside a tokio runtime"),
                ));
            };
            let ctx = &mut ctx.ctx;
            let waiter = ctx.park(Wait::Host(0));
            let ticket = ctx.vm.new_ticket(waiter, true);
            ctx.process.status = crate::process::Status::Waiting(Wait::Host(ticket));
            let mut answerer = ctx.vm.completer();
            let future = function(args.to_vec());
            runtime.spawn(async move {
                let result = future.await;
                // A caller killed meanwhile has no one to answer.
                let _ = answerer.answer(ticket, result);
            });
            Err(Trap::Block)
        };
        self.define_host(name, Arc::new(call), None);
    }

    /// Answers an asynchronous host call (see [`Vm::register_async`]):
    /// `Ok(value)` is what the call returns, `Err(message)` the runtime
    /// error `:host` in the caller. False if the ticket was answered
    /// already or its caller has ended.
    ///
    /// A game answers when the work is done, frames later; the caller waits
    /// and everything else goes on:
    ///
    /// ```
    /// use weft_vm::{Event, IntoValue, RunStatus, Ticket, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.register_async("assets.load", 1);
    /// vm.load("level.weft", r#"
    ///     fn hero(host) { host ! (:ready, assets.load("hero.png")) }
    ///     fn clock(host) { receive { n => host ! (:tick, n) }; clock(host) }
    /// "#)?;
    /// vm.spawn("hero", vec![vm.host_pid().into()])?;
    /// let clock = vm.spawn("clock", vec![vm.host_pid().into()])?;
    ///
    /// // Loads in flight: the ticket, the file, and the frame it is read by.
    /// let mut loading: Vec<(Ticket, String, i64)> = Vec::new();
    /// let mut log = Vec::new();
    /// for frame in 0..4 {
    ///     // Answer the loads that are done; their callers run this frame.
    ///     let (done, pending) = loading.into_iter().partition(|load| load.2 <= frame);
    ///     loading = pending;
    ///     for (ticket, file, _) in done {
    ///         let sprite = (Value::atom("sprite"), file).into_value();
    ///         assert!(vm.complete(ticket, Ok(sprite)));
    ///     }
    ///     vm.send(clock, Value::from(frame));
    ///     // Idle, even while the hero waits: the host knows what it owes.
    ///     assert_eq!(vm.run(5_000), RunStatus::Idle);
    ///     for event in vm.take_events() {
    ///         if let Event::HostCall { ticket, name, args, .. } = event {
    ///             assert_eq!(name, "assets.load");
    ///             loading.push((ticket, args[0].to_string(), frame + 2)); // read in two frames
    ///         }
    ///     }
    ///     while let Some(message) = vm.recv() {
    ///         log.push(format!("frame {frame}: {message}"));
    ///     }
    /// }
    /// assert_eq!(log, [
    ///     "frame 0: (:tick, 0)",
    ///     "frame 1: (:tick, 1)",
    ///     r#"frame 2: (:ready, (:sprite, "hero.png"))"#,
    ///     "frame 2: (:tick, 2)",
    ///     "frame 3: (:tick, 3)",
    /// ]);
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    #[must_use = "false means the caller is gone (killed while it waited)"]
    pub fn complete(&mut self, ticket: Ticket, result: Result<Value, String>) -> bool {
        let shared = self.shared.clone();
        shared.complete(&mut self.scheduler, ticket, result)
    }

    /// A handle that answers asynchronous host calls from another thread
    /// (see [`Completer`]).
    pub fn completer(&self) -> Completer {
        Completer::new(NodeHandle::new(self.shared.clone()))
    }

    /// How many asynchronous host calls wait for their answer. `run`
    /// reports [`RunStatus::Idle`](crate::RunStatus::Idle) while they do
    /// (nothing can run), so a host that answers them itself checks this.
    pub fn pending_host_calls(&self) -> usize {
        lock(&self.shared.tickets).len()
    }

    /// Whether an answer may still wake a waiting process without the
    /// host: a future is working on a pending host call, or the VM is a
    /// node (a message may come from the network). A `Completer` does not
    /// count: it learns of calls only from the host's `take_events`.
    ///
    /// An idle VM for which this holds is waiting, not deadlocked.
    pub fn answer_may_come(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.is_node()
            || self.shared.futures_pending.load(Ordering::Acquire) > 0
            || lock(&self.shared.sources)
                .iter()
                .any(|source| source.may_wake())
    }

    /// Whether the process is alive (the same as [`Vm::is_alive`]): whether
    /// anyone still waits for an answer.
    ///
    /// ```
    /// use weft_vm::{Event, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// vm.register_async("game.path", 2);
    /// vm.load("walker.weft", "fn walk() { game.path((0, 0), (3, 4)) }")?;
    /// let walker = vm.spawn("walk", vec![])?;
    /// vm.run_until_idle();
    /// let Some(Event::HostCall { ticket, caller, .. }) = vm.take_events().pop() else {
    ///     panic!("expected a host call");
    /// };
    /// assert_eq!(caller, walker);
    /// vm.kill(walker); // the level ends before the path is found
    /// assert!(!vm.process_alive(caller));
    /// assert!(!vm.complete(ticket, Ok(Value::nil()))); // no one is waiting
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    pub fn process_alive(&self, pid: Pid) -> bool {
        self.shared.is_alive(pid)
    }

    fn define_host(&mut self, name: &str, function: Arc<HostCall>, arity: Option<u16>) {
        let function = as_native(name, function);
        self.code_mut()
            .define(name, Global::Host { function, arity });
    }
}
