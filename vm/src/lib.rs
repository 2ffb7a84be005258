//! The Weft virtual machine.
//!
//! A `Vm` holds loaded code and any number of green processes, and runs
//! them on the calling thread when asked: `run(budget)` spends at most that
//! many reductions and returns, so a host can step it from a game loop.
//! The VM does no I/O of its own: `print` goes to the output sink the host
//! gives it, the `io` module exists only if the host allows it, crash
//! reports are returned as `Event`s, and the VM never sleeps — it tells the
//! host when its next timer is due.

// The layers, each a folder that imports only from the ones before it
// (vm/tests/layers.rs checks this; ARCHITECTURE.md says what each holds).
mod data;
mod host;
mod interp;
mod natives;
mod process;
mod runtime;

pub use crate::data::memory;

/// Hooks for tests of the VM's edges; not part of the embedding API.
#[doc(hidden)]
pub mod testing {
    /// Resolves host names for `net.connect` with `resolve` instead of the
    /// system's resolver, for the whole process (the first call wins): a
    /// test can have a name take seconds, as a silent DNS server would.
    #[cfg(feature = "net")]
    pub fn set_resolver(resolve: fn(&str, u16) -> Option<std::net::SocketAddr>) {
        let _ = crate::natives::poller::RESOLVER.set(resolve);
    }
}
pub use weft_compiler::{render, Diagnostic, LoadedFile, Loader, NoImports, SourceFile, Span};

pub use crate::data::atom::{Atom, MAX_ATOMS};
pub use crate::data::channel::Channel;
pub use crate::data::convert::{FromValue, FromValueError, IntoValue};
pub use crate::data::limits::{Limits, DEFAULT_REDUCTIONS};
pub use crate::data::remote::{Opaque, RemotePid, RemoteRef};
pub use crate::data::resource::Resource;
#[cfg(feature = "serde")]
pub use crate::data::serde_value::{from_value, to_value, SerdeError};
pub use crate::data::value::{Function, Items, MapItems, MapIter, Pid, Value};
pub use crate::host::api::{Error, ProcessInfo};
pub use crate::host::drive::{Driven, Waker};
pub use crate::host::host_fn::{Completer, HostContext, HostFunction, IntoHostResult};
pub use crate::host::image::ImageError;
pub use crate::host::vm::{EntryPoint, Vm, VmBuilder};
pub use crate::interp::code::HostFn;
pub use crate::runtime::dist::{Distribution, NodeHandle, SpawnRefused, Waiter};
pub use crate::runtime::events::{Event, RunStatus, RuntimeError, Stats, Ticket, TraceFrame};
pub use crate::runtime::trace::{chrome_trace_json, TraceEvent, TraceKind};
