//! The limits a host sets on one VM (`VmBuilder`), and the slice length.

/// Reductions a process may spend before it goes to the back of the run
/// queue (LANGUAGE.md §8). 2000 is Erlang's figure (`CONTEXT_REDS` was
/// 2000 for years): long enough that switching costs little next to the
/// work, short enough (well under a millisecond of interpretation) that a
/// busy process cannot hold up a timer or the others noticeably.
pub const DEFAULT_REDUCTIONS: u32 = 2000;

/// Limits a host can set on one VM.
///
/// Set them with [`Vm::builder`]. A process over a limit dies with the exit
/// reason `(:error, :system_limit, message)` and the others go on; `spawn` past
/// `max_processes` fails instead. Every limit but `reductions` is off by
/// default.
///
/// ```
/// let limits = weft_vm::Limits::default();
/// assert_eq!(limits.reductions, weft_vm::DEFAULT_REDUCTIONS);
/// assert_eq!(limits.max_mailbox, usize::MAX);
/// ```
#[derive(Clone, Debug)]
pub struct Limits {
    /// Reductions per slice (see `DEFAULT_REDUCTIONS`).
    pub reductions: u32,
    /// The most live processes; `spawn` past it is the error `:system_limit`.
    pub max_processes: usize,
    /// The most messages a mailbox holds; a delivery past it kills the
    /// receiving process with `(:error, :system_limit, ...)`.
    pub max_mailbox: usize,
    /// The most bytes one process may hold: its registers and the data they
    /// and its mailbox reach (a value shared with others counts in full).
    /// Past it the process dies with `(:error, :system_limit, ...)`.
    pub max_heap: usize,
    /// The most bytes the whole program may hold (with the
    /// [`memory::CountingAllocator`] installed; without it, only a single
    /// value bigger than this is refused). Past it the process that was
    /// running, or that asked for the value, dies with
    /// `(:error, :system_limit, ...)` and the VM goes on.
    pub max_vm_heap: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            reductions: DEFAULT_REDUCTIONS,
            max_processes: 10_000_000,
            max_mailbox: usize::MAX,
            max_heap: usize::MAX,
            max_vm_heap: usize::MAX,
        }
    }
}
