//! Process images as untrusted input: arbitrary bytes (seeded with real
//! images of `fuzz/image_script.weft`'s processes, written by
//! `vm/tests/images_api.rs`) given to `Vm::restore_process` and
//! `Vm::load_image`. Either is an error or a process that runs; the VM must
//! not panic, and every `run(budget)` must return.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut vm = weft_fuzz::sandbox();
    if vm.load("image_script.weft", weft_fuzz::IMAGE_SCRIPT).is_err() {
        return;
    }
    if vm.restore_process(bytes).is_ok() {
        for _ in 0..20 {
            let _ = vm.run(5_000);
            let _ = vm.take_events();
        }
    }
    vm.stop_all();
    let mut fresh = weft_fuzz::sandbox();
    if fresh.load("image_script.weft", weft_fuzz::IMAGE_SCRIPT).is_err() {
        return;
    }
    if fresh.load_image(bytes).is_ok() {
        for _ in 0..20 {
            let _ = fresh.run(5_000);
            let _ = fresh.take_events();
        }
    }
    fresh.stop_all();
});
