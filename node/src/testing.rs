//! Support for tests that need EPMD (this crate's and the `weft` command's):
//! a private EPMD on 127.0.0.1 and a free port, stopped by its pid.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private EPMD: `epmd -port P` bound to loopback, killed on drop.
pub struct Epmd {
    child: Child,
    pub port: u16,
}

impl Epmd {
    /// Starts one and waits (up to 10 s) until it accepts connections.
    pub fn start() -> Epmd {
        let port = free_port();
        let child = Command::new("epmd")
            .arg("-port")
            .arg(port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("epmd is not installed (apt-get install erlang-base)");
        let epmd = Epmd { child, port };
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        wait_until(Duration::from_secs(10), || {
            TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok()
        });
        epmd
    }

    /// Whether `name` (without the host) is registered with this EPMD.
    pub fn has(&self, name: &str) -> bool {
        Command::new("epmd")
            .args(["-port", &self.port.to_string(), "-names"])
            .output()
            .is_ok_and(|out| {
                String::from_utf8_lossy(&out.stdout).contains(&format!("name {name} at"))
            })
    }
}

impl Drop for Epmd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind a loopback port")
}

/// Polls `ready` (every 10 ms) until it holds; panics after `limit`.
pub fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "gave up waiting after {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
