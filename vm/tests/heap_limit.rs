//! A host's heap limit bounds the data a process holds, not only its stack.

use weft_vm::{Event, Value, Vm};

fn exit_reason(vm: &mut Vm) -> Option<Value> {
    vm.take_events().into_iter().find_map(|e| match e {
        Event::Exit { reason, .. } => Some(reason),
        Event::Crash { error, .. } => Some(error.reason()),
        _ => None,
    })
}

#[test]
fn doubling_a_string_stops_at_the_limit() {
    let mut vm = Vm::builder().max_heap(64 * 1024).build();
    vm.load(
        "grow.weft",
        "fn grow() { let s = \"ab\"\n loop { let t = s ++ s\n s = t } }",
    )
    .unwrap();
    let pid = vm.spawn("grow", vec![]).unwrap();
    let _ = vm.run(1_000_000);
    assert!(!vm.is_alive(pid));
    let reason = exit_reason(&mut vm).expect("an exit event");
    assert!(reason.to_string().contains(":system_limit"), "{reason}");
}

#[test]
fn accumulating_many_small_values_stops_at_the_limit() {
    let mut vm = Vm::builder().max_heap(256 * 1024).build();
    vm.load(
        "hoard.weft",
        "fn hoard() { let xs = []\n loop { xs = list.push(xs, \"some text\" ++ str(len(xs))) } }",
    )
    .unwrap();
    let pid = vm.spawn("hoard", vec![]).unwrap();
    for _ in 0..100 {
        let _ = vm.run(100_000);
        if !vm.is_alive(pid) {
            break;
        }
    }
    assert!(!vm.is_alive(pid));
    let reason = exit_reason(&mut vm).expect("an exit event");
    assert!(reason.to_string().contains(":system_limit"), "{reason}");
}

#[test]
fn a_process_under_the_limit_is_left_alone() {
    let mut vm = Vm::builder().max_heap(1 << 20).build();
    vm.load(
        "small.weft",
        "fn small() { let xs = list.range(0, 1000)\n receive { _ => len(xs) } }",
    )
    .unwrap();
    let pid = vm.spawn("small", vec![]).unwrap();
    vm.run_until_idle();
    assert!(vm.is_alive(pid));
}
