//! The limits a host sets on a VM, and what happens past each: the process
//! at fault dies with `(:error, :system_limit, ...)` (or `spawn` fails), and the
//! others go on.

use weft_vm::{Error, Event, RunStatus, Value, Vm};

const WATCH: &str = r#"
fn idle() { receive { :never_sent => nil } }
fn echo(host) { receive { m => host ! m }; echo(host) }
fn watch(host, pid) {
  monitor(pid)
  host ! :watching
  receive { (:down, _, _, reason) => host ! (:down, reason) }
}
"#;

/// Spawns a watcher that reports `pid`'s exit reason to the host.
fn watch(vm: &mut Vm, pid: weft_vm::Pid) {
    vm.spawn("watch", vec![vm.host_pid().into(), pid.into()])
        .unwrap();
    vm.run_until_idle();
    assert_eq!(vm.recv(), Some(Value::atom("watching")));
}

fn crash_kinds(vm: &mut Vm) -> Vec<String> {
    vm.take_events()
        .into_iter()
        .map(|event| match event {
            Event::Crash { error, .. } => error.kind.name().to_string(),
            Event::Exit { reason, .. } => reason.to_string(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn max_processes_makes_host_spawn_fail_with_limit() {
    let mut vm = Vm::builder().max_processes(2).build();
    vm.load("w.weft", WATCH).unwrap();
    let first = vm.spawn("idle", vec![]).unwrap();
    vm.spawn("idle", vec![]).unwrap();
    match vm.spawn("idle", vec![]) {
        Err(error @ Error::Limit(_)) => assert!(error.to_string().contains('2'), "{error}"),
        other => panic!("expected Error::Limit, got {other:?}"),
    }
    // `call` starts a process too.
    assert!(matches!(vm.call("idle", vec![]), Err(Error::Limit(_))));
    // A process ending frees its place.
    vm.kill(first);
    vm.run_until_idle();
    assert!(vm.spawn("idle", vec![]).is_ok());
}

#[test]
fn max_processes_makes_weft_spawn_a_limit_error_in_the_spawner() {
    let mut vm = Vm::builder().max_processes(3).build();
    vm.load(
        "w.weft",
        &format!("{WATCH}\nfn spawner(host) {{ for i in 0..10 {{ spawn idle(); host ! i }} }}"),
    )
    .unwrap();
    let echo = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    let spawner = vm.spawn("spawner", vec![vm.host_pid().into()]).unwrap();
    vm.run_until_idle();
    // Room for one more process: the first `spawn` works, the second fails.
    assert_eq!(vm.recv(), Some(Value::from(0)));
    assert_eq!(vm.recv(), None);
    assert!(!vm.is_alive(spawner));
    assert_eq!(crash_kinds(&mut vm), ["system_limit"]);
    vm.send(echo, Value::atom("still_here"));
    vm.run_until_idle();
    assert_eq!(vm.recv(), Some(Value::atom("still_here")));
}

#[test]
fn max_mailbox_kills_the_receiver_with_limit() {
    let mut vm = Vm::builder().max_mailbox(5).build();
    vm.load("w.weft", WATCH).unwrap();
    let full = vm.spawn("idle", vec![]).unwrap();
    let echo = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    watch(&mut vm, full);
    for i in 0..5 {
        vm.send(full, Value::from(i));
    }
    vm.run_until_idle();
    assert!(vm.is_alive(full), "five messages fit");
    assert_eq!(
        vm.processes()
            .iter()
            .find(|p| p.pid == full)
            .unwrap()
            .mailbox,
        5
    );
    vm.send(full, Value::from(5));
    vm.run_until_idle();
    assert!(!vm.is_alive(full), "the sixth is one too many");
    let down = vm.recv().unwrap();
    let reason = &down.as_tuple().unwrap()[1];
    let fields = reason.as_tuple().unwrap();
    assert_eq!(fields[0], Value::atom("error"));
    assert_eq!(fields[1], Value::atom("system_limit"));
    assert!(fields[2].as_str().unwrap().contains("mailbox"), "{reason}");

    // The others go on.
    vm.send(echo, Value::atom("ok"));
    vm.run_until_idle();
    assert_eq!(vm.recv(), Some(Value::atom("ok")));
}

#[test]
fn max_mailbox_applies_to_messages_from_weft_too() {
    let mut vm = Vm::builder().max_mailbox(10).build();
    vm.load(
        "w.weft",
        &format!("{WATCH}\nfn flood(pid, host) {{ for i in 0..20 {{ pid ! i }}; host ! (:flooded, alive(pid)) }}"),
    )
    .unwrap();
    let victim = vm.spawn("idle", vec![]).unwrap();
    vm.spawn("flood", vec![victim.into(), vm.host_pid().into()])
        .unwrap();
    vm.run_until_idle();
    // The sender is not at fault and goes on; the receiver died.
    assert_eq!(vm.recv().unwrap().to_string(), "(:flooded, false)");
    assert!(!vm.is_alive(victim));
}

#[test]
fn max_heap_kills_a_process_whose_stack_grows_past_it() {
    let mut vm = Vm::builder().max_heap(64 * 1024).build();
    vm.load(
        "w.weft",
        &format!("{WATCH}\nfn depth(n) {{ if n == 0 {{ 0 }} else {{ 1 + depth(n - 1) }} }}"),
    )
    .unwrap();
    let echo = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    assert_eq!(
        vm.call("depth", vec![Value::from(100)]).unwrap(),
        Value::from(100)
    );
    match vm.call("depth", vec![Value::from(100_000)]) {
        Err(Error::Runtime(error)) => {
            assert_eq!(error.kind.name(), "system_limit");
            assert_eq!(
                error.reason().as_tuple().unwrap()[1],
                Value::atom("system_limit")
            );
        }
        other => panic!("expected a :system_limit error, got {other:?}"),
    }
    assert_eq!(crash_kinds(&mut vm), ["system_limit"]);
    vm.send(echo, Value::atom("ok"));
    vm.run_until_idle();
    assert_eq!(vm.recv(), Some(Value::atom("ok")));
}

#[test]
fn without_max_heap_deep_recursion_works() {
    let mut vm = Vm::new();
    vm.load(
        "w.weft",
        "fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } }",
    )
    .unwrap();
    assert_eq!(
        vm.call("depth", vec![Value::from(100_000)]).unwrap(),
        Value::from(100_000)
    );
}

#[test]
fn reductions_sets_the_slice_length() {
    // Two spinners and a budget of 1000: with slices of 100 they take turns.
    let mut vm = Vm::builder().reductions(100).build();
    vm.load("s.weft", "fn spin() { loop {} }").unwrap();
    vm.spawn("spin", vec![]).unwrap();
    vm.spawn("spin", vec![]).unwrap();
    assert_eq!(vm.run(1_000), RunStatus::BudgetSpent);
    let spent: Vec<u64> = vm.processes().iter().map(|p| p.reductions).collect();
    assert_eq!(spent.len(), 2);
    assert!(spent.iter().all(|&r| (400..=600).contains(&r)), "{spent:?}");

    // With the default slice (2000) the first spinner takes all 1000.
    let mut vm = Vm::new();
    vm.load("s.weft", "fn spin() { loop {} }").unwrap();
    vm.spawn("spin", vec![]).unwrap();
    vm.spawn("spin", vec![]).unwrap();
    assert_eq!(vm.run(1_000), RunStatus::BudgetSpent);
    let spent: Vec<u64> = vm.processes().iter().map(|p| p.reductions).collect();
    assert_eq!(spent, [1_000, 0]);
    assert_eq!(weft_vm::DEFAULT_REDUCTIONS, 2_000);
}

#[test]
fn limits_default_to_generous_values() {
    let limits = weft_vm::Limits::default();
    assert_eq!(limits.reductions, weft_vm::DEFAULT_REDUCTIONS);
    assert!(limits.max_processes >= 1_000_000);
    assert_eq!(limits.max_mailbox, usize::MAX);
    assert_eq!(limits.max_heap, usize::MAX);
}

/// The stack limit counts registers, not only frames: non-tail recursion
/// through a function with 30,000 live locals (as many registers) stops
/// with `:stack_overflow` about a thousand frames deep, at 512 MiB of
/// registers, instead of taking gigabytes on the way to the frame limit
/// (it used to allocate 3.9 GB at 4,000 frames and abort).
#[test]
fn the_stack_limit_counts_registers() {
    const LOCALS: usize = 30_000;
    let mut source = String::from("fn wide(n) {\n");
    for i in 0..LOCALS {
        source.push_str(&format!("  let v{i} = n + {i}\n"));
    }
    source.push_str("  let r = wide(n + 1)\n  len((");
    for i in 0..LOCALS {
        source.push_str(&format!("v{i}, "));
    }
    source.push_str("r))\n}\n");
    let mut vm = Vm::new();
    vm.load("wide.weft", &source).unwrap();
    match vm.call("wide", vec![Value::from(0)]) {
        Err(Error::Runtime(error)) => {
            assert_eq!(error.kind.name(), "stack_overflow", "{}", error.message);
            assert!(error.message.contains("registers"), "{}", error.message);
        }
        other => panic!("expected :stack_overflow, got {other:?}"),
    }
}

/// Strings that only name a node to connect to are not interned: a
/// sandboxed script asking for a hundred thousand made-up nodes leaves the
/// atom table as it was (it grew by one atom each, kept for good).
#[test]
fn node_names_from_scripts_do_not_grow_the_atom_table() {
    let mut vm = Vm::new();
    vm.load(
        "names.weft",
        "fn names(n) { for i in 0..n { node.connect(format(\"made_up_{}@nowhere\", i)) }; :done }",
    )
    .unwrap();
    let before = weft_vm::Atom::count();
    assert_eq!(
        vm.call("names", vec![Value::from(100_000)]).unwrap(),
        Value::atom("done")
    );
    let grown = weft_vm::Atom::count() - before;
    assert!(grown < 10, "{grown} atoms for node names");
}
