//! The `list` module (LANGUAGE.md §9), the whole of it: the functions that
//! call back into Weft (`map`, `filter`, `fold`, `sort` with a comparator)
//! ask the interpreter to call the function and continue here with its
//! result (`continuation.rs`), so the interpreter stays stackless.
//!
//! Functions that build a new list from their argument take it out of the
//! argument slot (`std::mem::take`), so when the caller handed over the only
//! reference (`xs = list.push(xs, v)`) the vector is reused instead of copied.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{
    bad_element, badarg, expected, int_arg, list_arg, native, Ctx, Native, NativeResult, Trap,
};
use crate::data::atom::Atom;
use crate::data::fuel::Fuel;
use crate::data::ops::describe_value;
use crate::data::value::{Items, MapItems, Value};
use crate::process::ctx::Continuation;

pub(crate) const NATIVES: &[Native] = &[
    native("list.map", 2, 2, map),
    native("list.filter", 2, 2, filter),
    native("list.fold", 3, 3, fold),
    native("list.push", 2, 2, push),
    native("list.reverse", 1, 1, reverse),
    native("list.sort", 1, 2, sort),
    native("list.sum", 1, 1, sum),
    native("list.range", 2, 2, range),
    native("list.zip", 2, 2, zip),
    native("list.contains?", 2, 2, contains),
    native("list.first", 1, 1, first),
    native("list.last", 1, 1, last),
    native("list.take", 2, 2, take),
    native("list.drop", 2, 2, drop),
    native("list.enumerate", 1, 1, enumerate),
];

/// Appends in place when the caller handed over the only reference.
fn push(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let item = std::mem::take(&mut args[1]);
    match std::mem::take(&mut args[0]) {
        Value::List {
            mut start,
            mut items,
        } => {
            Value::list_make_mut(&mut items, &mut start, ctx.fuel).push(item);
            Ok(Value::List { start, items })
        }
        other => Err(expected("a list", "list.push", 0, &other)),
    }
}

/// Reverses in place when the list is not shared, else copies once.
fn reverse(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
    match std::mem::take(&mut args[0]) {
        Value::List {
            mut start,
            mut items,
        } => {
            Value::list_make_mut(&mut items, &mut start, ctx.fuel).reverse();
            Ok(Value::List { start, items })
        }
        other => Err(expected("a list", "list.reverse", 0, &other)),
    }
}

// ------------------------------------------------- calling back into Weft

/// The elements `list.map`, `list.filter` and `list.fold` walk: a list, a
/// tuple, a map (as `(key, value)` tuples, in order), a string (its
/// characters) or bytes (ints), as `for` walks them. Held by reference,
/// never copied.
enum Elements {
    List(Value, usize),
    Tuple(Arc<Items>, usize),
    Map(Arc<MapItems>, usize),
    Str(Arc<String>, usize),
    Bytes(Arc<bytes::Bytes>, usize),
}

impl Elements {
    fn of(value: Value, name: &str) -> Result<Elements, Trap> {
        match value {
            list @ Value::List { .. } => Ok(Elements::List(list, 0)),
            Value::Tuple(items) => Ok(Elements::Tuple(items, 0)),
            Value::Map(map) => Ok(Elements::Map(map, 0)),
            Value::Str(s) => Ok(Elements::Str(s, 0)),
            Value::Bytes(b) => Ok(Elements::Bytes(b, 0)),
            other => Err(expected("a list", name, 0, &other)),
        }
    }

    fn next(&mut self) -> Option<Value> {
        match self {
            Elements::List(list, i) => {
                let item = list.as_list()?.get(*i)?.clone();
                *i += 1;
                Some(item)
            }
            Elements::Tuple(items, i) => {
                let item = items.get(*i)?.clone();
                *i += 1;
                Some(item)
            }
            Elements::Map(map, i) => {
                let (k, v) = map.get_index(*i)?;
                *i += 1;
                Some(Value::tuple(vec![k.clone(), v.clone()]))
            }
            Elements::Str(s, i) => {
                let c = s.get(*i..)?.chars().next()?;
                *i += c.len_utf8();
                Some(Value::str(c.to_string()))
            }
            Elements::Bytes(b, i) => {
                let x = *b.get(*i)?;
                *i += 1;
                Some(Value::Int(x as i64))
            }
        }
    }

    fn len_hint(&self) -> usize {
        match self {
            Elements::List(list, _) => list.as_list().map_or(0, |l| l.len()),
            Elements::Tuple(items, _) => items.len(),
            Elements::Map(map, _) => map.len(),
            Elements::Str(s, _) => s.len(),
            Elements::Bytes(b, _) => b.len(),
        }
    }
}

/// `list.map(xs, f)`: `f(x)` for each element, in order.
fn map(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let f = std::mem::take(&mut args[1]);
    let mut source = Elements::of(std::mem::take(&mut args[0]), "list.map")?;
    let out = Vec::with_capacity(source.len_hint());
    match source.next() {
        None => Ok(Value::list(out)),
        Some(first) => {
            let then = Box::new(Mapping {
                f: f.clone(),
                source,
                out,
            });
            Err(ctx.call(f, [first], then))
        }
    }
}

struct Mapping {
    f: Value,
    source: Elements,
    out: Vec<Value>,
}

impl Continuation for Mapping {
    fn resume(mut self: Box<Self>, ctx: &mut Ctx<'_>, result: Value) -> NativeResult {
        self.out.push(result);
        match self.source.next() {
            Some(next) => {
                let f = self.f.clone();
                Err(ctx.call(f, [next], self))
            }
            None => Ok(Value::list(std::mem::take(&mut self.out))),
        }
    }
}

/// `list.filter(xs, f)`: the elements for which `f(x)` is truthy.
fn filter(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let f = std::mem::take(&mut args[1]);
    let mut source = Elements::of(std::mem::take(&mut args[0]), "list.filter")?;
    match source.next() {
        None => Ok(Value::list(Vec::new())),
        Some(first) => {
            let filtering = Box::new(Filtering {
                f: f.clone(),
                source,
                out: Vec::new(),
                current: first.clone(),
            });
            Err(ctx.call(f, [first], filtering))
        }
    }
}

struct Filtering {
    f: Value,
    source: Elements,
    out: Vec<Value>,
    current: Value,
}

impl Continuation for Filtering {
    fn resume(mut self: Box<Self>, ctx: &mut Ctx<'_>, result: Value) -> NativeResult {
        if result.is_truthy() {
            let kept = std::mem::take(&mut self.current);
            self.out.push(kept);
        }
        match self.source.next() {
            Some(next) => {
                self.current = next.clone();
                let f = self.f.clone();
                Err(ctx.call(f, [next], self))
            }
            None => Ok(Value::list(std::mem::take(&mut self.out))),
        }
    }
}

/// `list.fold(xs, acc, f)`: `acc = f(acc, x)` for each element.
fn fold(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let f = std::mem::take(&mut args[2]);
    let acc = std::mem::take(&mut args[1]);
    let mut source = Elements::of(std::mem::take(&mut args[0]), "list.fold")?;
    match source.next() {
        None => Ok(acc),
        Some(first) => {
            let then = Box::new(Folding {
                f: f.clone(),
                source,
            });
            Err(ctx.call(f, [acc, first], then))
        }
    }
}

struct Folding {
    f: Value,
    source: Elements,
}

impl Continuation for Folding {
    fn resume(mut self: Box<Self>, ctx: &mut Ctx<'_>, acc: Value) -> NativeResult {
        match self.source.next() {
            Some(next) => {
                let f = self.f.clone();
                Err(ctx.call(f, [acc, next], self))
            }
            None => Ok(acc),
        }
    }
}

/// `list.sort(xs, f)`: a stable merge sort (bottom-up, so its state fits in
/// a continuation) where `f(a, b)` is true when `a` goes before `b`.
fn sort_by(ctx: &mut Ctx<'_>, values: Vec<Value>, f: Value) -> NativeResult {
    let n = values.len();
    let mut sorting = Box::new(SortBy {
        f,
        src: values,
        dst: Vec::with_capacity(n),
        width: 1,
        lo: 0,
        mid: 0,
        hi: 0,
        left: 0,
        right: 0,
    });
    sorting.start_merge();
    sorting.step(ctx)
}

/// A bottom-up merge sort paused at a comparison: runs of `width` in `src`
/// merge pairwise into `dst`; `src[left..mid]` and `src[right..hi]` are
/// what is left of the current pair.
struct SortBy {
    f: Value,
    src: Vec<Value>,
    dst: Vec<Value>,
    width: usize,
    lo: usize,
    mid: usize,
    hi: usize,
    left: usize,
    right: usize,
}

impl SortBy {
    /// Sets up the merge of the pair of runs starting at `lo`.
    fn start_merge(&mut self) {
        let n = self.src.len();
        self.mid = (self.lo + self.width).min(n);
        self.hi = (self.lo + 2 * self.width).min(n);
        self.left = self.lo;
        self.right = self.mid;
    }

    /// Moves what needs no comparison; asks for the next comparison or
    /// returns the sorted list.
    fn step(mut self: Box<Self>, ctx: &mut Ctx<'_>) -> NativeResult {
        let n = self.src.len();
        loop {
            if self.left < self.mid && self.right < self.hi {
                // Is the right element strictly before the left one? Only
                // then does it go first: ties keep their order.
                let (a, b) = (self.src[self.right].clone(), self.src[self.left].clone());
                let f = self.f.clone();
                return Err(ctx.call(f, [a, b], self));
            }
            while self.left < self.mid {
                let value = std::mem::take(&mut self.src[self.left]);
                self.dst.push(value);
                self.left += 1;
            }
            while self.right < self.hi {
                let value = std::mem::take(&mut self.src[self.right]);
                self.dst.push(value);
                self.right += 1;
            }
            self.lo = self.hi;
            if self.lo >= n {
                // A pass is done: its output is the next pass's input.
                std::mem::swap(&mut self.src, &mut self.dst);
                self.dst.clear();
                self.width *= 2;
                self.lo = 0;
                if self.width >= n {
                    return Ok(Value::list(std::mem::take(&mut self.src)));
                }
            }
            self.start_merge();
        }
    }
}

impl Continuation for SortBy {
    fn resume(mut self: Box<Self>, ctx: &mut Ctx<'_>, before: Value) -> NativeResult {
        let right_first = match before {
            Value::Bool(b) => b,
            other => {
                return Err(badarg(format!(
                    "list.sort's function must return true or false, got {}",
                    describe_value(&other)
                )))
            }
        };
        let value = if right_first {
            let value = std::mem::take(&mut self.src[self.right]);
            self.right += 1;
            value
        } else {
            let value = std::mem::take(&mut self.src[self.left]);
            self.left += 1;
            value
        };
        self.dst.push(value);
        self.step(ctx)
    }
}

/// A stable sort by LANGUAGE.md's ordering. A pair with no ordering
/// (`1` and `"a"`, or NaN and anything) is `:badarg`. With a function
/// `f(a, b)` (true when `a` goes before `b`), the order is `f`'s.
fn sort(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if args.len() == 2 {
        let f = std::mem::take(&mut args[1]);
        return match std::mem::take(&mut args[0]) {
            list @ Value::List { .. } => {
                let values = list.as_list().unwrap_or(&[]).to_vec();
                if values.len() < 2 {
                    return Ok(Value::list(values));
                }
                sort_by(ctx, values, f)
            }
            other => Err(expected("a list", "list.sort", 0, &other)),
        };
    }
    let n = super::work(&args[0]);
    match std::mem::take(&mut args[0]) {
        // A long list is sorted in pieces across slices.
        list @ Value::List { .. } if n > SORT_AT_ONCE => super::chunked(ctx, MergeSort::new(list)),
        Value::List {
            mut start,
            mut items,
        } => {
            ctx.charge(n * (usize::BITS - n.leading_zeros()) as usize);
            let values = Value::list_make_mut(&mut items, &mut start, ctx.fuel);
            let mut buffer = Vec::with_capacity(values.len() / 2 + 1);
            merge_sort(values, &mut buffer, ctx.fuel)?;
            Ok(Value::List { start, items })
        }
        other => Err(expected("a list", "list.sort", 0, &other)),
    }
}

/// Elements merged between two looks at the fuel.
const MERGE_PIECE: usize = 256;

/// Lists up to this long are sorted in one piece (well under a slice's
/// worth of work: about 50,000 comparisons).
const SORT_AT_ONCE: usize = 4096;

/// A bottom-up merge sort that stops when the fuel runs out and goes on
/// where it stopped: runs of `INSERTION_SORT_MAX` are sorted first, then
/// passes merge pairs of runs from `from` into `to`, doubling the run
/// length, until one run is the whole list.
///
/// Invariants: in a merging pass, `from[..lo]` has been moved into
/// `to[..lo]` (merged), `from[lo..mid]` and `from[mid..hi]` are the sorted
/// runs being merged, of which `from[i..mid]` and `from[j..hi]` are left,
/// and `to[lo..k]` holds what was merged of them (`to` is `k` long) — except while `blocks`
/// is not empty: then the pair moves as blocks, `blocks` holds what is
/// left of it (`i` and `j` stay where the pair began), and `to[lo..k]`
/// what has moved. Ties take the left run's element, so the sort is
/// stable.
struct MergeSort {
    /// The list being sorted, copied into `from` a run at a time.
    source: Value,
    /// Its length.
    n: usize,
    from: Vec<Value>,
    to: Vec<Value>,
    /// The length of the sorted runs in `from`; 0 while sorting the runs.
    width: usize,
    lo: usize,
    i: usize,
    j: usize,
    k: usize,
    /// Ranges of `from` still to move to `to[k..]` as they are, the next
    /// last: a pair of runs already in order, or in reverse order.
    blocks: Vec<(usize, usize)>,
}

impl MergeSort {
    fn new(source: Value) -> MergeSort {
        let n = source.as_list().map_or(0, |list| list.len());
        MergeSort {
            to: Vec::new(),
            from: Vec::with_capacity(n),
            source,
            n,
            width: 0,
            lo: 0,
            i: 0,
            j: 0,
            k: 0,
            blocks: Vec::new(),
        }
    }

    /// Queues whole ranges of `from` to move to `to` in this order, as the
    /// merged pair (moved a piece at a time by `step`). Only on a fresh pair.
    fn to_blocks(&mut self, blocks: [(usize, usize); 2]) {
        self.blocks
            .extend(blocks.into_iter().rev().filter(|(start, end)| start < end));
    }

    fn bounds(&self) -> (usize, usize) {
        let n = self.n;
        (
            (self.lo + self.width).min(n),
            (self.lo + 2 * self.width).min(n),
        )
    }
}

impl super::Chunked for MergeSort {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        let n = self.n;
        // The runs, one at a time, each copied from the list and sorted.
        while self.width == 0 {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let end = (self.lo + INSERTION_SORT_MAX).min(n);
            let source = self.source.as_list().unwrap_or(&[]);
            self.from.extend_from_slice(&source[self.lo..end]);
            let mut buffer = Vec::new();
            merge_sort(&mut self.from[self.lo..end], &mut buffer, ctx.fuel)?;
            ctx.charge(INSERTION_SORT_MAX * 4);
            self.lo = end;
            if self.lo >= n {
                self.source = Value::Nil;
                self.width = INSERTION_SORT_MAX;
                self.lo = 0;
                self.i = 0;
                self.j = self.bounds().0;
                self.k = 0;
                self.to = Vec::with_capacity(n);
            }
        }
        while self.width < n {
            let (mid, hi) = self.bounds();
            let fresh =
                self.i == self.lo && self.k == self.lo && self.j == mid && self.blocks.is_empty();
            if fresh && mid < hi {
                // Two runs already in order, or in reverse order (sorted
                // and reversed input), move as blocks: no comparisons.
                if order(&self.from[mid - 1], &self.from[mid], ctx.fuel)? != Ordering::Greater {
                    self.to_blocks([(self.lo, mid), (mid, hi)]);
                } else if order(&self.from[hi - 1], &self.from[self.lo], ctx.fuel)?
                    == Ordering::Less
                {
                    self.to_blocks([(mid, hi), (self.lo, mid)]);
                }
            }
            let mut moved = 0;
            if let Some((start, end)) = self.blocks.pop() {
                // A piece of a block.
                let count = (end - start).min(MERGE_PIECE * 16);
                self.to.extend(
                    self.from[start..start + count]
                        .iter_mut()
                        .map(std::mem::take),
                );
                self.k += count;
                moved = count;
                if start + count < end {
                    self.blocks.push((start + count, end));
                } else if self.blocks.is_empty() {
                    // Both runs moved: the merge below has nothing to do.
                    (self.i, self.j) = (mid, hi);
                }
            } else {
                // Merge a piece: comparisons while both runs have
                // elements, then what is left of one run moves as it is.
                while moved < MERGE_PIECE && self.i < mid && self.j < hi {
                    let take_left = order(&self.from[self.i], &self.from[self.j], ctx.fuel)?
                        != Ordering::Greater;
                    let at = if take_left { &mut self.i } else { &mut self.j };
                    self.to.push(std::mem::take(&mut self.from[*at]));
                    *at += 1;
                    self.k += 1;
                    moved += 1;
                }
                if self.i == mid || self.j == hi {
                    let (from, to) = if self.i < mid {
                        (&mut self.i, mid)
                    } else {
                        (&mut self.j, hi)
                    };
                    let count = (to - *from).min(MERGE_PIECE * 16);
                    self.to.extend(
                        self.from[*from..*from + count]
                            .iter_mut()
                            .map(std::mem::take),
                    );
                    *from += count;
                    self.k += count;
                    moved += count;
                }
            }
            ctx.charge(moved);
            if self.k >= hi {
                // This pair is merged: the next, or the next pass.
                self.lo = hi;
                if self.lo >= n {
                    // The emptied vector (all nils) is the next pass's
                    // `to`, kept for its allocation.
                    std::mem::swap(&mut self.from, &mut self.to);
                    self.to.clear();
                    self.width *= 2;
                    self.lo = 0;
                }
                self.i = self.lo;
                self.j = self.bounds().0;
                self.k = self.lo;
            }
            if ctx.fuel.is_spent() && self.width < n {
                return Ok(None);
            }
        }
        // The emptied vector goes as a list does, so its freeing is
        // deferred and budgeted too (value.rs).
        std::mem::drop(Value::list(std::mem::take(&mut self.to)));
        Ok(Some(Value::list(std::mem::take(&mut self.from))))
    }
}

fn order(a: &Value, b: &Value, fuel: &mut Fuel) -> Result<Ordering, Trap> {
    crate::data::walk::order_on(a, b, fuel).ok_or_else(|| {
        badarg(format!(
            "list.sort can't order {} and {}",
            describe_value(a),
            describe_value(b)
        ))
    })
}

/// Below this length insertion sort is faster than merging.
const INSERTION_SORT_MAX: usize = 16;

/// A top-down merge sort whose comparison can fail. The standard library's
/// `sort_by` is not used because it needs a total order (it may panic on an
/// inconsistent one) and cannot stop at the first incomparable pair.
/// O(n log n) comparisons, O(n) for input that is already sorted.
fn merge_sort(values: &mut [Value], buffer: &mut Vec<Value>, fuel: &mut Fuel) -> Result<(), Trap> {
    let n = values.len();
    if n <= INSERTION_SORT_MAX {
        for i in 1..n {
            let mut j = i;
            // Moving only past strictly greater elements keeps the sort stable.
            while j > 0 && order(&values[j - 1], &values[j], fuel)? == Ordering::Greater {
                values.swap(j - 1, j);
                j -= 1;
            }
        }
        return Ok(());
    }
    let mid = n / 2;
    merge_sort(&mut values[..mid], buffer, fuel)?;
    merge_sort(&mut values[mid..], buffer, fuel)?;
    if order(&values[mid - 1], &values[mid], fuel)? != Ordering::Greater {
        return Ok(());
    }
    // Move the left half out, then merge it with the right half back into
    // `values`; the write position never passes the right half's read
    // position, so nothing unread is overwritten.
    buffer.clear();
    buffer.extend(values[..mid].iter_mut().map(std::mem::take));
    let (mut left, mut right, mut out) = (0, mid, 0);
    while left < buffer.len() && right < n {
        // Ties take the left element first, which keeps the sort stable.
        if order(&buffer[left], &values[right], fuel)? == Ordering::Greater {
            values[out] = std::mem::take(&mut values[right]);
            right += 1;
        } else {
            values[out] = std::mem::take(&mut buffer[left]);
            left += 1;
        }
        out += 1;
    }
    while left < buffer.len() {
        values[out] = std::mem::take(&mut buffer[left]);
        left += 1;
        out += 1;
    }
    Ok(())
}

/// The sum of a list of numbers: an int while every element is an int
/// (overflow is `:overflow`), a float once a float is seen, as `+` does.
fn sum(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let items = list_arg(args, 0, "list.sum")?;
    let mut total = Value::Int(0);
    for item in items {
        total = match (&total, item) {
            (Value::Int(a), Value::Int(b)) => match a.checked_add(*b) {
                Some(n) => Value::Int(n),
                None => {
                    return Err(Trap::Error(
                        Atom::OVERFLOW,
                        "integer overflow in list.sum".to_string(),
                    ))
                }
            },
            (Value::Int(a), Value::Float(b)) => Value::Float(*a as f64 + b),
            (Value::Float(a), Value::Int(b)) => Value::Float(a + *b as f64),
            (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            (_, other) => {
                let at = items
                    .iter()
                    .position(|x| std::ptr::eq(x, other))
                    .unwrap_or(0);
                return Err(bad_element("a number", "list.sum", 0, at, other));
            }
        };
    }
    Ok(total)
}

/// `list.range(a, b)`: the ints from a up to b, b excluded (like `a..b`).
fn range(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let a = int_arg(args, 0, "list.range")?;
    let b = int_arg(args, 1, "list.range")?;
    let length = b.saturating_sub(a).clamp(0, i64::MAX) as usize;
    let bytes = length.saturating_mul(std::mem::size_of::<Value>());
    ctx.admit(bytes, &format!("list.range({a}, {b})"))?;
    if length > RANGE_AT_ONCE {
        // Fifty million elements take a good part of a second to write:
        // in pieces, across slices.
        let items = Vec::with_capacity(length);
        return super::chunked(
            ctx,
            Range {
                next: a,
                end: b,
                items,
            },
        );
    }
    ctx.charge(length);
    crate::data::ops::range(&Value::Int(a), &Value::Int(b))
        .map_err(|(kind, message)| Trap::Error(kind, message))
}

/// Ranges up to this long are built in one piece.
const RANGE_AT_ONCE: usize = 1 << 16;

/// A long range built a slice's worth at a time (`list.range`, and `a..b`
/// through it).
struct Range {
    next: i64,
    end: i64,
    items: Vec<Value>,
}

impl super::Chunked for Range {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        while self.next < self.end {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let piece = (self.end - self.next).min(RANGE_AT_ONCE as i64);
            self.items
                .extend((self.next..self.next + piece).map(Value::Int));
            self.next += piece;
            ctx.charge(piece as usize);
        }
        Ok(Some(Value::list(std::mem::take(&mut self.items))))
    }
}

/// Pairs elements up as tuples; the result is as long as the shorter list.
fn zip(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let a = list_arg(args, 0, "list.zip")?;
    let b = list_arg(args, 1, "list.zip")?;
    let n = a.len().min(b.len());
    ctx.admit(n.saturating_mul(TUPLE_BYTES), "list.zip")?;
    let pair = |_: usize, x: &Value, y: &Value| Value::tuple(vec![x.clone(), y.clone()]);
    let work = Pairs {
        a: std::mem::take(&mut args[0]),
        b: std::mem::take(&mut args[1]),
        next: 0,
        out: Vec::with_capacity(n),
        make: pair,
    };
    super::chunked(ctx, work)
}

/// What a two-element tuple in a new list costs: its `Value`, the tuple's
/// allocation and its two elements.
const TUPLE_BYTES: usize = 80;

/// A new list of one value per element (or pair of elements) of one list
/// (or two), a slice's worth at a time: `list.zip` and `list.enumerate`
/// of a million elements make a million tuples.
struct Pairs {
    a: Value,
    /// The second list (`zip`), or the first again.
    b: Value,
    next: usize,
    out: Vec<Value>,
    make: fn(usize, &Value, &Value) -> Value,
}

impl super::Chunked for Pairs {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        let a = self.a.as_list().unwrap_or(&[]);
        let b = self.b.as_list().unwrap_or(&[]);
        let n = a.len().min(b.len());
        while self.next < n {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let end = (self.next + 1024).min(n);
            for i in self.next..end {
                self.out.push((self.make)(i, &a[i], &b[i]));
            }
            // A tuple costs its allocation: about 16 elements' work.
            ctx.charge((end - self.next) * 16);
            self.next = end;
        }
        Ok(Some(Value::list(std::mem::take(&mut self.out))))
    }
}

/// Structural equality, as `==` (so `1` is found in `[1.0]`).
fn contains(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    list_arg(args, 0, "list.contains?")?;
    let work = Search {
        list: std::mem::take(&mut args[0]),
        needle: std::mem::take(&mut args[1]),
        next: 0,
    };
    super::chunked(ctx, work)
}

/// Elements looked at, or copied, between two looks at the fuel.
const LIST_PIECE: usize = 4096;

/// A search through a list, a slice's worth at a time (each comparison
/// charged by what it walks).
struct Search {
    list: Value,
    needle: Value,
    next: usize,
}

impl super::Chunked for Search {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        let items = self.list.as_list().unwrap_or(&[]);
        while self.next < items.len() {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let end = (self.next + LIST_PIECE).min(items.len());
            let found = items[self.next..end]
                .iter()
                .any(|item| crate::data::walk::equal_on(item, &self.needle, ctx.fuel));
            if found {
                return Ok(Some(Value::Bool(true)));
            }
            ctx.charge(end - self.next);
            self.next = end;
        }
        Ok(Some(Value::Bool(false)))
    }
}

/// A copy of part of a list, a slice's worth at a time.
struct Copied {
    list: Value,
    next: usize,
    end: usize,
    out: Vec<Value>,
}

impl super::Chunked for Copied {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        let items = self.list.as_list().unwrap_or(&[]);
        while self.next < self.end {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let end = (self.next + LIST_PIECE).min(self.end);
            self.out.extend_from_slice(&items[self.next..end]);
            ctx.charge(end - self.next);
            self.next = end;
        }
        Ok(Some(Value::list(std::mem::take(&mut self.out))))
    }
}

/// The first element, or nil for an empty list.
fn first(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let items = list_arg(args, 0, "list.first")?;
    Ok(items.first().cloned().unwrap_or(Value::Nil))
}

/// The last element, or nil for an empty list.
fn last(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let items = list_arg(args, 0, "list.last")?;
    Ok(items.last().cloned().unwrap_or(Value::Nil))
}

/// A count argument: a non-negative int. A negative count is `:badarg`
/// rather than Python's "from the end", which would surprise in `take`.
fn count_arg(args: &[Value], i: usize, name: &str) -> Result<usize, Trap> {
    let n = int_arg(args, i, name)?;
    usize::try_from(n).map_err(|_| badarg(format!("{name} needs a count of 0 or more, got {n}")))
}

/// The first n elements (all of them if the list is shorter). Truncates in
/// place when the list is not shared.
fn take(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    list_arg(args, 0, "list.take")?;
    let n = count_arg(args, 1, "list.take")?;
    let Value::List { start, mut items } = std::mem::take(&mut args[0]) else {
        return Err(expected("a list", "list.take", 0, &Value::Nil));
    };
    let len = items.len().saturating_sub(start as usize);
    if n >= len {
        return Ok(Value::List { start, items });
    }
    match Arc::get_mut(&mut items) {
        Some(vector) => {
            vector.truncate(start as usize + n);
            Ok(Value::List { start, items })
        }
        None => {
            // A copy, charged by its length as copies are, in pieces.
            let work = Copied {
                list: Value::List { start, items },
                next: 0,
                end: n,
                out: Vec::with_capacity(n),
            };
            super::chunked(ctx, work)
        }
    }
}

/// All but the first n elements. O(1): the result is a later window over
/// the same vector, as the tail of `[h, ..t]` is.
fn drop(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    list_arg(args, 0, "list.drop")?;
    let n = count_arg(args, 1, "list.drop")?;
    let Value::List { start, items } = std::mem::take(&mut args[0]) else {
        return Err(expected("a list", "list.drop", 0, &Value::Nil));
    };
    let new_start = (start as usize).saturating_add(n).min(items.len());
    match u32::try_from(new_start) {
        Ok(new_start) => Ok(Value::List {
            start: new_start,
            items,
        }),
        // A window start must fit in 32 bits; past that, copy the tail.
        Err(_) => Ok(Value::list(items[new_start..].to_vec())),
    }
}

/// `[(0, a), (1, b), ...]`.
fn enumerate(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let n = list_arg(args, 0, "list.enumerate")?.len();
    ctx.admit(n.saturating_mul(TUPLE_BYTES), "list.enumerate")?;
    let numbered =
        |i: usize, x: &Value, _: &Value| Value::tuple(vec![Value::Int(i as i64), x.clone()]);
    let list = std::mem::take(&mut args[0]);
    let work = Pairs {
        b: list.clone(),
        a: list,
        next: 0,
        out: Vec::with_capacity(n),
        make: numbered,
    };
    super::chunked(ctx, work)
}
