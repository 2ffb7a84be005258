//! A host written against Weft's typed embedding API only: typed host
//! functions (one returning a `Result`), a host function with a context
//! that replies to its caller by message, an asynchronous call answered a
//! frame later, and a Rust struct sent in and read back with serde.
//!
//! `cargo run -p weft-host-example` prints what happens; its test checks it.

use serde::{Deserialize, Serialize};
use weft_vm::{from_value, to_value, Event, HostContext, RunStatus, Ticket, Value, Vm};

/// A quest, as the host stores it and the script updates it.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Quest {
    name: String,
    /// The reward: an item and how many.
    reward: (String, u32),
    steps: Vec<String>,
    done: bool,
}

const SCRIPT: &str = r#"
# The guide walks a quest: asks the host for distances and items, waits
# for a path (an asynchronous call), and hands the quest back finished.
fn guide(host, quest) {
  let far = world.distance((0.0, 0.0), (3.0, 4.0))
  let item = world.item(quest["reward"][0])
  let missing = try world.item("dragon")
  world.whisper("psst")
  let secret = receive { (:whisper, text) => text }
  let path = world.path("town", "cave")
  let steps = list.push(quest["steps"], format("walk {} via {}", far, string.join(path, ">")))
  host ! (:log, format("item {}, missing {}, secret {}", item, missing, secret))
  host ! (:done, map.put(map.put(quest, "steps", steps), "done", true))
}
"#;

/// Runs the example; returns its transcript.
fn run() -> Vec<String> {
    let mut log = Vec::new();
    let mut vm = Vm::new();

    // Typed host functions: arguments read with FromValue, results made
    // with IntoValue; the arity is the closure's.
    vm.register("world.distance", |a: (f64, f64), b: (f64, f64)| {
        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
    });
    // A `Result`: an `Err` is the runtime error :host in the caller.
    vm.register("world.item", |name: String| -> Result<String, String> {
        match name.as_str() {
            "lamp" => Ok("a brass lamp".to_string()),
            other => Err(format!("no item called {other}")),
        }
    });
    // A context: reply to the caller by message.
    vm.register_with_context("world.whisper", |ctx: &mut HostContext, args: &[Value]| {
        let caller = ctx.caller();
        ctx.send(
            caller,
            Value::tuple(vec![Value::atom("whisper"), args[0].clone()]),
        );
        Ok(Value::nil())
    });
    // An asynchronous call: the caller waits, the host answers later.
    vm.register_async("world.path", 2);

    vm.load("guide.weft", SCRIPT).expect("the script compiles");
    let quest = Quest {
        name: "The cave".into(),
        reward: ("lamp".into(), 1),
        steps: vec!["talk to the guide".into()],
        done: false,
    };
    let quest_value = to_value(&quest).expect("a quest is data");
    log.push(format!("sent {quest_value}"));
    vm.spawn("guide", vec![vm.host_pid().into(), quest_value])
        .expect("guide is loaded");

    let mut pending: Vec<Ticket> = Vec::new();
    for frame in 0..10 {
        // Answer last frame's path queries (a path-finder would run
        // between frames).
        for ticket in pending.drain(..) {
            let path = Value::list(vec!["town".into(), "bridge".into(), "cave".into()]);
            let answered = vm.complete(ticket, Ok(path));
            log.push(format!("frame {frame}: answered {ticket}: {answered}"));
        }
        let status = vm.run(10_000);
        for event in vm.take_events() {
            if let Event::HostCall {
                ticket,
                name,
                args,
                caller,
            } = event
            {
                log.push(format!(
                    "frame {frame}: {caller} asks {name}({}, {})",
                    args[0].inspect(),
                    args[1].inspect()
                ));
                pending.push(ticket);
            }
        }
        while let Some(message) = vm.recv() {
            match message.as_tuple() {
                Some([tag, quest]) if tag.as_atom() == Some("done") => {
                    let finished: Quest = from_value(quest.clone()).expect("a quest comes back");
                    log.push(format!("frame {frame}: finished {finished:?}"));
                }
                _ => log.push(format!("frame {frame}: {message}")),
            }
        }
        if status == RunStatus::Idle && pending.is_empty() {
            break;
        }
    }
    log
}

fn main() {
    for line in run() {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_runs_as_described() {
        let log = super::run();
        let text = log.join("\n");
        assert!(
            text.contains(r#"sent %{"name" => "The cave", "reward" => ("lamp", 1)"#),
            "{text}"
        );
        assert!(
            text.contains("asks world.path(\"town\", \"cave\")"),
            "{text}"
        );
        assert!(text.contains("answered #1: true"), "{text}");
        assert!(
            text.contains(
                r#"item a brass lamp, missing (:error, :host, \"no item called dragon\"), secret psst"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"finished Quest { name: "The cave", reward: ("lamp", 1), steps: ["talk to the guide", "walk 5.0 via town>bridge>cave"], done: true }"#
            ),
            "{text}"
        );
    }
}
