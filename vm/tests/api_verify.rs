//! Modules that fail the load-time verifier are an `Err`, never a panic or
//! an out-of-bounds access, and a rejected module leaves the VM as it was.

use weft_compiler::bytecode::{
    ConstIndex, Count, GlobalIndex, Instr, Jump, Module, ProtoIndex, Reg, SelectIndex,
};
use weft_compiler::{compile, NoImports, SourceFile};
use weft_vm::{Error, Value, Vm};

const SCRIPT: &str = "fn add(a, b) { a + b }\nfn twice(f, x) { f(f(x)) }\nlet k = 3\nprint(twice(fn(y) { add(y, k) }, 1), \"s\", 2.5)\n";

fn compiled(vm: &Vm) -> Module {
    let source = SourceFile::new("ok.weft", SCRIPT);
    let mut modules = compile(source, "main", &vm.environment(), &mut NoImports).unwrap();
    modules.pop().unwrap()
}

/// Applies `corrupt` to a freshly compiled module and loads it.
fn load_corrupted(corrupt: impl FnOnce(&mut Module)) -> (Vm, Result<(), String>) {
    let mut vm = Vm::builder().output(|_: &str| {}).build();
    let mut module = compiled(&vm);
    corrupt(&mut module);
    let result = match vm.load_modules(vec![module]) {
        Ok(_) => Ok(()),
        Err(Error::Invalid(error)) => Err(error.to_string()),
        Err(other) => panic!("expected Error::Invalid, got {other}"),
    };
    (vm, result)
}

fn rejected(what: &str, corrupt: impl FnOnce(&mut Module)) -> String {
    let (mut vm, result) = load_corrupted(corrupt);
    let message = result.expect_err(what);
    // The VM still works: the good module loads and runs.
    let good = compiled(&vm);
    vm.load_modules(vec![good])
        .expect("the intact module loads");
    assert_eq!(
        vm.call("add", vec![Value::from(2), Value::from(3)])
            .unwrap(),
        Value::from(5)
    );
    message
}

/// The index of the first prototype with at least one instruction matching.
fn find(module: &Module, pick: impl Fn(&Instr) -> bool) -> (usize, usize) {
    for (p, proto) in module.protos.iter().enumerate() {
        if let Some(i) = proto.code.iter().position(&pick) {
            return (p, i);
        }
    }
    panic!("no such instruction in the compiled script");
}

#[test]
fn the_compiled_module_passes() {
    let (_, result) = load_corrupted(|_| {});
    assert_eq!(result, Ok(()));
}

#[test]
fn a_register_past_the_frame_is_rejected() {
    let message = rejected("register", |m| {
        let registers = m.protos[0].registers;
        m.protos[0].code.insert(
            0,
            Instr::Move {
                dst: Reg::new(registers as u32),
                src: Reg::new(0),
            },
        );
        m.protos[0].spans.insert(0, Default::default());
    });
    assert!(
        message.contains("dst") && message.contains("out of range"),
        "{message}"
    );
}

#[test]
fn a_register_window_past_the_frame_is_rejected() {
    let message = rejected("window", |m| {
        let registers = m.protos[0].registers as u32;
        m.protos[0].code.insert(
            0,
            Instr::CallGlobal {
                base: Reg::new(registers - 1),
                argc: Count::new(5),
                global: GlobalIndex::new(0),
            },
        );
        m.protos[0].spans.insert(0, Default::default());
    });
    assert!(message.contains("touches registers"), "{message}");
}

#[test]
fn a_jump_outside_the_function_is_rejected() {
    for offset in [1_000_000, -5] {
        let message = rejected("jump", |m| {
            m.protos[0].code.insert(
                0,
                Instr::Loop {
                    offset: Jump::try_new(offset).unwrap(),
                },
            );
            m.protos[0].spans.insert(0, Default::default());
        });
        assert!(message.contains("jump target"), "{message}");
    }
}

/// Found by the `verify` fuzz target: a conditional jump back to itself
/// spun inside one slice forever, since only `Loop` spends a reduction.
#[test]
fn only_loop_may_jump_backwards() {
    for instr in [
        Instr::Jump {
            offset: Jump::try_new(-1).unwrap(),
        },
        Instr::JumpIfTrue {
            cond: Reg::new(0),
            offset: Jump::try_new(-1).unwrap(),
        },
    ] {
        let message = rejected("backward jump", |m| {
            m.protos[0].code.insert(
                0,
                Instr::Bool {
                    dst: Reg::new(0),
                    value: true,
                },
            );
            m.protos[0].code.insert(1, instr);
            m.protos[0].spans.insert(0, Default::default());
            m.protos[0].spans.insert(1, Default::default());
        });
        assert!(message.contains("jumps backwards"), "{message}");
    }
}

#[test]
fn constant_select_global_and_function_indices_are_checked() {
    let constants = rejected("constant", |m| {
        m.protos[0].code[0] = Instr::Const {
            dst: Reg::new(0),
            index: ConstIndex::new(9_999),
        };
    });
    assert!(constants.contains("constant 9999"), "{constants}");
    let selects = rejected("select", |m| {
        m.protos[0].code[0] = Instr::Select {
            dst: Reg::new(0),
            table: SelectIndex::new(0),
        };
    });
    assert!(selects.contains("select table"), "{selects}");
    let globals = rejected("global", |m| {
        let (p, i) = find(m, |instr| matches!(instr, Instr::CallGlobal { .. }));
        if let Instr::CallGlobal { global, .. } = &mut m.protos[p].code[i] {
            *global = GlobalIndex::new(100_000);
        }
    });
    assert!(globals.contains("global 100000"), "{globals}");
    let functions = rejected("function", |m| {
        let (p, i) = find(m, |instr| matches!(instr, Instr::Closure { .. }));
        if let Instr::Closure { proto, .. } = &mut m.protos[p].code[i] {
            *proto = ProtoIndex::new(77);
        }
    });
    assert!(functions.contains("function 77"), "{functions}");
}

#[test]
fn a_closure_whose_captures_overrun_the_frame_is_rejected() {
    let message = rejected("captures", |m| {
        let (p, i) = find(m, |instr| matches!(instr, Instr::Closure { .. }));
        let registers = m.protos[p].registers as u32;
        let mut target = 0;
        if let Instr::Closure { first, proto, .. } = &mut m.protos[p].code[i] {
            *first = Reg::new(registers - 1);
            target = proto.index();
        }
        m.protos[target].captures = 3;
    });
    assert!(
        message.contains("captures") || message.contains("registers"),
        "{message}"
    );
}

#[test]
fn broken_function_shapes_are_rejected() {
    let fall_through = rejected("fall through", |m| {
        let last = m.protos[1].code.len() - 1;
        m.protos[1].code[last] = Instr::Nil { dst: Reg::new(0) };
    });
    assert!(fall_through.contains("falls through"), "{fall_through}");
    let spans = rejected("spans", |m| {
        m.protos[0].spans.pop();
    });
    assert!(spans.contains("spans"), "{spans}");
    let empty = rejected("empty", |m| {
        m.protos[1].code.clear();
        m.protos[1].spans.clear();
    });
    assert!(empty.contains("no code"), "{empty}");
    let parameters = rejected("parameters", |m| {
        m.protos[1].arity = m.protos[1].registers + 1;
    });
    assert!(parameters.contains("parameters"), "{parameters}");
    let no_protos = rejected("no protos", |m| {
        m.protos.clear();
    });
    assert!(no_protos.contains("no top-level code"), "{no_protos}");
    let function_table = rejected("function table", |m| {
        m.functions.push(("ghost".into(), 1_000));
    });
    assert!(function_table.contains("ghost"), "{function_table}");
}

#[test]
fn a_rejected_module_loads_nothing() {
    let (mut vm, result) = load_corrupted(|m| {
        m.protos[0].spans.clear();
    });
    assert!(result.is_err());
    assert!(matches!(
        vm.call("add", vec![Value::from(1), Value::from(2)]),
        Err(Error::NoFunction(_))
    ));
}

/// Found by the `verify` fuzz target: one `Map` instruction adding 65,535
/// entries whose keys were big values hashed for minutes in one step. The
/// compiler builds map literals in chunks of 64, and the verifier holds
/// every module to that.
#[test]
fn a_map_instruction_adds_at_most_one_chunk() {
    let message = rejected("map chunk", |m| {
        m.protos[0].registers = 200;
        m.protos[0].code.insert(
            0,
            Instr::Map {
                dst: Reg::new(0),
                first: Reg::new(1),
                count: Count::new(65),
            },
        );
        m.protos[0].spans.insert(0, Default::default());
    });
    assert!(message.contains("at most 64"), "{message}");
}

/// `SpawnBlock` starts a prototype straight from the registers holding its
/// captures: the verifier checks that window as it does `Closure`'s, and
/// that the prototype is a block (no arguments, no self slot), since no
/// argument or closure value is passed.
#[test]
fn a_spawned_block_is_checked_like_a_closure() {
    // The closure `fn(y) { add(y, k) }` captures `k`: one register.
    let turn_into_spawn = |m: &mut Module, overrun: bool| -> usize {
        let (p, i) = find(m, |instr| matches!(instr, Instr::Closure { .. }));
        let registers = m.protos[p].registers as u32;
        let Instr::Closure { dst, first, proto } = m.protos[p].code[i] else {
            unreachable!()
        };
        let first = if overrun { Reg::new(registers) } else { first };
        m.protos[p].code[i] = Instr::SpawnBlock { dst, first, proto };
        proto.index()
    };
    let overrun = rejected("captures", |m| {
        turn_into_spawn(m, true);
    });
    assert!(overrun.contains("SpawnBlock captures"), "{overrun}");
    let with_arguments = rejected("arguments", |m| {
        turn_into_spawn(m, false);
    });
    assert!(
        with_arguments.contains("starts a function of 1 arguments"),
        "{with_arguments}"
    );
    let with_self = rejected("self slot", |m| {
        let target = turn_into_spawn(m, false);
        m.protos[target].arity = 0;
        m.protos[target].self_slot = true;
    });
    assert!(with_self.contains("self slot"), "{with_self}");
}
