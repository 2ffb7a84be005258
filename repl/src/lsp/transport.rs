//! The language server's transport: JSON-RPC messages framed by
//! `Content-Length` headers, read from the editor defensively.
//!
//! lsp-server's own reader trusts its peer: it allocates whatever a header
//! announces (`Content-Length: 99999999999999` aborts the process) and
//! ends the connection on the first body that is not JSON. A language
//! server is a long-lived process fed by whatever the editor, a plugin or a
//! fuzzer sends, so this reader follows other rules.
//!
//! Invariants:
//! - Memory is bounded by the input's good parts: a header line is read up
//!   to `MAX_HEADER` bytes (the rest of a longer one is skipped), a body up
//!   to `MAX_MESSAGE` bytes. The body of a message announced longer than
//!   that is read and thrown away in pieces, never held.
//! - Bad input is answered, not fatal: a body that is not JSON gets a
//!   JSON-RPC "parse error" (-32700), JSON that is not a message an
//!   "invalid request" (-32600), an oversized message "request too large";
//!   all with the id `null` (JSON-RPC 2.0 §5), and reading goes on with the
//!   next message. Only the end of the input (or a failing output) ends the
//!   server.
//! - It does no other I/O than reading its input and writing its output,
//!   so it can be driven from memory (unit tests, the fuzz target in
//!   fuzz/fuzz_targets/lsp_reader.rs, which includes this file as is).

use std::io::{self, BufRead, Read, Write};

use lsp_server::Message;

/// The longest header line kept; header lines are short (`Content-Length:
/// 123`, `Content-Type: ...`), so a longer one is garbage.
pub const MAX_HEADER: usize = 4096;

/// The largest message body read: an editor sends a whole document in one
/// message, and documents are capped well below this (`MAX_DOCUMENT` in
/// lsp/mod.rs), so only a broken or hostile client goes past it.
pub const MAX_MESSAGE: usize = 64 << 20;

/// What the reader got from the input.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// Input that was skipped, with the JSON-RPC error it was answered with
    /// (already written to the output).
    Rejected(String),
}

pub struct Transport<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> Transport<R, W> {
    pub fn new(input: R, output: W) -> Transport<R, W> {
        Transport { input, output }
    }

    /// Writes one message.
    pub fn send(&mut self, message: Message) -> io::Result<()> {
        message.write(&mut self.output)
    }

    /// The next message; `None` at the end of the input. Anything that is
    /// not a message is answered with an error and returned as `Rejected`.
    pub fn receive(&mut self) -> io::Result<Option<Incoming>> {
        let Some(length) = self.headers()? else {
            return Ok(None);
        };
        let length = match length {
            Ok(length) => length,
            Err(why) => return self.reject(-32600, why).map(Some),
        };
        if length > MAX_MESSAGE {
            // Skip the body without holding it, so the next message is read
            // from where it starts.
            let skipped = io::copy(&mut (&mut self.input).take(length as u64), &mut io::sink())?;
            if skipped < length as u64 {
                return Ok(None);
            }
            return self
                .reject(
                    -32600,
                    format!("a message of {length} bytes is over the limit of {MAX_MESSAGE}"),
                )
                .map(Some);
        }
        let mut body = Vec::new();
        (&mut self.input)
            .take(length as u64)
            .read_to_end(&mut body)?;
        if body.len() < length {
            return Ok(None);
        }
        let value: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(error) => {
                return self
                    .reject(-32700, format!("parse error: {error}"))
                    .map(Some)
            }
        };
        match serde_json::from_value::<Message>(value) {
            Ok(message) => Ok(Some(Incoming::Message(message))),
            Err(error) => self
                .reject(-32600, format!("not a JSON-RPC message: {error}"))
                .map(Some),
        }
    }

    /// Reads a header block; its `Content-Length`, or why there is none.
    /// `None` at the end of the input.
    #[allow(clippy::type_complexity)]
    fn headers(&mut self) -> io::Result<Option<Result<usize, String>>> {
        let mut length: Option<Result<usize, String>> = None;
        let mut seen_any = false;
        loop {
            let Some(line) = self.header_line()? else {
                return Ok(None);
            };
            if line.is_empty() {
                if !seen_any {
                    // Blank lines between messages are tolerated.
                    continue;
                }
                return Ok(Some(length.unwrap_or_else(|| {
                    Err("a message without a Content-Length header".to_string())
                })));
            }
            seen_any = true;
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = Some(value.trim().parse::<usize>().map_err(|_| {
                        format!("a Content-Length that is not a length: {:?}", value.trim())
                    }));
                }
            }
        }
    }

    /// One header line without its line ending, cut at `MAX_HEADER` bytes;
    /// `None` at the end of the input.
    fn header_line(&mut self) -> io::Result<Option<String>> {
        let mut line = Vec::new();
        let mut ended = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            let (chunk, used, found) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (&available[..at], at + 1, true),
                None => (available, available.len(), false),
            };
            let room = MAX_HEADER.saturating_sub(line.len());
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.input.consume(used);
            if found {
                ended = true;
                break;
            }
        }
        if !ended && line.is_empty() {
            return Ok(None);
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(String::from_utf8_lossy(&line).into_owned()))
    }

    /// Answers input that is not a message with a JSON-RPC error (id null).
    fn reject(&mut self, code: i32, message: String) -> io::Result<Incoming> {
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {"code": code, "message": message},
        })
        .to_string();
        write!(self.output, "Content-Length: {}\r\n\r\n{body}", body.len())?;
        self.output.flush()?;
        Ok(Incoming::Rejected(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    fn read_all(input: &[u8]) -> (Vec<Incoming>, String) {
        let mut output = Vec::new();
        let mut transport = Transport::new(input, &mut output);
        let mut got = Vec::new();
        while let Some(incoming) = transport.receive().unwrap() {
            got.push(incoming);
        }
        (got, String::from_utf8(output).unwrap())
    }

    const SHUTDOWN: &str = r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;

    #[test]
    fn bad_messages_are_answered_and_reading_goes_on() {
        let input = [
            frame("{not json"),
            frame(r#"{"jsonrpc": "2.0"}"#),
            "Content-Length: 99999999999999\r\n\r\n{}".to_string(),
        ]
        .concat();
        // The huge one swallows the rest of the input, which ends early.
        let (got, output) = read_all(input.as_bytes());
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            output.contains("-32700") && output.contains("-32600"),
            "{output}"
        );
        let input = [
            "Content-Length: 2000000000\r\n\r\n".to_string(),
            "x".repeat(10),
        ]
        .concat();
        let (got, _) = read_all(input.as_bytes());
        assert!(got.is_empty());
        let input = [
            frame("{not json"),
            "Content-Length: nine\r\n\r\n".to_string(),
            format!("X-Garbage: {}\r\n", "y".repeat(100_000)),
            frame(SHUTDOWN),
        ]
        .concat();
        let (got, _) = read_all(input.as_bytes());
        assert!(
            matches!(got.last(), Some(Incoming::Message(Message::Request(r))) if r.method == "shutdown"),
            "{got:?}"
        );
    }

    #[test]
    fn an_oversized_message_is_skipped_without_being_held() {
        let big = format!(
            "Content-Length: {}\r\n\r\n{}",
            MAX_MESSAGE + 1,
            " ".repeat(MAX_MESSAGE + 1)
        );
        let input = [big, frame(SHUTDOWN)].concat();
        let (got, output) = read_all(input.as_bytes());
        assert_eq!(got.len(), 2);
        assert!(output.contains("over the limit"));
        assert!(matches!(&got[1], Incoming::Message(_)));
    }
}
