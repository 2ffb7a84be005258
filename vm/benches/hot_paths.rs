//! Micro-benchmarks of the VM's hot paths: instruction dispatch, a message
//! send + receive, spawning a process that exits, and a channel rendezvous.
//! `cargo bench -p weft-vm`; compare runs with criterion's saved baselines.
//! Whole-program comparisons with other runtimes are in `bench/`.

use criterion::{criterion_group, criterion_main, Criterion};
use weft_vm::{Value, Vm};

const SOURCE: &str = r#"
fn count(n) { let i = 0
  while i < n { i = i + 1 }
  i }

fn pong() { receive { (:ping, from) => { from ! :pong; pong() } } }
fn pings(p, n) {
  for _ in 0..n { p ! (:ping, self()); receive { :pong => nil } }
  n
}
fn ping_pong(n) { pings(spawn pong(), n) }

fn spawn_exit(n) {
  let me = self()
  for _ in 0..n { spawn { me ! :done } }
  for _ in 0..n { receive { :done => nil } }
  n
}

fn rendezvous(n) {
  let ch = chan()
  spawn { for i in 0..n { ch <- i } }
  let total = 0
  for _ in 0..n { total = total + <-ch }
  total
}
"#;

fn vm() -> Vm {
    let mut vm = Vm::new();
    vm.load("hot_paths.weft", SOURCE)
        .expect("the benchmark source compiles");
    vm
}

fn bench(c: &mut Criterion) {
    let mut vm = vm();
    c.bench_function("dispatch: 10,000 loop iterations", |b| {
        b.iter(|| vm.call("count", vec![Value::from(10_000)]).unwrap())
    });
    c.bench_function("send + receive: 1,000 round trips", |b| {
        b.iter(|| vm.call("ping_pong", vec![Value::from(1_000)]).unwrap())
    });
    c.bench_function("spawn + exit: 1,000 processes", |b| {
        b.iter(|| vm.call("spawn_exit", vec![Value::from(1_000)]).unwrap())
    });
    c.bench_function("channel rendezvous: 1,000 values", |b| {
        b.iter(|| vm.call("rendezvous", vec![Value::from(1_000)]).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
