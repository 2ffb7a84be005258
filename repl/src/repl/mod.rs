//! `weft` with no arguments: the REPL, a live shell into a running VM.
//!
//! Two threads (three with the printer): the VM thread (`session`) owns
//! the `Vm` and runs its scheduler continuously, so processes spawned from
//! the shell keep running between prompts; the main thread reads entries —
//! with rustyline on a terminal (`editor`), or line by line from a pipe —
//! and sends them to the VM thread. Output from both goes through one
//! printer (`console`), which keeps it from garbling the line being edited.

mod commands;
pub(crate) mod complete;
mod console;
mod editor;
mod highlight;
mod session;

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;

use commands::{is_command, Command};
use console::Console;
use session::{Handle, Request};

/// Starts the REPL: interactive on a terminal, otherwise reading entries
/// from standard input.
pub fn main() -> ExitCode {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if std::io::stdin().is_terminal() {
        let color = !no_color && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        editor::run(color)
    } else {
        let color = !no_color && std::io::stderr().is_terminal();
        run_piped(color)
    }
}

/// Does the entry so far need another line (an open bracket or string, a
/// trailing operator)?
fn needs_more(text: &str) -> bool {
    if is_command(text) {
        return commands::expression_argument(text).is_some_and(weft_compiler::needs_more_input);
    }
    weft_compiler::needs_more_input(text)
}

/// What became of one entry.
enum Outcome {
    /// It ran; false if it failed (a compile error, a crash, Ctrl-C).
    Done(bool),
    Quit,
    /// The VM thread is gone (a bug).
    VmGone,
}

/// Runs one complete entry: a `:command` or Weft code.
fn dispatch(text: &str, handle: &Handle, console: &Console) -> Outcome {
    let request = if is_command(text) {
        match commands::parse(text) {
            Command::Help => {
                console.out(commands::help_text());
                return Outcome::Done(true);
            }
            Command::Quit => return Outcome::Quit,
            Command::Bad(message) => {
                console.err(format!("weft: {message}\n"));
                return Outcome::Done(false);
            }
            Command::Load(path) => Request::Load(path),
            Command::Ps => Request::Ps,
            // Piped input gets one table; the terminal loop is `editor::top`.
            Command::Top => Request::Top,
            Command::Trace(pid) => Request::Trace(pid),
            Command::Kill(pid) => Request::Kill(pid),
            Command::Disasm(name) => Request::Disasm(name),
            Command::Reset => Request::Reset,
            Command::Time(expression) => Request::Time(expression),
        }
    } else {
        Request::Eval(text.to_string())
    };
    match handle.request(request) {
        Some(reply) => Outcome::Done(reply.ok),
        None => Outcome::VmGone,
    }
}

/// Standard input is not a terminal: read entries from it, print each
/// value, exit 0 at the end — or 70 if any entry failed. No prompts.
fn run_piped(color: bool) -> ExitCode {
    let console = Console::start(None, color);
    let handle = session::start(
        console.clone(),
        Default::default(),
        Arc::new(AtomicU32::new(0)),
    );
    let mut failed = false;
    let mut entry = String::new();
    let mut input = std::io::stdin().lock();
    let mut bytes = Vec::new();
    let mut quit = false;
    loop {
        bytes.clear();
        let at_end = match input.read_until(b'\n', &mut bytes) {
            Ok(0) => true,
            Ok(_) => false,
            Err(error) => {
                console.err(format!("weft: cannot read standard input: {error}\n"));
                failed = true;
                true
            }
        };
        if !at_end {
            let line = String::from_utf8_lossy(&bytes);
            let line = line.strip_suffix('\n').unwrap_or(&line);
            let line = line.strip_suffix('\r').unwrap_or(line);
            if !entry.is_empty() {
                entry.push('\n');
            }
            entry.push_str(line);
            if needs_more(&entry) {
                continue;
            }
        }
        let text = std::mem::take(&mut entry);
        if !highlight::is_blank(&text) {
            match dispatch(&text, &handle, &console) {
                Outcome::Done(ok) => failed |= !ok,
                Outcome::Quit => quit = true,
                Outcome::VmGone => {
                    console.err("weft: the VM thread stopped unexpectedly\n");
                    failed = true;
                    quit = true;
                }
            }
        }
        if at_end || quit {
            break;
        }
    }
    let _ = handle.request(Request::Quit);
    console.sync(Duration::from_secs(10));
    if failed {
        ExitCode::from(crate::EXIT_RUNTIME)
    } else {
        ExitCode::SUCCESS
    }
}
