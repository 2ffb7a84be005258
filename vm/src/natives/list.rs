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
/// tuple, a map (as `(key, value)` tuples, in order) or a string (its
/// characters), as `for` walks them. Held by reference, never copied.
enum Elements {
    List(Value, usize),
    Tuple(Arc<Items>, usize),
    Map(Arc<MapItems>, usize),
    Str(Arc<String>, usize),
}

impl Elements {
    fn of(value: Value, name: &str) -> Result<Elements, Trap> {
        match value {
            list @ Value::List { .. } => Ok(Elements::List(list, 0)),
            Value::Tuple(items) => Ok(Elements::Tuple(items, 0)),
            Value::Map(map) => Ok(Elements::Map(map, 0)),
            Value::Str(s) => Ok(Elements::Str(s, 0)),
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
        }
    }

    fn len_hint(&self) -> usize {
        match self {
            Elements::List(list, _) => list.as_list().map_or(0, |l| l.len()),
            Elements::Tuple(items, _) => items.len(),
            Elements::Map(map, _) => map.len(),
            Elements::Str(s, _) => s.len(),
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
    ctx.charge(n * (usize::BITS - n.leading_zeros()) as usize);
    match std::mem::take(&mut args[0]) {
        Value::List {
            mut start,
            mut items,
        } => {
            let values = Value::list_make_mut(&mut items, &mut start, ctx.fuel);
            let mut buffer = Vec::with_capacity(values.len() / 2 + 1);
            merge_sort(values, &mut buffer, ctx.fuel)?;
            Ok(Value::List { start, items })
        }
        other => Err(expected("a list", "list.sort", 0, &other)),
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
    ctx.charge(length);
    let bytes = length.saturating_mul(std::mem::size_of::<Value>());
    ctx.admit(bytes, &format!("list.range({a}, {b})"))?;
    crate::data::ops::range(&Value::Int(a), &Value::Int(b))
        .map_err(|(kind, message)| Trap::Error(kind, message))
}

/// Pairs elements up as tuples; the result is as long as the shorter list.
fn zip(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
    let a = list_arg(args, 0, "list.zip")?;
    let b = list_arg(args, 1, "list.zip")?;
    Ok(Value::list(
        a.iter()
            .zip(b)
            .map(|(x, y)| Value::tuple(vec![x.clone(), y.clone()]))
            .collect(),
    ))
}

/// Structural equality, as `==` (so `1` is found in `[1.0]`).
fn contains(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
    let items = list_arg(args, 0, "list.contains?")?;
    let found = items
        .iter()
        .any(|item| crate::data::walk::equal_on(item, &args[1], ctx.fuel));
    Ok(Value::Bool(found))
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
fn take(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
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
            let from = start as usize;
            Ok(Value::list(items[from..from + n].to_vec()))
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
    ctx.charge(super::work(&args[0]));
    let items = list_arg(args, 0, "list.enumerate")?;
    Ok(Value::list(
        items
            .iter()
            .enumerate()
            .map(|(i, x)| Value::tuple(vec![Value::Int(i as i64), x.clone()]))
            .collect(),
    ))
}
