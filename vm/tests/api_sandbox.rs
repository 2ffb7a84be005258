//! Sandboxing: without `allow_io` the `io` module does not exist, so a
//! script that uses it fails to load, with a diagnostic naming `io`.

use weft_vm::{Error, Value, Vm};

const USES_IO: &str = r#"
fn save(path, text) { io.write_file(path, text); io.read_file(path) }
"#;

#[test]
fn a_sandboxed_vm_rejects_a_script_using_io() {
    let mut vm = Vm::new();
    let error = vm.load("save.weft", USES_IO).unwrap_err();
    let Error::Compile(diagnostics) = &error else {
        panic!("expected a compile error, got {error:?}");
    };
    assert!(
        diagnostics.iter().any(|d| d.message.contains("`io`")),
        "{diagnostics:?}"
    );
    let text = error.to_string();
    assert!(text.contains("io"), "{text}");
    assert!(
        text.contains("save.weft"),
        "the diagnostic names the file: {text}"
    );
    // Nothing was loaded.
    assert!(matches!(vm.call("save", vec![]), Err(Error::NoFunction(_))));
}

#[test]
fn allow_io_false_is_the_default() {
    let mut vm = Vm::builder().allow_io(false).build();
    assert!(vm.load("save.weft", USES_IO).is_err());
    let mut vm = Vm::builder().build();
    assert!(vm.load("save.weft", USES_IO).is_err());
}

#[test]
fn allow_io_grants_the_io_module() {
    let mut vm = Vm::builder().allow_io(true).build();
    vm.load("save.weft", USES_IO).unwrap();
    let path = std::env::temp_dir().join(format!("weft-api-sandbox-{}.txt", std::process::id()));
    let path_text = path.to_string_lossy().to_string();
    let read = vm
        .call(
            "save",
            vec![Value::from(path_text.as_str()), Value::from("saved")],
        )
        .unwrap();
    assert_eq!(read, Value::from("saved"));
    let _ = std::fs::remove_file(&path);
    // An io failure is the runtime error :io, in that process only.
    match vm.call(
        "save",
        vec![Value::from("/nonexistent-dir/x/y.txt"), Value::from("x")],
    ) {
        Err(Error::Runtime(error)) => assert_eq!(error.kind.name(), "io"),
        other => panic!("expected :io, got {other:?}"),
    }
}

#[test]
fn a_sandboxed_vm_cannot_read_files_through_imports() {
    let mut vm = Vm::new();
    let error = vm
        .load(
            "main.weft",
            "import \"secret.weft\" as secret\nfn go() { secret.f() }",
        )
        .unwrap_err();
    assert!(matches!(error, Error::Compile(_)), "{error:?}");
}

#[test]
fn a_host_function_cannot_be_reached_unless_registered() {
    let mut vm = Vm::new();
    let error = vm
        .load("g.weft", "fn go() { game.spawn_monster() }")
        .unwrap_err();
    assert!(error.to_string().contains("game"), "{error}");
}
