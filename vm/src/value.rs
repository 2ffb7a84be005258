//! Weft values.
//!
//! Invariants:
//! - A `Value` is 16 bytes: a tag and one word (`sizes` test pins this).
//! - Data values are immutable once another reference can see them. Heap
//!   data sits behind `Arc`, so sending a message is a reference-count
//!   increment, never a deep copy; an operation may update in place only
//!   when `Arc::get_mut` proves it holds the only reference.
//! - No value can reach itself (immutability makes cycles impossible), so
//!   reference counting frees everything.
//! - A list is a window `[start..]` over a shared vector, so taking a
//!   list's tail (`[h, ..t]`) is O(1).
//! - Everything here is `Send + Sync`: no `Rc`, no `RefCell`.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

use crate::atom::Atom;
use crate::channel::Channel;
use crate::resource::Resource;

/// Weft's map: insertion-ordered.
pub type WeftMap = IndexMap<Value, Value, FxBuildHasher>;

/// A process identifier: `slot | serial << 32`. The serial number is what
/// prints (`<0.N>`); the slot finds the process in O(1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(pub(crate) u64);

impl Pid {
    pub(crate) fn new(slot: u32, serial: u32) -> Pid {
        Pid(slot as u64 | (serial as u64) << 32)
    }
    pub(crate) fn slot(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
    /// The number shown in `<0.N>`.
    pub fn serial(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<0.{}>", self.serial())
    }
}

/// What a function value runs.
#[derive(Clone, Debug)]
pub enum FnKind {
    /// A compiled Weft function (index into the VM's code) with the values
    /// it captured.
    Weft { proto: u32, captures: Box<[Value]> },
    /// Whatever is bound to a global slot when called (late binding).
    Global(u32),
}

/// A function value.
#[derive(Debug)]
pub struct Function {
    pub(crate) name: Arc<str>,
    pub(crate) arity: Option<u8>,
    pub(crate) kind: FnKind,
}

#[derive(Clone, Debug)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Atom(Atom),
    Str(Arc<String>),
    /// Elements `items[start..]`.
    List { start: u32, items: Arc<Vec<Value>> },
    Tuple(Arc<Vec<Value>>),
    Map(Arc<WeftMap>),
    Fn(Arc<Function>),
    Pid(Pid),
    Chan(Arc<Channel>),
    Ref(u64),
    Resource(Arc<Resource>),
}

impl Default for Value {
    fn default() -> Value {
        Value::Nil
    }
}

impl Value {
    pub fn nil() -> Value {
        Value::Nil
    }

    pub fn atom(name: &str) -> Value {
        Value::Atom(Atom::new(name))
    }

    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Arc::new(s.into()))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List {
            start: 0,
            items: Arc::new(items),
        }
    }

    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Arc::new(items))
    }

    pub fn map(map: WeftMap) -> Value {
        Value::Map(Arc::new(map))
    }

    /// `(:error, kind, message)`, the exit reason of a runtime error.
    pub fn error_reason(kind: Atom, message: &str) -> Value {
        Value::tuple(vec![Value::Atom(Atom::ERROR), Value::Atom(kind), Value::str(message)])
    }

    /// Holds no heap reference (dropping it does nothing).
    #[inline(always)]
    pub(crate) fn is_scalar(&self) -> bool {
        matches!(
            self,
            Value::Nil | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Atom(_) | Value::Pid(_) | Value::Ref(_)
        )
    }

    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(n) => Some(*n as f64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_atom(&self) -> Option<&'static str> {
        match self {
            Value::Atom(a) => Some(a.name()),
            _ => None,
        }
    }

    pub fn as_pid(&self) -> Option<Pid> {
        match self {
            Value::Pid(p) => Some(*p),
            _ => None,
        }
    }

    /// The elements of a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List { start, items } => Some(items.get(*start as usize..).unwrap_or(&[])),
            _ => None,
        }
    }

    /// The elements of a tuple.
    pub fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The atom `type(v)` returns.
    pub fn type_atom(&self) -> Atom {
        match self {
            Value::Nil => Atom::NIL,
            Value::Bool(_) => Atom::BOOL,
            Value::Int(_) => Atom::INT,
            Value::Float(_) => Atom::FLOAT,
            Value::Atom(_) => Atom::ATOM,
            Value::Str(_) => Atom::STRING,
            Value::List { .. } => Atom::LIST,
            Value::Tuple(_) => Atom::TUPLE,
            Value::Map(_) => Atom::MAP,
            Value::Fn(_) => Atom::FN,
            Value::Pid(_) => Atom::PID,
            Value::Chan(_) => Atom::CHAN,
            Value::Ref(_) => Atom::REF,
            Value::Resource(_) => Atom::FILE,
        }
    }

    /// The quoted form (`inspect`): strings in quotes, escaped.
    pub fn inspect(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, true);
        out
    }

    /// A list's elements as a mutable vector, copying only if shared.
    pub(crate) fn list_make_mut<'v>(items: &'v mut Arc<Vec<Value>>, start: &mut u32) -> &'v mut Vec<Value> {
        if *start > 0 {
            let tail: Vec<Value> = items[*start as usize..].to_vec();
            *items = Arc::new(tail);
            *start = 0;
        }
        Arc::make_mut(items)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Value {
        Value::Int(n as i64)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::str(s)
    }
}

impl From<Pid> for Value {
    fn from(p: Pid) -> Value {
        Value::Pid(p)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::list(items)
    }
}

/// The print form (`print`, `str`, `format`): a top-level string is raw.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            other => {
                let mut out = String::new();
                write_value(&mut out, other, true);
                f.write_str(&out)
            }
        }
    }
}

fn write_value(out: &mut String, value: &Value, quoted: bool) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(x) => {
            let _ = write!(out, "{x:?}");
        }
        Value::Atom(a) => {
            out.push(':');
            out.push_str(a.name());
        }
        Value::Str(s) => {
            if quoted {
                write_quoted(out, s);
            } else {
                out.push_str(s);
            }
        }
        Value::List { .. } => {
            out.push('[');
            for (i, item) in value.as_list().unwrap_or(&[]).iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, true);
            }
            out.push(']');
        }
        Value::Tuple(items) => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, true);
            }
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Value::Map(map) => {
            out.push_str("%{");
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, k, true);
                out.push_str(" => ");
                write_value(out, v, true);
            }
            out.push('}');
        }
        Value::Fn(function) => {
            let arity = function.arity.map_or("?".to_string(), |a| a.to_string());
            if function.name.is_empty() || &*function.name == "<fn>" {
                let _ = write!(out, "<fn/{arity}>");
            } else {
                let _ = write!(out, "<fn {}/{arity}>", function.name);
            }
        }
        Value::Pid(p) => {
            let _ = write!(out, "{p}");
        }
        Value::Chan(c) => {
            let _ = write!(out, "<chan {}>", c.id);
        }
        Value::Ref(r) => {
            let _ = write!(out, "<ref {r}>");
        }
        Value::Resource(r) => {
            let _ = write!(out, "<file {}>", r.describe());
        }
    }
}

/// A string in double quotes with `\" \\ \n \t \r \0` escaped, and other
/// control characters as `\u{..}`.
fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Structural equality; an int equals a float of the same value.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => (*a as f64) == *b && b.fract() == 0.0 && float_to_int(*b) == Some(*a),
            (Value::Atom(a), Value::Atom(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => Arc::ptr_eq(a, b) || a == b,
            (Value::List { .. }, Value::List { .. }) => self.as_list() == other.as_list(),
            (Value::Tuple(a), Value::Tuple(b)) => Arc::ptr_eq(a, b) || a == b,
            (Value::Map(a), Value::Map(b)) => {
                Arc::ptr_eq(a, b) || (a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v)))
            }
            (Value::Fn(a), Value::Fn(b)) => Arc::ptr_eq(a, b),
            (Value::Pid(a), Value::Pid(b)) => a == b,
            (Value::Chan(a), Value::Chan(b)) => Arc::ptr_eq(a, b),
            (Value::Ref(a), Value::Ref(b)) => a == b,
            (Value::Resource(a), Value::Resource(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Maps need `Eq`; NaN is the one value not equal to itself, as in Python.
impl Eq for Value {}

/// An integral float's int value, when it has one.
fn float_to_int(f: f64) -> Option<i64> {
    if f.fract() == 0.0 && f >= -9.223_372_036_854_776e18 && f < 9.223_372_036_854_776e18 {
        Some(f as i64)
    } else {
        None
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Nil => 0u8.hash(state),
            Value::Bool(b) => b.hash(state),
            // Equal numbers hash alike: 1 and 1.0 are the same map key.
            Value::Int(n) => n.hash(state),
            Value::Float(f) => match float_to_int(*f) {
                Some(n) => n.hash(state),
                None => f.to_bits().hash(state),
            },
            Value::Atom(a) => a.hash(state),
            Value::Str(s) => s.hash(state),
            Value::List { .. } => {
                4u8.hash(state);
                self.as_list().unwrap_or(&[]).hash(state);
            }
            Value::Tuple(items) => {
                5u8.hash(state);
                items.hash(state);
            }
            Value::Map(map) => {
                // Order-independent, as map equality is.
                let mut sum: u64 = 0;
                for (k, v) in map.iter() {
                    let mut h = rustc_hash::FxHasher::default();
                    k.hash(&mut h);
                    v.hash(&mut h);
                    sum = sum.wrapping_add(h.finish());
                }
                sum.hash(state);
            }
            Value::Fn(f) => (Arc::as_ptr(f) as usize).hash(state),
            Value::Pid(p) => p.hash(state),
            Value::Chan(c) => c.id.hash(state),
            Value::Ref(r) => r.hash(state),
            Value::Resource(r) => (Arc::as_ptr(r) as usize).hash(state),
        }
    }
}

/// LANGUAGE.md's ordering: numbers with numbers, strings by bytes, lists
/// and tuples lexicographically. `None` for any other pair (`:badarg`).
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::List { .. }, Value::List { .. }) => compare_seq(a.as_list()?, b.as_list()?),
        (Value::Tuple(x), Value::Tuple(y)) => compare_seq(x, y),
        _ => None,
    }
}

fn compare_seq(a: &[Value], b: &[Value]) -> Option<Ordering> {
    for (x, y) in a.iter().zip(b) {
        match compare(x, y)? {
            Ordering::Equal => continue,
            other => return Some(other),
        }
    }
    Some(a.len().cmp(&b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_forms() {
        assert_eq!(Value::Float(2.0).to_string(), "2.0");
        assert_eq!(Value::Float(1e20).to_string(), "1e20");
        assert_eq!(Value::tuple(vec![Value::Int(1)]).to_string(), "(1,)");
        assert_eq!(Value::tuple(vec![]).to_string(), "()");
        assert_eq!(Value::list(vec![Value::str("a\"b")]).to_string(), "[\"a\\\"b\"]");
        assert_eq!(Value::str("hi").to_string(), "hi");
        assert_eq!(Value::str("hi").inspect(), "\"hi\"");
    }

    #[test]
    fn int_float_equality_and_hash() {
        assert_eq!(Value::Int(1), Value::Float(1.0));
        let mut a = rustc_hash::FxHasher::default();
        let mut b = rustc_hash::FxHasher::default();
        Value::Int(1).hash(&mut a);
        Value::Float(1.0).hash(&mut b);
        assert_eq!(a.finish(), b.finish());
    }
}
