//! Hot reload through `load`: redefining a function changes what running
//! processes call next; a file that does not compile changes nothing.

use weft_vm::{Value, Vm};

const SERVER: &str = r#"
fn version() { 1 }
fn serve(host) {
  receive { :which => host ! (:v, version()) }
  serve(host)
}
"#;

fn ask(vm: &mut Vm, pid: weft_vm::Pid) -> String {
    vm.send(pid, Value::atom("which"));
    vm.run_until_idle();
    vm.recv().expect("a reply").to_string()
}

#[test]
fn a_running_process_calls_the_new_version_next() {
    let mut vm = Vm::new();
    vm.load("server.weft", SERVER).unwrap();
    let pid = vm.spawn("serve", vec![vm.host_pid().into()]).unwrap();
    assert_eq!(ask(&mut vm, pid), "(:v, 1)");
    vm.load("patch.weft", "fn version() { 2 }").unwrap();
    assert_eq!(ask(&mut vm, pid), "(:v, 2)");
    assert!(vm.is_alive(pid));
}

#[test]
fn reloading_the_loop_itself_takes_effect_at_its_next_call() {
    let mut vm = Vm::new();
    vm.load("server.weft", SERVER).unwrap();
    let pid = vm.spawn("serve", vec![vm.host_pid().into()]).unwrap();
    vm.run_until_idle();
    vm.load(
        "server2.weft",
        r#"fn serve(host) { receive { :which => host ! (:new, version()) }; serve(host) }"#,
    )
    .unwrap();
    // The process waits inside the old `serve`; it answers once more the
    // old way, then its tail call enters the new `serve`.
    assert_eq!(ask(&mut vm, pid), "(:v, 1)");
    assert_eq!(ask(&mut vm, pid), "(:new, 1)");
}

#[test]
fn a_patch_may_call_functions_loaded_before() {
    let mut vm = Vm::new();
    vm.load("server.weft", SERVER).unwrap();
    vm.load("more.weft", "fn doubled() { version() * 2 }")
        .unwrap();
    assert_eq!(vm.call("doubled", vec![]).unwrap(), Value::from(2));
    vm.load("patch.weft", "fn version() { 21 }").unwrap();
    assert_eq!(vm.call("doubled", vec![]).unwrap(), Value::from(42));
}

#[test]
fn a_patch_that_does_not_compile_changes_nothing() {
    let mut vm = Vm::new();
    vm.load("server.weft", SERVER).unwrap();
    let pid = vm.spawn("serve", vec![vm.host_pid().into()]).unwrap();
    let error = vm
        .load(
            "broken.weft",
            "fn version() { 2 +\n}\nfn other() { nope() }",
        )
        .unwrap_err();
    assert!(error.to_string().contains("broken.weft"), "{error}");
    assert_eq!(ask(&mut vm, pid), "(:v, 1)");
    assert!(matches!(
        vm.call("other", vec![]),
        Err(weft_vm::Error::NoFunction(_))
    ));
}
