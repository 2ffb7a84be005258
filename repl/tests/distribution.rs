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

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{
    assert_lines, beam_dir, output_of, started, wait_for, weft, Guard, COOKIE, LOOPBACK_ONLY,
};
use weft_node::testing::Epmd;

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
