//! What the tests that run `weft` as a node beside real Erlang nodes
//! share (`distribution.rs`, `cluster.rs`): the cookie, loopback-only
//! `erl` flags, the Erlang helper modules compiled once per test binary,
//! a guard that stops a child process by its pid, and bounded waits.

#![allow(dead_code)] // each test binary uses its own part of it

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use weft_node::testing::Epmd;

pub const COOKIE: &str = "weft-test-cookie";

/// `erl` listens for distribution on every interface unless told: these
/// tests bind and connect on loopback only.
pub const LOOPBACK_ONLY: [&str; 3] = ["-kernel", "inet_dist_use_interface", "{127,0,0,1}"];

pub fn dist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dist")
}

/// Every `tests/dist/*.erl` (`weft_peer`, `cluster_peer`), compiled once
/// per test binary.
pub fn beam_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("weft-dist-beam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut sources: Vec<PathBuf> = std::fs::read_dir(dist_dir())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "erl"))
            .collect();
        sources.sort();
        let status = Command::new("erlc")
            .arg("-o")
            .arg(&dir)
            .args(&sources)
            .status()
            .expect("erlc is not installed (apt-get install erlang-base)");
        assert!(status.success(), "tests/dist/*.erl compile");
        dir
    })
}

/// A child process killed (by pid) when the guard goes.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server (an Erlang node or a Weft script) and waits for the
/// "ready" line it prints once its names are registered.
pub fn started(mut command: Command) -> Guard {
    let child = command
        .spawn()
        .expect("erl is not installed (apt-get install erlang-base)");
    let mut guard = Guard(child);
    let mut ready = String::new();
    BufReader::new(guard.0.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the server starts");
    guard
}

/// `weft run --sname NAME@localhost tests/dist/SCRIPT ARGS`, not yet
/// started.
pub fn weft(epmd: &Epmd, name: &str, script: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args([
            "run",
            "--sname",
            &format!("{name}@localhost"),
            "--cookie",
            COOKIE,
        ])
        .arg(dist_dir().join(script))
        .args(args)
        .env("ERL_EPMD_PORT", epmd.port.to_string())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits (at most 60 s) for a started command to end; its standard output
/// lines. It must exit with status 0.
pub fn wait_for(mut guard: Guard) -> Vec<String> {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the command did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut stdout) = guard.0.stdout.take() {
        stdout.read_to_string(&mut out).unwrap();
    }
    if let Some(mut stderr) = guard.0.stderr.take() {
        stderr.read_to_string(&mut err).unwrap();
    }
    assert!(
        status.success(),
        "exit {status}\nstdout:\n{out}\nstderr:\n{err}"
    );
    out.lines().map(str::to_string).collect()
}

/// Runs a command to its end; its standard output lines.
pub fn output_of(mut command: Command) -> Vec<String> {
    wait_for(Guard(command.spawn().unwrap()))
}

pub fn assert_lines(got: &[String], want: &[&str]) {
    let got: Vec<&str> = got.iter().map(String::as_str).collect();
    assert_eq!(got, want);
}
