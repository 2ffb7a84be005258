//! The interactive REPL: rustyline reads entries (history, highlighting,
//! completion, multi-line entry), the VM thread evaluates them.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::config::{ColorMode, CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, ConditionalEventHandler, Context, Editor, Event, EventContext, EventHandler,
    ExternalPrinter, Helper, KeyEvent, RepeatCount,
};

use super::complete::{complete, SharedNames};
use super::console::Console;
use super::session::{self, Request};
use super::{dispatch, needs_more, Outcome};

pub const PROMPT: &str = "weft> ";
pub const CONTINUATION: &str = "...> ";

/// How long to wait for queued output to be written before showing a
/// prompt (it normally takes microseconds).
const SYNC: Duration = Duration::from_millis(500);

/// Completion, highlighting and matching brackets for rustyline.
struct WeftHelper {
    names: SharedNames,
    files: FilenameCompleter,
    /// False for rustyline's final redraw of a line (no bracket then).
    show_bracket: Cell<bool>,
}

impl Completer for WeftHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        Ok(complete(&names, &self.files, line, pos))
    }
}

impl Hinter for WeftHelper {
    type Hint = String;
}

impl Validator for WeftHelper {}

impl Highlighter for WeftHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        let cursor = self.show_bracket.get().then_some(pos);
        Cow::Owned(super::highlight::highlight(line, cursor))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.show_bracket.set(kind != CmdKind::ForcedRefresh);
        true
    }
}

impl Helper for WeftHelper {}

/// Ctrl-C at the prompt: remembers whether the line was empty (a second
/// Ctrl-C on an empty line exits), then interrupts the read as usual.
struct CtrlC(Arc<AtomicBool>);

impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.0.store(ctx.line().is_empty(), Ordering::SeqCst);
        Some(Cmd::Interrupt)
    }
}

fn history_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".weft_history"))
}

pub fn run(color: bool) -> ExitCode {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .completion_show_all_if_ambiguous(true)
        .color_mode(if color {
            ColorMode::Enabled
        } else {
            ColorMode::Disabled
        });
    let config = config
        .max_history_size(10_000)
        .and_then(|c| c.history_ignore_dups(true))
        .map(|c| c.build())
        .unwrap_or_default();
    let mut editor: Editor<WeftHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(error) => {
            eprintln!("weft: cannot start the line editor: {error}");
            return ExitCode::from(crate::EXIT_RUNTIME);
        }
    };
    let names = SharedNames::default();
    editor.set_helper(Some(WeftHelper {
        names: names.clone(),
        files: FilenameCompleter::new(),
        show_bracket: Cell::new(true),
    }));
    let line_was_empty = Arc::new(AtomicBool::new(true));
    editor.bind_sequence(
        KeyEvent::ctrl('C'),
        EventHandler::Conditional(Box::new(CtrlC(line_was_empty.clone()))),
    );
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    // Say hello before anything else can print.
    println!(
        "Weft {} (:help for help, Ctrl-D to exit)",
        env!("CARGO_PKG_VERSION")
    );
    let _ = std::io::stdout().flush();

    let printer = editor
        .create_external_printer()
        .ok()
        .map(|p| Box::new(p) as Box<dyn ExternalPrinter + Send>);
    let console = Console::start(printer, color);
    let interrupt = Arc::new(AtomicU32::new(0));
    let handle = session::start(console.clone(), names, interrupt.clone());
    {
        let interrupt = interrupt.clone();
        let waker = handle.waker();
        // Ctrl-C while an entry runs (the terminal is not in raw mode then,
        // so the key is a SIGINT). The VM thread answers within a few
        // milliseconds; should it ever stop answering, a third press more
        // than two seconds after the first unanswered one ends the process.
        let mut first_unanswered = Instant::now();
        let _ = ctrlc::set_handler(move || {
            let presses = interrupt.fetch_add(1, Ordering::SeqCst) + 1;
            if presses == 1 {
                first_unanswered = Instant::now();
            } else if presses >= 3 && first_unanswered.elapsed() > Duration::from_secs(2) {
                eprintln!("\nweft: the VM does not answer Ctrl-C; exiting");
                std::process::exit(130);
            }
            let _ = waker.send(Request::Wake);
        });
    }

    let mut entry = String::new();
    let mut interrupts_on_empty_line = 0;
    loop {
        let prompt = if entry.is_empty() {
            PROMPT
        } else {
            CONTINUATION
        };
        console.sync(SYNC);
        console.at_prompt(true);
        let read = editor.readline(prompt);
        console.at_prompt(false);
        match read {
            Ok(line) => {
                interrupts_on_empty_line = 0;
                if !entry.is_empty() {
                    entry.push('\n');
                }
                entry.push_str(&line);
                if needs_more(&entry) {
                    continue;
                }
                let text = std::mem::take(&mut entry);
                if super::highlight::is_blank(&text) {
                    continue;
                }
                let _ = editor.add_history_entry(text.as_str());
                interrupt.store(0, Ordering::SeqCst);
                if super::commands::is_command(&text)
                    && super::commands::parse(&text) == super::commands::Command::Top
                {
                    top(&handle, &console, &interrupt, color);
                    continue;
                }
                match dispatch(&text, &handle, &console) {
                    Outcome::Done(_) => {}
                    Outcome::Quit => break,
                    Outcome::VmGone => {
                        console.err("weft: the VM thread stopped unexpectedly\n");
                        break;
                    }
                }
            }
            Err(ReadlineError::Interrupted) => {
                if !entry.is_empty() || !line_was_empty.load(Ordering::SeqCst) {
                    // Ctrl-C abandons the line or the unfinished entry.
                    entry.clear();
                    interrupts_on_empty_line = 0;
                    continue;
                }
                interrupts_on_empty_line += 1;
                if interrupts_on_empty_line >= 2 {
                    break;
                }
                console.out("(To exit, press Ctrl-C again or Ctrl-D, or type :quit)\n");
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => {
                console.err(format!("weft: cannot read a line: {error}\n"));
                break;
            }
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    let _ = handle.request(Request::Quit);
    console.sync(SYNC);
    ExitCode::SUCCESS
}

/// `:top` at a terminal: the process table, busiest first, redrawn every
/// second while the VM keeps running, until Enter (or Ctrl-C). The
/// terminal is in cooked mode between prompts, so a key reaches standard
/// input when Enter is pressed; `poll` waits for that or the next refresh.
fn top(handle: &session::Handle, console: &Console, interrupt: &AtomicU32, color: bool) {
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    loop {
        if color {
            // Clear the screen and go home, so the table redraws in place.
            console.out("\x1b[2J\x1b[H");
        }
        if handle.request(session::Request::Top).is_none() {
            return;
        }
        console.out("(:top refreshes every second; press Enter to stop)\n");
        console.sync(SYNC);
        let mut fds = [nix::poll::PollFd::new(
            stdin.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ready = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(TOP_REFRESH_MS));
        if interrupt.swap(0, Ordering::SeqCst) > 0 {
            return;
        }
        if matches!(ready, Ok(n) if n > 0) {
            let mut line = String::new();
            let _ = stdin.read_line(&mut line);
            return;
        }
    }
}

/// How often `:top` redraws, in milliseconds.
const TOP_REFRESH_MS: u16 = 1000;
