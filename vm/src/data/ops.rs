//! Operators on values (LANGUAGE.md §2, §3): arithmetic with overflow
//! checks, comparison, concatenation and indexing. Each returns the error
//! kind and message of LANGUAGE.md §6 instead of panicking.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::data::atom::Atom;
use crate::data::fuel::Fuel;
use crate::data::value::{compare, Value};

/// A runtime error's kind and message, as operations report them.
pub(crate) type OpError = (Atom, String);

pub(crate) type OpResult = Result<Value, OpError>;

fn badarg(message: String) -> (Atom, String) {
    (Atom::BADARG, message)
}

fn describe(v: &Value) -> String {
    // Only the first 60 bytes are shown: print no more than that. (A long
    // string or bytes value is cut before it is printed: printing ten
    // megabytes to show sixty would be most of the error's cost.)
    match v {
        Value::Str(s) if s.len() > 80 => {
            if let Some((cut, _)) = s.char_indices().nth(80) {
                return describe(&Value::str(&s[..cut]));
            }
        }
        Value::Bytes(b) if b.len() > 80 => return describe(&Value::bytes(b[..80].to_vec())),
        _ => {}
    }
    let mut text = String::new();
    if crate::data::walk::print(&mut text, v, true, 60).is_ok() {
        return text;
    }
    let cut: String = text.chars().take(57).collect();
    format!("{cut}...")
}

fn not_numbers(op: &str, a: &Value, b: &Value) -> (Atom, String) {
    badarg(format!(
        "`{op}` needs numbers, got {} and {}",
        describe(a),
        describe(b)
    ))
}

fn overflow(op: &str) -> (Atom, String) {
    (Atom::OVERFLOW, format!("integer overflow in `{op}`"))
}

#[inline]
pub(crate) fn add(a: &Value, b: &Value) -> OpResult {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x
            .checked_add(*y)
            .map(Value::Int)
            .ok_or_else(|| overflow("+")),
        (Value::Float(x), Value::Float(y)) => Ok(Value::Float(x + y)),
        (Value::Int(x), Value::Float(y)) => Ok(Value::Float(*x as f64 + y)),
        (Value::Float(x), Value::Int(y)) => Ok(Value::Float(x + *y as f64)),
        (Value::Str(_), Value::Str(_)) => Err(badarg(format!(
            "`+` needs numbers, got {} and {}; join strings with `++`",
            describe(a),
            describe(b)
        ))),
        _ => Err(not_numbers("+", a, b)),
    }
}

#[inline]
pub(crate) fn sub(a: &Value, b: &Value) -> OpResult {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x
            .checked_sub(*y)
            .map(Value::Int)
            .ok_or_else(|| overflow("-")),
        (Value::Float(x), Value::Float(y)) => Ok(Value::Float(x - y)),
        (Value::Int(x), Value::Float(y)) => Ok(Value::Float(*x as f64 - y)),
        (Value::Float(x), Value::Int(y)) => Ok(Value::Float(x - *y as f64)),
        _ => Err(not_numbers("-", a, b)),
    }
}

pub(crate) fn mul(a: &Value, b: &Value) -> OpResult {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x
            .checked_mul(*y)
            .map(Value::Int)
            .ok_or_else(|| overflow("*")),
        (Value::Float(x), Value::Float(y)) => Ok(Value::Float(x * y)),
        (Value::Int(x), Value::Float(y)) => Ok(Value::Float(*x as f64 * y)),
        (Value::Float(x), Value::Int(y)) => Ok(Value::Float(x * *y as f64)),
        _ => Err(not_numbers("*", a, b)),
    }
}

fn floats(op: &str, a: &Value, b: &Value) -> Result<(f64, f64), (Atom, String)> {
    match (a.as_float(), b.as_float()) {
        (Some(x), Some(y)) if !matches!(a, Value::Bool(_)) && !matches!(b, Value::Bool(_)) => {
            Ok((x, y))
        }
        _ => Err(not_numbers(op, a, b)),
    }
}

/// `/`: integers truncate toward zero; dividing by zero is `:badarith`
/// (for floats too, as in Python and Erlang).
pub(crate) fn div(a: &Value, b: &Value) -> OpResult {
    match (a, b) {
        (Value::Int(_), Value::Int(0)) => Err((Atom::BADARITH, "division by zero".to_string())),
        (Value::Int(x), Value::Int(y)) => x
            .checked_div(*y)
            .map(Value::Int)
            .ok_or_else(|| overflow("/")),
        _ => {
            let (x, y) = floats("/", a, b)?;
            if y == 0.0 {
                return Err((Atom::BADARITH, "division by zero".to_string()));
            }
            Ok(Value::Float(x / y))
        }
    }
}

/// `%`: the result takes the sign of the dividend (like Rust, C and Erlang's `rem`).
pub(crate) fn rem(a: &Value, b: &Value) -> OpResult {
    match (a, b) {
        (Value::Int(_), Value::Int(0)) => Err((Atom::BADARITH, "modulo by zero".to_string())),
        // `i64::MIN % -1` is 0, which fits (only `MIN / -1` overflows), as
        // in Go and Python.
        (Value::Int(x), Value::Int(y)) => Ok(Value::Int(x.wrapping_rem(*y))),
        _ => {
            let (x, y) = floats("%", a, b)?;
            if y == 0.0 {
                return Err((Atom::BADARITH, "modulo by zero".to_string()));
            }
            Ok(Value::Float(x % y))
        }
    }
}

pub(crate) fn neg(a: &Value) -> OpResult {
    match a {
        Value::Int(x) => x.checked_neg().map(Value::Int).ok_or_else(|| overflow("-")),
        Value::Float(x) => Ok(Value::Float(-x)),
        _ => Err(badarg(format!("`-` needs a number, got {}", describe(a)))),
    }
}

/// About how many bytes `a ++ b` builds (0 for operands `++` refuses).
pub(crate) fn concat_size(a: &Value, b: &Value) -> usize {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x.len().saturating_add(y.len()),
        (Value::Bytes(x), Value::Bytes(y)) => x.len().saturating_add(y.len()),
        (Value::List { .. }, Value::List { .. }) => {
            let length = |v: &Value| v.as_list().map_or(0, <[Value]>::len);
            length(a)
                .saturating_add(length(b))
                .saturating_mul(std::mem::size_of::<Value>())
        }
        _ => 0,
    }
}

/// `a ++ b`, in place when `a` is the only reference to its string or
/// list; `fuel` pays for what is copied.
pub(crate) fn concat(a: Value, b: &Value, fuel: &mut Fuel) -> OpResult {
    match (a, b) {
        (Value::Str(mut x), Value::Str(y)) => {
            let copied = if Arc::get_mut(&mut x).is_some() {
                y.len()
            } else {
                x.len() + y.len()
            };
            fuel.charge(copied);
            Arc::make_mut(&mut x).push_str(y);
            Ok(Value::Str(x))
        }
        (
            Value::List {
                mut start,
                mut items,
            },
            Value::List { .. },
        ) => {
            let extra = b.as_list().unwrap_or(&[]);
            fuel.charge(extra.len());
            Value::list_make_mut(&mut items, &mut start, fuel).extend_from_slice(extra);
            Ok(Value::List { start, items })
        }
        (Value::Bytes(x), Value::Bytes(y)) => {
            if y.is_empty() {
                return Ok(Value::Bytes(x));
            }
            if x.is_empty() {
                return Ok(Value::Bytes(y.clone()));
            }
            fuel.charge((x.len() + y.len()) / 16);
            let mut joined = Vec::with_capacity(x.len() + y.len());
            joined.extend_from_slice(&x);
            joined.extend_from_slice(y);
            Ok(Value::bytes(joined))
        }
        (a, b) => Err(badarg(format!(
            "`++` joins two strings, two lists or two bytes values, got {} and {}",
            describe(&a),
            describe(b)
        ))),
    }
}

/// `<`, `<=` and friends: an ordering, or `:badarg` for values that have none.
#[inline]
pub(crate) fn order(a: &Value, b: &Value) -> Result<Ordering, (Atom, String)> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return Ok(x.cmp(y));
    }
    match compare(a, b) {
        Some(ordering) => Ok(ordering),
        None => {
            // NaN compares false with everything, as in IEEE and Python.
            if matches!((a.as_float(), b.as_float()), (Some(x), Some(y)) if x.is_nan() || y.is_nan())
                && matches!(a, Value::Int(_) | Value::Float(_))
                && matches!(b, Value::Int(_) | Value::Float(_))
            {
                return Err((Atom::NIL, String::new()));
            }
            Err(badarg(format!(
                "can't order {} and {}",
                describe(a),
                describe(b)
            )))
        }
    }
}

/// An ordering operator: `less` or `less_equal`.
pub(crate) type OrderOperator = fn(&Value, &Value) -> Result<bool, (Atom, String)>;

/// Applies `op` (`less` or `less_equal`) to the verdict of a walked
/// comparison of `a` and `b` (two lists or two tuples).
pub(crate) fn verdict_is(
    op: OrderOperator,
    verdict: crate::data::walk::Verdict,
    a: &Value,
    b: &Value,
) -> Result<bool, (Atom, String)> {
    use crate::data::walk::Verdict;
    let ordering = match verdict {
        Verdict::Same => Ordering::Equal,
        Verdict::Differ(o) => o,
        Verdict::Unorderable => {
            return Err(badarg(format!(
                "can't order {} and {}",
                describe(a),
                describe(b)
            )))
        }
    };
    // `op` on two ints with the same ordering gives its answer.
    op(&Value::Int(ordering as i64), &Value::Int(0))
}

/// `a < b`, with NaN comparing false.
#[inline]
pub(crate) fn less(a: &Value, b: &Value) -> Result<bool, (Atom, String)> {
    match order(a, b) {
        Ok(o) => Ok(o == Ordering::Less),
        Err((kind, _)) if kind == Atom::NIL => Ok(false),
        Err(e) => Err(e),
    }
}

/// `a <= b`, with NaN comparing false.
#[inline]
pub(crate) fn less_equal(a: &Value, b: &Value) -> Result<bool, (Atom, String)> {
    match order(a, b) {
        Ok(o) => Ok(o != Ordering::Greater),
        Err((kind, _)) if kind == Atom::NIL => Ok(false),
        Err(e) => Err(e),
    }
}

fn index_of(key: &Value, len: usize, what: &str) -> Result<usize, (Atom, String)> {
    match key {
        Value::Int(i) if *i >= 0 && (*i as u64) < len as u64 => Ok(*i as usize),
        Value::Int(i) => Err(badarg(format!(
            "index {i} is out of range for a {what} of length {len}"
        ))),
        other => Err(badarg(format!(
            "a {what} index must be an int, got {}",
            describe(other)
        ))),
    }
}

/// `v[i]`: lists, tuples and strings by position, maps by key.
pub(crate) fn index(obj: &Value, key: &Value) -> OpResult {
    match obj {
        Value::List { .. } => {
            let items = obj.as_list().unwrap_or(&[]);
            Ok(items[index_of(key, items.len(), "list")?].clone())
        }
        Value::Tuple(items) => Ok(items[index_of(key, items.len(), "tuple")?].clone()),
        Value::Bytes(b) => Ok(Value::Int(b[index_of(key, b.len(), "bytes value")?] as i64)),
        Value::Map(map) => map.get(key).cloned().ok_or_else(|| {
            (
                Atom::BADKEY,
                format!("key {} is not in the map", describe(key)),
            )
        }),
        Value::Str(s) => {
            let Value::Int(i) = key else {
                return Err(badarg(format!(
                    "a string index must be an int, got {}",
                    describe(key)
                )));
            };
            let found = if *i >= 0 {
                s.chars().nth(*i as usize)
            } else {
                None
            };
            match found {
                Some(c) => Ok(Value::str(c.to_string())),
                None => Err(badarg(format!(
                    "index {i} is out of range for a string of {} characters",
                    s.chars().count()
                ))),
            }
        }
        other => Err(badarg(format!("can't index {}", describe(other)))),
    }
}

/// The list `a..b` (end exclusive).
pub(crate) fn range(a: &Value, b: &Value) -> OpResult {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let len = y.saturating_sub(*x).max(0);
            if len > 100_000_000 {
                return Err((
                    Atom::SYSTEM_LIMIT,
                    format!("the range {x}..{y} is too long to build as a list"),
                ));
            }
            Ok(Value::list((*x..*y).map(Value::Int).collect()))
        }
        _ => Err(badarg(format!(
            "a range needs two ints, got {} and {}",
            describe(a),
            describe(b)
        ))),
    }
}

pub(crate) fn describe_value(v: &Value) -> String {
    describe(v)
}

/// How much work a value means to a native that walks it.
pub(crate) fn work(value: &Value) -> usize {
    match value {
        Value::List { .. } => value.as_list().map_or(0, |l| l.len()),
        Value::Tuple(items) => items.len(),
        Value::Map(map) => map.len(),
        Value::Str(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 0,
    }
}
