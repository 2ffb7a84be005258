//! Resources: OS objects a process holds through a value (open files, and
//! with `net` sockets and listeners).
//!
//! Invariants: a resource is closed at most once; after `close` every
//! operation on it is an `:io` error; the process that opened a file closes
//! it (flushing writes) when it ends, so no write is lost at exit.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::sync::Mutex;

/// An open file, readable or writable.
pub enum FileState {
    Reader(BufReader<File>),
    Writer(BufWriter<File>),
    Closed,
}

/// An open file (the payload of `Value::Resource`, with `io` granted):
/// opaque to the host.
pub struct Resource {
    pub(crate) path: String,
    pub(crate) file: Mutex<FileState>,
    /// A socket or listener (`net`); its `file` is `Closed`.
    pub(crate) socket: Option<std::sync::Arc<crate::natives::poller::Socket>>,
}

impl Resource {
    /// The path it was opened with.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn file(path: String, state: FileState) -> Resource {
        Resource {
            path,
            file: Mutex::new(state),
            socket: None,
        }
    }

    pub(crate) fn socket(label: String, socket: crate::natives::poller::Socket) -> Resource {
        Resource {
            path: label,
            file: Mutex::new(FileState::Closed),
            socket: Some(std::sync::Arc::new(socket)),
        }
    }

    /// How it prints, without the brackets: `file PATH`, `socket A -> B`.
    pub(crate) fn label(&self) -> String {
        if self.socket.is_some() {
            self.path.clone()
        } else {
            format!("file {}", self.path)
        }
    }
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.label())
    }
}
