//! Execution traces (`weft run --trace-out FILE`, `VmBuilder::trace`): what
//! each process did and when, as plain events, and their rendering as a
//! Chrome trace-event JSON document, which Perfetto and chrome://tracing
//! open (one track per process).
//!
//! Invariants:
//! - With tracing off (the default) no event is built: the hot paths test
//!   one `bool` of their scheduler (`Scheduler::tracing`) and nothing else.
//! - An event holds no `Value`: messages and exit reasons are printed when
//!   they happen (at most `PRINTED_MAX` characters), so a trace keeps no
//!   process's data alive.
//! - At most `limit` events are kept; later ones are only counted, and the
//!   document says how many were dropped.
//! - This module does no I/O: the host writes the document where it wants.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::data::value::Pid;
use crate::runtime::scheduler::lock;

/// How much of a message or exit reason an event keeps.
pub(crate) const PRINTED_MAX: usize = 80;

/// The most watched-process events kept between two reads
/// (`Vm::take_watched_messages`); later ones are dropped.
pub(crate) const WATCH_LOG_MAX: usize = 10_000;

/// What happened.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TraceKind {
    /// The process ran on a scheduler for `duration_ns` (one slice),
    /// running `function` (its outermost frame's function).
    Slice {
        function: String,
        duration_ns: u64,
        scheduler: usize,
    },
    /// The process started `child`.
    Spawn { child: Pid },
    /// The process sent `message` (printed) to `to`; `flow` pairs the
    /// send with the receiver's next slice.
    Send { to: Pid, message: String, flow: u64 },
    /// The process sent on (`send`) or received from a channel.
    Channel { id: u64, send: bool },
    /// The process ended with `reason` (printed).
    Exit { reason: String },
}

/// One event of one process, `time_ns` after the VM started.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceEvent {
    pub time_ns: u64,
    pub pid: Pid,
    pub kind: TraceKind,
}

/// A VM's trace, shared by its schedulers.
pub(crate) struct Trace {
    events: Mutex<Vec<TraceEvent>>,
    limit: usize,
    dropped: AtomicU64,
    next_flow: AtomicU64,
}

impl Trace {
    pub fn new(limit: usize) -> Trace {
        Trace {
            events: Mutex::new(Vec::new()),
            limit,
            dropped: AtomicU64::new(0),
            next_flow: AtomicU64::new(1),
        }
    }

    pub fn record(&self, event: TraceEvent) {
        let mut events = lock(&self.events);
        if events.len() < self.limit {
            events.push(event);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn flow(&self) -> u64 {
        self.next_flow.fetch_add(1, Ordering::Relaxed)
    }

    /// The events so far (and how many were dropped), leaving it empty.
    pub fn take(&self) -> (Vec<TraceEvent>, u64) {
        let events = std::mem::take(&mut *lock(&self.events));
        (events, self.dropped.swap(0, Ordering::Relaxed))
    }
}

/// Renders events as a Chrome trace-event JSON document ("JSON Object
/// Format": `{"traceEvents": [...]}`): one thread track per process,
/// named after its pid and first function, complete events ("X") for
/// slices, instant events ("i") for spawns, sends, channel operations and
/// exits, and flow events ("s"/"f") from each send to the receiver's next
/// slice. Times are microseconds.
pub fn chrome_trace_json(events: &[TraceEvent], dropped: u64) -> String {
    let mut out = String::from("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
    let mut first = true;
    let mut push = |out: &mut String, line: String| {
        if !first {
            out.push_str(",\n");
        }
        first = false;
        out.push_str(&line);
    };
    push(
        &mut out,
        "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"weft\"}}".into(),
    );
    // Name each track once, by the first function seen running in it.
    let mut named = std::collections::HashSet::new();
    for event in events {
        if let TraceKind::Slice { function, .. } = &event.kind {
            if named.insert(event.pid) {
                let tid = event.pid.serial();
                let name = json_string(&format!("{} {}", event.pid, function));
                push(&mut out, format!(
                    "{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"args\":{{\"name\":{name}}}}}"
                ));
                push(&mut out, format!(
                    "{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"args\":{{\"sort_index\":{tid}}}}}"
                ));
            }
        }
    }
    for event in events {
        let tid = event.pid.serial();
        let ts = micros(event.time_ns);
        match &event.kind {
            TraceKind::Slice {
                function,
                duration_ns,
                scheduler,
            } => push(&mut out, format!(
                "{{\"name\":{},\"cat\":\"run\",\"ph\":\"X\",\"ts\":{ts},\"dur\":{},\"pid\":1,\"tid\":{tid},\"args\":{{\"scheduler\":{scheduler}}}}}",
                json_string(function),
                micros(*duration_ns),
            )),
            TraceKind::Spawn { child } => push(&mut out, format!(
                "{{\"name\":\"spawn\",\"cat\":\"process\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts},\"pid\":1,\"tid\":{tid},\"args\":{{\"child\":{}}}}}",
                json_string(&child.to_string()),
            )),
            TraceKind::Send { to, message, flow } => {
                push(&mut out, format!(
                    "{{\"name\":\"send\",\"cat\":\"message\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts},\"pid\":1,\"tid\":{tid},\"args\":{{\"to\":{},\"message\":{}}}}}",
                    json_string(&to.to_string()),
                    json_string(message),
                ));
                push(&mut out, format!(
                    "{{\"name\":\"message\",\"cat\":\"message\",\"ph\":\"s\",\"id\":{flow},\"ts\":{ts},\"pid\":1,\"tid\":{tid}}}"
                ));
                push(&mut out, format!(
                    "{{\"name\":\"message\",\"cat\":\"message\",\"ph\":\"f\",\"id\":{flow},\"ts\":{ts},\"pid\":1,\"tid\":{}}}",
                    to.serial()
                ));
            }
            TraceKind::Channel { id, send } => push(&mut out, format!(
                "{{\"name\":\"{}\",\"cat\":\"channel\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts},\"pid\":1,\"tid\":{tid},\"args\":{{\"channel\":{id}}}}}",
                if *send { "chan send" } else { "chan receive" },
            )),
            TraceKind::Exit { reason } => push(&mut out, format!(
                "{{\"name\":\"exit\",\"cat\":\"process\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts},\"pid\":1,\"tid\":{tid},\"args\":{{\"reason\":{}}}}}",
                json_string(reason),
            )),
        }
    }
    let _ = write!(
        out,
        "\n],\"otherData\":{{\"producer\":\"weft {}\",\"events\":{},\"dropped_events\":{dropped}}}}}\n",
        env!("CARGO_PKG_VERSION"),
        events.len(),
    );
    out
}

fn micros(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// A JSON string literal (RFC 8259 escapes).
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_the_cap_counts_what_it_drops() {
        assert_eq!(json_string("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\u0001é\"");
        let trace = Trace::new(1);
        let event = TraceEvent {
            time_ns: 1_500,
            pid: Pid::new(1, 2),
            kind: TraceKind::Exit {
                reason: ":normal".into(),
            },
        };
        trace.record(event.clone());
        trace.record(event);
        let (events, dropped) = trace.take();
        assert_eq!((events.len(), dropped), (1, 1));
        let json = chrome_trace_json(&events, dropped);
        assert!(json.contains("\"ts\":1.500"), "{json}");
        assert!(json.contains("\"dropped_events\":1"), "{json}");
    }
}
