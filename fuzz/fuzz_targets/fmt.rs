//! `weft fmt` on arbitrary text: it must return (no panic, no overflow),
//! and what it writes is bounded by a small multiple of what it read
//! (`format::output_bound`): a valid file of deeply nested brackets once
//! became a 2 GB file from 3 MB. Whatever it formats keeps the program's
//! tokens and is a fixed point.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_compiler::format::{format, output_bound, same_tokens};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(formatted) = format(text) else {
        return;
    };
    assert!(
        formatted.len() <= output_bound(text.len()),
        "{} bytes became {}",
        text.len(),
        formatted.len()
    );
    assert!(same_tokens(text, &formatted).is_ok(), "the tokens changed");
    assert_eq!(format(&formatted).ok().as_deref(), Some(formatted.as_str()));
});
