//! The load-time verifier: checks a module's bytecode before the VM runs it.
//!
//! The VM indexes registers, constants, tables and code without further
//! checks once a module has passed, so this is what keeps a malformed module
//! (a bug in a code generator, a corrupted or hostile file) from panicking
//! the VM or reading out of bounds. The checks come from the operand kinds
//! of the one opcode list (`bytecode.rs`), plus the few that need another
//! table: a closure's capture window, a select table's registers.
//!
//! Invariants established for every prototype of a module that passes:
//! - `code` is non-empty, as long as `spans`, and its last instruction does
//!   not fall through;
//! - parameters, captures and the self slot fit in `registers`;
//! - every register operand and register window is below `registers`;
//! - every jump lands on an instruction of the same prototype, and only
//!   `Loop` jumps backwards: every cycle in a function's control flow runs
//!   through a `Loop`, which spends a reduction, so a slice always ends
//!   (calls spend one too);
//! - every constant, select table, prototype and global index is in range;
//! - a `Map` or `MapInsert` adds at most `MAP_CHUNK` entries (hashing is
//!   not resumable, so this bounds the work of one instruction).

use crate::bytecode::{Instr, Module, OperandKind, Proto, SelectArm};

/// Why a module was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// The module's name.
    pub module: String,
    /// The prototype (index in the module) and instruction, when one is at fault.
    pub proto: Option<usize>,
    pub pc: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid bytecode in module `{}`", self.module)?;
        if let Some(proto) = self.proto {
            write!(f, ", function {proto}")?;
        }
        if let Some(pc) = self.pc {
            write!(f, ", instruction {pc}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Checks every prototype of `module` (see the module's invariants).
pub fn verify_module(module: &Module) -> Result<(), VerifyError> {
    let error = |proto: Option<usize>, pc: Option<usize>, message: String| VerifyError {
        module: module.name.clone(),
        proto,
        pc,
        message,
    };
    if module.protos.is_empty() {
        return Err(error(None, None, "the module has no top-level code".into()));
    }
    for (name, index) in &module.functions {
        if *index as usize >= module.protos.len() {
            return Err(error(
                None,
                None,
                format!("function `{name}` names prototype {index}, which does not exist"),
            ));
        }
    }
    for (index, proto) in module.protos.iter().enumerate() {
        verify_proto(module, proto).map_err(|(pc, message)| error(Some(index), pc, message))?;
    }
    Ok(())
}

fn verify_proto(module: &Module, proto: &Proto) -> Result<(), (Option<usize>, String)> {
    let registers = proto.registers as u32;
    let length = proto.code.len();
    if length == 0 {
        return Err((None, "the function has no code".into()));
    }
    if proto.spans.len() != length {
        return Err((
            None,
            format!("{} spans for {length} instructions", proto.spans.len()),
        ));
    }
    if proto.entry_registers() > registers {
        return Err((
            None,
            format!(
                "{} parameters and captures need more than its {registers} registers",
                proto.entry_registers()
            ),
        ));
    }
    if !proto.code[length - 1].ends_flow() {
        return Err((
            Some(length - 1),
            "the last instruction falls through".into(),
        ));
    }
    for table in &proto.selects {
        let arms = table.arms.iter().flat_map(|arm| match *arm {
            SelectArm::Recv { chan, value } | SelectArm::Send { chan, value } => [chan, value],
        });
        for register in arms.chain(table.timeout) {
            if register.get() >= registers {
                return Err((
                    None,
                    format!("a select table names register {}", register.get()),
                ));
            }
        }
    }
    for (pc, instr) in proto.code.iter().enumerate() {
        verify_instr(module, proto, pc, instr).map_err(|message| (Some(pc), message))?;
    }
    Ok(())
}

fn verify_instr(module: &Module, proto: &Proto, pc: usize, instr: &Instr) -> Result<(), String> {
    let registers = proto.registers as u64;
    let windows = instr.windows();
    for operand in instr.operands() {
        let value = operand.value;
        let (ok, what) = match operand.kind {
            OperandKind::Register if windows.iter().any(|w| w.0 == operand.name) => (true, ""),
            OperandKind::Register => ((value as u64) < registers, "register"),
            OperandKind::Jump => {
                let target = pc as i64 + 1 + value;
                if value < 0 && !matches!(instr, Instr::Loop { .. }) {
                    return Err(format!(
                        "{} jumps backwards ({value}); only Loop may, since it spends a reduction",
                        instr.name()
                    ));
                }
                (
                    target >= 0 && (target as usize) < proto.code.len(),
                    "jump target",
                )
            }
            OperandKind::Constant => ((value as usize) < proto.constants.len(), "constant"),
            OperandKind::Select => ((value as usize) < proto.selects.len(), "select table"),
            OperandKind::Global => ((value as usize) < module.globals.len(), "global"),
            OperandKind::Proto => ((value as usize) < module.protos.len(), "function"),
            OperandKind::Count | OperandKind::Int | OperandKind::Flag | OperandKind::Code => {
                (true, "")
            }
        };
        if !ok {
            return Err(format!(
                "{} `{}` of {} is out of range ({what} {value})",
                operand.name,
                value,
                instr.name()
            ));
        }
    }
    for (_, first, length) in windows {
        if first as u64 + length as u64 > registers {
            return Err(format!(
                "{} touches registers {first}..{} of {registers}",
                instr.name(),
                first as u64 + length as u64
            ));
        }
    }
    if let Instr::Map { count, .. } | Instr::MapInsert { count, .. } = *instr {
        if count.get() > crate::bytecode::MAP_CHUNK {
            return Err(format!(
                "{} adds {} entries; at most {} may be added by one instruction",
                instr.name(),
                count.get(),
                crate::bytecode::MAP_CHUNK
            ));
        }
    }
    if let Instr::Closure {
        first,
        proto: target,
        ..
    }
    | Instr::SpawnBlock {
        first,
        proto: target,
        ..
    }
    | Instr::SpawnLinkBlock {
        first,
        proto: target,
        ..
    } = *instr
    {
        let target = &module.protos[target.index()];
        let captures = target.captures as u64;
        if first.get() as u64 + captures > registers {
            return Err(format!(
                "{} captures registers {}..{} of {registers}",
                instr.name(),
                first.get(),
                first.get() as u64 + captures
            ));
        }
        // A spawned block takes no arguments and has no closure value for
        // a self slot to hold.
        if !matches!(*instr, Instr::Closure { .. }) && (target.arity != 0 || target.self_slot) {
            return Err(format!(
                "{} starts a function of {} arguments{}",
                instr.name(),
                target.arity,
                if target.self_slot {
                    " with a self slot"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(())
}
