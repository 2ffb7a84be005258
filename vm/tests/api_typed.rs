//! The typed embedding API: `FromValue`/`IntoValue`, typed host functions,
//! host functions with a context, and asynchronous host calls.

use std::collections::{BTreeMap, HashMap};

use weft_vm::{Error, Event, FromValue, HostContext, IntoValue, Pid, RunStatus, Ticket, Value, Vm};

fn runtime_reason(result: Result<Value, Error>) -> String {
    match result {
        Err(Error::Runtime(error)) => error.reason().to_string(),
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[test]
fn values_convert_both_ways() {
    let v = (
        1i64,
        2.5f64,
        true,
        "s",
        vec![1u8, 2],
        (Some(3i32), None::<i64>),
    )
        .into_value();
    assert_eq!(v.to_string(), r#"(1, 2.5, true, "s", [1, 2], (3, nil))"#);
    let back: (i64, f64, bool, String, Vec<u8>, Option<i32>) =
        FromValue::from_value(&(1i64, 2.5f64, true, "s", vec![1u8, 2], Some(3i32)).into_value())
            .unwrap();
    assert_eq!(back, (1, 2.5, true, "s".to_string(), vec![1, 2], Some(3)));

    let mut scores = HashMap::new();
    scores.insert("ann".to_string(), 3i64);
    let v = scores.clone().into_value();
    assert_eq!(HashMap::<String, i64>::from_value(&v).unwrap(), scores);
    let ordered: BTreeMap<i64, String> = [(2, "b".to_string()), (1, "a".to_string())].into();
    let v = ordered.clone().into_value();
    assert_eq!(v.to_string(), r#"%{1 => "a", 2 => "b"}"#);
    assert_eq!(BTreeMap::<i64, String>::from_value(&v).unwrap(), ordered);

    // Range checks and nested positions.
    assert_eq!(
        i8::from_value(&Value::from(200)).unwrap_err().to_string(),
        "expected an int from -128 to 127, got 200"
    );
    assert_eq!(
        u64::from_value(&Value::from(-1)).unwrap_err().to_string(),
        "expected an int from 0 up, got -1"
    );
    let nested = Value::list(vec![Value::tuple(vec![Value::from(1), Value::atom("x")])]);
    assert_eq!(
        Vec::<(i64, i64)>::from_value(&nested)
            .unwrap_err()
            .to_string(),
        "element 0: element 1: expected an int, got :x"
    );
    let map = HashMap::from([("k".to_string(), "v".to_string())]).into_value();
    assert_eq!(
        HashMap::<String, i64>::from_value(&map)
            .unwrap_err()
            .to_string(),
        r#"value of "k": expected an int, got "v""#
    );
    assert_eq!(
        Option::<i64>::from_value(&Value::from("x"))
            .unwrap_err()
            .to_string(),
        r#"expected nil or an int, got "x""#
    );
    // Floats read ints; big unsigned values become floats, never wrap.
    assert_eq!(f64::from_value(&Value::from(2)).unwrap(), 2.0);
    assert_eq!(u64::MAX.into_value(), Value::Float(u64::MAX as f64));
    assert_eq!(().into_value(), Value::nil());
}

#[test]
fn typed_host_functions_check_their_arguments() {
    let mut vm = Vm::new();
    vm.register("t.add", |a: i64, b: i64| a + b);
    vm.register("t.none", || "none");
    vm.register("t.six", |a: i64, b: i64, c: i64, d: i64, e: i64, f: i64| {
        vec![a, b, c, d, e, f]
    });
    vm.register("t.scale", |xs: Vec<f64>, k: f64| -> Vec<f64> {
        xs.into_iter().map(|x| x * k).collect()
    });
    vm.register("t.lookup", |m: HashMap<String, i64>, k: String| {
        m.get(&k).copied()
    });
    vm.register("t.byte", |b: u8| b as i64);
    vm.register("t.fails", |n: i64| -> Result<i64, String> {
        if n > 0 {
            Ok(n)
        } else {
            Err(format!("{n} is not positive"))
        }
    });
    vm.register("t.me", |p: Pid| p);
    vm.load(
        "t.weft",
        r#"
        fn add(a, b) { t.add(a, b) }
        fn none() { t.none() }
        fn six() { t.six(1, 2, 3, 4, 5, 6) }
        fn scale() { t.scale([1, 2.5], 2) }
        fn lookup(k) { t.lookup(%{"a" => 1}, k) }
        fn byte(b) { t.byte(b) }
        fn fails(n) { t.fails(n) }
        fn me() { t.me(self()) == self() }
        fn arity() { t.add(1) }
    "#,
    )
    .unwrap();
    assert_eq!(
        vm.call("add", vec![2.into(), 3.into()]).unwrap(),
        Value::from(5)
    );
    assert_eq!(vm.call("none", vec![]).unwrap(), Value::from("none"));
    assert_eq!(
        vm.call("six", vec![]).unwrap().to_string(),
        "[1, 2, 3, 4, 5, 6]"
    );
    assert_eq!(vm.call("scale", vec![]).unwrap().to_string(), "[2.0, 5.0]");
    assert_eq!(vm.call("lookup", vec!["a".into()]).unwrap(), Value::from(1));
    assert_eq!(vm.call("lookup", vec!["b".into()]).unwrap(), Value::nil());
    assert_eq!(vm.call("me", vec![]).unwrap(), Value::from(true));
    assert_eq!(
        runtime_reason(vm.call("add", vec![2.into(), "3".into()])),
        r#"(:error, :badarg, "t.add: argument 2: expected an int, got \"3\"")"#
    );
    assert_eq!(
        runtime_reason(vm.call("byte", vec![256.into()])),
        r#"(:error, :badarg, "t.byte: argument 1: expected an int from 0 to 255, got 256")"#
    );
    assert_eq!(
        runtime_reason(vm.call("fails", vec![0.into()])),
        r#"(:error, :host, "0 is not positive")"#
    );
    // The arity comes from the closure.
    assert_eq!(
        runtime_reason(vm.call("arity", vec![])),
        r#"(:error, :badarity, "t.add takes 2 arguments, got 1")"#
    );
}

#[test]
fn a_context_knows_its_caller_and_can_send_spawn_and_look_up() {
    let mut vm = Vm::new();
    vm.register_with_context("t.hello", |ctx: &mut HostContext, args: &[Value]| {
        let caller = ctx.caller();
        assert_eq!(ctx.name(), "t.hello");
        ctx.send(
            caller,
            Value::tuple(vec![Value::atom("hello"), args[0].clone()]),
        );
        let echo = ctx.whereis("echo").ok_or("no echo")?;
        ctx.send(echo, Value::tuple(vec![caller.into(), Value::atom("ping")]));
        let child = ctx
            .spawn("child", vec![caller.into()])
            .map_err(|e| e.to_string())?;
        Ok(child.into())
    });
    vm.register_with_context("t.bad_spawn", |ctx: &mut HostContext, _: &[Value]| {
        ctx.spawn("nobody", vec![])
            .map(Value::from)
            .map_err(|e| e.to_string())
    });
    vm.load(
        "t.weft",
        r#"
        fn echo() { receive { (from, m) => from ! (:echoed, m) }; echo() }
        fn child(parent) { parent ! :child }
        fn go() {
          register(:echo, spawn echo())
          let child = t.hello(7)
          let a = receive { (:hello, x) => x }
          let b = receive { (:echoed, m) => m }
          let c = receive { :child => :child }
          (a, b, c, type(child))
        }
        fn bad() { t.bad_spawn() }
    "#,
    )
    .unwrap();
    assert_eq!(
        vm.call("go", vec![]).unwrap().to_string(),
        "(7, :ping, :child, :pid)"
    );
    assert_eq!(
        runtime_reason(vm.call("bad", vec![])),
        r#"(:error, :host, "no function `nobody` is loaded")"#
    );
}

/// Runs until idle; returns the host calls reported meanwhile.
fn host_calls(vm: &mut Vm) -> Vec<(Ticket, String, Vec<Value>, Pid)> {
    let _ = vm.run_until_idle();
    vm.take_events()
        .into_iter()
        .filter_map(|event| match event {
            Event::HostCall {
                ticket,
                name,
                args,
                caller,
            } => Some((ticket, name, args, caller)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_async_call_parks_only_its_caller() {
    let mut vm = Vm::new();
    vm.register_async("t.fetch", 1);
    vm.load(
        "t.weft",
        r#"
        fn fetcher(host, what) { host ! (:got, t.fetch(what)) }
        fn failer(host) { host ! (try t.fetch(:bad)) }
        fn counter(host, n) { if n == 0 { host ! :counted } else { yield(); counter(host, n - 1) } }
    "#,
    )
    .unwrap();
    let host = Value::from(vm.host_pid());
    let fetcher = vm
        .spawn("fetcher", vec![host.clone(), "map".into()])
        .unwrap();
    vm.spawn("counter", vec![host.clone(), 100.into()]).unwrap();
    let calls = host_calls(&mut vm);
    assert_eq!(calls.len(), 1);
    let (ticket, name, args, caller) = calls[0].clone();
    assert_eq!(
        (name.as_str(), args, caller),
        ("t.fetch", vec![Value::from("map")], fetcher)
    );
    // The counter ran to its end while the fetcher waited.
    assert_eq!(vm.recv(), Some(Value::atom("counted")));
    assert!(vm.process_alive(fetcher));
    let waiting = vm
        .processes()
        .into_iter()
        .find(|p| p.pid == fetcher)
        .unwrap();
    assert!(
        waiting.waiting_on.contains("host call"),
        "{}",
        waiting.waiting_on
    );
    assert!(vm.complete(ticket, Ok(Value::from(42))));
    assert!(
        !vm.complete(ticket, Ok(Value::from(43))),
        "a ticket is answered once"
    );
    assert!(host_calls(&mut vm).is_empty());
    assert_eq!(vm.recv().unwrap().to_string(), "(:got, 42)");
    assert!(!vm.process_alive(fetcher));

    // An `Err` is the :host error in the caller.
    vm.spawn("failer", vec![host]).unwrap();
    let (ticket, ..) = host_calls(&mut vm).remove(0);
    assert!(vm.complete(ticket, Err("no such asset".into())));
    let _ = vm.run_until_idle();
    assert_eq!(
        vm.recv().unwrap().to_string(),
        r#"(:error, :host, "no such asset")"#
    );
}

#[test]
fn a_caller_killed_while_waiting_cancels_its_ticket() {
    let mut vm = Vm::new();
    vm.register_async("t.slow", 0);
    vm.load("t.weft", "fn slow() { t.slow() }").unwrap();
    let pid = vm.spawn("slow", vec![]).unwrap();
    let (ticket, ..) = host_calls(&mut vm).remove(0);
    vm.kill(pid);
    let _ = vm.run_until_idle();
    assert!(!vm.process_alive(pid));
    assert!(!vm.complete(ticket, Ok(Value::nil())));
}

#[test]
fn another_thread_completes_calls_while_the_vm_runs() {
    let mut vm = Vm::builder().schedulers(2).build();
    vm.register_async("t.work", 1);
    vm.load(
        "t.weft",
        r#"
        fn worker(host, n) { host ! (n, t.work(n)) }
    "#,
    )
    .unwrap();
    let host = Value::from(vm.host_pid());
    for n in 0..50 {
        vm.spawn("worker", vec![host.clone(), n.into()]).unwrap();
    }
    let (to_worker, tickets) = std::sync::mpsc::channel::<(Ticket, i64)>();
    let mut completer = vm.completer();
    let answering = std::thread::spawn(move || {
        for (ticket, n) in tickets {
            assert!(completer.complete(ticket, Ok(Value::from(n * n))));
        }
    });
    let mut replies = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while replies.len() < 50 && std::time::Instant::now() < deadline {
        let status = vm.run(10_000);
        for event in vm.take_events() {
            if let Event::HostCall { ticket, args, .. } = event {
                to_worker.send((ticket, args[0].as_int().unwrap())).unwrap();
            }
        }
        while let Some(reply) = vm.recv() {
            replies.push(<(i64, i64)>::from_value(&reply).unwrap());
        }
        if matches!(status, RunStatus::Idle | RunStatus::Waiting { .. }) {
            vm.wait_for_work(std::time::Duration::from_millis(50));
        }
    }
    drop(to_worker);
    answering.join().unwrap();
    replies.sort();
    assert_eq!(replies, (0..50).map(|n| (n, n * n)).collect::<Vec<_>>());
}

#[test]
fn atoms_convert_and_names_register_from_the_host() {
    use weft_vm::Atom;
    let tag = Atom::new("ok").into_value();
    assert_eq!(tag, Value::atom("ok"));
    assert_eq!(Atom::from_value(&tag).unwrap().name(), "ok");
    assert_eq!(
        Atom::from_value(&Value::from("ok"))
            .unwrap_err()
            .to_string(),
        r#"expected an atom, got "ok""#
    );
    let mut vm = Vm::new();
    vm.load("n.weft", "fn idle() { receive { _ => nil } }")
        .unwrap();
    let a = vm.spawn("idle", vec![]).unwrap();
    let b = vm.spawn("idle", vec![]).unwrap();
    vm.register_name("keeper", a).unwrap();
    assert_eq!(vm.whereis("keeper"), Some(a));
    assert!(vm.register_name("keeper", b).is_err(), "the name is taken");
    vm.kill(a);
    let _ = vm.run_until_idle();
    assert_eq!(vm.whereis("keeper"), None);
    vm.register_name("keeper", b).unwrap();
    assert_eq!(vm.whereis("keeper"), Some(b));
}

#[test]
fn a_mailbox_limit_holds_for_messages_to_oneself() {
    let mut vm = Vm::builder().max_mailbox(2).build();
    vm.register_with_context("t.note", |ctx: &mut HostContext, _: &[Value]| {
        let me = ctx.caller();
        ctx.send(me, Value::atom("note"));
        Ok(Value::nil())
    });
    vm.load(
        "m.weft",
        r#"
        fn own() { for i in 0..3 { self() ! i }; :unreachable }
        fn noted() { for _ in 0..5 { t.note() }; receive { _ => nil }; :after }
    "#,
    )
    .unwrap();
    assert_eq!(
        runtime_reason(vm.call("own", vec![])),
        r#"(:error, :system_limit, "mailbox over its limit of 2 messages")"#
    );
    match vm.call("noted", vec![]) {
        Err(Error::Exited(reason)) => assert_eq!(
            reason.to_string(),
            r#"(:error, :system_limit, "mailbox over its limit of 2 messages")"#
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_context_spawn_fails_like_a_host_spawn() {
    let mut vm = Vm::new();
    vm.register_with_context("t.start", |ctx: &mut HostContext, _: &[Value]| {
        match ctx.spawn("one", vec![]) {
            Err(Error::Runtime(error)) => Ok(Value::from(error.kind.name())),
            other => Err(format!("{other:?}")),
        }
    });
    vm.load("s.weft", "fn one(x) { x }\nfn go() { t.start() }")
        .unwrap();
    assert_eq!(vm.call("go", vec![]).unwrap(), Value::from("badarity"));
}

#[test]
fn call_reports_a_deadlock_when_only_the_host_could_answer() {
    let mut vm = Vm::new();
    vm.register_async("t.later", 0);
    let _completer = vm.completer();
    vm.load("w.weft", "fn go() { t.later() + 1 }").unwrap();
    // The host, inside `call`, cannot take the event and answer.
    assert!(matches!(vm.call("go", vec![]), Err(Error::Deadlock)));
    assert_eq!(vm.pending_host_calls(), 1);
    let calls = host_calls(&mut vm);
    assert!(vm.complete(calls[0].0, Ok(Value::from(1))));
    assert_eq!(vm.pending_host_calls(), 0);
}
