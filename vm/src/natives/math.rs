//! The `math` module (LANGUAGE.md §9).
//!
//! Ints stay ints where the result is exact (`pow`, `abs`, `min`, `max`);
//! an int result that does not fit in 64 bits is `:overflow`, as for `+`.

use std::cmp::Ordering;

use super::{badarg, expected, native, number_arg, Ctx, Native, NativeResult, Trap, ANY};
use crate::data::atom::Atom;
use crate::data::ops::describe_value;
use crate::data::value::Value;
use crate::data::walk::order_on;

pub(crate) const NATIVES: &[Native] = &[
    native("math.sqrt", 1, 1, sqrt),
    native("math.pow", 2, 2, pow),
    native("math.floor", 1, 1, floor),
    native("math.ceil", 1, 1, ceil),
    native("math.abs", 1, 1, abs),
    native("math.min", 1, ANY, min),
    native("math.max", 1, ANY, max),
    native("math.sin", 1, 1, sin),
    native("math.cos", 1, 1, cos),
];

fn overflow(name: &str) -> Trap {
    Trap::Error(Atom::OVERFLOW, format!("integer overflow in {name}"))
}

/// The square root, as a float. A negative number has none: `:badarith`,
/// as Erlang does (Python raises a ValueError).
fn sqrt(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let x = number_arg(args, 0, "math.sqrt")?;
    if x < 0.0 {
        return Err(Trap::Error(
            Atom::BADARITH,
            format!(
                "math.sqrt of a negative number ({})",
                describe_value(&args[0])
            ),
        ));
    }
    Ok(Value::Float(x.sqrt()))
}

/// `pow(a, b)`: an int when both are ints and b >= 0 (exact, `:overflow`
/// past 64 bits), otherwise a float, as Python's `**`. Zero to a negative
/// power is `:badarith`, a division by zero.
fn pow(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let (Value::Int(base), Value::Int(exponent)) = (&args[0], &args[1]) {
        let (base, exponent) = (*base, *exponent);
        if exponent >= 0 {
            return int_pow(base, exponent)
                .map(Value::Int)
                .ok_or_else(|| overflow("math.pow"));
        }
        if base == 0 {
            return Err(Trap::Error(
                Atom::BADARITH,
                "math.pow: zero to a negative power".to_string(),
            ));
        }
    }
    let base = number_arg(args, 0, "math.pow")?;
    let exponent = number_arg(args, 1, "math.pow")?;
    Ok(Value::Float(base.powf(exponent)))
}

/// `base ** exponent` for a non-negative exponent, or None on overflow.
fn int_pow(base: i64, exponent: i64) -> Option<i64> {
    match base {
        0 => Some(if exponent == 0 { 1 } else { 0 }),
        1 => Some(1),
        -1 => Some(if exponent % 2 == 0 { 1 } else { -1 }),
        // Any other base overflows long before the exponent leaves u32.
        _ => base.checked_pow(u32::try_from(exponent).ok()?),
    }
}

/// A float rounded by `round` as an int; an int is returned as it is.
fn to_int(args: &[Value], name: &str, round: fn(f64) -> f64) -> NativeResult {
    match &args[0] {
        Value::Int(n) => Ok(Value::Int(*n)),
        Value::Float(f) => {
            let r = round(*f);
            // The same bounds as `int(f)`: NaN and the infinities have no int.
            if r.is_finite() && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                Ok(Value::Int(r as i64))
            } else {
                Err(badarg(format!("{name} can't convert {f:?} to an integer")))
            }
        }
        other => Err(expected("a number", name, 0, other)),
    }
}

/// The largest int not above the number.
fn floor(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    to_int(args, "math.floor", f64::floor)
}

/// The smallest int not below the number.
fn ceil(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    to_int(args, "math.ceil", f64::ceil)
}

/// The absolute value, of the argument's type.
fn abs(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    match &args[0] {
        Value::Int(n) => n
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| overflow("math.abs")),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        other => Err(expected("a number", "math.abs", 0, other)),
    }
}

/// `math.min(a, b, ...)` or `math.min(list)`: the smallest value, returned
/// as it is (so `math.min(1, 2.0)` is the int 1); on a tie, the first.
fn min(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    extreme(ctx, args, "math.min", Ordering::Less)
}

/// `math.max(a, b, ...)` or `math.max(list)`: the largest value, returned
/// as it is; on a tie, the first.
fn max(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    extreme(ctx, args, "math.max", Ordering::Greater)
}

/// The first value that no other beats in the direction `wanted`, by
/// LANGUAGE.md's ordering (so strings and lists work too, like Python's
/// `min`); values with no ordering between them are `:badarg`.
fn extreme(ctx: &mut Ctx<'_>, args: &mut [Value], name: &str, wanted: Ordering) -> NativeResult {
    let candidates: &[Value] = if args.len() == 1 {
        match args[0].as_list() {
            Some(items) => items,
            None => {
                return Err(badarg(format!(
                    "{name} takes two or more values or one list, got only {}",
                    describe_value(&args[0])
                )))
            }
        }
    } else {
        args
    };
    let Some((mut best, rest)) = candidates.split_first() else {
        return Err(badarg(format!("{name} of an empty list")));
    };
    // A lone value must still be orderable (a NaN or a map is not).
    if order_on(best, best, ctx.fuel).is_none() {
        return Err(badarg(format!(
            "{name} can't order {}",
            describe_value(best)
        )));
    }
    for value in rest {
        match order_on(value, best, ctx.fuel) {
            Some(ordering) if ordering == wanted => best = value,
            Some(_) => {}
            None => {
                return Err(badarg(format!(
                    "{name} can't order {} and {}",
                    describe_value(best),
                    describe_value(value)
                )))
            }
        }
    }
    Ok(best.clone())
}

fn sin(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    Ok(Value::Float(number_arg(args, 0, "math.sin")?.sin()))
}

fn cos(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    Ok(Value::Float(number_arg(args, 0, "math.cos")?.cos()))
}

/// The module constants: `math.pi` and `math.e` are floats, as in Python
/// and Lua (LANGUAGE.md §9), compiled into the code that uses them.
pub(crate) const CONSTANTS: &[(&str, f64)] = &[
    ("math.pi", std::f64::consts::PI),
    ("math.e", std::f64::consts::E),
];
