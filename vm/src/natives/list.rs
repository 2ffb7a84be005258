//! The `list` module (LANGUAGE.md §9); `map`, `filter` and `fold` are in
//! Weft (stdlib/src/list.weft).
//!
//! Functions that build a new list from their argument take it out of the
//! argument slot (`std::mem::take`), so when the caller handed over the only
//! reference (`xs = list.push(xs, v)`) the vector is reused instead of copied.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{badarg, expected, int_arg, list_arg, native, Ctx, Native, NativeResult, Trap};
use crate::atom::Atom;
use crate::ops::describe_value;
use crate::value::{compare, Value};

pub(crate) const NATIVES: &[Native] = &[
    native("list.push", 2, 2, push),
    native("list.reverse", 1, 1, reverse),
    native("list.sort", 1, 1, sort),
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
fn push(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let item = std::mem::take(&mut args[1]);
    match std::mem::take(&mut args[0]) {
        Value::List {
            mut start,
            mut items,
        } => {
            Value::list_make_mut(&mut items, &mut start).push(item);
            Ok(Value::List { start, items })
        }
        other => Err(expected("a list", "list.push", &other)),
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
            Value::list_make_mut(&mut items, &mut start).reverse();
            Ok(Value::List { start, items })
        }
        other => Err(expected("a list", "list.reverse", &other)),
    }
}

/// A stable sort by LANGUAGE.md's ordering. A pair with no ordering
/// (`1` and `"a"`, or NaN and anything) is `:badarg`.
fn sort(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let n = super::work(&args[0]);
    ctx.charge(n * (usize::BITS - n.leading_zeros()) as usize);
    match std::mem::take(&mut args[0]) {
        Value::List {
            mut start,
            mut items,
        } => {
            let values = Value::list_make_mut(&mut items, &mut start);
            let mut buffer = Vec::with_capacity(values.len() / 2 + 1);
            merge_sort(values, &mut buffer)?;
            Ok(Value::List { start, items })
        }
        other => Err(expected("a list", "list.sort", &other)),
    }
}

fn order(a: &Value, b: &Value) -> Result<Ordering, Trap> {
    compare(a, b).ok_or_else(|| {
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
fn merge_sort(values: &mut [Value], buffer: &mut Vec<Value>) -> Result<(), Trap> {
    let n = values.len();
    if n <= INSERTION_SORT_MAX {
        for i in 1..n {
            let mut j = i;
            // Moving only past strictly greater elements keeps the sort stable.
            while j > 0 && order(&values[j - 1], &values[j])? == Ordering::Greater {
                values.swap(j - 1, j);
                j -= 1;
            }
        }
        return Ok(());
    }
    let mid = n / 2;
    merge_sort(&mut values[..mid], buffer)?;
    merge_sort(&mut values[mid..], buffer)?;
    if order(&values[mid - 1], &values[mid])? != Ordering::Greater {
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
        if order(&buffer[left], &values[right])? == Ordering::Greater {
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
                return Err(badarg(format!(
                    "list.sum needs a list of numbers, got an element {}",
                    describe_value(other)
                )))
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
    let limit = ctx.scheduler.limits.max_heap;
    if length.saturating_mul(16) > limit {
        return Err(Trap::Error(
            crate::atom::Atom::LIMIT,
            format!("list.range would build a list over the process's limit of {limit} bytes"),
        ));
    }
    crate::ops::range(&Value::Int(a), &Value::Int(b))
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
    Ok(Value::Bool(items.contains(&args[1])))
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
        return Err(badarg("list.take expects a list"));
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
        return Err(badarg("list.drop expects a list"));
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
