//! Runs every `.weft` file under the workspace's `tests/` through the real
//! `weft` binary and checks it against the expectations in its comments:
//!
//! - `# expect: TEXT` — the next line of standard output (all of stdout must
//!   match these lines exactly, in order);
//! - `# expect error: TEXT` — standard error contains TEXT;
//! - `# expect exit: N` — the exit status (default 0; a test with an
//!   `expect error` must state it);
//! - `# expect no error output` — standard error is empty;
//! - `# args: A B` — arguments after the file name;
//! - `# options: --max-heap 256M` — run options: the file runs as
//!   `weft run OPTIONS FILE ARGS`;
//! - `# command: check|disasm` — run that subcommand (disasm output is not
//!   compared);
//! - `# schedulers: 1 — REASON` — run with one scheduler only, for a test
//!   whose output depends on the interleaving of processes (say why).
//!
//! Every test runs twice (LANGUAGE.md §8): with one scheduler
//! (`WEFT_SCHEDULERS=1`, deterministic) and with the default (one per
//! core), and must pass both ways.
//!
//! Files under a directory named `modules` are imported by other tests and
//! are not run themselves. Files run in parallel. `WEFT_TEST_FILTER=part`
//! runs only matching paths.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Expectations {
    stdout: Vec<String>,
    errors: Vec<String>,
    quiet: bool,
    exit: Option<i32>,
    args: Vec<String>,
    options: Vec<String>,
    command: Option<String>,
    one_scheduler: bool,
}

fn parse(text: &str) -> Expectations {
    let mut e = Expectations {
        stdout: Vec::new(),
        errors: Vec::new(),
        quiet: false,
        exit: None,
        args: Vec::new(),
        options: Vec::new(),
        command: None,
        one_scheduler: false,
    };
    for line in text.lines() {
        // The directive starts at the last `# expect`/`# args`/`# command`
        // of the line, so a `#` inside a string literal is not mistaken for it.
        let Some(at) = [
            "# expect",
            "# args:",
            "# options:",
            "# command:",
            "# schedulers:",
        ]
        .iter()
        .filter_map(|k| line.rfind(k))
        .max() else {
            continue;
        };
        let comment = &line[at + 2..];
        if let Some(rest) = comment.strip_prefix("expect: ") {
            e.stdout.push(rest.to_string());
        } else if comment == "expect:" {
            e.stdout.push(String::new());
        } else if let Some(rest) = comment.strip_prefix("expect error: ") {
            e.errors.push(rest.trim_end().to_string());
        } else if comment.trim_end() == "expect no error output" {
            e.quiet = true;
        } else if let Some(rest) = comment.strip_prefix("expect exit: ") {
            e.exit = rest.trim().parse().ok();
        } else if let Some(rest) = comment.strip_prefix("args: ") {
            e.args = rest.split_whitespace().map(str::to_string).collect();
        } else if let Some(rest) = comment.strip_prefix("options: ") {
            e.options = rest.split_whitespace().map(str::to_string).collect();
        } else if let Some(rest) = comment.strip_prefix("command: ") {
            e.command = Some(rest.trim().to_string());
        } else if let Some(rest) = comment.strip_prefix("schedulers: ") {
            e.one_scheduler = rest.trim_start().starts_with('1');
        }
    }
    e
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "modules") {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "weft") {
            out.push(path);
        }
    }
}

/// Runs one test file (with one scheduler, or with the default number);
/// returns a description of each mismatch.
fn run_one(root: &Path, path: &Path, one_scheduler: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let expect = parse(&text);
    let relative = path.strip_prefix(root).unwrap_or(path);
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command.current_dir(root).env("NO_COLOR", "1");
    if one_scheduler || expect.one_scheduler {
        command.env("WEFT_SCHEDULERS", "1");
    } else {
        command.env_remove("WEFT_SCHEDULERS");
    }
    if let Some(sub) = &expect.command {
        command.arg(sub);
    } else if !expect.options.is_empty() {
        command.arg("run").args(&expect.options);
    }
    command.arg(relative).args(&expect.args);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start weft: {e}"))?;
    let started = Instant::now();
    let limit = Duration::from_secs(120);
    // Read output on threads so a chatty test can't fill a pipe and stall.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out_pipe, &mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            return Err(format!("timed out after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    let mut problems = Vec::new();
    if expect.command.as_deref() != Some("disasm") {
        let got: Vec<&str> = stdout.lines().collect();
        if got != expect.stdout {
            problems.push(format!(
                "stdout differs\n--- expected\n{}\n--- got\n{}",
                expect.stdout.join("\n"),
                stdout.trim_end()
            ));
        }
    }
    for error in &expect.errors {
        if !stderr.contains(error.as_str()) {
            problems.push(format!("stderr lacks {error:?}"));
        }
    }
    if expect.quiet && !stderr.is_empty() {
        problems.push("stderr is not empty".to_string());
    }
    let want = expect.exit.unwrap_or(0);
    if status.code() != Some(want) {
        problems.push(format!("exit status {:?}, expected {want}", status.code()));
    }
    if !problems.is_empty() && !stderr.is_empty() {
        problems.push(format!("--- stderr\n{}", stderr.trim_end()));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn golden_scripts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let mut files = Vec::new();
    collect(&root.join("tests"), &mut files);
    files.sort();
    if let Ok(filter) = std::env::var("WEFT_TEST_FILTER") {
        files.retain(|f| f.to_string_lossy().contains(&filter));
    }
    assert!(!files.is_empty(), "no .weft tests found under tests/");
    let queue = Mutex::new(files.clone());
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let Some(path) = queue.lock().unwrap().pop() else {
                    break;
                };
                // The two runs of one file take turns: a test may write files.
                for one in [true, false] {
                    let Err(problem) = run_one(&root, &path, one) else {
                        continue;
                    };
                    let name = format!(
                        "{} ({})",
                        path.strip_prefix(&root).unwrap_or(&path).display(),
                        if one {
                            "one scheduler"
                        } else {
                            "default schedulers"
                        }
                    );
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("=== {name}\n{problem}"));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    for failure in &failures {
        eprintln!("{failure}\n");
    }
    eprintln!(
        "golden: {} runs passed, {} failed ({} files, each with one and with the default schedulers)",
        2 * files.len() - failures.len(),
        failures.len(),
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} golden runs failed",
        failures.len(),
        2 * files.len()
    );
}
