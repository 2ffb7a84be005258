//! Erlang's external term format, straight to and from Weft values
//! (LANGUAGE.md §12 gives the mapping; docs/DISTRIBUTION.md has the table).
//!
//! Invariants:
//! - Neither direction recurses on the native stack: both keep an explicit
//!   stack, so a value nested a million deep encodes on a small thread, and
//!   a term nested past `MAX_DEPTH` is refused with an error rather than
//!   decoded.
//! - The decoder never allocates more than the input could fill: a length
//!   field is trusted only as far as the bytes that remain (every element
//!   takes at least one byte), so a forged 2^32-element tuple header costs
//!   nothing.
//! - Decoding never panics on any input: every read is bounds-checked and
//!   every malformed term is a `DecodeError`.
//! - A term Weft cannot represent (a bignum, a bit string, a fun, a port,
//!   an improper list) decodes to an opaque value (`Value::Opaque`) that
//!   holds the term's bytes exactly as they came, and encodes back to
//!   them, so a reply built from it reaches its caller. A binary that is
//!   not UTF-8 is bytes.

use std::fmt::Write as _;
use std::sync::Arc;

use weft_vm::{Atom, MapItems, Opaque, Pid, RemotePid, RemoteRef, Value};

/// The version byte that starts every encoded term.
pub const VERSION: u8 = 131;

/// How deeply a decoded term may nest.
pub const MAX_DEPTH: usize = 100_000;

const NEW_FLOAT_EXT: u8 = 70;
const BIT_BINARY_EXT: u8 = 77;
const NEW_PID_EXT: u8 = 88;
const NEW_PORT_EXT: u8 = 89;
const NEWER_REFERENCE_EXT: u8 = 90;
const SMALL_INTEGER_EXT: u8 = 97;
const INTEGER_EXT: u8 = 98;
const FLOAT_EXT: u8 = 99;
const ATOM_EXT: u8 = 100;
const REFERENCE_EXT: u8 = 101;
const PORT_EXT: u8 = 102;
const PID_EXT: u8 = 103;
const SMALL_TUPLE_EXT: u8 = 104;
const LARGE_TUPLE_EXT: u8 = 105;
const NIL_EXT: u8 = 106;
const STRING_EXT: u8 = 107;
const LIST_EXT: u8 = 108;
const BINARY_EXT: u8 = 109;
const SMALL_BIG_EXT: u8 = 110;
const LARGE_BIG_EXT: u8 = 111;
const NEW_FUN_EXT: u8 = 112;
const EXPORT_EXT: u8 = 113;
const NEW_REFERENCE_EXT: u8 = 114;
const SMALL_ATOM_EXT: u8 = 115;
const MAP_EXT: u8 = 116;
const ATOM_UTF8_EXT: u8 = 118;
const SMALL_ATOM_UTF8_EXT: u8 = 119;
const V4_PORT_EXT: u8 = 120;

/// Why bytes are not a term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Truncated,
    BadVersion(u8),
    UnknownTag(u8),
    TooDeep,
    BadAtom,
    BadNode,
    /// A new atom the node may not intern: the atom table is full, or the
    /// connection has brought in its share (`NodeContext::atom`).
    AtomLimit,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("the term is cut short"),
            DecodeError::BadVersion(v) => write!(f, "expected version byte 131, got {v}"),
            DecodeError::UnknownTag(t) => write!(f, "unknown or unsupported term tag {t}"),
            DecodeError::TooDeep => write!(f, "the term nests deeper than {MAX_DEPTH} levels"),
            DecodeError::BadAtom => f.write_str("an atom is not valid text or is over 255 characters"),
            DecodeError::BadNode => f.write_str("a pid, ref or port names no node"),
            DecodeError::AtomLimit => f.write_str(
                "a new atom would pass the limit on atoms (the table's, or this connection's share)",
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// What the codec must know about this node: pids and refs of this node
/// and incarnation are local values; others are remote.
pub trait NodeContext {
    fn local_node(&self) -> Atom;
    fn creation(&self) -> u32;
    /// The number this VM prints first in a pid of `node`.
    fn index_of(&self, node: Atom) -> u32;
    /// The atom for a name in a term from the peer (an atom, or the node
    /// of a pid, ref or port). Atoms are never freed, so this is where a
    /// connection's new atoms are bounded; `None` refuses the term.
    fn atom(&self, name: &str) -> Option<Atom> {
        Atom::try_new(name)
    }
}

/// The biggest integer, in bytes, the decoder turns into decimal digits
/// (2,466 of them); a bigger one arrives as an opaque value printed
/// `<an integer of N bytes>`. Schoolbook conversion is quadratic, and a peer's 10 MB
/// bignum would cost hours of CPU.
pub const MAX_PRINTED_BIG: usize = 1024;

// ------------------------------------------------------------- encoding

/// Appends `value` as an external term, with the version byte.
pub fn encode(out: &mut Vec<u8>, value: &Value, node: &dyn NodeContext) {
    out.push(VERSION);
    encode_bare(out, value, node);
}

enum Item<'v> {
    Value(&'v Value),
    Nil,
}

/// Appends `value` without the version byte (an element of a term being
/// written by hand, such as a control message).
pub fn encode_bare(out: &mut Vec<u8>, value: &Value, node: &dyn NodeContext) {
    let mut stack = vec![Item::Value(value)];
    while let Some(item) = stack.pop() {
        let value = match item {
            Item::Nil => {
                out.push(NIL_EXT);
                continue;
            }
            Item::Value(value) => value,
        };
        match value {
            // Exactly as it came.
            Value::Opaque(opaque) => out.extend_from_slice(&opaque.encoded),
            Value::Nil => put_atom_name(out, "nil"),
            Value::Bool(b) => put_atom_name(out, if *b { "true" } else { "false" }),
            Value::Int(n) => put_int(out, *n),
            Value::Float(x) => {
                out.push(NEW_FLOAT_EXT);
                out.extend_from_slice(&x.to_bits().to_be_bytes());
            }
            Value::Atom(a) => put_atom(out, *a),
            Value::Str(s) => put_binary(out, s.as_bytes()),
            Value::Bytes(b) => put_binary(out, b),
            Value::List { .. } => {
                let items = value.as_list().unwrap_or(&[]);
                if items.is_empty() {
                    out.push(NIL_EXT);
                    continue;
                }
                out.push(LIST_EXT);
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
                stack.push(Item::Nil);
                stack.extend(items.iter().rev().map(Item::Value));
            }
            Value::Tuple(_) => {
                let items = value.as_tuple().unwrap_or(&[]);
                put_tuple_header(out, items.len());
                stack.extend(items.iter().rev().map(Item::Value));
            }
            Value::Map(_) => {
                let Some(map) = value.as_map() else { continue };
                out.push(MAP_EXT);
                out.extend_from_slice(&(map.len() as u32).to_be_bytes());
                for (k, v) in map.iter().rev() {
                    stack.push(Item::Value(v));
                    stack.push(Item::Value(k));
                }
            }
            Value::Pid(pid) => put_local_pid(out, *pid, node),
            Value::RemotePid(pid) => put_remote_pid(out, pid),
            Value::Ref(r) => put_local_ref(out, *r, node),
            Value::RemoteRef(r) => {
                put_ref_parts(out, r.node, r.creation, &r.ids);
            }
            // A function, channel or file means nothing on another node:
            // it crosses as its printed form, tagged.
            other => {
                put_tuple_header(out, 2);
                put_atom_name(out, "weft_term");
                put_binary(out, other.to_string().as_bytes());
            }
        }
    }
}

pub fn put_tuple_header(out: &mut Vec<u8>, arity: usize) {
    if arity < 256 {
        out.push(SMALL_TUPLE_EXT);
        out.push(arity as u8);
    } else {
        out.push(LARGE_TUPLE_EXT);
        out.extend_from_slice(&(arity as u32).to_be_bytes());
    }
}

pub fn put_int(out: &mut Vec<u8>, n: i64) {
    if (0..256).contains(&n) {
        out.push(SMALL_INTEGER_EXT);
        out.push(n as u8);
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&n) {
        out.push(INTEGER_EXT);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        let magnitude = n.unsigned_abs().to_le_bytes();
        let len = 8 - magnitude.iter().rev().take_while(|b| **b == 0).count();
        out.push(SMALL_BIG_EXT);
        out.push(len as u8);
        out.push((n < 0) as u8);
        out.extend_from_slice(&magnitude[..len]);
    }
}

pub fn put_atom(out: &mut Vec<u8>, atom: Atom) {
    put_atom_name(out, atom.name())
}

/// An atom by name. Erlang's atoms hold at most 255 characters; a longer
/// Weft atom crosses as a binary (there is no atom it could be).
pub fn put_atom_name(out: &mut Vec<u8>, name: &str) {
    let len = name.len();
    if len < 256 {
        out.push(SMALL_ATOM_UTF8_EXT);
        out.push(len as u8);
    } else if name.chars().count() <= 255 && len < 65536 {
        out.push(ATOM_UTF8_EXT);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        return put_binary(out, name.as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
}

fn put_binary(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(BINARY_EXT);
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

pub fn put_local_pid(out: &mut Vec<u8>, pid: Pid, node: &dyn NodeContext) {
    let (id, serial) = pid.erlang_parts();
    put_pid_parts(out, node.local_node(), id, serial, node.creation());
}

pub fn put_remote_pid(out: &mut Vec<u8>, pid: &RemotePid) {
    put_pid_parts(out, pid.node, pid.id, pid.serial, pid.creation);
}

pub fn put_pid_parts(out: &mut Vec<u8>, node: Atom, id: u32, serial: u32, creation: u32) {
    out.push(NEW_PID_EXT);
    put_atom(out, node);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&serial.to_be_bytes());
    out.extend_from_slice(&creation.to_be_bytes());
}

/// A Weft ref as an Erlang reference of this node: three words, the first
/// zero (Erlang's own local refs never have it zero with this node's
/// creation... and if one did, it would still round-trip as itself).
pub fn put_local_ref(out: &mut Vec<u8>, reference: u64, node: &dyn NodeContext) {
    let ids = [0, reference as u32, (reference >> 32) as u32];
    put_ref_parts(out, node.local_node(), node.creation(), &ids);
}

fn put_ref_parts(out: &mut Vec<u8>, node: Atom, creation: u32, ids: &[u32]) {
    out.push(NEWER_REFERENCE_EXT);
    out.extend_from_slice(&(ids.len() as u16).to_be_bytes());
    put_atom(out, node);
    out.extend_from_slice(&creation.to_be_bytes());
    for id in ids {
        out.extend_from_slice(&id.to_be_bytes());
    }
}

// ------------------------------------------------------------- decoding

/// A container being decoded: how many more values it takes, and those
/// it has.
enum Frame {
    Tuple {
        left: usize,
        items: Vec<Value>,
    },
    /// `left` counts the tail too; `start` is where the list's bytes
    /// begin (an improper list stays those bytes).
    List {
        left: usize,
        items: Vec<Value>,
        start: usize,
    },
    Map {
        left: usize,
        items: Vec<Value>,
    },
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// `input`, copied once when the first opaque term needs to keep its
    /// bytes; every opaque term of the message is a slice of it.
    shared: Option<bytes::Bytes>,
}

impl Reader<'_> {
    /// The bytes `start..pos` of the input, kept.
    fn keep(&mut self, start: usize) -> bytes::Bytes {
        let input = self.input;
        let shared = self
            .shared
            .get_or_insert_with(|| bytes::Bytes::copy_from_slice(input));
        shared.slice(start..self.pos)
    }
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let bytes = self
            .input
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn left(&self) -> usize {
        self.input.len() - self.pos
    }
    /// An atom's text (any of the four atom encodings).
    fn atom_text(&mut self) -> Result<String, DecodeError> {
        let tag = self.u8()?;
        let (len, utf8) = match tag {
            ATOM_EXT => (self.u16()? as usize, false),
            SMALL_ATOM_EXT => (self.u8()? as usize, false),
            ATOM_UTF8_EXT => (self.u16()? as usize, true),
            SMALL_ATOM_UTF8_EXT => (self.u8()? as usize, true),
            _ => return Err(DecodeError::BadNode),
        };
        let bytes = self.take(len)?;
        let text = if utf8 {
            String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::BadAtom)?
        } else {
            bytes.iter().map(|b| *b as char).collect()
        };
        // Erlang's atoms hold at most 255 characters, and an atom longer
        // than that could not go back as one (a node name in a pid above
        // all): refused, as Erlang refuses it.
        if text.chars().count() > 255 {
            return Err(DecodeError::BadAtom);
        }
        Ok(text)
    }
}

/// Decodes one term (with its version byte) from the front of `input`;
/// returns it and the bytes it took.
pub fn decode(input: &[u8], node: &dyn NodeContext) -> Result<(Value, usize), DecodeError> {
    let mut reader = Reader {
        input,
        pos: 0,
        shared: None,
    };
    let version = reader.u8()?;
    if version != VERSION {
        return Err(DecodeError::BadVersion(version));
    }
    let value = decode_bare(&mut reader, node)?;
    Ok((value, reader.pos))
}

/// Decodes one term without a version byte (an element inside a term)
/// from the front of `input`; returns it and the bytes it took.
pub fn decode_element(input: &[u8], node: &dyn NodeContext) -> Result<(Value, usize), DecodeError> {
    let mut reader = Reader {
        input,
        pos: 0,
        shared: None,
    };
    let value = decode_bare(&mut reader, node)?;
    Ok((value, reader.pos))
}

fn decode_bare(reader: &mut Reader<'_>, node: &dyn NodeContext) -> Result<Value, DecodeError> {
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        // Read one term: a scalar, or the start of a container.
        let start = reader.pos;
        let mut value = match scalar_or_open(reader, node)? {
            Opened::Value(value) => value,
            Opened::Opaque(printed) => opaque(printed, reader.keep(start)),
            Opened::Frame(frame) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
                stack.push(frame);
                continue;
            }
        };
        // Hand it to the containers it completes.
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(value);
            };
            let (left, items) = match top {
                Frame::Tuple { left, items }
                | Frame::List { left, items, .. }
                | Frame::Map { left, items } => (left, items),
            };
            items.push(value);
            *left -= 1;
            if *left > 0 {
                break;
            }
            value = match stack.pop() {
                Some(Frame::Tuple { items, .. }) => Value::tuple(items),
                Some(Frame::List {
                    mut items, start, ..
                }) => {
                    let tail = items.pop().unwrap_or_default();
                    if tail.as_list().is_some_and(|t| t.is_empty()) {
                        Value::list(items)
                    } else if let Some(rest) = tail.as_list() {
                        // A list whose tail is a list is that list, longer.
                        items.extend_from_slice(rest);
                        Value::list(items)
                    } else {
                        opaque(improper(&items, &tail), reader.keep(start))
                    }
                }
                Some(Frame::Map { items, .. }) => {
                    let mut map = MapItems::new();
                    let mut pairs = items.into_iter();
                    while let (Some(k), Some(v)) = (pairs.next(), pairs.next()) {
                        map.insert(k, v);
                    }
                    Value::map(map)
                }
                // `last_mut` just found a frame.
                None => return Err(DecodeError::Truncated),
            };
        }
    }
}

enum Opened {
    Value(Value),
    Frame(Frame),
    /// A term Weft has no value for, printed as Erlang prints it; the
    /// caller keeps its bytes.
    Opaque(String),
}

/// An opaque value: `printed`, and the term's bytes as they came.
fn opaque(printed: String, encoded: bytes::Bytes) -> Value {
    Value::Opaque(Arc::new(Opaque {
        printed: printed.into(),
        encoded,
    }))
}

/// How much of an improper list's printed form is kept: enough to see
/// what it is (a deep nest of them would otherwise print quadratically).
const MAX_PRINTED_IMPROPER: usize = 256;

/// Capacity for `n` claimed elements, each at least one byte of what is
/// left.
fn capacity(n: usize, reader: &Reader<'_>) -> usize {
    n.min(reader.left())
}

fn scalar_or_open(reader: &mut Reader<'_>, node: &dyn NodeContext) -> Result<Opened, DecodeError> {
    let tag = reader.u8()?;
    let value = match tag {
        SMALL_INTEGER_EXT => Value::Int(reader.u8()? as i64),
        INTEGER_EXT => Value::Int(reader.u32()? as i32 as i64),
        NEW_FLOAT_EXT => {
            let b = reader.take(8)?;
            let mut bits = [0u8; 8];
            bits.copy_from_slice(b);
            Value::Float(f64::from_bits(u64::from_be_bytes(bits)))
        }
        FLOAT_EXT => {
            let b = reader.take(31)?;
            let text: String = b
                .iter()
                .take_while(|c| **c != 0)
                .map(|c| *c as char)
                .collect();
            match text.trim().parse::<f64>() {
                Ok(x) => Value::Float(x),
                Err(_) => return Ok(Opened::Opaque(text)),
            }
        }
        ATOM_EXT | SMALL_ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_UTF8_EXT => {
            reader.pos -= 1;
            let text = reader.atom_text()?;
            match text.as_str() {
                "nil" => Value::Nil,
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::Atom(node.atom(&text).ok_or(DecodeError::AtomLimit)?),
            }
        }
        SMALL_BIG_EXT | LARGE_BIG_EXT => {
            let n = if tag == SMALL_BIG_EXT {
                reader.u8()? as usize
            } else {
                reader.u32()? as usize
            };
            let negative = reader.u8()? != 0;
            let digits = reader.take(n)?;
            return Ok(big_integer(digits, negative));
        }
        NIL_EXT => Value::list(Vec::new()),
        STRING_EXT => {
            // Erlang sends a list of small ints this way: it is a list.
            let len = reader.u16()? as usize;
            let bytes = reader.take(len)?;
            Value::list(bytes.iter().map(|b| Value::Int(*b as i64)).collect())
        }
        BINARY_EXT => {
            let len = reader.u32()? as usize;
            let bytes = reader.take(len)?;
            // A binary that is UTF-8 is text; any other is bytes (§12).
            match std::str::from_utf8(bytes) {
                Ok(text) => Value::str(text),
                Err(_) => Value::bytes(bytes.to_vec()),
            }
        }
        BIT_BINARY_EXT => {
            let len = reader.u32()? as usize;
            let bits = reader.u8()?;
            let bytes = reader.take(len)?;
            return Ok(Opened::Opaque(print_binary(bytes, bits)));
        }
        SMALL_TUPLE_EXT | LARGE_TUPLE_EXT => {
            let n = if tag == SMALL_TUPLE_EXT {
                reader.u8()? as usize
            } else {
                reader.u32()? as usize
            };
            if n == 0 {
                Value::tuple(Vec::new())
            } else {
                return Ok(Opened::Frame(Frame::Tuple {
                    left: n,
                    items: Vec::with_capacity(capacity(n, reader)),
                }));
            }
        }
        LIST_EXT => {
            let n = reader.u32()? as usize;
            return Ok(Opened::Frame(Frame::List {
                start: reader.pos - 5,
                left: n + 1,
                items: Vec::with_capacity(capacity(n + 1, reader)),
            }));
        }
        MAP_EXT => {
            let n = reader.u32()? as usize;
            if n == 0 {
                Value::map(MapItems::new())
            } else {
                let n = n.checked_mul(2).ok_or(DecodeError::Truncated)?;
                return Ok(Opened::Frame(Frame::Map {
                    left: n,
                    items: Vec::with_capacity(capacity(n, reader)),
                }));
            }
        }
        NEW_PID_EXT | PID_EXT => {
            let node_name = node
                .atom(&reader.atom_text()?)
                .ok_or(DecodeError::AtomLimit)?;
            let id = reader.u32()?;
            let serial = reader.u32()?;
            let creation = if tag == NEW_PID_EXT {
                reader.u32()?
            } else {
                reader.u8()? as u32
            };
            pid_value(node_name, id, serial, creation, node)
        }
        NEWER_REFERENCE_EXT | NEW_REFERENCE_EXT => {
            let len = reader.u16()? as usize;
            let node_name = node
                .atom(&reader.atom_text()?)
                .ok_or(DecodeError::AtomLimit)?;
            let creation = if tag == NEWER_REFERENCE_EXT {
                reader.u32()?
            } else {
                reader.u8()? as u32
            };
            if len > 5 {
                return Err(DecodeError::Truncated);
            }
            let mut ids = Vec::with_capacity(len);
            for _ in 0..len {
                ids.push(reader.u32()?);
            }
            ref_value(node_name, creation, ids, node)
        }
        REFERENCE_EXT => {
            let node_name = node
                .atom(&reader.atom_text()?)
                .ok_or(DecodeError::AtomLimit)?;
            let id = reader.u32()?;
            let creation = reader.u8()? as u32;
            ref_value(node_name, creation, vec![id], node)
        }
        NEW_PORT_EXT | PORT_EXT | V4_PORT_EXT => {
            let node_name = node
                .atom(&reader.atom_text()?)
                .ok_or(DecodeError::AtomLimit)?;
            let id = if tag == V4_PORT_EXT {
                let b = reader.take(8)?;
                let mut w = [0u8; 8];
                w.copy_from_slice(b);
                u64::from_be_bytes(w)
            } else {
                reader.u32()? as u64
            };
            if tag == PORT_EXT {
                reader.u8()?;
            } else {
                reader.u32()?;
            }
            return Ok(Opened::Opaque(format!(
                "#Port<{}.{id}>",
                node.index_of(node_name)
            )));
        }
        EXPORT_EXT => {
            let module = reader.atom_text()?;
            let function = reader.atom_text()?;
            let arity = match reader.u8()? {
                SMALL_INTEGER_EXT => reader.u8()? as u32,
                _ => return Err(DecodeError::UnknownTag(EXPORT_EXT)),
            };
            return Ok(Opened::Opaque(format!("fun {module}:{function}/{arity}")));
        }
        NEW_FUN_EXT => {
            let start = reader.pos;
            let size = reader.u32()? as usize;
            // Arity, Uniq, Index, NumFree, then the module's atom.
            reader.take(1 + 16 + 4 + 4)?;
            let module = reader.atom_text()?;
            let end = start.checked_add(size).ok_or(DecodeError::Truncated)?;
            if end < reader.pos || end > reader.input.len() {
                return Err(DecodeError::Truncated);
            }
            reader.pos = end;
            return Ok(Opened::Opaque(format!("#Fun<{module}>")));
        }
        other => return Err(DecodeError::UnknownTag(other)),
    };
    Ok(Opened::Value(value))
}

fn pid_value(
    node_name: Atom,
    id: u32,
    serial: u32,
    creation: u32,
    node: &dyn NodeContext,
) -> Value {
    if node_name == node.local_node() && creation == node.creation() {
        if let Some(pid) = Pid::from_erlang_parts(id, serial) {
            return Value::Pid(pid);
        }
    }
    Value::RemotePid(Arc::new(RemotePid {
        node: node_name,
        id,
        serial,
        creation,
        index: node.index_of(node_name),
    }))
}

fn ref_value(node_name: Atom, creation: u32, ids: Vec<u32>, node: &dyn NodeContext) -> Value {
    if node_name == node.local_node()
        && creation == node.creation()
        && ids.len() == 3
        && ids[0] == 0
    {
        return Value::Ref(ids[1] as u64 | (ids[2] as u64) << 32);
    }
    Value::RemoteRef(Arc::new(RemoteRef {
        node: node_name,
        creation,
        ids: ids.into_boxed_slice(),
        index: node.index_of(node_name),
    }))
}

/// An integer in Erlang's bignum form: little-endian base-256 digits.
fn big_integer(digits: &[u8], negative: bool) -> Opened {
    let significant = digits.len() - digits.iter().rev().take_while(|d| **d == 0).count();
    if significant <= 8 {
        let mut magnitude = 0u64;
        for (i, d) in digits[..significant].iter().enumerate() {
            magnitude |= (*d as u64) << (8 * i);
        }
        if negative && magnitude <= i64::MAX as u64 + 1 {
            return Opened::Value(Value::Int((magnitude as i64).wrapping_neg()));
        }
        if !negative && magnitude <= i64::MAX as u64 {
            return Opened::Value(Value::Int(magnitude as i64));
        }
    }
    if significant > MAX_PRINTED_BIG {
        let sign = if negative { "a negative" } else { "an" };
        return Opened::Opaque(format!("<{sign} integer of {significant} bytes>"));
    }
    let mut text = decimal(&digits[..significant]);
    if negative {
        text.insert(0, '-');
    }
    Opened::Opaque(text)
}

/// The decimal digits of a little-endian base-256 number (schoolbook
/// division by 10^9; quadratic, and bignums from the wire are short).
fn decimal(digits: &[u8]) -> String {
    let mut words: Vec<u32> = digits
        .chunks(4)
        .map(|c| {
            c.iter()
                .enumerate()
                .map(|(i, b)| (*b as u32) << (8 * i))
                .sum()
        })
        .collect();
    let mut parts = Vec::new();
    while words.iter().any(|w| *w != 0) {
        let mut remainder = 0u64;
        for word in words.iter_mut().rev() {
            let current = remainder << 32 | *word as u64;
            *word = (current / 1_000_000_000) as u32;
            remainder = current % 1_000_000_000;
        }
        parts.push(remainder as u32);
        while words.last() == Some(&0) {
            words.pop();
        }
    }
    let mut text = String::new();
    match parts.split_last() {
        None => text.push('0'),
        Some((first, rest)) => {
            let _ = write!(text, "{first}");
            for part in rest.iter().rev() {
                let _ = write!(text, "{part:09}");
            }
        }
    }
    text
}

/// `<<1,2,3>>`, or `<<1,2,3:5>>` when the last byte has only `bits` bits.
fn print_binary(bytes: &[u8], bits: u8) -> String {
    let mut text = String::from("<<");
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let last = i + 1 == bytes.len();
        if last && bits != 8 {
            let bits = bits.clamp(1, 8);
            let _ = write!(text, "{}:{bits}", b >> (8 - bits));
        } else {
            let _ = write!(text, "{b}");
        }
    }
    text.push_str(">>");
    text
}

/// An improper list (`[a, b | tail]`), printed.
fn improper(items: &[Value], tail: &Value) -> String {
    let mut text = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        if text.len() > MAX_PRINTED_IMPROPER {
            text.push('…');
            break;
        }
        text.push_str(&item.inspect_within(MAX_PRINTED_IMPROPER));
    }
    let _ = write!(text, " | {}]", tail.inspect_within(MAX_PRINTED_IMPROPER));
    text
}
