//! `weft disasm`: bytecode as text, one instruction a line, with the source
//! line each came from. Operand names come from the opcode list itself.

use std::fmt::Write as _;

use crate::bytecode::{Constant, Instr, Module, OperandKind, Proto};

/// Disassembles every function of the modules.
pub fn module_text(modules: &[Module]) -> String {
    let mut out = String::new();
    for module in modules {
        for proto in &module.protos {
            proto_text(module, proto, &mut out);
            out.push('\n');
        }
    }
    out
}

fn proto_text(module: &Module, proto: &Proto, out: &mut String) {
    let name = if proto.name.is_empty() {
        "<fn>"
    } else {
        &proto.name
    };
    let (line, _) = module.source.line_col(proto.span.start);
    let _ = writeln!(
        out,
        "fn {name}/{} ({}:{line}) registers={} captures={}",
        proto.arity, module.source.name, proto.registers, proto.captures
    );
    for (i, constant) in proto.constants.iter().enumerate() {
        let _ = writeln!(out, "  const {i} = {}", constant_text(constant));
    }
    let mut last_line = 0;
    for (pc, instr) in proto.code.iter().enumerate() {
        let (line, _) = module.source.line_col(proto.spans[pc].start);
        let line_text = if line != last_line {
            format!("{line:>4}")
        } else {
            "   |".to_string()
        };
        last_line = line;
        let _ = writeln!(
            out,
            "  {pc:04} {line_text}  {}",
            instr_text(module, proto, pc, instr)
        );
    }
}

/// Disassembles the function `name` of the modules (the last definition
/// wins), or None if none defines it.
pub fn function_text(modules: &[Module], name: &str) -> Option<String> {
    for module in modules.iter().rev() {
        if let Some(proto) = module.protos.iter().rev().find(|p| p.name == name) {
            let mut out = String::new();
            proto_text(module, proto, &mut out);
            return Some(out);
        }
    }
    None
}

fn constant_text(constant: &Constant) -> String {
    match constant {
        Constant::Int(n) => n.to_string(),
        Constant::Float(f) => format!("{f:?}"),
        Constant::Str(s) => format!("{s:?}"),
        Constant::Atom(a) => crate::atom_source(a),
        Constant::Bytes(b) => {
            let mut out = String::new();
            crate::write_bytes_source(&mut out, b);
            out
        }
    }
}

/// One instruction: its name, then each operand as `name=value`, shown by
/// its kind: registers as `r3`, jump targets absolute (`->0012`), constants,
/// globals and functions by what they name.
pub fn instr_text(module: &Module, proto: &Proto, pc: usize, instr: &Instr) -> String {
    let mut text = format!("{:<18}", instr.name());
    for operand in instr.operands() {
        let value = operand.value;
        let shown = match operand.kind {
            OperandKind::Register => format!("r{value}"),
            OperandKind::Jump => format!("->{:04}", pc as i64 + 1 + value),
            OperandKind::Global => module
                .globals
                .get(value as usize)
                .cloned()
                .unwrap_or_else(|| value.to_string()),
            OperandKind::Constant => proto
                .constants
                .get(value as usize)
                .map(constant_text)
                .unwrap_or_else(|| value.to_string()),
            OperandKind::Proto => {
                let target = module
                    .protos
                    .get(value as usize)
                    .map(|p| p.name.as_str())
                    .unwrap_or("");
                if target.is_empty() {
                    value.to_string()
                } else {
                    format!("{value}({target})")
                }
            }
            OperandKind::Flag => (value != 0).to_string(),
            OperandKind::Count | OperandKind::Select | OperandKind::Int | OperandKind::Code => {
                value.to_string()
            }
        };
        let _ = write!(text, " {}={shown}", operand.name);
    }
    text.trim_end().to_string()
}
