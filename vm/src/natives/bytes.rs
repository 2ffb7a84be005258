//! Module `bytes`: binary data (LANGUAGE.md §2, §9). A bytes value is an
//! immutable sequence of 0..255 (`Value::Bytes`); a slice shares the
//! buffer it was cut from unless it is small (see `data::value::slice_of`).
//!
//! Every function checks its arguments and says which one is wrong
//! (`:badarg`). Work over a big argument is charged by its size; these
//! are single passes over memory (tens of microseconds per megabyte), so
//! none needs to run in pieces.

use super::{bad_element, badarg, expected, int_arg, list_arg, str_arg, Ctx, NativeResult};
use crate::data::atom::Atom;
use crate::data::value::Value;

pub(crate) const NATIVES: &[super::Native] = &[
    super::native("bytes.from_string", 1, 1, from_string),
    super::native("bytes.to_string", 1, 1, to_string),
    super::native("bytes.from_list", 1, 1, from_list),
    super::native("bytes.to_list", 1, 1, to_list),
    super::native("bytes.slice", 3, 3, slice),
    super::native("bytes.concat", 1, 1, concat),
    super::native("bytes.find", 2, 2, find),
    super::native("bytes.split", 2, 2, split),
    super::native("bytes.starts_with?", 2, 2, starts_with),
    super::native("bytes.hex", 1, 1, hex),
    super::native("bytes.from_hex", 1, 1, from_hex),
    super::native("bytes.encode_int", 3, 3, encode_int),
    super::native("bytes.decode_int", 3, 3, decode_int),
];

/// Argument `i` as bytes.
pub(crate) fn bytes_arg<'v>(
    args: &'v [Value],
    i: usize,
    name: &str,
) -> Result<&'v [u8], super::Trap> {
    args[i]
        .as_bytes()
        .ok_or_else(|| expected("bytes", name, i, &args[i]))
}

/// The UTF-8 encoding of a string.
fn from_string(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "bytes.from_string")?;
    ctx.charge(s.len() / 16);
    ctx.admit(s.len(), "bytes.from_string")?;
    Ok(Value::bytes(s.as_bytes().to_vec()))
}

/// The string the bytes encode in UTF-8; `:badarg` (with the offset of the
/// first invalid byte) when they are not UTF-8.
fn to_string(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let b = bytes_arg(args, 0, "bytes.to_string")?;
    ctx.charge(b.len() / 16);
    ctx.admit(b.len(), "bytes.to_string")?;
    match std::str::from_utf8(b) {
        Ok(s) => Ok(Value::str(s)),
        Err(error) => Err(badarg(format!(
            "bytes.to_string: the bytes are not UTF-8 (invalid byte at offset {})",
            error.valid_up_to()
        ))),
    }
}

/// Bytes from a list of ints, each 0 to 255.
fn from_list(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let items = list_arg(args, 0, "bytes.from_list")?;
    ctx.charge(items.len());
    ctx.admit(items.len(), "bytes.from_list")?;
    let mut out = Vec::with_capacity(items.len());
    for (at, item) in items.iter().enumerate() {
        match item {
            Value::Int(n) if (0..=255).contains(n) => out.push(*n as u8),
            other => {
                return Err(bad_element(
                    "an int from 0 to 255",
                    "bytes.from_list",
                    0,
                    at,
                    other,
                ))
            }
        }
    }
    Ok(Value::bytes(out))
}

/// The bytes as a list of ints.
fn to_list(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let b = bytes_arg(args, 0, "bytes.to_list")?;
    ctx.charge(b.len());
    ctx.admit(
        b.len().saturating_mul(std::mem::size_of::<Value>()),
        "bytes.to_list",
    )?;
    Ok(Value::list(
        b.iter().map(|&x| Value::Int(x as i64)).collect(),
    ))
}

/// `bytes.slice(b, from, to)`: the bytes at positions from up to to, to
/// excluded, with the rules of `string.slice` (Python's): a negative
/// position counts from the end, positions past either end are clamped,
/// and from >= to gives empty bytes.
fn slice(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let b = bytes_arg(args, 0, "bytes.slice")?;
    let from = int_arg(args, 1, "bytes.slice")?;
    let to = int_arg(args, 2, "bytes.slice")?;
    let len = b.len() as i64;
    let resolve = |position: i64| -> usize {
        if position < 0 {
            len.saturating_add(position).max(0) as usize
        } else {
            position.min(len) as usize
        }
    };
    let (from, to) = (resolve(from), resolve(to));
    if from >= to {
        return Ok(Value::bytes(Vec::new()));
    }
    Ok(args[0].bytes_slice(from, to))
}

/// The bytes of a list of bytes values, one after another.
fn concat(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let items = list_arg(args, 0, "bytes.concat")?;
    let mut total = 0usize;
    for (at, item) in items.iter().enumerate() {
        match item.as_bytes() {
            Some(b) => total = total.saturating_add(b.len()),
            None => return Err(bad_element("bytes", "bytes.concat", 0, at, item)),
        }
    }
    ctx.charge(items.len() + total / 16);
    ctx.admit(total, "bytes.concat")?;
    let mut out = Vec::with_capacity(total);
    for item in items {
        out.extend_from_slice(item.as_bytes().unwrap_or(&[]));
    }
    Ok(Value::bytes(out))
}

/// Where `pattern` first occurs in `b` (an index from 0), or nil. Empty
/// bytes occur at 0.
fn find(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let b = bytes_arg(args, 0, "bytes.find")?;
    let pattern = bytes_arg(args, 1, "bytes.find")?;
    ctx.charge(b.len() / 16);
    Ok(match position(b, pattern) {
        Some(at) => Value::Int(at as i64),
        None => Value::Nil,
    })
}

/// The first occurrence of `pattern` in `b`, in time linear in both
/// (memchr's Two-Way search: a pattern of half a megabyte of `a`s then a
/// `b` costs no more than any other).
fn position(b: &[u8], pattern: &[u8]) -> Option<usize> {
    memchr::memmem::find(b, pattern)
}

/// The pieces of `b` between occurrences of `sep` (non-empty), as
/// `string.split` cuts a string: n occurrences give n + 1 pieces.
fn split(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let b = bytes_arg(args, 0, "bytes.split")?;
    let sep = bytes_arg(args, 1, "bytes.split")?;
    if sep.is_empty() {
        return Err(badarg("bytes.split needs a non-empty separator"));
    }
    ctx.charge(b.len() / 16);
    let finder = memchr::memmem::Finder::new(sep);
    // What the result takes, counted before it is built.
    let count = finder.find_iter(b).count() + 1;
    ctx.admit(count.saturating_mul(64), "bytes.split")?;
    ctx.charge(count * 16);
    let mut pieces = Vec::with_capacity(count);
    let mut start = 0;
    for found in finder.find_iter(b) {
        pieces.push((start, found));
        start = found + sep.len();
    }
    pieces.push((start, b.len()));
    let whole = &args[0];
    Ok(Value::list(
        pieces
            .into_iter()
            .map(|(from, to)| whole.bytes_slice(from, to))
            .collect(),
    ))
}

fn starts_with(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let b = bytes_arg(args, 0, "bytes.starts_with?")?;
    let prefix = bytes_arg(args, 1, "bytes.starts_with?")?;
    Ok(Value::Bool(b.starts_with(prefix)))
}

/// Two lowercase hex digits per byte.
fn hex(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let b = bytes_arg(args, 0, "bytes.hex")?;
    ctx.charge(b.len() / 8);
    ctx.admit(b.len().saturating_mul(2), "bytes.hex")?;
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(b.len() * 2);
    for &x in b {
        out.push(DIGITS[(x >> 4) as usize] as char);
        out.push(DIGITS[(x & 15) as usize] as char);
    }
    Ok(Value::str(out))
}

/// Bytes from hex digits (either case), two per byte.
fn from_hex(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "bytes.from_hex")?;
    ctx.charge(s.len() / 8);
    if s.len() % 2 != 0 {
        return Err(badarg(format!(
            "bytes.from_hex needs an even number of hex digits, got {}",
            s.len()
        )));
    }
    let digit = |c: u8, at: usize| -> Result<u8, super::Trap> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(badarg(format!(
                "bytes.from_hex: not a hex digit at offset {at}"
            ))),
        }
    };
    let text = s.as_bytes();
    let mut out = Vec::with_capacity(text.len() / 2);
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out.push(digit(pair[0], 2 * i)? << 4 | digit(pair[1], 2 * i + 1)?);
    }
    Ok(Value::bytes(out))
}

/// Whether an endianness argument says big-endian.
fn big_endian(args: &[Value], i: usize, name: &str) -> Result<bool, super::Trap> {
    match &args[i] {
        Value::Atom(a) if *a == Atom::BIG => Ok(true),
        Value::Atom(a) if *a == Atom::LITTLE => Ok(false),
        other => Err(expected(":big or :little", name, i, other)),
    }
}

/// `bytes.encode_int(n, size, endian)`: n in `size` bytes (1 to 8), a
/// negative n in two's complement. n must fit: from -2^(8·size-1) up to
/// 2^(8·size) - 1 (so both signed and unsigned readings are accepted).
fn encode_int(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let name = "bytes.encode_int";
    let n = int_arg(args, 0, name)?;
    let size = int_arg(args, 1, name)?;
    let big = big_endian(args, 2, name)?;
    if !(1..=8).contains(&size) {
        return Err(badarg(format!(
            "{name}: the size must be 1 to 8 bytes, got {size}"
        )));
    }
    let size = size as usize;
    if size < 8 {
        let bits = 8 * size as u32;
        let (lowest, highest) = (-(1i64 << (bits - 1)), (1i64 << bits) - 1);
        if n < lowest || n > highest {
            return Err(badarg(format!("{name}: {n} does not fit in {size} bytes")));
        }
    }
    let all = if big {
        n.to_be_bytes()
    } else {
        n.to_le_bytes()
    };
    let out = if big {
        all[8 - size..].to_vec()
    } else {
        all[..size].to_vec()
    };
    Ok(Value::bytes(out))
}

/// `bytes.decode_int(b, endian, signed?)`: the int that `b` (at most 8
/// bytes; empty bytes are 0) encodes. Eight bytes read unsigned must be
/// below 2^63, as Weft's ints are 64-bit signed.
fn decode_int(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let name = "bytes.decode_int";
    let b = bytes_arg(args, 0, name)?;
    let big = big_endian(args, 1, name)?;
    let signed = match &args[2] {
        Value::Bool(x) => *x,
        other => return Err(expected("true or false", name, 2, other)),
    };
    if b.len() > 8 {
        return Err(badarg(format!(
            "{name} decodes at most 8 bytes, got {}",
            b.len()
        )));
    }
    if b.is_empty() {
        return Ok(Value::Int(0));
    }
    let mut raw: u64 = 0;
    if big {
        for &x in b {
            raw = raw << 8 | x as u64;
        }
    } else {
        for &x in b.iter().rev() {
            raw = raw << 8 | x as u64;
        }
    }
    let bits = 8 * b.len() as u32;
    if signed {
        // Sign-extend from the top bit of the bytes read.
        let shift = 64 - bits;
        Ok(Value::Int(((raw << shift) as i64) >> shift))
    } else if raw > i64::MAX as u64 {
        Err(Trap::Error(
            Atom::BADARG,
            format!("{name}: {raw} does not fit in a 64-bit int"),
        ))
    } else {
        Ok(Value::Int(raw as i64))
    }
}

use super::Trap;
