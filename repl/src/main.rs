//! The `weft` command (LANGUAGE.md §10).
//!
//! Exit statuses follow sysexits, as clox does: 0 success, 64 bad usage,
//! 65 a compile error, 66 a file that can't be read, 70 a runtime error in
//! the main process or a deadlock.

mod files;
mod fmt_cmd;
mod image_file;
mod limits;
mod lsp;
mod node;
mod repl;
mod run;
mod test_cmd;

use std::process::ExitCode;

/// Counts the bytes the program holds, so the VM-wide heap limit holds
/// (`weft run --max-vm-heap`, and its default from the machine): a script
/// that would exhaust memory dies with `:system_limit` instead of the
/// allocator aborting the whole program.
#[global_allocator]
static ALLOCATOR: weft_vm::memory::CountingAllocator = weft_vm::memory::CountingAllocator;

const USAGE: &str = "\
usage: weft [NODE]                   start the interactive REPL
       weft FILE [ARGS...]           run a script
       weft run [--seed N] [--schedulers N] [--stats] [--trace-out TRACE.json]
                [--image SAVED] [LIMITS] [NODE] FILE [ARGS...]
                                     run a script; with --image, SIGINT or
                                     SIGTERM saves the running program to SAVED
       weft resume SAVED             run a saved program on from where it was
       weft check FILE               compile only, report errors
       weft disasm FILE              print the bytecode
       weft test [FILE|DIR...]       run the test_* functions (default: tests/)
       weft fmt [--check] FILE|DIR...  format in the canonical layout
       weft lsp                      a language server on stdin/stdout
       weft --help | --version
NODE:  --sname NAME | --name NAME@HOST, and --cookie COOKIE (default
       ~/.erlang.cookie): run as a node of an Erlang cluster
LIMITS: --max-heap SIZE (one process), --max-vm-heap SIZE (the whole
       program; default 3/4 of the machine's memory), --max-mailbox N,
       --max-processes N; SIZE as 256M, 2G or bytes. A process past a limit
       dies with a :system_limit report and the rest run on.";

pub const EXIT_USAGE: u8 = 64;
pub const EXIT_COMPILE: u8 = 65;
pub const EXIT_NO_INPUT: u8 = 66;
pub const EXIT_RUNTIME: u8 = 70;

fn usage_error(message: &str) -> ExitCode {
    eprintln!("weft: {message}\n{USAGE}");
    ExitCode::from(EXIT_USAGE)
}

/// The stack for the thread that compiles and runs programs. Printing,
/// comparing or compiling deeply nested values and expressions recurses on
/// the native stack; 1 GiB (reserved, touched only as used) allows about ten
/// million levels, more than the memory such a value would take.
const STACK_SIZE: usize = 1 << 30;

fn main() -> ExitCode {
    weft_vm::memory::CountingAllocator::installed();
    let worker = std::thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(command);
    match worker.map(|thread| thread.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("weft: internal error (see the message above); please report it");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn command() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Node flags before anything else apply to the REPL or the script.
    let mut node_args = node::NodeArgs::default();
    loop {
        match node_args.take(&args) {
            Ok(0) => break,
            Ok(n) => {
                args.drain(..n);
            }
            Err(message) => return usage_error(&message),
        }
    }
    let Some(first) = args.first().cloned() else {
        if let Err(message) = node_args.check() {
            return usage_error(&message);
        }
        let _ = node::NODE_ARGS.set(node_args);
        return repl::main();
    };
    match first.as_str() {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        "-V" | "--version" => {
            println!("weft {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        "run" => {
            let mut options = run::Options::default();
            let mut rest = &args[1..];
            while let Some(option) = rest.first() {
                match node_args.take(rest) {
                    Ok(0) => {}
                    Ok(n) => {
                        rest = &rest[n..];
                        continue;
                    }
                    Err(message) => return usage_error(&message),
                }
                match options.limits.take(rest) {
                    Ok(0) => {}
                    Ok(n) => {
                        rest = &rest[n..];
                        continue;
                    }
                    Err(message) => return usage_error(&message),
                }
                match option.as_str() {
                    "--stats" => options.stats = true,
                    "--image" => {
                        let Some(path) = rest.get(1) else {
                            return usage_error("--image needs a file name");
                        };
                        options.image = Some(path.clone());
                        rest = &rest[1..];
                    }
                    "--trace-out" => {
                        let Some(path) = rest.get(1) else {
                            return usage_error("--trace-out needs a file name");
                        };
                        options.trace_out = Some(path.clone());
                        rest = &rest[1..];
                    }
                    // LANGUAGE.md §8: how many schedulers (threads) run
                    // the processes; 1 is deterministic.
                    "--schedulers" => {
                        let Some(n) = rest
                            .get(1)
                            .and_then(|s| s.parse::<usize>().ok())
                            .filter(|n| (1..=1024).contains(n))
                        else {
                            return usage_error("--schedulers needs a number from 1 to 1024");
                        };
                        options.schedulers = Some(n);
                        rest = &rest[1..];
                    }
                    "--seed" => {
                        let Some(seed) = rest.get(1).and_then(|s| s.parse().ok()) else {
                            return usage_error("--seed needs a number");
                        };
                        options.seed = seed;
                        rest = &rest[1..];
                    }
                    "--" => {
                        rest = &rest[1..];
                        break;
                    }
                    other if other.starts_with('-') => {
                        return usage_error(&format!("unknown option {other}"))
                    }
                    _ => break,
                }
                rest = &rest[1..];
            }
            let Some(file) = rest.first() else {
                return usage_error("`weft run` needs a file");
            };
            if let Err(message) = node_args.check() {
                return usage_error(&message);
            }
            let _ = node::NODE_ARGS.set(node_args);
            run::run_file(file, rest[1..].to_vec(), &options)
        }
        "resume" => {
            let [_, file] = args.as_slice() else {
                return usage_error("`weft resume` needs the file `weft run --image` saved");
            };
            run::resume_file(file, &run::Options::default())
        }
        "test" => test_cmd::main(&args[1..]),
        "lsp" => lsp::main(),
        "fmt" => fmt_cmd::main(&args[1..]),
        "check" | "disasm" => {
            let [_, file] = args.as_slice() else {
                return usage_error(&format!("`weft {first}` takes exactly one file"));
            };
            if first == "check" {
                run::check_file(file)
            } else {
                run::disasm_file(file)
            }
        }
        option if option.starts_with('-') => usage_error(&format!("unknown option {option}")),
        file => {
            if let Err(message) = node_args.check() {
                return usage_error(&message);
            }
            let _ = node::NODE_ARGS.set(node_args);
            run::run_file(file, args[1..].to_vec(), &run::Options::default())
        }
    }
}
