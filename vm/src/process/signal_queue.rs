//! A process's incoming signal queue: lock-free, many producers, one
//! consumer (the process's owner), with the owner's parked/ended state kept
//! in the same word as the queue's head.
//!
//! Invariants:
//! - The head word is `EMPTY` (no signals, owner not parked), `PARKED` (no
//!   signals, the owner is parked and wants a wake-up), `CLOSED` (the owner
//!   has ended: every push fails and hands its value back), or a pointer to
//!   the newest node — tagged with the `PARKED` bit while the owner is parked
//!   and every signal queued since asked for no wake-up.
//! - Nodes form a LIFO chain from the head; `take_all` and `close` reverse
//!   it, so the signals one producer pushed come out in the order it pushed
//!   them (Erlang's ordering guarantee between two processes).
//! - Only the owner calls `take_all`, `park` and `close`; only the code that
//!   frees and reuses a slot calls `reopen`.
//! - `park` succeeds only on an `EMPTY` queue, in one compare-and-swap on the
//!   same word the producers swap. A push that asks for a wake-up and finds
//!   the `PARKED` bit clears it and returns `Pushed::Wake`: exactly one push
//!   sees each park, so that producer, and no one else, makes the owner
//!   runnable. No wake-up is lost (a push before the park makes the park
//!   fail; a push after it sees the bit) and none is doubled. `unpark`
//!   takes the wake-up the same way for a producer that delivered without
//!   pushing.
//!
//! The second word another thread may touch is the process's `WaitClaim`:
//! - It holds `serial << 32 | token` while the process waits in a way that
//!   several parties could end (a channel operation, a `select`, a select's
//!   deadline), and 0 otherwise.
//! - Ending such a wait takes a successful `claim` (a compare-and-swap from
//!   exactly that pair to 0), so of all the channels and timers a process
//!   waits on, exactly one wins; the serial in the word keeps a reused slot
//!   from being claimed for its previous process.

use std::marker::PhantomData;

use crate::data::sync::{AtomicU64, AtomicUsize, Ordering};

const EMPTY: usize = 0;
const PARKED: usize = 1;
/// Not a node address: nodes are aligned to at least 8 bytes.
const CLOSED: usize = 2;

struct Node<T> {
    value: T,
    next: *mut Node<T>,
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed<T> {
    /// Queued; the owner is running or runnable, or did not need waking.
    Queued,
    /// Queued, and the owner was parked: the caller must make it runnable.
    Wake,
    /// The owner has ended; the value comes back.
    Closed(T),
}

pub(crate) struct SignalQueue<T> {
    head: AtomicUsize,
    _values: PhantomData<Box<Node<T>>>,
}

// The queue owns its nodes' values and hands them from producers to the
// consumer: it is as thread-safe as moving a `T` between threads.
unsafe impl<T: Send> Send for SignalQueue<T> {}
unsafe impl<T: Send> Sync for SignalQueue<T> {}

impl<T> Default for SignalQueue<T> {
    fn default() -> Self {
        SignalQueue::new()
    }
}

impl<T> SignalQueue<T> {
    /// An empty queue whose owner is not parked.
    pub(crate) fn new() -> SignalQueue<T> {
        SignalQueue {
            head: AtomicUsize::new(EMPTY),
            _values: PhantomData,
        }
    }

    /// A queue that starts closed (a free process slot).
    pub(crate) fn closed() -> SignalQueue<T> {
        SignalQueue {
            head: AtomicUsize::new(CLOSED),
            _values: PhantomData,
        }
    }

    /// Pushes `value`. With `wake`, a parked owner is unparked (the caller
    /// gets `Wake` and must schedule it); without, a parked owner stays
    /// parked and sees the value when something else wakes it.
    pub(crate) fn push(&self, value: T, wake: bool) -> Pushed<T> {
        let node = Box::into_raw(Box::new(Node {
            value,
            next: std::ptr::null_mut(),
        }));
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            if head == CLOSED {
                // SAFETY: the node was never published; this thread owns it.
                let node = unsafe { Box::from_raw(node) };
                return Pushed::Closed(node.value);
            }
            let parked = head & PARKED;
            // SAFETY: the node is not yet published; only this thread sees it.
            unsafe { (*node).next = (head & !PARKED) as *mut Node<T> };
            let new = node as usize | if wake { 0 } else { parked };
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if wake && parked != 0 => return Pushed::Wake,
                Ok(_) => return Pushed::Queued,
                Err(actual) => head = actual,
            }
        }
    }

    /// Takes every queued signal, oldest first (owner only). Clears a
    /// `PARKED` tag: the owner is running when it drains.
    pub(crate) fn take_all(&self) -> Drain<T> {
        if self.head.load(Ordering::Relaxed) == EMPTY {
            return Drain::empty();
        }
        // Only the owner closes the queue, so it is not closed now.
        let head = self.head.swap(EMPTY, Ordering::AcqRel);
        debug_assert!(head != CLOSED, "take_all on a closed queue");
        if head == CLOSED {
            self.head.store(CLOSED, Ordering::Release);
            return Drain::empty();
        }
        Drain::reversed((head & !PARKED) as *mut Node<T>)
    }

    /// Parks the owner if nothing is queued; false means signals arrived
    /// and the owner must handle them instead of sleeping.
    pub(crate) fn park(&self) -> bool {
        self.head
            .compare_exchange(EMPTY, PARKED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Clears the parked bit on behalf of a producer that delivered to the
    /// owner another way (straight into its mailbox, holding its body):
    /// true means this caller took the wake-up and must make the owner
    /// runnable, exactly as a push that returned `Wake`.
    pub(crate) fn unpark(&self) -> bool {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            if head & PARKED == 0 {
                return false;
            }
            match self.head.compare_exchange_weak(
                head,
                head & !PARKED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => head = actual,
            }
        }
    }

    /// Closes the queue for good (the owner ends) and takes what is left.
    pub(crate) fn close(&self) -> Drain<T> {
        let head = self.head.swap(CLOSED, Ordering::AcqRel);
        if head == CLOSED {
            return Drain::empty();
        }
        Drain::reversed((head & !PARKED) as *mut Node<T>)
    }

    /// Opens a closed queue for a new owner (a reused slot).
    pub(crate) fn reopen(&self) -> bool {
        self.head
            .compare_exchange(CLOSED, EMPTY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Nothing queued (parked, empty or closed).
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self.head.load(Ordering::Acquire), EMPTY | PARKED | CLOSED)
    }

    /// The owner is parked (the loom tests check it).
    #[allow(dead_code)]
    pub(crate) fn is_parked(&self) -> bool {
        self.head.load(Ordering::Acquire) & PARKED != 0
    }

    /// The owner has ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.head.load(Ordering::Acquire) == CLOSED
    }
}

impl<T> Drop for SignalQueue<T> {
    fn drop(&mut self) {
        // No other thread can see the queue now: a plain read tells whether
        // anything is left to free (a free slot's queue is closed and empty).
        if matches!(self.head.load(Ordering::Relaxed), EMPTY | PARKED | CLOSED) {
            return;
        }
        drop(self.close());
    }
}

/// Signals taken from a queue, oldest first; what is not iterated is freed
/// on drop.
pub(crate) struct Drain<T> {
    next: *mut Node<T>,
}

// A drain owns its nodes outright.
unsafe impl<T: Send> Send for Drain<T> {}

impl<T> Drain<T> {
    fn empty() -> Drain<T> {
        Drain {
            next: std::ptr::null_mut(),
        }
    }

    /// Reverses the chain from `head` (newest first) into oldest first.
    fn reversed(mut head: *mut Node<T>) -> Drain<T> {
        let mut previous = std::ptr::null_mut();
        while !head.is_null() {
            // SAFETY: the chain was unlinked from the queue by one atomic
            // swap; this thread owns every node in it.
            let next = unsafe { (*head).next };
            unsafe { (*head).next = previous };
            previous = head;
            head = next;
        }
        Drain { next: previous }
    }
}

impl<T> Iterator for Drain<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.next.is_null() {
            return None;
        }
        // SAFETY: owned, as above; each node is freed exactly once here.
        let node = unsafe { Box::from_raw(self.next) };
        self.next = node.next;
        Some(node.value)
    }
}

impl<T> Drop for Drain<T> {
    fn drop(&mut self) {
        for _ in self.by_ref() {}
    }
}

/// Who may end a process's current wait (see the invariants above).
pub(crate) struct WaitClaim(AtomicU64);

impl Default for WaitClaim {
    fn default() -> Self {
        WaitClaim(AtomicU64::new(0))
    }
}

impl WaitClaim {
    fn word(serial: u32, token: u32) -> u64 {
        (serial as u64) << 32 | token as u64
    }

    /// Opens a claimable wait (owner only, before it joins any queue).
    pub(crate) fn arm(&self, serial: u32, token: u32) {
        self.0.store(Self::word(serial, token), Ordering::Release);
    }

    /// Takes the right to end wait `token` of process `serial`; true for
    /// exactly one caller per armed wait.
    pub(crate) fn claim(&self, serial: u32, token: u32) -> bool {
        self.0
            .compare_exchange(
                Self::word(serial, token),
                0,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Whether wait `token` of process `serial` is still unclaimed.
    pub(crate) fn is_armed(&self, serial: u32, token: u32) -> bool {
        self.0.load(Ordering::Acquire) == Self::word(serial, token)
    }

    /// Closes any wait (the process ended): later claims fail.
    pub(crate) fn disarm(&self) {
        self.0.store(0, Ordering::Release);
    }
}
