//! Walks over values — comparison, hashing, printing — that never recurse
//! on the native stack and never take time out of proportion to the value.
//!
//! Invariants:
//! - Every walk keeps its own explicit stack, so its native stack use is
//!   O(1) in the nesting depth (a list nested a million deep compares,
//!   hashes and prints on a thread with a 256 KiB stack).
//! - A comparison skips a pair of containers it has already found equal
//!   when both are shared (reference count above one), and any pair that is
//!   the same allocation; hashing computes each shared node once per walk.
//!   So a value that shares structure (`x = [x, x]` sixty times) compares
//!   and hashes in time linear in its distinct nodes, not its expanded size.
//! - A comparison runs on fuel (one unit a node): given too little, it
//!   returns `Pending` and keeps its place, and the interpreter resumes it
//!   next slice, so `Vm::run(budget)` returns whatever the values are.
//! - A printed form is at most `MAX_PRINTED` bytes: past 1 MiB of output the
//!   printer measures the whole (in time linear in distinct nodes) and stops
//!   with `TooLong` if it would be larger.
//! - A walk that cannot pause is paid for by its caller: `equal_on` and
//!   `order_on` charge the nodes they visit to the `Fuel` they are given;
//!   map keys are charged by `Fuel::charge_key` (from `nodes`); printing is
//!   charged by the length of what it wrote. The trait impls on `Value`
//!   (`==`, `Hash`, `Ord`, `Display`) charge nothing, for callers outside
//!   a process (the host) and for map internals whose keys were charged.
//!
//! The walks hold `Arc` clones, not borrows, where they must outlive one
//! call (a suspended comparison is kept in its process).

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::hash::Hasher;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use crate::data::fuel::Fuel;
use crate::data::value::{Items, MapItems, Value};

/// The most bytes a printed form may have (`print`, `str`, `inspect`,
/// `format`); past it they are the error `:system_limit`.
pub const MAX_PRINTED: usize = 64 << 20;

// ------------------------------------------------------------ comparison

/// Runs `f` with room on the native stack. Only a map whose keys are
/// themselves containers nested inside keys makes a walk call another walk
/// (through the map's hashing and equality), so this is rarely deeper than
/// one level; it keeps that case safe on a small stack too.
#[inline(always)]
fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, f)
}

/// What a comparison looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `==`: structural equality (`1 == 1.0`); any two values.
    Equal,
    /// `<` and friends: numbers, strings, and lists or tuples of them.
    Order,
}

/// The result of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Same,
    /// Not equal; in `Order` mode, which way.
    Differ(Ordering),
    /// `Order` mode met a pair with no order (`:a < :b`, a map, NaN).
    Unorderable,
}

/// A comparison that has not finished yet.
pub(crate) enum Poll<T> {
    Ready(T),
    Pending,
}

/// An identity for a shared container pair, for the memo.
type PairKey = (usize, u32, usize, u32);

enum Frame {
    Seq {
        a: Arc<Items>,
        a_start: u32,
        b: Arc<Items>,
        b_start: u32,
        /// Pairs compared so far.
        next: usize,
        a_len: usize,
        b_len: usize,
        shared: Option<PairKey>,
    },
    Map {
        a: Arc<MapItems>,
        b: Arc<MapItems>,
        next: usize,
        shared: Option<PairKey>,
    },
}

/// What to do with one pair of values.
enum Step {
    Done(Verdict),
    Push(Frame),
}

impl std::fmt::Debug for Compare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Compare({:?}, {} pairs open)",
            self.mode,
            self.stack.len()
        )
    }
}

/// An iterative, resumable comparison of two values.
pub(crate) struct Compare {
    mode: Mode,
    stack: Vec<Frame>,
    /// Shared container pairs already found equal.
    memo: FxHashSet<PairKey>,
}

impl Compare {
    /// Starts comparing `a` and `b`; `Err` holds the answer when no walk
    /// is needed.
    pub(crate) fn start(mode: Mode, a: &Value, b: &Value) -> Result<Compare, Verdict> {
        let memo = FxHashSet::default();
        match pair(mode, a, b, &memo) {
            Step::Done(verdict) => Err(verdict),
            Step::Push(frame) => Ok(Compare {
                mode,
                stack: vec![frame],
                memo,
            }),
        }
    }

    /// Goes on for at most `fuel` nodes (less what it used is left in it).
    pub(crate) fn run(&mut self, fuel: &mut u64) -> Poll<Verdict> {
        let mut used = 0u64;
        let verdict = loop {
            if used >= *fuel {
                *fuel = 0;
                return Poll::Pending;
            }
            used += 1;
            let Some(top) = self.stack.last_mut() else {
                break Verdict::Same;
            };
            let step = match top {
                Frame::Seq {
                    a,
                    a_start,
                    b,
                    b_start,
                    next,
                    a_len,
                    b_len,
                    shared,
                } => {
                    if *next < (*a_len).min(*b_len) {
                        let i = *next;
                        *next += 1;
                        pair(
                            self.mode,
                            &a[*a_start as usize + i],
                            &b[*b_start as usize + i],
                            &self.memo,
                        )
                    } else {
                        let verdict = match (*a_len).cmp(&*b_len) {
                            Ordering::Equal => Verdict::Same,
                            other => Verdict::Differ(other),
                        };
                        if verdict != Verdict::Same {
                            break verdict;
                        }
                        if let Some(key) = *shared {
                            self.memo.insert(key);
                        }
                        self.stack.pop();
                        continue;
                    }
                }
                Frame::Map { a, b, next, shared } => match a.get_index(*next) {
                    Some((key, left)) => {
                        *next += 1;
                        // Maps built alike hold their keys in the same order:
                        // try the same position before hashing.
                        let right = match b.get_index(*next - 1) {
                            Some((k, v)) if same_key(k, key) => Some(v),
                            _ => deep(|| b.get(key)),
                        };
                        match right {
                            Some(right) => pair(self.mode, left, right, &self.memo),
                            None => Step::Done(Verdict::Differ(Ordering::Less)),
                        }
                    }
                    None => {
                        if let Some(key) = *shared {
                            self.memo.insert(key);
                        }
                        self.stack.pop();
                        continue;
                    }
                },
            };
            match step {
                Step::Done(Verdict::Same) => {}
                Step::Done(verdict) => break verdict,
                Step::Push(frame) => self.stack.push(frame),
            }
        };
        *fuel -= used.min(*fuel);
        Poll::Ready(verdict)
    }

    /// Runs to the end (for callers that cannot pause: hashing tables,
    /// sorting, the host's `==`), charging the nodes it visits to `fuel`
    /// when given one.
    pub(crate) fn finish(mut self, fuel: Option<&mut Fuel>) -> Verdict {
        let mut left = u64::MAX;
        let outcome = self.run(&mut left);
        if let Some(fuel) = fuel {
            fuel.charge((u64::MAX - left) as usize);
        }
        match outcome {
            Poll::Ready(verdict) => verdict,
            Poll::Pending => Verdict::Unorderable,
        }
    }
}

/// Are two map keys trivially the same (one allocation, or equal scalars)?
fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Arc::ptr_eq(x, y) || x == y,
        (Value::Bytes(x), Value::Bytes(y)) => Arc::ptr_eq(x, y) || x == y,
        _ if a.is_scalar() && b.is_scalar() => scalar_equal(a, b),
        _ => false,
    }
}

/// A list window or a tuple (a window from 0) against another: equal
/// pointers and windows at once, different lengths at once for equality,
/// a memoised shared pair at once, else a frame to walk.
fn sequence(
    mode: Mode,
    (ia, sa): (&Arc<crate::data::value::Items>, u32),
    (ib, sb): (&Arc<crate::data::value::Items>, u32),
    memo: &FxHashSet<PairKey>,
    shared_key: impl Fn(usize, u32, usize, usize, u32, usize) -> Option<PairKey>,
) -> Step {
    if Arc::ptr_eq(ia, ib) && sa == sb {
        return Step::Done(Verdict::Same);
    }
    let a_len = ia.len().saturating_sub(sa as usize);
    let b_len = ib.len().saturating_sub(sb as usize);
    if mode == Mode::Equal && a_len != b_len {
        return Step::Done(Verdict::Differ(a_len.cmp(&b_len)));
    }
    let shared = shared_key(
        Arc::as_ptr(ia) as usize,
        sa,
        Arc::strong_count(ia),
        Arc::as_ptr(ib) as usize,
        sb,
        Arc::strong_count(ib),
    );
    if shared.is_some_and(|k| memo.contains(&k)) {
        return Step::Done(Verdict::Same);
    }
    Step::Push(Frame::Seq {
        a: ia.clone(),
        a_start: sa.min(ia.len() as u32),
        b: ib.clone(),
        b_start: sb.min(ib.len() as u32),
        next: 0,
        a_len,
        b_len,
        shared,
    })
}

/// Compares one pair: at once for scalars, else a frame to walk.
fn pair(mode: Mode, a: &Value, b: &Value, memo: &FxHashSet<PairKey>) -> Step {
    let shared_key = |pa: usize, sa: u32, ca: usize, pb: usize, sb: u32, cb: usize| {
        (ca > 1 && cb > 1).then_some((pa, sa, pb, sb))
    };
    match (a, b) {
        (
            Value::List {
                start: sa,
                items: ia,
            },
            Value::List {
                start: sb,
                items: ib,
            },
        ) => sequence(mode, (ia, *sa), (ib, *sb), memo, shared_key),
        (Value::Tuple(ia), Value::Tuple(ib)) => sequence(mode, (ia, 0), (ib, 0), memo, shared_key),
        (Value::Map(ma), Value::Map(mb)) => {
            if mode == Mode::Order {
                return Step::Done(Verdict::Unorderable);
            }
            if Arc::ptr_eq(ma, mb) {
                return Step::Done(Verdict::Same);
            }
            if ma.len() != mb.len() {
                return Step::Done(Verdict::Differ(Ordering::Less));
            }
            let shared = shared_key(
                Arc::as_ptr(ma) as usize,
                0,
                Arc::strong_count(ma),
                Arc::as_ptr(mb) as usize,
                0,
                Arc::strong_count(mb),
            );
            if shared.is_some_and(|k| memo.contains(&k)) {
                return Step::Done(Verdict::Same);
            }
            Step::Push(Frame::Map {
                a: ma.clone(),
                b: mb.clone(),
                next: 0,
                shared,
            })
        }
        _ => Step::Done(match mode {
            Mode::Equal => {
                if leaf_equal(a, b) {
                    Verdict::Same
                } else {
                    Verdict::Differ(Ordering::Less)
                }
            }
            Mode::Order => match leaf_order(a, b) {
                Some(Ordering::Equal) => Verdict::Same,
                Some(other) => Verdict::Differ(other),
                None => Verdict::Unorderable,
            },
        }),
    }
}

/// Equality of two values at least one of which is not a list, tuple or
/// map (so no walk is needed).
pub(crate) fn leaf_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Arc::ptr_eq(x, y) || x == y,
        (Value::Bytes(x), Value::Bytes(y)) => Arc::ptr_eq(x, y) || x == y,
        (Value::Fn(x), Value::Fn(y)) => Arc::ptr_eq(x, y),
        (Value::Chan(x), Value::Chan(y)) => Arc::ptr_eq(x, y),
        (Value::Resource(x), Value::Resource(y)) => Arc::ptr_eq(x, y),
        (Value::RemotePid(x), Value::RemotePid(y)) => x == y,
        (Value::RemoteRef(x), Value::RemoteRef(y)) => x == y,
        (Value::Opaque(x), Value::Opaque(y)) => x == y,
        _ => scalar_equal(a, b),
    }
}

/// Equality of scalars (and `false` for any pair that is not both scalar).
#[inline]
pub(crate) fn scalar_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(n), Value::Float(f)) | (Value::Float(f), Value::Int(n)) => {
            float_to_int(*f) == Some(*n)
        }
        (Value::Atom(x), Value::Atom(y)) => x == y,
        (Value::Pid(x), Value::Pid(y)) => x == y,
        (Value::Ref(x), Value::Ref(y)) => x == y,
        _ => false,
    }
}

fn leaf_order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.as_ref().cmp(y.as_ref())),
        _ => None,
    }
}

/// An integral float's int value, when it has one.
pub(crate) fn float_to_int(f: f64) -> Option<i64> {
    if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        Some(f as i64)
    } else {
        None
    }
}

/// `a == b`, to the end, charging nothing (`Value`'s `==`).
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    equal_charged(a, b, None)
}

/// `a == b`, to the end, the nodes visited charged to `fuel`.
pub(crate) fn equal_on(a: &Value, b: &Value, fuel: &mut Fuel) -> bool {
    equal_charged(a, b, Some(fuel))
}

fn equal_charged(a: &Value, b: &Value, fuel: Option<&mut Fuel>) -> bool {
    match Compare::start(Mode::Equal, a, b) {
        Err(verdict) => verdict == Verdict::Same,
        Ok(walk) => walk.finish(fuel) == Verdict::Same,
    }
}

/// LANGUAGE.md's ordering, to the end; `None` for values with no order.
/// Charges nothing (`Value`'s `Ord`).
pub(crate) fn order(a: &Value, b: &Value) -> Option<Ordering> {
    order_charged(a, b, None)
}

/// `order`, the nodes visited charged to `fuel`.
pub(crate) fn order_on(a: &Value, b: &Value, fuel: &mut Fuel) -> Option<Ordering> {
    order_charged(a, b, Some(fuel))
}

fn order_charged(a: &Value, b: &Value, fuel: Option<&mut Fuel>) -> Option<Ordering> {
    let verdict = match Compare::start(Mode::Order, a, b) {
        Err(verdict) => verdict,
        Ok(walk) => walk.finish(fuel),
    };
    match verdict {
        Verdict::Same => Some(Ordering::Equal),
        Verdict::Differ(o) => Some(o),
        Verdict::Unorderable => None,
    }
}

// --------------------------------------------------------------- hashing

const LIST_TAG: u64 = 0x4c49_5354;
const TUPLE_TAG: u64 = 0x5455_504c;
const MAP_TAG: u64 = 0x4d41_5053;

fn fx(words: &[u64]) -> u64 {
    let mut h = FxHasher::default();
    for w in words {
        h.write_u64(*w);
    }
    h.finish()
}

/// The hash of a value that is not a list, tuple or map. Equal values hash
/// alike: `1` and `1.0` too.
fn leaf_hash(v: &Value) -> u64 {
    match v {
        Value::Nil => fx(&[0]),
        Value::Bool(b) => fx(&[1, *b as u64]),
        Value::Int(n) => fx(&[2, *n as u64]),
        Value::Float(f) => match float_to_int(*f) {
            Some(n) => fx(&[2, n as u64]),
            None => fx(&[3, f.to_bits()]),
        },
        Value::Atom(a) => {
            let mut h = FxHasher::default();
            std::hash::Hash::hash(a, &mut h);
            fx(&[4, h.finish()])
        }
        Value::Str(s) => {
            let mut h = FxHasher::default();
            h.write(s.as_bytes());
            fx(&[5, h.finish(), s.len() as u64])
        }
        Value::Bytes(b) => {
            let mut h = FxHasher::default();
            h.write(b);
            fx(&[14, h.finish(), b.len() as u64])
        }
        Value::Opaque(o) => {
            let mut h = FxHasher::default();
            h.write(&o.encoded);
            fx(&[15, h.finish()])
        }
        Value::Fn(f) => fx(&[6, Arc::as_ptr(f) as usize as u64]),
        Value::Pid(p) => {
            let mut h = FxHasher::default();
            std::hash::Hash::hash(p, &mut h);
            fx(&[7, h.finish()])
        }
        Value::Chan(c) => fx(&[8, c.id]),
        Value::Ref(r) => fx(&[9, *r]),
        Value::Resource(r) => fx(&[10, Arc::as_ptr(r) as usize as u64]),
        Value::RemotePid(p) => {
            let mut h = FxHasher::default();
            std::hash::Hash::hash(&**p, &mut h);
            fx(&[11, h.finish()])
        }
        Value::RemoteRef(r) => {
            let mut h = FxHasher::default();
            std::hash::Hash::hash(&**r, &mut h);
            fx(&[12, h.finish()])
        }
        Value::List { .. } | Value::Tuple(_) | Value::Map(_) => 0,
    }
}

/// A container being hashed: its children so far.
struct HashFrame<'v> {
    node: &'v Value,
    /// Children hashed so far (for a map, keys and values both count).
    next: usize,
    acc: u64,
    key: u64,
    shared: Option<usize>,
}

fn children(v: &Value) -> usize {
    match v {
        Value::List { .. } => v.as_list().map_or(0, <[Value]>::len),
        Value::Tuple(items) => items.len(),
        Value::Map(map) => 2 * map.len(),
        _ => 0,
    }
}

fn child(v: &Value, i: usize) -> Option<&Value> {
    match v {
        Value::List { .. } => v.as_list().and_then(|l| l.get(i)),
        Value::Tuple(items) => items.get(i),
        Value::Map(map) => map
            .get_index(i / 2)
            .map(|(k, val)| if i.is_multiple_of(2) { k } else { val }),
        _ => None,
    }
}

/// The address of a shared container (reference count above one).
fn shared_address(v: &Value) -> Option<usize> {
    match v {
        Value::List { start, items } if Arc::strong_count(items) > 1 => {
            Some((Arc::as_ptr(items) as usize) ^ ((*start as usize) << 48))
        }
        Value::Tuple(items) if Arc::strong_count(items) > 1 => Some(Arc::as_ptr(items) as usize),
        Value::Map(map) if Arc::strong_count(map) > 1 => Some(Arc::as_ptr(map) as usize),
        _ => None,
    }
}

pub(crate) fn is_container(v: &Value) -> bool {
    matches!(v, Value::List { .. } | Value::Tuple(_) | Value::Map(_))
}

/// The hash of any value, consistent with `equal`: maps hash regardless of
/// order, shared nodes are hashed once.
pub(crate) fn hash(v: &Value) -> u64 {
    hash_walk(v).0
}

/// The nodes hashing `v` visits: its distinct nodes (what `Fuel::charge_key`
/// charges for a container key).
pub(crate) fn nodes(v: &Value) -> u64 {
    hash_walk(v).1
}

/// The hash of `v` and the nodes visited to compute it.
fn hash_walk(v: &Value) -> (u64, u64) {
    if !is_container(v) {
        return (leaf_hash(v), 1);
    }
    let mut memo: FxHashMap<usize, u64> = FxHashMap::default();
    let mut stack: Vec<HashFrame<'_>> = vec![HashFrame {
        node: v,
        next: 0,
        acc: 0,
        key: 0,
        shared: shared_address(v),
    }];
    let mut visits = 0u64;
    let mut finished: u64 = 0;
    while let Some(top) = stack.last_mut() {
        visits += 1;
        let total = children(top.node);
        if top.next >= total {
            let tag = match top.node {
                Value::List { .. } => LIST_TAG,
                Value::Tuple(_) => TUPLE_TAG,
                _ => MAP_TAG,
            };
            let h = fx(&[tag, total as u64, top.acc]);
            if let Some(address) = top.shared {
                memo.insert(address, h);
            }
            stack.pop();
            finished = h;
            if let Some(parent) = stack.last_mut() {
                absorb(parent, h);
            }
            continue;
        }
        let i = top.next;
        let Some(item) = child(top.node, i) else {
            top.next = total;
            continue;
        };
        if !is_container(item) {
            let h = leaf_hash(item);
            absorb(top, h);
            continue;
        }
        let shared = shared_address(item);
        if let Some(h) = shared.and_then(|a| memo.get(&a).copied()) {
            absorb(top, h);
            continue;
        }
        stack.push(HashFrame {
            node: item,
            next: 0,
            acc: 0,
            key: 0,
            shared,
        });
    }
    (finished, visits)
}

/// Adds a child's hash to a container's: in order for lists and tuples, as
/// an unordered sum of (key, value) pairs for maps.
fn absorb(frame: &mut HashFrame<'_>, h: u64) {
    let i = frame.next;
    frame.next += 1;
    match frame.node {
        Value::Map(_) => {
            if i.is_multiple_of(2) {
                frame.key = h;
            } else {
                frame.acc = frame.acc.wrapping_add(fx(&[frame.key, h]));
            }
        }
        _ => frame.acc = fx(&[frame.acc, h]),
    }
}

// -------------------------------------------------------------- printing

/// The printed form would pass `MAX_PRINTED` (or the caller's limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooLong;

/// A container being printed: the value (one more reference to it, so a
/// `Printer` can stop and go on later) and how far it has got.
enum PrintFrame {
    /// A list or tuple: element `next` prints next.
    Seq {
        value: Value,
        next: usize,
        tuple: bool,
    },
    /// A map: entry `next / 2`, its key when `next` is even, else its value.
    Map { value: Value, next: usize },
}

/// Output past which the printer measures the whole value first.
const MEASURE_AFTER: usize = 1 << 20;

/// Appends the print form of `v` (`quoted`: strings in quotes even at the
/// top) to `out`, writing at most `limit` bytes more; past that, `TooLong`
/// (with `out` holding what fit).
pub(crate) fn print(
    out: &mut String,
    v: &Value,
    quoted: bool,
    limit: usize,
) -> Result<(), TooLong> {
    let mut printer = Printer::new(out, v, quoted, limit);
    loop {
        if let Some(result) = printer.step(out, usize::MAX) {
            return result;
        }
    }
}

/// A print in progress, which can stop after some elements and go on
/// later (the builtins that print a million-element list do it across
/// slices). One walk with an explicit stack, so depth costs no native
/// stack.
///
/// Invariants: `stack` holds the containers open in `out`, innermost last,
/// each with the elements already printed counted in `next`; `out` holds
/// everything printed since `start`, which is at most `limit` bytes (else
/// the print has ended with `TooLong`).
pub(crate) struct Printer {
    stack: Vec<PrintFrame>,
    root: Value,
    quoted: bool,
    start: usize,
    limit: usize,
    measured: bool,
}

impl Printer {
    /// Starts printing `v` at the end of `out`.
    pub(crate) fn new(out: &mut String, v: &Value, quoted: bool, limit: usize) -> Printer {
        let start = out.len();
        let mut stack = Vec::new();
        if is_container(v) {
            open(out, v, &mut stack);
        } else {
            leaf_print(out, v, quoted);
        }
        Printer {
            stack,
            root: v.clone(),
            quoted,
            start,
            limit,
            measured: false,
        }
    }

    /// Skips measuring the whole value before printing past
    /// `MEASURE_AFTER`: a print that goes on across slices is bounded per
    /// slice anyway, and the measuring walk would be one long step. (A
    /// value shared past the limit then fails when its output reaches the
    /// limit, not at once.)
    pub(crate) fn unmeasured(mut self) -> Printer {
        self.measured = true;
        self
    }

    /// Prints up to `elements` more elements; the result when done.
    pub(crate) fn step(
        &mut self,
        out: &mut String,
        elements: usize,
    ) -> Option<Result<(), TooLong>> {
        for _ in 0..elements {
            if out.len() - self.start > self.limit {
                return Some(Err(TooLong));
            }
            if !self.measured && out.len() - self.start > MEASURE_AFTER {
                self.measured = true;
                if printed_size(&self.root, self.quoted, self.limit).is_none() {
                    return Some(Err(TooLong));
                }
            }
            let Some(top) = self.stack.last_mut() else {
                return Some(check(out, self.start, self.limit));
            };
            let item = match top {
                PrintFrame::Seq { value, next, tuple } => {
                    let items = match value {
                        Value::Tuple(items) => &items[..],
                        list => list.as_list().unwrap_or(&[]),
                    };
                    if *next < items.len() {
                        if *next > 0 {
                            out.push_str(", ");
                        }
                        *next += 1;
                        items[*next - 1].clone()
                    } else {
                        if *tuple && items.len() == 1 {
                            out.push(',');
                        }
                        out.push(if *tuple { ')' } else { ']' });
                        self.stack.pop();
                        continue;
                    }
                }
                PrintFrame::Map { value, next } => {
                    let Value::Map(map) = value else {
                        return Some(Ok(()));
                    };
                    // Entry `n` prints as key (step 2n) then value (step 2n+1).
                    let entry = *next / 2;
                    let Some((key, item)) = map.0.get_index(entry) else {
                        out.push('}');
                        self.stack.pop();
                        continue;
                    };
                    let is_key = *next % 2 == 0;
                    *next += 1;
                    if is_key {
                        if entry > 0 {
                            out.push_str(", ");
                        }
                        key.clone()
                    } else {
                        out.push_str(" => ");
                        item.clone()
                    }
                }
            };
            if is_container(&item) {
                open(out, &item, &mut self.stack);
            } else {
                leaf_print(out, &item, true);
            }
        }
        None
    }
}

fn check(out: &str, start: usize, limit: usize) -> Result<(), TooLong> {
    if out.len() - start > limit {
        Err(TooLong)
    } else {
        Ok(())
    }
}

fn open(out: &mut String, v: &Value, stack: &mut Vec<PrintFrame>) {
    match v {
        Value::List { .. } => {
            out.push('[');
            stack.push(PrintFrame::Seq {
                value: v.clone(),
                next: 0,
                tuple: false,
            });
        }
        Value::Tuple(_) => {
            out.push('(');
            stack.push(PrintFrame::Seq {
                value: v.clone(),
                next: 0,
                tuple: true,
            });
        }
        Value::Map(_) => {
            out.push_str("%{");
            stack.push(PrintFrame::Map {
                value: v.clone(),
                next: 0,
            });
        }
        _ => {}
    }
}

fn leaf_print(out: &mut String, value: &Value, quoted: bool) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(x) => {
            let _ = write!(out, "{x:?}");
        }
        Value::Atom(a) => {
            out.push(':');
            // A name reads back as written; any other atom (one from
            // Erlang, such as '$gen_call') is quoted, as Elixir prints it.
            if weft_compiler::is_plain_atom(a.name()) {
                out.push_str(a.name());
            } else {
                write_quoted(out, a.name());
            }
        }
        Value::Str(s) => {
            if quoted {
                write_quoted(out, s);
            } else {
                out.push_str(s);
            }
        }
        Value::Bytes(b) => weft_compiler::write_bytes_source(out, b),
        Value::Opaque(o) => out.push_str(&o.printed),
        Value::Fn(function) => {
            let arity = function.arity.map_or("?".to_string(), |a| a.to_string());
            if function.name.is_empty() || &*function.name == "<fn>" {
                let _ = write!(out, "<fn/{arity}>");
            } else {
                let _ = write!(out, "<fn {}/{arity}>", function.name);
            }
        }
        Value::Pid(p) => {
            let _ = write!(out, "{p}");
        }
        Value::Chan(c) => {
            let _ = write!(out, "<chan {}>", c.id);
        }
        Value::Ref(r) => {
            let _ = write!(out, "<ref {r}>");
        }
        Value::Resource(r) => {
            let _ = write!(out, "<{}>", r.label());
        }
        Value::RemotePid(p) => {
            let _ = write!(out, "{p}");
        }
        Value::RemoteRef(r) => {
            let _ = write!(out, "{r}");
        }
        Value::List { .. } | Value::Tuple(_) | Value::Map(_) => {}
    }
}

/// How a character is escaped inside quotes, if it is.
fn escape(c: char) -> Option<&'static str> {
    Some(match c {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\n' => "\\n",
        '\t' => "\\t",
        '\r' => "\\r",
        '\0' => "\\0",
        _ => return None,
    })
}

/// A string in double quotes with `\" \\ \n \t \r \0` escaped, and other
/// control characters as `\u{..}`.
fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match escape(c) {
            Some(e) => out.push_str(e),
            None if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            None => out.push(c),
        }
    }
    out.push('"');
}

/// How many characters `write_bytes_source` prints for a byte.
fn escaped_length(x: u8) -> usize {
    match x {
        b'"' | b'\\' => 4,
        0x20..=0x7e => 1,
        _ => 4,
    }
}

fn leaf_size(v: &Value, quoted: bool) -> usize {
    match v {
        Value::Bytes(b) => 3 + b.iter().map(|&x| escaped_length(x)).sum::<usize>(),
        Value::Str(s) if quoted => {
            2 + s
                .chars()
                .map(|c| match escape(c) {
                    Some(e) => e.len(),
                    None if c.is_control() => format!("\\u{{{:x}}}", c as u32).len(),
                    None => c.len_utf8(),
                })
                .sum::<usize>()
        }
        Value::Str(s) => s.len(),
        other => {
            let mut out = String::new();
            leaf_print(&mut out, other, quoted);
            out.len()
        }
    }
}

/// The length of the printed form, or `None` past `limit`; shared nodes
/// are measured once, so this is linear in distinct nodes.
pub(crate) fn printed_size(v: &Value, quoted: bool, limit: usize) -> Option<usize> {
    if !is_container(v) {
        let size = leaf_size(v, quoted);
        return (size <= limit).then_some(size);
    }
    struct SizeFrame<'v> {
        node: &'v Value,
        next: usize,
        size: usize,
        shared: Option<usize>,
    }
    let mut memo: FxHashMap<usize, usize> = FxHashMap::default();
    let open_size = |v: &Value| {
        let n = children(v);
        match v {
            // `[` `]` and ", " between elements.
            Value::List { .. } => 2 + 2 * n.saturating_sub(1),
            // `(` `)`, separators, and the trailing `,` of a 1-tuple.
            Value::Tuple(_) => 2 + 2 * n.saturating_sub(1) + (n == 1) as usize,
            // `%{` `}`, ", " between entries and " => " in each.
            _ => 3 + 2 * (n / 2).saturating_sub(1) + 4 * (n / 2),
        }
    };
    let mut stack = vec![SizeFrame {
        node: v,
        next: 0,
        size: open_size(v),
        shared: shared_address(v),
    }];
    let mut result = 0;
    while let Some(top) = stack.last_mut() {
        if top.size > limit {
            return None;
        }
        let Some(item) = child(top.node, top.next) else {
            let done = top.size;
            if let Some(address) = top.shared {
                memo.insert(address, done);
            }
            stack.pop();
            match stack.last_mut() {
                Some(parent) => parent.size = parent.size.saturating_add(done),
                None => result = done,
            }
            continue;
        };
        top.next += 1;
        if !is_container(item) {
            top.size = top.size.saturating_add(leaf_size(item, true));
            continue;
        }
        let shared = shared_address(item);
        if let Some(size) = shared.and_then(|a| memo.get(&a).copied()) {
            top.size = top.size.saturating_add(size);
            continue;
        }
        stack.push(SizeFrame {
            node: item,
            next: 0,
            size: open_size(item),
            shared,
        });
    }
    (result <= limit).then_some(result)
}

/// The print form, cut short with `…` past `limit` bytes (for `Display`,
/// error messages and the REPL, which cannot fail).
pub(crate) fn print_truncated(v: &Value, quoted: bool, limit: usize) -> String {
    let mut out = String::new();
    if print(&mut out, v, quoted, limit).is_err() {
        let mut cut = limit.min(out.len());
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}
