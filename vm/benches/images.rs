//! Whole-VM images at scale (issue 28's goal: under 200 bytes per idle
//! process, save and load each under 0.5 s): a host VM holds 100,000
//! processes, each blocked in `receive` with a small state (an int, an
//! atom and a short list); it is saved with `Vm::save_image` and loaded
//! into a new `Vm` with `Vm::load_image`. Prints the median of 5 rounds.
//! Run: `cargo bench -p weft-vm --bench images` (docs/BENCHMARKS.md).

use std::time::{Duration, Instant};

use weft_vm::{RunStatus, Vm};

const PROCESSES: usize = 100_000;

const CODE: &str = r#"
fn idle(n, tag, recent) {
  receive {
    (:add, x) => idle(n + x, tag, list.push(recent, x)),
    :stop => n,
  }
}

fn start(count) {
  for i in list.range(0, count) {
    spawn idle(i, :player, [i, i + 1])
  }
}
"#;

fn vm() -> Vm {
    let mut vm = Vm::builder().max_processes(PROCESSES + 16).build();
    vm.load("idle.weft", CODE).unwrap();
    vm
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let mut saves = Vec::new();
    let mut loads = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let mut first = vm();
        first
            .spawn("start", vec![(PROCESSES as i64).into()])
            .unwrap();
        while matches!(first.run(1_000_000), RunStatus::BudgetSpent) {}
        assert_eq!(first.processes().len(), PROCESSES);
        let started = Instant::now();
        let mut image = Vec::new();
        first.save_image(&mut image).unwrap();
        saves.push(started.elapsed());
        size = image.len();
        drop(first);
        let mut second = vm();
        let started = Instant::now();
        second.load_image(&image[..]).unwrap();
        loads.push(started.elapsed());
        assert_eq!(second.processes().len(), PROCESSES);
    }
    println!("processes: {PROCESSES}");
    println!(
        "image: {size} bytes, {:.1} bytes per process",
        size as f64 / PROCESSES as f64
    );
    println!("save: {:.3} s (median of 5)", median(saves).as_secs_f64());
    println!("load: {:.3} s (median of 5)", median(loads).as_secs_f64());
}
