//! A Weft node as a citizen of an Erlang cluster (issue 27, LANGUAGE.md
//! §12, second half), against real `erl -sname` nodes on 127.0.0.1
//! (docs/DISTRIBUTION.md): Erlang calls into Weft with `rpc`/`erpc`,
//! `gen_server` and `pg`, and Weft calls an Erlang `gen_server` and reads
//! Erlang's `pg`.
//!
//! Each test starts its own EPMD on a free loopback port and its own
//! nodes (distinct names), and stops every process it started by its pid
//! (the guards' `Drop`). Scripts live in `tests/dist/cluster_*.weft`; the
//! Erlang side is `tests/dist/cluster_peer.erl`. Every wait is bounded:
//! the scripts' own `after` clauses and bounded polls, the Erlang side's
//! timeouts, and a 60 s deadline on each command. Nothing sleeps to
//! synchronise: a server is waited for by the "ready" line it prints.
//!
//! These tests need Erlang (`erl`, `erlc`, `epmd`): `.ci/run` installs
//! `erlang-base` where it is missing. The harness is shared with
//! `tests/distribution.rs` (`tests/common/mod.rs`).
//!
//! What each test covers, each run with one scheduler and with two
//! (`WEFT_SCHEDULERS`), under distinct node names:
//!
//! - `erlang_calls_into_a_weft_node`: `cluster_node.weft` (importing
//!   `cluster_helper.weft` as `helper`) is the node `cluster_w_sN`;
//!   `cluster_peer:into_weft/1` on `cluster_e_sN` checks, one line each:
//!   `net_adm:ping` is `pong`; `rpc:call` of `main:add(2, 3)` (the
//!   script's own function) is 5, of `string:upper(<<"abc">>)` (a standard
//!   module) is `<<"ABC">>`, of `helper:twice(21)` (an imported module, by
//!   its `as` name) is 42; a Weft runtime error (`x / 0`) is caught from
//!   `erpc:call` as `error:{exception, {badarith, Message}, Stack}` with a
//!   binary message, and `rpc:call` returns it as
//!   `{badrpc, {'EXIT', {{badarith, _}, _}}}`; an unknown function is
//!   exactly `{badrpc,{'EXIT',{undef,[{main,nope,[],[]}]}}}`;
//!   `gen_server:call`/`cast` reach the Weft `server` registered as `kv`
//!   (put, get, and a get ordered behind a cast); a call to an
//!   unregistered name exits with `{noproc, {gen_server, call, ...}}`;
//!   `pg:get_members(workers)` comes to list the one Weft pid that joined
//!   (the hidden Weft node starts the pg exchange itself); a reply
//!   after the caller's timeout goes to its alias and never reaches its
//!   mailbox; a Weft member that is killed leaves its group on the
//!   Erlang side too (and Erlang's `pg` does not crash); and a plain
//!   send to the registered Weft main process is answered, after which
//!   the Weft node ends with status 0.
//! - `weft_calls_an_erlang_gen_server_and_reads_pg`: `cluster_peer:start/0`
//!   on `cluster_e2` runs a `gen_server` registered as `erl_kv` and a
//!   process in pg group `erl_group`; `cluster_client.weft` on
//!   `cluster_c_sN` connects (`true`), `server.call`s `erl_kv` by
//!   `(:name, "node@host")` (`:pong`) and by the pid it answers with
//!   (`:pid :pong`), casts then calls (`:ok`, `7`); a call to a name not
//!   registered there ends the caller with `(:server_down, :noproc)`, an
//!   unanswered call with timeout 200 with
//!   `(:timeout, (:server_call, (:erl_kv, "cluster_e2@localhost"), :hang))`;
//!   after `pg.join(:weft_group, self())`, `pg.members(:erl_group)` comes
//!   to hold the one Erlang pid (`1 [:pid]`).
//! - `elixir_calls_a_weft_server`: `elixir` (`.ci/run` installs it) calls
//!   the Weft `server` `kv` with `GenServer.call`/`cast`, and `main.add`
//!   with `:rpc.call`; an Elixir module is Erlang's `undef`.
//! - `two_weft_nodes_share_pg_groups`: a member of `:team` on one Weft node
//!   is seen by `pg.members` on another (each answers the other's
//!   `discover`, as Erlang's `pg` would).

mod common;

use std::process::{Command, Stdio};

use common::{assert_lines, beam_dir, output_of, started, wait_for, COOKIE, LOOPBACK_ONLY};
use weft_node::testing::Epmd;

/// Erlang's `pg` default scope, as `pg:join/2` and `pg:get_members/1` use.
const START_PG: [&str; 3] = ["-kernel", "start_pg", "true"];

/// The scheduler counts each test runs the Weft node with: one (the
/// host-stepped VM, woken from the network threads) and several (the
/// network injects into the pool).
const SCHEDULERS: [&str; 2] = ["1", "2"];

/// `erl -sname NAME@localhost` with `pg` started and `cluster_peer` on its
/// path, running `eval`; not yet started. Standard error is left to the
/// caller.
fn erl(epmd: &Epmd, name: &str, eval: &str) -> Command {
    let mut erl = Command::new("erl");
    erl.args(["-sname", &format!("{name}@localhost"), "-setcookie", COOKIE])
        .args(LOOPBACK_ONLY)
        .args(START_PG)
        .args(["-noshell", "-pa"])
        .arg(beam_dir())
        .args(["-eval", eval])
        .env("ERL_EPMD_PORT", epmd.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    erl
}

/// `weft run --sname NAME@localhost SCRIPT ARGS` with `schedulers`
/// schedulers, not yet started.
fn weft(epmd: &Epmd, name: &str, schedulers: &str, script: &str, args: &[&str]) -> Command {
    let mut command = common::weft(epmd, name, script, args);
    command.env("WEFT_SCHEDULERS", schedulers);
    command
}

#[test]
fn erlang_calls_into_a_weft_node() {
    let epmd = Epmd::start();
    for schedulers in SCHEDULERS {
        let weft_name = format!("cluster_w_s{schedulers}");
        let node = started(weft(
            &epmd,
            &weft_name,
            schedulers,
            "cluster_node.weft",
            &[],
        ));
        assert!(epmd.has(&weft_name));
        let mut caller = erl(
            &epmd,
            &format!("cluster_e_s{schedulers}"),
            &format!("cluster_peer:into_weft('{weft_name}@localhost')"),
        );
        caller.stderr(Stdio::piped());
        assert_lines(
            &output_of(caller),
            &[
                // net_adm:ping
                "pong",
                // rpc:call: main, a standard module, an imported module.
                "5",
                "<<\"ABC\">>",
                "42",
                // A Weft runtime error: erpc's exception, then rpc's badrpc.
                "{badarith,true}",
                "badrpc_badarith",
                // An unknown function.
                "{badrpc,{'EXIT',{undef,[{main,nope,[],[]}]}}}",
                "{badrpc,{'EXIT',{undef,[{string,upper,[],[]}]}}}",
                // gen_server:call/cast to the Weft server `kv`.
                "ok",
                "1",
                "2",
                "noproc",
                // A late reply goes to the alias and is dropped.
                "timeout",
                "{messages,[]}",
                // pg:get_members(workers) lists the Weft pid.
                "pg_member",
                // A Weft member that ends leaves; Erlang's pg lives on.
                "{dying,member}",
                "{dying,gone}",
                "true",
                // Erlang's pg restarted: the Weft member is listed again.
                "restarted",
                "pg_member",
                // {cluster_main, W} ! {stop, self()} is answered.
                "stopped",
            ],
        );
        // The Weft node ends on :stop (not by its idle timeout), status 0,
        // having printed nothing after "ready".
        assert_lines(&wait_for(node), &[]);
    }
}

#[test]
fn weft_calls_an_erlang_gen_server_and_reads_pg() {
    let epmd = Epmd::start();
    let _erl = started(erl(&epmd, "cluster_e2", "cluster_peer:start()"));
    assert!(epmd.has("cluster_e2"));
    for schedulers in SCHEDULERS {
        let lines = output_of(weft(
            &epmd,
            &format!("cluster_c_s{schedulers}"),
            schedulers,
            "cluster_client.weft",
            &["cluster_e2@localhost"],
        ));
        assert_lines(
            &lines,
            &[
                // node.connect
                "true",
                // server.call by (:name, node), then by pid.
                ":pong",
                ":pid :pong",
                // server.cast, then a call ordered behind it.
                ":ok",
                "7",
                // A name not registered on the Erlang node.
                "(:server_down, :noproc)",
                // A call the Erlang gen_server never answers.
                "(:timeout, (:server_call, (:erl_kv, \"cluster_e2@localhost\"), :hang))",
                // pg.members(:erl_group) holds the Erlang member.
                "1 [:pid]",
            ],
        );
    }
}

#[test]
fn two_weft_nodes_share_pg_groups() {
    let epmd = Epmd::start();
    let _member = started(weft(
        &epmd,
        "cluster_pg_a",
        "1",
        "cluster_pg_member.weft",
        &[],
    ));
    let lines = output_of(weft(
        &epmd,
        "cluster_pg_b",
        "1",
        "cluster_pg_reader.weft",
        &["cluster_pg_a@localhost"],
    ));
    assert_lines(&lines, &["true", "1 :pid", "stopped"]);
}

#[test]
fn elixir_calls_a_weft_server() {
    if Command::new("elixir").arg("--version").output().is_err() {
        eprintln!(
            "elixir_calls_a_weft_server: SKIPPED: elixir is not installed (apt-get install elixir; .ci/run installs it)"
        );
        return;
    }
    let epmd = Epmd::start();
    let node = started(weft(&epmd, "cluster_w_ex", "1", "cluster_node.weft", &[]));
    let mut elixir = Command::new("elixir");
    elixir
        .args(["--sname", "cluster_ex@localhost", "--cookie", COOKIE])
        .args(["--erl", "-kernel inet_dist_use_interface {127,0,0,1}"])
        .arg(common::dist_dir().join("cluster_elixir.exs"))
        .arg("cluster_w_ex@localhost")
        .env("ERL_EPMD_PORT", epmd.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let lines = output_of(elixir);
    assert_lines(
        &lines,
        &[
            ":pong",
            ":ok",
            "1",
            "\"two\"",
            "5",
            // An Elixir module is no Weft module: Erlang's undef.
            "{:badrpc, {:EXIT, {:undef, [{String, :upcase, [\"x\"], []}]}}}",
            ":stopped",
        ],
    );
    assert_lines(&wait_for(node), &[]);
}
