//! The embedding API with scheduler threads (`VmBuilder::schedulers`):
//! processes run in the background on the pool's threads and `run` waits
//! for them (docs/EMBEDDING.md, "Threads").

use weft_vm::{Error, RunStatus, Value, Vm};

fn threaded() -> Vm {
    Vm::builder().schedulers(2).build()
}

/// Runs until the host has a message (the VM's own waits, no sleeping).
fn recv_blocking(vm: &mut Vm) -> Option<Value> {
    for _ in 0..10_000 {
        if let Some(message) = vm.recv() {
            return Some(message);
        }
        if vm.run(1_000_000) == RunStatus::Idle {
            return vm.recv();
        }
    }
    None
}

#[test]
fn call_returns_and_reports_errors() {
    let mut vm = threaded();
    assert_eq!(vm.scheduler_threads(), 2);
    vm.load("m.weft", "fn add(a, b) { a + b }\nfn div(a, b) { a / b }")
        .unwrap();
    for i in 0..200 {
        let got = vm
            .call("add", vec![Value::from(i), Value::from(1)])
            .unwrap();
        assert_eq!(got, Value::from(i + 1));
    }
    match vm.call("div", vec![Value::from(1), Value::from(0)]) {
        Err(Error::Runtime(error)) => assert_eq!(error.kind.name(), "badarith"),
        other => panic!("expected :badarith, got {other:?}"),
    }
}

#[test]
fn messages_both_ways_across_threads() {
    let mut vm = threaded();
    vm.load(
        "echo.weft",
        "fn echo(host) { receive { :stop => nil, n => { host ! n * 2; echo(host) } } }",
    )
    .unwrap();
    let host = vm.host_pid();
    let echoes: Vec<_> = (0..8)
        .map(|_| vm.spawn("echo", vec![host.into()]).unwrap())
        .collect();
    let mut total = 0;
    for round in 0..50 {
        for pid in &echoes {
            vm.send(*pid, Value::from(round));
        }
        for _ in &echoes {
            total += recv_blocking(&mut vm).and_then(|v| v.as_int()).unwrap();
        }
    }
    assert_eq!(total, 8 * 2 * (0..50).sum::<i64>());
    for pid in &echoes {
        vm.send(*pid, Value::atom("stop"));
    }
    assert_eq!(vm.run(10_000_000), RunStatus::Idle);
    assert!(echoes.iter().all(|p| !vm.is_alive(*p)));
}

#[test]
fn a_spinning_process_is_preempted_and_killed() {
    let mut vm = threaded();
    vm.load(
        "spin.weft",
        "fn spin() { loop {} }\nfn hi(host) { host ! :hi }",
    )
    .unwrap();
    let spinners: Vec<_> = (0..3).map(|_| vm.spawn("spin", vec![]).unwrap()).collect();
    assert_eq!(vm.run(50_000), RunStatus::BudgetSpent);
    // The others still run while three processes spin on two threads.
    vm.spawn("hi", vec![vm.host_pid().into()]).unwrap();
    assert_eq!(recv_blocking(&mut vm), Some(Value::atom("hi")));
    // Loading code stops the threads at a slice boundary and goes on.
    vm.load("more.weft", "fn three() { 3 }").unwrap();
    assert_eq!(vm.call("three", vec![]).unwrap(), Value::from(3));
    assert_eq!(vm.processes().len(), 3);
    for pid in &spinners {
        vm.kill(*pid);
    }
    for _ in 0..1_000 {
        if vm.run(100_000) == RunStatus::Idle {
            break;
        }
    }
    assert!(spinners.iter().all(|p| !vm.is_alive(*p)));
}

#[test]
fn waiting_for_the_host_is_a_deadlock() {
    let mut vm = threaded();
    vm.load("wait.weft", "fn wait() { receive { m => m } }")
        .unwrap();
    assert!(matches!(vm.call("wait", vec![]), Err(Error::Deadlock)));
}

#[test]
fn a_ring_across_threads_delivers_every_message() {
    let mut vm = threaded();
    vm.load(
        "ring.weft",
        r#"
        fn node(next, host) {
          receive {
            :stop => nil,
            0 => { host ! :done; node(next, host) },
            n => { next ! n - 1; node(next, host) },
          }
        }
        fn start(host, size) {
          let first = self()
          let next = first
          for _ in 0..size { next = spawn node(next, host) }
          node(next, host)
        }
        "#,
    )
    .unwrap();
    let host = vm.host_pid();
    let start = vm
        .spawn("start", vec![host.into(), Value::from(100)])
        .unwrap();
    for laps in [1_000, 50_000, 7] {
        vm.send(start, Value::from(laps));
        assert_eq!(recv_blocking(&mut vm), Some(Value::atom("done")));
    }
    assert!(vm.stats().messages >= 51_007);
}

#[test]
fn timers_fire_on_the_threads() {
    let mut vm = threaded();
    vm.load(
        "nap.weft",
        "fn nap(host, ms) { sleep(ms); host ! ms }\nfn poll(host) { receive { :x => nil, after 5 => host ! :timeout, } }",
    )
    .unwrap();
    let host = vm.host_pid();
    for ms in [5, 1, 3] {
        vm.spawn("nap", vec![host.into(), Value::from(ms)]).unwrap();
    }
    vm.spawn("poll", vec![host.into()]).unwrap();
    let mut got = Vec::new();
    while got.len() < 4 {
        let status = vm.run(1_000_000);
        while let Some(message) = vm.recv() {
            got.push(message.to_string());
        }
        match status {
            // The host's part: sleep until the next timer, as a game loop
            // would until its next frame.
            RunStatus::Waiting { next_timer } => std::thread::sleep(next_timer),
            RunStatus::Idle => break,
            _ => {}
        }
    }
    got.sort();
    assert_eq!(got, ["1", "3", "5", ":timeout"]);
}
