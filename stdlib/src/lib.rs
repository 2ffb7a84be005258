//! The parts of Weft's standard library written in Weft.
//!
//! Functions that take a function argument (`list.map`, `list.filter`,
//! `list.fold`) are written in Weft so that calling back into user code
//! stays inside the stackless interpreter; everything that must be fast is
//! Rust, in `vm/src/natives/`. (The split also follows the crates'
//! dependencies: the VM ships the whole library to embedding hosts as one
//! crate, so the Rust half lives in the VM and this crate holds only text.)
//! Each source is compiled when a VM starts, as module `NAME`, so its
//! top-level `fn f` becomes `NAME.f`.

/// (module name, Weft source) pairs, loaded in this order.
pub const MODULES: &[(&str, &str)] = &[("list", include_str!("list.weft"))];
