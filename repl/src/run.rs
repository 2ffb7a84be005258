//! `weft FILE`, `weft check`, `weft disasm`: compile, then run the main
//! process to its end, printing crash reports as they happen.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use weft_compiler::{render, Diagnostic};
use weft_vm::{Driven, Event, Value, Vm};

use crate::files::{read_source, FileLoader, ReadError};
use crate::{EXIT_COMPILE, EXIT_NO_INPUT, EXIT_RUNTIME};

#[derive(Default, Clone)]
pub struct Options {
    pub seed: u64,
    pub stats: bool,
    /// `--schedulers N`; `None`: `WEFT_SCHEDULERS`, else one per core.
    pub schedulers: Option<usize>,
    /// `--trace-out FILE`: write a Chrome trace-event file there.
    pub trace_out: Option<String>,
    /// `--max-heap` and the other limits; the machine's defaults otherwise.
    pub limits: crate::limits::Given,
    /// `--image FILE`: on SIGINT or SIGTERM, save the whole VM to FILE
    /// (LANGUAGE.md §13) instead of stopping it; `weft resume FILE` runs it on.
    pub image: Option<String>,
}

/// The most events `--trace-out` keeps (about 150 MB of JSON); a longer
/// run's trace says how many it dropped.
const TRACE_MAX_EVENTS: usize = 1_000_000;

/// How many schedulers a run uses (LANGUAGE.md §8): `--schedulers N`, else
/// the `WEFT_SCHEDULERS` environment variable, else one per core.
pub fn scheduler_count(options: &Options) -> Result<usize, String> {
    if let Some(n) = options.schedulers {
        return Ok(n);
    }
    match std::env::var("WEFT_SCHEDULERS") {
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if (1..=1024).contains(&n) => Ok(n),
            _ => Err(format!(
                "WEFT_SCHEDULERS must be a number from 1 to 1024, got {text:?}"
            )),
        },
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Colour for terminals only (and never when NO_COLOR is set).
pub(crate) fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn report(diagnostics: &[Diagnostic]) {
    eprint!("{}", render(diagnostics, color()));
}

fn load(path: &str) -> Result<Arc<weft_compiler::SourceFile>, ExitCode> {
    match read_source(path) {
        Ok(source) => Ok(source),
        Err(ReadError::Io(message)) => {
            eprintln!("weft: {message}");
            Err(ExitCode::from(EXIT_NO_INPUT))
        }
        Err(ReadError::NotText(diagnostic)) => {
            report(&[*diagnostic]);
            Err(ExitCode::from(EXIT_COMPILE))
        }
    }
}

pub fn check_file(path: &str) -> ExitCode {
    let source = match load(path) {
        Ok(source) => source,
        Err(code) => return code,
    };
    // `check` compiles what `run` would run, so it grants what `run` grants.
    let vm = Vm::builder().allow_io(true).allow_net(true).build();
    match weft_compiler::compile(source, "main", &vm.environment(), &mut FileLoader) {
        Ok(_) => ExitCode::SUCCESS,
        Err(diagnostics) => {
            report(&diagnostics);
            ExitCode::from(EXIT_COMPILE)
        }
    }
}

pub fn disasm_file(path: &str) -> ExitCode {
    let source = match load(path) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let vm = Vm::builder().allow_io(true).allow_net(true).build();
    match weft_compiler::compile(source, "main", &vm.environment(), &mut FileLoader) {
        Ok(modules) => {
            print!("{}", weft_compiler::disasm::module_text(&modules));
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            report(&diagnostics);
            ExitCode::from(EXIT_COMPILE)
        }
    }
}

pub fn run_file(path: &str, args: Vec<String>, options: &Options) -> ExitCode {
    run_program(path, args, options, None)
}

/// `weft resume FILE`: the program `weft run --image FILE` saved, run on
/// from where it was (saving to FILE again on the next signal).
pub fn resume_file(file: &str, options: &Options) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("weft: cannot read {file}: {error}");
            return ExitCode::from(66);
        }
    };
    let Some((path, args, image)) = crate::image_file::read(&bytes) else {
        eprintln!("weft: {file} is not a program saved by `weft run --image`");
        return ExitCode::from(65);
    };
    let options = Options {
        image: Some(options.image.clone().unwrap_or_else(|| file.to_string())),
        ..options.clone()
    };
    run_program(&path, args, &options, Some(image))
}

/// Runs the script at `path` from its start, or from `image` (a whole-VM
/// image of it that `--image` saved).
fn run_program(path: &str, args: Vec<String>, options: &Options, image: Option<&[u8]>) -> ExitCode {
    let source = match load(path) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let stdout = Arc::new(Mutex::new(std::io::BufWriter::with_capacity(
        1 << 16,
        std::io::stdout(),
    )));
    let sink = stdout.clone();
    let before_errors = stdout.clone();
    let schedulers = match scheduler_count(options) {
        Ok(n) => n,
        Err(message) => {
            eprintln!("weft: {message}");
            return ExitCode::from(64);
        }
    };
    // One scheduler is the host-stepped VM: one FIFO run queue on this
    // thread, so the run is exactly reproducible. More start that many
    // threads.
    let mut builder = Vm::builder();
    if options.trace_out.is_some() {
        builder = builder.trace(TRACE_MAX_EVENTS);
    }
    builder = options.limits.apply(builder);
    // At a terminal each line shows as it is printed; to a pipe or a file
    // output is buffered, and flushed before every report and at the end.
    let line_buffered = std::io::stdout().is_terminal();
    let mut vm = builder
        .allow_io(true)
        .allow_net(true)
        .seed(options.seed)
        .schedulers(if schedulers <= 1 { 0 } else { schedulers })
        .output(move |text: &str| {
            let mut out = sink.lock().unwrap_or_else(|e| e.into_inner());
            let _ = out.write_all(text.as_bytes());
            if line_buffered && text.contains('\n') {
                let _ = out.flush();
            }
        })
        // Standard output is buffered; flushing it before each `eprint`
        // keeps the two streams in the order the script wrote them when
        // both go to one terminal or file.
        .error_output(move |text: &str| {
            let _ = before_errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .flush();
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
        })
        .build();
    vm.set_args(args.clone());
    let node = match crate::node::start(&mut vm) {
        Ok(node) => node,
        Err(message) => {
            eprintln!("weft: {message}");
            return ExitCode::from(crate::node::EXIT_UNAVAILABLE);
        }
    };
    let entry = match vm.load_main(source, &mut FileLoader) {
        Ok(entry) => entry,
        Err(diagnostics) => {
            report(&diagnostics);
            return ExitCode::from(EXIT_COMPILE);
        }
    };
    let flush = || {
        let _ = stdout.lock().unwrap_or_else(|e| e.into_inner()).flush();
    };
    let main = match image {
        None => vm.spawn_main(entry),
        Some(image) => {
            if let Err(error) = vm.load_image(image) {
                eprintln!("weft: cannot resume: {error}");
                return ExitCode::from(65);
            }
            match vm.main_pid() {
                Some(pid) => pid,
                None => {
                    eprintln!("weft: cannot resume: the image has no main process");
                    return ExitCode::from(65);
                }
            }
        }
    };
    // With `--image`, SIGINT and SIGTERM stop the run to save it.
    let save_signal = options
        .image
        .as_ref()
        .map(|_| crate::image_file::on_signal(vm.waker()));
    let report_events = |vm: &mut Vm| {
        let events = vm.take_events();
        if !events.is_empty() {
            flush();
            for event in events {
                // Only runtime errors print a report (docs/LANGUAGE.md §12).
                if let Event::Crash { pid, error } = event {
                    report(&[error.to_diagnostic(pid)]);
                }
            }
        }
    };
    // With `--image`, the save is made by the step, between slices, once a
    // signal came; a save that a passing state refuses (a process inside a
    // builtin's callback) is tried again at the next step, for up to 10 s.
    let mut saved: Option<Result<usize, weft_vm::ImageError>> = None;
    let mut first_try: Option<std::time::Instant> = None;
    let driven = vm.drive(|vm| {
        report_events(vm);
        // Output goes out before any wait, so a program that prints and
        // then sleeps shows its line at once.
        flush();
        if let (Some(file), Some(signal)) = (&options.image, &save_signal) {
            if signal.came() && vm.main_exit().is_none() {
                let started = *first_try.get_or_insert_with(std::time::Instant::now);
                match crate::image_file::save(vm, file, path, &args) {
                    Err(error)
                        if crate::image_file::passing(&error)
                            && started.elapsed() < std::time::Duration::from_secs(10) => {}
                    result => {
                        saved = Some(result);
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        match vm.main_exit() {
            Some(_) => ControlFlow::Break(()),
            None => ControlFlow::Continue(()),
        }
    });
    if let (Some(file), Some(result)) = (&options.image, saved) {
        flush();
        vm.stop_all();
        if let Some(node) = &node {
            node.stop();
        }
        return match result {
            Ok(bytes) => {
                eprintln!("weft: saved the running program to {file} ({bytes} bytes); `weft resume {file}` runs it on");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("weft: cannot save the program to {file}: {error}");
                ExitCode::from(EXIT_RUNTIME)
            }
        };
    }
    // A crash between the step's look at the events and its look at the
    // main process (another scheduler's, just before main ended) is
    // reported too.
    report_events(&mut vm);
    let code = match (driven, vm.main_exit()) {
        (_, Some(reason)) => exit_status(main, &reason),
        (Driven::Idle, None) => {
            eprintln!("weft: deadlock: every process is blocked and no timer is pending");
            for (pid, wait) in vm.blocked_processes() {
                eprintln!("  {pid} waits on {wait}");
            }
            ExitCode::from(EXIT_RUNTIME)
        }
        (Driven::Stopped, None) => ExitCode::from(EXIT_RUNTIME),
    };
    vm.stop_all();
    if let Some(node) = &node {
        node.stop();
    }
    flush();
    if let Some(path) = &options.trace_out {
        let (events, dropped) = vm.take_trace();
        let json = weft_vm::chrome_trace_json(&events, dropped);
        if let Err(error) = std::fs::write(path, json) {
            eprintln!("weft: cannot write the trace to {path}: {error}");
        } else if dropped > 0 {
            eprintln!(
                "weft: the trace kept its first {TRACE_MAX_EVENTS} events and dropped {dropped}"
            );
        }
    }
    if options.stats {
        let stats = vm.stats();
        eprintln!(
            "processes spawned: {}\nmessages sent: {}\nreductions: {}\npeak live processes: {}",
            stats.spawned, stats.messages, stats.reductions, stats.peak_live
        );
    }
    code
}

/// 0 for a normal end; `n` for `exit(n)` with an integer 0..=255 (as
/// Python's `sys.exit(n)` and Erlang's `halt(n)`); 70 for a crash (already
/// reported) or any other reason.
fn exit_status(main: weft_vm::Pid, reason: &Value) -> ExitCode {
    if reason.as_atom() == Some("normal") {
        return ExitCode::SUCCESS;
    }
    if let Value::Int(code) = reason {
        if let Ok(code) = u8::try_from(*code) {
            return ExitCode::from(code);
        }
    }
    let crashed = matches!(reason.as_tuple(), Some([Value::Atom(_), _, _]) if reason.as_tuple().and_then(|t| t[0].as_atom()) == Some("error"));
    if !crashed {
        eprintln!("weft: main process {main} exited: {}", reason.inspect());
    }
    ExitCode::from(EXIT_RUNTIME)
}
