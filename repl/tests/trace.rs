//! `weft run --trace-out FILE`: the file is a Chrome trace-event JSON
//! document (the format Perfetto's JSON importer and chrome://tracing read)
//! describing the run: a named track per process, slices with durations,
//! spawns, sends paired with flows, channel operations and exits.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn trace_of(script: &str, schedulers: &str) -> Value {
    let dir = std::env::temp_dir().join(format!("weft-trace-{}-{schedulers}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("trace.json");
    let status = Command::new(env!("CARGO_BIN_EXE_weft"))
        .current_dir(&dir)
        .args(["run", "--schedulers", schedulers, "--trace-out"])
        .arg(&out)
        .arg(root().join(script))
        .status()
        .expect("run weft");
    assert!(status.success(), "{status}");
    let text = std::fs::read_to_string(&out).expect("the trace file");
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_str(&text).expect("the trace is JSON")
}

fn check(trace: &Value) {
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let mut names = HashMap::new();
    let mut flows_started = HashSet::new();
    let mut flows_ended = HashSet::new();
    let mut kinds = HashSet::new();
    for event in events {
        let phase = event["ph"].as_str().expect("every event has a phase");
        assert_eq!(event["pid"], 1, "{event}");
        match phase {
            "M" => {
                if event["name"] == "thread_name" {
                    names.insert(
                        event["tid"].as_u64().unwrap(),
                        event["args"]["name"].clone(),
                    );
                }
            }
            "X" => {
                assert!(event["ts"].as_f64().unwrap() >= 0.0, "{event}");
                assert!(event["dur"].as_f64().unwrap() >= 0.0, "{event}");
                let tid = event["tid"].as_u64().unwrap();
                assert!(
                    names.contains_key(&tid),
                    "slice of an unnamed track: {event}"
                );
                kinds.insert("slice".to_string());
            }
            "i" => {
                assert_eq!(event["s"], "t", "{event}");
                kinds.insert(event["name"].as_str().unwrap().to_string());
            }
            "s" => {
                flows_started.insert(event["id"].as_u64().unwrap());
            }
            "f" => {
                flows_ended.insert(event["id"].as_u64().unwrap());
            }
            other => panic!("unexpected phase {other}: {event}"),
        }
    }
    assert_eq!(flows_started, flows_ended, "every flow has both ends");
    for kind in [
        "slice",
        "spawn",
        "send",
        "exit",
        "chan send",
        "chan receive",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
    assert!(
        names
            .values()
            .any(|n| n.as_str().unwrap().ends_with(" worker")),
        "a track named after its function: {names:?}"
    );
    assert_eq!(trace["otherData"]["dropped_events"], 0);
}

#[test]
fn the_demo_traces_on_one_scheduler_and_on_two() {
    for schedulers in ["1", "2"] {
        check(&trace_of("examples/stackless_demo.weft", schedulers));
    }
}
