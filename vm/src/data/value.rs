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
//! - Nothing here recurses on the native stack over a value's nesting:
//!   equality, ordering, hashing and printing are the iterative walks of
//!   `walk.rs`, and dropping frees nested containers from a work list.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

use crate::data::atom::Atom;
use crate::data::channel::Channel;
use crate::data::fuel::Fuel;
use crate::data::remote::{RemotePid, RemoteRef};
use crate::data::resource::Resource;
use crate::data::walk;

/// Weft's map: insertion-ordered.
pub(crate) type WeftMap = IndexMap<Value, Value, FxBuildHasher>;

/// The elements of a list or tuple.
///
/// Dropping the last reference to deeply nested data (a list inside a list
/// a million levels down, built by `x = [x]` in a loop) would recurse once
/// per level in the default drop and overflow the native stack; this drop
/// moves nested lists, tuples, maps, closures' captures and channels'
/// queued values it owns alone onto a work list and frees them one at a
/// time instead.
#[derive(Clone, Debug, Default, PartialEq, Hash)]
pub struct Items(pub Vec<Value>);

impl std::ops::Deref for Items {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}

impl std::ops::DerefMut for Items {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.0
    }
}

// Freeing inside `Vm::run` is deferred and budgeted: a container dropped
// while the VM runs hands its elements to this thread's `DEFERRED` list
// instead of freeing them, and the VM frees a bounded number of them
// after each slice (`drain_deferred`), so a process that drops a value of
// ten million nodes — or exits holding one — cannot stall `run(budget)`.
// Outside `run` (the host dropping a value, `stop_all`) freeing is
// immediate and iterative.
//
// Freeing must keep pace with allocation, or memory grows without bound
// while a program runs (a loop that copies a shared 1,500-entry map and
// drops the old one defers 3,000 values a turn). Three rules keep it so:
// a copy is charged by its size, as walks are (`Fuel::charge`), so a slice's
// reductions measure what it built; the VM frees in proportion to the
// reductions a slice spent; and past `BACKLOG_BOUND` values waiting, the
// process that just ran pays for freeing more before it runs on
// (`Scheduler::free_after_slice`), a slice's worth at most at a time.
//
// Invariants: `DEFERRED` holds only values no one else can reach; it is
// touched only by the thread it belongs to (so a `RefCell` suffices, and
// no value is shared through it); a borrow of it never spans a drop, so
// a drop that defers more never finds it borrowed; `BACKLOG` is the number
// of values in it.
thread_local! {
    static DEFERRING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static DEFERRED: std::cell::RefCell<Vec<Vec<Value>>> = const { std::cell::RefCell::new(Vec::new()) };
    static BACKLOG: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many values may wait to be freed on a thread before the process
/// that runs pays for freeing them: 64 Ki values, 1 MiB of `Value`s plus
/// what they hold alone.
pub(crate) const BACKLOG_BOUND: usize = 1 << 16;

/// How many values wait to be freed on this thread.
#[inline(always)]
pub(crate) fn backlog() -> usize {
    BACKLOG.with(|b| b.get())
}

/// Defers freeing `values`, which is never empty.
fn defer(values: Vec<Value>) {
    BACKLOG.with(|b| b.set(b.get() + values.len()));
    DEFERRED.with(|d| d.borrow_mut().push(values));
}

/// Turns deferred freeing on or off for this thread (see `DEFERRED`);
/// returns the previous setting.
pub(crate) fn set_deferring(on: bool) -> bool {
    DEFERRING.with(|d| d.replace(on))
}

/// Frees up to `budget` deferred values; returns whether any remain.
#[inline]
pub(crate) fn drain_deferred(budget: usize) -> bool {
    // The common case, after a slice that freed no container: one look
    // (`BACKLOG` is zero exactly when `DEFERRED` is empty: only non-empty
    // vectors are deferred).
    if backlog() == 0 {
        return false;
    }
    drain_deferred_slow(budget)
}

fn drain_deferred_slow(mut budget: usize) -> bool {
    while budget > 0 {
        let Some(mut values) = DEFERRED.with(|d| d.borrow_mut().pop()) else {
            return false;
        };
        let n = values.len().min(budget);
        BACKLOG.with(|b| b.set(b.get() - values.len()));
        // A nested container this frees defers its own elements.
        values.truncate(values.len() - n);
        budget -= n;
        if !values.is_empty() {
            // A big vector gives its memory back as it drains: shrinking
            // in place returns the freed tail's pages a piece at a time,
            // where one free at the end would return them all in one slice.
            if values.capacity() >= 2 * values.len() + DEFER_WHOLE {
                values.shrink_to_fit();
            }
            defer(values);
        }
    }
    DEFERRED.with(|d| !d.borrow().is_empty())
}

/// A bytes slice this short is copied rather than shared.
pub(crate) const SMALL_SLICE: usize = 64;

/// A buffer this big is not kept alive by a slice under an eighth of it.
pub(crate) const BIG_BUFFER: usize = 64 * 1024;

/// A vector at least this long is deferred whole while the VM runs, even
/// when it holds only scalars: looking at five million elements, and
/// giving back 80 MB, is work for many slices, not one.
const DEFER_WHOLE: usize = 1 << 16;

impl Drop for Items {
    fn drop(&mut self) {
        if self.0.len() >= DEFER_WHOLE && DEFERRING.with(|d| d.get()) {
            defer(std::mem::take(&mut self.0));
            return;
        }
        if self.0.iter().all(Value::is_scalar) {
            return;
        }
        if DEFERRING.with(|d| d.get()) {
            defer(std::mem::take(&mut self.0));
            return;
        }
        let mut pending: Vec<Vec<Value>> = vec![std::mem::take(&mut self.0)];
        while let Some(mut values) = pending.pop() {
            // One at a time: take what a value uniquely owns, then drop it
            // at once. A container that appears twice (`x = [x, x]`) is
            // shared at the first drop and unique at the second, so it is
            // emptied before its last reference goes, and no drop recurses.
            for mut value in values.drain(..) {
                take_nested(&mut value, &mut pending);
                drop(value);
            }
        }
    }
}

/// A map's entries, in insertion order (the payload of `Value::Map`):
/// read with `get`, `iter`, `len`; build with `collect()` or `insert`. Dropped
/// iteratively like `Items`.
///
/// ```
/// use weft_vm::{MapItems, Value};
///
/// let scores: MapItems = [(Value::atom("ann"), Value::from(3))].into_iter().collect();
/// let value = Value::map(scores);
/// let map = value.as_map().unwrap();
/// assert_eq!(map.get(&Value::atom("ann")), Some(&Value::from(3)));
/// assert_eq!(map.len(), 1);
/// assert_eq!(value.to_string(), "%{:ann => 3}");
/// ```
#[derive(Clone, Debug, Default)]
pub struct MapItems(pub(crate) WeftMap);

impl MapItems {
    /// An empty map.
    pub fn new() -> MapItems {
        MapItems::default()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value under `key` (keys compare as `==` does: `1` and `1.0` are
    /// one key).
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn contains_key(&self, key: &Value) -> bool {
        self.0.contains_key(key)
    }

    /// Adds or replaces an entry (a replaced key keeps its position);
    /// returns the old value.
    pub fn insert(&mut self, key: Value, value: Value) -> Option<Value> {
        self.0.insert(key, value)
    }

    /// The entries in insertion order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&Value, &Value)> + ExactSizeIterator + '_ {
        self.0.iter()
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Value> + '_ {
        self.0.keys()
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> + '_ {
        self.0.values()
    }

    /// The entry at `index` in insertion order.
    pub fn get_index(&self, index: usize) -> Option<(&Value, &Value)> {
        self.0.get_index(index)
    }

    /// The entries themselves, inside the VM.
    pub(crate) fn entries_mut(&mut self) -> &mut WeftMap {
        &mut self.0
    }
}

impl FromIterator<(Value, Value)> for MapItems {
    fn from_iter<I: IntoIterator<Item = (Value, Value)>>(entries: I) -> MapItems {
        MapItems(entries.into_iter().collect())
    }
}

impl Extend<(Value, Value)> for MapItems {
    fn extend<I: IntoIterator<Item = (Value, Value)>>(&mut self, entries: I) {
        self.0.extend(entries)
    }
}

impl<'m> IntoIterator for &'m MapItems {
    type Item = (&'m Value, &'m Value);
    type IntoIter = MapIter<'m>;
    fn into_iter(self) -> MapIter<'m> {
        MapIter(self.0.iter())
    }
}

/// The entries of a [`MapItems`], in insertion order (`for (k, v) in &map`).
pub struct MapIter<'m>(indexmap::map::Iter<'m, Value, Value>);

impl<'m> Iterator for MapIter<'m> {
    type Item = (&'m Value, &'m Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for MapIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back()
    }
}

impl ExactSizeIterator for MapIter<'_> {}

impl Drop for MapItems {
    fn drop(&mut self) {
        if self.0.values().all(Value::is_scalar) && self.0.keys().all(Value::is_scalar) {
            return;
        }
        let values: Vec<Value> = self.0.drain(..).flat_map(|(k, v)| [k, v]).collect();
        drop(Items(values));
    }
}

/// A closure's captures may hold closures that capture closures, a million
/// deep (`f = fn() { g }` in a loop); they are dropped iteratively like
/// `Items`, whoever holds the outermost one.
impl Drop for Function {
    fn drop(&mut self) {
        if let FnKind::Weft { captures, .. } = &mut self.kind {
            if !captures.iter().all(Value::is_scalar) {
                drop(Items(std::mem::take(captures).into_vec()));
            }
        }
    }
}

/// Moves the contents of a container only `value` holds onto `pending`.
fn take_nested(value: &mut Value, pending: &mut Vec<Vec<Value>>) {
    match value {
        Value::List { items, .. } | Value::Tuple(items) => {
            if let Some(inner) = Arc::get_mut(items) {
                if !inner.0.is_empty() {
                    pending.push(std::mem::take(&mut inner.0));
                }
            }
        }
        Value::Map(map) => {
            if let Some(inner) = Arc::get_mut(map) {
                if !inner.is_empty() {
                    pending.push(inner.0.drain(..).flat_map(|(k, v)| [k, v]).collect());
                }
            }
        }
        Value::Fn(function) => {
            if let Some(FnKind::Weft { captures, .. }) = Arc::get_mut(function).map(|f| &mut f.kind)
            {
                if !captures.is_empty() {
                    pending.push(std::mem::take(captures).into_vec());
                }
            }
        }
        Value::Chan(channel) => {
            if let Some(channel) = Arc::get_mut(channel) {
                let held = channel.take_values();
                if !held.is_empty() {
                    pending.push(held);
                }
            }
        }
        _ => {}
    }
}

/// A process identifier: `slot | serial << 32`. The serial number is what
/// prints (`<0.N>`); the slot finds the process in O(1).
///
/// The host gets pids from [`Vm::spawn`](crate::Vm::spawn),
/// [`Vm::host_pid`](crate::Vm::host_pid) and messages
/// ([`Value::as_pid`]), and passes them to scripts as values
/// (`Value::from(pid)`).
///
/// ```
/// use weft_vm::{Value, Vm};
///
/// let mut vm = Vm::new();
/// vm.load("idle.weft", "fn idle() { receive { _ => nil } }").unwrap();
/// let pid = vm.spawn("idle", vec![]).unwrap();
/// assert_eq!(pid.to_string(), format!("<0.{}>", pid.serial()));
/// assert_eq!(Value::from(pid).as_pid(), Some(pid));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// `<0.N>`, as Weft prints a pid.
impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<0.{}>", self.serial())
    }
}

/// As `Display`: `<0.3>`, the form scripts print (the slot half of the
/// word says nothing to a reader), so `{:?}` of a struct holding pids
/// reads as the REPL shows them.
impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a function value runs.
#[derive(Clone, Debug)]
pub(crate) enum FnKind {
    /// A compiled Weft function (index into the VM's code) with the values
    /// it captured.
    Weft { proto: u32, captures: Box<[Value]> },
    /// Whatever is bound to a global slot when called (late binding).
    Global(u32),
}

/// A function value (the payload of `Value::Fn`): opaque to the host,
/// which can read its name and arity and pass it back to the VM
/// ([`Vm::spawn_value`](crate::Vm::spawn_value)).
///
/// `Value`'s payload types all have names — [`Items`], [`MapItems`],
/// `Function`, [`Channel`](crate::Channel), [`Resource`](crate::Resource)
/// — so a host can match the variants and keep what it finds:
///
/// ```
/// use weft_vm::{Value, Vm};
///
/// let mut vm = Vm::new();
/// vm.load("things.weft", "fn double(x) { x * 2 }\nfn things() { [double, %{:hp => 3}, chan()] }")?;
/// let things = vm.call("things", vec![])?;
/// for thing in things.as_list().unwrap() {
///     match thing {
///         Value::Fn(function) => assert_eq!((function.name(), function.arity()), ("double", Some(1))),
///         Value::Map(map) => assert_eq!(map.get(&Value::atom("hp")), Some(&Value::from(3))),
///         Value::Chan(channel) => assert!(channel.id() > 0),
///         _ => panic!("unexpected {thing}"), // `Value` is #[non_exhaustive]
///     }
/// }
/// # Ok::<(), weft_vm::Error>(())
/// ```
#[derive(Debug)]
pub struct Function {
    pub(crate) name: Arc<str>,
    pub(crate) arity: Option<u16>,
    pub(crate) kind: FnKind,
}

impl Function {
    /// The function's name (`"double"`, `"list.map"`, or `"<fn>"` for an
    /// anonymous one).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many arguments it takes, when that is one number.
    pub fn arity(&self) -> Option<u16> {
        self.arity
    }
}

/// A Weft value: what scripts compute with, and what the host sends to
/// processes, receives from them, and passes to and gets from functions.
///
/// Values are immutable and cheap to clone (heap data is shared behind
/// `Arc`, so a message is never deep-copied), and `Send + Sync`. Make them
/// with `From` (`i64`, `i32`, `f64`, `bool`, `&str`, `String`, [`Pid`],
/// and `Vec<Value>` for a list) and [`Value::atom`], [`Value::tuple`],
/// [`Value::list`], [`Value::str`], [`Value::nil`], [`Value::map`]; read
/// them with the `as_*` methods, which return `None` for a value of another
/// type, or by matching the variants (the enum is `#[non_exhaustive]`: a
/// `match` needs a `_` arm). [`IntoValue`](crate::IntoValue) and
/// [`FromValue`](crate::FromValue) convert whole Rust data structures
/// both ways. `Display` is the print form of LANGUAGE.md,
/// [`Value::inspect`] the quoted form, and `==` is Weft's structural
/// equality (`1 == 1.0`).
///
/// ```
/// use weft_vm::Value;
///
/// let hp = Value::tuple(vec![Value::atom("hp"), Value::from(80)]);
/// assert_eq!(format!("{hp}"), "(:hp, 80)");
/// assert_eq!(hp.as_tuple().unwrap()[0].as_atom(), Some("hp"));
/// assert_eq!(hp.as_tuple().unwrap()[1].as_int(), Some(80));
///
/// let names = Value::from(vec![Value::from("ann"), Value::from("bob")]);
/// assert_eq!(names.to_string(), r#"["ann", "bob"]"#);
/// assert_eq!(names.as_list().unwrap()[1].as_str(), Some("bob"));
///
/// assert_eq!(Value::from(1), Value::from(1.0));
/// assert_ne!(Value::from("ok"), Value::atom("ok"));
/// ```
#[non_exhaustive]
pub enum Value {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// An atom such as `:ok` (see [`Value::atom`] and [`Value::as_atom`]).
    Atom(Atom),
    /// A string (see [`Value::as_str`]).
    Str(Arc<String>),
    /// Elements `items[start..]`.
    ///
    /// A list: a window over a shared vector, so taking a tail is O(1). Read it
    /// with [`Value::as_list`].
    List { start: u32, items: Arc<Items> },
    /// A tuple (see [`Value::as_tuple`]).
    Tuple(Arc<Items>),
    /// A map, in insertion order (`%{k => v}`). The host reads one by matching
    /// this variant and iterating its entries: `for (k, v) in map.iter()`.
    Map(Arc<MapItems>),
    /// A function or closure (`<fn name/arity>`). Opaque to the host, which can
    /// pass it back: [`Vm::spawn_value`](crate::Vm::spawn_value) runs it.
    Fn(Arc<Function>),
    /// A process id (`<0.N>`).
    Pid(Pid),
    /// A channel (`chan()`); opaque to the host, which can pass it along.
    Chan(Arc<Channel>),
    /// A unique reference (`make_ref()`, `monitor(pid)`).
    Ref(u64),
    /// An open file (with `allow_io`); opaque to the host.
    Resource(Arc<Resource>),
    /// A process on another node (`<index.id.serial>`, as Erlang prints it).
    RemotePid(Arc<RemotePid>),
    /// A reference made on another node.
    RemoteRef(Arc<RemoteRef>),
    /// A term from another node that Weft has no value for, kept byte for
    /// byte (see [`Opaque`](crate::Opaque)); `type` gives `:opaque`.
    Opaque(Arc<crate::data::remote::Opaque>),
    /// Bytes (`b"..."`): an immutable sequence of 0..255 (see
    /// [`Value::as_bytes`]). Slicing shares the buffer ([`Value::bytes_slice`]).
    Bytes(Arc<bytes::Bytes>),
}

impl Clone for Value {
    /// A scalar is copied bit for bit (the interpreter clones registers on
    /// every move and message); a shared value gets one more reference.
    #[inline(always)]
    fn clone(&self) -> Value {
        if self.is_scalar() {
            // SAFETY: a scalar variant (`is_scalar`) holds no heap
            // reference and has no drop glue: its bits are the whole value,
            // as for a `Copy` type, so a bitwise copy is a valid clone.
            unsafe { std::ptr::read(self) }
        } else {
            self.clone_shared()
        }
    }
}

impl Value {
    #[inline(never)]
    fn clone_shared(&self) -> Value {
        match self {
            Value::Str(s) => Value::Str(s.clone()),
            Value::Bytes(b) => Value::Bytes(b.clone()),
            Value::List { start, items } => Value::List {
                start: *start,
                items: items.clone(),
            },
            Value::Tuple(items) => Value::Tuple(items.clone()),
            Value::Map(map) => Value::Map(map.clone()),
            Value::Fn(f) => Value::Fn(f.clone()),
            Value::Chan(c) => Value::Chan(c.clone()),
            Value::Resource(r) => Value::Resource(r.clone()),
            Value::RemotePid(p) => Value::RemotePid(p.clone()),
            Value::RemoteRef(r) => Value::RemoteRef(r.clone()),
            Value::Opaque(o) => Value::Opaque(o.clone()),
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(n) => Value::Int(*n),
            Value::Float(x) => Value::Float(*x),
            Value::Atom(a) => Value::Atom(*a),
            Value::Pid(p) => Value::Pid(*p),
            Value::Ref(r) => Value::Ref(*r),
        }
    }
}

impl Default for Value {
    /// `nil`.
    fn default() -> Value {
        Value::Nil
    }
}

impl Value {
    /// `nil`.
    pub fn nil() -> Value {
        Value::Nil
    }

    /// The atom `:name` (`Value::atom("ok")` is `:ok`). Atoms are interned in
    /// a table shared by every VM of the program that only grows, so do not
    /// make atoms from unbounded input (player names, say): use strings.
    pub fn atom(name: &str) -> Value {
        Value::Atom(Atom::new(name))
    }

    /// A string (same as `Value::from(s)`).
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Arc::new(s.into()))
    }

    /// Bytes (a `Vec<u8>`, a `&'static [u8]` or a `bytes::Bytes`).
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// let b = Value::bytes(vec![104, 105, 0]);
    /// assert_eq!(b.as_bytes(), Some(&b"hi\0"[..]));
    /// assert_eq!(b.to_string(), r#"b"hi\x00""#);
    /// ```
    pub fn bytes(b: impl Into<bytes::Bytes>) -> Value {
        Value::Bytes(Arc::new(b.into()))
    }

    /// Bytes `from..to` of this bytes value (empty if it is not one; the
    /// range must be inside it). The slice shares the buffer, except when
    /// it is small — at most `SMALL_SLICE` bytes, or under an eighth of a
    /// buffer of `BIG_BUFFER` or more — and is then copied, so a few bytes
    /// kept from a big read do not keep the whole read alive.
    pub fn bytes_slice(&self, from: usize, to: usize) -> Value {
        let Value::Bytes(whole) = self else {
            return Value::bytes(Vec::new());
        };
        let to = to.min(whole.len());
        let from = from.min(to);
        if from == 0 && to == whole.len() {
            return self.clone();
        }
        let length = to - from;
        if length <= SMALL_SLICE || (whole.len() >= BIG_BUFFER && length < whole.len() / 8) {
            Value::bytes(whole[from..to].to_vec())
        } else {
            Value::Bytes(Arc::new(whole.slice(from..to)))
        }
    }

    /// A list of these elements (same as `Value::from(items)`).
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// let xs = Value::list(vec![Value::from(1), Value::from(2.5), Value::nil()]);
    /// assert_eq!(xs.to_string(), "[1, 2.5, nil]");
    /// ```
    pub fn list(items: Vec<Value>) -> Value {
        Value::List {
            start: 0,
            items: Arc::new(Items(items)),
        }
    }

    /// A tuple of these elements.
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// assert_eq!(Value::tuple(vec![Value::atom("ok"), Value::from("done")]).to_string(), r#"(:ok, "done")"#);
    /// assert_eq!(Value::tuple(vec![Value::from(1)]).to_string(), "(1,)");
    /// assert_eq!(Value::tuple(vec![]).to_string(), "()");
    /// ```
    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Arc::new(Items(items)))
    }

    /// A map of these entries (collect pairs into a [`MapItems`]).
    pub fn map(map: MapItems) -> Value {
        Value::Map(Arc::new(map))
    }

    /// `(:error, kind, message)`, the exit reason of a runtime error.
    pub fn error_reason(kind: Atom, message: &str) -> Value {
        Value::tuple(vec![
            Value::Atom(Atom::ERROR),
            Value::Atom(kind),
            Value::str(message),
        ])
    }

    /// Holds no heap reference (dropping it does nothing).
    #[inline(always)]
    pub(crate) fn is_scalar(&self) -> bool {
        matches!(
            self,
            Value::Nil
                | Value::Bool(_)
                | Value::Int(_)
                | Value::Float(_)
                | Value::Atom(_)
                | Value::Pid(_)
                | Value::Ref(_)
        )
    }

    /// Weft truthiness: everything but `nil` and `false`.
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// The int, if this is an int (a float, even `2.0`, is `None`).
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// assert_eq!(Value::from(42).as_int(), Some(42));
    /// assert_eq!(Value::from(2.0).as_int(), None);
    /// assert_eq!(Value::from("42").as_int(), None);
    /// ```
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The number as a float, if this is a float or an int.
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// assert_eq!(Value::from(2.5).as_float(), Some(2.5));
    /// assert_eq!(Value::from(2).as_float(), Some(2.0));
    /// ```
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// The text, if this is a string (an atom is `None`: see [`Value::as_atom`]).
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// assert_eq!(Value::from("hi").as_str(), Some("hi"));
    /// assert_eq!(Value::atom("hi").as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The bytes, if this is a bytes value (a string is `None`: text and
    /// bytes convert explicitly).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b.as_ref()),
            _ => None,
        }
    }

    /// The bool, if this is `true` or `false` (for truthiness see
    /// [`Value::is_truthy`]).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The atom's name without the colon, if this is an atom.
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// assert_eq!(Value::atom("ok").as_atom(), Some("ok"));
    /// assert_eq!(Value::from("ok").as_atom(), None);
    /// ```
    pub fn as_atom(&self) -> Option<&'static str> {
        match self {
            Value::Atom(a) => Some(a.name()),
            _ => None,
        }
    }

    /// The pid, if this is a pid.
    pub fn as_pid(&self) -> Option<Pid> {
        match self {
            Value::Pid(p) => Some(*p),
            _ => None,
        }
    }

    /// The elements of a list.
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// let xs = Value::from(vec![Value::from(1), Value::from(2)]);
    /// let sum: i64 = xs.as_list().unwrap().iter().filter_map(Value::as_int).sum();
    /// assert_eq!(sum, 3);
    /// assert_eq!(Value::tuple(vec![]).as_list(), None);
    /// ```
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List { start, items } => Some(items.get(*start as usize..).unwrap_or(&[])),
            _ => None,
        }
    }

    /// The entries of a map, in insertion order.
    pub fn as_map(&self) -> Option<&MapItems> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    /// The elements of a tuple.
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// let reply = Value::tuple(vec![Value::atom("move"), Value::from(3), Value::from(4)]);
    /// match reply.as_tuple() {
    ///     Some([tag, x, y]) if tag.as_atom() == Some("move") => {
    ///         assert_eq!((x.as_int(), y.as_int()), (Some(3), Some(4)))
    ///     }
    ///     _ => panic!("unexpected reply {reply}"),
    /// }
    /// ```
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
            Value::Bytes(_) => Atom::BYTES,
            Value::List { .. } => Atom::LIST,
            Value::Tuple(_) => Atom::TUPLE,
            Value::Map(_) => Atom::MAP,
            Value::Fn(_) => Atom::FN,
            Value::Pid(_) => Atom::PID,
            Value::Chan(_) => Atom::CHAN,
            Value::Ref(_) => Atom::REF,
            Value::Resource(r) if r.kind() == "file" => Atom::FILE,
            Value::Resource(r) => Atom::new(r.kind()),
            Value::RemotePid(_) => Atom::PID,
            Value::Opaque(_) => Atom::OPAQUE,
            Value::RemoteRef(_) => Atom::REF,
        }
    }

    /// The quoted form (`inspect`): strings in quotes, escaped.
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// assert_eq!(Value::from("hi").inspect(), r#""hi""#);
    /// assert_eq!(Value::from("hi").to_string(), "hi");
    /// ```
    pub fn inspect(&self) -> String {
        walk::print_truncated(self, true, walk::MAX_PRINTED)
    }

    /// The quoted form cut short with `…` after about `max` bytes (the REPL
    /// shows results this way, so a million-element list is one line).
    ///
    /// ```
    /// use weft_vm::Value;
    ///
    /// let xs = Value::list((0..1000).map(Value::from).collect());
    /// let shown = xs.inspect_within(20);
    /// assert!(shown.starts_with("[0, 1, 2, 3") && shown.ends_with('…'));
    /// ```
    pub fn inspect_within(&self, max: usize) -> String {
        walk::print_truncated(self, true, max)
    }

    /// A list's elements as a mutable vector, copying only if shared; the
    /// copy is paid from `fuel`.
    pub(crate) fn list_make_mut<'v>(
        items: &'v mut Arc<Items>,
        start: &mut u32,
        fuel: &mut Fuel,
    ) -> &'v mut Vec<Value> {
        if *start > 0 {
            let tail: Vec<Value> = items[*start as usize..].to_vec();
            fuel.charge(tail.len());
            *items = Arc::new(Items(tail));
            *start = 0;
        } else if Arc::get_mut(items).is_none() {
            fuel.charge(items.len());
        }
        &mut Arc::make_mut(items).0
    }

    /// A map's entries to change: in place when `map` is the only
    /// reference, else a copy, paid from `fuel` by its size.
    pub(crate) fn map_make_mut<'m>(
        map: &'m mut Arc<MapItems>,
        fuel: &mut Fuel,
    ) -> &'m mut MapItems {
        if Arc::get_mut(map).is_none() {
            fuel.charge(2 * map.len());
        }
        Arc::make_mut(map)
    }
}

/// An int.
impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

/// An int.
impl From<i32> for Value {
    fn from(n: i32) -> Value {
        Value::Int(n as i64)
    }
}

/// A float.
impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

/// `true` or `false`.
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

/// A string (not an atom: see [`Value::atom`]).
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

/// A string.
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::str(s)
    }
}

/// A pid, so `vm.host_pid().into()` can be a spawn argument.
impl From<Pid> for Value {
    fn from(p: Pid) -> Value {
        Value::Pid(p)
    }
}

/// A list (not a tuple: see [`Value::tuple`]).
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::list(items)
    }
}

/// The print form (`print`, `str`, `format`): a top-level string is raw.
/// A form longer than `MAX_PRINTED` bytes is cut short with `…`.
///
/// ```
/// use weft_vm::Value;
///
/// let v = Value::tuple(vec![Value::atom("say"), Value::from("hi"), Value::from(2.0)]);
/// assert_eq!(v.to_string(), r#"(:say, "hi", 2.0)"#); // strings inside are quoted
/// assert_eq!(Value::from("hi").to_string(), "hi");   // a top-level string is raw
/// ```
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            other => f.write_str(&walk::print_truncated(other, true, walk::MAX_PRINTED)),
        }
    }
}

/// The quoted form, as `inspect` shows it (and as the REPL prints results).
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&walk::print_truncated(self, true, walk::MAX_PRINTED))
    }
}

/// Structural equality; an int equals a float of the same value.
///
/// ```
/// use weft_vm::Value;
///
/// assert_eq!(Value::from(1), Value::from(1.0));
/// assert_eq!(
///     Value::list(vec![Value::from("a"), Value::from(2)]),
///     Value::from(vec![Value::from("a"), Value::from(2.0)]),
/// );
/// assert_ne!(Value::list(vec![]), Value::tuple(vec![]));
/// ```
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        walk::equal(self, other)
    }
}

/// Maps need `Eq`; NaN is the one value not equal to itself, as in Python.
impl Eq for Value {}

/// Equal values hash alike (`1` and `1.0` too), so values can be map keys.
impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(walk::hash(self));
    }
}

/// LANGUAGE.md's ordering: numbers with numbers, strings by bytes, lists
/// and tuples lexicographically. `None` for any other pair (`:badarg`).
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    walk::order(a, b)
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
        assert_eq!(
            Value::list(vec![Value::str("a\"b")]).to_string(),
            "[\"a\\\"b\"]"
        );
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
