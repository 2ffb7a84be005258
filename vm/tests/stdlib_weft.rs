//! The library's Weft modules (`server`, `supervisor`) are compiled on
//! first use, by a script or by a host calling one of their functions.

use weft_vm::{Value, Vm};

#[test]
fn a_host_can_call_a_library_function_no_script_has_used() {
    let mut vm = Vm::new();
    let host: Value = vm.host_pid().into();
    let answer = vm
        .call("server.cast", vec![host, Value::atom("hi")])
        .unwrap();
    assert_eq!(answer, Value::atom("ok"));
    let _ = vm.run_until_idle();
    assert_eq!(
        vm.recv(),
        Some(Value::tuple(vec![
            Value::atom("$gen_cast"),
            Value::atom("hi")
        ]))
    );
}

#[test]
fn a_script_that_calls_the_library_loads_it() {
    let mut vm = Vm::new();
    vm.load(
        "s.weft",
        "fn go() { let s = server.start(%{:init => fn(n) { n }, :call => fn(r, f, n) { (:reply, n + r, n) }}, 40)\n server.call(s, 2, 1000) }",
    )
    .unwrap();
    assert_eq!(vm.call("go", vec![]).unwrap(), Value::from(42));
}
