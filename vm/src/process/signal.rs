//! Signals: everything one process does to another, as it travels through
//! the target's inbox (`signal_queue.rs`). Applying them is the runtime's
//! (`runtime/scheduler.rs`).

use std::sync::Arc;

use crate::data::remote::RemotePid;
use crate::data::value::{Pid, Value};
use crate::process::Handoff;

/// Something one process does to another.
pub(crate) struct Signal {
    pub to: Pid,
    pub kind: SignalKind,
}

pub(crate) enum SignalKind {
    Message(Value),
    /// An exit signal (LANGUAGE.md §6). `untrappable`: `kill`. `linked`:
    /// from a link, so a `:normal` one is ignored by a non-trapping process.
    Exit {
        from: Pid,
        reason: Value,
        untrappable: bool,
        linked: bool,
    },
    Link(Pid),
    Unlink(Pid),
    Monitor {
        from: Pid,
        reference: u64,
    },
    Demonitor(u64),
    /// A monitored process ended: becomes a `:down` message if the monitor
    /// is still on.
    Down {
        from: Pid,
        reference: u64,
        reason: Value,
    },
    /// An exit signal from a process on another node (`NodeHandle::exit`);
    /// a linked one's link was checked and removed by the distribution.
    RemoteExit {
        from: Arc<RemotePid>,
        reason: Value,
        untrappable: bool,
    },
    /// A monitored process on another node ended (or its node went away).
    /// `from` is what was monitored: a remote pid, or a `(name, node)` pair.
    RemoteDown {
        from: Value,
        reference: u64,
        reason: Value,
    },
    /// A channel or timer ended wait `token`.
    Handoff {
        token: u32,
        handoff: Handoff,
    },
}

impl SignalKind {
    /// Whether the signal must wake a parked process. Link and monitor
    /// bookkeeping waits until the process runs (or ends) anyway.
    pub(crate) fn wakes(&self) -> bool {
        !matches!(
            self,
            SignalKind::Link(_)
                | SignalKind::Unlink(_)
                | SignalKind::Monitor { .. }
                | SignalKind::Demonitor(_)
        )
    }
}
