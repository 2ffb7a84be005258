//! The synchronisation primitives the lock-free parts of the VM use.
//!
//! `signal_queue.rs`, `channel_state.rs` and `external.rs` name their atomics and locks only
//! through `crate::data::sync`, so the loom tests (`vm/tests/loom_*.rs`) can compile
//! those same files against a `sync` module of loom's model-checked types.

pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};
