//! The channel value (LANGUAGE.md §7): its number and its state (the
//! buffer and the queues of waiters, whose invariants are in
//! `channel_state.rs`). What processes do with it is in
//! `runtime/channel.rs`.

use crate::data::channel_state::ChanState;
use crate::data::sync::{Mutex, MutexGuard};
use crate::data::value::{Pid, Value};

/// A channel (the payload of `Value::Chan`): opaque to the host, which can
/// pass it between processes.
#[derive(Debug)]
pub struct Channel {
    pub(crate) id: u64,
    pub(crate) state: Mutex<ChanState<Pid, Value>>,
}

impl Channel {
    /// The channel's number, as it prints (`<chan 3>`).
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// A channel may hold a channel that holds a channel, a million deep; what
/// it holds is dropped iteratively like a list's items.
impl Drop for Channel {
    fn drop(&mut self) {
        let values = self.take_values();
        if !values.iter().all(Value::is_scalar) {
            drop(crate::data::value::Items(values));
        }
    }
}

impl Channel {
    pub(crate) fn new(id: u64, capacity: usize) -> Channel {
        Channel {
            id,
            state: Mutex::new(ChanState::new(capacity)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ChanState<Pid, Value>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes every value the channel holds, for the iterative drop.
    pub(crate) fn take_values(&mut self) -> Vec<Value> {
        self.state
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take_values()
    }
}

/// The result of a channel operation.
pub(crate) enum ChanOutcome {
    /// Done: for a receive, the value.
    Done(Value),
    /// The process parked on the channel.
    Blocked,
    /// The channel is closed (a receive gets nil; a send fails).
    Closed,
}
