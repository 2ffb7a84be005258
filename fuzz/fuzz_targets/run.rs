//! Compile-and-run: arbitrary text that compiles runs in a sandboxed VM
//! (no `io`, a 32 MiB heap, 64 processes) under a reduction budget. The VM
//! must not panic, and each `run(budget)` call must return.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_vm::{NoImports, SourceFile};

fuzz_target!(|text: &str| {
    let mut vm = weft_fuzz::sandbox();
    let Ok(entry) = vm.load_main(SourceFile::new("fuzz.weft", text), &mut NoImports) else {
        return;
    };
    weft_fuzz::run_bounded(&mut vm, entry, 20);
});
