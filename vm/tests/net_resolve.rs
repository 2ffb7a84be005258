//! `net.connect` by host name resolves on a resolver thread: a resolver
//! that takes seconds (a silent DNS server) stalls only the connecting
//! process. A heartbeat process (`receive after 5` in a loop) keeps beating
//! on one scheduler while another process waits for a name that takes two
//! seconds to resolve; it went silent for the whole lookup when names were
//! resolved on the scheduler's thread.

#![cfg(feature = "net")]

use std::time::Duration;

use weft_vm::{RunStatus, Value, Vm};

/// A name that takes two seconds and resolves to nothing.
fn slow_resolver(host: &str, _port: u16) -> Option<std::net::SocketAddr> {
    if host == "slow.test" {
        std::thread::sleep(Duration::from_secs(2));
    }
    None
}

const SCRIPT: &str = r#"
fn beat(host, last, worst) {
  receive {
    :stop => host ! (:worst, worst),
    after 5 => {
      let t = now()
      beat(host, t, math.max(worst, t - last))
    },
  }
}
fn heartbeat(host) { beat(host, now(), 0.0) }
fn dial(host) { host ! (:dialed, net.connect("slow.test", 80)) }
"#;

#[test]
fn a_slow_name_lookup_stalls_only_the_caller() {
    weft_vm::testing::set_resolver(slow_resolver);
    let mut vm = Vm::builder().allow_net(true).build();
    vm.load("dial.weft", SCRIPT).unwrap();
    let host = Value::from(vm.host_pid());
    let heart = vm.spawn("heartbeat", vec![host.clone()]).unwrap();
    vm.spawn("dial", vec![host]).unwrap();
    let mut dialed = None;
    let mut worst = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while worst.is_none() {
        assert!(std::time::Instant::now() < deadline, "gave up");
        let status = vm.run(2_000);
        while let Some(message) = vm.recv() {
            match message.as_tuple() {
                Some([tag, value]) if *tag == Value::atom("dialed") => {
                    dialed = Some(value.clone());
                    vm.send(heart, Value::atom("stop"));
                }
                Some([tag, value]) if *tag == Value::atom("worst") => {
                    worst = value.as_float();
                }
                _ => panic!("unexpected {message}"),
            }
        }
        match status {
            RunStatus::Waiting { next_timer } => vm.wait_for_work(next_timer),
            RunStatus::Idle => vm.wait_for_work(Duration::from_millis(100)),
            _ => {}
        }
    }
    let dialed = dialed.unwrap();
    assert_eq!(dialed.to_string(), "(:error, :nxdomain)");
    let worst = worst.unwrap();
    assert!(worst < 100.0, "the heartbeat went silent for {worst} ms");
}
