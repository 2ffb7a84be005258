//! Property test: programs that compile — valid ones with random edits —
//! run under a reduction budget without panicking the VM, whatever they do
//! (crash, deadlock, spin, misuse builtins).

use proptest::prelude::*;
use weft_vm::{SourceFile, Vm};

const PROGRAMS: &[&str] = &[
    "fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }\nprint(fib(15), fib(-1), 7 / 2, 7 % -2)\n",
    "let xs = [1, 2.5, \"s\", :a, (1,), %{1 => 2}]\nfor x in xs { print(x, type(x), len(str(x))) }\nmatch xs { [h, ..t] => print(h, t), _ => nil }\n",
    "let m = %{:a => 1, \"b\" => (2, 3)}\nlet (a, b) = (m[:a], m[\"b\"])\nprint(a, b, map.get(m, :zz, nil))\n",
    "fn serve(s) { receive { (:get, from) => { from ! s; serve(s + 1) }, after 5 => s } }\nlet p = spawn serve(0)\np ! (:get, self())\nreceive { v => print(v) }\n",
    "let ch = chan(2)\nch <- 1\nselect { <-ch as v => print(v), ch <- 2 => nil, after 0 => nil }\nclose(ch)\nprint(<-ch, chan.try_recv(ch), chan.balance(ch))\n",
    "let f = fn(x) { fn g(y) { if y == 0 { x } else { g(y - 1) } }\n g(3) }\nwhile true { break f(1) }\nlet r = monitor(spawn { exit(:boom) })\nreceive { (:down, ^r, _, why) => print(why) }\n",
    "trap_exits(true)\nlet p = spawn_link { 1 / 0 }\nreceive { (:exit, _, why) => print(why) }\nregister(:me, self())\n:me ! 1\nflush()\n",
    "print(list.sort([3, 1, 2]), string.split(\"a,b\", \",\"), map.put(%{}, 1, 2), math.sqrt(2), list.map([1], fn(x) { x * 2 }))\n",
    "let n = 0\nloop { n += 1\n if n > 100 { break } }\nfor i in 0..10 { if i % 2 == 0 { continue }\n print(i) }\nprint(format(\"{} {}\", 1, [2]), int(\"7\"), float(\"2.5\"))\n",
];

const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\n",
    "1",
    "0",
    "-1",
    "x",
    "n",
    "nil",
    ":a",
    "\"s\"",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "<",
    "!",
    "<-",
    "..",
    "spawn",
    "receive",
    "after 0 =>",
    "self()",
    "loop { }",
    "break",
    "return",
    "yield()",
    "len(",
    "list.sort(",
    "chan()",
    "close(",
    "exit(",
    "kill(self())",
    "sleep(1)",
    "[h, ..t]",
];

/// How a program ended, for the seeds' own check.
#[derive(Debug, PartialEq)]
enum Ran {
    /// It did not compile.
    Rejected,
    /// Its main process ended with this reason, after these crashes.
    Ended(Option<weft_vm::Value>, usize),
}

fn run(source: &str) -> Ran {
    let mut vm = Vm::builder()
        .max_processes(200)
        .max_mailbox(1000)
        .max_heap(1 << 22)
        .build();
    let file = SourceFile::new("fuzz.weft", source);
    let Ok(entry) = vm.load_main(file, &mut weft_compiler::NoImports) else {
        return Ran::Rejected;
    };
    vm.spawn_main(entry);
    let mut crashes = 0;
    for _ in 0..5 {
        let _ = vm.run(50_000);
        crashes += vm
            .take_events()
            .iter()
            .filter(|e| matches!(e, weft_vm::Event::Crash { .. }))
            .count();
        if vm.main_exit().is_some() {
            break;
        }
    }
    let ended = Ran::Ended(vm.main_exit(), crashes);
    vm.stop_all();
    ended
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_programs_never_panic_the_vm(
        which in 0..PROGRAMS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..3u8, proptest::sample::select(TOKENS)), 1..5),
    ) {
        let mut text: Vec<char> = PROGRAMS[which].chars().collect();
        for (at, kind, token) in edits {
            if text.is_empty() { break; }
            let i = at.index(text.len());
            match kind {
                0 => { text.remove(i); }
                1 => { for (k, c) in token.chars().enumerate() { text.insert(i + k, c); } }
                _ => { let end = (i + 4).min(text.len()); text.drain(i..end); }
            }
        }
        let _ = run(&text.into_iter().collect::<String>());
    }
}

/// The seeds are programs a user could write: each compiles and its main
/// process ends normally (the mutations start from working code, not from
/// code that fails at once); the only crash is the one seed 6 asks for (a
/// linked child dividing by zero, trapped).
#[test]
fn the_seed_programs_run() {
    for (i, program) in PROGRAMS.iter().enumerate() {
        let crashes = usize::from(i == 6);
        assert_eq!(
            run(program),
            Ran::Ended(Some(weft_vm::Value::atom("normal")), crashes),
            "seed {i}:\n{program}"
        );
    }
}
