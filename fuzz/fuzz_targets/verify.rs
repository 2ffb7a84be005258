//! The module verifier on arbitrary modules, and the interpreter on every
//! module the verifier accepts. Inputs are either wholly random modules
//! (prototypes, instructions, constants, select tables, globals) or real
//! compiled programs with random edits to their bytecode. Verification must
//! never panic; a module it accepts must run without a panic or an
//! out-of-bounds access, only runtime errors.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use weft_compiler::bytecode::{Constant, Instr, Module, Proto, SelectTable};
use weft_compiler::{compile, verify_module, NoImports, SourceFile, Span};

/// Globals a random module may call: real builtins, and its own functions.
const GLOBALS: &[&str] = &[
    "print",
    "len",
    "str",
    "inspect",
    "exit",
    "self",
    "spawn",
    "list.sort",
    "map.put",
    "chan",
    "close",
    "main.f0",
    "main.f1",
    "main.f2",
    "no.such",
];

#[derive(Arbitrary, Debug)]
enum Input {
    Random {
        protos: Vec<Proto>,
        /// (name number, prototype index) for `main.fN`.
        functions: Vec<(u8, u32)>,
        globals: Vec<u8>,
        /// Keep the random span tables (usually wrong lengths) instead of
        /// one span per instruction.
        keep_spans: bool,
    },
    Mutated {
        program: u8,
        edits: Vec<Edit>,
    },
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Replace {
        proto: u8,
        at: u16,
        instr: Instr,
    },
    Insert {
        proto: u8,
        at: u16,
        instr: Instr,
    },
    Remove {
        proto: u8,
        at: u16,
    },
    Registers {
        proto: u8,
        registers: u16,
    },
    Shape {
        proto: u8,
        arity: u16,
        captures: u16,
        self_slot: bool,
    },
    Constant {
        proto: u8,
        at: u8,
        constant: Constant,
    },
    Select {
        proto: u8,
        at: u8,
        table: SelectTable,
    },
    Global {
        at: u8,
        name: u8,
    },
}

fn random_module(
    mut protos: Vec<Proto>,
    functions: Vec<(u8, u32)>,
    globals: Vec<u8>,
    keep_spans: bool,
) -> Module {
    if !keep_spans {
        for proto in &mut protos {
            proto.spans = vec![Span::default(); proto.code.len()];
        }
    }
    Module {
        name: "main".into(),
        source: SourceFile::new("fuzz.weft", ""),
        protos,
        functions: functions
            .into_iter()
            .map(|(n, index)| (format!("f{}", n % 3), index))
            .collect(),
        imports: Vec::new(),
        globals: globals
            .into_iter()
            .map(|g| GLOBALS[g as usize % GLOBALS.len()].to_string())
            .collect(),
    }
}

fn mutated_module(program: u8, edits: Vec<Edit>) -> Option<Module> {
    let text = weft_fuzz::PROGRAMS[program as usize % weft_fuzz::PROGRAMS.len()];
    let source = SourceFile::new("fuzz.weft", text);
    let mut modules = compile(source, "main", weft_fuzz::environment(), &mut NoImports).ok()?;
    let mut module = modules.pop()?;
    let count = module.protos.len();
    for edit in edits {
        let pick = |p: u8| p as usize % count;
        match edit {
            Edit::Replace { proto, at, instr } => {
                let code = &mut module.protos[pick(proto)].code;
                if !code.is_empty() {
                    let at = at as usize % code.len();
                    code[at] = instr;
                }
            }
            Edit::Insert { proto, at, instr } => {
                let proto = &mut module.protos[pick(proto)];
                let at = at as usize % (proto.code.len() + 1);
                proto.code.insert(at, instr);
                proto.spans.insert(at, Span::default());
            }
            Edit::Remove { proto, at } => {
                let proto = &mut module.protos[pick(proto)];
                if !proto.code.is_empty() {
                    let at = at as usize % proto.code.len();
                    proto.code.remove(at);
                    proto.spans.remove(at);
                }
            }
            Edit::Registers { proto, registers } => {
                module.protos[pick(proto)].registers = registers;
            }
            Edit::Shape {
                proto,
                arity,
                captures,
                self_slot,
            } => {
                let proto = &mut module.protos[pick(proto)];
                proto.arity = arity % 8;
                proto.captures = captures % 8;
                proto.self_slot = self_slot;
            }
            Edit::Constant {
                proto,
                at,
                constant,
            } => {
                let constants = &mut module.protos[pick(proto)].constants;
                if constants.is_empty() {
                    constants.push(constant);
                } else {
                    let at = at as usize % constants.len();
                    constants[at] = constant;
                }
            }
            Edit::Select { proto, at, table } => {
                let selects = &mut module.protos[pick(proto)].selects;
                if selects.is_empty() {
                    selects.push(table);
                } else {
                    let at = at as usize % selects.len();
                    selects[at] = table;
                }
            }
            Edit::Global { at, name } => {
                let name = GLOBALS[name as usize % GLOBALS.len()].to_string();
                if module.globals.is_empty() {
                    module.globals.push(name);
                } else {
                    let at = at as usize % module.globals.len();
                    module.globals[at] = name;
                }
            }
        }
    }
    Some(module)
}

fuzz_target!(|input: Input| {
    let module = match input {
        Input::Random {
            protos,
            functions,
            globals,
            keep_spans,
        } => random_module(protos, functions, globals, keep_spans),
        Input::Mutated { program, edits } => match mutated_module(program, edits) {
            Some(module) => module,
            None => return,
        },
    };
    let verdict = verify_module(&module);
    let mut vm = weft_fuzz::sandbox();
    let loaded = vm.load_modules(vec![module]);
    // The VM loads exactly what the verifier accepts.
    assert_eq!(verdict.is_ok(), loaded.is_ok(), "{verdict:?}");
    if let Ok(entry) = loaded {
        weft_fuzz::run_bounded(&mut vm, entry, 10);
    }
});
