//! The one ordering rule of a call from another node (erpc.rs): the
//! `SPAWN_REPLY` that names the process goes out before the process's end.
//! OTP closes a connection that reports a spawned process's end before its
//! spawn (OTP-17737), and the process may end on a scheduler thread before
//! the reader thread that started it has queued the reply.
//!
//! Invariants (model-checked by node/tests/loom_reply_first.rs, which
//! compiles this file against loom):
//! - `replied` is set only by the thread that has just queued the reply,
//!   under the lock that guards this record.
//! - An end that comes while `replied` is false is kept here, and handed to
//!   the reply's sender, which queues it right after the reply; an end that
//!   comes later is queued by the thread that ended the process, after the
//!   lock — so after the reply either way, and exactly once.

/// Whether a call's reply has gone, and its end if it came first.
pub(crate) struct ReplyFirst<E> {
    replied: bool,
    early_end: Option<E>,
}

impl<E> ReplyFirst<E> {
    pub(crate) fn new() -> ReplyFirst<E> {
        ReplyFirst {
            replied: false,
            early_end: None,
        }
    }

    /// The process ended: the end to queue now, or `None` when it must
    /// wait for the reply (kept here until `replied`).
    pub(crate) fn end(&mut self, end: E) -> Option<E> {
        if self.replied {
            Some(end)
        } else {
            self.early_end = Some(end);
            None
        }
    }

    /// The reply has just been queued: the end that came before it, to
    /// queue right after it.
    pub(crate) fn replied(&mut self) -> Option<E> {
        self.replied = true;
        self.early_end.take()
    }
}
