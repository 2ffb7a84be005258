//! The `string` module (LANGUAGE.md §9).
//!
//! Strings are UTF-8; positions given to or returned by these functions
//! count characters (Unicode scalar values), as `len` and `s[i]` do, so no
//! function ever cuts a character in half.

use super::{bad_element, badarg, int_arg, list_arg, native, str_arg, Ctx, Native, NativeResult};
use crate::data::value::Value;

pub(crate) const NATIVES: &[Native] = &[
    native("string.split", 2, 2, split),
    native("string.join", 2, 2, join),
    native("string.trim", 1, 1, trim),
    native("string.upper", 1, 1, upper),
    native("string.lower", 1, 1, lower),
    native("string.contains?", 2, 2, contains),
    native("string.starts_with?", 2, 2, starts_with),
    native("string.ends_with?", 2, 2, ends_with),
    native("string.replace", 3, 3, replace),
    native("string.chars", 1, 1, chars),
    native("string.slice", 3, 3, slice),
];

/// Splits at every occurrence of `sep`, as Python's `s.split(sep)`:
/// `"a,,b"` gives `["a", "", "b"]` and `""` gives `[""]`. An empty
/// separator is `:badarg` (use `string.chars`).
fn split(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
    let s = str_arg(args, 0, "string.split")?;
    let sep = str_arg(args, 1, "string.split")?;
    if sep.is_empty() {
        return Err(badarg(
            "string.split needs a non-empty separator (string.chars splits into characters)",
        ));
    }
    Ok(Value::list(s.split(sep).map(Value::str).collect()))
}

/// Joins a list of strings with `sep` between them. Any element that is not
/// a string is `:badarg`: convert first with `str` if that is meant.
fn join(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
    let items = list_arg(args, 0, "string.join")?;
    let sep = str_arg(args, 1, "string.join")?;
    let mut total = sep.len().saturating_mul(items.len().saturating_sub(1));
    for item in items {
        match item {
            Value::Str(s) => total = total.saturating_add(s.len()),
            other => {
                let at = items
                    .iter()
                    .position(|x| std::ptr::eq(x, other))
                    .unwrap_or(0);
                return Err(bad_element("a string", "string.join", 0, at, other));
            }
        }
    }
    let mut out = String::with_capacity(total);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        if let Value::Str(s) = item {
            out.push_str(s);
        }
    }
    Ok(Value::str(out))
}

/// Removes leading and trailing whitespace (Unicode's definition). A string
/// with none is returned as it is, without a copy.
fn trim(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "string.trim")?;
    let trimmed = s.trim();
    if trimmed.len() == s.len() {
        return Ok(std::mem::take(&mut args[0]));
    }
    Ok(Value::str(trimmed))
}

/// Upper case by Unicode's rules (`"ß"` becomes `"SS"`).
fn upper(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    Ok(Value::str(str_arg(args, 0, "string.upper")?.to_uppercase()))
}

/// Lower case by Unicode's rules.
fn lower(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    Ok(Value::str(str_arg(args, 0, "string.lower")?.to_lowercase()))
}

/// Whether `sub` occurs in `s`; the empty string occurs in every string.
fn contains(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "string.contains?")?;
    let sub = str_arg(args, 1, "string.contains?")?;
    Ok(Value::Bool(s.contains(sub)))
}

fn starts_with(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "string.starts_with?")?;
    let prefix = str_arg(args, 1, "string.starts_with?")?;
    Ok(Value::Bool(s.starts_with(prefix)))
}

fn ends_with(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "string.ends_with?")?;
    let suffix = str_arg(args, 1, "string.ends_with?")?;
    Ok(Value::Bool(s.ends_with(suffix)))
}

/// Replaces every occurrence of `from`. As in Python, an empty `from`
/// matches between every two characters and at both ends.
fn replace(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
    let s = str_arg(args, 0, "string.replace")?;
    let from = str_arg(args, 1, "string.replace")?;
    let to = str_arg(args, 2, "string.replace")?;
    if !from.is_empty() && !s.contains(from) {
        return Ok(std::mem::take(&mut args[0]));
    }
    Ok(Value::str(s.replace(from, to)))
}

/// The characters of a string, each as a one-character string.
fn chars(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
    let s = str_arg(args, 0, "string.chars")?;
    Ok(Value::list(
        s.chars()
            .map(|c| Value::str(c.encode_utf8(&mut [0; 4]).to_string()))
            .collect(),
    ))
}

/// `string.slice(s, from, to)`: the characters at positions from up to to,
/// to excluded, with Python's slice rules: a negative position counts from
/// the end (-1 is the last character), positions past either end are
/// clamped to it, and from >= to gives "". So it never fails on an int.
fn slice(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "string.slice")?;
    let from = int_arg(args, 1, "string.slice")?;
    let to = int_arg(args, 2, "string.slice")?;
    // Counting the characters costs a pass, so do it only when a negative
    // position needs the length.
    let count = if from < 0 || to < 0 {
        Some(s.chars().count() as i64)
    } else {
        None
    };
    let resolve = |position: i64| -> usize {
        match count {
            Some(len) if position < 0 => len.saturating_add(position).max(0) as usize,
            _ => usize::try_from(position).unwrap_or(usize::MAX),
        }
    };
    let (from, to) = (resolve(from), resolve(to));
    if from >= to {
        return Ok(Value::str(""));
    }
    // Byte offsets of the from-th and to-th characters (or the end).
    let mut offsets = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()));
    let Some(start) = offsets.nth(from) else {
        return Ok(Value::str(""));
    };
    let end = offsets.nth(to - from - 1).unwrap_or(s.len());
    Ok(Value::str(&s[start..end]))
}
