//! Wake-ups from threads that are not schedulers (a node's network
//! threads) to the host's thread.
//!
//! For a VM the host steps itself, a process such a thread makes runnable
//! cannot go on the run queue (it is the host thread's): it waits in
//! `state.items` until the host's next `run` takes it. For any VM, a host
//! that has nothing to run waits in `wait` and is woken by `notify`.
//!
//! Invariants:
//! - `items` and `woke` change only under `state`'s lock, and `notify`
//!   sets `woke` under it before notifying, so a host that checks `woke`
//!   and then sleeps (atomically releasing the lock) cannot miss a notice:
//!   the classic flag-under-the-mutex condition variable.
//! - `hint` is only a fast path for `take`, which runs once per slice: it
//!   is set (under the lock) whenever an item is pushed and cleared (under
//!   the lock) when items are taken. A stale `false` only delays an item to
//!   the next `take`; a host about to wait instead returns at once, since
//!   the push also set `woke`, and its lock makes the push visible.
//!
//! Model-checked in `vm/tests/loom_protocols.rs`.

use std::time::Duration;

use crate::data::sync::{AtomicBool, Condvar, Mutex, Ordering};

struct State<T> {
    items: Vec<T>,
    /// A notice came since the host last waited.
    woke: bool,
}

pub(crate) struct External<T> {
    state: Mutex<State<T>>,
    hint: AtomicBool,
    arrived: Condvar,
}

impl<T> Default for External<T> {
    fn default() -> Self {
        External {
            state: Mutex::new(State {
                items: Vec::new(),
                woke: false,
            }),
            hint: AtomicBool::new(false),
            arrived: Condvar::new(),
        }
    }
}

impl<T> External<T> {
    /// Leaves `item` for the host's next `take` (and wakes a waiting host).
    pub fn push(&self, item: T) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.items.push(item);
        state.woke = true;
        self.hint.store(true, Ordering::Release);
        self.arrived.notify_all();
    }

    /// What was pushed since the last `take` (one atomic load when nothing
    /// was).
    pub fn take(&self) -> Vec<T> {
        if !self.hint.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.hint.store(false, Ordering::Relaxed);
        std::mem::take(&mut state.items)
    }

    /// Wakes a host waiting in `wait` (or makes its next `wait` return).
    pub fn notify(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.woke = true;
        self.arrived.notify_all();
    }

    /// Waits until a notice came or `timeout` passed.
    pub fn wait(&self, timeout: Duration) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.woke {
            state = self
                .arrived
                .wait_timeout(state, timeout)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        state.woke = false;
    }
}
