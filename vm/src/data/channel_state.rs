//! A channel's state and the rules for changing it (LANGUAGE.md §7), after
//! Go's chan.go. Generic over who waits (`P`) and what passes (`V`) so the
//! loom tests check this very code with model processes.
//!
//! Invariants (they hold whenever the channel's lock is free):
//! - `buffer.len() <= capacity`; an unbuffered channel (capacity 0) never
//!   holds a value: a value passes straight from a sender to a receiver.
//! - If `buffer` is non-empty, no live receiver waits; if it has room, no
//!   live sender waits.
//! - A waiter is taken only by *claiming* it: one atomic compare-and-swap on
//!   its process's wait word (`claim`), which succeeds for exactly one
//!   claimant of one wait. A process waiting in several channels (`select`)
//!   or with a deadline is therefore woken once, by whichever claims first;
//!   waiters that fail the claim are stale and dropped as they are met, so a
//!   process never has to find and remove itself from every queue it joined.
//! - Claiming happens under the lock; the wake-up it implies (`Wake`) is
//!   delivered by the caller *after* the lock is released, so no process is
//!   ever woken, and no signal pushed, while a channel lock is held.
//! - Once `closed`, a channel never reopens; it accepts no sends, and its
//!   receivers drain the buffer and then get nil.
//! - Several channels (a `select`) are locked in one global order, by
//!   address (`lock_in_order`), so two selects never deadlock.

use std::collections::VecDeque;

use crate::data::sync::{Mutex, MutexGuard};

/// A process blocked on a channel.
#[derive(Debug)]
pub(crate) struct Waiter<P, V> {
    pub who: P,
    /// The wait it belongs to (the process's wait token then).
    pub token: u32,
    /// Which `select` arm (0 for a plain send or receive).
    pub arm: u32,
    /// The value a blocked sender offers (unused for receivers).
    pub value: Option<V>,
}

/// A wake-up owed to a claimed waiter, delivered after unlocking.
#[derive(Debug)]
pub(crate) enum Wake<P, V> {
    /// A receiver got `value`.
    Received {
        who: P,
        token: u32,
        arm: u32,
        value: V,
    },
    /// A sender's value was taken.
    Sent { who: P, token: u32, arm: u32 },
    /// The channel closed under a waiter.
    Closed { who: P, token: u32, arm: u32 },
}

#[derive(Debug)]
pub(crate) struct ChanState<P, V> {
    pub capacity: usize,
    pub buffer: VecDeque<V>,
    pub closed: bool,
    pub senders: VecDeque<Waiter<P, V>>,
    pub receivers: VecDeque<Waiter<P, V>>,
}

impl<P: Copy, V> ChanState<P, V> {
    pub(crate) fn new(capacity: usize) -> ChanState<P, V> {
        ChanState {
            capacity,
            buffer: VecDeque::new(),
            closed: false,
            senders: VecDeque::new(),
            receivers: VecDeque::new(),
        }
    }

    /// Pops the first waiter that `claim` takes; stale ones are dropped.
    fn pop_claimed(
        queue: &mut VecDeque<Waiter<P, V>>,
        claim: &mut dyn FnMut(P, u32) -> bool,
    ) -> Option<Waiter<P, V>> {
        while let Some(waiter) = queue.pop_front() {
            if claim(waiter.who, waiter.token) {
                return Some(waiter);
            }
        }
        None
    }

    /// Sends without waiting: `Err(None)` if closed, `Err(Some(value))`
    /// (the value back) if the sender would have to wait.
    pub(crate) fn try_send(
        &mut self,
        value: V,
        claim: &mut dyn FnMut(P, u32) -> bool,
        wakes: &mut Vec<Wake<P, V>>,
    ) -> Result<(), Option<V>> {
        if self.closed {
            return Err(None);
        }
        if let Some(receiver) = Self::pop_claimed(&mut self.receivers, claim) {
            wakes.push(Wake::Received {
                who: receiver.who,
                token: receiver.token,
                arm: receiver.arm,
                value,
            });
            return Ok(());
        }
        if self.buffer.len() < self.capacity {
            self.buffer.push_back(value);
            return Ok(());
        }
        Err(Some(value))
    }

    /// Receives without waiting: `Err(true)` closed and drained,
    /// `Err(false)` nothing there yet.
    pub(crate) fn try_recv(
        &mut self,
        claim: &mut dyn FnMut(P, u32) -> bool,
        wakes: &mut Vec<Wake<P, V>>,
    ) -> Result<V, bool> {
        if let Some(value) = self.buffer.pop_front() {
            // Room opened: a waiting sender's value moves into the buffer.
            if let Some(sender) = Self::pop_claimed(&mut self.senders, claim) {
                if let Some(offered) = sender.value {
                    self.buffer.push_back(offered);
                }
                wakes.push(Wake::Sent {
                    who: sender.who,
                    token: sender.token,
                    arm: sender.arm,
                });
            }
            return Ok(value);
        }
        while let Some(sender) = Self::pop_claimed(&mut self.senders, claim) {
            wakes.push(Wake::Sent {
                who: sender.who,
                token: sender.token,
                arm: sender.arm,
            });
            if let Some(value) = sender.value {
                return Ok(value);
            }
        }
        Err(self.closed)
    }

    /// Closes the channel: every claimable waiter is woken (receivers get
    /// nil, senders fail). False if it was closed already.
    pub(crate) fn close(
        &mut self,
        claim: &mut dyn FnMut(P, u32) -> bool,
        wakes: &mut Vec<Wake<P, V>>,
    ) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        let waiters: Vec<Waiter<P, V>> = self
            .receivers
            .drain(..)
            .chain(self.senders.drain(..))
            .collect();
        for waiter in waiters {
            if claim(waiter.who, waiter.token) {
                wakes.push(Wake::Closed {
                    who: waiter.who,
                    token: waiter.token,
                    arm: waiter.arm,
                });
            }
        }
        true
    }

    /// Parks a receiver (its wait must be claimable from now on).
    pub(crate) fn wait_to_receive(&mut self, who: P, token: u32, arm: u32) {
        self.receivers.push_back(Waiter {
            who,
            token,
            arm,
            value: None,
        });
    }

    /// Parks a sender with the value it offers.
    pub(crate) fn wait_to_send(&mut self, who: P, token: u32, arm: u32, value: V) {
        self.senders.push_back(Waiter {
            who,
            token,
            arm,
            value: Some(value),
        });
    }

    /// Stackless' balance: live senders waiting minus live receivers.
    pub(crate) fn balance(&self, live: &dyn Fn(P, u32) -> bool) -> i64 {
        let senders = self.senders.iter().filter(|w| live(w.who, w.token)).count();
        let receivers = self
            .receivers
            .iter()
            .filter(|w| live(w.who, w.token))
            .count();
        senders as i64 - receivers as i64
    }

    /// Every value the channel holds (queued, or offered by waiting
    /// senders), for the iterative drop of nested values.
    pub(crate) fn take_values(&mut self) -> Vec<V> {
        let mut values: Vec<V> = self.buffer.drain(..).collect();
        values.extend(self.senders.drain(..).filter_map(|w| w.value));
        values
    }
}

/// Locks `locks` in address order, each distinct lock once. Returns the
/// guards in that order and, for each entry of `locks`, the index of its
/// guard.
pub(crate) fn lock_in_order<'a, T>(locks: &[&'a Mutex<T>]) -> (Vec<MutexGuard<'a, T>>, Vec<usize>) {
    let mut order: Vec<usize> = (0..locks.len()).collect();
    order.sort_by_key(|&i| locks[i] as *const Mutex<T> as usize);
    order.dedup_by_key(|i| locks[*i] as *const Mutex<T> as usize);
    let mut guard_of = vec![0; locks.len()];
    for (i, lock) in locks.iter().enumerate() {
        let address = *lock as *const Mutex<T> as usize;
        guard_of[i] = order
            .iter()
            .position(|&j| locks[j] as *const Mutex<T> as usize == address)
            .unwrap_or(0);
    }
    let guards = order
        .iter()
        .map(|&i| locks[i].lock().unwrap_or_else(|e| e.into_inner()))
        .collect();
    (guards, guard_of)
}
