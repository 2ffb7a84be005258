//! The interpreter: runs one process for at most a budget of fuel.left.
//!
//! Invariants:
//! - Stackless: a Weft call pushes a `Frame` and continues the same loop; the
//!   Rust stack never grows with Weft's call depth. A native that calls Weft
//!   (`list.map`) does not call it either: it asks for the call, which
//!   becomes a frame, and continues when that frame returns
//!   (`continuation.rs`).
//! - A blocking instruction leaves `pc` on itself and returns `Waiting`; it
//!   runs again when the process is woken and reads `process.handoff` to see
//!   what happened meanwhile ("retry" semantics, as a Go channel operation
//!   re-checks after `gopark`).
//! - One reduction is spent per call and per loop back-edge (LANGUAGE.md
//!   §8); when the budget runs out the process yields at that point, so a
//!   `loop {}` can never starve the others.
//! - A frame owns exactly its registers `stack[base..base+registers]`; a
//!   tail call moves the new arguments down to `base` and never writes below.

pub(crate) mod code;
pub(crate) mod continuation;
pub(crate) mod image;
pub(crate) mod machine;
pub(crate) mod run;
pub(crate) mod spawn;
pub(crate) mod unchecked;

use std::sync::Arc;

use weft_compiler::bytecode::{FailKind, Instr, Jump};

use self::continuation::NativeCall;
use crate::data::atom::Atom;
use crate::data::channel::ChanOutcome;
use crate::data::ops;
use crate::data::value::{FnKind, Function, Value};
use crate::data::walk;
use crate::interp::code::{Code, Global};
use crate::interp::machine::Machine;
use crate::interp::unchecked::{fetch, store_bool, store_int, Register};
use crate::process::ctx::{Ctx, Fuel, Trap};
use crate::process::frames::{Frame, Frames, Guard, NativeFrame, Returned};
use crate::process::{Handoff, Process, Wait, Watcher};
use crate::runtime::events::RuntimeError;
use crate::runtime::scheduler::Scheduler;

/// Why a slice ended.
pub(crate) enum SliceEnd {
    /// The budget ran out, or the process yielded.
    Yielded,
    /// The process blocked; its status says on what.
    Waiting,
    /// The process's first function returned.
    Returned,
    /// A runtime error the process did not catch (boxed: a slice's end is
    /// returned and matched on every slice, and the error is rare and big).
    Failed(Box<RuntimeError>),
    /// The process called `exit(reason)`.
    Exited(Value),
}

/// What the inner loop hands to the outer one.
pub(crate) enum Flow {
    /// A frame was pushed or popped: reload the current frame.
    Reload,
    Error(Atom, String),
    End(SliceEnd),
    /// A frame whose result belongs to a native's continuation returned.
    Resume(Box<NativeFrame>, Value),
    /// A native asked to call a function and continue with its result.
    Native(NativeCall),
}

/// A register of the running frame, read or written without a bounds
/// check (`unchecked.rs` argues why that is sound).
macro_rules! reg {
    ($process:ident, $base:ident, $r:expr) => {
        $process.stack[Register($base + ($r).index())]
    };
}

/// Writes a register. Dropping the old value is skipped (not just made
/// cheap) when it holds no heap reference, which keeps the common integer
/// case free of an out-of-line `drop_in_place` call. The new value is
/// written inline whatever the old one was: handing it to an out-of-line
/// function passes it through memory, and the callee's 16-byte load of a
/// value just built in pieces stalls the CPU (see `unchecked.rs`).
#[inline(always)]
fn store(slot: &mut Value, value: Value) {
    if slot.is_scalar() {
        std::mem::forget(std::mem::replace(slot, value));
    } else {
        *slot = value;
    }
}

macro_rules! set_int {
    ($process:ident, $base:ident, $r:expr, $n:expr) => {{
        let n: i64 = $n;
        store_int(&mut $process.stack[Register($base + ($r).index())], n)
    }};
}

macro_rules! set_bool {
    ($process:ident, $base:ident, $r:expr, $b:expr) => {{
        let b: bool = $b;
        store_bool(&mut $process.stack[Register($base + ($r).index())], b)
    }};
}

macro_rules! set {
    ($process:ident, $base:ident, $r:expr, $value:expr) => {{
        let value = $value;
        store(&mut $process.stack[Register($base + ($r).index())], value)
    }};
}

/// A binary arithmetic instruction: two ints inline with a checked
/// operation; anything else (floats, overflow, a zero divisor, bad operands)
/// through `ops`, which produces the right value or error.
macro_rules! arith {
    ($process:ident, $base:ident, $pc:expr, $dst:ident, $a:ident, $b:ident, $checked:ident, $slow:path) => {{
        if let (Value::Int(x), Value::Int(y)) =
            (&reg!($process, $base, $a), &reg!($process, $base, $b))
        {
            if let Some(v) = x.$checked(*y) {
                set_int!($process, $base, $dst, v);
                continue;
            }
        }
        match $slow(&reg!($process, $base, $a), &reg!($process, $base, $b)) {
            Ok(v) => set!($process, $base, $dst, v),
            Err((kind, message)) => break fail($process, $pc, kind, message),
        }
    }};
}

/// Runs `process` until it blocks, ends, or spends `budget` fuel.left.
pub(crate) fn run(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    budget: u32,
) -> SliceEnd {
    let mut fuel = Fuel::new(budget as i64);
    let spent = |left: i64| (budget as i64 - left).max(0) as u64;
    // What the process owes from before (freeing it paid for after its
    // last slice, `run_slice`) comes out of this slice.
    if process.debt > 0 {
        fuel.spend(std::mem::take(&mut process.debt) as i64);
    }
    // A call spends a reduction; with none left, the process yields and the
    // call runs first thing next time (the pc stays on it). The call runs
    // while a reduction is left to pay for it, the last one included: with
    // a budget of 1, a process makes progress one call at a time instead of
    // yielding at the same call forever.
    macro_rules! spend_call {
        ($pc:expr) => {
            if fuel.left <= 0 {
                save_pc(process, $pc - 1);
                process.reductions += spent(fuel.left);
                return SliceEnd::Yielded;
            }
            fuel.left -= 1;
        };
    }
    // Compares two containers on the slice's remaining fuel.left; out of
    // them, the comparison is kept in the process and the instruction runs
    // again (resuming it) next slice.
    macro_rules! walk_registers {
        ($base:ident, $pc:expr, $a:expr, $b:expr, $mode:expr) => {{
            let x = reg!(process, $base, $a).clone();
            let y = reg!(process, $base, $b).clone();
            match compare_walk(process, $pc, &x, &y, $mode, &mut fuel) {
                Some(verdict) => (verdict, x, y),
                None => {
                    save_pc(process, $pc - 1);
                    process.reductions += spent(fuel.left);
                    return SliceEnd::Yielded;
                }
            }
        }};
    }
    // `R[a] == R[b]`: at once unless both are containers.
    macro_rules! equal {
        ($base:ident, $pc:expr, $a:expr, $b:expr) => {{
            let (x, y) = (&reg!(process, $base, $a), &reg!(process, $base, $b));
            // Integers and atoms (message tags) inline; the rest out of line.
            if let (Value::Int(m), Value::Int(n)) = (x, y) {
                m == n
            } else if let (Value::Atom(m), Value::Atom(n)) = (x, y) {
                m == n
            } else if walk::is_container(x) && walk::is_container(y) {
                walk_registers!($base, $pc, $a, $b, walk::Mode::Equal).0 == walk::Verdict::Same
            } else {
                walk::leaf_equal(x, y)
            }
        }};
    }
    // `R[a] < R[b]` (or `<=`, by `$op`, with `$int` the same test on two
    // integers, inline: a `for` loop's bound check); two lists or two
    // tuples walk.
    macro_rules! ordered {
        ($base:ident, $pc:expr, $a:expr, $b:expr, $op:path, $int:tt) => {{
            let (x, y) = (&reg!(process, $base, $a), &reg!(process, $base, $b));
            if let (Value::Int(m), Value::Int(n)) = (x, y) {
                Ok(m $int n)
            } else if matches!((x, y), (Value::List { .. }, Value::List { .. }))
                || matches!((x, y), (Value::Tuple(_), Value::Tuple(_)))
            {
                let (verdict, x, y) = walk_registers!($base, $pc, $a, $b, walk::Mode::Order);
                ops::verdict_is($op, verdict, &x, &y)
            } else {
                $op(x, y)
            }
        }};
    }
    loop {
        let Some(&frame) = process.frames.last() else {
            return SliceEnd::Returned;
        };
        let mut proto = &code.protos[frame.proto as usize];
        let mut base = frame.base as usize;
        // The next instruction, as a pointer into the running prototype's
        // code (`unchecked.rs`): one register for what an index and the
        // code's slice took two, so the loop keeps it out of memory.
        let mut ip: *const Instr = proto.code.as_ptr().wrapping_add(frame.pc as usize);
        // The index of the next instruction (`pc`), for the paths that
        // record or report where the frame is.
        macro_rules! pc {
            () => {
                (ip as usize - proto.code.as_ptr() as usize) / std::mem::size_of::<Instr>()
            };
        }
        let flow: Flow = loop {
            let instr: &Instr = fetch(ip);
            ip = ip.wrapping_add(1);
            match *instr {
                Instr::Nil { dst } => set!(process, base, dst, Value::Nil),
                Instr::SelfPid { dst } => set!(process, base, dst, Value::Pid(process.pid)),
                Instr::Bool { dst, value } => set_bool!(process, base, dst, value),
                Instr::Int { dst, value } => {
                    set_int!(process, base, dst, value.get() as i64)
                }
                Instr::Const { dst, index } => {
                    set!(process, base, dst, proto.constants[index.index()].clone());
                }
                Instr::Move { dst, src } => {
                    let value = reg!(process, base, src).clone();
                    set!(process, base, dst, value);
                }
                Instr::Take { dst, src } => {
                    let value = std::mem::take(&mut reg!(process, base, src));
                    set!(process, base, dst, value);
                }
                Instr::Closure {
                    dst,
                    first,
                    proto: index,
                } => {
                    let target = &code.protos[index.index()];
                    let start = base + first.index();
                    let captures: Box<[Value]> = process.stack
                        [start..start + target.captures as usize]
                        .to_vec()
                        .into();
                    reg!(process, base, dst) = Value::Fn(Arc::new(Function {
                        name: target.name.clone(),
                        arity: Some(target.arity),
                        kind: FnKind::Weft {
                            proto: index.get(),
                            captures,
                        },
                    }));
                }
                Instr::FnRef { dst, global } => {
                    set!(process, base, dst, function_value(code, global.get()));
                }
                Instr::List { dst, first, count } => {
                    let start = base + first.index();
                    let items = process.stack[start..start + count.index()].to_vec();
                    set!(process, base, dst, Value::list(items));
                }
                Instr::ListAppend { dst, first, count } => {
                    let start = base + first.index();
                    let items = process.stack[start..start + count.index()].to_vec();
                    let list = std::mem::take(&mut reg!(process, base, dst));
                    match ops::concat(list, &Value::list(items), &mut fuel) {
                        Ok(v) => set!(process, base, dst, v),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::Tuple { dst, first, count } => {
                    let start = base + first.index();
                    let items = process.stack[start..start + count.index()].to_vec();
                    set!(process, base, dst, Value::tuple(items));
                }
                Instr::TupleOfList { dst, src } => {
                    let items = reg!(process, base, src).as_list().unwrap_or(&[]).to_vec();
                    set!(process, base, dst, Value::tuple(items));
                }
                Instr::Map { dst, first, count } => {
                    let start = base + first.index();
                    let mut map = crate::data::value::WeftMap::default();
                    for pair in process.stack[start..start + 2 * count.index()].chunks(2) {
                        fuel.charge_key(&pair[0]);
                        map.insert(pair[0].clone(), pair[1].clone());
                    }
                    set!(
                        process,
                        base,
                        dst,
                        Value::map(crate::data::value::MapItems(map))
                    );
                }
                Instr::MapInsert { dst, first, count } => {
                    let start = base + first.index();
                    let mut map = match std::mem::take(&mut reg!(process, base, dst)) {
                        Value::Map(map) => map,
                        _ => Arc::default(),
                    };
                    let entries = Value::map_make_mut(&mut map, &mut fuel);
                    for pair in process.stack[start..start + 2 * count.index()].chunks(2) {
                        fuel.charge_key(&pair[0]);
                        entries.insert(pair[0].clone(), pair[1].clone());
                    }
                    set!(process, base, dst, Value::Map(map));
                }
                Instr::Range { dst, a, b } => {
                    if let (Value::Int(x), Value::Int(y)) =
                        (&reg!(process, base, a), &reg!(process, base, b))
                    {
                        let length = y.saturating_sub(*x).max(0) as u64;
                        if length > RANGE_INLINE_MAX {
                            // A long range is `list.range`'s, which builds
                            // it in pieces across slices.
                            let (x, y) = (*x, *y);
                            match long_range(
                                code,
                                scheduler,
                                process,
                                &mut fuel,
                                x,
                                y,
                                base + dst.index(),
                                pc!(),
                            ) {
                                Step::Continue => continue,
                                Step::Flow(flow) => break flow,
                            }
                        }
                        fuel.left -= (length / 64) as i64;
                        let bytes = length.saturating_mul(VALUE_SIZE as u64);
                        if let Err(why) = crate::data::memory::admit(
                            &scheduler.limits,
                            usize::try_from(bytes).unwrap_or(usize::MAX),
                        ) {
                            break fail(
                                process,
                                pc!(),
                                Atom::SYSTEM_LIMIT,
                                format!("the range {x}..{y}: {why}"),
                            );
                        }
                    }
                    match ops::range(&reg!(process, base, a), &reg!(process, base, b)) {
                        Ok(v) => set!(process, base, dst, v),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::Add { dst, a, b } => {
                    arith!(process, base, pc!(), dst, a, b, checked_add, ops::add)
                }
                Instr::AddInt { dst, a, value } => {
                    if let Value::Int(x) = &reg!(process, base, a) {
                        if let Some(v) = x.checked_add(value.get() as i64) {
                            set_int!(process, base, dst, v);
                            continue;
                        }
                    }
                    // Not an integer, or an overflow: `ops` has the value
                    // (a float sum) or the error.
                    match ops::add(&reg!(process, base, a), &Value::Int(value.get() as i64)) {
                        Ok(v) => set!(process, base, dst, v),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::Sub { dst, a, b } => {
                    arith!(process, base, pc!(), dst, a, b, checked_sub, ops::sub)
                }
                Instr::Mul { dst, a, b } => {
                    arith!(process, base, pc!(), dst, a, b, checked_mul, ops::mul)
                }
                Instr::Div { dst, a, b } => {
                    arith!(process, base, pc!(), dst, a, b, checked_div, ops::div)
                }
                Instr::Rem { dst, a, b } => {
                    arith!(process, base, pc!(), dst, a, b, checked_rem, ops::rem)
                }
                Instr::Concat { dst, a, b } => {
                    // Take the left operand when it is a temporary about to
                    // be overwritten, so `s = s ++ x` can append in place.
                    // Copying costs time and memory: charge for it, and
                    // refuse a value over a heap limit before building it
                    // (a doubling loop must fail, not exhaust the machine).
                    let bytes = ops::concat_size(&reg!(process, base, a), &reg!(process, base, b));
                    if let Err(why) = crate::data::memory::admit(&scheduler.limits, bytes) {
                        break fail(process, pc!(), Atom::SYSTEM_LIMIT, format!("`++`: {why}"));
                    }
                    let left = if a == dst && b != dst {
                        std::mem::take(&mut reg!(process, base, a))
                    } else {
                        reg!(process, base, a).clone()
                    };
                    match ops::concat(left, &reg!(process, base, b), &mut fuel) {
                        Ok(v) => set!(process, base, dst, v),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::Neg { dst, src } => match ops::neg(&reg!(process, base, src)) {
                    Ok(v) => set!(process, base, dst, v),
                    Err((kind, message)) => break fail(process, pc!(), kind, message),
                },
                Instr::Not { dst, src } => {
                    let value = !reg!(process, base, src).is_truthy();
                    set_bool!(process, base, dst, value);
                }
                Instr::Eq { dst, a, b } => {
                    let value = equal!(base, pc!(), a, b);
                    set_bool!(process, base, dst, value);
                }
                Instr::Ne { dst, a, b } => {
                    let value = !equal!(base, pc!(), a, b);
                    set_bool!(process, base, dst, value);
                }
                Instr::Lt { dst, a, b } => match ordered!(base, pc!(), a, b, ops::less, <) {
                    Ok(v) => set_bool!(process, base, dst, v),
                    Err((kind, message)) => break fail(process, pc!(), kind, message),
                },
                Instr::Le { dst, a, b } => match ordered!(base, pc!(), a, b, ops::less_equal, <=) {
                    Ok(v) => set_bool!(process, base, dst, v),
                    Err((kind, message)) => break fail(process, pc!(), kind, message),
                },
                Instr::Index { dst, obj, key } => {
                    if let Value::Map(_) = &reg!(process, base, obj) {
                        fuel.charge_key(&reg!(process, base, key));
                    }
                    match ops::index(&reg!(process, base, obj), &reg!(process, base, key)) {
                        Ok(v) => set!(process, base, dst, v),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::Jump { offset } => ip = jump(ip, offset),
                Instr::Loop { offset } => {
                    ip = jump(ip, offset);
                    fuel.left -= 1;
                    if fuel.left <= 0 {
                        save_pc(process, pc!());
                        process.reductions += spent(fuel.left);
                        return SliceEnd::Yielded;
                    }
                }
                Instr::JumpIfFalse { cond, offset } => {
                    if !reg!(process, base, cond).is_truthy() {
                        ip = jump(ip, offset);
                    }
                }
                Instr::JumpIfTrue { cond, offset } => {
                    if reg!(process, base, cond).is_truthy() {
                        ip = jump(ip, offset);
                    }
                }
                Instr::JumpIfNotLt { a, b, offset } => {
                    match ordered!(base, pc!(), a, b, ops::less, <) {
                        Ok(true) => {}
                        Ok(false) => ip = jump(ip, offset),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::JumpIfNotLe { a, b, offset } => {
                    match ordered!(base, pc!(), a, b, ops::less_equal, <=) {
                        Ok(true) => {}
                        Ok(false) => ip = jump(ip, offset),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::JumpIfNotLtInt { a, value, offset } => {
                    let less = match &reg!(process, base, a) {
                        Value::Int(x) => Ok(*x < value.get() as i64),
                        other => ops::less(other, &Value::Int(value.get() as i64)),
                    };
                    match less {
                        Ok(true) => {}
                        Ok(false) => ip = jump(ip, offset),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::JumpIfNe { a, b, offset } => {
                    if !equal!(base, pc!(), a, b) {
                        ip = jump(ip, offset);
                    }
                }
                Instr::JumpIfNotTuple { src, len, offset } => {
                    let ok = matches!(&reg!(process, base, src), Value::Tuple(items) if items.len() == len.index());
                    if !ok {
                        ip = jump(ip, offset);
                    }
                }
                Instr::JumpIfNotList { src, len, offset } => {
                    let ok = reg!(process, base, src)
                        .as_list()
                        .is_some_and(|l| l.len() == len.index());
                    if !ok {
                        ip = jump(ip, offset);
                    }
                }
                Instr::JumpIfNotListFrom { src, len, offset } => {
                    let ok = reg!(process, base, src)
                        .as_list()
                        .is_some_and(|l| l.len() >= len.index());
                    if !ok {
                        ip = jump(ip, offset);
                    }
                }
                Instr::JumpIfNoKey { dst, map, offset } => {
                    let found = match &reg!(process, base, map) {
                        Value::Map(m) => {
                            fuel.charge_key(&reg!(process, base, dst));
                            m.get(&reg!(process, base, dst)).cloned()
                        }
                        _ => None,
                    };
                    match found {
                        Some(v) => set!(process, base, dst, v),
                        None => ip = jump(ip, offset),
                    }
                }
                Instr::JumpIfNotMap { src, offset } => {
                    if !matches!(reg!(process, base, src), Value::Map(_)) {
                        ip = jump(ip, offset);
                    }
                }
                Instr::GuardBegin { offset } => {
                    process.frames.push_guard(Guard {
                        pc: jump_index(pc!(), offset) as u32,
                        dst: None,
                    });
                }
                Instr::TryBegin { dst, offset } => {
                    process.frames.push_guard(Guard {
                        pc: jump_index(pc!(), offset) as u32,
                        dst: Some(dst.get() as u16),
                    });
                }
                Instr::GuardEnd {} => process.frames.pop_guard(),
                Instr::Element { dst, src, index } => {
                    let value = match &reg!(process, base, src) {
                        Value::Tuple(items) => items.get(index.index()).cloned(),
                        list => list.as_list().and_then(|l| l.get(index.index()).cloned()),
                    };
                    set!(process, base, dst, value.unwrap_or_default());
                }
                Instr::Rest { dst, src, from } => {
                    let value = match &reg!(process, base, src) {
                        Value::List { start, items } => Value::List {
                            start: (*start + from.get()).min(items.len() as u32),
                            items: items.clone(),
                        },
                        _ => Value::list(Vec::new()),
                    };
                    set!(process, base, dst, value);
                }
                Instr::Fail { kind, src } => {
                    let shown = ops::describe_value(&reg!(process, base, src));
                    let message = match FailKind::from_u8(kind) {
                        FailKind::NoMatch => format!("no pattern matches {shown}"),
                        FailKind::LetNoMatch => {
                            format!("the pattern of `let` does not match {shown}")
                        }
                    };
                    break fail(process, pc!(), Atom::NOMATCH, message);
                }
                Instr::IterStart { iter, src } => {
                    let source = reg!(process, base, src).clone();
                    let ok = matches!(
                        source,
                        Value::List { .. }
                            | Value::Tuple(_)
                            | Value::Map(_)
                            | Value::Str(_)
                            | Value::Bytes(_)
                            | Value::Chan(_)
                    );
                    if !ok {
                        let message =
                            format!("can't iterate over {}", ops::describe_value(&source));
                        break fail(process, pc!(), Atom::BADARG, message);
                    }
                    set!(process, base, iter, source);
                    set!(process, base, iter + 1, Value::Int(0));
                }
                Instr::IterNext { iter, dst, offset } => {
                    let position = match reg!(process, base, iter + 1) {
                        Value::Int(p) => p as usize,
                        _ => 0,
                    };
                    let next = match &reg!(process, base, iter) {
                        Value::List { .. } => {
                            let items = reg!(process, base, iter).as_list().unwrap_or(&[]);
                            items.get(position).map(|v| (v.clone(), position + 1))
                        }
                        Value::Tuple(items) => {
                            items.get(position).map(|v| (v.clone(), position + 1))
                        }
                        Value::Map(map) => map
                            .get_index(position)
                            .map(|(k, v)| (Value::tuple(vec![k.clone(), v.clone()]), position + 1)),
                        Value::Str(s) => s
                            .get(position..)
                            .and_then(|rest| rest.chars().next())
                            .map(|c| (Value::str(c.to_string()), position + c.len_utf8())),
                        Value::Bytes(b) => b
                            .get(position)
                            .map(|&x| (Value::Int(x as i64), position + 1)),
                        Value::Chan(chan) => {
                            let chan = chan.clone();
                            match receive_from(scheduler, process, &chan) {
                                Some(Some(v)) => Some((v, 0)),
                                Some(None) => None,
                                None => {
                                    save_pc(process, pc!() - 1);
                                    process.reductions += spent(fuel.left);
                                    return SliceEnd::Waiting;
                                }
                            }
                        }
                        _ => None,
                    };
                    match next {
                        Some((value, next_position)) => {
                            set!(process, base, dst, value);
                            set!(process, base, iter + 1, Value::Int(next_position as i64));
                        }
                        None => ip = jump(ip, offset),
                    }
                }
                Instr::CallGlobal {
                    base: b,
                    argc,
                    global,
                } => {
                    spend_call!(pc!());
                    let start = base + b.index();
                    let argc = argc.index();
                    // The common case inline: a Weft function, right arity.
                    if let Global::Weft(index) = code.globals[global.index()] {
                        let callee = &code.protos[index as usize];
                        let needed = start + callee.registers as usize;
                        if callee.arity as usize == argc
                            && process.frames.len() < MAX_FRAMES
                            && (process.stack.len() >= needed
                                || stack_fits(
                                    needed,
                                    process.frames.len(),
                                    scheduler.limits.max_heap,
                                ))
                        {
                            if process.stack.len() < needed {
                                process.stack.resize(needed, Value::Nil);
                            }
                            let frame = Frame {
                                proto: index,
                                pc: 0,
                                base: start as u32,
                                ret: start as u32,
                            };
                            process.frames.call(pc!() as u32, frame);
                            // Switch to the callee without leaving the loop.
                            proto = callee;
                            ip = callee.code.as_ptr();
                            base = start;
                            continue;
                        }
                    }
                    match call_global(
                        code,
                        scheduler,
                        process,
                        &mut fuel,
                        global.get(),
                        start,
                        argc,
                        start,
                        pc!(),
                        false,
                    ) {
                        Step::Continue => {}
                        Step::Flow(flow) => break flow,
                    }
                }
                Instr::TailCallGlobal {
                    base: b,
                    argc,
                    global,
                } => {
                    spend_call!(pc!());
                    let start = base + b.index();
                    let argc = argc.index();
                    // The common case inline: a Weft function, right arity,
                    // its registers within the frame's stack room.
                    if let Global::Weft(index) = code.globals[global.index()] {
                        let callee = &code.protos[index as usize];
                        let needed = base + callee.registers as usize;
                        if callee.arity as usize == argc && process.stack.len() >= needed {
                            // The compiler puts a tail call's arguments at
                            // R[0..argc] already; other layouts move down.
                            for i in (0..argc).filter(|_| start != base) {
                                let value = std::mem::take(&mut process.stack[Register(start + i)]);
                                store(&mut process.stack[Register(base + i)], value);
                            }
                            let top = process.frames.top_mut();
                            top.proto = index;
                            top.pc = 0;
                            proto = callee;
                            ip = callee.code.as_ptr();
                            continue;
                        }
                    }
                    match call_global(
                        code,
                        scheduler,
                        process,
                        &mut fuel,
                        global.get(),
                        start,
                        argc,
                        start,
                        pc!(),
                        true,
                    ) {
                        Step::Continue => {}
                        Step::Flow(flow) => break flow,
                    }
                }
                Instr::Call { base: b, argc } | Instr::TailCall { base: b, argc } => {
                    spend_call!(pc!());
                    let tail = matches!(*instr, Instr::TailCall { .. });
                    let slot = base + b.index();
                    let argc = argc.index();
                    let callee = match &process.stack[Register(slot)] {
                        Value::Fn(f) => f.clone(),
                        other => {
                            let message = format!(
                                "can't call {}: it is not a function",
                                ops::describe_value(other)
                            );
                            break fail(process, pc!(), Atom::BADARG, message);
                        }
                    };
                    match &callee.kind {
                        FnKind::Weft {
                            proto: index,
                            captures,
                        } => {
                            let push = if tail {
                                Push::Tail
                            } else {
                                Push::Call { ret: slot }
                            };
                            let entered = enter(
                                code,
                                scheduler.limits.max_heap,
                                process,
                                *index,
                                Some(&callee),
                                captures,
                                slot + 1,
                                argc,
                                pc!(),
                                push,
                            );
                            match entered {
                                Ok(()) => break Flow::Reload,
                                Err(flow) => break flow,
                            }
                        }
                        FnKind::Global(global) => {
                            match call_global(
                                code,
                                scheduler,
                                process,
                                &mut fuel,
                                *global,
                                slot + 1,
                                argc,
                                slot,
                                pc!(),
                                tail,
                            ) {
                                Step::Continue => {}
                                Step::Flow(flow) => break flow,
                            }
                        }
                    }
                }
                Instr::Return { src } => {
                    let value = std::mem::take(&mut reg!(process, base, src));
                    match process.frames.pop_to_caller() {
                        Some(done) => {
                            store(&mut process.stack[Register(done.ret as usize)], value);
                            // Resume the caller without leaving the loop.
                            let caller = process.frames.top();
                            proto = &code.protos[caller.proto as usize];
                            base = caller.base as usize;
                            ip = proto.code.as_ptr().wrapping_add(caller.pc as usize);
                            continue;
                        }
                        None => break return_value(process, value),
                    }
                }
                Instr::Spawn {
                    dst,
                    base: b,
                    argc,
                    link,
                } => {
                    let start = base + b.index();
                    let function = process.stack[start].clone();
                    let args: Vec<Value> =
                        process.stack[start + 1..start + 1 + argc.index()].to_vec();
                    match scheduler.spawn_value(
                        code,
                        &function,
                        args,
                        Watcher::link(link.then_some(&mut *process)),
                    ) {
                        Ok(pid) => set!(process, base, dst, Value::Pid(pid)),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::SpawnBlock {
                    dst,
                    first,
                    proto: index,
                }
                | Instr::SpawnLinkBlock {
                    dst,
                    first,
                    proto: index,
                } => {
                    let link = matches!(*instr, Instr::SpawnLinkBlock { .. });
                    let start = base + first.index();
                    let count = code.protos[index.index()].captures as usize;
                    // The captures are copied out first: the watcher
                    // borrows the spawning process.
                    let captures: smallvec::SmallVec<[Value; 4]> = process.stack
                        [start..start + count]
                        .iter()
                        .cloned()
                        .collect();
                    match scheduler.spawn_block(
                        code,
                        index.get(),
                        captures,
                        Watcher::link(link.then_some(&mut *process)),
                    ) {
                        Ok(pid) => set!(process, base, dst, Value::Pid(pid)),
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
                Instr::Send { to, msg, take } => {
                    let message = if take {
                        std::mem::take(&mut reg!(process, base, msg))
                    } else {
                        reg!(process, base, msg).clone()
                    };
                    // A local pid, the common target, is copied out of its
                    // register; anything else is cloned for `send_from`.
                    let sent = match &reg!(process, base, to) {
                        Value::Pid(pid) => {
                            let pid = *pid;
                            scheduler.send_to_pid(process, pid, message)
                        }
                        target => {
                            let target = target.clone();
                            scheduler.send_from(process, &target, message)
                        }
                    };
                    if let Err((kind, message)) = sent {
                        break fail(process, pc!(), kind, message);
                    }
                }
                Instr::ReceiveStart { cursor, timeout } => {
                    if process.handoff.is_some() {
                        process.handoff = None;
                    }
                    set!(process, base, cursor, Value::Int(0));
                    if timeout {
                        let deadline = match &reg!(process, base, cursor + 1) {
                            // A negative timeout polls, like `after 0` (and
                            // like `select`'s).
                            Value::Int(ms) => scheduler.deadline((*ms).max(0) as f64),
                            Value::Float(ms) if !ms.is_nan() => scheduler.deadline(ms.max(0.0)),
                            other => {
                                let message = format!(
                                    "`after` needs a number of milliseconds, got {}",
                                    ops::describe_value(other)
                                );
                                break fail(process, pc!(), Atom::BADARG, message);
                            }
                        };
                        set!(process, base, cursor + 1, Value::Int(deadline as i64));
                    } else {
                        set!(process, base, cursor + 1, Value::Nil);
                    }
                }
                Instr::ReceiveNext {
                    dst,
                    cursor,
                    offset,
                } => {
                    let position = match reg!(process, base, cursor) {
                        Value::Int(p) => p as usize,
                        _ => 0,
                    };
                    match process.mailbox.get(position) {
                        Some(message) => {
                            let message = message.clone();
                            set!(process, base, dst, message);
                        }
                        // No `after`: wait right here, and look again when
                        // a message comes (what ReceiveWait and the loop
                        // back would do, in one instruction).
                        None if matches!(reg!(process, base, cursor + 1), Value::Nil) => {
                            if scheduler.has_signals(process.pid) {
                                if let Err(reason) = scheduler.absorb(process) {
                                    process.reductions += spent(fuel.left);
                                    return SliceEnd::Exited(reason);
                                }
                                if process.mailbox.len() > position {
                                    ip = ip.wrapping_sub(1);
                                    continue;
                                }
                            }
                            scheduler.block(process, Wait::Mailbox, None);
                            save_pc(process, pc!() - 1);
                            process.reductions += spent(fuel.left);
                            return SliceEnd::Waiting;
                        }
                        None => ip = jump(ip, offset),
                    }
                }
                Instr::ReceiveSkip { cursor } => {
                    if let Value::Int(p) = &mut reg!(process, base, cursor) {
                        *p += 1;
                    }
                }
                Instr::ReceiveAccept { cursor } => {
                    match reg!(process, base, cursor) {
                        // The usual case: the oldest message matched.
                        Value::Int(0) => drop(process.mailbox.pop_front()),
                        Value::Int(p) => drop(process.mailbox.remove(p as usize)),
                        _ => {}
                    }
                }
                Instr::ReceiveWait { cursor, offset } => {
                    if process.handoff.is_some()
                        && matches!(process.handoff.take(), Some(Handoff::TimedOut))
                    {
                        ip = jump(ip, offset);
                        continue;
                    }
                    let position = match reg!(process, base, cursor) {
                        Value::Int(p) => p as usize,
                        _ => 0,
                    };
                    if process.mailbox.len() > position {
                        continue;
                    }
                    // Messages may have arrived while this process ran (from
                    // another core): take them before deciding to wait.
                    if scheduler.has_signals(process.pid) {
                        if let Err(reason) = scheduler.absorb(process) {
                            process.reductions += spent(fuel.left);
                            return SliceEnd::Exited(reason);
                        }
                        if process.mailbox.len() > position {
                            continue;
                        }
                    }
                    let deadline = match reg!(process, base, cursor + 1) {
                        Value::Int(d) => Some(d as u64),
                        _ => None,
                    };
                    if let Some(deadline) = deadline {
                        if scheduler.now() >= deadline {
                            ip = jump(ip, offset);
                            continue;
                        }
                    }
                    scheduler.block(process, Wait::Mailbox, deadline);
                    save_pc(process, pc!() - 1);
                    process.reductions += spent(fuel.left);
                    return SliceEnd::Waiting;
                }
                Instr::ChanSend { chan, value } => {
                    match process.handoff.take() {
                        Some(Handoff::Sent { .. }) => {
                            if scheduler.tracing {
                                if let Value::Chan(channel) = &reg!(process, base, chan) {
                                    trace_channel(scheduler, process, channel.id, true);
                                }
                            }
                            continue;
                        }
                        Some(Handoff::Closed { .. }) => {
                            break fail(
                                process,
                                pc!(),
                                Atom::CLOSED,
                                "send on a closed channel".to_string(),
                            )
                        }
                        _ => {}
                    }
                    let Value::Chan(channel) = &reg!(process, base, chan) else {
                        let message = format!(
                            "`<-` sends on a channel, got {}",
                            ops::describe_value(&reg!(process, base, chan))
                        );
                        break fail(process, pc!(), Atom::BADARG, message);
                    };
                    let channel = channel.clone();
                    let value = reg!(process, base, value).clone();
                    match scheduler.chan_send(process, &channel, value) {
                        ChanOutcome::Done(_) => {
                            if scheduler.tracing {
                                trace_channel(scheduler, process, channel.id, true);
                            }
                        }
                        ChanOutcome::Blocked => {
                            save_pc(process, pc!() - 1);
                            process.reductions += spent(fuel.left);
                            return SliceEnd::Waiting;
                        }
                        ChanOutcome::Closed => {
                            break fail(
                                process,
                                pc!(),
                                Atom::CLOSED,
                                "send on a closed channel".to_string(),
                            )
                        }
                    }
                }
                Instr::ChanRecv { dst, chan } => {
                    let Value::Chan(channel) = &reg!(process, base, chan) else {
                        let message = format!(
                            "`<-` receives from a channel, got {}",
                            ops::describe_value(&reg!(process, base, chan))
                        );
                        break fail(process, pc!(), Atom::BADARG, message);
                    };
                    let channel = channel.clone();
                    match receive_from(scheduler, process, &channel) {
                        Some(value) => {
                            if scheduler.tracing {
                                trace_channel(scheduler, process, channel.id, false);
                            }
                            set!(process, base, dst, value.unwrap_or_default())
                        }
                        None => {
                            save_pc(process, pc!() - 1);
                            process.reductions += spent(fuel.left);
                            return SliceEnd::Waiting;
                        }
                    }
                }
                Instr::Select { dst, table } => {
                    let table = &proto.selects[table.index()];
                    match scheduler.select(process, base, table) {
                        Ok(Some(arm)) => set!(process, base, dst, Value::Int(arm as i64)),
                        Ok(None) => {
                            save_pc(process, pc!() - 1);
                            process.reductions += spent(fuel.left);
                            return SliceEnd::Waiting;
                        }
                        Err((kind, message)) => break fail(process, pc!(), kind, message),
                    }
                }
            }
        };
        // A native's call into Weft and its continuation each end in
        // another flow: settle them first.
        let mut flow = flow;
        let flow = loop {
            flow = match flow {
                Flow::Native(call) => {
                    continuation::begin(code, scheduler, process, call, &mut fuel)
                }
                Flow::Resume(native, value) => {
                    continuation::resume(code, scheduler, process, native, value, &mut fuel)
                }
                settled => break settled,
            };
        };
        match flow {
            Flow::Reload | Flow::Native(_) | Flow::Resume(..) => continue,
            Flow::End(end) => {
                process.reductions += spent(fuel.left);
                return end;
            }
            Flow::Error(kind, message) => {
                // Inside a guard, an error just means "no match"; inside a
                // `try`, it is the value.
                if let Some(guard) = process.frames.unwind_to_guard() {
                    if let Some(top) = process.frames.last_mut() {
                        top.pc = guard.pc;
                        if let Some(dst) = guard.dst {
                            // A `try`: its value is the error.
                            let slot = top.base as usize + dst as usize;
                            if let Some(register) = process.stack.get_mut(slot) {
                                *register = Value::error_reason(kind, &message);
                            }
                        }
                    }
                    continue;
                }
                process.reductions += spent(fuel.left);
                let (frames, omitted) = trace(code, process);
                let mut error = RuntimeError::new(kind, message, frames);
                error.frames_omitted = omitted;
                return SliceEnd::Failed(Box::new(error));
            }
        }
    }
}

/// Ranges up to this long are built by the `Range` instruction itself;
/// longer ones by `list.range`, in pieces.
const RANGE_INLINE_MAX: u64 = 1 << 16;

/// `x..y` for a long range: a call of the global `list.range` with the
/// two ints (in scratch registers above the frame), its result to
/// `stack[ret]`.
#[allow(clippy::too_many_arguments)]
#[cold]
fn long_range(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    fuel: &mut Fuel,
    x: i64,
    y: i64,
    ret: usize,
    pc: usize,
) -> Step {
    let Some(&global) = code.global_index.get("list.range") else {
        return Step::Flow(fail(
            process,
            pc,
            Atom::BADARG,
            "list.range is not loaded".to_string(),
        ));
    };
    let top = frame_top(code, process);
    if process.stack.len() < top + 2 {
        process.stack.resize(top + 2, Value::Nil);
    }
    process.stack[top] = Value::Int(x);
    process.stack[top + 1] = Value::Int(y);
    call_global(
        code, scheduler, process, fuel, global, top, 2, ret, pc, false,
    )
}

/// The result of a call that may or may not have pushed a frame.
enum Step {
    /// The call completed in place (a native); go on with the next instruction.
    Continue,
    Flow(Flow),
}

/// Runs (or resumes) the comparison of `x` and `y` for the instruction
/// before `pc`, on fuel from `reductions`. `None` when the fuel ran out:
/// the comparison is kept in the process for the instruction's next try.
fn compare_walk(
    process: &mut Process,
    pc: usize,
    x: &Value,
    y: &Value,
    mode: walk::Mode,
    fuel_left: &mut Fuel,
) -> Option<walk::Verdict> {
    let mut comparison = match process.frames.resume_compare(pc as u32) {
        Some(comparison) => comparison,
        None => match walk::Compare::start(mode, x, y) {
            Ok(comparison) => comparison,
            Err(verdict) => return Some(verdict),
        },
    };
    let visits_given = fuel_left.visits_left();
    let mut visits = visits_given;
    match comparison.run(&mut visits) {
        walk::Poll::Ready(verdict) => {
            fuel_left.charge((visits_given - visits) as usize);
            Some(verdict)
        }
        walk::Poll::Pending => {
            process.frames.suspend_compare(pc as u32, comparison);
            fuel_left.left = 0;
            None
        }
    }
}

/// Where a jump from the instruction before `pc` lands (the verifier has
/// checked that it is inside the function).
#[inline(always)]
fn jump(ip: *const Instr, offset: Jump) -> *const Instr {
    ip.wrapping_offset(offset.get() as isize)
}

/// `jump` for an instruction index.
#[inline(always)]
fn jump_index(pc: usize, offset: Jump) -> usize {
    (pc as isize + offset.get() as isize) as usize
}

#[inline(always)]
fn save_pc(process: &mut Process, pc: usize) {
    process.frames.top_mut().pc = pc as u32;
}

/// An error of the native call the top frame is in the middle of (its pc
/// is past the call): points the frame at the call and fails.
pub(crate) fn fail_at_call(process: &mut Process, kind: Atom, message: String) -> Flow {
    if let Some(top) = process.frames.last_mut() {
        top.pc = top.pc.saturating_sub(1);
    }
    Flow::Error(kind, message)
}

/// Records where an error happened (the instruction before `pc`) and
/// returns the error flow.
fn fail(process: &mut Process, pc: usize, kind: Atom, message: String) -> Flow {
    save_pc(process, pc.saturating_sub(1));
    Flow::Error(kind, message)
}

/// The most frames a process may have: past this it dies with
/// `:stack_overflow`. 100,000-deep recursion must work (LANGUAGE.md §5);
/// this allows ten times that while bounding a runaway recursion's memory
/// to a few hundred megabytes.
pub(crate) const MAX_FRAMES: usize = 1_000_000;

/// The most registers a process's call stack may hold, whatever the number
/// of frames: a function with 30,000 registers recursing 4,000 deep would
/// otherwise take 2 GB before reaching `MAX_FRAMES`. 2^25 slots are 512 MiB
/// of values, room for 100,000-deep recursion (LANGUAGE.md §5) through
/// functions of up to 335 registers, and for `MAX_FRAMES` of 33.
pub(crate) const MAX_STACK_SLOTS: usize = 1 << 25;

const VALUE_SIZE: usize = std::mem::size_of::<Value>();

/// Do `registers` stack slots and `frames` call frames fit under
/// `MAX_STACK_SLOTS` and in a heap limit of `max_heap` bytes? (The same
/// measure the end-of-slice check uses.)
#[inline(always)]
fn stack_fits(registers: usize, frames: usize, max_heap: usize) -> bool {
    registers <= MAX_STACK_SLOTS
        && registers
            .saturating_mul(VALUE_SIZE)
            .saturating_add(frames.saturating_mul(Frames::ENTRY_SIZE))
            <= max_heap
}

/// How a called Weft function's frame goes on the stack.
pub(crate) enum Push {
    /// Above the running frame; the result goes to `stack[ret]`.
    Call { ret: usize },
    /// In place of the running frame (a tail call).
    Tail,
    /// Above the running frame, for a native waiting for the result.
    Native(Box<NativeFrame>),
}

/// Pushes a frame for Weft prototype `index` whose arguments are at
/// `stack[args..args+argc]` (or, for a tail call, moves them down to the
/// current frame's base and reuses the frame). `closure` is the function
/// value when called as one: its captures follow the parameters, and a
/// named inner function also gets the closure itself after them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn enter(
    code: &Code,
    max_heap: usize,
    process: &mut Process,
    index: u32,
    closure: Option<&Arc<Function>>,
    captures: &[Value],
    args: usize,
    argc: usize,
    pc: usize,
    push: Push,
) -> Result<(), Flow> {
    let tail = matches!(push, Push::Tail);
    let callee = &code.protos[index as usize];
    if callee.arity as usize != argc {
        let arity = callee.arity as usize;
        let message = arity_message(&display_name(&callee.name), arity, arity, argc);
        return Err(fail(process, pc, Atom::BADARITY, message));
    }
    let new_base = if tail {
        let base = process.frames.last().map_or(args, |f| f.base as usize);
        // Forward copy is safe: the arguments sit at or above `base`.
        for i in 0..argc {
            let value = std::mem::take(&mut process.stack[args + i]);
            process.stack[base + i] = value;
        }
        base
    } else {
        if process.frames.len() >= MAX_FRAMES {
            return Err(fail(
                process,
                pc,
                Atom::STACK_OVERFLOW,
                format!("call depth passed {MAX_FRAMES} frames"),
            ));
        }
        args
    };
    let needed = new_base + callee.registers as usize;
    if needed > MAX_STACK_SLOTS {
        return Err(fail(
            process,
            pc,
            Atom::STACK_OVERFLOW,
            format!(
                "the call stack passed {MAX_STACK_SLOTS} registers ({} frames deep)",
                process.frames.len()
            ),
        ));
    }
    if process.stack.len() < needed {
        if !stack_fits(needed, process.frames.len(), max_heap) {
            return Err(fail(
                process,
                pc,
                Atom::SYSTEM_LIMIT,
                format!("the process's stack passed the VM's limit of {max_heap} bytes"),
            ));
        }
        process.stack.resize(needed, Value::Nil);
    }
    let first_capture = new_base + argc;
    for (i, value) in captures.iter().enumerate() {
        process.stack[first_capture + i] = value.clone();
    }
    if callee.self_slot {
        if let Some(closure) = closure {
            process.stack[first_capture + captures.len()] = Value::Fn(closure.clone());
        }
    }
    let frame = |ret: usize| Frame {
        proto: index,
        pc: 0,
        base: new_base as u32,
        ret: ret as u32,
    };
    match push {
        Push::Tail => {
            if let Some(top) = process.frames.last_mut() {
                top.proto = index;
                top.pc = 0;
            }
        }
        Push::Call { ret } => {
            save_pc(process, pc);
            process.frames.push(frame(ret));
        }
        Push::Native(native) => {
            save_pc(process, pc);
            process.frames.push_for_native(native, frame(new_base));
        }
    }
    Ok(())
}

/// Calls global slot `global` with arguments at `stack[args..args+argc]`;
/// the result goes to `stack[ret]`.
#[allow(clippy::too_many_arguments)]
fn call_global(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    fuel: &mut Fuel,
    global: u32,
    args: usize,
    argc: usize,
    ret: usize,
    pc: usize,
    tail: bool,
) -> Step {
    match &code.globals[global as usize] {
        Global::Weft(index) => match enter(
            code,
            scheduler.limits.max_heap,
            process,
            *index,
            None,
            &[],
            args,
            argc,
            pc,
            if tail { Push::Tail } else { Push::Call { ret } },
        ) {
            Ok(()) => Step::Flow(Flow::Reload),
            Err(flow) => Step::Flow(flow),
        },
        Global::Native(native) => {
            if argc < native.min as usize || argc > native.max as usize {
                let message =
                    arity_message(native.name, native.min as usize, native.max as usize, argc);
                return Step::Flow(fail(process, pc, Atom::BADARITY, message));
            }
            let mut values = Arguments::take(&mut process.stack[args..args + argc]);
            let result = {
                let mut machine = Machine { scheduler, code };
                let mut ctx = Ctx {
                    process,
                    fuel,
                    vm: &mut machine,
                };
                (native.func)(&mut ctx, values.as_mut_slice())
            };
            if let Err(Trap::SaveSelf { moving }) = result {
                return save_self(code, scheduler, process, ret, pc, tail, moving);
            }
            finish_native(process, result, values, args, ret, pc, tail)
        }
        Global::Host { function, arity } => {
            if let Some(arity) = arity.filter(|a| *a as usize != argc) {
                let name = code.global_names[global as usize].clone();
                let message = arity_message(&name, arity as usize, arity as usize, argc);
                return Step::Flow(fail(process, pc, Atom::BADARITY, message));
            }
            // Moved out like a native's (and put back if the call blocks).
            let mut values = Arguments::take(&mut process.stack[args..args + argc]);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut machine = Machine {
                    scheduler: &mut *scheduler,
                    code,
                };
                let mut ctx = Ctx {
                    process: &mut *process,
                    fuel: &mut *fuel,
                    vm: &mut machine,
                };
                function(&mut ctx, values.as_mut_slice())
            }));
            let result = match outcome {
                Ok(result) => result,
                Err(panic) => {
                    let text = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "the host function panicked".to_string());
                    Err(Trap::Error(
                        Atom::HOST,
                        format!("host function panicked: {text}"),
                    ))
                }
            };
            finish_native(process, result, values, args, ret, pc, tail)
        }
        Global::Undefined => {
            let message = format!(
                "{} is not defined",
                display_name(&code.global_names[global as usize])
            );
            Step::Flow(fail(process, pc, Atom::UNDEF, message))
        }
    }
}

/// `process.save(self())` (and `process.image_for_move()`, `moving`): the
/// image is made here, where it is known which register the call's result
/// goes to — the register the restored process finds its own result in:
/// `(:ok, image)` again after a save, `(:moved, nil)` after a move (where
/// the original gets `(:image, image, its registered name)`). In a tail call
/// the calling frame returns first (the result goes to its caller's
/// register); a tail call from a process's outermost function, which ends
/// the process, saves nothing.
#[cold]
fn save_self(
    code: &Code,
    scheduler: &mut Scheduler,
    process: &mut Process,
    ret: usize,
    pc: usize,
    tail: bool,
    moving: bool,
) -> Step {
    let error = |what: &str| {
        Value::tuple(vec![
            Value::Atom(Atom::ERROR),
            Value::tuple(vec![Value::Atom(Atom::UNSAVEABLE), Value::atom(what)]),
        ])
    };
    let into = if tail {
        match process.frames.pop_to_caller() {
            Some(done) => done.ret as usize,
            None => {
                // Under the frame lies a native's continuation (no saved
                // form), or nothing: the process ends with this call.
                let native = process
                    .frames
                    .entries()
                    .any(|entry| matches!(entry, crate::process::frames::EntryView::Native));
                let what = if native { "native_call" } else { "tail_call" };
                return Step::Flow(return_value(process, error(what)));
            }
        }
    } else {
        save_pc(process, pc);
        ret
    };
    let resume = if moving {
        self::image::Resume::Moved
    } else {
        self::image::Resume::Saved
    };
    let place = scheduler.place();
    let saved = self::image::save(
        code,
        process,
        Some((into as u32, resume)),
        scheduler.now(),
        place,
    );
    let result = match saved {
        Ok(bytes) if moving => {
            let name = scheduler
                .shared
                .name_of(process.pid)
                .map_or(Value::Nil, Value::Atom);
            Value::tuple(vec![Value::atom("image"), Value::bytes(bytes), name])
        }
        Ok(bytes) => Value::tuple(vec![Value::Atom(Atom::OK), Value::bytes(bytes)]),
        Err(what) => error(what),
    };
    if let Some(slot) = process.stack.get_mut(into) {
        *slot = result;
    }
    if tail {
        Step::Flow(Flow::Reload)
    } else {
        Step::Continue
    }
}

/// The arguments of a native or host call, moved out of the caller's
/// registers (the callee gets the process as well, so it cannot borrow them
/// in place). Up to four travel in the record itself — no allocation and no
/// iterator bookkeeping for the common call — more in a vector.
struct Arguments {
    few: [Value; 4],
    many: Vec<Value>,
    count: usize,
}

impl Arguments {
    /// Moves the values out of `slots`, leaving nil behind.
    #[inline(always)]
    fn take(slots: &mut [Value]) -> Arguments {
        let mut arguments = Arguments {
            few: Default::default(),
            many: Vec::new(),
            count: slots.len(),
        };
        if slots.len() <= 4 {
            for (into, from) in arguments.few.iter_mut().zip(slots) {
                std::mem::swap(into, from);
            }
        } else {
            arguments.many = slots.iter_mut().map(std::mem::take).collect();
        }
        arguments
    }

    #[inline(always)]
    fn as_mut_slice(&mut self) -> &mut [Value] {
        if self.count <= 4 {
            &mut self.few[..self.count]
        } else {
            &mut self.many
        }
    }

    /// Puts the values back at the start of `slots` (a call that blocks is
    /// retried later with the same arguments).
    fn put_back(mut self, slots: &mut [Value]) {
        for (into, from) in slots.iter_mut().zip(self.as_mut_slice()) {
            std::mem::swap(into, from);
        }
    }
}

/// Applies a native's result: a value (returned at once for a tail call),
/// a block (arguments restored, the call retried later), a yield, an exit.
fn finish_native(
    process: &mut Process,
    result: Result<Value, Trap>,
    values: Arguments,
    args: usize,
    ret: usize,
    pc: usize,
    tail: bool,
) -> Step {
    match result {
        Ok(value) => {
            if tail {
                Step::Flow(return_value(process, value))
            } else {
                process.stack[ret] = value;
                Step::Continue
            }
        }
        Err(Trap::Error(kind, message)) => Step::Flow(fail(process, pc, kind, message)),
        Err(Trap::Block) => {
            values.put_back(&mut process.stack[args..]);
            save_pc(process, pc - 1);
            Step::Flow(Flow::End(SliceEnd::Waiting))
        }
        Err(Trap::Yield) => {
            if tail {
                // Finish the call (it returns nil), then yield.
                let flow = return_value(process, Value::Nil);
                if matches!(flow, Flow::End(_)) {
                    return Step::Flow(flow);
                }
            } else {
                process.stack[ret] = Value::Nil;
                save_pc(process, pc);
            }
            Step::Flow(Flow::End(SliceEnd::Yielded))
        }
        Err(Trap::Exit(reason)) => Step::Flow(Flow::End(SliceEnd::Exited(reason))),
        Err(Trap::Call) => {
            save_pc(process, pc);
            Step::Flow(Flow::Native(NativeCall { ret, tail }))
        }
        // Only `process.save`, a native, asks for this, and its call
        // site answers it (`save_self`): a host function cannot.
        Err(Trap::SaveSelf { .. }) => Step::Flow(fail(
            process,
            pc,
            Atom::BADARG,
            "only process.save saves the running process".to_string(),
        )),
    }
}

/// Pops the current frame, handing `value` to its caller (or to the
/// native continuation waiting for it).
pub(crate) fn return_value(process: &mut Process, value: Value) -> Flow {
    let returned = process.frames.pop();
    return_to(process, returned, value)
}

/// Hands `value`, the result of the frame that just returned, to where it
/// goes.
fn return_to(process: &mut Process, returned: Option<Returned>, value: Value) -> Flow {
    match returned {
        Some(Returned::Caller(done)) => {
            if let Some(slot) = process.stack.get_mut(done.ret as usize) {
                *slot = value;
            }
            Flow::Reload
        }
        Some(Returned::Native(native)) => Flow::Resume(native, value),
        Some(Returned::Outermost) => {
            // The process's result is all that is left of its stack.
            process.stack.clear();
            process.stack.push(value);
            Flow::End(SliceEnd::Returned)
        }
        None if process.frames.is_empty() => Flow::End(SliceEnd::Returned),
        None => Flow::Error(
            Atom::BADARG,
            "a frame returned over a native's entry (a bug in Weft)".to_string(),
        ),
    }
}

/// Receives from `channel` for the current process: `Some(Some(v))` a
/// value, `Some(None)` closed and drained, `None` blocked.
fn receive_from(
    scheduler: &mut Scheduler,
    process: &mut Process,
    channel: &Arc<crate::data::channel::Channel>,
) -> Option<Option<Value>> {
    match process.handoff.take() {
        Some(Handoff::Received { value, .. }) => return Some(Some(value)),
        Some(Handoff::Closed { .. }) => return Some(None),
        _ => {}
    }
    match scheduler.chan_recv(process, channel) {
        ChanOutcome::Done(value) => Some(Some(value)),
        ChanOutcome::Closed => Some(None),
        ChanOutcome::Blocked => None,
    }
}

/// A function value for a global slot: late-bound to the slot.
pub(crate) fn function_value(code: &Code, global: u32) -> Value {
    let (name, arity) = match &code.globals[global as usize] {
        Global::Weft(index) => {
            let proto = &code.protos[*index as usize];
            (proto.name.clone(), Some(proto.arity))
        }
        Global::Native(native) => (
            Arc::from(native.name),
            (native.min == native.max).then_some(native.min),
        ),
        Global::Host { arity, .. } => (code.global_names[global as usize].clone(), *arity),
        Global::Undefined => (code.global_names[global as usize].clone(), None),
    };
    let name: Arc<str> = match name.split_once('.') {
        Some(("main", short)) => Arc::from(short),
        _ => name,
    };
    Value::Fn(Arc::new(Function {
        name,
        arity,
        kind: FnKind::Global(global),
    }))
}

/// The one message for a call with the wrong number of arguments: "`f`
/// takes 2 arguments, got 1", "print takes at least 1 argument, got 0",
/// "math.min takes 1 to 3 arguments, got 0". `max` is `usize::MAX`, or
/// `u16::MAX`, for any number.
pub(crate) fn arity_message(name: &str, min: usize, max: usize, got: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let expected = if min == max {
        format!("{min} argument{}", plural(min))
    } else if max >= u16::MAX as usize {
        format!("at least {min} argument{}", plural(min))
    } else {
        format!("{min} to {max} arguments")
    };
    format!("{name} takes {expected}, got {got}")
}

fn display_name(name: &str) -> String {
    let short = name.strip_prefix("main.").unwrap_or(name);
    if short.is_empty() || short == "<fn>" {
        "the anonymous function".to_string()
    } else {
        format!("`{short}`")
    }
}

/// Frames an error report keeps from the innermost end of the call stack,
/// and from the outermost; between them it says how many it left out (a
/// `:stack_overflow` has a million).
const TRACE_INNER: usize = 16;
const TRACE_OUTER: usize = 4;

/// The Weft call stack, innermost first, for an error report: at most
/// `TRACE_INNER + TRACE_OUTER` frames, and how many were left out.
pub(crate) fn trace(
    code: &Code,
    process: &Process,
) -> (Vec<crate::runtime::events::TraceFrame>, usize) {
    let count = process.frames.len();
    let frame = |(from_top, frame): (usize, &Frame)| {
        let proto = &code.protos[frame.proto as usize];
        // Callers stopped after their call instruction; the top frame is
        // at the failing instruction itself.
        let pc = if from_top == 0 {
            frame.pc
        } else {
            frame.pc.saturating_sub(1)
        } as usize;
        crate::runtime::events::TraceFrame {
            function: proto.name.clone(),
            source: code.sources[proto.source as usize].clone(),
            span: proto.spans.get(pc).copied().unwrap_or_default(),
        }
    };
    let innermost_first = process.frames.iter().rev().enumerate();
    if count <= TRACE_INNER + TRACE_OUTER {
        return (innermost_first.map(frame).collect(), 0);
    }
    let inner = innermost_first.take(TRACE_INNER);
    let mut outer: Vec<_> = process
        .frames
        .iter()
        .take(TRACE_OUTER)
        .enumerate()
        .map(|(from_bottom, f)| (count - 1 - from_bottom, f))
        .collect();
    outer.reverse();
    (
        inner.chain(outer).map(frame).collect(),
        count - TRACE_INNER - TRACE_OUTER,
    )
}

/// Where a native's call puts the callee: just above the registers of
/// the frame that called the native (the top frame while it runs).
pub(crate) fn frame_top(code: &Code, process: &Process) -> usize {
    process.frames.last().map_or(process.stack.len(), |caller| {
        caller.base as usize + code.protos[caller.proto as usize].registers as usize
    })
}

/// Records a completed channel operation in the trace.
#[cold]
fn trace_channel(scheduler: &Scheduler, process: &Process, id: u64, send: bool) {
    scheduler.trace(
        process.pid,
        crate::runtime::trace::TraceKind::Channel { id, send },
    );
}
