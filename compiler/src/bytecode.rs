//! Weft bytecode: the one opcode list, the kinds of its operands, and the
//! compiled forms of functions and modules.
//!
//! The machine is register-based (like Lua 5): each function activation owns
//! a window of registers `R[0..registers]` on its process's value stack.
//! Parameters arrive in `R[0..arity]`, a closure's captured values right
//! after them (then, for a named inner function, the closure itself), then
//! locals and temporaries. A frame owns nothing below `R[0]`.
//!
//! Every operand has a kind (a register, a count, a jump, an index into one
//! of the tables...), declared by its type in the opcode list. From the list
//! and those kinds come the `Instr` enum, the disassembler, jump patching,
//! the relinking of globals and prototypes when the VM loads a module, and
//! the verifier (`verify.rs`) that checks a module before the VM runs it.
//!
//! Invariants (the verifier checks each of them; the VM relies on them):
//! - every register operand, and every register window an instruction
//!   reads or writes (`first..first+count`, a call's arguments), lies below
//!   the function's `registers` count;
//! - every jump lands inside the function's code;
//! - every constant, select-table, prototype and global index is in range
//!   of its table;
//! - an instruction is 8 bytes: operands are stored as byte arrays (a
//!   register in 2 bytes, a jump or a prototype or global index in 3), so
//!   the enum has no padding; `vm/tests/sizes.rs` pins the size.

use std::sync::Arc;

use crate::diagnostic::{SourceFile, Span};

/// What an operand means, for the disassembler and the verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandKind {
    /// A register of the current frame.
    Register,
    /// A number of registers, elements or arguments.
    Count,
    /// A jump distance in instructions, from the instruction after the jump.
    Jump,
    /// An index into the function's constants.
    Constant,
    /// An index into the function's select tables.
    Select,
    /// An index into the module's globals (the VM's, once linked).
    Global,
    /// An index into the module's prototypes (the VM's, once linked).
    Proto,
    /// A small integer held in the instruction.
    Int,
    /// A flag.
    Flag,
    /// A code whose meaning the opcode gives (`Fail`'s error kind).
    Code,
}

/// A field of an instruction.
pub trait Operand: Copy {
    const KIND: OperandKind;
    /// The operand as a number (jumps are signed).
    fn value(self) -> i64;
    /// Offers a mutable view of the operand to a visitor.
    fn accept<V: OperandVisitor>(&mut self, visitor: &mut V);
}

/// Visits the operands of one instruction, by kind (see `Instr::visit`).
#[allow(unused_variables)]
pub trait OperandVisitor {
    fn register(&mut self, register: &mut Reg) {}
    fn jump(&mut self, jump: &mut Jump) {}
    fn global(&mut self, global: &mut GlobalIndex) {}
    fn proto(&mut self, proto: &mut ProtoIndex) {}
}

/// How an unsigned operand is stored: 16-bit operands as a `u16` (aligned,
/// so the interpreter reads a register number with one load), wider ones
/// as little-endian bytes (so they pack into the 8-byte instruction).
trait Storage: Copy {
    const BYTES: u32;
    fn from_u32(n: u32) -> Self;
    fn to_u32(self) -> u32;
}

impl Storage for u16 {
    const BYTES: u32 = 2;
    #[inline(always)]
    fn from_u32(n: u32) -> u16 {
        n as u16
    }
    #[inline(always)]
    fn to_u32(self) -> u32 {
        self as u32
    }
}

impl<const N: usize> Storage for [u8; N] {
    const BYTES: u32 = N as u32;
    #[inline(always)]
    fn from_u32(n: u32) -> [u8; N] {
        let bytes = n.to_le_bytes();
        let mut out = [0u8; N];
        out.copy_from_slice(&bytes[..N]);
        out
    }
    #[inline(always)]
    fn to_u32(self) -> u32 {
        let mut bytes = [0u8; 4];
        bytes[..N].copy_from_slice(&self);
        u32::from_le_bytes(bytes)
    }
}

/// Declares an unsigned operand type held in `$store` (see `Storage`).
macro_rules! unsigned_operand {
    ($(#[doc = $doc:literal])* $name:ident, $store:ty, $kind:ident, $visit:ident) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name($store);

        impl $name {
            /// The largest value this operand holds.
            pub const MAX: u32 = ((1u64 << (8 * <$store as Storage>::BYTES)) - 1) as u32;

            /// The operand for `n`, or `None` if it does not fit.
            #[inline(always)]
            pub fn try_new(n: u32) -> Option<$name> {
                (n <= Self::MAX).then(|| $name(<$store as Storage>::from_u32(n)))
            }

            /// The operand for `n`, truncated to its width (the compiler
            /// checks widths before it emits).
            #[inline(always)]
            pub fn new(n: u32) -> $name {
                $name(<$store as Storage>::from_u32(n))
            }

            #[inline(always)]
            pub fn get(self) -> u32 {
                self.0.to_u32()
            }

            #[inline(always)]
            pub fn index(self) -> usize {
                self.get() as usize
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.get())
            }
        }

        impl Operand for $name {
            const KIND: OperandKind = OperandKind::$kind;
            fn value(self) -> i64 {
                self.get() as i64
            }
            #[allow(unused_variables)]
            fn accept<V: OperandVisitor>(&mut self, visitor: &mut V) {
                unsigned_operand!(@visit $visit, self, visitor);
            }
        }

        #[cfg(feature = "arbitrary")]
        impl<'a> arbitrary::Arbitrary<'a> for $name {
            fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<$name> {
                Ok($name::new(fuzzing::small_biased(u, Self::MAX)?))
            }
        }
    };
    (@visit none, $self:ident, $visitor:ident) => {};
    (@visit $method:ident, $self:ident, $visitor:ident) => {
        $visitor.$method($self)
    };
}

unsigned_operand!(
    /// A register number (at most 65,535 registers a function).
    Reg, u16, Register, register
);
unsigned_operand!(
    /// A count of registers, elements or arguments (at most 65,535).
    Count, u16, Count, none
);
unsigned_operand!(
    /// An index into the function's constants.
    ConstIndex, [u8; 4], Constant, none
);
unsigned_operand!(
    /// An index into the function's select tables.
    SelectIndex, [u8; 4], Select, none
);
unsigned_operand!(
    /// A global's index (at most 16,777,215 globals in a VM).
    GlobalIndex, [u8; 3], Global, global
);
unsigned_operand!(
    /// A prototype's index (at most 16,777,215 functions in a VM).
    ProtoIndex, [u8; 3], Proto, proto
);

impl Reg {
    /// The register `offset` places after this one.
    #[inline(always)]
    pub fn at(self, offset: usize) -> Reg {
        Reg::new(self.get().wrapping_add(offset as u32))
    }
}

impl std::ops::Add<u16> for Reg {
    type Output = Reg;
    #[inline(always)]
    fn add(self, offset: u16) -> Reg {
        self.at(offset as usize)
    }
}

impl Count {
    #[inline(always)]
    pub fn of(n: usize) -> Count {
        Count::new(n as u32)
    }
}

/// The most entries one `Map` or `MapInsert` instruction adds (the
/// compiler builds bigger map literals in chunks of this size). Each entry
/// hashes its key, and a hash is not resumable, so the verifier caps what
/// one instruction may hash; the visits are charged as reductions after.
pub const MAP_CHUNK: u32 = 64;

/// A jump distance: a signed 24-bit count of instructions, relative to the
/// instruction after the jump (so a function's code may be at most
/// 8,388,607 instructions long).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Jump([u8; 3]);

impl Jump {
    pub const MAX: i32 = (1 << 23) - 1;
    pub const MIN: i32 = -(1 << 23);

    pub fn try_new(offset: i32) -> Option<Jump> {
        (Self::MIN..=Self::MAX).contains(&offset).then(|| {
            let bytes = offset.to_le_bytes();
            Jump([bytes[0], bytes[1], bytes[2]])
        })
    }

    #[inline(always)]
    pub fn get(self) -> i32 {
        // Sign-extend the 24-bit value.
        i32::from_le_bytes([self.0[0], self.0[1], self.0[2], 0]) << 8 >> 8
    }
}

impl std::fmt::Debug for Jump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Jump {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Jump> {
        // Mostly short jumps either way, sometimes anywhere in range.
        let offset = fuzzing::small_biased(u, (1 << 24) - 1)? as i32;
        let offset = if offset < 16 {
            offset - 8
        } else {
            offset - (1 << 23)
        };
        Ok(Jump::try_new(offset).unwrap_or_default())
    }
}

impl Operand for Jump {
    const KIND: OperandKind = OperandKind::Jump;
    fn value(self) -> i64 {
        self.get() as i64
    }
    fn accept<V: OperandVisitor>(&mut self, visitor: &mut V) {
        visitor.jump(self)
    }
}

/// A 16-bit signed integer held in the instruction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Imm16(i16);

impl Imm16 {
    pub fn new(n: i16) -> Imm16 {
        Imm16(n)
    }
    #[inline(always)]
    pub fn get(self) -> i16 {
        self.0
    }
}

/// A 32-bit signed integer held in the instruction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Imm32([u8; 4]);

impl Imm32 {
    pub fn new(n: i32) -> Imm32 {
        Imm32(n.to_le_bytes())
    }
    #[inline(always)]
    pub fn get(self) -> i32 {
        i32::from_le_bytes(self.0)
    }
}

macro_rules! immediate_operand {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.get())
            }
        }
        impl Operand for $name {
            const KIND: OperandKind = OperandKind::Int;
            fn value(self) -> i64 {
                self.get() as i64
            }
            fn accept<V: OperandVisitor>(&mut self, _: &mut V) {}
        }
    };
}
immediate_operand!(Imm16);
immediate_operand!(Imm32);

impl Operand for bool {
    const KIND: OperandKind = OperandKind::Flag;
    fn value(self) -> i64 {
        self as i64
    }
    fn accept<V: OperandVisitor>(&mut self, _: &mut V) {}
}

impl Operand for u8 {
    const KIND: OperandKind = OperandKind::Code;
    fn value(self) -> i64 {
        self as i64
    }
    fn accept<V: OperandVisitor>(&mut self, _: &mut V) {}
}

/// One operand of an instruction, as the disassembler and verifier see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperandInfo {
    pub name: &'static str,
    pub kind: OperandKind,
    pub value: i64,
}

/// Declares the instruction set once. From this list come the `Instr` enum,
/// each opcode's name and one-line doc, its operands with their kinds, the
/// register windows it touches beyond single registers (`window(start,
/// length)`, the length an expression of its operands), and the operand
/// visitor that jump patching and relinking use.
macro_rules! opcodes {
    ($( #[doc = $doc:literal] $name:ident { $($field:ident : $ty:ty),* } $(window($start:ident, $len:expr))* )*) => {
        /// One instruction: an opcode with its operands, 8 bytes.
        #[derive(Clone, Copy, Debug, PartialEq, Hash)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
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

            /// The operands, in declaration order, with their kinds.
            #[allow(unused_variables)]
            pub fn operands(&self) -> Vec<OperandInfo> {
                match *self {
                    $( Instr::$name { $($field),* } => vec![$( OperandInfo {
                        name: stringify!($field),
                        kind: <$ty as Operand>::KIND,
                        value: Operand::value($field),
                    } ),*], )*
                }
            }

            /// The register windows the instruction reads or writes beyond
            /// its single register operands: (the operand that starts the
            /// window, its first register, its length). A window's start is
            /// checked as part of the window, so an empty window may start
            /// at the frame's end.
            #[allow(unused_variables, clippy::identity_op)]
            pub fn windows(&self) -> Vec<(&'static str, u32, u32)> {
                match *self {
                    $( Instr::$name { $($field),* } => vec![$( (stringify!($start), $start.get(), $len) ),*], )*
                }
            }

            /// Offers every operand to `visitor`, by kind.
            #[allow(unused_variables)]
            pub fn visit<V: OperandVisitor>(&mut self, visitor: &mut V) {
                match self {
                    $( Instr::$name { $($field),* } => { $( Operand::accept($field, visitor); )* } )*
                }
            }
        }

        /// Every opcode's name and description, in order (for `weft disasm --opcodes`).
        pub const OPCODES: &[(&str, &str)] = &[ $( (stringify!($name), $doc), )* ];
    };
}

opcodes! {
    /// R[dst] = nil
    Nil { dst: Reg }
    /// R[dst] = value (a bool)
    Bool { dst: Reg, value: bool }
    /// R[dst] = value (a small integer held in the instruction)
    Int { dst: Reg, value: Imm32 }
    /// R[dst] = constants[index]
    Const { dst: Reg, index: ConstIndex }
    /// R[dst] = R[src]
    Move { dst: Reg, src: Reg }
    /// R[dst] = R[src] and R[src] = nil, handing over the reference so the callee may update in place
    Take { dst: Reg, src: Reg }
    /// R[dst] = a closure of prototype `proto` capturing R[first..first+captures of proto]
    Closure { dst: Reg, first: Reg, proto: ProtoIndex } window(first, 0)
    /// R[dst] = the function currently bound to global `global`
    FnRef { dst: Reg, global: GlobalIndex }
    /// R[dst] = a list of R[first..first+count]
    List { dst: Reg, first: Reg, count: Count } window(first, count.get())
    /// R[dst] = the list R[dst] followed by R[first..first+count] (long literals are built in chunks)
    ListAppend { dst: Reg, first: Reg, count: Count } window(first, count.get())
    /// R[dst] = a tuple of R[first..first+count]
    Tuple { dst: Reg, first: Reg, count: Count } window(first, count.get())
    /// R[dst] = a tuple of the elements of the list R[src]
    TupleOfList { dst: Reg, src: Reg }
    /// R[dst] = a map of the key/value pairs in R[first..first+2*count]
    Map { dst: Reg, first: Reg, count: Count } window(first, 2 * count.get())
    /// R[dst] = the map R[dst] with the key/value pairs in R[first..first+2*count] added
    MapInsert { dst: Reg, first: Reg, count: Count } window(first, 2 * count.get())
    /// R[dst] = the list of integers R[a]..R[b] (end exclusive)
    Range { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] + R[b]
    Add { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] + value (a small integer)
    AddInt { dst: Reg, a: Reg, value: Imm16 }
    /// R[dst] = R[a] - R[b]
    Sub { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] * R[b]
    Mul { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] / R[b] (integers truncate toward zero)
    Div { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] % R[b] (the sign of the dividend)
    Rem { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] ++ R[b] (strings or lists)
    Concat { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = -R[src]
    Neg { dst: Reg, src: Reg }
    /// R[dst] = not R[src]
    Not { dst: Reg, src: Reg }
    /// R[dst] = R[a] == R[b]
    Eq { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] != R[b]
    Ne { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] < R[b]
    Lt { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[a] <= R[b]
    Le { dst: Reg, a: Reg, b: Reg }
    /// R[dst] = R[obj][R[key]]
    Index { dst: Reg, obj: Reg, key: Reg }
    /// pc += offset
    Jump { offset: Jump }
    /// pc += offset, spending a reduction: every loop's back-edge
    Loop { offset: Jump }
    /// if R[cond] is false or nil: pc += offset
    JumpIfFalse { cond: Reg, offset: Jump }
    /// if R[cond] is neither false nor nil: pc += offset
    JumpIfTrue { cond: Reg, offset: Jump }
    /// if not (R[a] < R[b]): pc += offset
    JumpIfNotLt { a: Reg, b: Reg, offset: Jump }
    /// if not (R[a] <= R[b]): pc += offset
    JumpIfNotLe { a: Reg, b: Reg, offset: Jump }
    /// if not (R[a] < value): pc += offset
    JumpIfNotLtInt { a: Reg, value: Imm16, offset: Jump }
    /// if R[a] != R[b]: pc += offset (pattern literals and pins)
    JumpIfNe { a: Reg, b: Reg, offset: Jump }
    /// if R[src] is not a tuple of `len` elements: pc += offset
    JumpIfNotTuple { src: Reg, len: Count, offset: Jump }
    /// if R[src] is not a list of exactly `len` elements: pc += offset
    JumpIfNotList { src: Reg, len: Count, offset: Jump }
    /// if R[src] is not a list of at least `len` elements: pc += offset
    JumpIfNotListFrom { src: Reg, len: Count, offset: Jump }
    /// R[dst] holds a key: R[dst] = R[map][key], or if R[map] is not a map holding the key: pc += offset
    JumpIfNoKey { dst: Reg, map: Reg, offset: Jump }
    /// if R[src] is not a map: pc += offset
    JumpIfNotMap { src: Reg, offset: Jump }
    /// start a guard: a runtime error until GuardEnd jumps to pc + offset instead of failing
    GuardBegin { offset: Jump }
    /// start a `try`: a runtime error until GuardEnd puts (:error, kind, message) in R[dst] and jumps to pc + offset
    TryBegin { dst: Reg, offset: Jump }
    /// end the innermost guard or `try`
    GuardEnd { }
    /// R[dst] = element `index` of the tuple or list R[src]
    Element { dst: Reg, src: Reg, index: Count }
    /// R[dst] = the list R[src] without its first `from` elements
    Rest { dst: Reg, src: Reg, from: Count }
    /// raise the runtime error `kind` (see FailKind) about the value R[src]
    Fail { kind: u8, src: Reg }
    /// R[iter] = R[src] ready to iterate, R[iter+1] = its position; :badarg if not iterable
    IterStart { iter: Reg, src: Reg } window(iter, 2)
    /// R[dst] = the next item of R[iter] (a channel blocks), or when there is none: pc += offset
    IterNext { iter: Reg, dst: Reg, offset: Jump } window(iter, 2)
    /// call R[base] with R[base+1..base+1+argc]; result in R[base]
    Call { base: Reg, argc: Count } window(base, argc.get() + 1)
    /// call global `global` with R[base..base+argc]; result in R[base]
    CallGlobal { base: Reg, argc: Count, global: GlobalIndex } window(base, argc.get().max(1))
    /// like Call, replacing the current frame
    TailCall { base: Reg, argc: Count } window(base, argc.get() + 1)
    /// like CallGlobal, replacing the current frame
    TailCallGlobal { base: Reg, argc: Count, global: GlobalIndex } window(base, argc.get().max(1))
    /// return R[src] to the caller
    Return { src: Reg }
    /// R[dst] = the pid of a new process running R[base](R[base+1..base+1+argc]); linked if `link`
    Spawn { dst: Reg, base: Reg, argc: Count, link: bool } window(base, argc.get() + 1)
    /// send R[msg] to the process (or registered name) R[to]; `take`: R[msg] is dead after, so it is moved (left nil), not copied
    Send { to: Reg, msg: Reg, take: bool }
    /// R[dst] = the running process's pid (`self()`, without a native call)
    SelfPid { dst: Reg }
    /// start a receive: R[cursor] = 0; R[cursor+1] = the deadline if `timeout` (R[cursor+1] held milliseconds)
    ReceiveStart { cursor: Reg, timeout: bool } window(cursor, 2)
    /// R[dst] = the mailbox message at R[cursor]; when there is none: wait here if R[cursor+1] (the deadline) is nil, else pc += offset
    ReceiveNext { dst: Reg, cursor: Reg, offset: Jump } window(cursor, 2)
    /// R[cursor] += 1: the message did not match
    ReceiveSkip { cursor: Reg }
    /// take the message at R[cursor] out of the mailbox: an arm matched
    ReceiveAccept { cursor: Reg }
    /// wait for a new message (then fall through) or the deadline in R[cursor+1] (then pc += offset)
    ReceiveWait { cursor: Reg, offset: Jump } window(cursor, 2)
    /// send R[value] on channel R[chan], waiting for room or a receiver
    ChanSend { chan: Reg, value: Reg }
    /// R[dst] = a value received from channel R[chan] (nil once closed and drained)
    ChanRecv { dst: Reg, chan: Reg }
    /// run select table `table`: R[dst] = the index of the arm that fired (arm count: the timeout)
    Select { dst: Reg, table: SelectIndex }
    /// R[dst] = the pid of a new process running prototype `proto` over the captures R[first..first+captures of proto] (`spawn { ... }`, with no closure value built)
    SpawnBlock { dst: Reg, first: Reg, proto: ProtoIndex } window(first, 0)
    /// like SpawnBlock, the new process linked to this one (`spawn_link { ... }`)
    SpawnLinkBlock { dst: Reg, first: Reg, proto: ProtoIndex } window(first, 0)
}

impl Instr {
    /// The jump distance, if this instruction jumps.
    pub fn jump_offset(&self) -> Option<i32> {
        self.operands()
            .iter()
            .find(|o| o.kind == OperandKind::Jump)
            .map(|o| o.value as i32)
    }

    /// Sets the jump distance; false if this instruction does not jump.
    pub fn set_jump(&mut self, offset: Jump) -> bool {
        struct SetJump(Jump, bool);
        impl OperandVisitor for SetJump {
            fn jump(&mut self, jump: &mut Jump) {
                *jump = self.0;
                self.1 = true;
            }
        }
        let mut visitor = SetJump(offset, false);
        self.visit(&mut visitor);
        visitor.1
    }

    /// Does control never fall through to the next instruction?
    pub fn ends_flow(&self) -> bool {
        matches!(
            self,
            Instr::Return { .. }
                | Instr::Jump { .. }
                | Instr::Loop { .. }
                | Instr::TailCall { .. }
                | Instr::TailCallGlobal { .. }
                | Instr::Fail { .. }
        )
    }
}

/// A constant in a function's table.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Constant {
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Atom(Arc<str>),
    /// A bytes literal (`b"..."`).
    Bytes(Arc<[u8]>),
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
#[derive(Clone, Copy, Debug, PartialEq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SelectArm {
    /// Receive from R[chan] into R[value].
    Recv { chan: Reg, value: Reg },
    /// Send R[value] on R[chan].
    Send { chan: Reg, value: Reg },
}

/// A `select`'s arms and its optional timeout (milliseconds in R[timeout]).
#[derive(Clone, Debug, PartialEq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SelectTable {
    pub arms: Vec<SelectArm>,
    pub timeout: Option<Reg>,
}

/// A compiled function.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Proto {
    /// The function's name; empty for an anonymous function.
    pub name: String,
    pub arity: u16,
    /// How many values it captures (held in R[arity..arity+captures]).
    pub captures: u16,
    /// A named inner function that calls itself finds its own closure in
    /// R[arity+captures], put there by the VM on each call.
    pub self_slot: bool,
    /// How many registers an activation needs.
    pub registers: u16,
    pub code: Vec<Instr>,
    /// The source span of each instruction, for error reports.
    pub spans: Vec<Span>,
    pub constants: Vec<Constant>,
    pub selects: Vec<SelectTable>,
    /// Where the function is defined.
    pub span: Span,
}

impl Proto {
    /// The registers the calling convention fills before the body runs:
    /// parameters, captures and the self slot.
    pub fn entry_registers(&self) -> u32 {
        self.arity as u32 + self.captures as u32 + self.self_slot as u32
    }
}

/// A compiled source file.
#[derive(Clone, Debug)]
pub struct Module {
    /// The name its functions are qualified with (`main` for a script).
    pub name: String,
    pub source: Arc<SourceFile>,
    /// All functions; `protos[0]` is the file's top-level code (arity 0 for
    /// a script, 1 for a REPL entry). A prototype's identity is (module
    /// name, index in this list): it stays the same however many modules
    /// are loaded before it.
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

impl Module {
    /// A hash of everything that decides what the module's code does: each
    /// function's name, arity, captures, registers, instructions, constants
    /// and select tables, and the module's function and global names — not
    /// its source text or spans, so a change of comments or layout alone
    /// keeps the hash. Process images name their code by module name and
    /// this hash (docs/IMAGES.md). FNV-1a over the values in a fixed order:
    /// the same on every run of a build, and across builds on machines of
    /// the same word size and byte order.
    pub fn content_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
        self.protos.len().hash(&mut hasher);
        for proto in &self.protos {
            proto.name.hash(&mut hasher);
            (
                proto.arity,
                proto.captures,
                proto.self_slot,
                proto.registers,
            )
                .hash(&mut hasher);
            proto.code.hash(&mut hasher);
            proto.constants.len().hash(&mut hasher);
            for constant in &proto.constants {
                match constant {
                    Constant::Int(n) => (0u8, n).hash(&mut hasher),
                    Constant::Float(f) => (1u8, f.to_bits()).hash(&mut hasher),
                    Constant::Str(s) => (2u8, s).hash(&mut hasher),
                    Constant::Atom(a) => (3u8, a).hash(&mut hasher),
                    Constant::Bytes(b) => (4u8, b).hash(&mut hasher),
                }
            }
            proto.selects.hash(&mut hasher);
        }
        self.functions.hash(&mut hasher);
        self.globals.len().hash(&mut hasher);
        for global in &self.globals {
            portable_name(global).hash(&mut hasher);
        }
        hasher.finish()
    }
}

/// A module or global name without the file path an import adds to it:
/// `lib@/home/me/game/lib.weft.tick` is `lib@.tick`, `lib@/home/me/lib.weft`
/// is `lib@`. The same file imported from another directory is the same
/// code, so process images name code by this and the content hash.
pub fn portable_name(name: &str) -> std::borrow::Cow<'_, str> {
    let Some((alias, rest)) = name.split_once('@') else {
        return std::borrow::Cow::Borrowed(name);
    };
    // A global is the module's name, a dot and the function (which has no
    // dot); a module's own name ends with its path.
    match rest.rsplit_once('.') {
        Some((path, function)) if path.ends_with(".weft") => {
            std::borrow::Cow::Owned(format!("{alias}@.{function}"))
        }
        _ => std::borrow::Cow::Owned(format!("{alias}@")),
    }
}

/// 64-bit FNV-1a, for `Module::content_hash`: std's hashers are keyed per
/// process or may change between Rust releases; this one never changes.
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= *byte as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Generation of instructions for the fuzz targets (`fuzz/`): operands are
/// mostly small, so that a useful share of random modules passes the
/// verifier and reaches the interpreter.
#[cfg(feature = "arbitrary")]
mod fuzzing {
    /// A value in `0..=max`: below 16 seven times in eight, else anywhere.
    pub fn small_biased(u: &mut arbitrary::Unstructured<'_>, max: u32) -> arbitrary::Result<u32> {
        let byte: u8 = u.arbitrary()?;
        if byte < 224 {
            Ok((byte as u32 % 16).min(max))
        } else {
            Ok(u.int_in_range(0..=max)?)
        }
    }
}
