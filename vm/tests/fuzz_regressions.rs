//! Every input the `run` fuzz target flagged (kept in
//! `fuzz/regressions/run/`) runs in a sandboxed VM without a panic, and
//! each `run(budget)` call returns promptly.

use std::time::{Duration, Instant};

use weft_vm::{NoImports, RunStatus, SourceFile, Vm};

#[test]
fn fuzz_regressions_run_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/run");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions/run") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        // The target takes the input's longest UTF-8 prefix as the script.
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(error) => std::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap(),
        };
        let mut vm = Vm::builder()
            .max_processes(64)
            .max_mailbox(1000)
            .max_heap(32 << 20)
            .output(|_: &str| {})
            .build();
        count += 1;
        let Ok(entry) = vm.load_main(SourceFile::new("fuzz.weft", text), &mut NoImports) else {
            continue;
        };
        vm.spawn_main(entry);
        for _ in 0..20 {
            let started = Instant::now();
            let status = vm.run(5_000);
            assert!(
                started.elapsed() < Duration::from_millis(500),
                "{}: a slice took {:?}",
                path.display(),
                started.elapsed()
            );
            let _ = vm.take_events();
            if vm.main_exit().is_some() || status != RunStatus::BudgetSpent {
                break;
            }
        }
        vm.stop_all();
    }
    assert!(count > 0, "no regression inputs in {}", dir.display());
}
