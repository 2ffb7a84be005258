//! Where the REPL's output goes.
//!
//! Everything the session prints — what processes `print`, entry values,
//! crash reports, command output — goes through one printer thread, in the
//! order it was produced. While the user is editing a line, text goes
//! through rustyline's external printer, which prints it above the prompt
//! and redraws the line being edited; otherwise it is written straight to
//! standard output or standard error.
//!
//! Only the printer thread ever waits on the terminal. A process that
//! prints faster than the terminal can show is slowed down (the queue
//! holds at most about `BACKLOG` bytes), but never for long: the VM must
//! keep answering the editor whatever the terminal does.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes of process output allowed to wait for the terminal.
const BACKLOG: usize = 256 * 1024;
/// The longest one `print` waits for the backlog to drain.
const MAX_WAIT: Duration = Duration::from_millis(500);

use rustyline::ExternalPrinter;

enum Out {
    Stdout(String),
    Stderr(String),
    /// The editor is (true) or is no longer (false) reading a line.
    AtPrompt(bool),
    /// Acknowledge once everything queued before has been written.
    Sync(Sender<()>),
}

/// A handle for printing; cheap to clone.
#[derive(Clone)]
pub struct Console {
    tx: Sender<Out>,
    /// Bytes queued and not yet written.
    backlog: Arc<AtomicUsize>,
    /// Whether diagnostics are rendered in colour.
    pub color: bool,
}

impl Console {
    /// Starts the printer thread. `printer` is rustyline's external printer
    /// when there is an interactive terminal.
    pub fn start(printer: Option<Box<dyn ExternalPrinter + Send>>, color: bool) -> Console {
        let (tx, rx) = mpsc::channel();
        let backlog = Arc::new(AtomicUsize::new(0));
        let written = backlog.clone();
        std::thread::Builder::new()
            .name("weft-printer".into())
            .spawn(move || print_loop(rx, printer, &written))
            .expect("cannot start the printer thread");
        Console { tx, backlog, color }
    }

    /// Text for standard output.
    pub fn out(&self, text: impl Into<String>) {
        let text = text.into();
        self.backlog.fetch_add(text.len(), Ordering::Relaxed);
        let _ = self.tx.send(Out::Stdout(text));
    }

    /// What processes print: like `out`, but waits a little while the
    /// terminal is far behind.
    pub fn process_output(&self, text: &str) {
        if self.backlog.load(Ordering::Relaxed) > BACKLOG {
            let started = Instant::now();
            while self.backlog.load(Ordering::Relaxed) > BACKLOG / 2 && started.elapsed() < MAX_WAIT
            {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.out(text);
    }

    /// Text for standard error (reports, errors).
    pub fn err(&self, text: impl Into<String>) {
        let text = text.into();
        self.backlog.fetch_add(text.len(), Ordering::Relaxed);
        let _ = self.tx.send(Out::Stderr(text));
    }

    /// Tells the printer whether the editor is reading a line.
    pub fn at_prompt(&self, yes: bool) {
        let _ = self.tx.send(Out::AtPrompt(yes));
    }

    /// Waits (at most `timeout`) until everything queued so far is written.
    pub fn sync(&self, timeout: Duration) {
        let (ack, done) = mpsc::channel();
        if self.tx.send(Out::Sync(ack)).is_ok() {
            let _ = done.recv_timeout(timeout);
        }
    }
}

/// Rustyline's external printer, on a thread of its own: its `print` can
/// block until the next `readline` when the editor leaves the prompt just
/// as text is on its way, and the printer thread must never block.
struct Above {
    tx: Sender<String>,
    /// Set while a batch is being printed.
    busy: Arc<AtomicBool>,
}

impl Above {
    fn start(mut printer: Box<dyn ExternalPrinter + Send>) -> Above {
        let (tx, rx) = mpsc::channel::<String>();
        let busy = Arc::new(AtomicBool::new(false));
        let done = busy.clone();
        std::thread::Builder::new()
            .name("weft-above-prompt".into())
            .spawn(move || {
                for text in rx {
                    if printer.print(text.clone()).is_err() {
                        let _ = std::io::stdout().write_all(text.as_bytes());
                    }
                    done.store(false, Ordering::SeqCst);
                }
            })
            .expect("cannot start the printer thread");
        Above { tx, busy }
    }
}

fn print_loop(
    rx: Receiver<Out>,
    printer: Option<Box<dyn ExternalPrinter + Send>>,
    backlog: &AtomicUsize,
) {
    let stderr = std::io::stderr();
    let mut out = std::io::BufWriter::with_capacity(1 << 14, std::io::stdout());
    let above = printer.map(Above::start);
    let mut at_prompt = false;
    // Text for above the prompt, gathered while the external printer is
    // busy: one redraw of the prompt for a burst of output.
    let mut waiting = String::new();
    loop {
        if !waiting.is_empty() {
            if !at_prompt {
                let _ = out.write_all(waiting.as_bytes());
                backlog.fetch_sub(waiting.len(), Ordering::Relaxed);
                waiting.clear();
            } else if let Some(above) = above.as_ref().filter(|a| !a.busy.load(Ordering::SeqCst)) {
                let _ = out.flush();
                above.busy.store(true, Ordering::SeqCst);
                backlog.fetch_sub(waiting.len(), Ordering::Relaxed);
                let _ = above.tx.send(std::mem::take(&mut waiting));
            }
        }
        let message = if waiting.is_empty() {
            match rx.try_recv() {
                Ok(message) => message,
                Err(TryRecvError::Empty) => {
                    // Nothing more right now: make what was written visible.
                    let _ = out.flush();
                    match rx.recv() {
                        Ok(message) => message,
                        Err(_) => break,
                    }
                }
                Err(TryRecvError::Disconnected) => break,
            }
        } else {
            // Look again soon whether the external printer is free.
            match rx.recv_timeout(Duration::from_millis(2)) {
                Ok(message) => message,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        };
        match message {
            Out::Stdout(text) | Out::Stderr(text) if at_prompt && above.is_some() => {
                waiting.push_str(&text)
            }
            Out::Stdout(text) => {
                let _ = out.write_all(text.as_bytes());
                backlog.fetch_sub(text.len(), Ordering::Relaxed);
            }
            Out::Stderr(text) => {
                let _ = out.flush();
                let _ = stderr.lock().write_all(text.as_bytes());
                backlog.fetch_sub(text.len(), Ordering::Relaxed);
            }
            Out::AtPrompt(yes) => {
                let _ = out.flush();
                at_prompt = yes;
            }
            Out::Sync(ack) => {
                let _ = out.flush();
                let _ = ack.send(());
            }
        }
    }
    let _ = out.write_all(waiting.as_bytes());
    let _ = out.flush();
}
