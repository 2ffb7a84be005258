//! The data layer: values and what is done with them alone — atoms,
//! walks over values, arithmetic, conversions to and from Rust, the
//! channel's state, resource handles, memory accounting.

pub(crate) mod atom;
pub(crate) mod channel;
pub(crate) mod channel_state;
pub(crate) mod convert;
pub(crate) mod fuel;
pub(crate) mod image;
pub(crate) mod limits;
pub mod memory;
pub(crate) mod ops;
pub(crate) mod remote;
pub(crate) mod resource;
pub(crate) mod rng;
#[cfg(feature = "serde")]
pub(crate) mod serde_value;
pub(crate) mod sync;
pub(crate) mod value;
pub(crate) mod walk;

/// Locks a mutex, taking the data of a poisoned one (a panic elsewhere
/// while holding it leaves data this code still treats as valid).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
