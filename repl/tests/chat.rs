//! examples/chat.weft as a user meets it: two clients join, the welcome
//! line counts the others in plain words, a line reaches the other client,
//! and `/quit` closes the connection from the server's side (so `nc -N`
//! ends). The server runs on an OS-chosen port on 127.0.0.1 and is killed
//! by its pid at the end; every read has a deadline.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const READ_TIMEOUT: Duration = Duration::from_secs(20);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client(port: u16) -> (BufReader<TcpStream>, TcpStream) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    (BufReader::new(stream.try_clone().unwrap()), stream)
}

fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .expect("a line before the deadline");
    line.trim_end().to_string()
}

#[test]
fn two_clients_chat_and_quit() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg(root.join("examples/chat.weft"))
        .arg("0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let port: u16 = first
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));

    let (mut a_in, mut a_out) = client(port);
    assert_eq!(
        line(&mut a_in),
        "Welcome, guest1! No one else is here. /nick NAME, /quit"
    );
    let (mut b_in, mut b_out) = client(port);
    assert_eq!(
        line(&mut b_in),
        "Welcome, guest2! 1 other is here. /nick NAME, /quit"
    );
    assert_eq!(line(&mut a_in), "* guest2 joined");
    b_out.write_all(b"hello\n").unwrap();
    assert_eq!(line(&mut a_in), "[guest2] hello");
    b_out.write_all(b"/quit\n").unwrap();
    // The server closes B's connection: end of input there.
    let mut rest = String::new();
    loop {
        let mut more = String::new();
        if b_in.read_line(&mut more).unwrap() == 0 {
            break;
        }
        rest.push_str(&more);
    }
    assert_eq!(line(&mut a_in), "* guest2 left", "B saw {rest:?}");

    // A line without end (48 MB took 34 s of CPU and 195 MB): past the
    // line limit the server says so and closes that connection; the
    // others go on.
    let (mut c_in, mut c_out) = client(port);
    assert!(line(&mut c_in).starts_with("Welcome, guest3!"));
    assert_eq!(line(&mut a_in), "* guest3 joined");
    let started = std::time::Instant::now();
    let chunk = vec![b'x'; 1 << 16];
    for _ in 0..(8 << 20) / chunk.len() {
        if c_out.write_all(&chunk).is_err() {
            break; // the server has closed it
        }
    }
    let mut said = String::new();
    loop {
        let mut more = String::new();
        match c_in.read_line(&mut more) {
            Ok(0) | Err(_) => break,
            Ok(_) => said.push_str(&more),
        }
    }
    assert!(
        said.contains("Lines are at most 4096 characters"),
        "{said:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(line(&mut a_in), "* guest3 left");
    a_out.write_all(b"hello again\n").unwrap();
    a_out.write_all(b"/quit\n").unwrap();
    assert_eq!(line(&mut a_in), "Bye!");
}
