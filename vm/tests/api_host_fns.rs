//! Host functions through the public API: naming (`twice`, `game.twice`),
//! arity, and errors and panics that kill only the calling process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use weft_vm::{Error, Event, Value, Vm};

fn twice(args: &[Value]) -> Result<Value, String> {
    Ok(Value::from(args[0].as_int().ok_or("expected an int")? * 2))
}

/// The crashes reported since the last call, as `(pid, kind, message)`.
fn crashes(vm: &mut Vm) -> Vec<(weft_vm::Pid, String, String)> {
    vm.take_events()
        .into_iter()
        .filter_map(|event| match event {
            Event::Crash { pid, error } => {
                Some((pid, error.kind.name().to_string(), error.message))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_plain_name_is_a_global_function() {
    let mut vm = Vm::new();
    vm.register_fn("twice", 1, twice);
    vm.load("t.weft", "fn go(x) { twice(x) + 1 }").unwrap();
    assert_eq!(
        vm.call("go", vec![Value::from(20)]).unwrap(),
        Value::from(41)
    );
}

#[test]
fn a_dotted_name_is_a_module_function() {
    let mut vm = Vm::new();
    vm.register_fn("game.twice", 1, twice);
    vm.load("t.weft", "fn go(x) { game.twice(x) }").unwrap();
    assert_eq!(
        vm.call("go", vec![Value::from(21)]).unwrap(),
        Value::from(42)
    );
    // The host can call it directly too.
    assert_eq!(
        vm.call("game.twice", vec![Value::from(4)]).unwrap(),
        Value::from(8)
    );
}

#[test]
fn an_unknown_host_module_function_is_a_compile_error_with_a_hint() {
    let mut vm = Vm::new();
    vm.register_fn("game.twice", 1, twice);
    let error = vm.load("t.weft", "fn go() { game.thrice(1) }").unwrap_err();
    assert!(matches!(error, Error::Compile(_)));
    let text = error.to_string();
    assert!(text.contains("thrice"), "{text}");
    assert!(text.contains("game.twice"), "a did-you-mean hint: {text}");
}

#[test]
fn a_script_must_be_loaded_after_the_functions_it_calls_are_registered() {
    let mut vm = Vm::new();
    assert!(vm.load("t.weft", "fn go() { game.twice(1) }").is_err());
    vm.register_fn("game.twice", 1, twice);
    assert!(vm.load("t.weft", "fn go() { game.twice(1) }").is_ok());
}

#[test]
fn host_functions_receive_and_return_any_value() {
    let mut vm = Vm::new();
    vm.register_fn("game.swap", 1, |args: &[Value]| match args[0].as_tuple() {
        Some([a, b]) => Ok(Value::tuple(vec![b.clone(), a.clone()])),
        _ => Err(format!("expected a pair, got {}", args[0])),
    });
    vm.register_fn("game.names", 0, |_: &[Value]| {
        Ok(Value::list(vec![
            Value::from("ann"),
            Value::atom("bob"),
            Value::nil(),
        ]))
    });
    vm.load(
        "t.weft",
        "fn go() { (game.swap((1, \"x\")), game.names()) }",
    )
    .unwrap();
    let result = vm.call("go", vec![]).unwrap();
    assert_eq!(result.to_string(), r#"(("x", 1), ["ann", :bob, nil])"#);
}

#[test]
fn host_functions_can_hold_host_state() {
    let counter = Arc::new(AtomicUsize::new(0));
    let seen = counter.clone();
    let mut vm = Vm::new();
    vm.register_fn("game.count", 0, move |_: &[Value]| {
        Ok(Value::from(seen.fetch_add(1, Ordering::SeqCst) as i64 + 1))
    });
    vm.load(
        "t.weft",
        "fn go() { game.count(); game.count(); game.count() }",
    )
    .unwrap();
    assert_eq!(vm.call("go", vec![]).unwrap(), Value::from(3));
    assert_eq!(counter.load(Ordering::SeqCst), 3);
}

#[test]
fn the_wrong_number_of_arguments_is_badarity_in_the_caller() {
    let mut vm = Vm::new();
    vm.register_fn("game.twice", 1, twice);
    vm.load("t.weft", "fn go() { game.twice(1, 2) }").unwrap();
    match vm.call("go", vec![]) {
        Err(Error::Runtime(error)) => assert_eq!(error.kind.name(), "badarity"),
        other => panic!("expected :badarity, got {other:?}"),
    }
}

#[test]
fn an_error_kills_only_the_calling_process_with_reason_host() {
    let mut vm = Vm::new();
    vm.register_fn("game.twice", 1, twice);
    vm.load(
        "t.weft",
        r#"
        fn bad(host) { receive { :go => nil }; host ! :before; game.twice("x"); host ! :after }
        fn good(host) { receive { :go => host ! (:good, game.twice(5)) } }
        fn watch(host, pid) {
          monitor(pid)
          host ! :watching
          receive { (:down, _, _, reason) => host ! (:down, reason) }
        }
        "#,
    )
    .unwrap();
    let host = Value::from(vm.host_pid());
    let good = vm.spawn("good", vec![host.clone()]).unwrap();
    let bad = vm.spawn("bad", vec![host.clone()]).unwrap();
    vm.spawn("watch", vec![host, bad.into()]).unwrap();
    vm.run_until_idle();
    assert_eq!(vm.recv(), Some(Value::atom("watching")));
    vm.send(bad, Value::atom("go"));
    vm.run_until_idle();
    assert_eq!(vm.recv(), Some(Value::atom("before")));
    assert_eq!(
        vm.recv().unwrap().to_string(),
        r#"(:down, (:error, :host, "expected an int"))"#
    );
    assert_eq!(vm.recv(), None, "`host ! :after` never ran");
    assert_eq!(
        crashes(&mut vm),
        vec![(bad, "host".to_string(), "expected an int".to_string())]
    );
    assert!(!vm.is_alive(bad));

    // The other process goes on.
    assert!(vm.is_alive(good));
    vm.send(good, Value::atom("go"));
    vm.run_until_idle();
    assert_eq!(vm.recv().unwrap().to_string(), "(:good, 10)");
}

#[test]
fn a_panic_kills_only_the_calling_process_and_the_host_survives() {
    let mut vm = Vm::new();
    vm.register_fn("game.boom", 1, |args: &[Value]| -> Result<Value, String> {
        panic!("boom with {}", args[0]);
    });
    vm.register_fn("game.twice", 1, twice);
    vm.load(
        "t.weft",
        r#"
        fn bad() { game.boom(7) }
        fn good(host) { receive { n => host ! game.twice(n) }; good(host) }
        "#,
    )
    .unwrap();
    let good = vm.spawn("good", vec![vm.host_pid().into()]).unwrap();
    let bad = vm.spawn("bad", vec![]).unwrap();
    vm.run_until_idle();
    let crashes = crashes(&mut vm);
    assert_eq!(crashes.len(), 1);
    let (pid, kind, message) = &crashes[0];
    assert_eq!((*pid, kind.as_str()), (bad, "host"));
    assert!(message.contains("boom with 7"), "{message}");

    vm.send(good, Value::from(4));
    vm.run_until_idle();
    assert_eq!(vm.recv(), Some(Value::from(8)));

    // Through `call`, the panic is an `Error::Runtime` of kind `host`.
    match vm.call("bad", vec![]) {
        Err(Error::Runtime(error)) => {
            assert_eq!(error.kind.name(), "host");
            assert_eq!(error.reason().as_tuple().unwrap()[1], Value::atom("host"));
        }
        other => panic!("expected a :host error, got {other:?}"),
    }
    // And the VM still works.
    assert_eq!(
        vm.call("game.twice", vec![Value::from(1)]).unwrap(),
        Value::from(2)
    );
}

#[test]
fn a_crash_report_locates_the_failing_call() {
    let mut vm = Vm::new();
    vm.register_fn("game.fail", 0, |_: &[Value]| Err("nope".to_string()));
    vm.load(
        "crash.weft",
        "fn outer() { inner() + 1 }\nfn inner() { game.fail() }",
    )
    .unwrap();
    let pid = vm.spawn("outer", vec![]).unwrap();
    vm.run_until_idle();
    let events = vm.take_events();
    let Some(Event::Crash {
        pid: crashed,
        error,
    }) = events.first()
    else {
        panic!("no crash reported: {events:?}");
    };
    assert_eq!(*crashed, pid);
    assert_eq!(error.reason().to_string(), r#"(:error, :host, "nope")"#);
    let functions: Vec<&str> = error.trace.iter().map(|frame| &*frame.function).collect();
    assert!(
        functions.first().is_some_and(|f| f.contains("inner")),
        "{functions:?}"
    );
    assert!(
        functions.iter().any(|f| f.contains("outer")),
        "{functions:?}"
    );
    let diagnostic = error.to_diagnostic(pid);
    assert!(
        diagnostic.message.contains(&pid.to_string()),
        "{}",
        diagnostic.message
    );
    assert!(!diagnostic.trace.is_empty());
    // `Error::Compile`'s Display is the one public renderer of diagnostics.
    let rendered = Error::Compile(vec![diagnostic]).to_string();
    assert!(rendered.contains("crash.weft"), "{rendered}");
}

#[test]
fn registering_again_replaces_the_function() {
    let mut vm = Vm::new();
    vm.register_fn("game.version", 0, |_: &[Value]| Ok(Value::from(1)));
    vm.load("t.weft", "fn go() { game.version() }").unwrap();
    assert_eq!(vm.call("go", vec![]).unwrap(), Value::from(1));
    vm.register_fn("game.version", 0, |_: &[Value]| Ok(Value::from(2)));
    assert_eq!(vm.call("go", vec![]).unwrap(), Value::from(2));
}
