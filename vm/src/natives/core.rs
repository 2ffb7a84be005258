//! The global builtins of LANGUAGE.md §9: `print str inspect len type int
//! float assert format args now`.

use super::{badarg, expected, native, Ctx, Native, NativeResult, Trap, ANY};
use crate::data::atom::Atom;
use crate::data::value::Value;
use crate::data::walk;

pub(crate) const NATIVES: &[Native] = &[
    native("print", 0, ANY, print),
    native("eprint", 0, ANY, eprint),
    native("str", 1, 1, str),
    native("inspect", 1, 1, inspect),
    native("len", 1, 1, len),
    native("type", 1, 1, type_of),
    native("int", 1, 1, int),
    native("float", 1, 1, float),
    native("assert", 1, 2, assert),
    native("assert_eq", 2, 3, assert_eq),
    native("format", 1, ANY, format),
    native("args", 0, 0, args),
    native("now", 0, 0, now),
];

/// Appends the print form (`quoted`: the inspect form) of `value` to `out`,
/// or the error `:system_limit` if `out` would pass `MAX_PRINTED` bytes.
pub(crate) fn print_into(out: &mut String, value: &Value, quoted: bool) -> Result<(), Trap> {
    let room = walk::MAX_PRINTED.saturating_sub(out.len());
    walk::print(out, value, quoted, room).map_err(|_| too_long())
}

fn too_long() -> Trap {
    Trap::Error(
        Atom::SYSTEM_LIMIT,
        format!(
            "the printed form would be longer than {} bytes",
            walk::MAX_PRINTED
        ),
    )
}

// ------------------------------------------------- printing in pieces

/// A piece of what `str`, `inspect`, `format`, `print` and `eprint` write.
enum Part {
    Text(String),
    /// A value's print form (`true`: quoted, the inspect form).
    Value(Value, bool),
}

/// What a rendering makes when it is done.
#[derive(Clone, Copy)]
enum Then {
    /// The text, as a string (`str`, `inspect`, `format`).
    Str,
    /// The text, written to the output (`print`) or the error output (`eprint`).
    Output,
    Error,
}

/// Elements printed between two looks at the fuel.
const PRINT_PIECE: usize = 4096;

/// Text made of parts, printed a slice's worth at a time: `str` of a
/// million-element list prints across slices instead of stalling one.
///
/// Invariants: `out` holds parts `..next` and, while `printer` is set, the
/// beginning of part `next - 1`'s value.
struct Rendering {
    parts: Vec<Part>,
    next: usize,
    printer: Option<walk::Printer>,
    out: String,
    then: Then,
}

impl super::Chunked for Rendering {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<Value>, Trap> {
        loop {
            if let Some(printer) = &mut self.printer {
                if ctx.fuel.is_spent() {
                    return Ok(None);
                }
                let before = self.out.len();
                let done = printer.step(&mut self.out, PRINT_PIECE);
                ctx.charge(PRINT_PIECE / 4 + (self.out.len() - before) / 16);
                match done {
                    None => continue,
                    Some(Err(_)) => return Err(too_long()),
                    Some(Ok(())) => self.printer = None,
                }
            }
            let Some(part) = self.parts.get(self.next) else {
                let text = std::mem::take(&mut self.out);
                return Ok(Some(match self.then {
                    Then::Str => Value::str(text),
                    Then::Output => {
                        ctx.vm.write_output(&text);
                        Value::Nil
                    }
                    Then::Error => {
                        ctx.vm.write_error(&text);
                        Value::Nil
                    }
                }));
            };
            self.next += 1;
            match part {
                Part::Text(text) => self.out.push_str(text),
                Part::Value(value, quoted) => {
                    let before = self.out.len();
                    let room = walk::MAX_PRINTED.saturating_sub(before);
                    let printer = walk::Printer::new(&mut self.out, value, *quoted, room);
                    // A leaf (a long string) is printed whole at once.
                    ctx.charge((self.out.len() - before) / 16);
                    self.printer = Some(printer.unmeasured());
                }
            }
        }
    }
}

/// Renders `parts` across as many slices as it takes.
fn render(ctx: &mut Ctx<'_>, parts: Vec<Part>, then: Then) -> NativeResult {
    let work = Rendering {
        parts,
        next: 0,
        printer: None,
        out: String::new(),
        then,
    };
    super::chunked(ctx, work)
}

/// The parts of a `print` line: the values' plain forms, spaced, then a
/// newline.
fn line_parts(args: &mut [Value]) -> Vec<Part> {
    let mut parts = Vec::with_capacity(args.len() * 2 + 1);
    for (i, value) in args.iter_mut().enumerate() {
        if i > 0 {
            parts.push(Part::Text(" ".to_string()));
        }
        parts.push(Part::Value(std::mem::take(value), false));
    }
    parts.push(Part::Text("\n".to_string()));
    parts
}

/// The line `print` and `eprint` write: the values' plain forms, spaced,
/// with a newline; charged by its length.
fn printed_line(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<String, Trap> {
    let mut line = String::new();
    for (i, value) in args.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        print_into(&mut line, value, false)?;
    }
    line.push('\n');
    ctx.charge(line.len() / 16);
    Ok(line)
}

fn print(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if args.iter().any(walk::is_container) {
        return render(ctx, line_parts(args), Then::Output);
    }
    let line = printed_line(ctx, args)?;
    ctx.vm.write_output(&line);
    Ok(Value::Nil)
}

/// `eprint(a, b, ...)`: like `print`, to the error output (stderr).
fn eprint(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if args.iter().any(walk::is_container) {
        return render(ctx, line_parts(args), Then::Error);
    }
    let line = printed_line(ctx, args)?;
    ctx.vm.write_error(&line);
    Ok(Value::Nil)
}

fn str(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    match &args[0] {
        Value::Str(_) => Ok(std::mem::take(&mut args[0])),
        container if walk::is_container(container) => {
            let value = std::mem::take(&mut args[0]);
            render(ctx, vec![Part::Value(value, false)], Then::Str)
        }
        other => {
            let mut out = String::new();
            print_into(&mut out, other, false)?;
            ctx.charge(out.len() / 16);
            Ok(Value::str(out))
        }
    }
}

fn inspect(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if walk::is_container(&args[0]) {
        let value = std::mem::take(&mut args[0]);
        return render(ctx, vec![Part::Value(value, true)], Then::Str);
    }
    let mut out = String::new();
    print_into(&mut out, &args[0], true)?;
    ctx.charge(out.len() / 16);
    Ok(Value::str(out))
}

fn len(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let n = match &args[0] {
        Value::List { .. } => args[0].as_list().map_or(0, |l| l.len()),
        Value::Tuple(items) => items.len(),
        Value::Map(map) => map.len(),
        Value::Str(s) => s.chars().count(),
        Value::Bytes(b) => b.len(),
        other => {
            return Err(expected(
                "a list, tuple, map, string or bytes",
                "len",
                0,
                other,
            ))
        }
    };
    Ok(Value::Int(n as i64))
}

fn type_of(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    Ok(Value::Atom(args[0].type_atom()))
}

/// `int("42")` parses (surrounding spaces allowed); `int(2.7)` truncates.
fn int(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    match &args[0] {
        Value::Int(n) => Ok(Value::Int(*n)),
        Value::Float(f) => {
            if f.is_finite() && *f >= -9.223_372_036_854_776e18 && *f < 9.223_372_036_854_776e18 {
                Ok(Value::Int(f.trunc() as i64))
            } else {
                Err(badarg(format!("int can't convert {f:?} to an integer")))
            }
        }
        Value::Str(s) => s.trim().parse::<i64>().map(Value::Int).map_err(|_| {
            badarg(format!(
                "int can't parse {} as an integer",
                crate::data::ops::describe_value(&args[0])
            ))
        }),
        other => Err(expected("a number or a string", "int", 0, other)),
    }
}

fn float(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    match &args[0] {
        Value::Int(n) => Ok(Value::Float(*n as f64)),
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::Str(s) => {
            let text = s.trim();
            let plain = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
            // (The words are short: a long text is not one of them.)
            let special = text.len() <= 9
                && matches!(
                    text.to_ascii_lowercase().as_str(),
                    "inf" | "+inf" | "-inf" | "nan" | "infinity" | "-infinity"
                );
            match text.parse::<f64>() {
                Ok(f) if plain || special => Ok(Value::Float(f)),
                _ => Err(badarg(format!(
                    "float can't parse {} as a number",
                    crate::data::ops::describe_value(&args[0])
                ))),
            }
        }
        other => Err(expected("a number or a string", "float", 0, other)),
    }
}

fn assert(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if args[0].is_truthy() {
        return Ok(Value::Nil);
    }
    let message = match args.get(1) {
        Some(m) => m.to_string(),
        None => "assertion failed".to_string(),
    };
    Err(Trap::Error(Atom::ASSERT, message))
}

/// How much of each value a failed `assert_eq` shows.
const ASSERT_EQ_SHOWN: usize = 1000;

/// `assert_eq(left, right)` and `assert_eq(left, right, message)`: fails
/// with the kind `:assert` unless `left == right`, showing both values
/// (their quoted form, cut at `ASSERT_EQ_SHOWN` bytes each).
fn assert_eq(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if crate::data::walk::equal_on(&args[0], &args[1], ctx.fuel) {
        return Ok(Value::Nil);
    }
    let show = |v: &Value| crate::data::walk::print_truncated(v, true, ASSERT_EQ_SHOWN);
    let mut message = format!("left:  {}\nright: {}", show(&args[0]), show(&args[1]));
    if let Some(said) = args.get(2) {
        message = format!("{said}\n{message}");
    } else {
        message = format!("assert_eq failed\n{message}");
    }
    Err(Trap::Error(Atom::ASSERT, message))
}

/// `format("{} + {}", 1, 2)`: each `{}` takes the next argument's print
/// form; `{{` and `}}` stand for braces.
fn format(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let Value::Str(template) = &args[0] else {
        return Err(expected("a template string", "format", 0, &args[0]));
    };
    let template = template.clone();
    // The template cut into text and the arguments that fill its `{}`s.
    let mut parts = Vec::new();
    let mut text = String::with_capacity(template.len() + 16);
    let mut next = 1;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let Some(value) = args.get_mut(next) else {
                    return Err(badarg(format!(
                        "format: the template has more `{{}}` than the {} argument(s) given",
                        args.len() - 1
                    )));
                };
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Value(std::mem::take(value), false));
                next += 1;
            }
            other => text.push(other),
        }
    }
    if next < args.len() {
        return Err(badarg(format!(
            "format: {} argument(s) given but the template uses {}",
            args.len() - 1,
            next - 1
        )));
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    ctx.charge(template.len() / 16);
    render(ctx, parts, Then::Str)
}

fn args(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Ok(Value::list(
        ctx.vm
            .args()
            .iter()
            .map(|a| Value::str(a.as_str()))
            .collect(),
    ))
}

/// Monotonic milliseconds, as a float.
fn now(ctx: &mut Ctx<'_>, _: &mut [Value]) -> NativeResult {
    Ok(Value::Float(ctx.vm.now() as f64 / 1_000_000.0))
}
