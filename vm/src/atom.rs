//! Atoms: interned names, compared in O(1).
//!
//! Invariants: the table only grows, so an `Atom` stays valid for the life
//! of the program; the same name always interns to the same `Atom`, in every
//! VM of the process (atoms print without a VM at hand, so the table is
//! global); the atoms below are interned first, at fixed numbers.
//! Reading a name takes no lock (every scheduler prints atoms): names sit in
//! an append-only `boxcar::Vec`, and only interning a new name locks the
//! index.

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

impl Atom {
    /// The atom for `name`, interning it on first use.
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
