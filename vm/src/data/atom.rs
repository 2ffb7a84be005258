//! Atoms: interned names, compared in O(1).
//!
//! Invariants: the table only grows, so an `Atom` stays valid for the life
//! of the program; the same name always interns to the same `Atom`, in every
//! VM of the process (atoms print without a VM at hand, so the table is
//! global); the atoms below are interned first, at fixed numbers.
//! Reading a name takes no lock (every scheduler prints atoms): names sit in
//! an append-only `boxcar::Vec`, and only interning a new name locks the
//! index.
//!
//! Atoms are never freed, so a name that comes from outside — a peer
//! node's term, a string a script turns into a node name — must not intern
//! without bound: those go through [`Atom::try_new`], which refuses a new
//! name once the table holds `MAX_ATOMS` (Erlang's default atom limit), and
//! [`Atom::lookup`] finds an existing atom without creating one. `Atom::new`
//! is for names the program's own code and its host hold (source literals,
//! the embedding API), which are bounded by the code.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// An interned name such as `:ok`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(pub(crate) u32);

struct Table {
    /// Names by number: appended under `index`'s lock, read without one.
    names: boxcar::Vec<&'static str>,
    index: Mutex<HashMap<&'static str, u32>>,
}

macro_rules! predefined {
    ($($konst:ident = $name:literal),* $(,)?) => {
        const PREDEFINED: &[&str] = &[$($name),*];
        #[allow(dead_code)]
        impl Atom {
            predefined!(@consts 0u32, $($konst),*);
        }
    };
    (@consts $n:expr, $konst:ident $(, $rest:ident)*) => {
        pub const $konst: Atom = Atom($n);
        predefined!(@consts $n + 1u32 $(, $rest)*);
    };
    (@consts $n:expr) => {};
}

predefined! {
    NIL = "nil", BOOL = "bool", INT = "int", FLOAT = "float", STRING = "string",
    ATOM = "atom", LIST = "list", TUPLE = "tuple", MAP = "map", FN = "fn",
    PID = "pid", CHAN = "chan", REF = "ref", FILE = "file",
    OK = "ok", ERROR = "error", NORMAL = "normal", KILLED = "killed", KILL = "kill",
    NOPROC = "noproc", DOWN = "down", EXIT = "exit", CLOSED = "closed", EMPTY = "empty",
    TIMEOUT = "timeout",
    BADARITH = "badarith", BADARG = "badarg", BADKEY = "badkey", BADARITY = "badarity",
    NOMATCH = "nomatch", UNDEF = "undef", OVERFLOW = "overflow", STACK_OVERFLOW = "stack_overflow",
    ASSERT = "assert", IO = "io", HOST = "host", SYSTEM_LIMIT = "system_limit",
    STATUS = "status", REDUCTIONS = "reductions", MAILBOX = "mailbox", MEMORY = "memory",
    RUNNING = "running", RUNNABLE = "runnable", WAITING = "waiting", NAME = "name", LINKS = "links",
    BYTES = "bytes", OPAQUE = "opaque", BIG = "big", LITTLE = "little",
    UNSAVEABLE = "unsaveable", CODE_CHANGED = "code_changed", BAD_IMAGE = "bad_image",
    MIGRATED = "migrated",
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let names = boxcar::Vec::new();
        let mut index = HashMap::new();
        for name in PREDEFINED {
            index.insert(*name, names.push(*name) as u32);
        }
        Table {
            names,
            index: Mutex::new(index),
        }
    })
}

/// The most atoms the table holds before [`Atom::try_new`] refuses new
/// names: 1,048,576, as Erlang's default `+t`.
pub const MAX_ATOMS: usize = 1 << 20;

impl Atom {
    /// The atom for `name` if it is interned already; never interns.
    pub fn lookup(name: &str) -> Option<Atom> {
        let table = table();
        let index = table.index.lock().unwrap_or_else(|e| e.into_inner());
        index.get(name).map(|&n| Atom(n))
    }

    /// The atom for `name`, interning it on first use unless the table
    /// already holds [`MAX_ATOMS`] (then `None`): for names from outside
    /// the program (the network, strings built at run time).
    pub fn try_new(name: &str) -> Option<Atom> {
        let table = table();
        let mut index = table.index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&n) = index.get(name) {
            return Some(Atom(n));
        }
        if table.names.count() >= MAX_ATOMS {
            return None;
        }
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        let n = table.names.push(name) as u32;
        index.insert(name, n);
        Some(Atom(n))
    }

    /// How many atoms are interned (in this process, every VM together).
    pub fn count() -> usize {
        table().names.count()
    }

    /// The atom for `name`, interning it on first use (the program's own
    /// names; see the module's note on names from outside).
    pub fn new(name: &str) -> Atom {
        let table = table();
        let mut index = table.index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&n) = index.get(name) {
            return Atom(n);
        }
        // Atoms live for the whole program, like the BEAM's atom table.
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        let n = table.names.push(name) as u32;
        index.insert(name, n);
        Atom(n)
    }

    /// The atom's name, without the colon.
    pub fn name(self) -> &'static str {
        table().names.get(self.0 as usize).copied().unwrap_or("?")
    }
}
