//! The encoding of values in images (docs/IMAGES.md, "Values"): a process
//! image's registers and mailbox, a whole VM's processes, channels and
//! timers all write their values with this one codec.
//!
//! Invariants:
//! - Neither side recurses on the native stack: both walk with an explicit
//!   work list, so a list nested a million deep costs what a flat list of a
//!   million costs.
//! - Every container (string, bytes, list, tuple, map, function, remote pid
//!   or ref, opaque term) gets the next number at its first appearance, in
//!   the order both sides walk; a container met again (the same `Arc`) is
//!   written as a back-reference to its number. So shared sub-values stay
//!   shared and an image is no bigger than the DAG it holds.
//! - The decoder trusts nothing: every count is checked against the bytes
//!   left before anything is allocated for it (each element takes at least
//!   one byte), a back-reference must name a container already finished,
//!   and anything malformed is an `Err` naming what — never a panic. Its
//!   work is linear in the image's length.
//! - What cannot travel (a channel, a socket, a file) makes encoding an
//!   `Err` naming it; the walk is in a fixed order, so it names the first.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::data::atom::Atom;
use crate::data::remote::{Opaque, RemotePid, RemoteRef};
use crate::data::value::{FnKind, Function, MapItems, Value};

#[cfg(test)]
mod tests;

const NIL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
/// An atom met before in this image: its number.
const ATOM: u8 = 5;
/// An atom met for the first time: its name (it gets the next number).
const ATOM_NEW: u8 = 6;
const STR: u8 = 7;
const BYTES: u8 = 8;
const LIST: u8 = 9;
const TUPLE: u8 = 10;
const MAP: u8 = 11;
const FUNCTION: u8 = 12;
const PID: u8 = 13;
const REF: u8 = 14;
const REMOTE_PID: u8 = 15;
const REMOTE_REF: u8 = 16;
const OPAQUE: u8 = 17;
/// A container met before: its number.
const SHARED: u8 = 18;
/// A channel (whole-VM images only): its number.
const CHANNEL: u8 = 19;

/// Where the node an image was saved on stands: its name and creation
/// (`nonode@nohost` and 0 off the network).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub node: Atom,
    pub creation: u32,
}

/// Why an image cannot be read (`(:bad_image, why)`).
pub(crate) type BadImage = String;

/// What saving another process came to: `T` is what a save gives (the
/// image; for `process.migrate`'s hold, the process as well).
pub(crate) enum SaveOutcome<T = Vec<u8>> {
    Saved(T),
    /// The first thing it holds that cannot travel.
    Unsaveable(&'static str),
    /// It runs on another core just now: try again.
    Busy,
    /// No such process.
    Dead,
}

/// Why an image was not restored.
#[derive(Debug)]
pub(crate) enum RestoreError {
    /// The image names code this VM does not hold as it was.
    CodeChanged,
    Bad(BadImage),
    /// The VM refused to start a process (its process limit).
    Refused(crate::data::ops::OpError),
}

/// How a function value's code is written: the image layer above knows
/// modules and prototypes, this layer only values.
pub(crate) trait EncodeFunction {
    /// Writes what names the function's code (not its captures, which the
    /// walk writes after it), or names why it cannot travel.
    fn function(&mut self, kind: &FnKind, out: &mut Writer) -> Result<(), &'static str>;
    /// Writes what names a channel, or names why it cannot travel (in a
    /// process image it cannot: its other holders stay behind).
    fn channel(
        &mut self,
        channel: &Arc<crate::data::channel::Channel>,
        out: &mut Writer,
    ) -> Result<(), &'static str> {
        let _ = (channel, out);
        Err("channel")
    }
}

/// A function's code, found again: a Weft prototype that needs `captures`
/// values, or a whole function value (a global, bound by name).
pub(crate) enum FoundFunction {
    Weft {
        name: Arc<str>,
        arity: u16,
        proto: u32,
        captures: usize,
    },
    Value(Value),
}

/// What the decoder asks of the layer above: functions' code, and what a
/// pid or ref of the image's VM is here (the same VM, another run, or
/// another node).
pub(crate) trait Resolve {
    fn function(&self, input: &mut Reader<'_>) -> Result<FoundFunction, BadImage>;
    fn pid(&self, raw: u64) -> Value;
    fn reference(&self, raw: u64) -> Value;
    fn remote_pid(&self, pid: RemotePid) -> Value;
    fn remote_ref(&self, reference: RemoteRef) -> Value;
    /// The channel numbered `id` in this image.
    fn channel(&self, id: u64) -> Result<Value, BadImage> {
        let _ = id;
        Err("a channel in a process image".into())
    }
}

/// An image being written.
#[derive(Default)]
pub(crate) struct Writer {
    pub out: Vec<u8>,
    /// Containers written: (address, list start) to number.
    seen: FxHashMap<(usize, u32), u32>,
    shared: u32,
    atoms: FxHashMap<Atom, u32>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn byte(&mut self, byte: u8) {
        self.out.push(byte);
    }

    /// An unsigned number, LEB128 (7 bits a byte, low first).
    pub fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    /// A signed number, zigzag then LEB128 (small magnitudes are short).
    pub fn int(&mut self, n: i64) {
        self.uint(((n << 1) ^ (n >> 63)) as u64);
    }

    /// A length, then the bytes.
    pub fn text(&mut self, bytes: &[u8]) {
        self.uint(bytes.len() as u64);
        self.out.extend_from_slice(bytes);
    }

    pub fn atom(&mut self, atom: Atom) {
        match self.atoms.get(&atom) {
            Some(&n) => {
                self.byte(ATOM);
                self.uint(n as u64);
            }
            None => {
                let n = self.atoms.len() as u32;
                self.atoms.insert(atom, n);
                self.byte(ATOM_NEW);
                self.text(atom.name().as_bytes());
            }
        }
    }

    /// Writes a back-reference if the container at `key` was written
    /// before; otherwise numbers it and returns false.
    fn shared_before(&mut self, key: (usize, u32)) -> bool {
        if let Some(&n) = self.seen.get(&key) {
            self.byte(SHARED);
            self.uint(n as u64);
            return true;
        }
        self.seen.insert(key, self.shared);
        self.shared += 1;
        false
    }

    /// Writes one value (and everything it holds), or names the first thing
    /// in it that cannot travel.
    pub fn value(
        &mut self,
        value: &Value,
        functions: &mut dyn EncodeFunction,
    ) -> Result<(), &'static str> {
        let mut pending: Vec<&Value> = vec![value];
        while let Some(value) = pending.pop() {
            match value {
                Value::Nil => self.byte(NIL),
                Value::Bool(false) => self.byte(FALSE),
                Value::Bool(true) => self.byte(TRUE),
                Value::Int(n) => {
                    self.byte(INT);
                    self.int(*n);
                }
                Value::Float(f) => {
                    self.byte(FLOAT);
                    self.out.extend_from_slice(&f.to_bits().to_le_bytes());
                }
                Value::Atom(atom) => self.atom(*atom),
                Value::Ref(n) => {
                    self.byte(REF);
                    self.uint(*n);
                }
                Value::Pid(pid) => {
                    self.byte(PID);
                    self.uint(pid.0);
                }
                Value::Str(s) => {
                    if !self.shared_before((Arc::as_ptr(s) as usize, 0)) {
                        self.byte(STR);
                        self.text(s.as_bytes());
                    }
                }
                Value::Bytes(b) => {
                    if !self.shared_before((Arc::as_ptr(b) as usize, 0)) {
                        self.byte(BYTES);
                        self.text(b);
                    }
                }
                Value::List { start, items } => {
                    if !self.shared_before((Arc::as_ptr(items) as usize, *start)) {
                        let elements = &items[*start as usize..];
                        self.byte(LIST);
                        self.uint(elements.len() as u64);
                        pending.extend(elements.iter().rev());
                    }
                }
                Value::Tuple(items) => {
                    if !self.shared_before((Arc::as_ptr(items) as usize, 0)) {
                        self.byte(TUPLE);
                        self.uint(items.len() as u64);
                        pending.extend(items.iter().rev());
                    }
                }
                Value::Map(map) => {
                    if !self.shared_before((Arc::as_ptr(map) as usize, 0)) {
                        self.byte(MAP);
                        self.uint(map.len() as u64);
                        for (key, value) in map.iter().rev() {
                            pending.push(value);
                            pending.push(key);
                        }
                    }
                }
                Value::Fn(function) => {
                    if !self.shared_before((Arc::as_ptr(function) as usize, 0)) {
                        self.byte(FUNCTION);
                        functions.function(&function.kind, self)?;
                        let captures: &[Value] = match &function.kind {
                            FnKind::Weft { captures, .. } => captures,
                            FnKind::Global(_) => &[],
                        };
                        self.uint(captures.len() as u64);
                        pending.extend(captures.iter().rev());
                    }
                }
                Value::RemotePid(pid) => {
                    if !self.shared_before((Arc::as_ptr(pid) as usize, 0)) {
                        self.byte(REMOTE_PID);
                        self.atom(pid.node);
                        self.uint(pid.id as u64);
                        self.uint(pid.serial as u64);
                        self.uint(pid.creation as u64);
                    }
                }
                Value::RemoteRef(reference) => {
                    if !self.shared_before((Arc::as_ptr(reference) as usize, 0)) {
                        self.byte(REMOTE_REF);
                        self.atom(reference.node);
                        self.uint(reference.creation as u64);
                        self.uint(reference.ids.len() as u64);
                        for id in reference.ids.iter() {
                            self.uint(*id as u64);
                        }
                    }
                }
                Value::Opaque(opaque) => {
                    if !self.shared_before((Arc::as_ptr(opaque) as usize, 0)) {
                        self.byte(OPAQUE);
                        self.text(opaque.printed.as_bytes());
                        self.text(&opaque.encoded);
                    }
                }
                Value::Chan(channel) => {
                    self.byte(CHANNEL);
                    functions.channel(channel, self)?;
                }
                Value::Resource(resource) => return Err(resource.kind()),
            }
        }
        Ok(())
    }
}

/// A container being rebuilt while its elements are read: its number,
/// what it becomes, the elements so far and how many are still to come.
struct Building {
    number: usize,
    kind: Kind,
    items: Vec<Value>,
    left: usize,
}

/// What a container being read becomes.
enum Kind {
    List,
    Tuple,
    /// Its elements are keys and values, alternately.
    Map,
    /// A closure of this prototype; its elements are the captures.
    Closure {
        name: Arc<str>,
        arity: u16,
        proto: u32,
    },
}

/// An image being read.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    at: usize,
    /// Containers by number; `None` while one is still being read.
    shared: Vec<Option<Value>>,
    atoms: Vec<Atom>,
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Reader<'a> {
        Reader {
            input,
            at: 0,
            shared: Vec::new(),
            atoms: Vec::new(),
        }
    }

    /// Bytes not read yet.
    pub fn left(&self) -> usize {
        self.input.len() - self.at
    }

    fn truncated(&self) -> BadImage {
        format!("the image ends early (at byte {})", self.at)
    }

    pub fn byte(&mut self) -> Result<u8, BadImage> {
        let byte = *self.input.get(self.at).ok_or_else(|| self.truncated())?;
        self.at += 1;
        Ok(byte)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], BadImage> {
        if n > self.left() {
            return Err(self.truncated());
        }
        let bytes = &self.input[self.at..self.at + n];
        self.at += n;
        Ok(bytes)
    }

    pub fn uint(&mut self) -> Result<u64, BadImage> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = (byte & 0x7f) as u64;
            if shift == 63 && bits > 1 {
                break;
            }
            n |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(format!("a number too big at byte {}", self.at))
    }

    pub fn int(&mut self) -> Result<i64, BadImage> {
        let n = self.uint()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    pub fn u32(&mut self) -> Result<u32, BadImage> {
        let n = self.uint()?;
        u32::try_from(n).map_err(|_| format!("{n} is out of range at byte {}", self.at))
    }

    /// A count of things that take at least `each` bytes apiece: more than
    /// the bytes left could hold is an error before anything is allocated.
    pub fn count(&mut self, each: usize) -> Result<usize, BadImage> {
        let n = self.uint()?;
        if n > (self.left() / each.max(1)) as u64 {
            return Err(format!(
                "a count of {n} at byte {} is more than the image holds",
                self.at
            ));
        }
        Ok(n as usize)
    }

    pub fn text(&mut self) -> Result<&'a [u8], BadImage> {
        let n = self.count(1)?;
        self.bytes(n)
    }

    pub fn string(&mut self) -> Result<&'a str, BadImage> {
        let at = self.at;
        std::str::from_utf8(self.text()?).map_err(|_| format!("text at byte {at} is not UTF-8"))
    }

    fn atom_named(&mut self, tag: u8) -> Result<Atom, BadImage> {
        if tag == ATOM {
            let n = self.uint()?;
            return self
                .atoms
                .get(n as usize)
                .copied()
                .ok_or_else(|| format!("atom {n} at byte {} was never named", self.at));
        }
        let name = self.string()?;
        let atom = Atom::try_new(name).ok_or_else(|| "too many atoms".to_string())?;
        self.atoms.push(atom);
        Ok(atom)
    }

    pub fn atom(&mut self) -> Result<Atom, BadImage> {
        match self.byte()? {
            tag @ (ATOM | ATOM_NEW) => self.atom_named(tag),
            tag => Err(format!(
                "expected an atom at byte {}, found tag {tag}",
                self.at - 1
            )),
        }
    }

    /// Numbers a container about to be read.
    fn reserve(&mut self) -> usize {
        self.shared.push(None);
        self.shared.len() - 1
    }

    /// Reads one value (and everything it holds).
    pub fn value(&mut self, resolve: &dyn Resolve) -> Result<Value, BadImage> {
        let mut building: Vec<Building> = Vec::new();
        // A container that is not empty yet: read on, into its elements.
        macro_rules! or_read_on {
            ($value:expr) => {
                match $value {
                    Some(value) => value,
                    None => continue,
                }
            };
        }
        loop {
            let at = self.at;
            let mut done = match self.byte()? {
                NIL => Value::Nil,
                FALSE => Value::Bool(false),
                TRUE => Value::Bool(true),
                INT => Value::Int(self.int()?),
                FLOAT => {
                    let bits = self.bytes(8)?;
                    let mut word = [0u8; 8];
                    word.copy_from_slice(bits);
                    Value::Float(f64::from_bits(u64::from_le_bytes(word)))
                }
                tag @ (ATOM | ATOM_NEW) => Value::Atom(self.atom_named(tag)?),
                REF => resolve.reference(self.uint()?),
                CHANNEL => resolve.channel(self.uint()?)?,
                PID => resolve.pid(self.uint()?),
                STR => {
                    let number = self.reserve();
                    let text = self.string()?;
                    self.finish(number, Value::str(text))
                }
                BYTES => {
                    let number = self.reserve();
                    let bytes = self.text()?;
                    self.finish(number, Value::bytes(bytes.to_vec()))
                }
                REMOTE_PID => {
                    let number = self.reserve();
                    let node = self.atom()?;
                    let (id, serial, creation) = (self.u32()?, self.u32()?, self.u32()?);
                    let pid = resolve.remote_pid(RemotePid {
                        node,
                        id,
                        serial,
                        creation,
                        index: 0,
                    });
                    self.finish(number, pid)
                }
                REMOTE_REF => {
                    let number = self.reserve();
                    let node = self.atom()?;
                    let creation = self.u32()?;
                    let n = self.count(1)?;
                    if n > 5 {
                        return Err(format!("a reference of {n} words at byte {at}"));
                    }
                    let ids = (0..n)
                        .map(|_| self.u32())
                        .collect::<Result<Box<[u32]>, _>>()?;
                    let reference = resolve.remote_ref(RemoteRef {
                        node,
                        creation,
                        ids,
                        index: 0,
                    });
                    self.finish(number, reference)
                }
                OPAQUE => {
                    let number = self.reserve();
                    let printed = self.string()?.into();
                    let encoded = bytes::Bytes::copy_from_slice(self.text()?);
                    self.finish(number, Value::Opaque(Arc::new(Opaque { printed, encoded })))
                }
                SHARED => {
                    let n = self.uint()?;
                    match self.shared.get(n as usize) {
                        Some(Some(value)) => value.clone(),
                        Some(None) => return Err(format!("a value holds itself (byte {at})")),
                        None => return Err(format!("value {n} at byte {at} was never written")),
                    }
                }
                LIST => or_read_on!(self.open(&mut building, Kind::List, 1)?),
                TUPLE => or_read_on!(self.open(&mut building, Kind::Tuple, 1)?),
                MAP => or_read_on!(self.open(&mut building, Kind::Map, 2)?),
                FUNCTION => {
                    let number = self.reserve();
                    let found = resolve.function(self)?;
                    let left = self.count(1)?;
                    match found {
                        FoundFunction::Value(value) if left == 0 => self.finish(number, value),
                        FoundFunction::Value(_) => {
                            return Err(format!("a global function with captures (byte {at})"));
                        }
                        FoundFunction::Weft {
                            name,
                            arity,
                            proto,
                            captures,
                        } => {
                            if left != captures {
                                return Err(format!(
                                    "a closure of {name} with {left} captures, not {captures} (byte {at})"
                                ));
                            }
                            let kind = Kind::Closure { name, arity, proto };
                            or_read_on!(self.started(&mut building, number, kind, left))
                        }
                    }
                }
                tag => return Err(format!("unknown value tag {tag} at byte {at}")),
            };
            // Hand the finished value up through the containers it completes.
            loop {
                let Some(top) = building.last_mut() else {
                    return Ok(done);
                };
                top.items.push(done);
                top.left -= 1;
                match self.complete(&mut building) {
                    Some(value) => done = value,
                    None => break,
                }
            }
        }
    }

    /// Starts reading a list, tuple or map of a count of elements (`per`
    /// to an entry): its value if it is empty, else `None`, to read them.
    fn open(
        &mut self,
        building: &mut Vec<Building>,
        kind: Kind,
        per: usize,
    ) -> Result<Option<Value>, BadImage> {
        let number = self.reserve();
        let left = per * self.count(per)?;
        Ok(self.started(building, number, kind, left))
    }

    /// A container numbered `number` with `left` elements to come: its
    /// value at once if it has none.
    fn started(
        &mut self,
        building: &mut Vec<Building>,
        number: usize,
        kind: Kind,
        left: usize,
    ) -> Option<Value> {
        building.push(Building {
            number,
            kind,
            items: Vec::with_capacity(left),
            left,
        });
        self.complete(building)
    }

    /// If the innermost container has all its elements, takes it off and
    /// returns its value.
    fn complete(&mut self, building: &mut Vec<Building>) -> Option<Value> {
        if building.last()?.left > 0 {
            return None;
        }
        let Building {
            number,
            kind,
            items,
            ..
        } = building.pop()?;
        let value = match kind {
            Kind::List => Value::list(items),
            Kind::Tuple => Value::tuple(items),
            Kind::Map => {
                let mut map = MapItems::new();
                let mut entries = items.into_iter();
                while let (Some(key), Some(value)) = (entries.next(), entries.next()) {
                    map.insert(key, value);
                }
                Value::map(map)
            }
            Kind::Closure { name, arity, proto } => Value::Fn(Arc::new(Function {
                name,
                arity: Some(arity),
                kind: FnKind::Weft {
                    proto,
                    captures: items.into(),
                },
            })),
        };
        Some(self.finish(number, value))
    }

    fn finish(&mut self, number: usize, value: Value) -> Value {
        self.shared[number] = Some(value.clone());
        value
    }
}
