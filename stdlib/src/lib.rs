//! The parts of Weft's standard library written in Weft.
//!
//! The library has one home per module: a module written in Rust is one
//! file of `vm/src/natives/` (including the functions that call back into
//! Weft, such as `list.map`, which continue in Rust after the call — see
//! `vm/src/continuation.rs`), and a module written in Weft is one file
//! here. ARCHITECTURE.md ("The standard library") says why the Rust half
//! lives in the VM. Each source is compiled when a VM starts, as module
//! `NAME`, so its top-level `fn f` becomes `NAME.f`.

/// (module name, Weft source) pairs, loaded in this order.
pub const MODULES: &[(&str, &str)] = &[];
