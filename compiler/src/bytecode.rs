//! Weft bytecode: the one opcode list, and the compiled forms of functions
//! and modules.
//!
//! The machine is register-based (like Lua 5): each function activation owns
//! a window of registers `R[0..registers]` on its process's value stack.
//! Parameters arrive in `R[0..arity]`, a closure's captured values right
//! after them (then, for a named inner function, the closure itself), then
//! locals and temporaries. A frame owns nothing below `R[0]`. Operands named `dst`, `src`,
//! `a`, `b`, `base`, `cursor`... are register numbers; `offset` is a jump
//! distance in instructions, relative to the instruction after the jump.
//!
//! Invariants the compiler guarantees and the VM relies on:
//! - every register operand is below the function's `registers` count;
//! - every jump lands inside the function's code;
//! - every constant, prototype and global index is in range of its table;
//! - a function's code ends with `Return`, so execution never runs off it.

use std::sync::Arc;

use crate::diagnostic::{SourceFile, Span};

/// Declares the instruction set once. From this list come the `Instr` enum,
/// each opcode's name and one-line doc, its operands as (name, value) pairs,
/// and so the disassembler.
macro_rules! opcodes {
    ($( #[doc = $doc:literal] $name:ident { $($field:ident : $ty:ty),* } )*) => {
        /// One instruction: an opcode with its operands, 8 bytes.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Instr {
            $( #[doc = $doc] $name { $($field: $ty),* }, )*
        }

        impl Instr {
            /// The opcode's name, as the disassembler prints it.
            pub fn name(&self) -> &'static str {
                match self { $( Instr::$name { .. } => stringify!($name), )* }
            }

            /// The opcode's one-line description.
            pub fn doc(&self) -> &'static str {
                match self { $( Instr::$name { .. } => $doc.trim(), )* }
            }

            /// The operands as (name, value) pairs, in declaration order.
            #[allow(unused_variables)]
            pub fn operands(&self) -> Vec<(&'static str, i64)> {
                match *self {
                    $( Instr::$name { $($field),* } => vec![$( (stringify!($field), $field as i64) ),*], )*
                }
            }
        }

        /// Every opcode's name and description, in order (for `weft disasm --opcodes`).
        pub const OPCODES: &[(&str, &str)] = &[ $( (stringify!($name), $doc), )* ];
    };
}

opcodes! {
    /// R[dst] = nil
    Nil { dst: u8 }
    /// R[dst] = value (a bool)
    Bool { dst: u8, value: bool }
    /// R[dst] = value (a small integer held in the instruction)
    Int { dst: u8, value: i32 }
    /// R[dst] = constants[index]
    Const { dst: u8, index: u32 }
    /// R[dst] = R[src]
    Move { dst: u8, src: u8 }
    /// R[dst] = R[src] and R[src] = nil, handing over the reference so the callee may update in place
    Take { dst: u8, src: u8 }
    /// R[dst] = a closure of prototype `proto` capturing R[first..first+count]
    Closure { dst: u8, first: u8, count: u8, proto: u32 }
    /// R[dst] = the function currently bound to global `global`
    FnRef { dst: u8, global: u32 }
    /// R[dst] = a list of R[first..first+count]
    List { dst: u8, first: u8, count: u8 }
    /// R[dst] = a tuple of R[first..first+count]
    Tuple { dst: u8, first: u8, count: u8 }
    /// R[dst] = a map of the key/value pairs in R[first..first+2*count]
    Map { dst: u8, first: u8, count: u8 }
    /// R[dst] = the list of integers R[a]..R[b] (end exclusive)
    Range { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] + R[b]
    Add { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] + value (a small integer)
    AddInt { dst: u8, a: u8, value: i16 }
    /// R[dst] = R[a] - R[b]
    Sub { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] * R[b]
    Mul { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] / R[b] (integers truncate toward zero)
    Div { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] % R[b] (the sign of the dividend)
    Rem { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] ++ R[b] (strings or lists)
    Concat { dst: u8, a: u8, b: u8 }
    /// R[dst] = -R[src]
    Neg { dst: u8, src: u8 }
    /// R[dst] = not R[src]
    Not { dst: u8, src: u8 }
    /// R[dst] = R[a] == R[b]
    Eq { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] != R[b]
    Ne { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] < R[b]
    Lt { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[a] <= R[b]
    Le { dst: u8, a: u8, b: u8 }
    /// R[dst] = R[obj][R[key]]
    Index { dst: u8, obj: u8, key: u8 }
    /// pc += offset
    Jump { offset: i32 }
    /// pc += offset, spending a reduction: every loop's back-edge
    Loop { offset: i32 }
    /// if R[cond] is false or nil: pc += offset
    JumpIfFalse { cond: u8, offset: i32 }
    /// if R[cond] is neither false nor nil: pc += offset
    JumpIfTrue { cond: u8, offset: i32 }
    /// if not (R[a] < R[b]): pc += offset
    JumpIfNotLt { a: u8, b: u8, offset: i32 }
    /// if not (R[a] <= R[b]): pc += offset
    JumpIfNotLe { a: u8, b: u8, offset: i32 }
    /// if not (R[a] < value): pc += offset
    JumpIfNotLtInt { a: u8, value: i16, offset: i32 }
    /// if R[a] != R[b]: pc += offset (pattern literals and pins)
    JumpIfNe { a: u8, b: u8, offset: i32 }
    /// if R[src] is not a tuple of `len` elements: pc += offset
    JumpIfNotTuple { src: u8, len: u8, offset: i32 }
    /// if R[src] is not a list of exactly `len` elements: pc += offset
    JumpIfNotList { src: u8, len: u8, offset: i32 }
    /// if R[src] is not a list of at least `len` elements: pc += offset
    JumpIfNotListFrom { src: u8, len: u8, offset: i32 }
    /// R[dst] = R[map][R[key]], or if R[map] is not a map holding the key: pc += offset
    JumpIfNoKey { dst: u8, map: u8, key: u8, offset: i32 }
    /// if R[src] is not a map: pc += offset
    JumpIfNotMap { src: u8, offset: i32 }
    /// start a guard: a runtime error until GuardEnd jumps to pc + offset instead of failing
    GuardBegin { offset: i32 }
    /// end the innermost guard
    GuardEnd { }
    /// R[dst] = element `index` of the tuple or list R[src]
    Element { dst: u8, src: u8, index: u8 }
    /// R[dst] = the list R[src] without its first `from` elements
    Rest { dst: u8, src: u8, from: u8 }
    /// raise the runtime error `kind` (see ErrorKind) about the value R[src]
    Fail { kind: u8, src: u8 }
    /// R[iter] = R[src] ready to iterate, R[iter+1] = its position; :badarg if not iterable
    IterStart { iter: u8, src: u8 }
    /// R[dst] = the next item of R[iter] (a channel blocks), or when there is none: pc += offset
    IterNext { iter: u8, dst: u8, offset: i32 }
    /// call R[base] with R[base+1..base+1+argc]; result in R[base]
    Call { base: u8, argc: u8 }
    /// call global `global` with R[base..base+argc]; result in R[base]
    CallGlobal { base: u8, argc: u8, global: u32 }
    /// like Call, replacing the current frame
    TailCall { base: u8, argc: u8 }
    /// like CallGlobal, replacing the current frame
    TailCallGlobal { base: u8, argc: u8, global: u32 }
    /// return R[src] to the caller
    Return { src: u8 }
    /// R[dst] = the pid of a new process running R[base](R[base+1..base+1+argc]); linked if `link`
    Spawn { dst: u8, base: u8, argc: u8, link: bool }
    /// send R[msg] to the process (or registered name) R[to]
    Send { to: u8, msg: u8 }
    /// start a receive: R[cursor] = 0; R[cursor+1] = the deadline if `timeout` (R[cursor+1] held milliseconds)
    ReceiveStart { cursor: u8, timeout: bool }
    /// R[dst] = the mailbox message at R[cursor], or when there is none: pc += offset
    ReceiveNext { dst: u8, cursor: u8, offset: i32 }
    /// R[cursor] += 1: the message did not match
    ReceiveSkip { cursor: u8 }
    /// take the message at R[cursor] out of the mailbox: an arm matched
    ReceiveAccept { cursor: u8 }
    /// wait for a new message (then fall through) or the deadline (then pc += offset)
    ReceiveWait { cursor: u8, offset: i32 }
    /// send R[value] on channel R[chan], waiting for room or a receiver
    ChanSend { chan: u8, value: u8 }
    /// R[dst] = a value received from channel R[chan] (nil once closed and drained)
    ChanRecv { dst: u8, chan: u8 }
    /// run select table `table`: R[dst] = the index of the arm that fired (arm count: the timeout)
    Select { dst: u8, table: u32 }
}

/// A constant in a function's table.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Atom(Arc<str>),
}

/// The runtime error kinds bytecode can raise directly (`Fail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FailKind {
    /// No pattern matched the value.
    NoMatch = 0,
    /// A `let` pattern did not match.
    LetNoMatch = 1,
}

impl FailKind {
    pub fn from_u8(kind: u8) -> FailKind {
        match kind {
            1 => FailKind::LetNoMatch,
            _ => FailKind::NoMatch,
        }
    }
}

/// One arm of a `select`, as the VM reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SelectArm {
    /// Receive from R[chan] into R[value].
    Recv { chan: u8, value: u8 },
    /// Send R[value] on R[chan].
    Send { chan: u8, value: u8 },
}

/// A `select`'s arms and its optional timeout (milliseconds in R[timeout]).
#[derive(Clone, Debug, PartialEq)]
pub struct SelectTable {
    pub arms: Vec<SelectArm>,
    pub timeout: Option<u8>,
}

/// A compiled function.
#[derive(Clone, Debug, PartialEq)]
pub struct Proto {
    /// The function's name; empty for an anonymous function.
    pub name: String,
    pub arity: u8,
    /// How many values it captures (held in R[arity..arity+captures]).
    pub captures: u8,
    /// A named inner function that calls itself finds its own closure in
    /// R[arity+captures], put there by the VM on each call.
    pub self_slot: bool,
    /// How many registers an activation needs.
    pub registers: u8,
    pub code: Vec<Instr>,
    /// The source span of each instruction, for error reports.
    pub spans: Vec<Span>,
    pub constants: Vec<Constant>,
    pub selects: Vec<SelectTable>,
    /// Where the function is defined.
    pub span: Span,
}

/// A compiled source file.
#[derive(Clone, Debug)]
pub struct Module {
    /// The name its functions are qualified with (`main` for a script).
    pub name: String,
    pub source: Arc<SourceFile>,
    /// All functions; `protos[0]` is the file's top-level code (arity 0).
    pub protos: Vec<Proto>,
    /// The file's top-level functions: name and index into `protos`.
    pub functions: Vec<(String, u32)>,
    /// The file's imports: alias, the imported module's name, and its
    /// top-level functions (so a REPL session can keep using the alias).
    pub imports: Vec<(String, String, Vec<String>)>,
    /// Qualified names of the globals the code refers to; `CallGlobal`,
    /// `TailCallGlobal` and `FnRef` operands index this list until the VM
    /// links them to its own table.
    pub globals: Vec<String>,
}
