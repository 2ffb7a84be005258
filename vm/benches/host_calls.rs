//! The cost of a host call: a raw `register_fn` closure against a typed
//! `register` closure doing the same work (two ints in, one out), and the
//! same loop with no call, to subtract. `cargo bench -p weft-vm --bench
//! host_calls`; docs/BENCHMARKS.md ("Host calls") has the figures, and
//! bench/host_calls.sh counts instructions (steadier than time here). The
//! target: a typed call at most 1.2× a raw one.

use criterion::{criterion_group, criterion_main, Criterion};
use weft_vm::{Value, Vm};

const SOURCE: &str = r#"
fn empty(n) { let acc = 0; for i in 0..n { acc = acc + i }; acc }
fn raw(n) { let acc = 0; for i in 0..n { acc = h.raw(acc, i) }; acc }
fn typed(n) { let acc = 0; for i in 0..n { acc = h.typed(acc, i) }; acc }
"#;

fn vm() -> Vm {
    let mut vm = Vm::new();
    vm.register_fn("h.raw", 2, |args: &[Value]| {
        match (args[0].as_int(), args[1].as_int()) {
            (Some(a), Some(b)) => Ok(Value::from(a.wrapping_add(b))),
            _ => Err("h.raw takes two ints".to_string()),
        }
    });
    vm.register("h.typed", |a: i64, b: i64| a.wrapping_add(b));
    vm.load("host_calls.weft", SOURCE)
        .expect("the benchmark source compiles");
    vm
}

fn bench(c: &mut Criterion) {
    let mut vm = vm();
    let n = Value::from(10_000);
    for name in ["empty", "raw", "typed"] {
        c.bench_function(&format!("host calls: 10,000 iterations, {name}"), |b| {
            b.iter(|| vm.call(name, vec![n.clone()]).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
