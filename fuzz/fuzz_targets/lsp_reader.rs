//! The language server's message reader (repl/src/lsp/transport.rs,
//! included as is) on arbitrary bytes: it must never panic, never hold more
//! than its message limit, and answer or skip whatever is not a message
//! until the input ends.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../repl/src/lsp/transport.rs"]
mod transport;

fuzz_target!(|bytes: &[u8]| {
    let mut output = Vec::new();
    let mut reader = transport::Transport::new(bytes, &mut output);
    // Every round consumes input (a header line at least), so this ends.
    while let Ok(Some(_)) = reader.receive() {}
});
