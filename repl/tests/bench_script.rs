//! bench/run.sh from a fresh clone, where the peers' programs are not
//! beside the repository: it stops before building anything, saying what
//! it looked for and which variable points it elsewhere.

use std::process::Command;

#[test]
fn missing_peers_are_explained() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new("bash")
        .arg(root.join("bench/run.sh"))
        .arg("--quick")
        .env("PEERS", "/nonexistent/peers")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/peers"), "{stderr}");
    assert!(stderr.contains("PEERS=/path/to/shared/peers"), "{stderr}");
    assert!(!stderr.contains("building weft"), "{stderr}");
}
