//! Drives `weft lsp` over stdio as an editor does: initialize, didOpen of a
//! buffer with an unknown name, diagnostics, definition, hover, completion,
//! document symbols, a change that fixes the error, shutdown and exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::{json, Value};

/// How long any one answer may take before the test gives up (an upper
/// bound for a stuck server, not a speed requirement).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start weft lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(n) = header.strip_prefix("Content-Length: ") {
                        length = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                reader.read_exact(&mut body).unwrap();
                let value: Value = serde_json::from_slice(&body).unwrap();
                if sender.send(value).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
            next_id: 1,
        }
    }

    fn write(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.write(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request; its response's `result` (other messages that
    /// arrive first are kept for `notification`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.write(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == json!(id) {
                assert!(message.get("error").is_none(), "error: {message}");
                return message["result"].clone();
            }
        }
    }

    fn receive(&mut self) -> Value {
        self.messages
            .recv_timeout(ANSWER_TIMEOUT)
            .expect("weft lsp answered")
    }

    /// The next notification with this method.
    fn notification(&mut self, method: &str) -> Value {
        loop {
            let message = self.receive();
            if message["method"] == json!(method) {
                return message["params"].clone();
            }
        }
    }
}

const URI: &str = "untitled:Untitled-1";

const TEXT: &str = "\
# Doubles a number.
fn double(x) {
  x * 2
}

fn main() {
  let value = double(21)
  print(value + missing)
}
";

fn position_of(needle: &str, extra: usize) -> Value {
    let offset = TEXT.find(needle).unwrap() + extra;
    let line = TEXT[..offset].matches('\n').count();
    let column = offset - TEXT[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": column})
}

#[test]
fn an_editor_session() {
    let mut client = Client::start();
    let init = client.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let capabilities = &init["capabilities"];
    assert_eq!(capabilities["definitionProvider"], json!(true));
    assert_eq!(capabilities["hoverProvider"], json!(true));
    assert_eq!(capabilities["documentSymbolProvider"], json!(true));
    client.notify("initialized", json!({}));

    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "weft", "version": 1, "text": TEXT}}),
    );
    let published = client.notification("textDocument/publishDiagnostics");
    assert_eq!(published["uri"], json!(URI));
    let diagnostics = published["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty(), "{published}");
    let first = &diagnostics[0];
    assert!(
        first["message"].as_str().unwrap().contains("missing")
            || diagnostics
                .iter()
                .any(|d| d["message"].as_str().unwrap().contains("missing")),
        "{published}"
    );

    let document = json!({"uri": URI});
    // Go to definition: the call `double(21)` leads to `fn double`.
    let definition = client.request(
        "textDocument/definition",
        json!({"textDocument": document, "position": position_of("double(21)", 2)}),
    );
    assert_eq!(definition["uri"], json!(URI));
    assert_eq!(definition["range"]["start"], position_of("double(x)", 0));
    // ... and a local to its `let`.
    let local = client.request(
        "textDocument/definition",
        json!({"textDocument": document, "position": position_of("value + ", 1)}),
    );
    assert_eq!(local["range"]["start"], position_of("value = ", 0));

    // Hover: the signature and the doc comment; a standard function's entry.
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": document, "position": position_of("double(21)", 0)}),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("fn double(x)") && text.contains("Doubles a number."),
        "{text}"
    );

    // Typing `list.` (a syntax error until a member follows): completion
    // offers the module's members; elsewhere locals, functions, keywords.
    let typing = TEXT.replace(
        "  print(value + missing)\n",
        "  print(value + missing)\n  list.\n",
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": typing}]}),
    );
    let published = client.notification("textDocument/publishDiagnostics");
    // The parser finds the member missing at the `}` on the next line.
    assert_eq!(
        published["diagnostics"][0]["range"]["start"]["line"], 9,
        "{published}"
    );
    let dot = typing.find("list.\n").unwrap() + 5;
    let line = typing[..dot].matches('\n').count();
    let column = dot - typing[..dot].rfind('\n').unwrap() - 1;
    let members = client.request(
        "textDocument/completion",
        json!({"textDocument": document, "position": {"line": line, "character": column}}),
    );
    let labels: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"map") && labels.contains(&"fold"),
        "{labels:?}"
    );
    assert!(!labels.contains(&"receive"), "{labels:?}");
    let names = client.request(
        "textDocument/completion",
        json!({"textDocument": document, "position": position_of("print(value", 6)}),
    );
    let labels: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    for expected in ["value", "double", "main", "print", "list", "receive"] {
        assert!(labels.contains(&expected), "{expected} not in {labels:?}");
    }

    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": document}),
    );
    let symbol_names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(symbol_names, ["double", "main"]);

    // Fixing the error clears the diagnostics.
    let fixed = TEXT.replace("value + missing", "value");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": fixed}]}),
    );
    let published = client.notification("textDocument/publishDiagnostics");
    assert_eq!(published["diagnostics"], json!([]), "{published}");

    assert_eq!(client.request("shutdown", Value::Null), Value::Null);
    client.notify("exit", Value::Null);
    drop(client.stdin);
    let status = client.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

impl Client {
    /// Sends a request; its whole response (result or error).
    fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.write(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    fn initialize(&mut self) -> Value {
        let init = self.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        self.notify("initialized", json!({}));
        init
    }

    fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "weft", "version": 1, "text": text}}),
        );
        self.notification("textDocument/publishDiagnostics")
    }

    /// Ends the session and returns the exit status (a crash has none).
    fn finish(mut self) -> std::process::ExitStatus {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin);
        self.child.wait().unwrap()
    }
}

#[test]
fn initialize_names_the_server_and_its_position_encoding() {
    let mut client = Client::start();
    let init = client.initialize();
    assert_eq!(init["serverInfo"]["name"], json!("weft lsp"), "{init}");
    assert_eq!(
        init["capabilities"]["positionEncoding"],
        json!("utf-16"),
        "{init}"
    );
    assert!(client.finish().success());
}

/// Diagnostics go back under exactly the URI the editor sent: Neovim's
/// unsaved buffer is `file://`, which a URL type turns into `file:///`,
/// and the editor then attaches them to a buffer it does not have.
#[test]
fn diagnostics_are_published_under_the_uri_as_sent() {
    let mut client = Client::start();
    client.initialize();
    for uri in [
        "file://",
        "file:///tmp/sub/../x.weft",
        "FILE:///tmp/Upper.weft",
        "untitled:Untitled-1",
    ] {
        let published = client.open(uri, "print(missing)\n");
        assert_eq!(published["uri"], json!(uri), "{published}");
        assert!(!published["diagnostics"].as_array().unwrap().is_empty());
        let definition = client.request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
        );
        assert_eq!(definition, Value::Null);
    }
    assert!(client.finish().success());
}

/// Every input of the hostile-client list (issue 24) is answered or
/// skipped, and the server goes on answering.
#[test]
fn hostile_input_is_answered_and_the_server_goes_on() {
    let mut client = Client::start();
    client.initialize();

    // Completion right after a multi-byte character.
    client.open("untitled:wide", "let é = 1\nlet x = é\n");
    let completion = client.request_raw(
        "textDocument/completion",
        json!({"textDocument": {"uri": "untitled:wide"}, "position": {"line": 1, "character": 9}}),
    );
    assert!(completion.get("error").is_none(), "{completion}");

    // A body that is not JSON, then JSON that is not a message.
    for body in ["{\"jsonrpc\": \"2.0\", \"id\": ", "{\"jsonrpc\": \"2.0\"}"] {
        write!(client.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        client.stdin.flush().unwrap();
        let error = client.receive();
        assert_eq!(error["id"], Value::Null, "{error}");
        assert!(error["error"]["code"].as_i64().is_some(), "{error}");
    }

    // A 50 MB document: not analysed, said so.
    let huge = "x = 1\n".repeat(50 << 20 >> 3);
    let published = client.open("untitled:huge", &huge);
    let message = published["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("larger than"), "{message}");

    // Hover over imports that name a device and a FIFO: refused at once,
    // as the compiler refuses them.
    let dir = std::env::temp_dir().join(format!("weft-lsp-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.weft")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(dir.join("fifo.weft"))
        .status()
        .unwrap()
        .success());
    let main = dir.join("main.weft");
    let uri = format!("file://{}", main.display());
    let text = "import \"zero.weft\" as zero\nimport \"fifo.weft\" as fifo\nzero.f()\nfifo.f()\n";
    client.open(&uri, text);
    for line in [2, 3] {
        let hover = client.request_raw(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 6}}),
        );
        assert!(hover.get("error").is_none(), "{hover}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Still answering.
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": "untitled:wide"}}),
    );
    assert!(symbols.is_array(), "{symbols}");
    assert!(client.finish().success());
}

/// A message announced far larger than any real one is neither allocated
/// nor fatal: the server reads on (here the input ends first) and exits
/// normally instead of aborting.
#[test]
fn absurd_content_lengths_do_not_abort_the_server() {
    for length in ["99999999999999", "2000000000"] {
        let mut client = Client::start();
        client.initialize();
        write!(
            client.stdin,
            "Content-Length: {length}\r\n\r\n{{\"partial\":"
        )
        .unwrap();
        client.stdin.flush().unwrap();
        drop(client.stdin);
        let status = client.child.wait().unwrap();
        assert!(status.code().is_some(), "killed by a signal: {status}");
    }
}

/// The LSP position of a byte offset of an ASCII text.
fn position_in(text: &str, offset: usize) -> Value {
    let line = text[..offset].matches('\n').count();
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": column})
}

/// Go to definition names the local the compiler resolves, where guessing
/// scopes from the syntax tree goes wrong: a `let` that shadows in its own
/// block (and reuses the register) is not visible in its initialiser, a
/// top-level function sees no script local, a closure's parameter shadows
/// the outer name, a pin means the variable from before its pattern, and a
/// receive arm binds anew.
#[test]
fn definitions_follow_the_compilers_scopes() {
    let text = "\
let x = 1
let x = x + 1
fn f() { x }
let g = fn(x) { x * 2 }
receive { (:pin, ^x) => x, x => g(x) }
";
    let at = |needle: &str, extra: usize| text.find(needle).unwrap() + extra;
    let (first, second) = (at("x = 1", 0), at("x = x", 0));
    let cases = [
        (at("x + 1", 0), Some(first)),
        (at("{ x }", 2), None),
        (at("x * 2", 0), Some(at("fn(x)", 3))),
        (at("^x", 1), Some(second)),
        (at("=> x,", 3), Some(second)),
        (at("g(x)", 2), Some(at("x => g", 0))),
    ];
    let mut client = Client::start();
    client.initialize();
    let uri = "untitled:scopes";
    client.open(uri, text);
    for (offset, declared) in cases {
        let definition = client.request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": position_in(text, offset)}),
        );
        match declared {
            Some(declared) => assert_eq!(
                definition["range"]["start"],
                position_in(text, declared),
                "at {offset}: {definition}"
            ),
            None => assert_eq!(definition, Value::Null, "at {offset}"),
        }
    }
    assert!(client.finish().success());
}
