//! The bytecode compiler: resolves names and turns the syntax tree into the
//! register code of `bytecode.rs`.
//!
//! Invariants:
//! - Registers are allocated like a stack: `next_register` only grows while a
//!   value is being built and is reset to a mark when it is done; locals are
//!   registers that stay allocated until their scope closes, except that a
//!   local of a function's outermost block whose last use has passed gives
//!   its register back (`free`), and a `let` that shadows a name of the same
//!   block reuses that name's register. Temporaries always sit above every
//!   live local, so a range of consecutive registers (a call's arguments, a
//!   literal's elements) is always taken from the top.
//! - A register that holds a live local is counted in `local_registers`;
//!   only such a register can be read by a sub-expression, so an expression
//!   may build its value in place in any other `dst`.
//! - A function has at most 65,535 registers, a literal is built in chunks
//!   of `LITERAL_CHUNK` elements, and the code generator never recurses on
//!   the native stack without `deep` (stacker) guarding it.
//! - A local of one function is never visible in another: a closure sees the
//!   variables it captures as its own locals (by value), and top-level
//!   functions see no script locals at all (LANGUAGE.md §3).
//! - Every name is resolved here; a name that resolves to nothing is a
//!   diagnostic, never a runtime lookup.
//! - Every call in tail position compiles to a tail call.
//! - With a `Recorder` (only for `names`), every local's declaration, every
//!   scope and every name resolved to a local is recorded as the code
//!   generator meets it (`names.rs`); without one, nothing is.

mod control;
mod expr;
mod free_names;
mod names;
mod pattern;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::ast::*;
use crate::bytecode::{
    ConstIndex, Constant, Count, GlobalIndex, Instr, Jump, Module, Proto, Reg, SelectIndex,
    SelectTable,
};
use crate::diagnostic::{Diagnostic, SourceFile, Span};
pub use names::{names, Binding, Names, Use};
use names::{BindingId, Recorder, Site};

/// The names a compile may refer to beyond its own file: the VM's builtins
/// (`print`), its module functions (`list.map`), each by qualified name.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// Shared, so a VM hands out its names without copying them per compile.
    pub globals: Arc<BTreeSet<String>>,
    /// Functions of the module being compiled that an earlier compile
    /// defined (a REPL session's earlier entries): callable by bare name.
    pub module_functions: BTreeSet<String>,
    /// Modules imported by earlier compiles of the same module (a REPL
    /// session): alias to (module name, its functions).
    pub imports: std::collections::BTreeMap<String, (String, Vec<String>)>,
    /// Module constants (`math.pi`), by qualified name; each is also in
    /// `globals`, so its module is known.
    pub constants: std::collections::BTreeMap<String, Constant>,
}

impl Environment {
    pub fn new(names: impl IntoIterator<Item = String>) -> Environment {
        Environment {
            globals: Arc::new(names.into_iter().collect()),
            module_functions: BTreeSet::new(),
            imports: std::collections::BTreeMap::new(),
            constants: std::collections::BTreeMap::new(),
        }
    }

    /// Adds module constants (`("math.pi", Constant::Float(..))`).
    pub fn with_constants(
        mut self,
        constants: impl IntoIterator<Item = (String, Constant)>,
    ) -> Environment {
        for (name, value) in constants {
            if !self.globals.contains(&name) {
                Arc::make_mut(&mut self.globals).insert(name.clone());
            }
            self.constants.insert(name, value);
        }
        self
    }

    pub fn is_module(&self, name: &str) -> bool {
        let prefix = format!("{name}.");
        self.globals
            .range(prefix.clone()..)
            .next()
            .is_some_and(|g| g.starts_with(&prefix))
    }

    fn members(&self, module: &str) -> Vec<String> {
        let prefix = format!("{module}.");
        self.globals
            .range(prefix.clone()..)
            .take_while(|g| g.starts_with(&prefix))
            .map(|g| g[prefix.len()..].to_string())
            .collect()
    }

    fn modules(&self) -> BTreeSet<String> {
        self.globals
            .iter()
            .filter_map(|g| g.split_once('.').map(|(m, _)| m.to_string()))
            .collect()
    }
}

/// A file imported by another: its text, and a key naming it uniquely (its
/// canonical path) so that one file is compiled once.
pub struct LoadedFile {
    pub key: String,
    pub source: Arc<SourceFile>,
}

/// Reads imported files for the compiler, which does no I/O of its own.
pub trait Loader {
    fn load(&mut self, from: &SourceFile, path: &str) -> Result<LoadedFile, String>;
}

/// A loader for hosts without a file system: every import fails.
pub struct NoImports;

impl Loader for NoImports {
    fn load(&mut self, _from: &SourceFile, _path: &str) -> Result<LoadedFile, String> {
        Err("imports are not available here".to_string())
    }
}

/// State shared by the compiles of one program (a file and its imports).
pub struct Session<'l> {
    loader: &'l mut dyn Loader,
    /// Finished modules, dependencies first.
    pub modules: Vec<Module>,
    /// Files compiled (by key): module name and top-level function names.
    done: HashMap<String, (String, Vec<String>)>,
    /// Files being compiled, outermost first, to detect import cycles.
    in_progress: Vec<String>,
}

impl<'l> Session<'l> {
    pub fn new(loader: &'l mut dyn Loader) -> Session<'l> {
        Session {
            loader,
            modules: Vec::new(),
            done: HashMap::new(),
            in_progress: Vec::new(),
        }
    }
}

/// A local variable.
#[derive(Clone, Copy, Debug)]
struct Local<'a> {
    name: &'a str,
    register: Reg,
    /// Captured from an enclosing function: a copy, so it can't be assigned.
    captured: bool,
    /// What `names.rs` recorded for it (a capture: the enclosing local's).
    binding: BindingId,
}

/// An enclosing `loop`, `while` or `for`.
struct LoopState {
    /// Where `break value` puts its value.
    dst: Reg,
    /// How many guard and `try` handlers were active when the loop began
    /// (`break` and `continue` end the ones opened since).
    handlers: u32,
    /// Jumps to patch to the loop's end.
    breaks: Vec<usize>,
    /// Jumps to patch to the loop's continue point.
    continues: Vec<usize>,
    /// How many scopes were open when the loop began.
    scope_depth: usize,
}

/// A function being compiled.
struct FnState<'a> {
    proto: Proto,
    scopes: Vec<Vec<Local<'a>>>,
    next_register: u32,
    max_register: u32,
    /// Registers of dead locals of the outermost block, free for new locals.
    free: Vec<Reg>,
    /// The names of those locals, still offered as "did you mean" hints.
    dead_names: Vec<&'a str>,
    /// For each register, how many live locals it holds.
    local_registers: Vec<u32>,
    /// Guard and `try` handlers active at this point of the code.
    handlers: u32,
    /// Each constant's index, so a constant is stored once.
    constant_index: HashMap<ConstantKey, u32>,
    /// A jump did not fit: reported once.
    too_long: bool,
    loops: Vec<LoopState>,
    /// The highest instruction index any jump lands on, so a peephole
    /// never rewrites an instruction a jump depends on.
    last_target: usize,
}

impl<'a> FnState<'a> {
    fn new(name: &str, arity: u16, span: Span) -> FnState<'a> {
        FnState {
            proto: Proto {
                name: name.to_string(),
                arity,
                captures: 0,
                self_slot: false,
                registers: 0,
                code: Vec::new(),
                spans: Vec::new(),
                constants: Vec::new(),
                selects: Vec::new(),
                span,
            },
            scopes: vec![Vec::new()],
            next_register: 0,
            max_register: 0,
            free: Vec::new(),
            dead_names: Vec::new(),
            local_registers: Vec::new(),
            handlers: 0,
            constant_index: HashMap::new(),
            too_long: false,
            loops: Vec::new(),
            last_target: 0,
        }
    }
}

/// Locals that nothing reads after the current call, so an argument that
/// is just such a name can hand its value over (`Take`) instead of copying
/// it. A callee that then holds the only reference (`list.push`, `map.put`)
/// updates in place, which keeps accumulating loops linear. The permission
/// only flows from a call to its direct arguments (and to calls nested as
/// arguments), minus every name a later argument mentions: arguments are
/// evaluated once each, left to right.
#[derive(Clone, Debug)]
pub(crate) enum Movable<'a> {
    /// A call in tail position: the frame ends with it, every local is dead.
    All,
    /// `x = f(...)`: `x` is rebound right after the call.
    Only(BTreeSet<&'a str>),
    /// Every local but these.
    Except(BTreeSet<&'a str>),
}

impl<'a> Movable<'a> {
    fn allows(&self, name: &str) -> bool {
        match self {
            Movable::All => true,
            Movable::Only(names) => names.contains(name),
            Movable::Except(excluded) => !excluded.contains(name),
        }
    }

    fn without(&self, mentioned: &BTreeSet<&'a str>) -> Movable<'a> {
        match self {
            Movable::All => Movable::Except(mentioned.clone()),
            Movable::Only(names) => Movable::Only(names.difference(mentioned).copied().collect()),
            Movable::Except(excluded) => {
                Movable::Except(excluded.union(mentioned).copied().collect())
            }
        }
    }
}

/// What a name refers to.
enum Resolved {
    Local(Reg),
    /// A global function, by qualified name.
    Global(String),
}

/// How a file's top-level code is compiled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A script: the top level is the main process's code.
    Script,
    /// A REPL entry: the top level is a function of the session's bindings.
    Entry,
}

pub(crate) struct Compiler<'a, 's, 'l> {
    arena: &'a bumpalo::Bump,
    mode: Mode,
    /// A REPL session's variables, in order (entry mode).
    session_names: &'s [String],
    /// After an entry compiles: every session name it leaves bound.
    entry_names: Vec<String>,
    session: &'s mut Session<'l>,
    env: &'s Environment,
    source: Arc<SourceFile>,
    module_name: String,
    /// This file's top-level functions: name to prototype index.
    functions: HashMap<&'a str, u32>,
    /// `import ... as alias`: alias to (module name, its functions).
    aliases: HashMap<&'a str, (String, Vec<String>)>,
    protos: Vec<Option<Proto>>,
    globals: Vec<String>,
    global_index: HashMap<String, u32>,
    fns: Vec<FnState<'a>>,
    span: Span,
    /// Locals the call being compiled may take from its arguments instead
    /// of copying (see `Movable`).
    movable: Option<Movable<'a>>,
    /// The local a plain-name argument may take right now.
    take_name: Option<&'a str>,
    diagnostics: Vec<Diagnostic>,
    /// What the resolver decides, recorded only for `names`.
    record: Option<Recorder>,
}

/// The most registers one function may use (a register operand is two bytes).
const MAX_REGISTERS: u32 = u16::MAX as u32;

/// Elements a list, tuple or map literal evaluates at once before adding
/// them to the value being built: a literal of any size needs at most this
/// many registers.
const LITERAL_CHUNK: usize = crate::bytecode::MAP_CHUNK as usize;

pub use crate::limits::MAX_ERRORS;

/// Runs `f` on a stack with room to spare: recursion over a syntax tree
/// (bounded by `parser::MAX_NESTING`, except along a chain of binary
/// operators) then never overflows a small thread's stack.
#[inline(always)]
pub(crate) fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, f)
}

/// Compiles a file (and, through the session's loader, what it imports).
/// On success the session holds the modules in load order, this one last.
pub fn compile_file(
    session: &mut Session<'_>,
    env: &Environment,
    source: Arc<SourceFile>,
    module_name: &str,
) -> Result<(), Vec<Diagnostic>> {
    compile_with_mode(session, env, source, module_name, Mode::Script, &[]).map(|_| ())
}

/// Compiles a REPL entry as module `module_name`. Its top-level code
/// becomes `protos[0]`, a function of one argument: the tuple of the
/// session's variables, in the order of `session_names`. It returns
/// `(value, bindings)` where `bindings` is a tuple of the variables named by
/// the returned list (the session's, then the entry's new ones).
pub fn compile_entry(
    session: &mut Session<'_>,
    env: &Environment,
    source: Arc<SourceFile>,
    module_name: &str,
    session_names: &[String],
) -> Result<Vec<String>, Vec<Diagnostic>> {
    compile_with_mode(
        session,
        env,
        source,
        module_name,
        Mode::Entry,
        session_names,
    )
}

fn compile_with_mode(
    session: &mut Session<'_>,
    env: &Environment,
    source: Arc<SourceFile>,
    module_name: &str,
    mode: Mode,
    session_names: &[String],
) -> Result<Vec<String>, Vec<Diagnostic>> {
    let arena = bumpalo::Bump::new();
    let (program, mut diagnostics) = crate::parser::parse(&source.text, &arena);
    if !diagnostics.is_empty() {
        // Name errors after a syntax error are mostly its echoes (a broken
        // `let` leaves its name unbound): report the syntax errors alone.
        return Err(located(diagnostics, &source));
    }
    let mut compiler = Compiler::new(
        &arena,
        mode,
        session_names,
        session,
        env,
        source.clone(),
        module_name,
    );
    compiler.program(&program);
    let entry_names = std::mem::take(&mut compiler.entry_names);
    diagnostics.append(&mut compiler.diagnostics);
    if !diagnostics.is_empty() {
        return Err(located(diagnostics, &source));
    }
    // In definition order, not the map's: a module compiles to the same
    // bytes every time (process images name code by its hash).
    let mut functions = compiler
        .functions
        .iter()
        .map(|(name, index)| (name.to_string(), *index))
        .collect::<Vec<_>>();
    functions.sort_by_key(|(_, index)| *index);
    let module = Module {
        name: module_name.to_string(),
        source: compiler.source.clone(),
        protos: compiler
            .protos
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect(),
        functions,
        imports: compiler
            .aliases
            .iter()
            .map(|(alias, (module, functions))| {
                (alias.to_string(), module.clone(), functions.clone())
            })
            .collect(),
        globals: compiler.globals,
    };
    session.modules.push(module);
    Ok(entry_names)
}

impl Default for Proto {
    fn default() -> Proto {
        FnState::new("", 0, Span::default()).proto
    }
}

impl<'a, 's, 'l> Compiler<'a, 's, 'l> {
    fn new(
        arena: &'a bumpalo::Bump,
        mode: Mode,
        session_names: &'s [String],
        session: &'s mut Session<'l>,
        env: &'s Environment,
        source: Arc<SourceFile>,
        module_name: &str,
    ) -> Compiler<'a, 's, 'l> {
        let aliases = env
            .imports
            .iter()
            .map(|(alias, info)| (&*arena.alloc_str(alias), info.clone()))
            .collect();
        Compiler {
            arena,
            mode,
            session_names,
            entry_names: Vec::new(),
            session,
            env,
            source,
            module_name: module_name.to_string(),
            functions: HashMap::new(),
            aliases,
            protos: vec![None],
            globals: Vec::new(),
            global_index: HashMap::new(),
            fns: Vec::new(),
            span: Span::default(),
            movable: None,
            take_name: None,
            diagnostics: Vec::new(),
            record: None,
        }
    }

    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}.{name}", self.module_name)
    }

    fn program(&mut self, program: &Program<'a>) {
        // Imports and top-level functions first: functions may call each
        // other, and be called from the script, in any order.
        for stmt in program.stmts {
            match stmt {
                Stmt::Import { path, name, span } => self.import(path, name, *span),
                Stmt::Fn(def) => {
                    self.record_top_level(def.span);
                    let name = def.name.unwrap_or_default();
                    if self.functions.contains_key(name) {
                        self.error(
                            Diagnostic::error(
                                format!("function `{name}` is defined twice"),
                                def.name_span,
                            )
                            .with_help("give one of them another name"),
                        );
                        continue;
                    }
                    self.functions.insert(name, self.protos.len() as u32);
                    self.protos.push(None);
                }
                _ => {}
            }
        }
        for stmt in program.stmts {
            if let Stmt::Fn(def) = stmt {
                let Some(&index) = self.functions.get(def.name.unwrap_or_default()) else {
                    continue;
                };
                if self.protos[index as usize].is_some() {
                    continue;
                }
                let proto = self.function(def, &[], None);
                self.protos[index as usize] = Some(proto);
            }
        }
        // The script body: everything that is not a definition.
        let body: Vec<&Stmt<'a>> = program
            .stmts
            .iter()
            .filter(|s| !matches!(s, Stmt::Fn(_) | Stmt::Import { .. }))
            .collect();
        if self.mode == Mode::Entry {
            self.entry_body(program, &body);
            return;
        }
        self.fns.push(FnState::new("<main>", 0, Span::new(0, 0)));
        self.record_scope(Span::new(0, self.source.text.len()));
        let dst = self.alloc();
        self.statements(&body, dst, false, true);
        self.emit(Instr::Return { src: dst });
        self.record_scope_end();
        let state = self.fns.pop().expect("the script's function state");
        self.protos[0] = Some(self.finish(state));
    }

    /// A REPL entry's top level (see `compile_entry`).
    fn entry_body(&mut self, program: &Program<'a>, body: &[&Stmt<'a>]) {
        self.fns.push(FnState::new("<entry>", 1, Span::new(0, 0)));
        let bindings = self.alloc();
        const MAX_SESSION: usize = u16::MAX as usize - 8;
        if self.session_names.len() > MAX_SESSION {
            self.error(Diagnostic::error(
                format!("a session may hold at most {MAX_SESSION} variables"),
                Span::new(0, 0),
            ));
        }
        let session: Vec<String> = self
            .session_names
            .iter()
            .take(MAX_SESSION)
            .cloned()
            .collect();
        let mut names: Vec<&'a str> = Vec::new();
        for (i, name) in session.iter().enumerate() {
            let register = self.alloc();
            self.emit(Instr::Element {
                dst: register,
                src: bindings,
                index: Count::of(i),
            });
            // The session's names outlive this compile's arena: leak-free
            // copies come from the arena itself.
            let name: &'a str = self.intern(name);
            self.declare(name, register, Site::default());
            names.push(name);
        }
        let dst = self.alloc();
        self.statements(body, dst, false, false);
        // What the entry shows: a trailing `let x = v` shows v (a trailing
        // assignment is an expression: it shows its value by itself); a
        // trailing function definition shows the function.
        match program.stmts.last() {
            Some(Stmt::Let(pattern, _)) => {
                if let PatternKind::Bind(name) = pattern.kind {
                    if let Some(local) = self.local(name) {
                        self.emit(Instr::Move {
                            dst,
                            src: local.register,
                        });
                    }
                }
            }
            Some(Stmt::Fn(def)) if self.fns.len() == 1 => {
                let global = self.global(self.qualified(def.name.unwrap_or_default()));
                self.emit(Instr::FnRef { dst, global });
            }
            _ => {}
        }
        // Every top-level variable, latest binding of each name.
        let scope = self
            .fns
            .last()
            .map(|f| f.scopes[0].clone())
            .unwrap_or_default();
        for local in &scope {
            if !names.contains(&local.name) {
                names.push(local.name);
            }
        }
        if names.len() > MAX_SESSION {
            self.error(Diagnostic::error(
                format!("a session may hold at most {MAX_SESSION} variables"),
                Span::new(0, 0),
            ));
            names.truncate(MAX_SESSION);
        }
        let first = self.alloc_n(names.len() + 2);
        for (i, name) in names.iter().enumerate() {
            if let Some(local) = self.local(name) {
                self.emit(Instr::Move {
                    dst: first.at(2 + i),
                    src: local.register,
                });
            }
        }
        self.emit(Instr::Tuple {
            dst: first + 1,
            first: first + 2,
            count: Count::of(names.len()),
        });
        self.emit(Instr::Move {
            dst: first,
            src: dst,
        });
        self.emit(Instr::Tuple {
            dst,
            first,
            count: Count::of(2),
        });
        self.emit(Instr::Return { src: dst });
        self.entry_names = names.iter().map(|n| n.to_string()).collect();
        let state = self.fns.pop().expect("the entry's function state");
        self.protos[0] = Some(self.finish(state));
    }

    fn intern(&mut self, name: &str) -> &'a str {
        self.arena.alloc_str(name)
    }

    fn import(&mut self, path: &'a str, alias: &'a str, span: Span) {
        // `main` names the script's own functions (from another node's
        // `rpc:call(W, main, F, A)`, say): no import may take it.
        if self.env.is_module(alias) || alias == "main" {
            self.error(
                Diagnostic::error(format!("the module name `{alias}` is already taken"), span)
                    .with_help("choose another name after `as`"),
            );
            return;
        }
        let loaded = match self.session.loader.load(&self.source, path) {
            Ok(loaded) => loaded,
            Err(message) => {
                self.error(Diagnostic::error(
                    format!("cannot import \"{path}\": {message}"),
                    span,
                ));
                return;
            }
        };
        // Module names are unique per file, so importing a file again (in a
        // later REPL entry, say) reloads the same module.
        let module_name = format!("{alias}@{}", loaded.key);
        if self
            .aliases
            .get(alias)
            .is_some_and(|(name, _)| *name != module_name)
        {
            self.error(
                Diagnostic::error(format!("the module name `{alias}` is already taken"), span)
                    .with_help("choose another name after `as`"),
            );
            return;
        }
        if let Some((name, functions)) = self.session.done.get(&loaded.key) {
            self.aliases
                .insert(alias, (name.clone(), functions.clone()));
            return;
        }
        if self.session.in_progress.contains(&loaded.key) {
            let mut chain: Vec<String> = self.session.in_progress.clone();
            chain.push(loaded.key.clone());
            self.error(
                Diagnostic::error(
                    format!("import cycle: \"{path}\" imports this file again"),
                    span,
                )
                .with_help(format!("the cycle: {}", chain.join(" -> "))),
            );
            return;
        }
        self.session.in_progress.push(loaded.key.clone());
        let session: &mut Session<'l> = self.session;
        let result = compile_file(session, self.env, loaded.source.clone(), &module_name);
        self.session.in_progress.pop();
        match result {
            Ok(()) => {
                let functions: Vec<String> = self
                    .session
                    .modules
                    .last()
                    .map(|m| m.functions.iter().map(|(n, _)| n.clone()).collect())
                    .unwrap_or_default();
                self.session
                    .done
                    .insert(loaded.key, (module_name.clone(), functions.clone()));
                self.aliases.insert(alias, (module_name, functions));
            }
            Err(nested) => {
                let mut diagnostic =
                    Diagnostic::error(format!("the imported file \"{path}\" has errors"), span)
                        .with_label("imported here");
                diagnostic.nested = nested;
                self.error(diagnostic);
            }
        }
    }

    /// Compiles a function; `captures` (each with the binding it stands
    /// for) become locals after the parameters.
    fn function(
        &mut self,
        def: &FnDef<'a>,
        captures: &[(&'a str, BindingId)],
        self_name: Option<(&'a str, BindingId)>,
    ) -> Proto {
        let name = def.name.unwrap_or("");
        let Ok(arity) = u16::try_from(def.params.len()) else {
            self.error(Diagnostic::error(
                "a function takes at most 65535 parameters",
                def.span,
            ));
            return Proto::default();
        };
        self.fns.push(FnState::new(name, arity, def.span));
        self.record_scope(def.span);
        let params = self.alloc_n(def.params.len());
        for &(name, binding) in captures.iter().chain(&self_name) {
            let register = self.alloc();
            self.push_local(Local {
                name,
                register,
                captured: true,
                binding,
            });
        }
        let fail_span = self.span;
        self.span = def.span;
        for (i, param) in def.params.iter().enumerate() {
            let register = params.at(i);
            let from = param.span.end;
            match param.kind {
                PatternKind::Bind(name) => {
                    self.declare(name, register, Site::new(param.span, from))
                }
                PatternKind::Wildcard => {}
                _ => self.bind_pattern(param, register, crate::bytecode::FailKind::NoMatch, from),
            }
        }
        self.span = fail_span;
        let dst = self.alloc();
        // The body's own block: its locals may give their registers back
        // once dead.
        let mark = self.push_scope(def.body.span);
        let stmts: Vec<&Stmt<'a>> = def.body.stmts.iter().collect();
        self.statements(&stmts, dst, true, true);
        self.pop_scope(mark);
        self.span = Span::new(def.body.span.end as usize - 1, def.body.span.end as usize);
        self.emit_return(dst);
        self.record_scope_end();
        let mut state = self.fns.pop().expect("the function's state");
        state.proto.captures = captures.len() as u16;
        state.proto.self_slot = self_name.is_some();
        self.finish(state)
    }

    fn finish(&mut self, state: FnState<'a>) -> Proto {
        let mut proto = state.proto;
        proto.registers = state.max_register.min(MAX_REGISTERS) as u16;
        proto
    }

    // ------------------------------------------------------------ registers

    fn state(&mut self) -> &mut FnState<'a> {
        self.fns.last_mut().expect("a function is being compiled")
    }

    fn alloc(&mut self) -> Reg {
        self.alloc_n(1)
    }

    /// Allocates `n` consecutive registers and returns the first.
    fn alloc_n(&mut self, n: usize) -> Reg {
        let span = self.span;
        let state = self.state();
        let first = state.next_register;
        let next = first as u64 + n as u64;
        if next > MAX_REGISTERS as u64 {
            let too_many = state.max_register <= MAX_REGISTERS;
            state.max_register = MAX_REGISTERS + 1;
            if too_many {
                self.error(
                    Diagnostic::error(
                        format!("this function needs more than {MAX_REGISTERS} registers"),
                        span,
                    )
                    .with_help("split it into smaller functions"),
                );
            }
            return Reg::new(0);
        }
        let next = next as u32;
        state.next_register = next;
        state.max_register = state.max_register.max(next);
        Reg::new(first)
    }

    /// A register for a new local: a dead local's if one is free, else a
    /// new one (which, like any, is given back when its scope closes).
    fn alloc_local(&mut self) -> Reg {
        let state = self.state();
        let top = state.next_register;
        while let Some(register) = state.free.pop() {
            // A register above the stack top was reclaimed by a closing
            // scope already.
            if register.get() < top {
                return register;
            }
        }
        self.alloc()
    }

    fn mark(&mut self) -> u32 {
        self.state().next_register
    }

    fn release(&mut self, mark: u32) {
        let state = self.state();
        state.next_register = mark.min(state.next_register);
    }

    /// Does a live local of this function sit in `register`? Only then can
    /// evaluating an expression read it.
    fn is_local_register(&self, register: Reg) -> bool {
        self.fns.last().is_some_and(|state| {
            state
                .local_registers
                .get(register.index())
                .is_some_and(|n| *n > 0)
        })
    }

    // --------------------------------------------------------------- scopes

    /// Opens a scope whose text is `scope`; returns the register mark to
    /// give back to when it closes.
    fn push_scope(&mut self, scope: Span) -> u32 {
        self.record_scope(scope);
        self.state().scopes.push(Vec::new());
        self.mark()
    }

    fn pop_scope(&mut self, mark: u32) {
        self.record_scope_end();
        let state = self.state();
        if let Some(scope) = state.scopes.pop() {
            for local in scope {
                if let Some(n) = state.local_registers.get_mut(local.register.index()) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        self.release(mark);
    }

    fn push_local(&mut self, local: Local<'a>) {
        let state = self.state();
        let index = local.register.index();
        if state.local_registers.len() <= index {
            state.local_registers.resize(index + 1, 0);
        }
        state.local_registers[index] += 1;
        let scope = state.scopes.last_mut().expect("a scope");
        scope.push(local);
    }

    /// Declares a local in the innermost scope; `site` says where, for
    /// `names`.
    fn declare(&mut self, name: &'a str, register: Reg, site: Site) {
        let binding = self.record_binding(name, site);
        self.declare_as(name, register, binding);
    }

    fn declare_as(&mut self, name: &'a str, register: Reg, binding: BindingId) {
        if name == "_" {
            return;
        }
        self.push_local(Local {
            name,
            register,
            captured: false,
            binding,
        });
    }

    /// Ends the innermost scope's locals named in `dead` (nothing reads them
    /// again) and gives their registers back for new locals.
    fn free_dead(&mut self, dead: &BTreeSet<&'a str>) {
        let state = self.state();
        let Some(scope) = state.scopes.last_mut() else {
            return;
        };
        let mut freed = Vec::new();
        scope.retain(|local| {
            let dies = !local.captured && dead.contains(local.name);
            if dies {
                freed.push(local.register);
                state.dead_names.push(local.name);
            }
            !dies
        });
        for register in freed {
            if let Some(n) = state.local_registers.get_mut(register.index()) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    state.free.push(register);
                }
            }
        }
    }

    fn local(&self, name: &str) -> Option<Local<'a>> {
        let state = self.fns.last()?;
        state
            .scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|local| local.name == name)
            .copied()
    }

    fn resolve(&mut self, name: &'a str, span: Span) -> Option<Resolved> {
        if let Some(local) = self.local_use(name, span) {
            return Some(Resolved::Local(local.register));
        }
        if self.functions.contains_key(name) || self.env.module_functions.contains(name) {
            return Some(Resolved::Global(self.qualified(name)));
        }
        if self.env.globals.contains(name) {
            return Some(Resolved::Global(name.to_string()));
        }
        if self.aliases.contains_key(name) || self.env.is_module(name) {
            self.error(
                Diagnostic::error(format!("`{name}` is a module, not a value"), span)
                    .with_help(format!("call one of its functions: `{name}.f(...)`")),
            );
            return None;
        }
        self.unknown_name(name, span);
        None
    }

    fn unknown_name(&mut self, name: &str, span: Span) {
        if self.diagnostics.len() >= MAX_ERRORS {
            // Past the cap only the count is shown: skip the costly hint.
            self.error(Diagnostic::error(format!("unknown name `{name}`"), span));
            return;
        }
        let mut candidates: Vec<String> = Vec::new();
        if let Some(state) = self.fns.last() {
            candidates.extend(state.scopes.iter().flatten().map(|l| l.name.to_string()));
            candidates.extend(state.dead_names.iter().map(|n| n.to_string()));
        }
        candidates.extend(self.functions.keys().map(|f| f.to_string()));
        candidates.extend(self.env.module_functions.iter().cloned());
        candidates.extend(
            self.env
                .globals
                .iter()
                .filter(|g| !g.contains('.'))
                .cloned(),
        );
        candidates.extend(self.env.modules());
        candidates.extend(self.aliases.keys().map(|a| a.to_string()));
        let mut diagnostic = Diagnostic::error(format!("unknown name `{name}`"), span)
            .with_label("not a variable, function, module or builtin");
        if let Some(best) = closest(name, &candidates) {
            diagnostic = diagnostic.with_help(format!("did you mean `{best}`?"));
        } else if self.fns.len() == 1
            && !matches!(self.fns[0].proto.name.as_str(), "<main>" | "<entry>")
        {
            diagnostic = diagnostic.with_help(
                "a top-level function sees only its parameters, its own locals and globals",
            );
        }
        self.error(diagnostic);
    }

    /// `name.f(...)` where `name` is neither a local nor a module.
    fn unknown_module(&mut self, name: &str, span: Span) {
        let mut candidates: Vec<String> = self.env.modules().into_iter().collect();
        candidates.extend(self.aliases.keys().map(|a| a.to_string()));
        let mut diagnostic = Diagnostic::error(format!("unknown module `{name}`"), span)
            .with_label("not an imported or standard module");
        const STANDARD: &[&str] = &[
            "list", "string", "map", "math", "io", "time", "random", "chan", "process",
        ];
        if STANDARD.contains(&name) {
            diagnostic = diagnostic
                .with_label("a standard module this host does not provide")
                .with_help(format!(
                    "the program's host has not granted the `{name}` module"
                ));
        } else if let Some(best) = closest(name, &candidates) {
            diagnostic = diagnostic.with_help(format!("did you mean `{best}`?"));
        } else {
            diagnostic =
                diagnostic.with_help(format!("import it: `import \"{name}.weft\" as {name}`"));
        }
        self.error(diagnostic);
    }

    /// Resolves `module.member` to a global's qualified name.
    fn member(&mut self, module: &'a str, member: &str, span: Span) -> Option<String> {
        if let Some((name, functions)) = self.aliases.get(module) {
            if functions.iter().any(|f| f == member) {
                return Some(format!("{name}.{member}"));
            }
            let best = closest(member, functions);
            let mut diagnostic = Diagnostic::error(
                format!("module `{module}` has no function `{member}`"),
                span,
            );
            if let Some(best) = best {
                diagnostic = diagnostic.with_help(format!("did you mean `{module}.{best}`?"));
            }
            self.error(diagnostic);
            return None;
        }
        let qualified = format!("{module}.{member}");
        if self.env.globals.contains(&qualified) {
            return Some(qualified);
        }
        let members = self.env.members(module);
        let mut diagnostic = Diagnostic::error(
            format!("module `{module}` has no function `{member}`"),
            span,
        );
        if let Some(best) = closest(member, &members) {
            diagnostic = diagnostic.with_help(format!("did you mean `{module}.{best}`?"));
        }
        self.error(diagnostic);
        None
    }

    /// Is `name` a module here (and not shadowed by a local)?
    fn is_module(&self, name: &str) -> bool {
        self.local(name).is_none() && (self.aliases.contains_key(name) || self.env.is_module(name))
    }

    fn global(&mut self, qualified: String) -> GlobalIndex {
        if let Some(&index) = self.global_index.get(&qualified) {
            return GlobalIndex::new(index);
        }
        let index = self.globals.len() as u32;
        if index > GlobalIndex::MAX {
            let span = self.span;
            self.error(Diagnostic::error(
                "this file refers to too many functions",
                span,
            ));
            return GlobalIndex::new(0);
        }
        self.globals.push(qualified.clone());
        self.global_index.insert(qualified, index);
        GlobalIndex::new(index)
    }

    // ------------------------------------------------------------- emitting

    fn emit(&mut self, instr: Instr) -> usize {
        let span = self.span;
        let proto = &mut self.state().proto;
        proto.code.push(instr);
        proto.spans.push(span);
        proto.code.len() - 1
    }

    /// The instruction emitted last in the function being compiled.
    fn last_instr(&mut self) -> Option<Instr> {
        self.state().proto.code.last().copied()
    }

    /// Replaces the instruction emitted last (same span, same position, so
    /// no jump is disturbed).
    fn replace_last(&mut self, instr: Instr) {
        if let Some(last) = self.state().proto.code.last_mut() {
            *last = instr;
        }
    }

    fn here(&mut self) -> usize {
        self.state().proto.code.len()
    }

    /// Points the jump at `at` to the next instruction to be emitted.
    fn patch(&mut self, at: usize) {
        let target = self.here();
        self.patch_to(at, target);
    }

    fn patch_to(&mut self, at: usize, target: usize) {
        let distance = target as i64 - (at as i64 + 1);
        let state = self.state();
        state.last_target = state.last_target.max(target);
        let Some(offset) = i32::try_from(distance).ok().and_then(Jump::try_new) else {
            if !std::mem::replace(&mut state.too_long, true) {
                let span = self.span;
                self.error(
                    Diagnostic::error(
                        format!(
                            "this function is too long: a jump may span at most {} instructions",
                            Jump::MAX
                        ),
                        span,
                    )
                    .with_help("split it into smaller functions"),
                );
            }
            return;
        };
        let code = &mut self.state().proto.code;
        // Only `Loop` may jump backwards (the verifier's rule): it spends a
        // reduction, so a `continue` or a receive that scans the mailbox
        // again can never spin inside one slice.
        if distance < 0 && matches!(code[at], Instr::Jump { .. }) {
            code[at] = Instr::Loop { offset };
            return;
        }
        let patched = code[at].set_jump(offset);
        debug_assert!(patched, "patching an instruction that does not jump");
    }

    /// Emits `Return { src }`; a `Move` into `src` just before it (that no
    /// jump lands after) becomes a return of the moved register instead.
    pub(super) fn emit_return(&mut self, src: Reg) -> usize {
        let span = self.span;
        let state = self.state();
        let here = state.proto.code.len();
        if let Some(Instr::Move { dst, src: from }) = state.proto.code.last().copied() {
            if dst == src && state.last_target < here {
                let at = here - 1;
                state.proto.code[at] = Instr::Return { src: from };
                state.proto.spans[at] = span;
                return at;
            }
        }
        self.emit(Instr::Return { src })
    }

    fn jump(&mut self) -> usize {
        self.emit(Instr::Jump {
            offset: Jump::default(),
        })
    }

    fn loop_back(&mut self, target: usize) {
        let at = self.emit(Instr::Loop {
            offset: Jump::default(),
        });
        self.patch_to(at, target);
    }

    fn constant(&mut self, constant: Constant) -> ConstIndex {
        let state = self.state();
        if let Some(&i) = state.constant_index.get(&ConstantKey::of(&constant)) {
            return ConstIndex::new(i);
        }
        let constants = &mut state.proto.constants;
        let index = constants.len() as u32;
        state
            .constant_index
            .insert(ConstantKey::of(&constant), index);
        constants.push(constant);
        ConstIndex::new(index)
    }

    fn select_table(&mut self, table: SelectTable) -> SelectIndex {
        let selects = &mut self.state().proto.selects;
        selects.push(table);
        SelectIndex::new((selects.len() - 1) as u32)
    }

    // ----------------------------------------------------------- statements

    /// Compiles statements; the value of the last (if an expression) lands
    /// in `dst`, otherwise nil. With `liveness` (a function's outermost
    /// block), a local gives its register back after the last statement
    /// that mentions it.
    fn statements(&mut self, stmts: &[&Stmt<'a>], dst: Reg, tail: bool, liveness: bool) {
        let dies_at = if liveness {
            Some(last_uses(stmts))
        } else {
            None
        };
        let last_expr = matches!(stmts.last(), Some(Stmt::Expr(_)));
        for (i, stmt) in stmts.iter().enumerate() {
            let is_last = i + 1 == stmts.len();
            self.statement(stmt, dst, tail && is_last, is_last);
            if let Some((dies_at, last_use)) = &dies_at {
                let mut dead: BTreeSet<&'a str> = dies_at[i].iter().copied().collect();
                for name in declared_names(stmt) {
                    if last_use.get(name).is_none_or(|&j| j <= i) {
                        dead.insert(name);
                    }
                }
                if !dead.is_empty() && !is_last {
                    self.free_dead(&dead);
                }
            }
        }
        if !last_expr {
            self.emit(Instr::Nil { dst });
        }
    }

    fn block_body(&mut self, block: &Block<'a>, dst: Reg, tail: bool) {
        let mark = self.push_scope(block.span);
        let stmts: Vec<&Stmt<'a>> = block.stmts.iter().collect();
        self.statements(&stmts, dst, tail, false);
        self.pop_scope(mark);
    }

    /// A block whose value nobody uses (a loop's body): every statement is
    /// compiled for its effect only.
    fn block_effect(&mut self, block: &Block<'a>) {
        let mark = self.push_scope(block.span);
        for stmt in block.stmts {
            self.statement(stmt, Reg::new(0), false, false);
        }
        self.pop_scope(mark);
    }

    fn statement(&mut self, stmt: &Stmt<'a>, dst: Reg, tail: bool, is_last: bool) {
        match stmt {
            Stmt::Expr(e) => {
                if is_last {
                    self.expr(e, dst, tail);
                } else {
                    let mark = self.mark();
                    self.expr_effect(e);
                    self.release(mark);
                }
            }
            Stmt::Let(pattern, value) => {
                self.span = value.span;
                match pattern.kind {
                    PatternKind::Bind(name) => {
                        // `let x = ...` again in the same block: the old `x`
                        // can never be read again, so the new one takes its
                        // register (a closure that captured the old value
                        // holds its own copy).
                        let shadowed = self.fns.last().and_then(|state| {
                            state
                                .scopes
                                .last()
                                .and_then(|scope| scope.iter().rev().find(|l| l.name == name))
                                .copied()
                        });
                        // Not visible in its own initialiser.
                        let site = Site::new(pattern.span, value.span.end);
                        match shadowed {
                            Some(local) if !local.captured => {
                                self.assign_to(name, local, AssignOp::Set, value, pattern.span);
                                self.record_rebinding(name, site);
                            }
                            _ => {
                                let register = self.alloc_local();
                                self.expr(value, register, false);
                                self.declare(name, register, site);
                            }
                        }
                    }
                    _ => {
                        // The temporary holding the value stays below the
                        // pattern's variables until the scope closes.
                        let src = self.expr_any(value);
                        self.span = pattern.span;
                        let fail = crate::bytecode::FailKind::LetNoMatch;
                        self.bind_pattern(pattern, src, fail, value.span.end);
                    }
                }
            }
            Stmt::Fn(def) => {
                let name = def.name.unwrap_or_default();
                // Recorded first: the body sees the function by its name.
                let site = Site::new(def.name_span, def.name_span.end);
                let binding = self.record_binding(name, site);
                let register = self.alloc_local();
                self.lambda(def, register, Some((name, binding)));
                self.declare_as(name, register, binding);
            }
            Stmt::Import { span, .. } => self.error(Diagnostic::error(
                "`import` must be at the top level of a file",
                *span,
            )),
            Stmt::Error(_) => {}
        }
    }

    /// `name = value` (or `name += value`...): returns the register of the
    /// variable, which holds the expression's value afterwards.
    pub(super) fn assign(
        &mut self,
        name: &'a str,
        name_span: Span,
        op: AssignOp,
        value: &Expr<'a>,
    ) -> Option<Reg> {
        let Some(local) = self.local_use(name, name_span) else {
            if self.resolve_quiet(name) {
                self.error(Diagnostic::error(
                    format!("`{name}` is not a variable and can't be assigned"),
                    name_span,
                ));
            } else {
                self.error(
                    Diagnostic::error(
                        format!("assignment to an unbound variable `{name}`"),
                        name_span,
                    )
                    .with_help(format!("declare it first: `let {name} = ...`")),
                );
            }
            // Still check the value's names.
            let mark = self.mark();
            self.expr_effect(value);
            self.release(mark);
            return None;
        };
        if local.captured {
            self.error(
                Diagnostic::error(
                    format!("`{name}` is captured by this closure and can't be assigned"),
                    name_span,
                )
                .with_help("closures capture values; return the new value instead"),
            );
            return None;
        }
        self.assign_to(name, local, op, value, name_span);
        Some(local.register)
    }

    fn assign_to(
        &mut self,
        name: &'a str,
        local: Local<'a>,
        op: AssignOp,
        value: &Expr<'a>,
        name_span: Span,
    ) {
        self.span = value.span;
        let mark = self.mark();
        match op {
            AssignOp::Set => {
                if is_simple(value) {
                    self.expr(value, local.register, false);
                } else {
                    if matches!(value.kind, ExprKind::Call(..)) {
                        self.movable = Some(Movable::Only(BTreeSet::from([name])));
                    }
                    let temp = self.alloc();
                    self.expr(value, temp, false);
                    self.movable = None;
                    self.emit(Instr::Move {
                        dst: local.register,
                        src: temp,
                    });
                }
            }
            AssignOp::Update(op) => {
                // `binary` also turns `x += 1` into one `AddInt`.
                self.binary(
                    op,
                    local.register,
                    value,
                    local.register,
                    name_span.to(value.span),
                );
            }
        }
        self.release(mark);
    }

    fn resolve_quiet(&self, name: &str) -> bool {
        self.functions.contains_key(name)
            || self.env.module_functions.contains(name)
            || self.env.globals.contains(name)
    }
}

/// Diagnostics in source order, each pointing into `source`.
/// At most `MAX_ERRORS` of them.
fn located(diagnostics: Vec<Diagnostic>, source: &Arc<SourceFile>) -> Vec<Diagnostic> {
    crate::diagnostic::limit(diagnostics, MAX_ERRORS)
        .into_iter()
        .map(|d| d.in_file(source))
        .collect()
}

/// A value that is cheap and safe to compute straight into its target.
fn is_simple(e: &Expr<'_>) -> bool {
    let leaf = |e: &Expr<'_>| {
        matches!(
            e.kind,
            ExprKind::Name(_)
                | ExprKind::Int(_)
                | ExprKind::Float(_)
                | ExprKind::Nil
                | ExprKind::Bool(_)
        )
    };
    match e.kind {
        ExprKind::Binary(_, a, b) => leaf(a) && leaf(b),
        _ => leaf(e) || matches!(e.kind, ExprKind::Str(_) | ExprKind::Atom(_)),
    }
}

/// A constant as a table key: floats by their bits, so `0.0` and `-0.0`
/// (and NaNs) stay distinct constants.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ConstantKey {
    Int(i64),
    Float(u64),
    Str(Arc<str>),
    Atom(Arc<str>),
    Bytes(Arc<[u8]>),
}

impl ConstantKey {
    fn of(constant: &Constant) -> ConstantKey {
        match constant {
            Constant::Int(n) => ConstantKey::Int(*n),
            Constant::Float(f) => ConstantKey::Float(f.to_bits()),
            Constant::Str(s) => ConstantKey::Str(s.clone()),
            Constant::Atom(a) => ConstantKey::Atom(a.clone()),
            Constant::Bytes(b) => ConstantKey::Bytes(b.clone()),
        }
    }
}

/// For each statement, the names whose last mention is in it; and each
/// name's last statement.
#[allow(clippy::type_complexity)]
fn last_uses<'a>(stmts: &[&Stmt<'a>]) -> (Vec<Vec<&'a str>>, HashMap<&'a str, usize>) {
    let mut last: HashMap<&'a str, usize> = HashMap::new();
    for (i, stmt) in stmts.iter().enumerate() {
        let mut mentioned = BTreeSet::new();
        free_names::stmt(stmt, &mut mentioned);
        for name in mentioned {
            last.insert(name, i);
        }
    }
    let mut dies_at = vec![Vec::new(); stmts.len()];
    for (name, i) in &last {
        dies_at[*i].push(*name);
    }
    (dies_at, last)
}

/// The names a statement declares in its block.
fn declared_names<'a>(stmt: &Stmt<'a>) -> Vec<&'a str> {
    match stmt {
        Stmt::Let(pattern, _) => pattern_names(pattern).into_iter().map(|(n, _)| n).collect(),
        Stmt::Fn(def) => def.name.into_iter().collect(),
        _ => Vec::new(),
    }
}

/// The names a pattern binds, in order, without repeats, each with its
/// first occurrence's span.
fn pattern_names<'a>(pattern: &Pattern<'a>) -> Vec<(&'a str, Span)> {
    fn walk<'a>(p: &Pattern<'a>, out: &mut Vec<(&'a str, Span)>) {
        deep(|| walk_inner(p, out))
    }
    fn walk_inner<'a>(p: &Pattern<'a>, out: &mut Vec<(&'a str, Span)>) {
        match p.kind {
            PatternKind::Bind(n) if !out.iter().any(|(m, _)| *m == n) => out.push((n, p.span)),
            PatternKind::Tuple(items) => items.iter().for_each(|i| walk(i, out)),
            PatternKind::List(items, rest) => {
                items.iter().for_each(|i| walk(i, out));
                if let Some(rest) = rest {
                    walk(rest, out);
                }
            }
            PatternKind::Map(entries) => entries.iter().for_each(|(_, v)| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(pattern, &mut out);
    out
}

/// The candidate closest to `name`, if it is close enough to suggest.
fn closest(name: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .filter(|c| c.as_str() != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(distance, c)| *distance <= (name.len().max(c.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c.clone())
}
