//! How much memory the program holds, so a VM-wide limit can be enforced
//! before the allocator fails (which aborts the whole process, losing
//! buffered output and every other process with it).
//!
//! [`CountingAllocator`] is a global allocator a host installs (the `weft`
//! command does) to let the VM see the bytes live in its process; without
//! it the VM still refuses any single allocation bigger than its limit
//! (the checks before building a big value), but cannot see many small
//! ones add up.
//!
//! Invariants:
//! - Counting costs a thread-local add per allocation: each thread keeps
//!   its own running difference and adds it to the shared total only when
//!   it passes `FLUSH_BYTES` either way, so schedulers on different cores
//!   do not fight over one cache line. The total is therefore off by at
//!   most `FLUSH_BYTES` per thread, which is noise against any limit a
//!   program would set.
//! - The allocator itself never allocates and never panics; its
//!   thread-local is a plain `Cell` with a const initialiser and no
//!   destructor, so it is usable during thread start and teardown.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// A thread's difference goes to the shared total past this many bytes.
const FLUSH_BYTES: isize = 256 << 10;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static PENDING: Cell<isize> = const { Cell::new(0) };
}

/// The system allocator, counting the bytes live in the process.
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: weft_vm::memory::CountingAllocator = weft_vm::memory::CountingAllocator;
/// ```
pub struct CountingAllocator;

#[inline]
fn count(bytes: isize) {
    let _ = PENDING.try_with(|pending| {
        let now = pending.get() + bytes;
        if !(-FLUSH_BYTES..=FLUSH_BYTES).contains(&now) {
            LIVE.fetch_add(now, Ordering::Relaxed);
            pending.set(0);
        } else {
            pending.set(now);
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counting on the side touches only atomics and a
// destructor-free thread-local.
unsafe impl GlobalAlloc for CountingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    #[inline]
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(pointer, layout) };
        count(-(layout.size() as isize));
    }

    #[inline]
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let new = unsafe { System.realloc(pointer, layout, new_size) };
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

impl CountingAllocator {
    /// Marks the allocator as the process's (call once at start; the
    /// `weft` command does). Until then [`live_bytes`] is `None`.
    pub fn installed() {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

/// The bytes live in the process, if the [`CountingAllocator`] is the
/// global allocator (and said so with [`CountingAllocator::installed`]).
pub fn live_bytes() -> Option<usize> {
    INSTALLED
        .load(Ordering::Relaxed)
        .then(|| LIVE.load(Ordering::Relaxed).max(0) as usize)
}

/// Whether a value of about `bytes` may be built now, under the
/// process's and the VM's heap limits: the check every builder of a value
/// whose size the program chose (`++`, ranges, `string.replace`...) makes
/// before it allocates, so a doubling loop fails with `:system_limit`
/// instead of asking the allocator for more than the machine has (which
/// aborts the whole program). The VM-wide part needs the
/// [`CountingAllocator`]; without it a single value bigger than the VM's
/// limit is still refused.
pub(crate) fn admit(limits: &crate::data::limits::Limits, bytes: usize) -> Result<(), String> {
    if bytes > limits.max_heap {
        return Err(format!(
            "a value of {bytes} bytes would pass the process's limit of {} bytes",
            limits.max_heap
        ));
    }
    if limits.max_vm_heap != usize::MAX {
        let live = live_bytes().unwrap_or(0);
        if live.saturating_add(bytes) > limits.max_vm_heap {
            return Err(format!(
                "a value of {bytes} bytes would pass the VM's limit of {} bytes",
                limits.max_vm_heap
            ));
        }
    }
    Ok(())
}

/// Whether the program holds more than the VM's limit now (checked at the
/// end of every slice; `false` without the [`CountingAllocator`]).
#[inline]
pub(crate) fn vm_heap_over(limits: &crate::data::limits::Limits) -> bool {
    limits.max_vm_heap != usize::MAX && live_bytes().is_some_and(|live| live > limits.max_vm_heap)
}
