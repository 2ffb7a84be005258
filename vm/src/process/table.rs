//! The process table: one slot per live process, reachable by every
//! scheduler thread without a lock.
//!
//! Invariants:
//! - Slots live in chunks that are allocated once and never move or go
//!   until the table is dropped, so a `&Slot` stays valid for the VM's life.
//!   Chunk `c` holds `FIRST_CHUNK << c` slots (64, 128, 256, ...), so a
//!   small program allocates and frees a small table while a million
//!   processes still take only about twenty chunks.
//! - A slot's `serial` is the serial of the process living in it, or 0 when
//!   free; a pid `(slot, serial)` names that process only while they match.
//!   A pid that no longer matches reaches a queue that is closed (the slot is
//!   free) or belongs to a later process, which answers the signal as the
//!   dead pid would (`Scheduler::answer_for_dead`).
//! - The process's state is its inbox head (`SignalQueue`): *running* — a
//!   scheduler holds the body; *runnable* — the pid is in exactly one run
//!   queue (or a scheduler's run-next slot); *waiting* — the body is in the
//!   slot and the inbox is parked; *exited* — the inbox is closed. Moving
//!   out of *waiting* takes the push that saw the park (`Pushed::Wake`).
//! - `body` holds the process whenever no scheduler runs it. Taking it is
//!   one atomic swap, so two threads never hold one process: whoever holds
//!   the body owns the process (runs it, applies its signals, or ends it)
//!   and puts it back before making it runnable; a process that waits
//!   parks first and puts its body back after, so a thread that takes the
//!   body of a process that is not parked only ever finds a runnable one.
//!   A sender may also hold a parked or runnable body for a moment to put a
//!   message straight into its mailbox or apply an exit signal; a scheduler
//!   that pops a pid and finds no body requeues it. A taker must check the
//!   body's pid: the slot may have been reused.
//! - `token`, `reductions` and `mailbox` are published copies (written by
//!   the owner when it parks or yields) for readers that do not own the
//!   process: stale-timer checks, `process.info`, the process list.

use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crossbeam_utils::atomic::AtomicCell;

use crate::data::value::Pid;
use crate::process::signal::Signal;
use crate::process::signal_queue::{SignalQueue, WaitClaim};
use crate::process::Process;

/// Slots in the first chunk; each later chunk holds twice as many as the
/// one before. A chunk is allocated when the table first needs it.
const FIRST_CHUNK: usize = 64;

/// Which chunk holds slot `index`, where that chunk starts, and its length.
#[inline(always)]
fn chunk_of(index: usize) -> (usize, usize, usize) {
    // Chunk c covers FIRST_CHUNK * (2^c - 1) .. FIRST_CHUNK * (2^(c+1) - 1),
    // so n = index + FIRST_CHUNK lies in FIRST_CHUNK * 2^c .. FIRST_CHUNK *
    // 2^(c+1): its highest bit gives the chunk, and clearing that bit gives
    // the offset in it (a bit scan and two cheap operations).
    let n = index + FIRST_CHUNK;
    let high = n.checked_ilog2().unwrap_or(0) as usize;
    let chunk = high - FIRST_CHUNK.trailing_zeros() as usize;
    let offset = n ^ (1 << high);
    (chunk, index - offset, FIRST_CHUNK << chunk)
}

pub(crate) struct Slot {
    pub serial: AtomicU32,
    pub inbox: SignalQueue<Signal>,
    pub claim: WaitClaim,
    body: AtomicCell<Option<Box<Process>>>,
    /// The wait token the process parked with.
    pub token: AtomicU32,
    pub reductions: AtomicU64,
    pub mailbox: AtomicU32,
    /// Messages pushed since the owner last drained its inbox (kept only
    /// when the VM has a mailbox limit).
    pub queued: AtomicU32,
    /// 1 + the atom the process is registered as, or 0.
    pub name: AtomicU32,
    /// The prototype the process started in (Erlang's initial call), for
    /// the process list.
    pub initial: AtomicU32,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            serial: AtomicU32::new(0),
            inbox: SignalQueue::closed(),
            claim: WaitClaim::default(),
            body: AtomicCell::new(None),
            token: AtomicU32::new(0),
            reductions: AtomicU64::new(0),
            mailbox: AtomicU32::new(0),
            queued: AtomicU32::new(0),
            name: AtomicU32::new(0),
            initial: AtomicU32::new(0),
        }
    }

    /// Takes the body if it is there and belongs to `pid`.
    pub fn take_body(&self, pid: Pid) -> Option<Box<Process>> {
        let process = self.body.take()?;
        if process.pid == pid {
            Some(process)
        } else {
            // Someone else's (a reused slot): it was never ours to take.
            self.body.store(Some(process));
            None
        }
    }

    /// Puts a body back, publishing what non-owners may read.
    pub fn put_body(&self, process: Box<Process>) {
        self.token.store(process.wait_token, Ordering::Relaxed);
        self.reductions.store(process.reductions, Ordering::Relaxed);
        self.mailbox
            .store(process.mailbox.len() as u32, Ordering::Relaxed);
        self.body.store(Some(process));
    }

    /// Reads the body without owning it (the host, with every scheduler
    /// stopped; see `Vm::world`).
    pub fn peek_body<R>(&self, pid: Pid, read: impl FnOnce(&Process) -> R) -> Option<R> {
        let process = self.take_body(pid)?;
        let result = read(&process);
        self.body.store(Some(process));
        Some(result)
    }

    pub fn is_live(&self, pid: Pid) -> bool {
        self.serial.load(Ordering::Acquire) == pid.serial() && !self.inbox.is_closed()
    }
}

struct Allocator {
    free: Vec<u32>,
    next_slot: u32,
    next_serial: u32,
}

pub(crate) struct Table {
    chunks: Box<[AtomicPtr<Slot>]>,
    allocator: Mutex<Allocator>,
    pub live: AtomicUsize,
}

impl Table {
    pub fn new(max_processes: usize) -> Table {
        // Enough chunks to hold max_processes slots (plus one spare).
        let (last, _, _) = chunk_of(max_processes.saturating_add(1).min(usize::MAX / 4));
        let chunks = last + 1;
        Table {
            chunks: (0..chunks)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            allocator: Mutex::new(Allocator {
                free: Vec::new(),
                next_slot: 0,
                // <0.0> is the host; the first process (the main script) is <0.1>.
                next_serial: 1,
            }),
            live: AtomicUsize::new(0),
        }
    }

    /// The slot at `index`, if it was ever allocated.
    #[inline]
    pub fn slot(&self, index: usize) -> Option<&Slot> {
        let (chunk, start, _) = chunk_of(index);
        let pointer = self.chunks.get(chunk)?.load(Ordering::Acquire);
        if pointer.is_null() {
            return None;
        }
        // SAFETY: a non-null pointer of chunk c is a leaked `Box<[Slot]>` of
        // `FIRST_CHUNK << c` slots that lives until `drop`, and
        // `index - start < FIRST_CHUNK << c` by `chunk_of`.
        Some(unsafe { &*pointer.add(index - start) })
    }

    /// The slot of a live pid.
    pub fn get(&self, pid: Pid) -> Option<&Slot> {
        self.slot(pid.slot()).filter(|slot| slot.is_live(pid))
    }

    /// A slot for a new process, with its queue open; `None` when the
    /// table is full.
    pub fn allocate(&self) -> Option<(Pid, &Slot)> {
        let mut allocator = self.allocator.lock().unwrap_or_else(|e| e.into_inner());
        let index = match allocator.free.pop() {
            Some(index) => index as usize,
            None => {
                let index = allocator.next_slot as usize;
                let (chunk, _, length) = chunk_of(index);
                let chunk = self.chunks.get(chunk)?;
                if chunk.load(Ordering::Acquire).is_null() {
                    let slots: Box<[Slot]> = (0..length).map(|_| Slot::new()).collect();
                    chunk.store(Box::into_raw(slots) as *mut Slot, Ordering::Release);
                }
                allocator.next_slot += 1;
                index
            }
        };
        let serial = allocator.next_serial;
        allocator.next_serial = allocator.next_serial.wrapping_add(1).max(1);
        drop(allocator);
        let slot = self.slot(index)?;
        slot.serial.store(serial, Ordering::Release);
        slot.name.store(0, Ordering::Relaxed);
        slot.reductions.store(0, Ordering::Relaxed);
        slot.mailbox.store(0, Ordering::Relaxed);
        slot.queued.store(0, Ordering::Relaxed);
        slot.inbox.reopen();
        self.live.fetch_add(1, Ordering::Relaxed);
        Some((Pid::new(index as u32, serial), slot))
    }

    /// For loading a whole-VM image into a table with no live process:
    /// each `(slot, serial)` is taken (its pid the one it had when saved),
    /// every other slot below the highest is free, and later processes get
    /// serials from `next_serial` on. `None` (and nothing taken) when a
    /// slot is past the table's size or a process is live.
    pub fn lay_out(&self, taken: &[(u32, u32)], next_serial: u32) -> Option<Vec<&Slot>> {
        let mut allocator = self.allocator.lock().unwrap_or_else(|e| e.into_inner());
        if self.live.load(Ordering::Relaxed) != 0 {
            return None;
        }
        let end = taken
            .iter()
            .map(|(slot, _)| *slot as usize + 1)
            .max()
            .unwrap_or(0);
        if end > 0 {
            let (last, _, _) = chunk_of(end - 1);
            if last >= self.chunks.len() {
                return None;
            }
        }
        // Allocate every chunk up to the highest slot.
        for index in 0..end.max(allocator.next_slot as usize) {
            let (chunk, start, length) = chunk_of(index);
            if index != start {
                continue;
            }
            let pointer = &self.chunks[chunk];
            if pointer.load(Ordering::Acquire).is_null() {
                let slots: Box<[Slot]> = (0..length).map(|_| Slot::new()).collect();
                pointer.store(Box::into_raw(slots) as *mut Slot, Ordering::Release);
            }
        }
        let next_slot = (allocator.next_slot as usize).max(end);
        let mut used = vec![false; next_slot];
        let mut slots = Vec::with_capacity(taken.len());
        for (index, serial) in taken {
            used[*index as usize] = true;
            let slot = self.slot(*index as usize)?;
            slot.serial.store(*serial, Ordering::Release);
            slot.name.store(0, Ordering::Relaxed);
            slot.reductions.store(0, Ordering::Relaxed);
            slot.mailbox.store(0, Ordering::Relaxed);
            slot.queued.store(0, Ordering::Relaxed);
            slot.inbox.reopen();
            slots.push(slot);
        }
        allocator.next_slot = next_slot as u32;
        allocator.free = (0..next_slot as u32)
            .rev()
            .filter(|i| !used[*i as usize])
            .collect();
        allocator.next_serial = allocator.next_serial.max(next_serial).max(1);
        self.live.store(taken.len(), Ordering::Relaxed);
        Some(slots)
    }

    /// Frees the slot of a process whose inbox is closed.
    pub fn release(&self, pid: Pid) {
        if let Some(slot) = self.slot(pid.slot()) {
            slot.serial.store(0, Ordering::Release);
        }
        self.live.fetch_sub(1, Ordering::Relaxed);
        let mut allocator = self.allocator.lock().unwrap_or_else(|e| e.into_inner());
        allocator.free.push(pid.slot() as u32);
    }

    /// Frees the slots of many processes whose inboxes are closed, taking
    /// the allocator's lock once (stopping every process at the end).
    pub fn release_all(&self, pids: &[Pid]) {
        for pid in pids {
            if let Some(slot) = self.slot(pid.slot()) {
                slot.serial.store(0, Ordering::Release);
            }
        }
        self.live.fetch_sub(pids.len(), Ordering::Relaxed);
        let mut allocator = self.allocator.lock().unwrap_or_else(|e| e.into_inner());
        allocator
            .free
            .extend(pids.iter().map(|pid| pid.slot() as u32));
    }

    /// Every slot ever allocated with its index, in index order (walked
    /// chunk by chunk).
    pub fn slots(&self) -> impl Iterator<Item = (usize, &Slot)> {
        let used = self
            .allocator
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_slot as usize;
        self.chunks
            .iter()
            .enumerate()
            .map_while(|(chunk, pointer)| {
                let pointer = pointer.load(Ordering::Acquire);
                (!pointer.is_null()).then_some((chunk, pointer))
            })
            .flat_map(move |(chunk, pointer)| {
                let start = FIRST_CHUNK * ((1 << chunk) - 1);
                let length = (FIRST_CHUNK << chunk).min(used.saturating_sub(start));
                // SAFETY: a non-null pointer of chunk c is a leaked
                // `Box<[Slot]>` of `FIRST_CHUNK << c` slots that lives until
                // `drop`; `length` is at most that.
                let slots = unsafe { std::slice::from_raw_parts(pointer as *const Slot, length) };
                slots
                    .iter()
                    .enumerate()
                    .map(move |(i, slot)| (start + i, slot))
            })
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // Chunks are allocated in order (`next_slot` only grows), so the
        // allocated ones are a prefix.
        for (index, chunk) in self.chunks.iter().enumerate() {
            let pointer = chunk.load(Ordering::Acquire);
            if pointer.is_null() {
                break;
            }
            let length = FIRST_CHUNK << index;
            // SAFETY: made by `Box::into_raw` of a `Box<[Slot]>` of
            // `FIRST_CHUNK << index` slots in `allocate`, and freed only here.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(pointer, length)) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_tile_the_indices() {
        let mut expected = 0;
        for chunk in 0..12 {
            let length = FIRST_CHUNK << chunk;
            for index in [expected, expected + 1, expected + length - 1] {
                assert_eq!(chunk_of(index), (chunk, expected, length), "index {index}");
            }
            expected += length;
        }
    }

    #[test]
    fn a_table_holds_its_maximum() {
        let table = Table::new(5_000);
        let mut pids = Vec::new();
        for _ in 0..5_000 {
            pids.push(table.allocate().expect("room").0);
        }
        assert!(pids.iter().all(|pid| table.get(*pid).is_some()));
    }
}
