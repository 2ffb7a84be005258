//! Process and whole-VM images through the embedding API (LANGUAGE.md §13,
//! docs/IMAGES.md): a process saved in one VM runs on in another; a whole
//! VM — processes with their pids, mailboxes, names, links, monitors,
//! channels, sleeps and `send_after` timers — saved and loaded into a new
//! VM goes on as the first would have; corrupt images are errors, never
//! panics; and the `image` fuzz target's seeds come from here.

use std::sync::{Arc, Mutex};

use weft_vm::{ImageError, RunStatus, Value, Vm};

/// A VM whose printed lines are collected.
fn vm_with_output() -> (Vm, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let mut buffer = String::new();
    let vm = Vm::builder()
        .output(move |text: &str| {
            buffer.push_str(text);
            while let Some(end) = buffer.find('\n') {
                sink.lock().unwrap().push(buffer[..end].to_string());
                buffer.drain(..=end);
            }
        })
        .build();
    (vm, lines)
}

/// Runs until nothing is runnable and no timer is due within 2 s.
fn settle(vm: &mut Vm) {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(2) {
        match vm.run(100_000) {
            RunStatus::BudgetSpent => {}
            RunStatus::Waiting { next_timer } => {
                vm.wait_for_work(next_timer.min(std::time::Duration::from_millis(50)))
            }
            _ => return,
        }
    }
}

const GAME: &str = r#"
fn counter(n) {
  receive {
    (:add, x) => counter(n + x),
    (:get, from) => { from ! (:count, n); counter(n) },
    :print => { print("count", n); counter(n) },
  }
}

fn consumer(ch) {
  let v = <-ch
  print("consumer got", v)
  consumer(ch)
}

fn sleeper() {
  sleep(300)
  print("slept")
}

fn watcher(target) {
  let r = monitor(target)
  receive { (:down, ^r, _, reason) => print("watcher saw", reason) }
}

fn linked(target) {
  trap_exits(true)
  link(target)
  receive { (:exit, _, reason) => print("linked saw", reason) }
}

fn setup() {
  let c = spawn counter(1)
  register(:counter, c)
  c ! (:add, 2)
  let ch = chan(4)
  ch <- 10
  ch <- 20
  spawn consumer(ch)
  spawn sleeper()
  spawn watcher(c)
  spawn linked(c)
  send_after(200, c, (:add, 100))
  register(:idle, spawn { receive { :never => nil } })
}
"#;

fn tuple(items: Vec<Value>) -> Value {
    Value::tuple(items)
}

#[test]
fn a_process_saved_in_one_vm_runs_on_in_another() {
    let mut first = Vm::new();
    first.load("game.weft", GAME).unwrap();
    let pid = first.spawn("counter", vec![5.into()]).unwrap();
    first.send(pid, tuple(vec![Value::atom("add"), 7.into()]));
    let _ = first.run(10_000);
    // A message it has not read yet travels too.
    first.send(pid, tuple(vec![Value::atom("add"), 30.into()]));
    let image = first.save_process(pid).unwrap();

    let (mut second, lines) = vm_with_output();
    second.load("game.weft", GAME).unwrap();
    let copy = second.restore_process(&image).unwrap();
    second.send(copy, Value::atom("print"));
    settle(&mut second);
    assert_eq!(*lines.lock().unwrap(), ["count 42"]);

    // Other code: the image names what it needs, and it is not here.
    let mut other = Vm::new();
    other.load("game.weft", "fn counter(n) { n }").unwrap();
    assert!(matches!(
        other.restore_process(&image),
        Err(ImageError::CodeChanged)
    ));
    assert!(matches!(
        other.restore_process(b"nonsense"),
        Err(ImageError::Bad(_))
    ));
}

#[test]
fn a_whole_vm_loads_and_goes_on() {
    let (mut first, first_lines) = vm_with_output();
    first.load("game.weft", GAME).unwrap();
    first.spawn("setup", vec![]).unwrap();
    settle_briefly(&mut first);
    let before = first_lines.lock().unwrap().clone();
    assert_eq!(before, ["consumer got 10", "consumer got 20"]);
    let processes = first.processes().len();
    let mut image = Vec::new();
    first.save_image(&mut image).unwrap();
    first.stop_all();

    let (mut second, lines) = vm_with_output();
    second.load("game.weft", GAME).unwrap();
    second.load_image(&image[..]).unwrap();
    assert_eq!(second.processes().len(), processes);
    // The sleeper and the send_after timer keep their time left.
    settle(&mut second);
    let counter = second.whereis("counter").expect("the name came along");
    second.send(counter, Value::atom("print"));
    settle(&mut second);
    second.kill(counter);
    settle(&mut second);
    let mut got = lines.lock().unwrap().clone();
    got.sort();
    assert_eq!(
        got,
        [
            "count 103",
            "linked saw :killed",
            "slept",
            "watcher saw :killed",
        ]
    );
    // Loading needs a VM with no process.
    let mut image_again = Vec::new();
    second.save_image(&mut image_again).unwrap();
    assert!(matches!(
        second.load_image(&image_again[..]),
        Err(ImageError::Bad(_))
    ));
}

/// Runs what is runnable now, without waiting for timers.
fn settle_briefly(vm: &mut Vm) {
    for _ in 0..100 {
        if !matches!(vm.run(100_000), RunStatus::BudgetSpent) {
            return;
        }
    }
}

/// The `image` fuzz target's script, and images of its processes.
const SCRIPT: &str = include_str!("../../fuzz/image_script.weft");

fn seed_images() -> Vec<(String, Vec<u8>)> {
    let mut vm = Vm::new();
    vm.load("image_script.weft", SCRIPT).unwrap();
    let mut images = Vec::new();
    let counter = vm.spawn("counter", vec![3.into()]).unwrap();
    vm.send(counter, tuple(vec![Value::atom("add"), 4.into()]));
    let waiter = vm
        .spawn("waiter", vec![Value::list(vec![1.into(), "s".into()])])
        .unwrap();
    let looper = vm
        .spawn("looper", vec![Value::list(vec![]), 3.into()])
        .unwrap();
    let guarded = vm.spawn("guarded", vec![0.into()]).unwrap();
    let _ = vm.run(20_000);
    vm.send(
        guarded,
        tuple(vec![Value::atom("other"), Value::bytes(vec![0u8, 1, 255])]),
    );
    for (name, pid) in [
        ("counter", counter),
        ("waiter", waiter),
        ("looper", looper),
        ("guarded", guarded),
    ] {
        images.push((format!("process-{name}"), vm.save_process(pid).unwrap()));
    }
    let mut whole = Vec::new();
    vm.save_image(&mut whole).unwrap();
    images.push(("vm".to_string(), whole));
    vm.stop_all();
    images
}

#[test]
fn seed_images_restore_and_write_the_fuzz_corpus() {
    let images = seed_images();
    for (name, image) in &images {
        let mut vm = Vm::new();
        vm.load("image_script.weft", SCRIPT).unwrap();
        if name == "vm" {
            vm.load_image(&image[..]).unwrap();
            assert_eq!(vm.processes().len(), 4);
        } else {
            vm.restore_process(image).unwrap();
        }
        let _ = vm.run(50_000);
        vm.stop_all();
    }
    // `WEFT_WRITE_IMAGE_SEEDS=fuzz/corpus/image cargo test ...` writes them.
    if let Ok(dir) = std::env::var("WEFT_WRITE_IMAGE_SEEDS") {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, image) in &images {
            std::fs::write(std::path::Path::new(&dir).join(name), image).unwrap();
        }
    }
}

#[test]
fn corrupt_images_are_errors_never_panics() {
    for (name, image) in seed_images() {
        let mut vm = Vm::builder().max_processes(64).build();
        vm.load("image_script.weft", SCRIPT).unwrap();
        // Every truncation is refused (every one in the header and the
        // first frames, then a sample: each costs a read of what is left).
        let sample = (image.len() / 300).max(1);
        let cuts = (0..image.len()).filter(|n| *n < 400 || n % sample == 0);
        for n in cuts {
            if name == "vm" {
                assert!(vm.load_image(&image[..n]).is_err(), "{name} cut at {n}");
            } else {
                assert!(
                    vm.restore_process(&image[..n]).is_err(),
                    "{name} cut at {n}"
                );
            }
        }
        // Changed bytes: an error, or a process that runs under a budget.
        let step = (image.len() / 60).max(1);
        for n in (0..image.len()).step_by(step) {
            for flip in [0x01u8, 0xff] {
                let mut changed = image.clone();
                changed[n] ^= flip;
                let mut vm = Vm::builder().max_processes(64).build();
                vm.load("image_script.weft", SCRIPT).unwrap();
                let loaded = if name == "vm" {
                    vm.load_image(&changed[..]).is_ok()
                } else {
                    vm.restore_process(&changed).is_ok()
                };
                if loaded {
                    for _ in 0..5 {
                        let _ = vm.run(5_000);
                    }
                }
                vm.stop_all();
            }
        }
    }
}
