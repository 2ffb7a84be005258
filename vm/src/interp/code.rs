//! Loaded code: every function the VM can run, and the global table that
//! binds names to them.
//!
//! Invariants:
//! - Prototypes are only ever appended; a prototype index stays valid for
//!   the life of the VM, so a frame or closure can hold one while newer code
//!   replaces the function under the same name (hot reload).
//! - A global slot is never removed; redefining a name rebinds its slot, and
//!   every call through the slot sees the new binding on its next call.
//! - After `load`, every `CallGlobal`/`TailCallGlobal`/`FnRef` operand is a
//!   slot index of this table, and every `Closure` operand a prototype index.
//! - Only verified code is loaded (`weft_compiler::verify_module`): the
//!   interpreter may then trust every register, jump and index operand. A
//!   module that fails is an `Err` and nothing of it is loaded.

use std::sync::Arc;

use weft_compiler::bytecode::{
    Constant, GlobalIndex, Instr, Module, OperandVisitor, ProtoIndex, SelectTable,
};
use weft_compiler::{verify_module, SourceFile, Span, VerifyError};

use crate::data::atom::Atom;
use crate::data::value::Value;
use crate::process::ctx::Native;

/// A raw host function ([`Vm::register_fn`](crate::Vm::register_fn)):
/// called with the arguments, returns a value or an error message (which
/// becomes an `(:error, :host, message)` runtime error).
pub type HostFn = dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync;

pub(crate) struct LoadedProto {
    pub name: Arc<str>,
    pub arity: u16,
    pub captures: u16,
    pub self_slot: bool,
    pub registers: u16,
    pub code: Box<[Instr]>,
    pub spans: Box<[Span]>,
    pub constants: Box<[Value]>,
    pub selects: Box<[SelectTable]>,
    /// Index into `Code::sources`.
    pub source: u32,
    /// The module it belongs to (an index into `Code::modules`); with the
    /// module's `first` prototype this gives the prototype's stable identity,
    /// its index in its module (the VM-wide index depends on what was
    /// loaded before). Process images name code this way.
    pub module: u32,
}

/// A loaded module, as process images name it: its name and the hash of
/// its verified bytecode (`Module::content_hash`), and where its
/// prototypes sit among the VM's.
pub(crate) struct LoadedModule {
    pub name: Arc<str>,
    pub hash: u64,
    /// The VM-wide index of its first prototype.
    pub first: u32,
    /// How many prototypes it has.
    pub count: u32,
}

#[derive(Clone)]
pub(crate) enum Global {
    Undefined,
    Weft(u32),
    Native(Native),
    Host {
        function: Arc<crate::process::ctx::HostCall>,
        arity: Option<u16>,
    },
}

#[derive(Default)]
pub(crate) struct Code {
    /// Trampolines that let a process start with (or a native call) a
    /// function that is not Weft code: `Call r0 argc; Return r0`, one per
    /// argument count.
    pub trampolines: Vec<u32>,
    pub protos: Vec<LoadedProto>,
    /// Every module loaded, in load order (a name loaded twice — a REPL's
    /// entries, a reloaded file — appears twice; the newest is last).
    pub modules: Vec<LoadedModule>,
    pub globals: Vec<Global>,
    pub global_names: Vec<Arc<str>>,
    pub global_index: rustc_hash::FxHashMap<String, u32>,
    pub sources: Vec<Arc<SourceFile>>,
    /// Imports of code loaded as `main` (REPL entries, host loads): later
    /// compiles may keep using these aliases.
    pub main_imports: std::collections::BTreeMap<String, (String, Vec<String>)>,
    /// The qualified names a compile may call (see `environment`): built
    /// on first use, then kept up to date as names are defined, so compiles
    /// share one set instead of each sorting its own.
    names: std::sync::Mutex<Option<Arc<std::collections::BTreeSet<String>>>>,
    /// Module constants (`math.pi`): names a compile may use that are not
    /// globals.
    constant_names: Vec<String>,
    /// Library modules written in Weft (`weft_stdlib::MODULES`) not loaded
    /// yet: their functions' names are visible to compiles, and a module is
    /// compiled and loaded just before the first code that calls it
    /// (`Vm::load_library_for`), so a VM that never uses it never pays for
    /// compiling it.
    pub lazy: Vec<(&'static str, &'static str)>,
}

impl Code {
    /// The newest loaded module named `name` (paths of imported files
    /// aside: `portable_name`) whose bytecode hashes to `hash`; `Err(true)` when modules of that name are loaded but none
    /// with that hash (the code changed), `Err(false)` when none is.
    pub fn module_with(&self, name: &str, hash: u64) -> Result<&LoadedModule, bool> {
        let mut named = false;
        let name = weft_compiler::bytecode::portable_name(name);
        for module in self.modules.iter().rev() {
            if weft_compiler::bytecode::portable_name(&module.name) == name {
                if module.hash == hash {
                    return Ok(module);
                }
                named = true;
            }
        }
        Err(named)
    }

    /// The slot for a qualified name, created unbound if new.
    pub fn slot(&mut self, name: &str) -> u32 {
        if let Some(&slot) = self.global_index.get(name) {
            return slot;
        }
        let slot = self.globals.len() as u32;
        self.globals.push(Global::Undefined);
        self.global_names.push(name.into());
        self.global_index.insert(name.to_string(), slot);
        slot
    }

    pub fn define(&mut self, name: &str, global: Global) {
        let slot = self.slot(name);
        if !matches!(global, Global::Undefined) {
            self.add_name(name);
        }
        self.globals[slot as usize] = global;
    }

    /// Makes `name` (a defined global, or a module constant such as
    /// `math.pi`) visible to later compiles.
    pub fn add_name(&mut self, name: &str) {
        if !visible(name) {
            return;
        }
        let names = self.names.get_mut().unwrap_or_else(|e| e.into_inner());
        match names {
            Some(names) if !names.contains(name) => {
                Arc::make_mut(names).insert(name.to_string());
            }
            Some(_) => {}
            None => {
                if !self.global_index.contains_key(name) {
                    self.constant_names.push(name.to_string());
                }
            }
        }
    }

    /// The qualified names of everything defined (and the module
    /// constants), for the compiler's name resolution: shared, not copied.
    pub fn environment(&self) -> Arc<std::collections::BTreeSet<String>> {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if names.is_none() {
            let defined = self
                .global_index
                .iter()
                .filter(|(name, slot)| {
                    !matches!(self.globals[**slot as usize], Global::Undefined) && visible(name)
                })
                .map(|(name, _)| name.clone());
            *names = Some(Arc::new(
                defined.chain(self.constant_names.iter().cloned()).collect(),
            ));
        }
        names.clone().unwrap_or_default()
    }

    /// Verifies and loads compiled modules (dependencies first). Returns the
    /// prototype index of the last module's top-level code. If any module
    /// fails verification, or the VM's tables would outgrow their operands,
    /// nothing is loaded.
    pub fn load(&mut self, modules: Vec<Module>) -> Result<u32, VerifyError> {
        let mut protos = self.protos.len() as u64;
        let mut new_globals: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for module in &modules {
            verify_module(module)?;
            protos += module.protos.len() as u64;
            new_globals.extend(
                module
                    .globals
                    .iter()
                    .map(String::as_str)
                    .filter(|g| !self.global_index.contains_key(*g)),
            );
            let too_many = if protos > ProtoIndex::MAX as u64 {
                Some("functions")
            } else if (self.globals.len() + new_globals.len()) as u64 > GlobalIndex::MAX as u64 {
                Some("global names")
            } else {
                None
            };
            if let Some(what) = too_many {
                return Err(VerifyError {
                    module: module.name.clone(),
                    proto: None,
                    pc: None,
                    message: format!("the VM would hold too many {what}"),
                });
            }
        }
        let mut entry = 0;
        for module in modules {
            if module.name == "main" {
                for (alias, name, functions) in &module.imports {
                    self.main_imports
                        .insert(alias.clone(), (name.clone(), functions.clone()));
                }
            }
            let source = self.sources.len() as u32;
            self.sources.push(module.source.clone());
            let offset = self.protos.len() as u32;
            let links: Vec<u32> = module.globals.iter().map(|g| self.slot(g)).collect();
            // A library or imported module's functions show their module
            // (`<fn list.map/2>`, `geometry.area` in a call stack).
            let prefix = match module.name.split('@').next() {
                Some("main") | None => String::new(),
                Some(base) => format!("{base}."),
            };
            let top_level: std::collections::HashSet<u32> =
                module.functions.iter().map(|(_, i)| *i).collect();
            let module_index = self.modules.len() as u32;
            self.modules.push(LoadedModule {
                name: Arc::from(module.name.as_str()),
                hash: module.content_hash(),
                first: offset,
                count: module.protos.len() as u32,
            });
            for (index, proto) in module.protos.into_iter().enumerate() {
                let constants = proto.constants.iter().map(constant_value).collect();
                let mut relink = Relink {
                    offset,
                    links: &links,
                };
                let code = proto
                    .code
                    .iter()
                    .map(|instr| {
                        let mut instr = *instr;
                        instr.visit(&mut relink);
                        instr
                    })
                    .collect();
                let name = if proto.name.is_empty() {
                    Arc::from("<fn>")
                } else if top_level.contains(&(index as u32)) {
                    Arc::from(format!("{prefix}{}", proto.name))
                } else {
                    Arc::from(proto.name.as_str())
                };
                self.protos.push(LoadedProto {
                    name,
                    arity: proto.arity,
                    captures: proto.captures,
                    self_slot: proto.self_slot,
                    registers: proto.registers,
                    code,
                    spans: proto.spans.into_boxed_slice(),
                    constants,
                    selects: proto.selects.into_boxed_slice(),
                    source,
                    module: module_index,
                });
            }
            for (name, index) in &module.functions {
                self.define(
                    &format!("{}.{name}", module.name),
                    Global::Weft(offset + index),
                );
            }
            entry = offset;
        }
        Ok(entry)
    }
}

fn constant_value(constant: &Constant) -> Value {
    match constant {
        Constant::Int(n) => Value::Int(*n),
        Constant::Float(f) => Value::Float(*f),
        Constant::Str(s) => Value::str(s.as_ref()),
        Constant::Atom(a) => Value::Atom(Atom::new(a)),
        Constant::Bytes(b) => Value::bytes(b.to_vec()),
    }
}

/// Rewrites a module's global and prototype operands into the VM's tables.
struct Relink<'l> {
    /// Where the module's first prototype landed.
    offset: u32,
    /// The VM slot of each of the module's globals.
    links: &'l [u32],
}

impl OperandVisitor for Relink<'_> {
    fn global(&mut self, global: &mut GlobalIndex) {
        let slot = self.links.get(global.index()).copied().unwrap_or(0);
        *global = GlobalIndex::new(slot);
    }

    fn proto(&mut self, proto: &mut ProtoIndex) {
        *proto = ProtoIndex::new(proto.get() + self.offset);
    }
}

/// Whether a compile sees `name` through the environment: a script's own
/// functions (`main.f`) and imported modules (`alias@n.f`) are left out,
/// since the compiler knows those itself.
fn visible(name: &str) -> bool {
    !name.starts_with("main.") && !name.contains('@')
}

/// The function value of the loaded function `name` (a script's `npc` is
/// `main.npc`; a qualified name is looked up as it is).
pub(crate) fn function_named(code: &Code, name: &str) -> Option<Value> {
    let qualified = if name.contains('.') {
        name.to_string()
    } else {
        format!("main.{name}")
    };
    for candidate in [qualified.as_str(), name] {
        if let Some(&slot) = code.global_index.get(candidate) {
            if !matches!(code.globals[slot as usize], Global::Undefined) {
                return Some(crate::interp::function_value(code, slot));
            }
        }
    }
    None
}
