//! What the fuzz targets share: a sandboxed VM and a bounded run loop.
//!
//! A target fails when the code under test panics, aborts (a stack
//! overflow, an out-of-bounds access caught by a sanitizer) or does not
//! return: libFuzzer's `-timeout` turns a `run(budget)` call that never
//! comes back into a finding, which is how "run always returns" is checked.

use std::sync::OnceLock;

use weft_compiler::Environment;
use weft_vm::{RunStatus, Vm};

/// The names a sandboxed script may use, computed once (building a VM
/// compiles the standard library).
pub fn environment() -> &'static Environment {
    static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| sandbox().environment())
}

/// A VM with no `io`, and limits small enough that a script cannot exhaust
/// the fuzzing machine: a few processes, short mailboxes, a 32 MiB heap.
pub fn sandbox() -> Vm {
    Vm::builder()
        .max_processes(64)
        .max_mailbox(1000)
        .max_heap(32 << 20)
        .output(|_: &str| {})
        .error_output(|_: &str| {})
        .build()
}

/// Runs the main process for at most `slices` budgets of 5,000 reductions,
/// then stops everything. Each `run` call must return: a script that could
/// keep one from returning is a bug the fuzzer reports as a timeout.
pub fn run_bounded(vm: &mut Vm, entry: weft_vm::EntryPoint, slices: usize) {
    vm.spawn_main(entry);
    for _ in 0..slices {
        let status = vm.run(5_000);
        let _ = vm.take_events();
        if vm.main_exit().is_some() || !matches!(status, RunStatus::BudgetSpent) {
            break;
        }
    }
    vm.stop_all();
}

/// The code the `image` target's images name (its seeds are images of
/// these functions' processes).
pub const IMAGE_SCRIPT: &str = include_str!("../image_script.weft");

/// Small programs that exercise most instructions, as seeds for the
/// bytecode mutations of the `verify` target.
pub const PROGRAMS: &[&str] = &[
    "fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }\nprint(fib(15), fib(-1), 7 / 2, 7 % -2)\n",
    "let xs = [1, 2.5, \"s\", :a, (1,), %{1 => 2}]\nfor x in xs { print(x, type(x), len(str(x))) }\nmatch xs { [h, ..t] => print(h, t), _ => nil }\n",
    "let m = %{:a => 1, \"b\" => (2, 3)}\nlet (a, b) = (m[:a], m[\"b\"])\nprint(a, b, m[:zz])\n",
    "fn serve(s) { receive { (:get, from) => { from ! s; serve(s + 1) }, after 5 => s } }\nlet p = spawn serve(0)\np ! (:get, self())\nreceive { v => print(v) }\n",
    "let ch = chan(2)\nch <- 1\nselect { <-ch as v => print(v), ch <- 2 => nil, after 0 => nil }\nclose(ch)\nprint(<-ch, chan.try_recv(ch), chan.balance(ch))\n",
    "let f = fn(x) { fn g(y) { if y == 0 { x } else { g(y - 1) } }\n g(3) }\nwhile true { break f(1) }\nlet r = monitor(spawn { exit(:boom) })\nreceive { (:down, ^r, _, why) => print(why) }\n",
    "trap_exits(true)\nlet p = spawn_link { 1 / 0 }\nreceive { (:exit, _, why) => print(why) }\nregister(:me, self())\n:me ! 1\nflush()\n",
    "print(list.sort([3, 1, 2]), string.split(\"a,b\", \",\"), map.put(%{}, 1, 2), math.sqrt(2), list.map([1], fn(x) { x * 2 }))\n",
    "let n = 0\nloop { n += 1\n if n > 100 { break } }\nfor i in 0..10 { if i % 2 == 0 { continue }\n print(i) }\nprint(format(\"{} {}\", 1, [2]), int(\"7\"), float(\"2.5\"))\n",
    "let x = []\nfor i in 0..50 { x = [x, x] }\nprint(x == x, x < [x], len(str(x)))\nlet c = %{}\nfor w in [\"a\", \"b\", \"a\"] { c = map.put(c, w, map.get(c, w, 0) + 1) }\nprint(c, try int(\"x\"), try 1 / 0)\n",
];
