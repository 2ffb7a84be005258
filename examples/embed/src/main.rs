//! A small "game loop" that embeds the Weft VM.
//!
//! The host steps the VM 60 times a second with a budget of reductions per
//! frame, feeds world events to scripted NPC actors (`vm.send`), reads the
//! commands they send back (`vm.recv`), and offers game functions to the
//! scripts:
//!
//! - typed host functions (`vm.register`): `game.distance`, `game.terrain`
//!   (a `Result`: off the map is an error in the caller only) and
//!   `game.oracle` (it panics; only its caller dies);
//! - a host function with a context (`vm.register_with_context`):
//!   `game.rally(name)` tells the other fighters by message;
//! - asynchronous host calls (`vm.register_async`): `assets.load(file)` is
//!   answered by a loader thread through a `Completer` when the "file" is
//!   read, and `game.path(from, to)` by the host's path-finder at the start
//!   of the next frame. The NPC that asked waits; the rest of the world,
//!   and the frame, go on.
//!
//! It also shows that an actor stuck in `loop {}` cannot hold up a frame,
//! hot reload, and saving the game: at frame 70 the S key saves the whole
//! VM (`vm.save_image`), and at frame 85 the L key loads it into a new VM
//! (`vm.load_image`), which plays on from frame 70's state. Run it with `cargo run -p weft-embed-example`.

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use weft_vm::{Event, HostContext, Pid, RunStatus, Ticket, Value, Vm};

/// The NPC scripts, compiled into the binary.
const NPC_SCRIPT: &str = include_str!("../npc.weft");

/// Frames per second, and how long the demo runs (two seconds).
const FPS: u32 = 60;
const FRAMES: u32 = 120;
/// Reductions the VM may spend per frame: every script together.
const BUDGET: u64 = 5_000;
/// The map is `SIZE` x `SIZE` squares.
const SIZE: i64 = 20;
/// How long the loader thread takes to "read" an asset.
const LOAD_TIME: Duration = Duration::from_millis(40);

fn main() {
    // Rust prints a panic message through the panic hook even when the
    // panic is caught; make the oracle's panic (below) a one-line note.
    std::panic::set_hook(Box::new(|info| eprintln!("[host] panic hook: {info}")));
    play(FRAMES, true);
}

/// Plays `frames` frames; returns the log (printing it as it goes when
/// `live`, and keeping real time between frames).
fn play(frames: u32, live: bool) -> Vec<String> {
    let mut log = Log {
        lines: Vec::new(),
        live,
    };
    let fighters: Arc<Mutex<Vec<Pid>>> = Arc::default();
    let (mut vm, mut to_loader, mut loader) = build_vm(&fighters, &[]);
    // The save file the S key writes and the L key reads.
    let mut save_file: Option<Vec<u8>> = None;
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
    log.say(format!(
        "spawned grunt {grunt}, brute {brute}, wanderer {wanderer}, seer {seer}, stuck {stuck}"
    ));
    fighters
        .lock()
        .expect("the fighters' table")
        .extend([grunt, brute]);

    let frame_length = Duration::from_secs(1) / FPS;
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut busy_frames = 0;
    let mut player = (8, 8);
    // Path queries asked during a frame, answered at the next one.
    let mut path_queries: Vec<PathQuery> = Vec::new();

    for frame in 0..frames {
        // 1. Answer last frame's path queries, then feed this frame's
        //    world events in.
        for (ticket, from, to) in path_queries.drain(..) {
            let path = find_path(from, to);
            let _ = vm.complete(ticket, Ok(path));
        }
        if frame % 15 == 0 {
            player = (player.0 + 1, player.1 - 1);
            log.say(format!(
                "frame {frame:3}: [host] the player is at ({}, {})",
                player.0, player.1
            ));
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
                vm.load("patch.weft", PATCH).expect("the patch compiles");
                log.say(format!("frame {frame:3}: [host] hot-reloaded `taunt`"));
            }
            90 => {
                vm.kill(stuck);
                log.say(format!(
                    "frame {frame:3}: [host] killed the stuck process {stuck}"
                ));
            }
            100 => vm.send(brute, hit(500)),
            // The S key: save the game — the whole VM — to the save file.
            // A frame where an NPC waits for a host call cannot be saved
            // (the call's answer has nowhere to go): press again.
            70..=79 if save_file.is_none() => {
                let mut file = Vec::new();
                match vm.save_image(&mut file) {
                    Ok(()) => {
                        log.say(format!(
                            "frame {frame:3}: [host] S: saved the game ({} bytes)",
                            file.len()
                        ));
                        save_file = Some(file);
                    }
                    Err(error) => log.say(format!("frame {frame:3}: [host] S: not now: {error}")),
                }
            }
            // The L key: load the save into a new VM and play on in it.
            85 => {
                if let Some(file) = &save_file {
                    drop(to_loader);
                    loader.join().expect("the loader thread ends");
                    vm.stop_all();
                    let (mut loaded, sender, thread) = build_vm(&fighters, &[PATCH]);
                    loaded.load_image(&file[..]).expect("the save loads");
                    log.say(format!(
                        "frame {frame:3}: [host] L: loaded the save into a new VM ({} processes)",
                        loaded.processes().len()
                    ));
                    (vm, to_loader, loader) = (loaded, sender, thread);
                }
            }
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
            log.say(format!(
                "frame {frame:3}: [host] vm.run({BUDGET}) -> {status:?} in {took:?}"
            ));
        }

        // 3. Read the commands the NPCs sent, their host calls, and any
        //    crash reports.
        while let Some(command) = vm.recv() {
            log.say(format!("frame {frame:3}: {}", describe(&command)));
        }
        for event in vm.take_events() {
            match event {
                Event::HostCall {
                    ticket,
                    name,
                    args,
                    caller,
                } => match name.as_str() {
                    "assets.load" => {
                        let file = args[0].as_str().unwrap_or("?").to_string();
                        log.say(format!("frame {frame:3}: [host] {caller} loads {file}"));
                        let _ = to_loader.send((ticket, file));
                    }
                    "game.path" => match (point(&args[0]), point(&args[1])) {
                        (Some(from), Some(to)) => path_queries.push((ticket, from, to)),
                        _ => {
                            let _ = vm.complete(ticket, Err("game.path takes two (x, y)".into()));
                        }
                    },
                    _ => {}
                },
                Event::Crash { pid, error } => log.say(format!(
                    "frame {frame:3}: [host] {pid} crashed with {}; the others go on",
                    error.reason()
                )),
                Event::Exit { pid, reason } => {
                    log.say(format!("frame {frame:3}: [host] {pid} exited: {reason}"))
                }
                _ => {}
            }
        }

        // 4. Wait for the next frame.
        if live {
            let next = frame_length * (frame + 1);
            if let Some(wait) = next.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        } else {
            // Without real time, give the loader thread a moment.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    drop(to_loader);
    loader.join().expect("the loader thread ends");

    let alive: Vec<String> = vm.processes().iter().map(|p| p.pid.to_string()).collect();
    log.say(format!("{frames} frames in {:.2?}", start.elapsed()));
    log.say(format!(
        "the slowest vm.run({BUDGET}) took {slowest:.2?} (a frame is {frame_length:.2?})"
    ));
    log.say(format!(
        "{busy_frames} frames spent their whole budget (while the stuck process lived)"
    ));
    log.say(format!("alive at the end: {}", alive.join(" ")));
    log.lines
}

/// The hot-reload patch the host loads at frame 60.
const PATCH: &str = r#"fn taunt(hp) { format("{} hp... I yield!", hp) }"#;

/// A VM with the game's host functions, the NPC script and `patches`
/// loaded, and its asset loader thread (and the sender that feeds it).
fn build_vm(
    fighters: &Arc<Mutex<Vec<Pid>>>,
    patches: &[&str],
) -> (
    Vm,
    mpsc::Sender<(Ticket, String)>,
    std::thread::JoinHandle<()>,
) {
    let mut vm = Vm::builder()
        .reductions(1_000) // one process runs at most this long before the next gets a turn
        .max_processes(100) // `spawn` past this fails with :limit
        .max_mailbox(1_000) // a process with a fuller mailbox dies with (:error, :limit, ...)
        .max_heap(256 * 1024) // bytes of data and call stack per process
        .seed(7)
        .output(|text: &str| print!("[print] {text}")) // Weft's `print`
        .build();

    // Typed host functions: arguments read with FromValue, the result made
    // with IntoValue, the arity taken from the closure.
    vm.register("game.distance", |a: (i64, i64), b: (i64, i64)| {
        (((a.0 - b.0).pow(2) + (a.1 - b.1).pow(2)) as f64).sqrt()
    });
    vm.register(
        "game.terrain",
        |(x, y): (i64, i64)| -> Result<Value, String> {
            if !(0..SIZE).contains(&x) || !(0..SIZE).contains(&y) {
                return Err(format!("({x}, {y}) is off the map"));
            }
            Ok(Value::atom(if x % 5 == 0 { "water" } else { "grass" }))
        },
    );
    vm.register("game.oracle", |_question: String| -> String {
        panic!("the oracle is out of order");
    });
    // A context: tell the other fighters (the host's own table of them)
    // who was hit, by message.
    let table = fighters.clone();
    vm.register_with_context(
        "game.rally",
        move |ctx: &mut HostContext, args: &[Value]| {
            let caller = ctx.caller();
            let others: Vec<Pid> = table.lock().map_err(|e| e.to_string())?.clone();
            for pid in others.into_iter().filter(|pid| *pid != caller) {
                ctx.send(
                    pid,
                    Value::tuple(vec![Value::atom("rally"), args[0].clone()]),
                );
            }
            Ok(Value::nil())
        },
    );
    // Asynchronous: the caller waits; the host answers later.
    vm.register_async("assets.load", 1);
    vm.register_async("game.path", 2);

    if let Err(error) = vm.load("npc.weft", NPC_SCRIPT) {
        // `Display` renders the compile diagnostics with the source line.
        eprintln!("{error}");
        std::process::exit(65);
    }
    for patch in patches {
        vm.load("patch.weft", patch).expect("the patch compiles");
    }

    // The loader thread: reads assets and answers `assets.load` calls
    // itself, through its own Completer.
    let (to_loader, loads) = mpsc::channel::<(Ticket, String)>();
    let mut completer = vm.completer();
    let loader = std::thread::spawn(move || {
        for (ticket, file) in loads {
            std::thread::sleep(LOAD_TIME);
            let sprite = Value::tuple(vec![Value::atom("sprite"), Value::from(file)]);
            // False only if the NPC died while it waited.
            let _ = completer.complete(ticket, Ok(sprite));
        }
    });
    (vm, to_loader, loader)
}

/// The game's log: kept, and printed as it goes when the game runs live.
struct Log {
    lines: Vec<String>,
    live: bool,
}

impl Log {
    fn say(&mut self, line: String) {
        if self.live {
            println!("{line}");
        }
        self.lines.push(line);
    }
}

/// A `game.path(from, to)` call waiting for the path-finder.
type PathQuery = (Ticket, (i64, i64), (i64, i64));

/// The path-finder: straight steps toward `to`, diagonal first.
fn find_path(from: (i64, i64), to: (i64, i64)) -> Value {
    let mut steps = Vec::new();
    let (mut x, mut y) = from;
    while (x, y) != to && steps.len() < 3 {
        x += (to.0 - x).signum();
        y += (to.1 - y).signum();
        steps.push(pos(x, y));
    }
    Value::list(steps)
}

/// `(x, y)` as a Weft tuple.
fn pos(x: i64, y: i64) -> Value {
    Value::tuple(vec![Value::from(x), Value::from(y)])
}

/// A Weft `(x, y)` tuple of ints.
fn point(value: &Value) -> Option<(i64, i64)> {
    weft_vm::FromValue::from_value(value).ok()
}

/// `(:hit, damage)`.
fn hit(damage: i64) -> Value {
    Value::tuple(vec![Value::atom("hit"), Value::from(damage)])
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_game_runs_its_scripts_and_host_calls() {
        std::panic::set_hook(Box::new(|_| {}));
        let log = super::play(super::FRAMES, false).join("\n");
        // Sprites come from the loader thread; paths from the next frame.
        assert!(log.contains("loads grunt.png"), "{log}");
        assert!(log.contains("grunt says \"ready\""), "{log}");
        assert!(log.contains("grunt moves to (3, 3) (:grass)"), "{log}");
        // The context function reached the other fighter.
        assert!(log.contains("brute says \"coming, grunt!\""), "{log}");
        // Failures stay with their process.
        assert!(log.contains("is off the map"), "{log}");
        assert!(log.contains("host function panicked"), "{log}");
        assert!(log.contains("hp... I yield!"), "hot reload: {log}");
        assert!(log.contains("brute is dead"), "{log}");
        // Saved, loaded into a new VM, played on.
        assert!(log.contains("S: saved the game"), "{log}");
        assert!(log.contains("L: loaded the save into a new VM"), "{log}");
    }
}
