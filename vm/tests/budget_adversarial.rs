//! `run(budget)` returns within its budget whatever a script does: walks
//! over huge or shared values charge reductions per node visited and yield
//! mid-walk, so a host loop stepping the VM keeps its frame rate.
//!
//! Each scenario steps a VM in slices of 2,000 reductions and checks every
//! slice's wall time. The bound is loose on purpose (slow CI machines); what
//! it catches is an instruction whose cost is not charged — a 2^60-node walk
//! never returns at all, and a million-node walk in one slice takes far
//! longer than a thousand slices' worth of reductions should.

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
