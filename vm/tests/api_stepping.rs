//! Budgeted stepping: `run(budget)` always returns, a process stuck in
//! `loop {}` cannot hold up the host or the other processes, and
//! `RunStatus` says what is left.

use std::time::{Duration, Instant};

use weft_vm::{RunStatus, Value, Vm};

const SCRIPT: &str = r#"
fn spin() { loop {} }
fn busy(n) { let acc = 0; for i in 0..n { acc = (acc * 31 + i) % 1000003 }; acc }
fn echo(host) { receive { m => host ! m }; echo(host) }
fn nap(host, ms) { sleep(ms); host ! :awake }
"#;

#[test]
fn run_returns_budget_spent_promptly_while_a_process_spins() {
    let mut vm = Vm::new();
    vm.load("s.weft", SCRIPT).unwrap();
    let spinner = vm.spawn("spin", vec![]).unwrap();
    for _ in 0..100 {
        let started = Instant::now();
        assert_eq!(vm.run(5_000), RunStatus::BudgetSpent);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a frame took {:?}",
            started.elapsed()
        );
    }
    assert!(vm.is_alive(spinner));
    let info = vm
        .processes()
        .into_iter()
        .find(|p| p.pid == spinner)
        .unwrap();
    assert_eq!(info.status, "runnable");
    assert!(
        info.reductions >= 100 * 4_000 && info.reductions <= 100 * 5_000,
        "{}",
        info.reductions
    );
}

#[test]
fn run_spends_at_most_its_budget() {
    let mut vm = Vm::new();
    vm.load("s.weft", SCRIPT).unwrap();
    let spinner = vm.spawn("spin", vec![]).unwrap();
    for budget in [1u64, 10, 999, 2_000, 2_001, 12_345] {
        let before = vm.processes()[0].reductions;
        assert_eq!(vm.run(budget), RunStatus::BudgetSpent);
        let spent = vm.processes()[0].reductions - before;
        assert!(spent <= budget, "run({budget}) spent {spent}");
        assert!(spent * 2 >= budget, "run({budget}) spent only {spent}");
    }
    assert!(vm.is_alive(spinner));
}

#[test]
fn run_zero_runs_nothing() {
    let mut vm = Vm::new();
    vm.load("s.weft", SCRIPT).unwrap();
    vm.spawn("spin", vec![]).unwrap();
    assert_eq!(vm.run(0), RunStatus::BudgetSpent);
    assert_eq!(vm.processes()[0].reductions, 0);
}

#[test]
fn a_spinning_process_does_not_starve_the_others() {
    let mut vm = Vm::new();
    vm.load("s.weft", SCRIPT).unwrap();
    vm.spawn("spin", vec![]).unwrap();
    vm.spawn("spin", vec![]).unwrap();
    let echo = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    for frame in 0..50 {
        vm.send(echo, Value::from(frame));
        // Three slices of the default 2000 reductions reach the echo.
        assert_eq!(vm.run(6_500), RunStatus::BudgetSpent);
        assert_eq!(vm.recv(), Some(Value::from(frame)), "frame {frame}");
    }
}

#[test]
fn long_work_is_spread_over_frames_and_finishes() {
    let mut vm = Vm::new();
    vm.load("s.weft", SCRIPT).unwrap();
    let result = vm.call("busy", vec![Value::from(20_000)]).unwrap();

    let mut vm2 = Vm::new();
    vm2.load("s.weft", SCRIPT).unwrap();
    vm2.load("go.weft", "fn go(host, n) { host ! busy(n) }")
        .unwrap();
    vm2.spawn("go", vec![vm2.host_pid().into(), Value::from(20_000)])
        .unwrap();
    let mut frames = 0;
    while vm2.run(1_000) == RunStatus::BudgetSpent {
        frames += 1;
        assert!(frames < 1_000);
    }
    assert!(
        frames >= 15,
        "20,000 loop iterations need about 20 frames of 1,000; took {frames}"
    );
    assert_eq!(vm2.recv(), Some(result));
}

#[test]
fn status_is_idle_when_everyone_waits_for_a_message() {
    let mut vm = Vm::new();
    vm.load("s.weft", SCRIPT).unwrap();
    assert_eq!(vm.run(1_000), RunStatus::Idle, "an empty VM");
    let echo = vm.spawn("echo", vec![vm.host_pid().into()]).unwrap();
    assert_eq!(vm.run(1_000), RunStatus::Idle);
    assert_eq!(vm.processes()[0].status, "waiting");
    vm.send(echo, Value::nil());
    assert_eq!(vm.run_until_idle(), RunStatus::Idle);
    assert_eq!(vm.recv(), Some(Value::nil()));
}

#[test]
fn status_waiting_tells_when_the_next_timer_is_due() {
    let mut vm = Vm::new();
    vm.load("s.weft", SCRIPT).unwrap();
    vm.spawn("nap", vec![vm.host_pid().into(), Value::from(40)])
        .unwrap();
    let RunStatus::Waiting { next_timer } = vm.run(1_000) else {
        panic!("expected Waiting");
    };
    assert!(
        next_timer <= Duration::from_millis(40) && next_timer > Duration::from_millis(10),
        "{next_timer:?}"
    );
    assert_eq!(vm.recv(), None);
    // The VM never sleeps: the host does, then runs it again.
    std::thread::sleep(next_timer + Duration::from_millis(2));
    assert_eq!(vm.run(1_000), RunStatus::Idle);
    assert_eq!(vm.recv(), Some(Value::atom("awake")));
}

#[test]
fn the_host_can_kill_a_stuck_process() {
    let mut vm = Vm::new();
    vm.load("s.weft", SCRIPT).unwrap();
    let spinner = vm.spawn("spin", vec![]).unwrap();
    assert_eq!(vm.run(10_000), RunStatus::BudgetSpent);
    vm.kill(spinner);
    assert_eq!(vm.run(10_000), RunStatus::Idle);
    assert!(!vm.is_alive(spinner));
    assert!(vm.processes().is_empty());
    let events = vm.take_events();
    assert!(
        events
            .iter()
            .all(|e| matches!(e, weft_vm::Event::Exit { .. })),
        "a kill is not a crash: {events:?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, weft_vm::Event::Exit { reason, .. } if reason.to_string() == ":killed")
        ),
        "the kill is reported as an exit with :killed: {events:?}"
    );
}

/// `list.map` calls back into Weft from Rust; each call spends a
/// reduction, so a long map with a trivial function is preempted like a
/// loop, and the host's budget holds.
#[test]
fn a_library_function_calling_weft_is_preempted() {
    let mut vm = Vm::new();
    vm.load(
        "m.weft",
        r#"
        fn mapper(host) {
          let ys = list.map(list.range(0, 200000), fn(x) { x + 1 })
          host ! len(ys)
        }
        fn ticker(host, n) { if n > 0 { host ! :tick; yield(); ticker(host, n - 1) } }
        "#,
    )
    .unwrap();
    let host = Value::from(vm.host_pid());
    vm.spawn("mapper", vec![host.clone()]).unwrap();
    vm.spawn("ticker", vec![host, Value::from(3)]).unwrap();
    // The first slices: the mapper cannot finish 200,000 calls in one, so
    // the ticker gets turns before the map is done.
    let mut seen = Vec::new();
    for _ in 0..1_000 {
        let status = vm.run(2_000);
        while let Some(message) = vm.recv() {
            seen.push(message.to_string());
        }
        if status == RunStatus::Idle {
            break;
        }
        assert_eq!(status, RunStatus::BudgetSpent);
    }
    assert_eq!(seen.last().map(String::as_str), Some("200000"), "{seen:?}");
    assert_eq!(seen.iter().filter(|m| *m == ":tick").count(), 3);
    let first_tick = seen.iter().position(|m| m == ":tick").unwrap();
    assert!(first_tick < seen.len() - 1, "{seen:?}");
}

/// A message to a waiting process, sent while the run queue is empty,
/// hands that process to run next without putting its body back in its
/// slot (the scheduler's hand-off). Stepping a ring of such hand-offs one
/// reduction at a time stops in the middle of every hand-off; each time
/// the host must find every process where it expects it — listed, its
/// state readable, reachable by a message — and the ring must finish with
/// the right count.
#[test]
fn stepping_through_hand_offs_leaves_every_process_in_place() {
    let mut vm = Vm::new();
    vm.load(
        "ring.weft",
        r#"
fn relay(next, host) {
  receive {
    0 => { host ! :done; relay(next, host) },
    n => { next ! n - 1; relay(next, host) },
  }
}
fn first(host) { receive { next => relay(next, host) } }
"#,
    )
    .unwrap();
    let host = vm.host_pid();
    let a = vm.spawn("first", vec![Value::Pid(host)]).unwrap();
    let b = vm
        .spawn("relay", vec![Value::Pid(a), Value::Pid(host)])
        .unwrap();
    assert_eq!(vm.run(1_000), RunStatus::Idle);
    vm.send(a, Value::Pid(b));
    vm.send(a, Value::from(500));
    let mut steps = 0;
    let done = loop {
        let status = vm.run(1);
        steps += 1;
        let listed: Vec<_> = vm.processes().into_iter().map(|p| p.pid).collect();
        assert!(
            listed.contains(&a) && listed.contains(&b),
            "step {steps}, {status:?}: {listed:?}"
        );
        if let Some(message) = vm.recv() {
            break message;
        }
        assert!(
            status != RunStatus::Idle,
            "idle without :done after {steps} steps"
        );
        assert!(steps < 100_000, "no end");
    };
    assert_eq!(done, Value::atom("done"));
    assert!(steps > 500, "{steps} steps");
    // Both still wait, in place: a message reaches either.
    vm.send(b, Value::from(0));
    assert_eq!(vm.run(1_000), RunStatus::Idle);
    assert_eq!(vm.recv(), Some(Value::atom("done")));
}
