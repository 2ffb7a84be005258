//! What the `weft` command and the REPL need beyond the embedding API.
//!
//! **Unstable**: these follow the tools and may change in any release. An
//! embedding host needs none of them (it loads source with
//! [`Vm::load`](crate::Vm::load) and starts processes with
//! [`Vm::spawn`](crate::Vm::spawn)); they are public only so that the
//! REPL, like any other program, uses nothing but public API.
//!
//! ```
//! use weft_vm::shell::Shell;
//! use weft_vm::{SourceFile, Vm, NoImports};
//!
//! let mut vm = Vm::new();
//! vm.set_args(vec!["7".to_string()]);
//! let source = SourceFile::new("main.weft", "print(int(args()[0]) * 6)");
//! let entry = vm.load_main(source, &mut NoImports).unwrap();
//! let main = vm.spawn_main(entry);
//! vm.run_until_idle();
//! assert!(vm.main_exit().is_some() && !vm.is_alive(main));
//! ```

use std::sync::Arc;

use weft_compiler::{Diagnostic, Loader, Module, SourceFile};

use crate::data::value::{Pid, Value};
use crate::host::api::Error;
pub use crate::host::vm::EntryPoint;
use crate::host::vm::Vm;

/// The `weft` command's and the REPL's use of a VM (unstable; see the
/// module documentation).
pub trait Shell {
    /// Compiles `source` (and its imports, read through `loader`) as the
    /// module `main` and loads it; returns the top-level code's entry point
    /// for `spawn_main`.
    fn load_main(
        &mut self,
        source: Arc<SourceFile>,
        loader: &mut dyn Loader,
    ) -> Result<EntryPoint, Vec<Diagnostic>>;
    /// Starts the main process (`<0.1>` for the first) running `entry`;
    /// when it ends, `run` returns `Idle` at once.
    fn spawn_main(&mut self, entry: EntryPoint) -> Pid;
    /// The main process's exit reason, once it has ended.
    fn main_exit(&self) -> Option<Value>;
    /// The arguments `args()` returns.
    fn set_args(&mut self, args: Vec<String>);
    /// Verifies and loads compiled modules (dependencies first); returns
    /// the last one's top-level code. A module that fails the verifier is
    /// [`Error::Invalid`] and nothing is loaded.
    ///
    /// For hosts that build or store bytecode with `weft-compiler`:
    ///
    /// ```
    /// use weft_compiler::{compile, NoImports, SourceFile};
    /// use weft_vm::shell::Shell; // `load_modules` and `environment`
    /// use weft_vm::{Error, Value, Vm};
    ///
    /// let mut vm = Vm::new();
    /// // Compiled elsewhere (at build time, say) against the names this VM offers.
    /// let source = SourceFile::new("math.weft", "fn add(a, b) { a + b }");
    /// let modules = compile(source, "main", &vm.environment(), &mut NoImports).map_err(Error::Compile)?;
    /// let mut broken = modules.clone();
    /// vm.load_modules(modules)?;
    /// assert_eq!(vm.call("add", vec![Value::from(2), Value::from(3)])?, Value::from(5));
    ///
    /// // A module changed by hand fails the verifier, and nothing of it is loaded.
    /// broken[0].protos[1].registers = 1; // `add` needs two registers for its arguments
    /// let Err(Error::Invalid(error)) = vm.load_modules(broken) else { panic!("expected Error::Invalid") };
    /// assert_eq!(error.to_string(),
    ///     "invalid bytecode in module `main`, function 1: 2 parameters and captures need more than its 1 registers");
    /// # Ok::<(), weft_vm::Error>(())
    /// ```
    fn load_modules(&mut self, modules: Vec<Module>) -> Result<EntryPoint, Error>;
    /// The function value of loaded top-level code (a REPL entry).
    fn entry_function(&self, entry: EntryPoint) -> Value;
    /// The names a program may call beyond its own functions.
    fn environment(&self) -> weft_compiler::Environment;
    /// `environment` plus the functions and imports already loaded into
    /// `main` (a REPL session's earlier entries).
    fn session_environment(&self) -> weft_compiler::Environment;
    /// Every live process and what it waits on (deadlock reports).
    fn blocked_processes(&self) -> Vec<(Pid, String)>;
    /// The live process shown as `<0.N>`, if any.
    fn pid_by_serial(&self, serial: u32) -> Option<Pid>;
    /// Whether a blocked process may still be woken from outside the VM
    /// (the network: a node's connections, open sockets; a pending
    /// asynchronous host call): an idle VM is then not deadlocked.
    fn may_be_woken(&self) -> bool;
}

impl Shell for Vm {
    fn load_main(
        &mut self,
        source: Arc<SourceFile>,
        loader: &mut dyn Loader,
    ) -> Result<EntryPoint, Vec<Diagnostic>> {
        Vm::load_main(self, source, loader)
    }

    fn spawn_main(&mut self, entry: EntryPoint) -> Pid {
        Vm::spawn_main(self, entry)
    }

    fn main_exit(&self) -> Option<Value> {
        Vm::main_exit(self)
    }

    fn set_args(&mut self, args: Vec<String>) {
        Vm::set_args(self, args)
    }

    fn load_modules(&mut self, modules: Vec<Module>) -> Result<EntryPoint, Error> {
        Vm::load_modules(self, modules)
    }

    fn entry_function(&self, entry: EntryPoint) -> Value {
        Vm::entry_function(self, entry)
    }

    fn environment(&self) -> weft_compiler::Environment {
        Vm::environment(self)
    }

    fn session_environment(&self) -> weft_compiler::Environment {
        Vm::session_environment(self)
    }

    fn blocked_processes(&self) -> Vec<(Pid, String)> {
        Vm::blocked_processes(self)
    }

    fn may_be_woken(&self) -> bool {
        self.answer_may_come()
    }

    fn pid_by_serial(&self, serial: u32) -> Option<Pid> {
        Vm::pid_by_serial(self, serial)
    }
}
