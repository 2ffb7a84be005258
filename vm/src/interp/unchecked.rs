//! The interpreter's unchecked accesses: registers and instruction fetch
//! without bounds checks. This is the VM's only `unsafe` for speed (the
//! README lists it); everything else indexes with checks.
//!
//! Why it is sound — three facts, each established elsewhere and tested:
//!
//! 1. **The verifier** (`weft_compiler::verify`, run by `Vm::load_modules`
//!    before anything is linked) guarantees, for every prototype the VM
//!    holds, that every register operand and every register window an
//!    instruction touches lies below the prototype's `registers`, that
//!    every jump lands inside the prototype's code, and that the last
//!    instruction does not fall through. So `pc` is always a valid index
//!    into the running prototype's code, and `base + r` is below
//!    `base + registers` for every register `r` an instruction names.
//! 2. **The stack invariant** (`process.rs`): while a process runs, for
//!    every frame `f` on it, `stack.len() >= f.base + protos[f.proto].registers`.
//!    Frames are pushed only after the stack has been grown to fit them
//!    (`interp::enter` and the inline call path), the stack is shrunk only
//!    between slices and never below what every frame needs
//!    (`Process::trim_stack`, called with the maximum over all frames), and
//!    cleared only when the last frame has returned.
//! 3. **Prototypes are never replaced**: the code store only appends
//!    (`code.rs`), so the prototype a frame names keeps its code and its
//!    register count for as long as the frame exists.
//!
//! 4. **Scalars own nothing**: `Value::is_scalar` holds exactly for the
//!    variants with no heap reference (nil, booleans, numbers, atoms, pids,
//!    references), whose drop does nothing; so `store_int` and `store_bool`
//!    may write over one without running its destructor.
//!
//! `store_int` and `store_bool` are written for the CPU rather than for
//! bounds: a load wider than the stores that just wrote its bytes cannot be
//! served from the store buffer and waits for them to reach the cache (a
//! stall of a dozen cycles; `process/frames.rs` reads saved frames field by
//! field for the same reason).
//!
//! Debug builds check every access anyway (`debug_assert!`), so the test
//! suite, the fuzzers and the proptests run against the checked form.

use std::ops::{Index, IndexMut};

use weft_compiler::bytecode::Instr;

use crate::data::value::Value;

/// The absolute stack index of a register of the running frame
/// (`base + r`), which by the argument above is in bounds.
#[derive(Clone, Copy)]
pub(crate) struct Register(pub usize);

impl Index<Register> for Vec<Value> {
    type Output = Value;

    #[inline(always)]
    fn index(&self, register: Register) -> &Value {
        debug_assert!(
            register.0 < self.len(),
            "register {} past the stack",
            register.0
        );
        // SAFETY: see the module documentation — verified operands and the
        // stack invariant keep `base + r` below `stack.len()`.
        unsafe { self.get_unchecked(register.0) }
    }
}

impl IndexMut<Register> for Vec<Value> {
    #[inline(always)]
    fn index_mut(&mut self, register: Register) -> &mut Value {
        debug_assert!(
            register.0 < self.len(),
            "register {} past the stack",
            register.0
        );
        // SAFETY: as for `index`.
        unsafe { self.get_unchecked_mut(register.0) }
    }
}

/// The instruction `ip` points at, in a verified prototype's code (the
/// interpreter's instruction pointer). `ip` always points inside that
/// code: it starts at the code's start or at a frame's saved pc (one that
/// was inside it), moves by jumps that land inside the code, and steps
/// past an instruction only when that instruction is not the last one (the
/// last one never falls through; a call's return resumes after the call,
/// which therefore is not last). The code is never freed or moved while
/// the interpreter runs (fact 3), so the reference stays valid while used.
#[inline(always)]
pub(crate) fn fetch<'code>(ip: *const Instr) -> &'code Instr {
    // SAFETY: see above and the module documentation.
    unsafe { &*ip }
}

/// Writes an integer to a register: its tag and its word, straight into
/// the register. Writing it as a `Value` through the general `store` let
/// the compiler merge the writes of many arms into one copy of a `Value`
/// built on the stack — a 16-byte load over the 1- and 8-byte stores that
/// had just built it, which stalls the CPU (see above) on every arithmetic
/// instruction.
#[inline(always)]
pub(crate) fn store_int(slot: &mut Value, n: i64) {
    if slot.is_scalar() {
        // SAFETY: fact 4 — the old value owns nothing, so overwriting it
        // without dropping it leaks nothing; `slot` is a valid, aligned,
        // exclusive reference.
        unsafe { std::ptr::write(slot, Value::Int(n)) }
    } else {
        *slot = Value::Int(n);
    }
}

/// `store_int` for a boolean.
#[inline(always)]
pub(crate) fn store_bool(slot: &mut Value, b: bool) {
    if slot.is_scalar() {
        // SAFETY: as for `store_int`.
        unsafe { std::ptr::write(slot, Value::Bool(b)) }
    } else {
        *slot = Value::Bool(b);
    }
}
