//! Process images through the real `weft` binary (LANGUAGE.md §13):
//!
//! - `an_image_resumes_in_a_fresh_run`: `images/resume.weft` saves a worker
//!   half-way to a file; a second run restores it from the file; the two
//!   runs print exactly what the uninterrupted run prints.
//! - `other_code_is_code_changed`: that image restored by another script
//!   is `(:error, :code_changed)`.
//! - `a_signalled_run_saves_and_resumes`: `weft run --image FILE` gets
//!   SIGTERM once it has printed its third tick (read from its output, no
//!   sleeping), saves the program and exits 0; `weft resume FILE` prints the
//!   rest: together, exactly the uninterrupted run's lines.
//! - `a_process_migrates_between_two_weft_nodes`: `dist/migrate_node.weft`
//!   on two nodes on 127.0.0.1 (their own EPMD, each process stopped by its
//!   pid): a worker moves itself mid-computation and finishes there, its
//!   link and monitor see `(:migrated, pid)`; a counter moved by another
//!   process keeps its state and mailbox (its name stays behind); a node that
//!   cannot be reached leaves the process where it was.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{assert_lines, output_of, started, wait_for, weft};
use weft_node::testing::Epmd;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/images")
        .join(name)
}

fn run(name: &str, args: &[&str]) -> Vec<String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .arg(script(name))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    output_of(command)
}

fn image_file(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("weft-{test}-{}.img", std::process::id()))
}

#[test]
fn an_image_resumes_in_a_fresh_run() {
    let file = image_file("resume");
    let path = file.to_str().unwrap();
    let whole = run("resume.weft", &["run", path]);
    assert_eq!(whole.len(), 12, "{whole:?}");
    let first = run("resume.weft", &["save", path]);
    assert_eq!(first.last().map(String::as_str), Some("saved"));
    let second = run("resume.weft", &["resume", path]);
    let mut both: Vec<String> = first[..first.len() - 1].to_vec();
    both.extend(second);
    assert_eq!(both, whole);
    let _ = std::fs::remove_file(file);
}

#[test]
fn other_code_is_code_changed() {
    let file = image_file("changed");
    let path = file.to_str().unwrap();
    run("resume.weft", &["save", path]);
    assert_lines(&run("changed.weft", &[path]), &["(:error, :code_changed)"]);
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_signalled_run_saves_and_resumes() {
    use std::io::{BufRead, BufReader};
    let file = image_file("ticks");
    let path = file.to_str().unwrap();
    let whole = run("ticks.weft", &[]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(["run", "--image", path])
        .arg(script("ticks.weft"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = common::Guard(command.spawn().unwrap());
    let mut reader = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = Vec::new();
    while first.len() < 3 {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the run ended early"
        );
        first.push(line.trim_end().to_string());
    }
    // SAFETY: a plain kill(2) of our own child, by its pid.
    unsafe {
        libc::kill(child.0.id() as libc::pid_t, libc::SIGTERM);
    }
    for line in reader.lines() {
        first.push(line.unwrap());
    }
    let status = child.0.wait().unwrap();
    assert!(status.success(), "the signalled run exits 0: {status}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command.args(["resume", path]);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let second = output_of(command);
    first.extend(second);
    assert_eq!(first, whole);
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_process_migrates_between_two_weft_nodes() {
    let epmd = Epmd::start();
    let there = started(weft(&epmd, "images_a", "migrate_node.weft", &["there"]));
    let here = output_of(weft(
        &epmd,
        "images_b",
        "migrate_node.weft",
        &["here", "images_a@localhost"],
    ));
    assert_lines(
        &here,
        &[
            "monitor saw :migrated to :pid",
            "link saw :migrated",
            "done on true 385",
            "false nil",
            "counter there: true 16",
            "(:error, :noconnection) true",
        ],
    );
    assert_lines(
        &wait_for(there),
        &[
            "(\"worker resumed on the other node:\", true)",
            "(\"sum of squares:\", 385)",
        ],
    );
}
