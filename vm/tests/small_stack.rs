//! Nothing a script does overflows a host thread's stack: values nested
//! 1,000,000 deep are built, compared, ordered, hashed, printed, sent,
//! received and dropped on a 256 KiB thread, by scripts and by the host.
//! A failure here is an abort ("thread has overflowed its stack"), which
//! takes the whole test binary down — that is the bug these tests guard.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use weft_vm::{RunStatus, Value, Vm};

const SMALL_STACK: usize = 256 * 1024;
const DEPTH: usize = 1_000_000;

/// Runs `f` on a thread with a 256 KiB stack and returns its result.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn a small-stack thread")
        .join()
        .expect("the small-stack thread panicked")
}

fn nested_list(depth: usize, leaf: i64) -> Value {
    let mut value = Value::from(leaf);
    for _ in 0..depth {
        value = Value::list(vec![value]);
    }
    value
}

/// Runs a script's `main(host)` to its end and returns what it sent the
/// host, as printed strings, and everything it printed.
fn run_script(script: &'static str) -> (Vec<String>, String) {
    let printed = Arc::new(Mutex::new(String::new()));
    let sink = printed.clone();
    let mut vm = Vm::builder()
        .output(move |text: &str| sink.lock().unwrap().push_str(text))
        .build();
    vm.load("deep.weft", script).expect("the script compiles");
    vm.spawn("main", vec![vm.host_pid().into()]).unwrap();
    let mut rounds = 0;
    while vm.run(1_000_000) == RunStatus::BudgetSpent {
        rounds += 1;
        assert!(rounds < 10_000, "the script did not finish");
    }
    for event in vm.take_events() {
        if let weft_vm::Event::Crash { error, .. } = event {
            panic!(
                "the script crashed: :{}: {}",
                error.kind.name(),
                error.message
            );
        }
    }
    let mut sent = Vec::new();
    while let Some(value) = vm.recv() {
        sent.push(value.inspect_within(200));
    }
    let printed = printed.lock().unwrap().clone();
    (sent, printed)
}

const WALKS: &str = r#"
fn nest(n, leaf) {
  let x = leaf
  for _ in 0..n { x = [x] }
  x
}
fn main(host) {
  let a = nest(1000000, 0)
  let b = nest(1000000, 0)
  let c = nest(1000000, 1)
  host ! (a == b, a == c, a != c)
  host ! (a < c, c < a, a <= b, c >= a)
  let m = %{a => :found}
  host ! map.get(m, b, :missing)
  host ! map.get(m, c, :missing)
  host ! (len(str(a)), len(inspect(c)))
  print(a)
  let t = 0
  for _ in 0..1000000 { t = (t,) }
  let u = %{}
  for _ in 0..1000000 { u = %{:k => u} }
  host ! (t == t, u == u, t <= t, len(str(u)))
  let f = fn() { 0 }
  for _ in 0..1000000 { let g = f
    f = fn() { g } }
  let ch = chan(1)
  for _ in 0..1000000 { let next = chan(1)
    next <- ch
    ch = next }
  host ! :built
}
"#;

#[test]
fn scripts_walk_values_nested_a_million_deep_on_a_small_stack() {
    let (sent, printed) = on_small_stack(|| run_script(WALKS));
    assert_eq!(
        sent,
        [
            "(true, false, true)",
            "(true, false, true, true)",
            ":found",
            ":missing",
            "(2000001, 2000001)",
            "(true, true, true, 9000003)",
            ":built",
        ]
    );
    assert_eq!(printed.len(), 2 * DEPTH + 2);
    assert!(printed.starts_with("[[[") && printed.ends_with("]]]\n"));
}

const MESSAGES: &str = r#"
fn echo() { receive { (from, v) => from ! v } }
fn main(host) {
  let x = 0
  for _ in 0..1000000 { x = [x] }
  let p = spawn echo()
  p ! (self(), x)
  receive { v => host ! (v == x) }
  host ! x
}
"#;

#[test]
fn values_nested_a_million_deep_travel_between_processes_and_to_the_host() {
    let ok = on_small_stack(|| {
        let mut vm = Vm::new();
        vm.load("deep.weft", MESSAGES).unwrap();
        vm.spawn("main", vec![vm.host_pid().into()]).unwrap();
        while vm.run(1_000_000) == RunStatus::BudgetSpent {}
        let same = vm.recv();
        let deep = vm.recv().expect("the deep value reached the host");
        let expected = nested_list(DEPTH, 0);
        same == Some(Value::from(true)) && deep == expected
    });
    assert!(ok);
}

#[test]
// A channel inside a value has a lock, but a value's hash never reads it.
#[allow(clippy::mutable_key_type)]
fn the_host_compares_hashes_prints_and_drops_deep_values_on_a_small_stack() {
    on_small_stack(|| {
        let a = nested_list(DEPTH, 0);
        let b = nested_list(DEPTH, 0);
        let c = nested_list(DEPTH, 1);
        assert!(a == b);
        assert!(a != c);
        assert_eq!(a.clone(), b);
        let mut set = HashSet::new();
        set.insert(a.clone());
        assert!(set.contains(&b));
        assert!(!set.contains(&c));
        assert_eq!(a.to_string().len(), 2 * DEPTH + 1);
        assert_eq!(format!("{c:?}").len(), 2 * DEPTH + 1);
        let cut = a.inspect_within(100);
        assert!(cut.chars().count() <= 101, "{cut}");
        // A host sends a deep value into the VM and gets it back.
        let mut vm = Vm::new();
        vm.load("echo.weft", "fn echo(host) { receive { v => host ! [v] } }")
            .unwrap();
        let echo = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
        vm.send(echo, c.clone());
        vm.run_until_idle();
        assert_eq!(vm.recv(), Some(Value::list(vec![c])));
        drop((a, b, set));
    });
}

#[test]
fn the_compiler_rejects_a_million_open_brackets_on_a_small_stack() {
    for (open, close) in [
        ("(", ")"),
        ("[", "]"),
        ("{", "}"),
        ("if x { ", "}"),
        ("%{1 => ", "}"),
    ] {
        let source = format!(
            "let x = 1\n{}1{}\n",
            open.repeat(DEPTH),
            close.repeat(DEPTH)
        );
        let message = on_small_stack(move || {
            let mut vm = Vm::new();
            match vm.load("deep.weft", &source) {
                Ok(()) => "compiled".to_string(),
                Err(error) => error.to_string(),
            }
        });
        assert!(
            message.contains("nested too deeply"),
            "{open}: {}",
            &message[..message.len().min(300)]
        );
    }
}

#[test]
fn the_compiler_handles_long_flat_programs_on_a_small_stack() {
    on_small_stack(|| {
        // A 100,000-term sum, 10,000 statements, a 10,000-element literal.
        let sum = vec!["1"; 100_000].join(" + ");
        let statements = "let y = 1\n".repeat(10_000);
        let literal = vec!["7"; 10_000].join(", ");
        let source = format!("fn f() {{ {sum} }}\n{statements}fn g() {{ len([{literal}]) }}\n");
        let mut vm = Vm::new();
        vm.load("flat.weft", &source).unwrap();
        assert_eq!(vm.call("f", vec![]).unwrap(), Value::from(100_000));
        assert_eq!(vm.call("g", vec![]).unwrap(), Value::from(10_000));
    });
}

/// Found by the `verify` fuzz target: a value whose lists each hold the
/// next one twice (`x = [x, x]`), dropped when its last holder goes. The
/// inner list was shared while its parent was emptied and became unique
/// only during the parent's drop, which then recursed once per level.
#[test]
fn shared_chains_a_million_deep_drop_on_a_small_stack() {
    on_small_stack(|| {
        let mut value = Value::from(0);
        for _ in 0..DEPTH {
            value = Value::list(vec![value.clone(), value]);
        }
        drop(value);
        let mut tuple = Value::from(0);
        for _ in 0..DEPTH {
            tuple = Value::tuple(vec![tuple.clone(), Value::from(1), tuple]);
        }
        drop(tuple);
    });
    let (sent, _) = on_small_stack(|| {
        run_script(
            "fn main(host) {\n let x = 0\n for _ in 0..1000000 { x = [x, x] }\n host ! :built\n}",
        )
    });
    assert_eq!(sent, [":built"]);
}
