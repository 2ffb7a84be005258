//! A Weft VM as a node of an Erlang/OTP cluster (LANGUAGE.md §12,
//! docs/DISTRIBUTION.md): it registers with EPMD, accepts and makes
//! connections with Erlang's distribution handshake, and carries messages,
//! links, monitors and exit signals between its processes and those of
//! `erl`, `iex` and other Weft nodes.
//!
//! The VM does no I/O (ARCHITECTURE.md); this crate is its network. It
//! implements `weft_vm::Distribution` (what leaves the node) and delivers
//! what arrives through `weft_vm::NodeHandle`.
//!
//! Invariants:
//! - Nothing here blocks a scheduler thread. A `Distribution` call encodes
//!   its frame on the caller's thread and either writes it with a
//!   non-blocking `send` (the connection's writer being idle) or queues it
//!   for the writer thread; connecting, handshakes, reading and blocking
//!   writes run on threads of their own (two per connection, one for the
//!   listener).
//! - Signals between one pair of processes keep their order: a process's
//!   frames enter its connection's queue in the order it made them, and
//!   one reader thread per connection delivers what arrives in order.
//! - The link and monitor tables are changed only under `tables`, and no
//!   call into the VM is made while it is held (a call into the VM may end
//!   a process, whose end calls back into `Distribution`).
//! - Bad input from the network — a truncated or oversized frame, a term
//!   that does not decode, a wrong cookie — closes that connection with a
//!   log line; the node and the VM go on.

pub mod blocking;
mod conn;
mod erpc;
pub mod etf;
mod images;
mod pg;
mod reply_first;
#[doc(hidden)]
pub mod testing;

/// The limits on what a peer may send: the longest frame, and how many new
/// atoms one connection may bring into the (never freed) atom table.
pub use conn::{MAX_FRAME, MAX_NEW_ATOMS};

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use erl_dist::epmd::{EpmdClient, NodeEntry, DEFAULT_EPMD_PORT};
use erl_dist::node::{Creation, LocalNode, NodeName};
use erl_dist::DistributionFlags;
use rustc_hash::FxHashMap;
use weft_vm::{Atom, Distribution, NodeHandle, Pid, RemotePid, Value, Vm, VmBuilder, Waiter};

use crate::blocking::Blocking;
use crate::conn::{Conn, ConnState};

/// How long connecting to EPMD or a node, and each handshake step, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a node's log lines go.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// How a node starts.
pub struct NodeOptions {
    /// `name@host`, or just `name` (the host is then this machine's).
    pub name: String,
    /// `--name` (a fully qualified host) rather than `--sname`.
    pub long_names: bool,
    /// The cookie; `None` reads `~/.erlang.cookie` (creating it, as `erl`
    /// does, if there is none).
    pub cookie: Option<String>,
    /// Where to listen; `None` is the loopback address for a node on
    /// `localhost` (or a loopback address) and every interface otherwise.
    pub listen: Option<IpAddr>,
    /// Where log lines go (a connection closed, bad input); standard error
    /// if `None`.
    pub log: Option<LogSink>,
    /// EPMD's port, here and on other hosts; `None` is `ERL_EPMD_PORT`, as
    /// `erl` reads it, or 4369.
    pub epmd_port: Option<u16>,
    /// The tick interval: a quiet connection sends a tick this often, and
    /// one silent for four of them is closed. 15 s (Erlang's default
    /// `net_ticktime` of 60 s, divided by four) if `None`.
    pub tick: Option<Duration>,
}

impl NodeOptions {
    pub fn new(name: &str) -> NodeOptions {
        NodeOptions {
            name: name.to_string(),
            long_names: false,
            cookie: None,
            listen: None,
            log: None,
            epmd_port: None,
            tick: None,
        }
    }
}

/// Why a node could not start.
#[derive(Debug)]
pub enum NodeError {
    /// The name is not `name@host` with a valid name.
    BadName(String),
    /// No cookie was given and `~/.erlang.cookie` cannot be read or made.
    Cookie(String),
    /// EPMD could not be reached or started, or refused the name.
    Epmd(String),
    /// Listening failed.
    Listen(std::io::Error),
    /// The VM is a node already.
    AlreadyANode,
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeError::BadName(m) => write!(f, "bad node name: {m}"),
            NodeError::Cookie(m) => write!(f, "no cookie: {m}"),
            NodeError::Epmd(m) => write!(f, "EPMD: {m}"),
            NodeError::Listen(e) => write!(f, "cannot listen: {e}"),
            NodeError::AlreadyANode => f.write_str("this VM is a node already"),
        }
    }
}

impl std::error::Error for NodeError {}

/// A running node. Dropping it leaves the node running (the VM holds it);
/// [`Node::stop`] ends it.
pub struct Node {
    state: Arc<NodeState>,
}

impl Node {
    /// This node's full name (`weft@localhost`).
    pub fn name(&self) -> &str {
        &self.state.name_text
    }

    /// The port it accepts connections on.
    pub fn port(&self) -> u16 {
        self.state.port
    }

    /// Closes every connection and the listener and leaves EPMD. The
    /// processes linked to or monitoring remote ones get `:noconnection`.
    pub fn stop(&self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wake the listener so it sees `stopping`.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::new(self.state.listen_ip, self.state.port),
            CONNECT_TIMEOUT,
        );
        let conns: Vec<Arc<Conn>> = lock(&self.state.connections).values().cloned().collect();
        for conn in conns {
            conn.finish();
        }
        lock(&self.state.epmd).take();
    }
}

/// Starts `vm` as a node.
pub fn start(vm: &mut Vm, options: NodeOptions) -> Result<Node, NodeError> {
    if vm.is_node() {
        return Err(NodeError::AlreadyANode);
    }
    let (alive, host) = split_name(&options.name, options.long_names)?;
    let node_name: NodeName = format!("{alive}@{host}")
        .parse()
        .map_err(|e| NodeError::BadName(format!("{}: {e}", options.name)))?;
    let cookie = match options.cookie {
        Some(cookie) => cookie,
        None => default_cookie()?,
    };
    let listen_ip = options.listen.unwrap_or_else(|| listen_address(&host));
    let listener = TcpListener::bind((listen_ip, 0)).map_err(NodeError::Listen)?;
    let port = listener.local_addr().map_err(NodeError::Listen)?.port();
    let epmd_port = options.epmd_port.unwrap_or_else(epmd_port);
    let (epmd, creation) = register_with_epmd(&alive, port, epmd_port)?;
    let log = options
        .log
        .unwrap_or_else(|| Arc::new(|line: &str| eprintln!("weft: node: {line}")));
    let mut local = LocalNode::new(node_name.clone(), creation);
    // Erlang's mandatory flags, plus monitors (by pid and by name). Not
    // PUBLISHED: a hidden node, so peers do not expect the `rex` and
    // `global_name_server` processes a full OTP node runs.
    // SPAWN: `erpc:call` (and `rpc:call`) into this node are spawn
    // requests (erpc.rs). ALIAS: replies to a `gen_server:call` tag may go
    // to the caller's alias.
    local.flags = DistributionFlags::mandatory()
        | DistributionFlags::DIST_MONITOR
        | DistributionFlags::DIST_MONITOR_NAME
        | DistributionFlags::SPAWN
        | DistributionFlags::ALIAS;
    let name_text = node_name.to_string();
    let state = Arc::new(NodeState {
        name: Atom::new(&name_text),
        name_text,
        creation: creation.get(),
        cookie,
        local,
        port,
        listen_ip,
        epmd_port,
        tick: options.tick.unwrap_or(conn::TICK),
        handle: Mutex::new(None),
        connections: Mutex::new(FxHashMap::default()),
        indexes: Mutex::new(FxHashMap::default()),
        next_index: AtomicU32::new(1),
        tables: Mutex::new(Tables::default()),
        pg: Mutex::new(pg::Peers::default()),
        pg_active: AtomicBool::new(false),
        epmd: Mutex::new(Some(epmd)),
        stopping: AtomicBool::new(false),
        log,
        me: OnceLock::new(),
    });
    let _ = state.me.set(Arc::downgrade(&state));
    let handle = vm
        .start_distribution(state.clone())
        .ok_or(NodeError::AlreadyANode)?;
    *lock(&state.handle) = Some(handle.clone());
    let listening = state.clone();
    std::thread::Builder::new()
        .name("weft-dist-listen".into())
        .spawn(move || conn::listen(listening, listener, handle))
        .map_err(NodeError::Listen)?;
    Ok(Node { state })
}

/// `VmBuilder::node(name, cookie)` for embedding hosts.
///
/// ```no_run
/// use weft_node::VmBuilderExt;
/// use weft_vm::Vm;
///
/// let (mut vm, node) = Vm::builder().schedulers(2).node("game@localhost", "secret").build()?;
/// println!("{} listens on port {}", node.name(), node.port());
/// # Ok::<(), weft_node::NodeError>(())
/// ```
pub trait VmBuilderExt {
    /// Makes the VM a node named `name` with `cookie` once built.
    fn node(self, name: &str, cookie: &str) -> NodeBuilder;
}

impl VmBuilderExt for VmBuilder {
    fn node(self, name: &str, cookie: &str) -> NodeBuilder {
        let mut options = NodeOptions::new(name);
        options.cookie = Some(cookie.to_string());
        options.long_names = name.split('@').nth(1).is_some_and(|h| h.contains('.'));
        NodeBuilder {
            builder: self,
            options,
        }
    }
}

/// A [`VmBuilder`] with node options; `build` starts both.
pub struct NodeBuilder {
    builder: VmBuilder,
    options: NodeOptions,
}

impl NodeBuilder {
    /// The options, to change before `build` (`listen`, `log`).
    pub fn options(mut self, change: impl FnOnce(&mut NodeOptions)) -> NodeBuilder {
        change(&mut self.options);
        self
    }

    pub fn build(self) -> Result<(Vm, Node), NodeError> {
        let mut vm = self.builder.build();
        let node = start(&mut vm, self.options)?;
        Ok((vm, node))
    }
}

// ------------------------------------------------------------ start-up

fn split_name(name: &str, long: bool) -> Result<(String, String), NodeError> {
    let (alive, host) = match name.split_once('@') {
        Some((alive, host)) => (alive.to_string(), host.to_string()),
        None => {
            let host = hostname();
            let host = if long {
                host
            } else {
                host.split('.').next().unwrap_or("localhost").to_string()
            };
            (name.to_string(), host)
        }
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    };
    if !valid(&alive) || !valid(&host) {
        return Err(NodeError::BadName(format!(
            "{name:?} (expected name@host, letters, digits, _ and -)"
        )));
    }
    if !long && host.contains('.') && host.parse::<IpAddr>().is_err() {
        return Err(NodeError::BadName(format!(
            "{name:?}: a short name's host has no dots (use --name for a full host name)"
        )));
    }
    Ok((alive, host))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Loopback for a node whose host is loopback, every interface otherwise
/// (as `erl` listens).
fn listen_address(host: &str) -> IpAddr {
    let loopback = host == "localhost"
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || (host, 0)
            .to_socket_addrs()
            .is_ok_and(|mut addrs| addrs.all(|a| a.ip().is_loopback()));
    if loopback {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// `~/.erlang.cookie`, made (20 random capitals, mode 0400) if missing.
fn default_cookie() -> Result<String, NodeError> {
    let home = std::env::var_os("HOME")
        .ok_or_else(|| NodeError::Cookie("HOME is not set; pass --cookie".into()))?;
    let path = std::path::Path::new(&home).join(".erlang.cookie");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = std::collections::hash_map::RandomState::new();
            let cookie: String = (0..20)
                .map(|i| {
                    use std::hash::{BuildHasher, Hasher};
                    let mut h = seed.build_hasher();
                    h.write_usize(i);
                    seed = std::collections::hash_map::RandomState::new();
                    (b'A' + (h.finish() % 26) as u8) as char
                })
                .collect();
            std::fs::write(&path, &cookie)
                .map_err(|e| NodeError::Cookie(format!("{}: {e}", path.display())))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400));
            }
            Ok(cookie)
        }
        Err(e) => Err(NodeError::Cookie(format!("{}: {e}", path.display()))),
    }
}

/// EPMD's port: `ERL_EPMD_PORT`, as `erl` reads it, or 4369.
pub fn epmd_port() -> u16 {
    std::env::var("ERL_EPMD_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_EPMD_PORT)
}

/// Registers with the local EPMD (starting `epmd -daemon` if none
/// answers, as `erl` does). The returned connection is the registration:
/// EPMD forgets the node when it closes.
fn register_with_epmd(
    alive: &str,
    port: u16,
    epmd_port: u16,
) -> Result<(TcpStream, Creation), NodeError> {
    let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), epmd_port);
    let stream = match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
        Ok(stream) => stream,
        Err(_) => {
            let started = std::process::Command::new("epmd")
                .arg("-daemon")
                .env("ERL_EPMD_PORT", epmd_port.to_string())
                .status()
                .map_err(|e| {
                    NodeError::Epmd(format!(
                        "none answers on {address} and `epmd -daemon` failed: {e}"
                    ))
                })?;
            if !started.success() {
                return Err(NodeError::Epmd(format!(
                    "`epmd -daemon` exited with {started}"
                )));
            }
            // The daemon listens a moment after it forks; try for a while.
            let mut attempt = 0;
            loop {
                match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
                    Ok(stream) => break stream,
                    Err(e) if attempt >= 50 => {
                        return Err(NodeError::Epmd(format!("started, but {address}: {e}")))
                    }
                    Err(_) => {
                        attempt += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }
    };
    let _ = stream.set_read_timeout(Some(CONNECT_TIMEOUT));
    let client = EpmdClient::new(Blocking(stream));
    let (Blocking(stream), creation) = blocking::run(client.register(NodeEntry::new(alive, port)))
        .map_err(|e| match e {
            // EPMD refuses a name another node holds (its only refusal
            // code, 1, in OTP's epmd_srv.c).
            erl_dist::epmd::EpmdError::RegisterNodeError { .. } => NodeError::Epmd(format!(
                "the name {alive:?} is in use: another node on this host is registered under it (pick another with --sname, or stop that node)"
            )),
            e => NodeError::Epmd(format!("registering {alive}: {e}")),
        })?;
    let _ = stream.set_read_timeout(None);
    Ok((stream, creation))
}

// --------------------------------------------------------------- state

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A monitor a remote process holds on a local one.
struct MonitorIn {
    watcher: Arc<RemotePid>,
    reference: Value,
    target: Pid,
    /// The name it was made by, if it was (`MONITOR_P_EXIT` names it).
    name: Option<Atom>,
}

/// A monitor a local process holds on a remote one.
struct MonitorOut {
    watcher: Pid,
    /// The node the monitored process is on.
    node: Arc<str>,
    /// What was monitored, as the `:down` message names it: a remote pid,
    /// or a `(name, node)` pair.
    target: Value,
}

impl MonitorOut {
    /// `ToProc` of `MONITOR_P`/`DEMONITOR_P`: the pid, or the name.
    fn put_target(&self, out: &mut Vec<u8>) {
        match &self.target {
            Value::RemotePid(pid) => etf::put_remote_pid(out, pid),
            target => match target.as_tuple() {
                Some([Value::Atom(name), _]) => etf::put_atom(out, *name),
                _ => etf::put_atom_name(out, "undefined"),
            },
        }
    }
}

/// Who is linked to and monitors whom across nodes.
#[derive(Default)]
struct Tables {
    /// Local process to the remote processes it is linked with.
    links: FxHashMap<Pid, Vec<Arc<RemotePid>>>,
    /// Monitors local processes hold on remote ones, by the local ref.
    monitors_out: FxHashMap<u64, MonitorOut>,
    /// Monitors remote processes hold on local ones, by the key the VM
    /// knows them under; and that key by (watcher, Erlang reference).
    monitors_in: FxHashMap<u64, MonitorIn>,
    monitor_keys: FxHashMap<(Arc<RemotePid>, Value), u64>,
    /// Local processes that asked for `(:nodedown, name)`, by node name.
    node_monitors: FxHashMap<Arc<str>, Vec<Pid>>,
    /// Calls other nodes made into this one (`erpc`), by monitor key.
    calls: FxHashMap<u64, erpc::Call>,
    next_unlink_id: u64,
}

pub(crate) struct NodeState {
    name: Atom,
    name_text: String,
    creation: u32,
    cookie: String,
    local: LocalNode,
    port: u16,
    listen_ip: IpAddr,
    epmd_port: u16,
    tick: Duration,
    /// For answers the node gives at once (a connect to a node already
    /// connected, a monitor of a node that is not): these only hand a
    /// result to the caller and never re-enter the distribution.
    handle: Mutex<Option<NodeHandle>>,
    /// Connections up or being made, by the peer's name. Only our own
    /// attempts and authenticated peers are here: a peer that has not
    /// passed the handshake's challenge has no entry (and no atom).
    connections: Mutex<FxHashMap<Arc<str>, Arc<Conn>>>,
    indexes: Mutex<FxHashMap<Atom, u32>>,
    next_index: AtomicU32,
    tables: Mutex<Tables>,
    /// What other nodes' `pg` scopes told us (pg.rs).
    pg: Mutex<pg::Peers>,
    /// Set once a script uses `pg` (pg.rs `activate`).
    pg_active: AtomicBool,
    epmd: Mutex<Option<TcpStream>>,
    stopping: AtomicBool,
    log: LogSink,
    /// This state's own `Arc` (for the threads it starts).
    me: OnceLock<Weak<NodeState>>,
}

impl etf::NodeContext for NodeState {
    fn local_node(&self) -> Atom {
        self.name
    }
    fn creation(&self) -> u32 {
        self.creation
    }
    fn index_of(&self, node: Atom) -> u32 {
        if node == self.name {
            return 0;
        }
        *lock(&self.indexes)
            .entry(node)
            .or_insert_with(|| self.next_index.fetch_add(1, Ordering::Relaxed))
    }
}

impl NodeState {
    fn log(&self, line: &str) {
        (self.log)(line)
    }

    fn answer(&self, f: impl FnOnce(&mut NodeHandle)) {
        if let Some(handle) = lock(&self.handle).as_mut() {
            f(handle)
        }
    }

    /// The connection to `node`, started in the background if there is
    /// none (Erlang connects on the first signal to a node).
    fn conn_for(&self, node: &str) -> Arc<Conn> {
        let mut connections = lock(&self.connections);
        if let Some(conn) = connections.get(node) {
            return conn.clone();
        }
        let conn = Arc::new(Conn::new(Arc::from(node)));
        let Some(state) = self.me.get().and_then(Weak::upgrade) else {
            // The node is going away: the frame goes nowhere.
            return conn;
        };
        connections.insert(conn.node.clone(), conn.clone());
        drop(connections);
        let connecting = conn.clone();
        let started = std::thread::Builder::new()
            .name("weft-dist-conn".into())
            .spawn(move || conn::connect(state, connecting));
        if started.is_err() {
            self.connection_lost(&conn, Some("cannot start a thread"));
        }
        conn
    }

    /// The connection to `node` if one is up or being made.
    fn existing(&self, node: &str) -> Option<Arc<Conn>> {
        lock(&self.connections).get(node).cloned()
    }

    /// A frame: length, pass-through tag, the control tuple written by
    /// `control`, and the message if there is one.
    fn frame(&self, control: impl FnOnce(&mut Vec<u8>), message: Option<&Value>) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&[0, 0, 0, 0, conn::PASS_THROUGH, etf::VERSION]);
        control(&mut out);
        if let Some(message) = message {
            etf::encode(&mut out, message, self);
        }
        let len = (out.len() - 4) as u32;
        out[..4].copy_from_slice(&len.to_be_bytes());
        out
    }

    /// A pid of this node that no process has (id 0: the node itself, as
    /// the sender of its stand-ins' replies, and its `pg` scope).
    fn reserved_pid(&self, serial: u32) -> Value {
        Value::RemotePid(Arc::new(RemotePid {
            node: self.name,
            id: 0,
            serial,
            creation: self.creation,
            index: 0,
        }))
    }

    /// `{SEND, Unused, ToPid}` with `message`.
    fn send_frame(&self, to: &RemotePid, message: &Value) -> Vec<u8> {
        self.frame(
            |out| {
                etf::put_tuple_header(out, 3);
                etf::put_int(out, conn::SEND);
                etf::put_atom_name(out, "");
                etf::put_remote_pid(out, to);
            },
            Some(message),
        )
    }

    /// A control tuple `{op, from, to, extra...}` between two pids.
    fn pid_pair(&self, out: &mut Vec<u8>, arity: usize, op: i64, from: Pid, to: &RemotePid) {
        etf::put_tuple_header(out, arity);
        etf::put_int(out, op);
        etf::put_local_pid(out, from, self);
        etf::put_remote_pid(out, to);
    }

    /// Sends `{MONITOR_P, FromPid, ToProc, Ref}` for a monitor kept in
    /// `monitors_out`.
    fn monitor_out(&self, reference: u64, monitor: MonitorOut) {
        let frame = self.frame(
            |out| {
                etf::put_tuple_header(out, 4);
                etf::put_int(out, conn::MONITOR_P);
                etf::put_local_pid(out, monitor.watcher, self);
                monitor.put_target(out);
                etf::put_local_ref(out, reference, self);
            },
            None,
        );
        let node = monitor.node.clone();
        lock(&self.tables).monitors_out.insert(reference, monitor);
        self.conn_for(&node).queue(frame);
    }

    /// A connection is gone: everything linked to or monitoring across it
    /// hears `:noconnection`, and node monitors get `(:nodedown, name)`.
    /// `why` is `None` for a clean close by the peer (not logged).
    pub(crate) fn connection_lost(&self, conn: &Arc<Conn>, why: Option<&str>) {
        let node: &str = &conn.node;
        {
            let mut connections = lock(&self.connections);
            if connections.get(node).is_some_and(|c| Arc::ptr_eq(c, conn)) {
                connections.remove(node);
            }
        }
        let (was_up, waiters) = conn.close();
        pg::disconnected(self, node);
        match why {
            // Stopping, every connection closes: nothing to report.
            _ if self.stopping.load(Ordering::SeqCst) => {}
            None => {}
            Some(why) if was_up => self.log(&format!("connection to {node} closed: {why}")),
            Some(why) => self.log(&format!("cannot connect to {node}: {why}")),
        }
        let mut links = Vec::new();
        let mut downs = Vec::new();
        let mut demonitors = Vec::new();
        let watchers;
        {
            let mut tables = lock(&self.tables);
            for (local, remotes) in tables.links.iter_mut() {
                remotes.retain(|r| {
                    if r.node.name() == node {
                        links.push((*local, r.clone()));
                        false
                    } else {
                        true
                    }
                });
            }
            tables.links.retain(|_, remotes| !remotes.is_empty());
            tables.monitors_out.retain(|reference, monitor| {
                if *monitor.node == *node {
                    downs.push((monitor.watcher, *reference, monitor.target.clone()));
                    false
                } else {
                    true
                }
            });
            let gone: Vec<u64> = tables
                .monitors_in
                .iter()
                .filter(|(_, m)| m.watcher.node.name() == node)
                .map(|(key, _)| *key)
                .collect();
            for key in gone {
                tables.calls.remove(&key);
                if let Some(m) = tables.monitors_in.remove(&key) {
                    tables
                        .monitor_keys
                        .remove(&(m.watcher.clone(), m.reference.clone()));
                    demonitors.push((m.target, key));
                }
            }
            watchers = tables.node_monitors.remove(node).unwrap_or_default();
        }
        let noconnection = Value::atom("noconnection");
        self.answer(|handle| {
            for waiter in waiters {
                handle.complete(waiter, Value::Bool(false));
            }
            for (local, remote) in links {
                handle.exit(local, remote, noconnection.clone(), true);
            }
            for (local, reference, remote) in downs {
                handle.down(local, reference, remote, noconnection.clone());
            }
            for (target, key) in demonitors {
                handle.demonitor(target, key);
            }
            for pid in watchers {
                handle.send(
                    pid,
                    Value::tuple(vec![Value::atom("nodedown"), Value::str(node)]),
                );
            }
        });
    }
}

// --------------------------------------------------------- the VM's side

impl Distribution for NodeState {
    fn node_name(&self) -> Atom {
        self.name
    }

    fn creation(&self) -> u32 {
        self.creation
    }

    fn node_index(&self, node: Atom) -> u32 {
        etf::NodeContext::index_of(self, node)
    }

    fn send(&self, from: Pid, to: &RemotePid, message: &Value) {
        if to.node == self.name {
            // A pid of an earlier incarnation of this node: gone.
            return;
        }
        // An answer to a `gen_server:call` whose tag is `[alias | Ref]`
        // goes to that alias, as `gen:reply` sends it: the caller's node
        // drops it if the caller has given up (timed out) meanwhile.
        if let Some([Value::Opaque(tag), _]) = message.as_tuple() {
            if let Some(alias) = conn::alias_of(self, &tag.encoded) {
                let frame = self.frame(
                    |out| {
                        // {ALIAS_SEND, FromPid, Alias}
                        etf::put_tuple_header(out, 3);
                        etf::put_int(out, conn::ALIAS_SEND);
                        etf::put_local_pid(out, from, self);
                        out.extend_from_slice(alias);
                    },
                    Some(message),
                );
                return self.conn_for(to.node.name()).queue(frame);
            }
        }
        self.conn_for(to.node.name())
            .queue(self.send_frame(to, message));
    }

    fn send_named(&self, from: Pid, name: Atom, node: &str, message: &Value) {
        let frame = self.frame(
            |out| {
                // {REG_SEND, FromPid, Unused, ToName}
                etf::put_tuple_header(out, 4);
                etf::put_int(out, conn::REG_SEND);
                etf::put_local_pid(out, from, self);
                etf::put_atom_name(out, "");
                etf::put_atom(out, name);
            },
            Some(message),
        );
        self.conn_for(node).queue(frame);
    }

    fn link(&self, from: Pid, to: &RemotePid) {
        {
            let mut tables = lock(&self.tables);
            let remotes = tables.links.entry(from).or_default();
            if remotes.iter().any(|r| **r == *to) {
                return;
            }
            remotes.push(Arc::new(to.clone()));
        }
        let frame = self.frame(|out| self.pid_pair(out, 3, conn::LINK, from, to), None);
        self.conn_for(to.node.name()).queue(frame);
    }

    fn unlink(&self, from: Pid, to: &RemotePid) {
        let id = {
            let mut tables = lock(&self.tables);
            let Some(remotes) = tables.links.get_mut(&from) else {
                return;
            };
            let before = remotes.len();
            remotes.retain(|r| **r != *to);
            if remotes.len() == before {
                return;
            }
            if remotes.is_empty() {
                tables.links.remove(&from);
            }
            tables.next_unlink_id += 1;
            tables.next_unlink_id
        };
        let frame = self.frame(
            |out| {
                // {UNLINK_ID, Id, FromPid, ToPid}
                etf::put_tuple_header(out, 4);
                etf::put_int(out, conn::UNLINK_ID);
                etf::put_int(out, id as i64);
                etf::put_local_pid(out, from, self);
                etf::put_remote_pid(out, to);
            },
            None,
        );
        if let Some(conn) = self.existing(to.node.name()) {
            conn.queue(frame);
        }
    }

    fn exit(&self, from: Pid, to: &RemotePid, reason: &Value) {
        let frame = self.frame(
            |out| {
                // {EXIT2, FromPid, ToPid, Reason}
                self.pid_pair(out, 4, conn::EXIT2, from, to);
                etf::encode_bare(out, reason, self);
            },
            None,
        );
        self.conn_for(to.node.name()).queue(frame);
    }

    fn monitor(&self, from: Pid, to: &RemotePid, reference: u64) {
        let node: Arc<str> = Arc::from(to.node.name());
        self.monitor_out(
            reference,
            MonitorOut {
                watcher: from,
                node,
                target: Value::RemotePid(Arc::new(to.clone())),
            },
        );
    }

    fn monitor_named(&self, from: Pid, name: Atom, node: &str, reference: u64) {
        self.monitor_out(
            reference,
            MonitorOut {
                watcher: from,
                node: Arc::from(node),
                target: Value::tuple(vec![Value::Atom(name), Value::str(node)]),
            },
        );
    }

    fn demonitor(&self, reference: u64) {
        let Some(monitor) = lock(&self.tables).monitors_out.remove(&reference) else {
            return;
        };
        let frame = self.frame(
            |out| {
                // {DEMONITOR_P, FromPid, ToProc, Ref}
                etf::put_tuple_header(out, 4);
                etf::put_int(out, conn::DEMONITOR_P);
                etf::put_local_pid(out, monitor.watcher, self);
                monitor.put_target(out);
                etf::put_local_ref(out, reference, self);
            },
            None,
        );
        if let Some(conn) = self.existing(&monitor.node) {
            conn.queue(frame);
        }
    }

    fn ended(&self, pid: Pid, reason: &Value) {
        let Some(remotes) = lock(&self.tables).links.remove(&pid) else {
            return;
        };
        for remote in remotes {
            let frame = self.frame(
                |out| {
                    // {EXIT, FromPid, ToPid, Reason}
                    self.pid_pair(out, 4, conn::EXIT, pid, &remote);
                    etf::encode_bare(out, reason, self);
                },
                None,
            );
            if let Some(conn) = self.existing(remote.node.name()) {
                conn.queue(frame);
            }
        }
    }

    fn down(&self, pid: Pid, key: u64, reason: &Value, returned: Option<&Value>) {
        let mut reason = reason;
        let call_reason;
        let monitor = {
            let mut tables = lock(&self.tables);
            if let Some(call) = tables.calls.get_mut(&key) {
                // Before its spawn reply, the reply's sender sends the end.
                let Some((reason_now, returned_now)) =
                    call.order.end((reason.clone(), returned.cloned()))
                else {
                    return;
                };
                call_reason = call.reason(&reason_now, returned_now.as_ref());
                reason = &call_reason;
                tables.calls.remove(&key);
            }
            let Some(monitor) = tables.monitors_in.remove(&key) else {
                return;
            };
            tables
                .monitor_keys
                .remove(&(monitor.watcher.clone(), monitor.reference.clone()));
            monitor
        };
        // FromProc is the name the monitor was made by, else the pid.
        let from_proc = monitor.name.map_or(Value::Pid(pid), Value::Atom);
        let frame = conn::monitor_exit_frame(
            self,
            &from_proc,
            &monitor.watcher,
            &monitor.reference,
            reason,
        );
        if let Some(conn) = self.existing(monitor.watcher.node.name()) {
            conn.queue(frame);
        }
    }

    fn is_connected(&self, node: &str) -> bool {
        self.existing(node).is_some_and(|c| c.is_up())
    }

    fn nodes(&self) -> Vec<Atom> {
        // A connection up has passed the handshake: its name is an atom.
        let mut nodes: Vec<Atom> = lock(&self.connections)
            .values()
            .filter(|c| c.is_up())
            .filter_map(|c| Atom::lookup(&c.node))
            .collect();
        nodes.sort_by_key(|n| n.name());
        nodes
    }

    fn connect(&self, node: &str, waiter: Waiter) {
        let conn = self.conn_for(node);
        if let Err(waiter) = conn.add_waiter(waiter) {
            self.answer(|handle| handle.complete(waiter, Value::Bool(true)));
        }
    }

    fn pg_join(&self, group: &Value, pids: &[Pid]) {
        pg::joined(self, group, pids)
    }

    fn pg_leave(&self, group: &Value, pids: &[Pid]) {
        pg::left(self, group, pids)
    }

    fn pg_members(&self, group: &Value) -> Vec<Value> {
        pg::members(self, group)
    }

    fn monitor_node(&self, pid: Pid, node: &str) {
        let up = {
            let connections = lock(&self.connections);
            let conn = connections.get(node).filter(|c| c.is_up());
            if let Some(conn) = conn {
                lock(&self.tables)
                    .node_monitors
                    .entry(conn.node.clone())
                    .or_default()
                    .push(pid);
            }
            conn.is_some()
        };
        if !up {
            self.answer(|handle| {
                handle.send(
                    pid,
                    Value::tuple(vec![Value::atom("nodedown"), Value::str(node)]),
                )
            });
        }
    }
}

#[allow(dead_code)]
fn _assert_send() {
    fn is<T: Send + Sync>() {}
    is::<NodeState>();
    is::<ConnState>();
}
