//! Where the REPL's output goes.
//!
//! Everything the session prints — what processes `print`, entry values,
//! crash reports, command output — goes through one printer thread, in the
//! order it was produced. While the user is editing a line, text goes
//! through rustyline's external printer, which prints it above the prompt
//! and redraws the line being edited; otherwise it is written straight to
//! standard output or standard error.
//!
//! The printer never blocks the VM: the queue is unbounded, and only the
//! printer thread ever waits on the terminal.

use std::io::Write;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::Duration;

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
    /// Whether diagnostics are rendered in colour.
    pub color: bool,
}

impl Console {
    /// Starts the printer thread. `printer` is rustyline's external printer
    /// when there is an interactive terminal.
    pub fn start(printer: Option<Box<dyn ExternalPrinter + Send>>, color: bool) -> Console {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("weft-printer".into())
            .spawn(move || print_loop(rx, printer))
            .expect("cannot start the printer thread");
        Console { tx, color }
    }

    /// Text for standard output.
    pub fn out(&self, text: impl Into<String>) {
        let _ = self.tx.send(Out::Stdout(text.into()));
    }

    /// Text for standard error (reports, errors).
    pub fn err(&self, text: impl Into<String>) {
        let _ = self.tx.send(Out::Stderr(text.into()));
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

fn print_loop(rx: Receiver<Out>, mut printer: Option<Box<dyn ExternalPrinter + Send>>) {
    let stderr = std::io::stderr();
    let mut out = std::io::BufWriter::with_capacity(1 << 14, std::io::stdout());
    let mut at_prompt = false;
    let mut next: Option<Out> = None;
    loop {
        let message = match next.take() {
            Some(message) => message,
            None => match rx.try_recv() {
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
            },
        };
        match message {
            Out::Stdout(text) | Out::Stderr(text) if at_prompt && printer.is_some() => {
                // Gather whatever else is queued: one redraw of the prompt
                // for a burst of output, not one per line.
                let mut text = text;
                loop {
                    match rx.try_recv() {
                        Ok(Out::Stdout(more) | Out::Stderr(more)) => text.push_str(&more),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let _ = out.flush();
                if let Some(printer) = printer.as_mut() {
                    if printer.print(text.clone()).is_err() {
                        let _ = out.write_all(text.as_bytes());
                    }
                }
            }
            Out::Stdout(text) => {
                let _ = out.write_all(text.as_bytes());
            }
            Out::Stderr(text) => {
                let _ = out.flush();
                let _ = stderr.lock().write_all(text.as_bytes());
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
    let _ = out.flush();
    // Keep `printer` alive to the end: dropping it changes how rustyline
    // reads the terminal.
    drop(printer);
}
