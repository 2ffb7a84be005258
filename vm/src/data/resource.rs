//! Resources: OS objects a process holds through a value (open files, and
//! with `net` sockets and listeners). This layer knows a resource only as
//! a `Handle` — something that prints, has a kind, and can be closed; the
//! modules that open them (`natives/io.rs`, `natives/poller.rs`) say what
//! is behind it.
//!
//! Invariants: a resource is closed at most once (its handle's `close` is
//! idempotent); after `close` every operation on it is an error; a process
//! that ends closes what it still owns (files flush their writes first), so
//! no write is lost at exit.

use std::any::Any;

use crate::data::value::Pid;

/// What a resource holds.
pub(crate) trait Handle: Send + Sync + 'static {
    /// Closes it (flushing what was written); closing twice does nothing.
    fn close(&self);
    fn is_closed(&self) -> bool;
    /// Whether `pid`'s end closes it: the process that opened it, unless it
    /// handed it to another (a socket given away with `net.controlling`).
    fn owned_by(&self, pid: Pid) -> bool {
        let _ = pid;
        true
    }
    /// What `type(v)` says it is (`file`, `socket`).
    fn kind(&self) -> &'static str;
    /// How it prints, without the brackets: `file PATH`, `socket A -> B`.
    fn label(&self, name: &str) -> String;
    fn as_any(&self) -> &dyn Any;
}

/// An open file or socket (the payload of `Value::Resource`, with `io` or
/// `net` granted): opaque to the host.
pub struct Resource {
    /// The path it was opened with, or the socket's addresses.
    pub(crate) name: String,
    pub(crate) handle: Box<dyn Handle>,
}

impl Resource {
    pub(crate) fn new(name: String, handle: impl Handle) -> Resource {
        Resource {
            name,
            handle: Box::new(handle),
        }
    }

    /// The path it was opened with (a socket's: its addresses).
    pub fn path(&self) -> &str {
        &self.name
    }

    /// What is behind it, if it is a `T`.
    pub(crate) fn get<T: Handle>(&self) -> Option<&T> {
        self.handle.as_any().downcast_ref::<T>()
    }

    pub(crate) fn close(&self) {
        self.handle.close()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Closes it if a process `pid` that ends still owns it.
    pub(crate) fn close_if_owned_by(&self, pid: Pid) {
        if self.handle.owned_by(pid) {
            self.handle.close();
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        self.handle.kind()
    }

    /// How it prints, without the brackets: `file PATH`, `socket A -> B`.
    pub(crate) fn label(&self) -> String {
        self.handle.label(&self.name)
    }
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.label())
    }
}
