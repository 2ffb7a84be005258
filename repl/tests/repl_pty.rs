//! The interactive REPL driven through a pseudo-terminal: prompts,
//! multi-line entry, completion, Ctrl-C, background output, Ctrl-D.
//!
//! Each test runs `weft` with HOME set to its own directory (so history
//! never touches the real one) and NO_COLOR=1. Every wait has a generous
//! timeout, and a test only types into the REPL after it has seen the
//! output that shows the REPL is ready for it.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::process::WaitStatus;
use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};

const TIMEOUT_MS: u64 = 10_000;

fn home(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("repl_pty")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test's HOME");
    dir
}

fn start(test: &str) -> (PtySession, PathBuf) {
    let home = home(test);
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .current_dir(&home);
    let options = Options::new()
        .timeout_ms(Some(TIMEOUT_MS))
        .strip_ansi_escape_codes(true);
    let session = spawn_with_options(command, options).expect("start weft in a pty");
    (session, home)
}

/// Types a line and presses Enter.
fn enter(p: &mut PtySession, line: &str) {
    p.send(line).unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
}

fn expect(p: &mut PtySession, text: &str) -> String {
    match p.exp_string(text) {
        Ok(before) => before,
        Err(error) => panic!("waiting for {text:?}: {error}"),
    }
}

/// Waits for the next prompt, then presses Ctrl-D. Waiting matters: a
/// Ctrl-D typed while an entry still runs reaches a terminal in cooked
/// mode, whose line discipline turns it into an end-of-file that the line
/// editor never sees once it switches to raw mode for the next prompt.
fn press_ctrl_d_at_the_prompt(p: &mut PtySession) {
    expect(p, "weft> ");
    p.send_control('d').unwrap();
}

/// Waits for the process to end; its exit code.
fn exit_code(p: &mut PtySession) -> i32 {
    let _ = p.exp_eof();
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS);
    loop {
        match p.process().status() {
            Some(WaitStatus::Exited(_, code)) => return code,
            Some(WaitStatus::StillAlive) | None if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => panic!("weft did not exit: {other:?}"),
        }
    }
}

#[test]
fn prompt_appears_and_entries_evaluate() {
    let (mut p, _) = start("prompt");
    expect(&mut p, "weft> ");
    enter(&mut p, "let x = 20 + 1");
    expect(&mut p, "21");
    expect(&mut p, "weft> ");
    enter(&mut p, "x * 2");
    expect(&mut p, "42");
    expect(&mut p, "weft> ");
    enter(&mut p, "1 +* 2");
    expect(&mut p, "Error");
    expect(&mut p, "weft> ");
    enter(&mut p, "x");
    expect(&mut p, "21");
    enter(&mut p, ":quit");
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn multi_line_entry_uses_the_continuation_prompt() {
    let (mut p, _) = start("multiline");
    expect(&mut p, "weft> ");
    enter(&mut p, "fn add(a, b) {");
    expect(&mut p, "...> ");
    enter(&mut p, "  a + b");
    expect(&mut p, "...> ");
    enter(&mut p, "}");
    expect(&mut p, "<fn add/2>");
    expect(&mut p, "weft> ");
    enter(&mut p, "add(40,");
    expect(&mut p, "...> ");
    enter(&mut p, "2)");
    expect(&mut p, "42");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn lines_typed_ahead_are_kept() {
    let (mut p, _) = start("typeahead");
    expect(&mut p, "weft> ");
    // Three entries in one write: the second and third arrive while the
    // first is being evaluated.
    p.send("sleep(100); \"one\" ++ \"-ok\"\r\"two\" ++ \"-ok\"\r\"three\" ++ \"-ok\"\r")
        .unwrap();
    p.flush().unwrap();
    expect(&mut p, "\"one-ok\"");
    expect(&mut p, "\"two-ok\"");
    expect(&mut p, "\"three-ok\"");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn tab_completes_module_members() {
    let (mut p, _) = start("completion");
    expect(&mut p, "weft> ");
    // One candidate: the word is completed in place.
    p.send("list.rev").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    expect(&mut p, "list.reverse");
    enter(&mut p, "([1, 2, 3])");
    expect(&mut p, "[3, 2, 1]");
    expect(&mut p, "weft> ");
    // Several: they are listed.
    p.send("list.").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    expect(&mut p, "filter");
    expect(&mut p, "reverse");
    // Session variables complete too.
    p.send_control('u').unwrap();
    enter(&mut p, "let tally_total = 7");
    expect(&mut p, "7");
    expect(&mut p, "weft> ");
    p.send("tally_t").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    expect(&mut p, "tally_total");
    enter(&mut p, " + 1");
    expect(&mut p, "8");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn ctrl_c_breaks_out_of_an_infinite_loop() {
    let (mut p, _) = start("ctrl_c");
    expect(&mut p, "weft> ");
    enter(&mut p, "let kept = :still_here");
    expect(&mut p, ":still_here");
    expect(&mut p, "weft> ");
    // Wait until the entry is running before pressing Ctrl-C.
    enter(&mut p, "print(\"spin\" ++ \"ning\"); loop {}");
    expect(&mut p, "spinning");
    std::thread::sleep(Duration::from_millis(100));
    p.send_control('c').unwrap();
    expect(&mut p, "** interrupted");
    expect(&mut p, "weft> ");
    enter(&mut p, "(kept, 1 + 2)");
    expect(&mut p, "(:still_here, 3)");
    expect(&mut p, "weft> ");
    // Ctrl-C also ends an entry that is waiting (a long sleep) ...
    enter(&mut p, "print(\"sleep\" ++ \"ing\"); sleep(100000)");
    expect(&mut p, "sleeping");
    std::thread::sleep(Duration::from_millis(100));
    p.send_control('c').unwrap();
    expect(&mut p, "** interrupted");
    expect(&mut p, "weft> ");
    // ... and abandons an unfinished entry.
    enter(&mut p, "[1,");
    expect(&mut p, "...> ");
    p.send_control('c').unwrap();
    expect(&mut p, "weft> ");
    enter(&mut p, "kept");
    expect(&mut p, ":still_here");
    expect(&mut p, "weft> ");
    // Ctrl-C on an empty line gives a hint; a second one exits.
    p.send_control('c').unwrap();
    expect(&mut p, "To exit");
    expect(&mut p, "weft> ");
    p.send_control('c').unwrap();
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn background_process_output_appears_at_the_prompt() {
    let (mut p, _) = start("background");
    expect(&mut p, "weft> ");
    enter(
        &mut p,
        "spawn { for i in 0..3 { sleep(100); print(\"tick\", i) } }",
    );
    expect(&mut p, "<0.");
    expect(&mut p, "tick 0");
    expect(&mut p, "tick 1");
    expect(&mut p, "tick 2");
    expect(&mut p, "weft> ");
    enter(&mut p, ":ps");
    expect(&mut p, "(shell)");
    expect(&mut p, "processes");
    expect(&mut p, "weft> ");
    enter(&mut p, "21 * 2");
    expect(&mut p, "42");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn ctrl_d_exits_and_history_is_saved() {
    let (mut p, home) = start("history");
    expect(&mut p, "weft> ");
    enter(&mut p, "let remembered = 99");
    expect(&mut p, "99");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
    let history = std::fs::read_to_string(home.join(".weft_history")).expect("history file");
    assert!(
        history.contains("let remembered = 99"),
        "history: {history:?}"
    );

    // The next session finds it: Up recalls the entry.
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .current_dir(&home);
    let options = Options::new()
        .timeout_ms(Some(TIMEOUT_MS))
        .strip_ansi_escape_codes(true);
    let mut p = spawn_with_options(command, options).expect("start weft in a pty");
    expect(&mut p, "weft> ");
    p.send("\x1b[A").unwrap();
    p.flush().unwrap();
    expect(&mut p, "let remembered = 99");
    p.send("\r").unwrap();
    p.flush().unwrap();
    expect(&mut p, "99");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn top_shows_the_busiest_process_first_until_enter() {
    let (mut p, _) = start("top");
    expect(&mut p, "weft> ");
    enter(&mut p, "let busy = spawn { loop { nil } }");
    expect(&mut p, "weft> ");
    enter(&mut p, ":top");
    expect(&mut p, "REDUCTIONS");
    // The busy loop has spent the most: it is the first row.
    let table = expect(&mut p, "press Enter to stop");
    let first_row = table
        .lines()
        .find(|l| l.trim_start().starts_with('<'))
        .unwrap_or_default()
        .to_string();
    assert!(
        first_row.contains("running") || first_row.contains("runnable"),
        "{table}"
    );
    p.send("\r").unwrap();
    p.flush().unwrap();
    expect(&mut p, "weft> ");
    enter(&mut p, ":kill busy");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
}

/// `:top` sorts by what each process spent since the last refresh, not
/// since it started: a process that worked hard and then went idle is not
/// the busiest one. (It did about three seconds of work, so by the second
/// table the spinning process has spent less in total than it did.)
#[test]
fn top_sorts_by_reductions_in_the_last_interval() {
    let (mut p, _) = start("top_recent");
    expect(&mut p, "weft> ");
    enter(
        &mut p,
        "let me = self(); let hog = spawn { for i in 0..300000000 { nil }; me ! :done; receive { _ => nil } }",
    );
    expect(&mut p, "weft> ");
    enter(&mut p, "receive { :done => :hog_idle }");
    expect(&mut p, ":hog_idle");
    expect(&mut p, "weft> ");
    // Several instructions per reduction: it spends reductions more slowly
    // than the hog's empty loop did.
    enter(
        &mut p,
        "let busy = spawn { let x = 0; loop { x = (x * 31 + 7) % 1000003 } }",
    );
    let pid_line = expect(&mut p, "weft> ");
    let busy = pid_line
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("<0.")
                .map(|rest| format!("<0.{rest}"))
        })
        .unwrap_or_default();
    enter(&mut p, ":top");
    expect(&mut p, "press Enter to stop");
    // The second table, a refresh later.
    let table = expect(&mut p, "press Enter to stop");
    let first_row = table
        .lines()
        .find(|l| l.trim_start().starts_with('<'))
        .unwrap_or_default()
        .to_string();
    assert!(first_row.contains(&busy), "busy is {busy}:\n{table}");
    p.send("\r").unwrap();
    p.flush().unwrap();
    expect(&mut p, "weft> ");
    enter(&mut p, ":kill busy");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
}

#[test]
fn trace_shows_a_process_messages_as_they_happen() {
    let (mut p, _) = start("trace");
    expect(&mut p, "weft> ");
    enter(
        &mut p,
        "let echo = spawn { loop { receive { (from, m) => from ! m } } }",
    );
    expect(&mut p, "weft> ");
    enter(&mut p, ":trace echo");
    expect(&mut p, "messages (`:trace off` stops)");
    expect(&mut p, "weft> ");
    enter(&mut p, "echo ! (self(), :hi)");
    expect(&mut p, "<- (<0.");
    expect(&mut p, ":hi)");
    expect(&mut p, "-> <0.");
    enter(&mut p, ":kill echo");
    expect(&mut p, "exited: :kill");
    press_ctrl_d_at_the_prompt(&mut p);
    assert_eq!(exit_code(&mut p), 0);
}
