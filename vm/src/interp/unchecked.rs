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

/// The instruction at `pc` of a verified prototype's code. `pc` is always
/// in range there: it starts at 0 (the code is not empty), moves by jumps
/// that land inside the code, and steps past an instruction only when that
/// instruction is not the last one (the last one never falls through; a
/// call's return resumes after the call, which therefore is not last).
#[inline(always)]
pub(crate) fn fetch(code: &[Instr], pc: usize) -> &Instr {
    debug_assert!(pc < code.len(), "pc {pc} past the code");
    // SAFETY: see above and the module documentation.
    unsafe { code.get_unchecked(pc) }
}
