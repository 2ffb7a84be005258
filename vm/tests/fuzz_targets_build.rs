//! Builds the test suite does not otherwise make. The fuzz targets (fuzz/, a workspace of its own, built with `cargo
//! fuzz` on nightly) still compile: `cargo check` of that workspace on the
//! toolchain running the tests. A change to an API a target uses broke the
//! `verify` target once without anyone noticing; this catches it.
//! (`cargo check` needs no nightly feature: the sanitizer flags and
//! libFuzzer's link step come only with `cargo fuzz build`.)

use std::path::Path;
use std::process::Command;

#[test]
fn the_fuzz_targets_compile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(["check", "--locked", "--bins", "--quiet", "--manifest-path"])
        .arg(root.join("fuzz/Cargo.toml"))
        // A target directory of its own: the outer `cargo test` may still
        // hold the workspace's.
        .env("CARGO_TARGET_DIR", root.join("target/fuzz-check"))
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "the fuzz targets do not compile:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The VM builds without the `net` feature, the one part of it that does
/// I/O (ARCHITECTURE.md: "compiler and vm do no I/O of their own"; `net`
/// is the granted exception, and a host can leave it out entirely).
#[test]
fn the_vm_builds_without_net() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args([
            "check",
            "--locked",
            "--quiet",
            "-p",
            "weft-vm",
            "--no-default-features",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target/no-net-check"))
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "weft-vm does not build without `net`:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
