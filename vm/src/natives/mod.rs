//! Functions written in Rust: the global builtins and the standard modules.
//!
//! A native receives the running process and the scheduler through `Ctx`
//! and its arguments by value (moved out of the caller's registers, so a
//! native that holds the only reference to a list may update it in place).
//! It never calls Weft on the Rust stack: one that takes a function
//! argument (`list.map`) returns `Trap::Call` from `Ctx::call` and continues
//! in a `Continuation` with the result (`continuation.rs`), which keeps the
//! interpreter stackless.

pub(crate) mod bytes;
pub(crate) mod chan;
pub(crate) mod core;
pub(crate) mod io;
pub(crate) mod list;
pub(crate) mod map;
pub(crate) mod math;
#[cfg(feature = "net")]
pub(crate) mod net;
pub(crate) mod node;
pub(crate) mod pg;
#[cfg(feature = "net")]
pub(crate) mod poller;
pub(crate) mod process;
pub(crate) mod random;
pub(crate) mod string;
pub(crate) mod time;

use crate::data::atom::Atom;
use crate::data::convert::{argument, bad_argument, FromValue, FromValueError};
use crate::data::value::Value;
pub(crate) use crate::process::ctx::{native, Ctx, Native, NativeResult, Trap, ANY};

pub(crate) use crate::data::ops::work;

/// Every native, by qualified name. `io` comes only when the host allows it.
pub(crate) fn all(allow_io: bool, allow_net: bool) -> Vec<Native> {
    let mut all = Vec::new();
    all.extend_from_slice(core::NATIVES);
    all.extend_from_slice(process::NATIVES);
    all.extend_from_slice(chan::NATIVES);
    all.extend_from_slice(list::NATIVES);
    all.extend_from_slice(string::NATIVES);
    all.extend_from_slice(bytes::NATIVES);
    all.extend_from_slice(map::NATIVES);
    all.extend_from_slice(math::NATIVES);
    all.extend_from_slice(random::NATIVES);
    all.extend_from_slice(time::NATIVES);
    all.extend_from_slice(node::NATIVES);
    all.extend_from_slice(pg::NATIVES);
    #[cfg(feature = "net")]
    if allow_net {
        all.extend_from_slice(net::NATIVES);
    }
    #[cfg(not(feature = "net"))]
    let _ = allow_net;
    if allow_io {
        all.extend_from_slice(io::NATIVES);
    }
    all
}

// ------------------------------------------------------ work in pieces

/// A builtin's work that may outlast a slice (sorting five million
/// elements, splitting ten megabytes): `step` does what the fuel allows
/// and returns the result when done, `None` when the fuel ran out first.
pub(crate) trait Chunked: Send + 'static {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap>;
}

/// Runs `work` to its end across as many slices as it needs: between two
/// steps the process yields (`Ctx::pause`), so other processes run and an
/// embedded `vm.run(budget)` returns on time.
pub(crate) fn chunked<C: Chunked>(ctx: &mut Ctx<'_>, mut work: C) -> NativeResult {
    match work.step(ctx)? {
        Some(value) => Ok(value),
        None => Err(ctx.pause(Box::new(Resume(work)))),
    }
}

struct Resume<C>(C);

impl<C: Chunked> crate::process::ctx::Continuation for Resume<C> {
    fn resume(self: Box<Self>, ctx: &mut Ctx<'_>, _: Value) -> NativeResult {
        chunked(ctx, self.0)
    }
}

// ------------------------------------------------------ argument helpers

pub(crate) fn badarg(message: impl Into<String>) -> Trap {
    Trap::Error(Atom::BADARG, message.into())
}

/// An element of a list argument that is not what the builtin needs:
/// "list.sum: argument 1: element 2: expected a number, got :x" (elements
/// count from 0, as `FromValue` counts them).
pub(crate) fn bad_element(
    what: &str,
    name: &str,
    index: usize,
    element: usize,
    got: &Value,
) -> Trap {
    let error = FromValueError::new(what, got).inside(format!("element {element}"));
    let (kind, message) = bad_argument(name, index, error);
    Trap::Error(kind, message)
}

/// The one wording of a wrong argument, for builtins as for host
/// functions (`data::convert::bad_argument`): "string.upper: argument 1:
/// expected a string, got 1".
pub(crate) fn expected(what: &str, name: &str, index: usize, got: &Value) -> Trap {
    let (kind, message) = bad_argument(name, index, FromValueError::new(what, got));
    Trap::Error(kind, message)
}

pub(crate) fn int_arg(args: &[Value], i: usize, name: &str) -> Result<i64, Trap> {
    // The fast path a builtin takes on every call; the error goes through
    // the typed conversion hosts use.
    match &args[i] {
        Value::Int(n) => Ok(*n),
        _ => converted(args, i, name),
    }
}

pub(crate) fn number_arg(args: &[Value], i: usize, name: &str) -> Result<f64, Trap> {
    match &args[i] {
        Value::Int(n) => Ok(*n as f64),
        Value::Float(f) => Ok(*f),
        _ => converted(args, i, name),
    }
}

/// Argument `i` read through `FromValue`, as a host function's are.
#[cold]
fn converted<T: FromValue>(args: &[Value], i: usize, name: &str) -> Result<T, Trap> {
    argument::<T>(name, args, i).map_err(|(kind, message)| Trap::Error(kind, message))
}

pub(crate) fn str_arg<'v>(args: &'v [Value], i: usize, name: &str) -> Result<&'v str, Trap> {
    match &args[i] {
        Value::Str(s) => Ok(s.as_str()),
        other => Err(expected("a string", name, i, other)),
    }
}

pub(crate) fn list_arg<'v>(args: &'v [Value], i: usize, name: &str) -> Result<&'v [Value], Trap> {
    args[i]
        .as_list()
        .ok_or_else(|| expected("a list", name, i, &args[i]))
}

pub(crate) fn pid_arg(
    ctx: &Ctx<'_>,
    args: &[Value],
    i: usize,
    name: &str,
) -> Result<crate::data::value::Pid, Trap> {
    match &args[i] {
        Value::Pid(p) => Ok(*p),
        Value::Atom(_) => ctx
            .vm
            .resolve(&args[i])
            .map_err(|(kind, message)| Trap::Error(kind, message)),
        other @ Value::RemotePid(_) => Err(expected("a pid on this node", name, i, other)),
        other => Err(expected("a pid", name, i, other)),
    }
}
