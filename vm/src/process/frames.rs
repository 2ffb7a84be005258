//! A process's call state: one stack of entries (Lua's `CallInfo`,
//! piccolo's `Frame`), so unwinding, stack traces, measuring and saving a
//! process are one walk over one structure.
//!
//! The entries, innermost last:
//! - `Call`: a Weft activation below the running one;
//! - `Native`: a native that asked for the call the Weft frame above it
//!   is making (`list.map`'s function); its continuation gets the result;
//! - `Guard`: a guard or `try` of the Weft frame above it: an error in that
//!   frame, or in anything it called since, lands here;
//! - `Compare`: a comparison that ran out of fuel in the Weft frame above
//!   it, resumed when that frame's instruction runs again.
//!
//! Invariants:
//! - The running Weft frame is `top` (kept out of the vector: the
//!   interpreter reads and writes it on every call and return, and a
//!   process that waits in its first function allocates no vector).
//! - Every entry that is not a `Call` belongs to the Weft frame just above
//!   it: the next `Call` entry above it, or `top`.
//! - A `Native` entry sits between the frame that called the native (a
//!   `Call` just below it) and the callee (just above it), and only while
//!   the callee runs: when the callee returns, both come off and the
//!   native's caller is `top` again while the continuation runs.
//! - `depth` counts the Weft frames, `top` included: the call depth
//!   `MAX_FRAMES` limits and error reports show.
//!
//! The one `unsafe` here is for speed: `saved_frame` reads a caller's frame
//! back field by field with volatile reads (each of a `u32` behind a valid
//! reference, so always sound). The call that saved the frame wrote it in
//! pieces a moment before (a leaf call returns a few instructions later);
//! one 16-byte load over those pieces cannot be served from the CPU's store
//! buffer and waits for the stores to reach the cache — a stall that took
//! about a tenth of `fib`'s time (0.80 s to 0.71 s for fib(35)). Volatile
//! reads are never merged into a wider one.

use crate::data::walk::Compare;
use crate::process::ctx::Continuation;

/// One activation of a Weft function.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    /// Index into the VM's code.
    pub proto: u32,
    /// The next instruction to run when this frame is resumed.
    pub pc: u32,
    /// Where R[0] of this frame sits on the stack.
    pub base: u32,
    /// Where the result goes on the stack when this frame returns.
    pub ret: u32,
}

/// A caller's frame read back from the frame stack, field by field (see
/// the module documentation).
#[inline(always)]
fn saved_frame(entry: &Frame) -> Frame {
    // SAFETY: each read is of a `u32` behind a valid shared reference.
    unsafe {
        Frame {
            proto: std::ptr::read_volatile(&entry.proto),
            pc: std::ptr::read_volatile(&entry.pc),
            base: std::ptr::read_volatile(&entry.base),
            ret: std::ptr::read_volatile(&entry.ret),
        }
    }
}

/// A native waiting for the Weft call it asked for.
pub(crate) struct NativeFrame {
    /// The continuation; taken while it runs (the box is kept for its next
    /// call, so a `list.map` over a million elements allocates one).
    pub then: Option<Box<dyn Continuation>>,
    /// Where the native's final value goes in its caller's frame.
    pub ret: u32,
    /// The native was tail-called: its final value returns from its caller.
    pub tail: bool,
}

/// A guard (`match`/`receive` arm guards: an error means "no match") or a
/// `try` (its value is the error): where an error goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Guard {
    /// Where its frame goes on.
    pub pc: u32,
    /// For a `try`, the register its value goes to.
    pub dst: Option<u16>,
}

/// A comparison out of fuel, for the instruction at `pc`.
pub(crate) struct Suspended {
    pub pc: u32,
    pub comparison: Compare,
}

pub(crate) enum Entry {
    Call(Frame),
    Native(Box<NativeFrame>),
    Guard(Guard),
    Compare(Box<Suspended>),
}

/// An entry as `Frames::entries` shows it.
pub(crate) enum EntryView<'a> {
    Call(&'a Frame),
    Guard(&'a Guard),
    Native,
    Compare,
}

/// What a returning frame returns to.
pub(crate) enum Returned {
    /// Its caller, now `top`; the value goes to the returned frame's `ret`.
    Caller(Frame),
    /// A native's continuation; the native's caller is `top` again.
    Native(Box<NativeFrame>),
    /// Nothing: it was the process's first function.
    Outermost,
}

pub(crate) struct Frames {
    top: Frame,
    below: Vec<Entry>,
    depth: usize,
}

impl Frames {
    pub fn new(first: Frame) -> Frames {
        Frames {
            top: first,
            below: Vec::new(),
            depth: 1,
        }
    }

    /// The number of Weft frames.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.depth
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.depth == 0
    }

    /// The running Weft frame.
    #[inline(always)]
    pub fn last(&self) -> Option<&Frame> {
        (self.depth > 0).then_some(&self.top)
    }

    #[inline(always)]
    pub fn last_mut(&mut self) -> Option<&mut Frame> {
        (self.depth > 0).then_some(&mut self.top)
    }

    /// The running frame, or with none a leftover one (writing its `pc`
    /// is harmless): the interpreter's hot paths, which only run with a
    /// frame, skip the check `last_mut` makes.
    #[inline(always)]
    pub fn top_mut(&mut self) -> &mut Frame {
        &mut self.top
    }

    #[inline(always)]
    pub fn top(&self) -> &Frame {
        &self.top
    }

    /// The running frame calls `callee`, and resumes at `pc` when it
    /// returns: the interpreter's call path (`push` without its check).
    #[inline(always)]
    pub fn call(&mut self, pc: u32, callee: Frame) {
        let mut caller = self.top;
        caller.pc = pc;
        self.below.push(Entry::Call(caller));
        self.top = callee;
        self.depth += 1;
    }

    /// A Weft call from the running frame: `callee` runs.
    #[inline(always)]
    pub fn push(&mut self, callee: Frame) {
        if self.depth > 0 {
            self.below.push(Entry::Call(self.top));
        }
        self.top = callee;
        self.depth += 1;
    }

    /// A native in the running frame asked to call `callee`: the native's
    /// continuation waits between the two.
    pub fn push_for_native(&mut self, native: Box<NativeFrame>, callee: Frame) {
        self.below.push(Entry::Call(self.top));
        self.below.push(Entry::Native(native));
        self.top = callee;
        self.depth += 1;
    }

    /// The running frame returns to a Weft caller: the common case of
    /// `pop`, for the interpreter's `Return`. `None` (and nothing changed)
    /// when anything else lies under it.
    #[inline(always)]
    pub fn pop_to_caller(&mut self) -> Option<Frame> {
        let Some(Entry::Call(entry)) = self.below.last() else {
            return None;
        };
        let caller = saved_frame(entry);
        self.below.pop();
        self.depth -= 1;
        Some(std::mem::replace(&mut self.top, caller))
    }

    /// The running frame returns. Guards and comparisons it left open go
    /// with it. `None` when there is no frame, or when a native's entry is
    /// not where it must be (a bug the interpreter reports).
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Returned> {
        if self.depth == 0 {
            return None;
        }
        loop {
            return match self.below.pop() {
                Some(Entry::Call(caller)) => {
                    self.depth -= 1;
                    Some(Returned::Caller(std::mem::replace(&mut self.top, caller)))
                }
                None => {
                    self.depth = 0;
                    Some(Returned::Outermost)
                }
                Some(Entry::Native(native)) => match self.below.pop() {
                    Some(Entry::Call(caller)) => {
                        self.depth -= 1;
                        self.top = caller;
                        Some(Returned::Native(native))
                    }
                    other => {
                        self.below.extend(other);
                        self.below.push(Entry::Native(native));
                        None
                    }
                },
                Some(Entry::Guard(_) | Entry::Compare(_)) => continue,
            };
        }
    }

    /// A guard or `try` begins in the running frame.
    #[inline(always)]
    pub fn push_guard(&mut self, guard: Guard) {
        self.below.push(Entry::Guard(guard));
    }

    /// The running frame's innermost guard ends (its expression succeeded).
    #[inline(always)]
    pub fn pop_guard(&mut self) {
        if matches!(self.below.last(), Some(Entry::Guard(_))) {
            self.below.pop();
        }
    }

    /// A comparison at `pc` of the running frame ran out of fuel.
    pub fn suspend_compare(&mut self, pc: u32, comparison: Compare) {
        self.below
            .push(Entry::Compare(Box::new(Suspended { pc, comparison })));
    }

    /// The comparison the running frame's instruction at `pc` suspended.
    pub fn resume_compare(&mut self, pc: u32) -> Option<Compare> {
        match self.below.last() {
            Some(Entry::Compare(suspended)) if suspended.pc == pc => {}
            _ => return None,
        }
        match self.below.pop() {
            Some(Entry::Compare(suspended)) => Some(suspended.comparison),
            _ => None,
        }
    }

    /// Unwinds to the innermost guard, for an error: everything above it
    /// goes (frames, native continuations, suspended comparisons), its
    /// frame runs again as `top`, and the guard is returned. `None` (and
    /// nothing changed) when there is no guard: the error ends the process.
    pub fn unwind_to_guard(&mut self) -> Option<Guard> {
        let at = self
            .below
            .iter()
            .rposition(|entry| matches!(entry, Entry::Guard(_)))?;
        let mut owner = None;
        let mut frames_above = 0;
        for entry in &self.below[at + 1..] {
            if let Entry::Call(frame) = entry {
                owner.get_or_insert(*frame);
                frames_above += 1;
            }
        }
        if let Some(owner) = owner {
            self.top = owner;
        }
        self.depth -= frames_above;
        self.below.truncate(at + 1);
        match self.below.pop() {
            Some(Entry::Guard(guard)) => Some(guard),
            _ => None,
        }
    }

    /// Every Weft frame, outermost first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Frame> {
        let below = self.below.iter().filter_map(|entry| match entry {
            Entry::Call(frame) => Some(frame),
            _ => None,
        });
        below.chain((self.depth > 0).then_some(&self.top))
    }

    /// Every entry, outermost first, `top` last: the walk a process image
    /// makes (`interp/image.rs`).
    pub fn entries(&self) -> impl Iterator<Item = EntryView<'_>> {
        let below = self.below.iter().map(|entry| match entry {
            Entry::Call(frame) => EntryView::Call(frame),
            Entry::Guard(guard) => EntryView::Guard(guard),
            Entry::Native(_) => EntryView::Native,
            Entry::Compare(_) => EntryView::Compare,
        });
        below.chain((self.depth > 0).then_some(EntryView::Call(&self.top)))
    }

    /// Frames rebuilt from a process image: `below` holds only `Call` and
    /// `Guard` entries, each guard under the frame it belongs to.
    pub fn rebuilt(below: Vec<Entry>, top: Frame) -> Frames {
        let depth = 1 + below
            .iter()
            .filter(|entry| matches!(entry, Entry::Call(_)))
            .count();
        Frames { top, below, depth }
    }

    /// Entries the vector has room for (for memory accounting), counting
    /// `top` as one.
    pub fn capacity(&self) -> usize {
        self.below.capacity() + 1
    }

    /// The bytes one entry takes.
    pub const ENTRY_SIZE: usize = std::mem::size_of::<Entry>();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u32) -> Frame {
        Frame {
            proto: n,
            pc: n,
            base: n,
            ret: n,
        }
    }

    fn protos(frames: &Frames) -> Vec<u32> {
        frames.iter().map(|f| f.proto).collect()
    }

    /// A call pushes one entry: its size is part of every call's cost and
    /// of a deep recursion's memory (a million frames, 24 MB).
    #[test]
    fn an_entry_is_a_frame_and_a_tag() {
        assert_eq!(std::mem::size_of::<Frame>(), 16);
        assert_eq!(Frames::ENTRY_SIZE, 24);
    }

    #[test]
    fn calls_and_returns_are_a_stack() {
        let mut frames = Frames::new(frame(0));
        for n in 1..4 {
            frames.push(frame(n));
        }
        assert_eq!(protos(&frames), [0, 1, 2, 3]);
        assert!(matches!(frames.pop(), Some(Returned::Caller(f)) if f.proto == 3));
        assert_eq!(frames.last().map(|f| f.proto), Some(2));
        assert!(matches!(frames.pop(), Some(Returned::Caller(f)) if f.proto == 2));
        assert!(matches!(frames.pop(), Some(Returned::Caller(f)) if f.proto == 1));
        assert!(matches!(frames.pop(), Some(Returned::Outermost)));
        assert!(frames.is_empty() && frames.pop().is_none());
    }

    #[test]
    fn an_error_unwinds_to_the_guard_of_the_frame_that_holds_it() {
        let mut frames = Frames::new(frame(0));
        frames.push(frame(1));
        frames.push_guard(Guard { pc: 7, dst: None });
        frames.push(frame(2));
        frames.push(frame(3));
        assert_eq!(frames.len(), 4);
        let guard = frames.unwind_to_guard().expect("a guard");
        assert_eq!(guard.pc, 7);
        assert_eq!(frames.last().map(|f| f.proto), Some(1));
        assert_eq!(protos(&frames), [0, 1]);
        assert!(frames.unwind_to_guard().is_none());
        assert_eq!(frames.len(), 2);
    }

    #[test]
    fn a_guard_in_the_running_frame_keeps_it() {
        let mut frames = Frames::new(frame(0));
        frames.push_guard(Guard {
            pc: 3,
            dst: Some(1),
        });
        let guard = frames.unwind_to_guard().expect("a guard");
        assert_eq!((guard.pc, guard.dst), (3, Some(1)));
        assert_eq!(protos(&frames), [0]);
        frames.push_guard(Guard { pc: 4, dst: None });
        frames.pop_guard();
        assert!(frames.unwind_to_guard().is_none());
    }

    #[test]
    fn a_returning_frame_takes_its_open_guards_along() {
        let mut frames = Frames::new(frame(0));
        frames.push_guard(Guard { pc: 1, dst: None });
        frames.push(frame(1));
        frames.push_guard(Guard { pc: 2, dst: None });
        assert!(matches!(frames.pop(), Some(Returned::Caller(f)) if f.proto == 1));
        let guard = frames.unwind_to_guard().expect("frame 0's guard");
        assert_eq!(guard.pc, 1);
    }

    #[test]
    fn a_native_waits_between_its_caller_and_its_callee() {
        struct Nothing;
        impl Continuation for Nothing {
            fn resume(
                self: Box<Self>,
                _: &mut crate::process::ctx::Ctx<'_>,
                result: crate::data::value::Value,
            ) -> crate::process::ctx::NativeResult {
                Ok(result)
            }
        }
        let mut frames = Frames::new(frame(0));
        frames.push(frame(1));
        let native = Box::new(NativeFrame {
            then: Some(Box::new(Nothing)),
            ret: 5,
            tail: false,
        });
        frames.push_for_native(native, frame(2));
        assert_eq!(protos(&frames), [0, 1, 2]);
        let nested = || {
            use crate::data::value::Value;
            Value::tuple(vec![Value::list(vec![Value::Int(1)])])
        };
        let comparison = Compare::start(crate::data::walk::Mode::Equal, &nested(), &nested());
        let Ok(comparison) = comparison else {
            panic!("two containers walk");
        };
        frames.suspend_compare(9, comparison);
        assert!(frames.resume_compare(8).is_none());
        assert!(frames.resume_compare(9).is_some());
        match frames.pop() {
            Some(Returned::Native(native)) => assert_eq!(native.ret, 5),
            _ => panic!("the callee returns to the native"),
        }
        assert_eq!(protos(&frames), [0, 1]);
        assert_eq!(frames.last().map(|f| f.proto), Some(1));
    }
}
