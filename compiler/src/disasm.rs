//! `weft disasm`: bytecode as text, one instruction a line, with the source
//! line each came from. Operand names come from the opcode list itself.

use std::fmt::Write as _;

use crate::bytecode::{Constant, Instr, Module, Proto};

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
        Constant::Atom(a) => format!(":{a}"),
    }
}

/// One instruction: its name, then each operand as `name=value`; jump
/// targets are absolute, globals and constants are shown by name.
pub fn instr_text(module: &Module, proto: &Proto, pc: usize, instr: &Instr) -> String {
    let mut text = format!("{:<18}", instr.name());
    for (name, value) in instr.operands() {
        let shown = match name {
            "offset" => format!("->{:04}", pc as i64 + 1 + value),
            "global" => module
                .globals
                .get(value as usize)
                .cloned()
                .unwrap_or_else(|| value.to_string()),
            "index" if matches!(instr, Instr::Const { .. }) => proto
                .constants
                .get(value as usize)
                .map(constant_text)
                .unwrap_or_else(|| value.to_string()),
            "proto" => {
                let target = module
                    .protos
                    .get(value as usize)
                    .map(|p| p.name.as_str())
                    .unwrap_or("");
                format!(
                    "{value}{}",
                    if target.is_empty() {
                        String::new()
                    } else {
                        format!("({target})")
                    }
                )
            }
            "dst" | "src" | "a" | "b" | "base" | "obj" | "key" | "map" | "cond" | "first"
            | "iter" | "cursor" | "chan" | "value" | "to" | "msg"
                if !matches!(
                    instr,
                    Instr::Int { .. }
                        | Instr::Bool { .. }
                        | Instr::AddInt { .. }
                        | Instr::JumpIfNotLtInt { .. }
                ) || name != "value" =>
            {
                format!("r{value}")
            }
            _ => value.to_string(),
        };
        let _ = write!(text, " {name}={shown}");
    }
    text.trim_end().to_string()
}
