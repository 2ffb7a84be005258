//! What `weft` reads as source: regular files only, so a FIFO or a device
//! named as a script or an import is refused at once instead of blocking
//! (opening a FIFO for reading waits for a writer) or reading forever.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A bound for a command that must not block (not a speed requirement).
const BOUND: Duration = Duration::from_secs(20);

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// Runs `weft ARGS`, failing the test if it is still running after BOUND
/// (the child is killed then).
fn weft_bounded(args: &[&std::ffi::OsStr]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            panic!("weft {args:?} still running after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_fifo_as_the_script_is_refused_with_66() {
    let dir = scratch("script");
    let fifo = dir.join("script.weft");
    mkfifo(&fifo);
    for command in ["run", "check"] {
        let output = weft_bounded(&[command.as_ref(), fifo.as_os_str()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(66), "{command}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_fifo_as_an_import_is_a_compile_error() {
    let dir = scratch("import");
    mkfifo(&dir.join("lib.weft"));
    let main = dir.join("main.weft");
    std::fs::write(&main, "import \"lib.weft\" as lib\nprint(1)\n").unwrap();
    let output = weft_bounded(&[main.as_os_str()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(65), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
