//! The compiler on arbitrary bytes: decoding, lexing, parsing, code
//! generation, the verifier on what it emits, diagnostic rendering and the
//! disassembler must return (no panic, no overflow) whatever the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_compiler::{compile, decode_source, render, verify_module, NoImports};
use weft_fuzz::environment;

fuzz_target!(|bytes: &[u8]| {
    let Ok(source) = decode_source("fuzz.weft", bytes.to_vec()) else {
        return;
    };
    match compile(source, "main", environment(), &mut NoImports) {
        Ok(modules) => {
            for module in &modules {
                // The compiler's output always passes the verifier.
                if let Err(error) = verify_module(module) {
                    panic!("the compiler emitted a module that fails verification: {error}");
                }
            }
            let _ = weft_compiler::disasm::module_text(&modules);
        }
        Err(diagnostics) => {
            let _ = render(&diagnostics, false);
        }
    }
});
