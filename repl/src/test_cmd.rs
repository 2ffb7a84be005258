//! `weft test [FILE|DIR...]`: runs the `test_*` functions of Weft files.
//!
//! Each file is compiled once; each of its zero-argument functions whose
//! name starts with `test_` then runs in a fresh VM (as a process of its
//! own, through `Vm::call`), so what one test spawns, registers or leaves
//! running cannot touch the next. A test passes when its function returns;
//! it fails when it crashes (a failed `assert` is reported with its span,
//! like any runtime error), exits, or blocks forever. A file's top-level
//! code does not run, as Go runs only the test functions of a test file.
//!
//! The summary line is `N passed, M failed`; the exit status is 0 when
//! nothing failed, 1 otherwise (a file that does not compile counts as one
//! failure), and 64 for bad usage.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use weft_compiler::{render, Module};
use weft_vm::{Error, Event, Vm};

use crate::files::{read_source, FileLoader, ReadError};

/// Where `weft test` looks when given no paths.
const DEFAULT_DIRECTORY: &str = "tests";

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

pub fn main(paths: &[String]) -> ExitCode {
    let roots: Vec<PathBuf> = if paths.is_empty() {
        vec![PathBuf::from(DEFAULT_DIRECTORY)]
    } else {
        paths.iter().map(PathBuf::from).collect()
    };
    let mut files = Vec::new();
    for root in &roots {
        if root.is_dir() {
            collect(root, &mut files);
        } else if root.exists() {
            files.push(root.clone());
        } else {
            eprintln!("weft: no such file or directory: {}", root.display());
            return ExitCode::from(crate::EXIT_USAGE);
        }
    }
    let color = crate::run::color();
    let mut tally = Tally::default();
    for file in &files {
        test_file(file, color, &mut tally);
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Every `.weft` file under `directory`, in name order (deterministic runs).
pub(crate) fn collect(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "weft") {
            files.push(path);
        }
    }
}

/// What a test wrote to stderr (`eprint`, crash reports): shown only if
/// the test fails, since a passing test may crash processes on purpose (a
/// supervisor's test does).
type Stderr = Arc<Mutex<String>>;

/// A VM as `weft FILE` builds it, on the caller's thread (one scheduler:
/// a test's output is reproducible), its error output kept in `stderr`.
fn new_vm(stderr: &Stderr) -> Vm {
    let stderr = stderr.clone();
    Vm::builder()
        .allow_io(true)
        .allow_net(true)
        // A test that would exhaust memory fails, not the whole run.
        .max_vm_heap(crate::limits::default_vm_heap())
        .output(|text: &str| {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
        })
        .error_output(move |text: &str| {
            stderr
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(text);
        })
        .build()
}

fn test_file(path: &Path, color: bool, tally: &mut Tally) {
    let name = path.display().to_string();
    let source = match read_source(&name) {
        Ok(source) => source,
        Err(ReadError::Io(message)) => {
            eprintln!("weft: {message}");
            tally.failed += 1;
            return;
        }
        Err(ReadError::NotText(diagnostic)) => {
            eprint!("{}", render(&[*diagnostic], color));
            tally.failed += 1;
            return;
        }
    };
    let environment = new_vm(&Stderr::default()).environment();
    let modules = match weft_compiler::compile(source, "main", &environment, &mut FileLoader) {
        Ok(modules) => modules,
        Err(diagnostics) => {
            eprint!("{}", render(&diagnostics, color));
            println!("test {name} ... FAILED (does not compile)");
            tally.failed += 1;
            return;
        }
    };
    for test in test_functions(&modules) {
        let passed = run_test(&modules, &test, color);
        let _ = std::io::stdout().flush();
        if passed {
            println!("test {name}::{test} ... ok");
            tally.passed += 1;
        } else {
            println!("test {name}::{test} ... FAILED");
            tally.failed += 1;
        }
    }
}

/// The file's own top-level functions named `test_*` that take no
/// arguments, in source order.
fn test_functions(modules: &[Module]) -> Vec<String> {
    let Some(main) = modules.iter().find(|m| m.name == "main") else {
        return Vec::new();
    };
    let mut tests: Vec<(u32, String)> = main
        .functions
        .iter()
        .filter(|(name, _)| name.starts_with("test_"))
        .filter_map(|(name, index)| {
            let proto = main.protos.get(*index as usize)?;
            let line = proto.spans.first().map_or(0, |s| s.start);
            (proto.arity == 0).then(|| (line, name.clone()))
        })
        .collect();
    tests.sort();
    tests.into_iter().map(|(_, name)| name).collect()
}

/// Runs one test in a VM of its own; whether it passed. What the test
/// writes to stderr — its crash report, and those of processes it started,
/// as `weft FILE` prints them — is shown only when it fails.
fn run_test(modules: &[Module], test: &str, color: bool) -> bool {
    let stderr = Stderr::default();
    let mut vm = new_vm(&stderr);
    if let Err(error) = vm.load_modules(modules.to_vec()) {
        eprintln!("weft: {error}");
        return false;
    }
    let result = vm.call(test, Vec::new());
    let _ = std::io::stdout().flush();
    let mut report = std::mem::take(&mut *stderr.lock().unwrap_or_else(|e| e.into_inner()));
    for event in vm.take_events() {
        if let Event::Crash { pid, error } = event {
            report.push_str(&render(&[error.to_diagnostic(pid)], color));
        }
    }
    let passed = match result {
        Ok(_) => true,
        // In the report above, with the span of the failing `assert`.
        Err(Error::Runtime(_)) => false,
        Err(Error::Exited(reason)) => {
            report.push_str(&format!("{test} exited: {}\n", reason.inspect()));
            false
        }
        Err(Error::Deadlock) => {
            report.push_str(&format!(
                "{test} blocked forever: every process waits and no timer is pending\n"
            ));
            false
        }
        Err(error) => {
            report.push_str(&format!("{test}: {error}\n"));
            false
        }
    };
    vm.stop_all();
    if !passed {
        report.push_str(&stderr.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = std::io::stderr().lock().write_all(report.as_bytes());
    }
    passed
}
