//! Memory is given back while a program runs: peak resident memory of the
//! real binary, measured by the kernel (`wait4`'s `ru_maxrss` for that one
//! child), on programs that build garbage much faster than the old
//! freeing rate could keep up with.
//!
//! The probe (issue 23) copies a shared 1,500-entry map with string keys
//! and drops the old copy, 40,000 and 400,000 times: each copy defers
//! 3,000 values. Before freeing kept pace with allocation it peaked at
//! 1.76 GB for 40,000 copies; now it must stay under 64 MB however many
//! copies it makes, with one scheduler and with one per core.

use std::process::Command;

const PEAK_LIMIT_KB: i64 = 64 * 1024;

const PROBE: &str = r#"
let m = %{}
for i in 0..1500 { m = map.put(m, str(i), i) }
for i in 0..int(args()[0]) { let shared = m; m = map.put(shared, str(i % 1500), i) }
print(len(m))
"#;

/// Runs `weft run --schedulers N FILE ARGS`; returns stdout and the peak
/// resident set in KiB. The child is reaped by `wait4` (for its
/// `rusage`), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn peak_rss(schedulers: usize, file: &std::path::Path, args: &[&str]) -> (String, i64) {
    let child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("run")
        .arg("--schedulers")
        .arg(schedulers.to_string())
        .arg(file)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run weft");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("stdout");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (its `Child` was
    // consumed above without waiting); the pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status}"
    );
    (out, usage.ru_maxrss)
}

fn probe_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("weft-memory-probe-{}.weft", std::process::id()));
    std::fs::write(&path, PROBE).unwrap();
    path
}

#[test]
fn copying_a_shared_map_and_dropping_the_old_one_stays_small() {
    let file = probe_file();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for schedulers in [1, cores.max(2)] {
        for copies in ["40000", "400000"] {
            let (out, peak) = peak_rss(schedulers, &file, &[copies]);
            assert_eq!(out, "1500\n");
            eprintln!("{copies} copies, {schedulers} schedulers: peak {peak} KiB");
            assert!(
                peak < PEAK_LIMIT_KB,
                "{copies} copies on {schedulers} schedulers peaked at {peak} KiB (limit {PEAK_LIMIT_KB})"
            );
        }
    }
    let _ = std::fs::remove_file(file);
}
