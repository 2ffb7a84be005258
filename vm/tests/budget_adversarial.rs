//! `run(budget)` returns within its budget whatever a script does: walks
//! over huge or shared values charge reductions per node visited and yield
//! mid-walk, so a host loop stepping the VM keeps its frame rate.
//!
//! Each scenario steps a VM in slices of 2,000 reductions and checks every
//! slice's wall time. The bound is loose on purpose (slow CI machines); what
//! it catches is an instruction whose cost is not charged — a 2^60-node walk
//! never returns at all, and a million-node walk in one slice takes far
//! longer than a thousand slices' worth of reductions should.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weft_vm::{RunStatus, Vm};

/// The most one 2,000-reduction slice may take. Measured slices are under
/// 5 ms on the development machine (see docs/TESTING.md).
const SLICE_LIMIT: Duration = Duration::from_millis(250);

const SCRIPTS: &[(&str, &str)] = &[
    (
        "deep equality",
        "fn main() { let a = 0\n let b = 0\n for _ in 0..1000000 { a = [a]\n b = [b] }\n for _ in 0..3 { assert(a == b) } }",
    ),
    (
        "deep ordering",
        "fn main() { let a = 0\n let b = 1\n for _ in 0..1000000 { a = (a,)\n b = (b,) }\n for _ in 0..3 { assert(a < b) } }",
    ),
    (
        "deep map key",
        "fn main() { let a = 0\n for _ in 0..1000000 { a = [a] }\n let m = %{a => 1}\n assert(m[a] == 1) }",
    ),
    (
        "shared equality and ordering",
        "fn main() { let x = []\n let y = []\n for _ in 0..60 { x = [x, x]\n y = [y, y] }\n for _ in 0..100 { assert(x == y)\n assert(x <= y)\n assert(not (x < y)) } }",
    ),
    (
        "shared map key",
        "fn main() { let x = []\n for _ in 0..60 { x = [x, x] }\n let m = %{x => 1}\n for _ in 0..100 { assert(m[x] == 1) } }",
    ),
    (
        "printing a shared value",
        "fn main() { let x = [1]\n for _ in 0..60 { x = [x, x] }\n for _ in 0..10 { match try str(x) { (:error, :system_limit, _) => nil } } }",
    ),
    (
        "printing a deep value",
        "fn main() { let a = 0\n for _ in 0..1000000 { a = [a] }\n assert(len(str(a)) == 2000001)\n assert(len(inspect(a)) == 2000001) }",
    ),
    (
        "dropping a deep value",
        "fn main() { let a = 0\n for _ in 0..1000000 { a = [a] }\n a = nil\n let b = %{}\n for _ in 0..300000 { b = %{:k => b, :v => [b]} }\n b = 0\n for _ in 0..1000 { b += 1 } }",
    ),
    (
        "a big flat value",
        "fn main() { let xs = list.range(0, 1000000)\n let ys = list.range(0, 1000000)\n for _ in 0..3 { assert(xs == ys) }\n let m = %{xs => 1}\n assert(m[ys] == 1) }",
    ),
];

#[test]
fn every_slice_returns_promptly_whatever_the_script_walks() {
    for (name, script) in SCRIPTS {
        let mut vm = Vm::new();
        vm.load("adversary.weft", script).unwrap();
        let pid = vm.spawn("main", vec![]).unwrap();
        let mut slowest = Duration::ZERO;
        let mut slowest_at = 0;
        let mut slices = 0u32;
        loop {
            let started = Instant::now();
            let status = vm.run(2_000);
            if started.elapsed() > slowest {
                slowest = started.elapsed();
                slowest_at = slices;
            }
            slices += 1;
            assert!(slices < 1_000_000, "{name}: did not finish");
            if status != RunStatus::BudgetSpent {
                break;
            }
        }
        for event in vm.take_events() {
            if let weft_vm::Event::Crash { error, .. } = event {
                panic!("{name}: crashed: :{}: {}", error.kind.name(), error.message);
            }
        }
        assert!(!vm.is_alive(pid), "{name}: still alive");
        assert!(
            slowest < SLICE_LIMIT,
            "{name}: a 2,000-reduction slice took {slowest:?}"
        );
        eprintln!("{name}: {slices} slices, slowest {slowest:?} (slice {slowest_at})");
    }
}

/// Data the natives below are given: an 8 MiB string of ASCII (`s`), 8 MiB
/// of two-byte characters (`w`), a million-element list (`l`),
/// a 300,000-entry map with string keys (`m`) and five million ints in
/// reverse order (`big`). Each is built by doubling or by `list.range`, so
/// the setup itself is cheap; it runs under the same slice check.
const DATA: &str = "\
let s = \"ab\"\n for _ in 0..22 { s = s ++ s }\n\
let w = \"é\"\n for _ in 0..22 { w = w ++ w }\n\
let l = list.range(0, 1000000)\n\
let m = map.from_list(list.map(list.range(0, 300000), fn(i) { (str(i), i) }))\n\
let big = list.reverse(list.range(0, 5000000))\n";

/// Every builtin that takes a value of any size, given a big one (docs/TESTING.md
/// records the slowest slice of each). `s`, `w`, `l`, `m` and `big` are
/// the values of `DATA`.
const NATIVES: &[(&str, &str)] = &[
    ("(the data alone)", "nil"),
    ("len of a string", "assert(len(w) == 4194304)"),
    ("string index", "assert(w[4000000] == \"é\")"),
    ("string ++", "assert(len(s ++ w) == 12582912)"),
    ("str of a list", "assert(len(str(l)) > 1000000)"),
    ("inspect of a map", "assert(len(inspect(m)) > 300000)"),
    ("format", "assert(len(format(\"{} {}\", l, s)) > 8000000)"),
    ("type, int, float", "assert(type(s) == :string)\n assert(try int(s) != 1)\n assert(try float(w) != 1.0)"),
    ("assert_eq", "assert_eq(l, list.range(0, 1000000))"),
    ("string.split", "assert(len(string.split(s, \"b\")) == 4194305)"),
    ("string.chars", "assert(len(string.chars(w)) == 4194304)"),
    ("string.join", "let t = list.map(l, fn(_) { \"ab\" })\n assert(len(string.join(t, \",\")) == 2999999)"),
    ("string.trim", "assert(len(string.trim(w)) == 4194304)"),
    ("string.upper", "assert(len(string.upper(w)) == 4194304)"),
    ("string.lower", "assert(len(string.lower(s)) == 8388608)"),
    ("string.contains?", "assert(not string.contains?(w, \"x\"))"),
    ("string.starts_with?", "assert(string.starts_with?(w, w))"),
    ("string.ends_with?", "assert(string.ends_with?(s, s))"),
    ("string.replace", "assert(len(string.replace(w, \"é\", \"xy\")) == 8388608)"),
    ("string.slice", "assert(string.slice(w, -2, -1) == \"é\")\n assert(len(string.slice(w, 1, 4000000)) == 3999999)"),
    ("list ++", "assert(len(l ++ l) == 2000000)"),
    ("list equality", "assert(l == list.range(0, 1000000))"),
    ("list.map", "assert(len(list.map(l, fn(x) { x + 1 })) == 1000000)"),
    ("list.filter", "assert(len(list.filter(l, fn(x) { x % 2 == 0 })) == 500000)"),
    ("list.fold", "assert(list.fold(l, 0, fn(a, x) { a + x }) == 499999500000)"),
    ("list.push", "assert(len(list.push(l, 1)) == 1000001)"),
    ("list.reverse", "assert(list.first(list.reverse(l)) == 999999)"),
    ("list.sort", "assert(list.first(list.sort(big)) == 0)"),
    ("list.sort of a shuffled list", "let r = list.map(l, fn(x) { (x * 7919) % 1000003 })\n assert(list.first(list.sort(r)) == 0)"),
    ("list.sort with a function", "assert(list.first(list.sort(list.take(big, 200000), fn(a, b) { a < b })) == 4800000)"),
    ("list.sum", "assert(list.sum(big) == 12499997500000)"),
    ("list.range", "assert(len(list.range(0, 20000000)) == 20000000)"),
    ("list.zip", "assert(len(list.zip(l, l)) == 1000000)"),
    ("list.contains?", "assert(not list.contains?(big, -1))"),
    ("list.first and last", "assert(list.last(big) == 0)"),
    ("list.take", "assert(len(list.take(big, 4999999)) == 4999999)"),
    ("list.drop", "assert(len(list.drop(big, 1)) == 4999999)"),
    ("list.enumerate", "assert(len(list.enumerate(l)) == 1000000)"),
    ("map.get with a big key", "assert(map.get(m, s, 0) == 0)"),
    ("map index", "assert(m[\"299999\"] == 299999)"),
    ("map.put", "assert(len(map.put(m, \"new\", 1)) == 300001)"),
    ("map.remove", "assert(len(map.remove(m, \"7\")) == 299999)"),
    ("map.has?", "assert(not map.has?(m, w))"),
    ("map.keys", "assert(len(map.keys(m)) == 300000)"),
    ("map.values", "assert(len(map.values(m)) == 300000)"),
    ("map.to_list", "assert(len(map.to_list(m)) == 300000)"),
    ("map.from_list", "assert(len(map.from_list(list.zip(l, l))) == 1000000)"),
    ("map.merge", "assert(len(map.merge(m, %{\"x\" => 1})) == 300001)"),
    ("a message", "self() ! (l, m, s)\n receive { (a, _, _) => assert(len(a) == 1000000) }"),
    ("a channel", "let c = chan(1)\n c <- l\n assert(len(<-c) == 1000000)"),
];

/// Runs `script` in slices of 2,000 reductions to its end and returns the
/// slowest slice after the script called `mark()` (the script then waits a
/// millisecond, so the slices that count start with the call; the setup's slices
/// are checked too, as `(the data alone)`, but reported apart).
fn slowest_slice(name: &str, script: &str) -> Duration {
    let marked = Arc::new(AtomicBool::new(false));
    let mut vm = Vm::new();
    let flag = marked.clone();
    vm.register("mark", move || flag.store(true, Ordering::Relaxed));
    vm.load("adversary.weft", script).unwrap();
    let pid = vm.spawn("main", vec![]).unwrap();
    let mut slowest = Duration::ZERO;
    let mut slices = 0u32;
    loop {
        let counted = marked.load(Ordering::Relaxed);
        let started = Instant::now();
        let status = vm.run(2_000);
        if counted {
            slowest = slowest.max(started.elapsed());
        }
        slices += 1;
        assert!(slices < 10_000_000, "{name}: did not finish");
        if status != RunStatus::BudgetSpent && !vm.is_alive(pid) {
            break;
        }
    }
    for event in vm.take_events() {
        if let weft_vm::Event::Crash { error, .. } = event {
            panic!("{name}: crashed: :{}: {}", error.kind.name(), error.message);
        }
    }
    slowest
}

#[test]
fn every_native_given_a_big_value_keeps_a_slice_short() {
    let only = std::env::var("ONLY").unwrap_or_default();
    let mut failures = Vec::new();
    for (name, call) in NATIVES {
        if !name.contains(only.as_str()) {
            continue;
        }
        // The data alone is measured from the start; each call from the
        // moment the data is ready (and through the end, when the process
        // exits and its values are freed).
        let script = if *call == "nil" {
            format!("fn main() {{\nmark()\n{DATA}\n}}")
        } else {
            format!("fn main() {{\n{DATA}mark()\nreceive {{ after 1 => nil }}\n{call}\n}}")
        };
        let slowest = slowest_slice(name, &script);
        eprintln!("{name}: slowest slice {slowest:?}");
        if slowest >= SLICE_LIMIT {
            failures.push(format!("{name}: {slowest:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "slices over {SLICE_LIMIT:?}: {failures:?}"
    );
}
