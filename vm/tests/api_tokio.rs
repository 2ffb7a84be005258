//! `register_future` (feature `tokio`): host calls answered by futures on
//! the host's runtime, with a VM stepped by the host and one with threads.
#![cfg(feature = "tokio")]

use std::time::{Duration, Instant};

use weft_vm::{RunStatus, Value, Vm};

const SCRIPT: &str = r#"
fn ask(host, n) { host ! (n, net.double(n)) }
fn fail(host) { host ! (try net.double(:x)) }
"#;

fn register(vm: &mut Vm, runtime: &tokio::runtime::Runtime) {
    runtime.block_on(async {
        vm.register_future("net.double", |args: Vec<Value>| async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            match args[0].as_int() {
                Some(n) => Ok(Value::from(n * 2)),
                None => Err(format!("not a number: {}", args[0])),
            }
        });
    });
}

fn replies(vm: &mut Vm, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        let status = vm.run(10_000);
        while let Some(message) = vm.recv() {
            got.push(message.to_string());
        }
        if status != RunStatus::BudgetSpent {
            vm.wait_for_work(Duration::from_millis(50));
        }
    }
    got.sort();
    got
}

#[test]
fn futures_answer_host_calls_on_the_hosts_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    for schedulers in [0, 2] {
        let mut vm = Vm::builder().schedulers(schedulers).build();
        register(&mut vm, &runtime);
        vm.load("t.weft", SCRIPT).unwrap();
        let host = Value::from(vm.host_pid());
        for n in 0..20 {
            vm.spawn("ask", vec![host.clone(), n.into()]).unwrap();
        }
        vm.spawn("fail", vec![host]).unwrap();
        let got = replies(&mut vm, 21);
        let mut want: Vec<String> = (0..20).map(|n| format!("({n}, {})", n * 2)).collect();
        want.push(r#"(:error, :host, "not a number: :x")"#.to_string());
        want.sort();
        assert_eq!(got, want, "with {schedulers} scheduler threads");
    }
}

#[test]
fn registered_outside_a_runtime_is_a_clear_error() {
    let mut vm = Vm::new();
    vm.register_future("net.never", |_: Vec<Value>| async { Ok(Value::nil()) });
    vm.load("t.weft", "fn go() { net.never() }").unwrap();
    match vm.call("go", vec![]) {
        Err(weft_vm::Error::Runtime(error)) => assert_eq!(
            error.reason().to_string(),
            r#"(:error, :host, "net.never was registered outside a tokio runtime")"#
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn call_waits_for_a_future() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let mut vm = Vm::new();
    register(&mut vm, &runtime);
    vm.load("c.weft", "fn twice_plus_one(n) { net.double(n) + 1 }")
        .unwrap();
    assert_eq!(
        vm.call("twice_plus_one", vec![Value::from(20)]).unwrap(),
        Value::from(41)
    );
    assert_eq!(vm.pending_host_calls(), 0);
}
