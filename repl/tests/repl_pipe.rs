//! The REPL with standard input from a pipe: entries are read line by line,
//! each value is printed in `inspect` form, and the exit status is 0 — or
//! 70 if any entry failed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn repl(input: &str) -> Run {
    repl_in(input, &std::env::temp_dir())
}

fn repl_in(input: &str, dir: &std::path::Path) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start weft");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let output = child.wait_with_output().expect("wait for weft");
    writer.join().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

/// Asserts a clean run and returns its output lines.
fn ok_lines(input: &str) -> Vec<String> {
    let run = repl(input);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stderr, "", "no errors expected");
    run.stdout.lines().map(str::to_string).collect()
}

#[test]
fn values_print_in_inspect_form() {
    let lines = ok_lines("1 + 2\n\"hi\"\n[1, (2, :a), %{\"k\" => 1.5}]\n:ok\nnil\n(1,)\n");
    assert_eq!(
        lines,
        [
            "3",
            "\"hi\"",
            "[1, (2, :a), %{\"k\" => 1.5}]",
            ":ok",
            "nil",
            "(1,)"
        ]
    );
}

#[test]
fn no_prompt_or_banner_and_empty_input_is_fine() {
    let run = repl("");
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    let lines = ok_lines("\n   \n# only a comment\n7\n");
    assert_eq!(lines, ["7"]);
}

#[test]
fn let_and_fn_persist_across_entries() {
    let lines =
        ok_lines("let x = 20\nfn double(n) { n * 2 }\ndouble(x) + 2\nlet (a, b) = (x, :b)\n(a, b)\nx = x + 1\nx\n");
    // A destructuring `let` shows nil; an assignment shows the new value.
    assert_eq!(
        lines,
        ["20", "<fn double/1>", "42", "nil", "(20, :b)", "21", "21"]
    );
}

#[test]
fn print_output_comes_before_the_value() {
    let lines = ok_lines("print(\"hello\", 1)\n");
    assert_eq!(lines, ["hello 1", "nil"]);
}

#[test]
fn multi_line_entries() {
    let input = "\
fn classify(n) {
  if n < 0 {
    :negative
  } else {
    :other
  }
}
classify(-3)
[1,
 2,
 3]
1 +
  2
";
    assert_eq!(
        ok_lines(input),
        ["<fn classify/1>", ":negative", "[1, 2, 3]", "3"]
    );
}

#[test]
fn a_compile_error_does_not_end_the_session() {
    let run = repl("let x = 5\nlet y = x + nope\nx + 1\n1 +* 2\nx\n");
    assert_eq!(run.stdout, "5\n6\n5\n");
    assert!(run.stderr.contains("unknown name `nope`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("<repl:2>"),
        "errors point at the entry: {}",
        run.stderr
    );
    assert_eq!(run.code, 70);
}

#[test]
fn a_runtime_error_keeps_earlier_bindings() {
    let run = repl("let x = 5\nlet y = 1 / 0\nx\nlet x = [x, 6]\nx[9]\nx\n");
    assert_eq!(run.stdout, "5\n5\n[5, 6]\n[5, 6]\n");
    assert!(
        run.stderr.contains(":badarith: division by zero"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(":badarg"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("__weft"),
        "the shell's own frames are hidden: {}",
        run.stderr
    );
    assert_eq!(run.code, 70);
}

#[test]
fn self_is_the_same_shell_across_entries() {
    let lines = ok_lines("let me = self()\nself() == me\nself()\nself()\n");
    assert_eq!(lines[1], "true");
    assert_eq!(lines[2], lines[0]);
    assert_eq!(lines[3], lines[0]);
    assert!(lines[0].starts_with("<0."));
}

#[test]
fn spawn_and_flush() {
    let input = "\
let me = self()
let p = spawn { me ! (:hi, 1); me ! :there }
flush()
flush()
";
    let lines = ok_lines(input);
    assert_eq!(
        lines[2..],
        ["Shell got (:hi, 1)", "Shell got :there", ":ok", ":ok"]
    );
}

#[test]
fn messages_wait_in_the_shell_mailbox_between_entries() {
    let input = "\
let me = self()
spawn { me ! 41 }
receive { n => n + 1 }
";
    assert_eq!(ok_lines(input)[2], "42");
}

#[test]
fn redefining_a_function_changes_what_a_running_process_calls() {
    let input = "\
fn greet() { \"v1\" }
fn serve(parent) {
  receive {
    :go => { parent ! greet(); serve(parent) },
  }
}
let p = spawn serve(self())
p ! :go
receive { m => m }
fn greet() { \"v2\" }
p ! :go
receive { m => m }
";
    let lines = ok_lines(input);
    assert_eq!(lines[4], "\"v1\"");
    assert_eq!(lines[7], "\"v2\"");
}

#[test]
fn background_processes_keep_running_between_entries() {
    let input = "\
spawn { for i in 0..3 { print(\"tick\", i); sleep(20) } }
sleep(200)
:done
";
    let lines = ok_lines(input);
    assert_eq!(lines[1..], ["tick 0", "tick 1", "tick 2", "nil", ":done"]);
}

#[test]
fn a_crash_in_another_process_is_reported_and_the_session_goes_on() {
    let run = repl("spawn { sleep(10); [][1] }\nsleep(100)\n:after\n");
    assert!(run.stderr.contains("crashed"), "{}", run.stderr);
    assert!(run.stdout.ends_with("nil\n:after\n"), "{}", run.stdout);
    // The entries themselves all succeeded.
    assert_eq!(run.code, 0);
}

#[test]
fn exit_and_deadlock_restart_the_shell_with_bindings_kept() {
    let run = repl("let kept = 1\nexit(:bye)\nkept\nreceive { x => x }\nkept + 1\n");
    assert!(run.stderr.contains("exited: :bye"), "{}", run.stderr);
    assert!(run.stderr.contains("deadlock"), "{}", run.stderr);
    assert_eq!(run.stdout, "1\n1\n2\n");
    assert_eq!(run.code, 70);
}

#[test]
fn a_linked_crash_kills_the_shell_and_a_new_one_starts() {
    let run = repl("let kept = :yes\nspawn_link { 1 / 0 }\nsleep(50)\nkept\n");
    assert!(run.stderr.contains(":badarith"), "{}", run.stderr);
    assert!(run.stdout.ends_with(":yes\n"), "{}", run.stdout);
}

#[test]
fn an_unfinished_entry_at_the_end_is_an_error() {
    let run = repl("1\n[1, 2\n");
    assert_eq!(run.stdout, "1\n");
    assert!(run.stderr.contains("Error"), "{}", run.stderr);
    assert_eq!(run.code, 70);
}

#[test]
fn commands_ps_time_disasm_kill_reset() {
    let input = "\
fn triple(n) { n * 3 }
:ps
:time triple(14)
:disasm triple
:disasm list.map
let p = spawn { receive { _ => nil } }
:kill p
:kill nonsense
:help
let x = 1
:reset
x
";
    let run = repl(input);
    let out = &run.stdout;
    assert!(
        out.contains("PID") && out.contains("REDUCTIONS") && out.contains("MAILBOX"),
        "{out}"
    );
    assert!(out.contains("(shell)"), "{out}");
    assert!(out.contains("42\ntime: "), "{out}");
    assert!(out.contains("reductions: "), "{out}");
    assert!(out.contains("fn triple/1"), "{out}");
    assert!(out.contains("Mul"), "{out}");
    // `list.map` is Rust (it calls back into Weft through a continuation).
    assert!(
        run.stderr
            .contains("`list.map` is a native function (written in Rust)"),
        "{}",
        run.stderr
    );
    assert!(out.contains(":quit"), "the help lists the commands: {out}");
    assert!(out.contains("the session is reset"), "{out}");
    // A variable holding a pid names a process; other words are errors.
    assert!(out.contains("killed <0.2>"), "{out}");
    assert!(
        run.stderr.contains("`nonsense` is not a pid"),
        "{}",
        run.stderr
    );
    // After :reset, `x` is unknown.
    assert!(run.stderr.contains("unknown name `x`"), "{}", run.stderr);
    assert_eq!(run.code, 70);
}

/// `:ps` names an unregistered process by the function it started in
/// (Erlang's initial call), a registered one by its name.
#[test]
fn ps_names_processes_by_their_initial_call() {
    let run = repl(
        "fn idle(n) { receive { _ => nil } }\nspawn idle(1)\nspawn { receive { _ => nil } }\nregister(:named, spawn idle(2))\n:ps\n",
    );
    let table = &run.stdout;
    assert!(table.contains("idle/1"), "{table}");
    assert!(table.contains("fn/0"), "{table}");
    assert!(table.contains(":named"), "{table}");
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn kill_by_pid() {
    let input = "\
let p = spawn { receive { _ => nil } }
alive(p)
:kill <0.2>
alive(p)
";
    let lines = ok_lines(input);
    assert_eq!(lines[0], "<0.2>");
    assert_eq!(lines[1..], ["true", "killed <0.2>", "false"]);
}

#[test]
fn load_a_file_into_the_session() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("repl_pipe_load");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lib.weft"),
        "fn square(x) { x * x }\nlet base = 7\nprint(\"loading\")\n",
    )
    .unwrap();
    let run = repl_in(":load lib.weft\nsquare(base)\n:load missing.weft\n", &dir);
    assert_eq!(
        run.stdout,
        "loading\nloaded lib.weft; functions: square; variables: base\n49\n"
    );
    assert!(run.stderr.contains("missing.weft"), "{}", run.stderr);
    assert_eq!(run.code, 70);
}

#[test]
fn quit_stops_reading() {
    let run = repl("1\n:quit\n2\n");
    assert_eq!((run.code, run.stdout.as_str()), (0, "1\n"));
}

#[test]
fn an_import_stays_usable_in_later_entries() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/imports");
    let run = repl_in(
        "import \"modules/geometry.weft\" as geo\ngeo.area(2, 3)\nlet f = geo.square\nf(4)\nimport \"modules/geometry.weft\" as geo\ngeo.area(1, 1)\n",
        &dir,
    );
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines, ["nil", "6", "<fn geo.square/1>", "16", "nil", "1"]);
}

/// An entry waiting in `net.accept` waits for a connection, as `weft run`
/// does: the poller may still wake it, so the VM being idle is not a
/// deadlock (it was reported as one).
#[test]
fn an_entry_waiting_in_accept_waits_for_a_connection() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start weft");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"let l = net.listen(\"127.0.0.1\", 0)\nnet.port(l)\nlet s = net.accept(l)\nnet.recv_line(s)\n")
        .unwrap();
    // End of input now: the REPL finishes the entries first, so a REPL that
    // wrongly gives up on `accept` ends, and the reads below fail instead
    // of waiting forever.
    drop(stdin);
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    // The listener's value, then its port.
    let _listener = lines.next().unwrap().unwrap();
    let port: u16 = lines.next().unwrap().unwrap().trim().parse().unwrap();
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    client.write_all(b"hello\n").unwrap();
    let _socket = lines.next().unwrap().unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "\"hello\"");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("deadlock"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
