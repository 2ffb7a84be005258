//! Pids and refs of processes on other nodes (LANGUAGE.md §12): values a
//! script holds and compares, whatever the distribution does with them.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::data::atom::Atom;
use crate::data::value::Value;

/// A process on another node: Erlang's pid, `<index.id.serial>`.
///
/// `index` is this VM's number for the node (as Erlang's printed first
/// part), so it takes no part in equality; `node`, `id`, `serial` and
/// `creation` are the pid.
#[derive(Clone, Debug)]
pub struct RemotePid {
    pub node: Atom,
    pub id: u32,
    pub serial: u32,
    pub creation: u32,
    pub index: u32,
}

impl PartialEq for RemotePid {
    fn eq(&self, other: &RemotePid) -> bool {
        (self.node, self.id, self.serial, self.creation)
            == (other.node, other.id, other.serial, other.creation)
    }
}

impl Eq for RemotePid {}

impl Hash for RemotePid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.node, self.id, self.serial, self.creation).hash(state)
    }
}

/// `<index.id.serial>`, as Erlang prints a pid of another node.
impl fmt::Display for RemotePid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}.{}>", self.index, self.id, self.serial)
    }
}

/// A reference made on another node (or an Erlang reference of a shape
/// Weft's own refs never have).
#[derive(Clone, Debug)]
pub struct RemoteRef {
    pub node: Atom,
    pub creation: u32,
    pub ids: Box<[u32]>,
    pub index: u32,
}

impl PartialEq for RemoteRef {
    fn eq(&self, other: &RemoteRef) -> bool {
        (self.node, self.creation, &self.ids) == (other.node, other.creation, &other.ids)
    }
}

impl Eq for RemoteRef {}

impl Hash for RemoteRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.node, self.creation, &self.ids).hash(state)
    }
}

/// `<ref index.a.b.c>`: Weft's ref form with Erlang's numbers.
impl fmt::Display for RemoteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<ref {}", self.index)?;
        for id in self.ids.iter().rev() {
            write!(f, ".{id}")?;
        }
        f.write_str(">")
    }
}

/// The text of an atom or string naming a node (`"a@host"` or
/// `:"a@host"`). Not interned: a name only becomes an atom when a
/// connection to that node is up (an authenticated peer).
pub(crate) fn node_name(value: &Value) -> Option<&str> {
    match value {
        Value::Str(name) => Some(name.as_str()),
        Value::Atom(name) => Some(name.name()),
        _ => None,
    }
}

/// A term from another node that Weft has no value for — a bignum, an
/// improper list (`[alias | Ref]`), a fun, a port, a bit string — kept as
/// it came so a reply built from it reaches its caller (LANGUAGE.md §12).
///
/// Invariants: `encoded` is exactly the bytes the peer sent for the term
/// (Erlang's external term format, without the version byte), and is what
/// goes back; two opaque values are equal when their encodings are;
/// `printed` is how Erlang prints the term, for `print` and `inspect`.
#[derive(Clone, Debug)]
pub struct Opaque {
    pub printed: Box<str>,
    /// A slice of the message it came in (shared, not copied: a term
    /// nested in another opaque term costs no second copy).
    pub encoded: bytes::Bytes,
}

impl PartialEq for Opaque {
    fn eq(&self, other: &Opaque) -> bool {
        self.encoded == other.encoded
    }
}

impl Eq for Opaque {}
