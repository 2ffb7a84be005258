//! The `io` module (LANGUAGE.md §9), present only when the host allows it.
//!
//! A file handle is a `Value::Resource`. The process that opens a file
//! records it in its `files`, and the scheduler closes (and flushes) every
//! file there when the process ends, so no write is lost if the script
//! forgets `io.close` or crashes. An OS failure is the error `:io` with the
//! OS's message; using a closed file is `:io` too; a wrong type is `:badarg`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{badarg, expected, native, str_arg, Ctx, Native, NativeResult, Trap};
use crate::data::atom::Atom;
use crate::data::resource::{Handle, Resource};
use crate::data::value::Value;

pub(crate) const NATIVES: &[Native] = &[
    native("io.open", 2, 2, open),
    native("io.write", 2, 2, write),
    native("io.read_line", 0, 1, read_line),
    native("io.close", 1, 1, close),
    native("io.read_file", 1, 1, read_file),
    native("io.read_bytes", 1, 1, read_bytes),
    native("io.write_file", 2, 2, write_file),
    native("io.lines", 1, 1, lines),
];

/// An open file: what a file's `Resource` holds.
pub(crate) struct OpenFile {
    state: Mutex<FileState>,
}

/// An open file, readable or writable.
pub(crate) enum FileState {
    Reader(BufReader<File>),
    Writer(BufWriter<File>),
    Closed,
}

impl Handle for OpenFile {
    /// Flushes what was written, then closes. Closing twice does nothing.
    fn close(&self) {
        let mut file = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let FileState::Writer(writer) = &mut *file {
            let _ = writer.flush();
        }
        *file = FileState::Closed;
    }

    fn is_closed(&self) -> bool {
        matches!(
            *self.state.lock().unwrap_or_else(|e| e.into_inner()),
            FileState::Closed
        )
    }

    fn kind(&self) -> &'static str {
        "file"
    }

    fn label(&self, name: &str) -> String {
        format!("file {name}")
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The file's state. A poisoned lock (a panic elsewhere while holding it)
/// still holds a usable state, so it is taken rather than propagated.
fn lock(file: &OpenFile) -> MutexGuard<'_, FileState> {
    file.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn os_error(path: &str, error: std::io::Error) -> Trap {
    Trap::Error(Atom::IO, format!("{path}: {error}"))
}

fn file_arg<'v>(
    args: &'v [Value],
    i: usize,
    name: &str,
) -> Result<(&'v Arc<Resource>, &'v OpenFile), Trap> {
    match &args[i] {
        Value::Resource(resource) => match resource.get::<OpenFile>() {
            Some(file) => Ok((resource, file)),
            None => Err(expected("a file", name, i, &args[i])),
        },
        other => Err(expected("a file", name, i, other)),
    }
}

fn closed(resource: &Resource) -> Trap {
    Trap::Error(Atom::IO, format!("the file {} is closed", resource.name))
}

/// `io.open(path, mode)`: `"r"` reads, `"w"` creates or truncates, `"a"`
/// creates or appends.
fn open(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let path = str_arg(args, 0, "io.open")?;
    let mode = str_arg(args, 1, "io.open")?;
    let state = match mode {
        "r" => FileState::Reader(BufReader::new(
            File::open(path).map_err(|e| os_error(path, e))?,
        )),
        "w" => FileState::Writer(BufWriter::new(
            File::create(path).map_err(|e| os_error(path, e))?,
        )),
        "a" => FileState::Writer(BufWriter::new(
            OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|e| os_error(path, e))?,
        )),
        _ => {
            return Err(badarg(format!(
                "io.open needs the mode \"r\", \"w\" or \"a\", got {}",
                args[1].inspect()
            )))
        }
    };
    let resource = Arc::new(Resource::new(
        path.to_string(),
        OpenFile {
            state: Mutex::new(state),
        },
    ));
    let files = &mut ctx.process.extra().files;
    // Closed files are dropped from the list when it is full, so a process
    // that opens and closes many files keeps it short. Growing the capacity
    // when most entries stay open keeps the pruning amortised O(1).
    if files.len() == files.capacity() && !files.is_empty() {
        files.retain(|f| !f.is_closed());
        if files.len() * 2 > files.capacity() {
            files.reserve(files.capacity());
        }
    }
    files.push(resource.clone());
    Ok(Value::Resource(resource))
}

/// `io.write(file, s)`: writes the string (buffered; flushed by `close`).
fn write(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let (resource, file) = file_arg(args, 0, "io.write")?;
    let data = text_or_bytes(args, 1, "io.write")?;
    let mut file = lock(file);
    match &mut *file {
        FileState::Writer(writer) => {
            writer
                .write_all(data)
                .map_err(|e| os_error(&resource.name, e))?;
            Ok(Value::Nil)
        }
        FileState::Reader(_) => Err(Trap::Error(
            Atom::IO,
            format!(
                "the file {} was opened for reading, not writing",
                resource.name
            ),
        )),
        FileState::Closed => Err(closed(resource)),
    }
}

/// Removes one line ending: `"\n"` or `"\r\n"`.
fn strip_line_ending(line: &mut String) {
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
}

/// `io.read_line(file)`: the next line without its ending, or nil at the
/// end of the file. A line that is not UTF-8 is `:io`. `io.read_line()`
/// reads standard input (like Python's `input()`, but nil at the end).
fn read_line(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if args.is_empty() {
        let mut line = String::new();
        let n = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| os_error("standard input", e))?;
        if n == 0 {
            return Ok(Value::Nil);
        }
        strip_line_ending(&mut line);
        return Ok(Value::str(line));
    }
    let (resource, file) = file_arg(args, 0, "io.read_line")?;
    let mut file = lock(file);
    match &mut *file {
        FileState::Reader(reader) => {
            let mut line = String::new();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| os_error(&resource.name, e))?;
            if n == 0 {
                return Ok(Value::Nil);
            }
            strip_line_ending(&mut line);
            Ok(Value::str(line))
        }
        FileState::Writer(_) => Err(Trap::Error(
            Atom::IO,
            format!(
                "the file {} was opened for writing, not reading",
                resource.name
            ),
        )),
        FileState::Closed => Err(closed(resource)),
    }
}

/// `io.close(file)`: flushes and closes; closing again does nothing.
fn close(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let (resource, _) = file_arg(args, 0, "io.close")?;
    resource.close();
    // The process no longer needs to close it when it ends.
    if let Some(extra) = ctx.process.extra.as_mut() {
        if let Some(i) = extra.files.iter().position(|f| Arc::ptr_eq(f, resource)) {
            extra.files.swap_remove(i);
        }
    }
    Ok(Value::Nil)
}

/// `io.read_file(path)`: the whole file as a string (`:io` if not UTF-8).
fn read_file(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let path = str_arg(args, 0, "io.read_file")?;
    let text = std::fs::read_to_string(path).map_err(|e| os_error(path, e))?;
    Ok(Value::str(text))
}

/// `io.read_bytes(path)`: the whole file as bytes.
fn read_bytes(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let path = str_arg(args, 0, "io.read_bytes")?;
    if let Ok(metadata) = std::fs::metadata(path) {
        ctx.admit(metadata.len() as usize, "io.read_bytes")?;
    }
    let data = std::fs::read(path).map_err(|e| os_error(path, e))?;
    Ok(Value::bytes(data))
}

/// Argument `i`: a string (written as UTF-8) or bytes (written as they are).
fn text_or_bytes<'v>(args: &'v [Value], i: usize, name: &str) -> Result<&'v [u8], Trap> {
    match &args[i] {
        Value::Str(s) => Ok(s.as_bytes()),
        Value::Bytes(b) => Ok(b.as_ref()),
        other => Err(super::expected("a string or bytes", name, i, other)),
    }
}

/// `io.write_file(path, data)`: creates or replaces the file with `data`,
/// a string or bytes.
fn write_file(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let path = str_arg(args, 0, "io.write_file")?;
    let data = text_or_bytes(args, 1, "io.write_file")?;
    std::fs::write(path, data).map_err(|e| os_error(path, e))?;
    Ok(Value::Nil)
}

/// `io.lines(path)`: the file's lines without their endings (`"\n"` or
/// `"\r\n"`); a final line ending does not make an extra empty line.
fn lines(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let path = str_arg(args, 0, "io.lines")?;
    let text = std::fs::read_to_string(path).map_err(|e| os_error(path, e))?;
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let line = match rest.find('\n') {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                // Only a "\r" right before "\n" is part of the ending, as
                // in read_line.
                line.strip_suffix('\r').unwrap_or(line)
            }
            None => std::mem::take(&mut rest),
        };
        out.push(Value::str(line));
    }
    Ok(Value::list(out))
}
