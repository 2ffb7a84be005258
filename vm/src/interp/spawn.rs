//! Starting a process on a function value: a Weft function's first frame,
//! or a native's trampoline.

use std::sync::atomic::Ordering;

use crate::data::atom::Atom;
use crate::data::ops::{describe_value, OpError};
use crate::data::value::{FnKind, Pid, Value};
use crate::interp::code::{Code, Global};
use crate::process::Watcher;
use crate::runtime::scheduler::Scheduler;

impl Scheduler {
    /// `spawn { ... }` (`SpawnBlock`): a new process running prototype
    /// `index` over `captures`, with no closure value built for it (the
    /// verifier has checked that the prototype takes no arguments and has
    /// no self slot).
    pub(crate) fn spawn_block(
        &mut self,
        code: &Code,
        index: u32,
        captures: impl IntoIterator<Item = Value>,
        watcher: Watcher<'_>,
    ) -> Result<Pid, OpError> {
        self.below_process_limit()?;
        self.start_weft(code, index, Vec::new(), captures, None, watcher)
    }

    /// Refuses a spawn at the VM's process limit.
    fn below_process_limit(&self) -> Result<(), OpError> {
        if self.shared.table.live.load(Ordering::Relaxed) >= self.limits.max_processes {
            return Err(crate::runtime::scheduler::limit_error(
                self.limits.max_processes,
            ));
        }
        Ok(())
    }

    /// Starts a process in Weft prototype `index`: its registers are the
    /// arguments, the captures, and the closure itself for a self slot.
    fn start_weft(
        &mut self,
        code: &Code,
        index: u32,
        args: Vec<Value>,
        captures: impl IntoIterator<Item = Value>,
        closure: Option<&Value>,
        watcher: Watcher<'_>,
    ) -> Result<Pid, OpError> {
        // The stack is exactly the function's registers (the first frame
        // at base 0): an idle process's memory is mostly its registers.
        let registers = code.protos[index as usize].registers as usize;
        let mut stack = self.spare_stack(registers);
        stack.extend(args);
        stack.extend(captures);
        if let Some(closure) = closure {
            stack.push(closure.clone());
        }
        stack.resize(registers, Value::Nil);
        self.start_process_at(index, stack, 0, watcher)
    }

    /// `spawn f(args)`: a new process calling the function value.
    pub(crate) fn spawn_value(
        &mut self,
        code: &Code,
        function: &Value,
        args: Vec<Value>,
        watcher: Watcher<'_>,
    ) -> Result<Pid, OpError> {
        self.below_process_limit()?;
        let Value::Fn(f) = function else {
            return Err((
                Atom::BADARG,
                format!("`spawn` needs a function, got {}", describe_value(function)),
            ));
        };
        let (proto, captures): (Option<u32>, &[Value]) = match &f.kind {
            FnKind::Weft { proto, captures } => (Some(*proto), captures),
            FnKind::Global(slot) => match &code.globals[*slot as usize] {
                Global::Weft(proto) => (Some(*proto), &[]),
                Global::Undefined => {
                    return Err((
                        Atom::UNDEF,
                        format!("{} is not defined", code.global_names[*slot as usize]),
                    ))
                }
                _ => (None, &[]),
            },
        };
        match proto {
            Some(index) => {
                let target = &code.protos[index as usize];
                if target.arity as usize != args.len() {
                    return Err((
                        Atom::BADARITY,
                        format!(
                            "{} takes {} arguments, got {}",
                            target.name,
                            target.arity,
                            args.len()
                        ),
                    ));
                }
                let closure = target.self_slot.then_some(function);
                self.start_weft(
                    code,
                    index,
                    args,
                    captures.iter().cloned(),
                    closure,
                    watcher,
                )
            }
            None => {
                // A native: run it through a two-instruction trampoline.
                let trampoline = code.trampolines.get(args.len()).copied();
                let Some(trampoline) = trampoline else {
                    return Err((
                        Atom::BADARG,
                        "too many arguments to spawn a builtin".to_string(),
                    ));
                };
                let mut stack = Vec::with_capacity(2 + args.len());
                stack.push(Value::Nil);
                stack.push(function.clone());
                stack.extend(args);
                self.start_process(trampoline, stack, watcher)
            }
        }
    }
}
