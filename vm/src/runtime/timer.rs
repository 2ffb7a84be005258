//! Timers: `sleep`, `receive ... after`, a `select`'s `after`, and
//! `send_after`, shared by every scheduler.
//!
//! Invariants:
//! - Timers fire in deadline order, ties in the order they were set, so with
//!   one scheduler a run depends only on the program and the clock.
//! - `next_deadline` is the earliest deadline in the heap (`u64::MAX` when
//!   empty), kept under the heap's lock; schedulers read it without the lock
//!   to skip the clock read when no timer can be due.
//! - A wake-up timer is stale once its process ended or moved on to a later
//!   wait (its published token is newer), or, for a claimed timer, once its
//!   wait was claimed; stale timers are dropped when they
//!   reach the top and never make the VM look busy.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::data::value::{Pid, Value};
use crate::runtime::scheduler::{lock, Shared};

/// What a timer does when it fires.
#[derive(Debug)]
pub(crate) enum TimerKind {
    /// End wait `token` of `pid` (`after`, `sleep`); `claimed`: the wait
    /// could also end another way (a `select`), so the timer must claim it.
    Wake { pid: Pid, token: u32, claimed: bool },
    /// `send_after`: deliver a message.
    Send { to: Pid, message: Value },
}

#[derive(Debug)]
struct Timer {
    deadline: u64,
    sequence: u64,
    kind: TimerKind,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Timer) -> bool {
        (self.deadline, self.sequence) == (other.deadline, other.sequence)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Timer) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Timer) -> std::cmp::Ordering {
        (self.deadline, self.sequence).cmp(&(other.deadline, other.sequence))
    }
}

#[derive(Default)]
struct Heap {
    timers: BinaryHeap<Reverse<Timer>>,
    sequence: u64,
}

pub(crate) struct Timers {
    heap: Mutex<Heap>,
    next_deadline: AtomicU64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            heap: Mutex::new(Heap::default()),
            next_deadline: AtomicU64::new(u64::MAX),
        }
    }
}

impl Timers {
    pub fn add(&self, deadline: u64, kind: TimerKind) {
        let mut heap = lock(&self.heap);
        heap.sequence += 1;
        let sequence = heap.sequence;
        heap.timers.push(Reverse(Timer {
            deadline,
            sequence,
            kind,
        }));
        self.next_deadline.fetch_min(deadline, Ordering::AcqRel);
    }

    /// Reads every timer, in no order: its deadline and what it does (for
    /// saving a whole VM).
    pub fn each(&self, mut read: impl FnMut(u64, &TimerKind)) {
        let heap = lock(&self.heap);
        for Reverse(timer) in heap.timers.iter() {
            read(timer.deadline, &timer.kind);
        }
    }

    /// Whether any timer is set (one atomic read).
    pub fn any(&self) -> bool {
        self.next_deadline.load(Ordering::Acquire) != u64::MAX
    }

    /// The earliest deadline set, live or stale (one atomic read).
    pub fn earliest(&self) -> u64 {
        self.next_deadline.load(Ordering::Acquire)
    }

    /// Takes every timer due at `now`, in order.
    pub fn due(&self, now: u64) -> Vec<TimerKind> {
        if self.next_deadline.load(Ordering::Acquire) > now {
            return Vec::new();
        }
        let mut heap = lock(&self.heap);
        let mut fired = Vec::new();
        while heap
            .timers
            .peek()
            .is_some_and(|Reverse(t)| t.deadline <= now)
        {
            if let Some(Reverse(timer)) = heap.timers.pop() {
                fired.push(timer.kind);
            }
        }
        self.publish(&heap);
        fired
    }

    /// The next deadline that still matters, dropping stale timers.
    pub fn next(&self, shared: &Shared) -> Option<u64> {
        let mut heap = lock(&self.heap);
        let result = loop {
            let Some(Reverse(timer)) = heap.timers.peek() else {
                break None;
            };
            let live = match &timer.kind {
                TimerKind::Wake {
                    pid,
                    token,
                    claimed,
                } => shared.table.get(*pid).is_some_and(|slot| {
                    // The token a process publishes only grows (wrapping);
                    // one not yet published (the process is still ending its
                    // slice) is not a reason to drop the timer.
                    let published = slot.token.load(Ordering::Relaxed);
                    let moved_on = (published.wrapping_sub(*token) as i32) > 0;
                    // A select's deadline is also stale once its wait was
                    // claimed (a channel ended it first).
                    let claimed_already = *claimed
                        && published == *token
                        && !slot.claim.is_armed(pid.serial(), *token);
                    !moved_on && !claimed_already
                }),
                TimerKind::Send { to, .. } => shared.is_alive(*to) || *to == shared.host_pid,
            };
            if live {
                break Some(timer.deadline);
            }
            heap.timers.pop();
        };
        self.publish(&heap);
        result
    }

    pub fn clear(&self) {
        let mut heap = lock(&self.heap);
        heap.timers.clear();
        self.publish(&heap);
    }

    fn publish(&self, heap: &Heap) {
        let next = heap.timers.peek().map_or(u64::MAX, |Reverse(t)| t.deadline);
        self.next_deadline.store(next, Ordering::Release);
    }
}
