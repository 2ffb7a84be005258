//! Messages both ways (`send`, `host_pid`, `recv`), `spawn`, `load`'s
//! top-level statements, and `call`, through the public API.

use std::sync::{Arc, Mutex};

use weft_vm::{Error, Value, Vm};

const ECHO: &str = r#"
fn echo(host) {
  receive {
    (:ping, n) => host ! (:pong, n + 1),
    :stop => exit(:normal),
    other => host ! (:unknown, other),
  }
  echo(host)
}
"#;

#[test]
fn the_host_sends_and_receives() {
    let mut vm = Vm::new();
    vm.load("echo.weft", ECHO).unwrap();
    let pid = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    assert_ne!(pid, vm.host_pid());
    assert_eq!(vm.recv(), None);
    vm.send(pid, Value::tuple(vec![Value::atom("ping"), Value::from(1)]));
    vm.send(
        pid,
        Value::tuple(vec![Value::atom("ping"), Value::from(41)]),
    );
    vm.send(pid, Value::from("hello"));
    vm.run_until_idle();
    // Oldest first.
    assert_eq!(vm.recv().unwrap().to_string(), "(:pong, 2)");
    assert_eq!(
        vm.recv(),
        Some(Value::tuple(vec![Value::atom("pong"), Value::from(42)]))
    );
    assert_eq!(vm.recv().unwrap().to_string(), r#"(:unknown, "hello")"#);
    assert_eq!(vm.recv(), None);
}

#[test]
fn messages_are_delivered_only_when_the_vm_runs() {
    let mut vm = Vm::new();
    vm.load("echo.weft", ECHO).unwrap();
    let pid = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    vm.send(pid, Value::tuple(vec![Value::atom("ping"), Value::from(1)]));
    assert_eq!(vm.recv(), None, "nothing ran yet");
    let _ = vm.run(10_000);
    assert!(vm.recv().is_some());
}

#[test]
fn sending_to_a_dead_process_drops_the_message() {
    let mut vm = Vm::new();
    vm.load("echo.weft", ECHO).unwrap();
    let pid = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    vm.send(pid, Value::atom("stop"));
    vm.run_until_idle();
    assert!(!vm.is_alive(pid));
    vm.send(pid, Value::tuple(vec![Value::atom("ping"), Value::from(1)]));
    vm.run_until_idle();
    assert_eq!(vm.recv(), None);
}

#[test]
fn weft_code_can_pass_the_host_pid_around_and_send_from_anywhere() {
    let mut vm = Vm::new();
    vm.load(
        "fan.weft",
        r#"
        fn child(host, i) { host ! (:child, i) }
        fn parent(host, n) { for i in 0..n { spawn child(host, i) }; host ! (:parent, n) }
        "#,
    )
    .unwrap();
    vm.spawn("parent", vec![vm.host_pid().into(), Value::from(3)])
        .unwrap();
    vm.run_until_idle();
    let mut got = Vec::new();
    while let Some(message) = vm.recv() {
        got.push(message.to_string());
    }
    assert_eq!(
        got,
        ["(:parent, 3)", "(:child, 0)", "(:child, 1)", "(:child, 2)"]
    );
}

#[test]
fn messages_keep_their_structure_both_ways() {
    let mut vm = Vm::new();
    vm.load("id.weft", "fn id(host) { receive { m => host ! m } }")
        .unwrap();
    let pid = vm.spawn("id", vec![vm.host_pid().into()]).unwrap();
    let message = Value::tuple(vec![
        Value::atom("state"),
        Value::list(vec![
            Value::from(1),
            Value::from(2.5),
            Value::from(true),
            Value::nil(),
        ]),
        Value::from("text"),
        Value::from(pid),
    ]);
    vm.send(pid, message.clone());
    vm.run_until_idle();
    let back = vm.recv().unwrap();
    assert_eq!(back, message);
    let fields = back.as_tuple().unwrap();
    assert_eq!(fields[0].as_atom(), Some("state"));
    assert_eq!(fields[1].as_list().unwrap()[1].as_float(), Some(2.5));
    assert_eq!(fields[2].as_str(), Some("text"));
    assert_eq!(fields[3].as_pid(), Some(pid));
}

#[test]
fn spawn_of_an_unknown_function_fails() {
    let mut vm = Vm::new();
    assert!(matches!(
        vm.spawn("nowhere", vec![]),
        Err(Error::NoFunction(_))
    ));
}

#[test]
fn top_level_statements_of_a_loaded_file_run_in_a_new_process() {
    let out = Arc::new(Mutex::new(String::new()));
    let sink = out.clone();
    let mut vm = Vm::builder()
        .output(move |text: &str| sink.lock().unwrap().push_str(text))
        .build();
    vm.load(
        "main.weft",
        "fn greet(who) { format(\"hello, {}\", who) }\nprint(greet(\"host\"), (:hp, 80))",
    )
    .unwrap();
    assert_eq!(*out.lock().unwrap(), "", "loading runs nothing by itself");
    vm.run_until_idle();
    assert_eq!(*out.lock().unwrap(), "hello, host (:hp, 80)\n");
}

#[test]
fn call_returns_the_value() {
    let mut vm = Vm::new();
    vm.load(
        "math.weft",
        "fn add(a, b) { a + b }\nfn pair(a) { (a, [a]) }",
    )
    .unwrap();
    assert_eq!(
        vm.call("add", vec![Value::from(2), Value::from(3)])
            .unwrap(),
        Value::from(5)
    );
    assert!(vm
        .call("add", vec![Value::from("a"), Value::from(1)])
        .is_err());
    assert_eq!(
        vm.call("pair", vec![Value::atom("x")]).unwrap().to_string(),
        "(:x, [:x])"
    );
    // Library functions too.
    let xs = Value::list(vec![Value::from(1), Value::from(2), Value::from(3)]);
    assert_eq!(vm.call("list.sum", vec![xs]).unwrap(), Value::from(6));
}

#[test]
fn call_runs_other_processes_and_waits_for_timers() {
    let mut vm = Vm::new();
    vm.load(
        "ask.weft",
        r#"
        fn server() { receive { (:get, from) => { sleep(20); from ! 99 } }; server() }
        fn ask(server) { server ! (:get, self()); receive { n => n + 1 } }
        "#,
    )
    .unwrap();
    let server = vm.spawn("server", vec![]).unwrap();
    assert_eq!(
        vm.call("ask", vec![server.into()]).unwrap(),
        Value::from(100)
    );
}

#[test]
fn call_reports_each_way_of_failing() {
    let mut vm = Vm::new();
    vm.load(
        "fail.weft",
        r#"
        fn divide(a, b) { a / b }
        fn leave() { exit(:bye) }
        fn forever() { receive { :never_sent => nil } }
        "#,
    )
    .unwrap();

    match vm.call("divide", vec![Value::from(1), Value::from(0)]) {
        Err(Error::Runtime(error)) => {
            assert_eq!(error.kind.name(), "badarith");
            assert_eq!(error.reason().as_tuple().unwrap()[0], Value::atom("error"));
        }
        other => panic!("expected :badarith, got {other:?}"),
    }
    match vm.call("leave", vec![]) {
        Err(Error::Exited(reason)) => assert_eq!(reason, Value::atom("bye")),
        other => panic!("expected an exit, got {other:?}"),
    }
    match vm.call("nothing_here", vec![]) {
        Err(error @ Error::NoFunction(_)) => assert!(error.to_string().contains("nothing_here")),
        other => panic!("expected NoFunction, got {other:?}"),
    }
    assert!(matches!(vm.call("forever", vec![]), Err(Error::Deadlock)));
    // A crash inside `call` is also reported as an event.
    assert!(!vm.take_events().is_empty());
}

#[test]
fn call_with_the_wrong_number_of_arguments_fails() {
    let mut vm = Vm::new();
    vm.load("math.weft", "fn add(a, b) { a + b }").unwrap();
    assert!(vm.call("add", vec![Value::from(1)]).is_err());
}

/// An arity error is a runtime error (`:badarity`), not "no such function".
#[test]
fn call_with_the_wrong_number_of_arguments_is_not_no_function() {
    let mut vm = Vm::new();
    vm.load("math.weft", "fn add(a, b) { a + b }").unwrap();
    let error = vm.call("add", vec![Value::from(1)]).unwrap_err();
    assert!(!matches!(error, Error::NoFunction(_)), "{error}");
}
