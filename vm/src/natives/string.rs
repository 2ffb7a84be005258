//! The `string` module (LANGUAGE.md §9).
//!
//! Strings are UTF-8; positions given to or returned by these functions
//! count characters (Unicode scalar values), as `len` and `s[i]` do, so no
//! function ever cuts a character in half.

use std::sync::Arc;

use super::{
    bad_element, badarg, int_arg, list_arg, native, str_arg, Ctx, Native, NativeResult, Trap,
};
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
    let pieces = s.matches(sep).count() + 1;
    let separator = sep.to_string();
    ctx.admit(pieces.saturating_mul(PIECE_BYTES), "string.split")?;
    cut_into_pieces(ctx, args, pieces, Cut::Separator(separator))
}

/// Cuts the string in `args[0]` into `pieces` pieces, across slices.
fn cut_into_pieces(ctx: &mut Ctx<'_>, args: &mut [Value], pieces: usize, cut: Cut) -> NativeResult {
    let Value::Str(text) = std::mem::take(&mut args[0]) else {
        return Ok(Value::Nil);
    };
    let work = Pieces {
        text,
        at: 0,
        out: Vec::with_capacity(pieces),
        cut,
    };
    super::chunked(ctx, work)
}

/// What one piece of a string split into a list costs beyond its bytes:
/// its `Value`, the string's header and its allocation.
const PIECE_BYTES: usize = 64;

/// How `Pieces` cuts: at a separator, or after every character.
enum Cut {
    Separator(String),
    Chars,
}

/// A string cut into a list of strings, a slice's worth of pieces at a
/// time (`string.split` and `string.chars` of ten megabytes make millions).
struct Pieces {
    text: Arc<String>,
    /// The byte where the next piece starts.
    at: usize,
    out: Vec<Value>,
    cut: Cut,
}

impl super::Chunked for Pieces {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        loop {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let mut made = 0;
            let mut scanned = 0;
            while made < 256 {
                let rest = &self.text[self.at..];
                match &self.cut {
                    Cut::Separator(sep) => match rest.find(sep.as_str()) {
                        Some(found) => {
                            self.out.push(Value::str(&rest[..found]));
                            self.at += found + sep.len();
                            scanned += found + sep.len();
                        }
                        None => {
                            self.out.push(Value::str(rest));
                            ctx.charge(scanned + rest.len() + (made + 1) * 16);
                            return Ok(Some(Value::list(std::mem::take(&mut self.out))));
                        }
                    },
                    Cut::Chars => match rest.chars().next() {
                        Some(c) => {
                            self.out
                                .push(Value::str(c.encode_utf8(&mut [0; 4]).to_string()));
                            self.at += c.len_utf8();
                            scanned += c.len_utf8();
                        }
                        None => {
                            ctx.charge(made * 16);
                            return Ok(Some(Value::list(std::mem::take(&mut self.out))));
                        }
                    },
                }
                made += 1;
            }
            // A piece costs what allocating it does, about 16 elements'.
            ctx.charge(scanned + made * 16);
        }
    }
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
    ctx.admit(total, "string.join")?;
    let separator = sep.to_string();
    let list = std::mem::take(&mut args[0]);
    super::chunked(
        ctx,
        Joined {
            list,
            next: 0,
            separator,
            out: String::with_capacity(total),
        },
    )
}

/// The strings of a list joined, a slice's worth at a time.
struct Joined {
    list: Value,
    next: usize,
    separator: String,
    out: String,
}

impl super::Chunked for Joined {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        let items = self.list.as_list().unwrap_or(&[]);
        while self.next < items.len() {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let end = (self.next + 256).min(items.len());
            let before = self.out.len();
            for (i, item) in items.iter().enumerate().take(end).skip(self.next) {
                if i > 0 {
                    self.out.push_str(&self.separator);
                }
                if let Value::Str(s) = item {
                    self.out.push_str(s);
                }
            }
            ctx.charge(self.out.len() - before + (end - self.next));
            self.next = end;
        }
        Ok(Some(Value::str(std::mem::take(&mut self.out))))
    }
}

/// Removes leading and trailing whitespace (Unicode's definition). A string
/// with none is returned as it is, without a copy.
fn trim(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]) / 16);
    let s = str_arg(args, 0, "string.trim")?;
    let trimmed = s.trim();
    if trimmed.len() == s.len() {
        return Ok(std::mem::take(&mut args[0]));
    }
    Ok(Value::str(trimmed))
}

/// Upper case by Unicode's rules (`"ß"` becomes `"SS"`).
fn upper(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "string.upper")?;
    // A character's upper case takes at most three times its bytes.
    ctx.admit(s.len().saturating_mul(3), "string.upper")?;
    rewrite(ctx, args, Rewrite::Upper)
}

/// Lower case by Unicode's rules.
fn lower(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "string.lower")?;
    ctx.admit(s.len().saturating_mul(3), "string.lower")?;
    // A capital sigma's lower case depends on the letters around it (a
    // final sigma), which a piece may not see: such a text is lowered in
    // one piece, charged by its size.
    if s.contains('Σ') {
        ctx.charge(s.len());
        return Ok(Value::str(s.to_lowercase()));
    }
    rewrite(ctx, args, Rewrite::Lower)
}

/// How `Rewritten` changes a string.
enum Rewrite {
    Upper,
    Lower,
    /// Every occurrence of a non-empty string by another.
    Replace {
        from: String,
        to: String,
    },
    /// `to` between every two characters and at both ends (`replace`
    /// with an empty `from`, as Python's).
    Between {
        to: String,
    },
}

/// Bytes of the text rewritten between two looks at the fuel.
const REWRITE_PIECE: usize = 1 << 16;

/// A string rewritten a piece at a time, across slices: `string.upper`,
/// `lower` and `replace` of ten megabytes.
///
/// Invariants: `text[..at]` has been rewritten into `out`; `at` is on a
/// character boundary, and (for `Replace`) never inside an occurrence.
struct Rewritten {
    text: Arc<String>,
    at: usize,
    out: String,
    how: Rewrite,
}

/// Runs a rewrite of the string in `args[0]`.
fn rewrite(ctx: &mut Ctx<'_>, args: &mut [Value], how: Rewrite) -> NativeResult {
    let Value::Str(text) = std::mem::take(&mut args[0]) else {
        return Ok(Value::Nil);
    };
    let out = String::with_capacity(text.len());
    super::chunked(
        ctx,
        Rewritten {
            text,
            at: 0,
            out,
            how,
        },
    )
}

impl super::Chunked for Rewritten {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        let text = self.text.as_str();
        while self.at < text.len() {
            if ctx.fuel.is_spent() {
                return Ok(None);
            }
            let before = self.at;
            let mut end = (self.at + REWRITE_PIECE).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            match &self.how {
                Rewrite::Upper => self.out.push_str(&text[self.at..end].to_uppercase()),
                Rewrite::Lower => self.out.push_str(&text[self.at..end].to_lowercase()),
                Rewrite::Between { to } => {
                    for c in text[self.at..end].chars() {
                        self.out.push_str(to);
                        self.out.push(c);
                    }
                }
                Rewrite::Replace { from, to } => {
                    // Occurrences until a piece's worth of text is passed;
                    // each `find` scans only up to the occurrence it finds.
                    end = self.at;
                    while end - self.at < REWRITE_PIECE {
                        match text[end..].find(from.as_str()) {
                            Some(found) => {
                                self.out.push_str(&text[end..end + found]);
                                self.out.push_str(to);
                                end += found + from.len();
                            }
                            None => {
                                self.out.push_str(&text[end..]);
                                end = text.len();
                                break;
                            }
                        }
                    }
                }
            }
            self.at = end;
            ctx.charge(end - before);
        }
        if let Rewrite::Between { to } = &self.how {
            self.out.push_str(to);
        }
        Ok(Some(Value::str(std::mem::take(&mut self.out))))
    }
}

/// Whether `sub` occurs in `s`; the empty string occurs in every string.
fn contains(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
    let s = str_arg(args, 0, "string.contains?")?;
    let sub = str_arg(args, 1, "string.contains?")?;
    Ok(Value::Bool(s.contains(sub)))
}

fn starts_with(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[1]));
    let s = str_arg(args, 0, "string.starts_with?")?;
    let prefix = str_arg(args, 1, "string.starts_with?")?;
    Ok(Value::Bool(s.starts_with(prefix)))
}

fn ends_with(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[1]));
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
    // What the result takes, counted before it is built.
    let matches = if from.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(from).count()
    };
    let bytes = s
        .len()
        .saturating_sub(matches.saturating_mul(from.len()))
        .saturating_add(matches.saturating_mul(to.len()));
    ctx.admit(bytes, "string.replace")?;
    let (from, to) = (from.to_string(), to.to_string());
    let how = if from.is_empty() {
        Rewrite::Between { to }
    } else {
        Rewrite::Replace { from, to }
    };
    rewrite(ctx, args, how)
}

/// The characters of a string, each as a one-character string.
fn chars(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let s = str_arg(args, 0, "string.chars")?;
    let count = s.chars().count();
    ctx.charge(s.len());
    ctx.admit(count.saturating_mul(PIECE_BYTES), "string.chars")?;
    cut_into_pieces(ctx, args, count, Cut::Chars)
}

/// `string.slice(s, from, to)`: the characters at positions from up to to,
/// to excluded, with Python's slice rules: a negative position counts from
/// the end (-1 is the last character), positions past either end are
/// clamped to it, and from >= to gives "". So it never fails on an int.
fn slice(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    ctx.charge(super::work(&args[0]));
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
