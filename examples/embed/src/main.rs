//! A small "game loop" that embeds the Weft VM.
//!
//! The host steps the VM 60 times a second with a budget of reductions per
//! frame, feeds world events to scripted NPC actors (`vm.send`), reads the
//! commands they send back (`vm.recv`), and exposes game functions to the
//! scripts (`vm.register_fn`). It also shows that an actor stuck in
//! `loop {}` cannot hold up a frame, that a failing or panicking host
//! function kills only the actor that called it, and hot reload.
//!
//! Run it with `cargo run -p weft-embed-example`.

use std::time::{Duration, Instant};

use weft_vm::{Event, Pid, RunStatus, Value, Vm};

/// The NPC scripts, compiled into the binary.
const NPC_SCRIPT: &str = include_str!("../npc.weft");

/// Frames per second, and how long the demo runs (two seconds).
const FPS: u32 = 60;
const FRAMES: u32 = 120;
/// Reductions the VM may spend per frame: every script together.
const BUDGET: u64 = 5_000;
/// The map is `SIZE` x `SIZE` squares.
const SIZE: i64 = 20;

fn main() {
    // Rust prints a panic message through the panic hook even when the
    // panic is caught; make the oracle's panic (below) a one-line note.
    std::panic::set_hook(Box::new(|info| eprintln!("[host] panic hook: {info}")));

    let mut vm = Vm::builder()
        .reductions(1_000) // one process runs at most this long before the next gets a turn
        .max_processes(100) // `spawn` past this fails with :limit
        .max_mailbox(1_000) // a process with a fuller mailbox dies with (:error, :limit, ...)
        .max_heap(256 * 1024) // bytes of call stack per process
        .seed(7)
        .output(|text: &str| print!("[print] {text}")) // Weft's `print`
        .build();

    // Host functions: `game.distance(a, b)`, `game.terrain(pos)`, `game.oracle(q)`.
    vm.register_fn(
        "game.distance",
        2,
        |args: &[Value]| -> Result<Value, String> {
            let (ax, ay) = point(&args[0])?;
            let (bx, by) = point(&args[1])?;
            Ok(Value::from(
                ((ax - bx).pow(2) as f64 + (ay - by).pow(2) as f64).sqrt(),
            ))
        },
    );
    vm.register_fn(
        "game.terrain",
        1,
        |args: &[Value]| -> Result<Value, String> {
            let (x, y) = point(&args[0])?;
            if !(0..SIZE).contains(&x) || !(0..SIZE).contains(&y) {
                return Err(format!("{} is off the map", args[0]));
            }
            Ok(Value::atom(if x % 5 == 0 { "water" } else { "grass" }))
        },
    );
    vm.register_fn(
        "game.oracle",
        1,
        |_args: &[Value]| -> Result<Value, String> {
            panic!("the oracle is out of order");
        },
    );

    if let Err(error) = vm.load("npc.weft", NPC_SCRIPT) {
        // `Display` renders the compile diagnostics with the source line.
        eprintln!("{error}");
        std::process::exit(65);
    }

    let host = Value::from(vm.host_pid());
    let spawn = |vm: &mut Vm, function: &str, args: Vec<Value>| -> Pid {
        vm.spawn(function, args).expect("spawning an NPC")
    };
    let grunt = spawn(
        &mut vm,
        "npc",
        vec![host.clone(), "grunt".into(), pos(2, 2)],
    );
    let brute = spawn(
        &mut vm,
        "npc",
        vec![host.clone(), "brute".into(), pos(15, 3)],
    );
    let wanderer = spawn(
        &mut vm,
        "wanderer",
        vec![host.clone(), "wanderer".into(), pos(10, 10)],
    );
    let seer = spawn(&mut vm, "seer", vec![host.clone(), "seer".into()]);
    let stuck = spawn(&mut vm, "daydream", vec![]);
    let actors = [grunt, brute, wanderer, seer];
    println!(
        "spawned grunt {grunt}, brute {brute}, wanderer {wanderer}, seer {seer}, stuck {stuck}"
    );

    let frame_length = Duration::from_secs(1) / FPS;
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut busy_frames = 0;
    let mut player = (8, 8);

    for frame in 0..FRAMES {
        // 1. Feed this frame's world events in.
        if frame % 15 == 0 {
            player = (player.0 + 1, player.1 - 1);
            println!(
                "frame {frame:3}: [host] the player is at ({}, {})",
                player.0, player.1
            );
            for &pid in &actors {
                vm.send(
                    pid,
                    Value::tuple(vec![Value::atom("player_at"), pos(player.0, player.1)]),
                );
            }
        }
        match frame {
            20 | 80 => vm.send(grunt, hit(30)),
            40 => vm.send(seer, hit(1)),
            60 => {
                // Hot reload: redefine `taunt`; the running NPCs call the new one next.
                vm.load(
                    "patch.weft",
                    r#"fn taunt(hp) { format("{} hp... I yield!", hp) }"#,
                )
                .expect("the patch compiles");
                println!("frame {frame:3}: [host] hot-reloaded `taunt`");
            }
            90 => {
                vm.kill(stuck);
                println!("frame {frame:3}: [host] killed the stuck process {stuck}");
            }
            100 => vm.send(brute, hit(500)),
            _ => {}
        }

        // 2. Step the VM: at most BUDGET reductions, whatever the scripts do.
        let stepped = Instant::now();
        let status = vm.run(BUDGET);
        let took = stepped.elapsed();
        slowest = slowest.max(took);
        if status == RunStatus::BudgetSpent {
            busy_frames += 1;
        }
        if frame == 89 || frame == 91 {
            println!("frame {frame:3}: [host] vm.run({BUDGET}) -> {status:?} in {took:?}");
        }

        // 3. Read the commands the NPCs sent, and any crash reports.
        while let Some(command) = vm.recv() {
            println!("frame {frame:3}: {}", describe(&command));
        }
        for event in vm.take_events() {
            match event {
                Event::Crash { pid, error } => println!(
                    "frame {frame:3}: [host] {pid} crashed with {}; the others go on",
                    error.reason()
                ),
                Event::Exit { pid, reason } => {
                    println!("frame {frame:3}: [host] {pid} exited: {reason}")
                }
                _ => {}
            }
        }

        // 4. Wait for the next frame.
        let next = frame_length * (frame + 1);
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }

    let alive: Vec<String> = vm.processes().iter().map(|p| p.pid.to_string()).collect();
    println!("{FRAMES} frames in {:.2?}", start.elapsed());
    println!("the slowest vm.run({BUDGET}) took {slowest:.2?} (a frame is {frame_length:.2?})");
    println!("{busy_frames} frames spent their whole budget (while the stuck process lived)");
    println!("alive at the end: {}", alive.join(" "));
}

/// `(x, y)` as a Weft tuple.
fn pos(x: i64, y: i64) -> Value {
    Value::tuple(vec![Value::from(x), Value::from(y)])
}

/// `(:hit, damage)`.
fn hit(damage: i64) -> Value {
    Value::tuple(vec![Value::atom("hit"), Value::from(damage)])
}

/// A Weft `(x, y)` tuple of ints, or an error message for the script.
fn point(value: &Value) -> Result<(i64, i64), String> {
    match value.as_tuple() {
        Some([x, y]) => match (x.as_int(), y.as_int()) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err(format!("expected (x, y) ints, got {value}")),
        },
        _ => Err(format!("expected an (x, y) tuple, got {value}")),
    }
}

/// A command from an NPC, in words.
fn describe(command: &Value) -> String {
    let Some(fields) = command.as_tuple() else {
        return format!("unknown command {command}");
    };
    match (fields.first().and_then(Value::as_atom), &fields[1..]) {
        (Some("move"), [name, to, terrain]) => format!("{name} moves to {to} ({terrain})"),
        (Some("attack"), [name, distance]) => format!("{name} attacks the player from {distance}"),
        (Some("say"), [name, text]) => format!("{name} says {}", text.inspect()),
        (Some("dead"), [name]) => format!("{name} is dead"),
        _ => format!("unknown command {command}"),
    }
}
