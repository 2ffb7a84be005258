//! Channels (LANGUAGE.md §7), after Go's chan.go.
//!
//! Invariants:
//! - `buffer.len() <= capacity`; an unbuffered channel (capacity 0) never
//!   holds a value: a value passes straight from a sender to a receiver.
//! - If `buffer` is non-empty, no receiver is waiting: a receiver that could
//!   take a value took it.
//! - If `buffer` has room, no sender is waiting: a sender that could leave
//!   its value left it.
//! - A waiter is live only while its process is still blocked with the same
//!   wait token; stale waiters (the process woke through another `select`
//!   arm, timed out, or died) are skipped and dropped lazily, so a process
//!   never has to find and remove itself from every queue it joined.
//! - Once `closed`, a channel never reopens; it accepts no sends, and its
//!   receivers drain the buffer and then get nil.
//!
//! The state sits behind a `Mutex` so the `Chan` value is `Send + Sync`;
//! the VM runs one process at a time, so the lock is never contended.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::value::{Pid, Value};

/// A process blocked on a channel.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub pid: Pid,
    /// The process's wait token when it blocked.
    pub token: u32,
    /// Which `select` arm (0 for a plain send or receive).
    pub arm: u32,
    /// The value a blocked sender offers (nil for receivers).
    pub value: Value,
}

#[derive(Debug, Default)]
pub(crate) struct ChanState {
    pub capacity: usize,
    pub buffer: VecDeque<Value>,
    pub closed: bool,
    pub senders: VecDeque<Waiter>,
    pub receivers: VecDeque<Waiter>,
}

#[derive(Debug)]
pub struct Channel {
    pub(crate) id: u64,
    pub(crate) state: Mutex<ChanState>,
}

/// A channel may hold a channel that holds a channel, a million deep; what
/// it holds is dropped iteratively like a list's items.
impl Drop for Channel {
    fn drop(&mut self) {
        let values = self.take_values();
        if !values.iter().all(Value::is_scalar) {
            drop(crate::value::Items(values));
        }
    }
}

impl Channel {
    pub(crate) fn new(id: u64, capacity: usize) -> Channel {
        Channel {
            id,
            state: Mutex::new(ChanState {
                capacity,
                ..ChanState::default()
            }),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, ChanState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes every value the channel holds (queued, or offered by blocked
    /// senders), for the iterative drop of nested values.
    pub(crate) fn take_values(&mut self) -> Vec<Value> {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        let mut values: Vec<Value> = state.buffer.drain(..).collect();
        values.extend(state.senders.drain(..).map(|w| w.value));
        values
    }
}
