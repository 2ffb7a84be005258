//! `net` is granted like `io`: without `allow_net` a script that uses it
//! does not compile, and the diagnostic names `net`.

#![cfg(feature = "net")]

use weft_vm::{Error, Vm};

#[test]
fn a_script_without_the_net_grant_gets_a_diagnostic_naming_net() {
    let script = "fn serve() { net.listen(\"127.0.0.1\", 0) }";
    match Vm::new().load("serve.weft", script) {
        Err(Error::Compile(diagnostics)) => {
            let text = weft_compiler::render(&diagnostics, false);
            assert!(text.contains("`net`"), "{text}");
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
    let mut allowed = Vm::builder().allow_net(true).build();
    assert!(allowed.load("serve.weft", script).is_ok());
}
