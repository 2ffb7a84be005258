//! Process images as untrusted input: arbitrary bytes (seeded with real
//! images of `fuzz/image_script.weft`'s processes, written by
//! `vm/tests/api_images.rs`) given to `Vm::restore_process` and
//! `Vm::load_image`, each in a fresh VM. Either is an error or processes
//! that run; the VM must not panic, and every `run(budget)` must return.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_vm::Vm;

/// The two ways in: one process, or a whole VM.
const WAYS: [fn(&mut Vm, &[u8]) -> bool; 2] = [
    |vm, bytes| vm.restore_process(bytes).is_ok(),
    |vm, bytes| vm.load_image(bytes).is_ok(),
];

fuzz_target!(|bytes: &[u8]| {
    for way in WAYS {
        let mut vm = weft_fuzz::sandbox();
        if vm.load("image_script.weft", weft_fuzz::IMAGE_SCRIPT).is_err() {
            return;
        }
        if way(&mut vm, bytes) {
            for _ in 0..20 {
                let _ = vm.run(5_000);
                let _ = vm.take_events();
            }
        }
        vm.stop_all();
    }
});
