//! `Vm: Send`: a host can build a VM on one thread and run it on another.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use weft_vm::{RunStatus, Value, Vm};

#[test]
fn the_vm_and_its_values_are_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Vm>();
    assert_send::<Value>();
    assert_send::<weft_vm::Pid>();
    assert_send::<weft_vm::Error>();
    assert_send::<weft_vm::Event>();
}

#[test]
fn a_vm_moves_to_another_thread_and_back() {
    let counter = Arc::new(Mutex::new(0));
    let seen = counter.clone();
    let mut vm = Vm::new();
    vm.register_fn("game.tick", 0, move |_: &[Value]| {
        let mut n = seen.lock().unwrap();
        *n += 1;
        Ok(Value::from(*n))
    });
    vm.load(
        "t.weft",
        "fn ticker(host, n) { for i in 0..n { host ! game.tick() } }",
    )
    .unwrap();
    let pid = vm
        .spawn("ticker", vec![vm.host_pid().into(), Value::from(5)])
        .unwrap();

    let worker = std::thread::spawn(move || {
        assert_eq!(vm.run_until_idle(), RunStatus::Idle);
        let mut got = Vec::new();
        while let Some(message) = vm.recv() {
            got.push(message.as_int().unwrap());
        }
        (vm, got)
    });
    let (mut vm, got) = worker.join().unwrap();
    assert_eq!(got, [1, 2, 3, 4, 5]);
    assert_eq!(*counter.lock().unwrap(), 5);
    assert!(!vm.is_alive(pid));
    // Back on this thread, it still works.
    assert_eq!(vm.call("game.tick", vec![]).unwrap(), Value::from(6));
}

#[test]
fn a_vm_thread_driven_by_channels() {
    // The VM lives on its own thread; the rest of the program talks to it
    // through std channels.
    let (to_vm, requests) = mpsc::channel::<i64>();
    let (replies, from_vm) = mpsc::channel::<Value>();
    let thread = std::thread::spawn(move || {
        let mut vm = Vm::new();
        vm.load(
            "sq.weft",
            "fn square(host) { receive { n => host ! n * n }; square(host) }",
        )
        .unwrap();
        let pid = vm.spawn("square", vec![vm.host_pid().into()]).unwrap();
        for n in requests {
            vm.send(pid, Value::from(n));
            vm.run_until_idle();
            while let Some(reply) = vm.recv() {
                replies.send(reply).unwrap();
            }
        }
    });
    for n in 1..=3 {
        to_vm.send(n).unwrap();
        assert_eq!(from_vm.recv().unwrap(), Value::from(n * n));
    }
    drop(to_vm);
    thread.join().unwrap();
}
