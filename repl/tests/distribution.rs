//! The `weft` command as a node of an Erlang cluster (LANGUAGE.md §12),
//! against a real `erl -sname` node on 127.0.0.1 (docs/DISTRIBUTION.md).
//!
//! Each test starts its own EPMD on a free loopback port and its own
//! nodes, and stops every process it started by its pid (the guards'
//! `Drop`). Scripts live in `tests/dist/`; the Erlang side is
//! `tests/dist/weft_peer.erl`. Every wait is bounded: the scripts' own
//! `after` clauses, and a deadline on each command.
//!
//! These tests need Erlang (`erl`, `erlc`, `epmd`): `.ci/run` installs
//! `erlang-base` where it is missing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use weft_node::testing::Epmd;

const COOKIE: &str = "weft-test-cookie";

/// `erl` listens for distribution on every interface unless told: these
/// tests bind and connect on loopback only.
const LOOPBACK_ONLY: [&str; 3] = ["-kernel", "inet_dist_use_interface", "{127,0,0,1}"];

fn dist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dist")
}

/// `weft_peer.erl`, compiled once per test run.
fn beam_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("weft-dist-beam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("erlc")
            .arg("-o")
            .arg(&dir)
            .arg(dist_dir().join("weft_peer.erl"))
            .status()
            .expect("erlc is not installed (apt-get install erlang-base)");
        assert!(status.success(), "weft_peer.erl compiles");
        dir
    })
}

/// A child process killed (by pid) when the guard goes.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `erl -sname NAME@localhost` running `weft_peer:start()`, its processes
/// registered (it prints "ready") before this returns.
fn erlang_node(epmd: &Epmd, name: &str) -> Guard {
    let mut erl = Command::new("erl");
    erl.args(["-sname", &format!("{name}@localhost"), "-setcookie", COOKIE])
        .args(LOOPBACK_ONLY)
        .args(["-noshell", "-pa"])
        .arg(beam_dir())
        .args(["-eval", "weft_peer:start()"])
        .env("ERL_EPMD_PORT", epmd.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let guard = started(erl);
    assert!(epmd.has(name));
    guard
}

/// Starts a server (an Erlang node or a Weft script) and waits for the
/// "ready" line it prints once its names are registered.
fn started(mut command: Command) -> Guard {
    let child = command
        .spawn()
        .expect("erl is not installed (apt-get install erlang-base)");
    let mut guard = Guard(child);
    let mut ready = String::new();
    BufReader::new(guard.0.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the server starts");
    guard
}

/// `weft run --sname NAME@localhost SCRIPT ARGS`, not yet waited for.
fn weft(epmd: &Epmd, name: &str, script: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args([
            "run",
            "--sname",
            &format!("{name}@localhost"),
            "--cookie",
            COOKIE,
        ])
        .arg(dist_dir().join(script))
        .args(args)
        .env("ERL_EPMD_PORT", epmd.port.to_string())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits (at most 60 s) for a started command to end; its standard output
/// lines. It must exit with status 0.
fn wait_for(mut guard: Guard) -> Vec<String> {
    use std::io::Read;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the command did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    let mut err = String::new();
    guard
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    guard
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "exit {status}\nstdout:\n{out}\nstderr:\n{err}"
    );
    out.lines().map(str::to_string).collect()
}

/// Runs a command to its end; its standard output lines.
fn output_of(mut command: Command) -> Vec<String> {
    wait_for(Guard(command.spawn().unwrap()))
}

fn assert_lines(got: &[String], want: &[&str]) {
    let got: Vec<&str> = got.iter().map(String::as_str).collect();
    assert_eq!(got, want);
}

#[test]
fn weft_and_erlang_exchange_messages_links_and_monitors() {
    let epmd = Epmd::start();
    let _erl = erlang_node(&epmd, "erl_a");
    // One scheduler (the host-stepped VM, woken from the network threads)
    // and several (the network injects into the pool).
    for schedulers in ["1", "2"] {
        let mut command = weft(
            &epmd,
            &format!("weft_a{schedulers}"),
            "to_erlang.weft",
            &["erl_a@localhost"],
        );
        command.env("WEFT_SCHEDULERS", schedulers);
        check_to_erlang(&output_of(command));
    }
}

fn check_to_erlang(lines: &[String]) {
    assert_lines(
        lines,
        &[
            "reply from :pid true",
            "round trip equal true",
            // What Erlang sent, in order (weft_peer.erl's `terms`).
            "1",
            "-1",
            "300",
            "-70000",
            "1.5",
            ":hello",
            "nil",
            "true",
            "false",
            "\"utf8 ☃\"",
            "b\"\\xff\\x00\"",
            "<<1:3>>",
            "[97, 98, 99]",
            "[]",
            "()",
            "(:a, (:b,))",
            "%{1 => :x, \"k\" => [:y]}",
            ":pid",
            ":ref",
            "123456789012345678901234567890",
            "-123456789012345678901234567890",
            "[1 | 2]",
            "fun lists:map/2",
            "#Fun<weft_peer>",
            "#Port<1.0>",
            "kinds [:bytes, :opaque, :opaque, :opaque, :opaque, :opaque, :opaque, :opaque, :opaque, :tuple]",
            "erlang sees the same terms true",
            "exit :pid (:custom, \"reason\")",
            "erlang monitors true",
            "erlang saw down :bye",
            "erlang linked",
            "erlang saw exit (:crashed, 42)",
            "down true true :stopped",
            "demonitor true",
            "no down after demonitor",
            "true",
        ],
    );
}

#[test]
fn erlang_sends_to_a_registered_weft_process() {
    let epmd = Epmd::start();
    let _server = started(weft(&epmd, "weft_srv", "server.weft", &[]));
    let mut erl = Command::new("erl");
    erl.args([
        "-sname",
        "erl_b@localhost",
        "-setcookie",
        COOKIE,
        "-noshell",
    ])
    .args(LOOPBACK_ONLY)
    .arg("-eval")
    .arg(
        "io:format(\"~p~n\", [net_adm:ping('weft_srv@localhost')]),
         Srv = {srv, 'weft_srv@localhost'},
             Srv ! {self(), [1, <<\"two\">>, {three}, #{k => 4.5}]},
             receive M -> io:format(\"~p~n\", [M]) after 5000 -> io:format(\"timeout~n\") end,
             Srv ! {stop, self()},
             receive M2 -> io:format(\"~p~n\", [M2]) after 5000 -> io:format(\"timeout~n\") end,
             halt().",
    )
    .env("ERL_EPMD_PORT", epmd.port.to_string())
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let lines = output_of(erl);
    assert_lines(
        &lines,
        &[
            "pong",
            "{reply,<<\"weft_srv@localhost\">>,[1,<<\"two\">>,{three},#{k => 4.5}]}",
            "stopped",
        ],
    );
}

#[test]
fn killing_the_erlang_node_delivers_noconnection() {
    let epmd = Epmd::start();
    let erl = erlang_node(&epmd, "erl_c");
    let mut child = weft(&epmd, "weft_c", "noconnection.weft", &["erl_c@localhost"])
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let _weft = Guard(child);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready true");
    // Kill the Erlang node outright (its pid, SIGKILL): no goodbye.
    drop(erl);
    let rest: Vec<String> = out.lines().map(Result::unwrap).collect();
    assert_lines(
        &rest,
        &[
            "exit true :noconnection",
            "(:nodedown, \"erl_c@localhost\")",
            "[] false",
        ],
    );
}

#[test]
fn two_weft_nodes_talk() {
    let epmd = Epmd::start();
    let _server = started(weft(&epmd, "weft_d1", "server.weft", &[]));
    let lines = output_of(weft(
        &epmd,
        "weft_d2",
        "client.weft",
        &["weft_d1@localhost"],
    ));
    assert_lines(
        &lines,
        &[
            "true true",
            "(:reply, \"weft_d1@localhost\", [1, \"two\", (:three, 4.0), %{\"k\" => [nil]}])",
            ":none",
            ":stopped",
        ],
    );
}

#[test]
fn the_repl_is_a_node_too() {
    let epmd = Epmd::start();
    let _erl = erlang_node(&epmd, "erl_r");
    let mut repl = Command::new(env!("CARGO_BIN_EXE_weft"));
    repl.args(["--sname", "weft_r@localhost", "--cookie", COOKIE])
        .env("ERL_EPMD_PORT", epmd.port.to_string())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = repl.spawn().unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input
            .write_all(
                b"node.self()\n\
                  (:echo, \"erl_r@localhost\") ! (self(), :hi)\n\
                  receive { (p, m) => (type(p), m), after 5000 => :timeout }\n\
                  node.list()\n",
            )
            .unwrap();
    }
    let lines = wait_for(Guard(child));
    assert_lines(
        &lines,
        &[
            "\"weft_r@localhost\"",
            "(<0.1>, :hi)",
            "(:pid, :hi)",
            "[\"erl_r@localhost\"]",
        ],
    );
}

/// A second node under a name EPMD already holds is refused with words
/// that say so (not EPMD's "error code 1 against an ALIVE2_REQ request").
#[test]
fn a_taken_name_is_reported_as_in_use() {
    let epmd = Epmd::start();
    let _first = started(weft(&epmd, "weft_same", "server.weft", &[]));
    let output = weft(&epmd, "weft_same", "server.weft", &[])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("\"weft_same\" is in use"), "{stderr}");
    assert!(!stderr.contains("ALIVE2_REQ"), "{stderr}");
}
