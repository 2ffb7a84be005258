//! Connections to other nodes: the listener, connecting, the handshake
//! (by `erl_dist`), and each connection's reader and writer threads.
//!
//! Invariants:
//! - A connection is Pending (frames wait, in order, for the handshake),
//!   then Up (frames go to its writer thread), then Down (frames are
//!   dropped, as Erlang drops signals to a node it cannot reach). It never
//!   goes back: a new connection to the same node is a new `Conn`.
//! - Only the thread that read a frame acts on it, in the order read.
//! - A frame longer than `MAX_FRAME`, or one that does not decode, ends
//!   the connection before anything in it is delivered. A frame's buffer
//!   grows as its bytes arrive, never to the length a prefix announces.
//! - Nothing from a peer that has not passed the handshake's challenge is
//!   interned or replaces anything: its name stays text, and a connection
//!   up to the node it names is replaced only once the newcomer has proved
//!   it holds the cookie. Every atom a connection brings in is counted
//!   against `MAX_NEW_ATOMS` (atoms are never freed).
//! - Silence longer than four tick intervals (60 s, Erlang's default
//!   `net_ticktime`) ends the connection; the writer sends a tick after
//!   each tick interval without traffic.
//! - Bytes reach the socket from one writer at a time, whole frames in
//!   queue order. A scheduler thread writes a frame itself, without
//!   blocking (`MSG_DONTWAIT`) and under the state lock, only while the
//!   writer thread holds nothing (`in_writer` is 0: every frame handed to
//!   it has been flushed); what the socket does not take at once goes to
//!   the writer. The writer's ticks are written under the same lock, and
//!   only when `in_writer` is 0. So a scheduler never waits on a socket,
//!   and a frame to an idle connection costs no thread wake-up.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use erl_dist::epmd::EpmdClient;
use erl_dist::handshake::{
    ClientSideHandshake, HandshakeError, HandshakeStatus, ServerSideHandshake,
};
use erl_dist::node::PeerNode;
use weft_vm::{Atom, NodeHandle, Pid, RemotePid, Value, Waiter};

use crate::blocking::{self, Blocking};
use crate::{etf, lock, MonitorIn, NodeState, CONNECT_TIMEOUT};

/// The tag after a frame's length that says "control message follows".
pub const PASS_THROUGH: u8 = 112;

pub const LINK: i64 = 1;
pub const SEND: i64 = 2;
pub const EXIT: i64 = 3;
const UNLINK: i64 = 4;
pub const REG_SEND: i64 = 6;
const GROUP_LEADER: i64 = 7;
pub const EXIT2: i64 = 8;
const SEND_TT: i64 = 12;
const EXIT_TT: i64 = 13;
const REG_SEND_TT: i64 = 16;
const EXIT2_TT: i64 = 18;
pub const MONITOR_P: i64 = 19;
pub const DEMONITOR_P: i64 = 20;
pub const MONITOR_P_EXIT: i64 = 21;
const SEND_SENDER: i64 = 22;
const SEND_SENDER_TT: i64 = 23;
const PAYLOAD_EXIT: i64 = 24;
const PAYLOAD_EXIT_TT: i64 = 25;
const PAYLOAD_EXIT2: i64 = 26;
const PAYLOAD_EXIT2_TT: i64 = 27;
const PAYLOAD_MONITOR_P_EXIT: i64 = 28;
pub const UNLINK_ID: i64 = 35;
const UNLINK_ID_ACK: i64 = 36;

/// The longest frame accepted: past it the length prefix is taken for
/// garbage (or an attack) and the connection closes.
pub const MAX_FRAME: usize = 64 << 20;

/// How much of a frame is read at a time: a frame's buffer grows by this
/// much as bytes arrive, so a peer that announces 64 MiB and sends one byte
/// costs 64 KiB, not 64 MiB.
const READ_CHUNK: usize = 64 << 10;

/// The most atoms one connection may bring into the atom table (new names
/// in the terms it sends, and the names of the nodes in its pids and refs):
/// past it the connection closes. Atoms are never freed, so a peer that
/// sends fresh names forever would otherwise grow the node without bound;
/// the table's own limit (`MAX_ATOMS`) bounds all connections together.
pub const MAX_NEW_ATOMS: usize = 1 << 16;

/// How often a quiet connection sends a tick, and how long a read waits
/// before counting one interval of silence (`NodeOptions::tick`): a
/// quarter of Erlang's default `net_ticktime` of 60 s.
pub const TICK: Duration = Duration::from_secs(15);
/// Intervals of silence after which a connection is taken for dead.
const SILENT_TICKS: u32 = 4;

pub(crate) enum ConnState {
    Pending {
        frames: Vec<Vec<u8>>,
        waiters: Vec<Waiter>,
    },
    Up {
        writer: mpsc::Sender<Vec<u8>>,
        stream: TcpStream,
        /// The writer thread, joined by `finish` so queued frames are sent.
        written: Option<std::thread::JoinHandle<()>>,
    },
    Down,
}

/// One connection to another node.
pub(crate) struct Conn {
    /// The peer's name, as text (an atom only once the peer is up).
    pub node: Arc<str>,
    state: Mutex<ConnState>,
    /// Signalled when `state` leaves Pending.
    settled: Condvar,
    /// Frames handed to the writer thread and not yet flushed.
    in_writer: AtomicUsize,
}

impl Conn {
    pub fn new(node: Arc<str>) -> Conn {
        Conn {
            node,
            state: Mutex::new(ConnState::Pending {
                frames: Vec::new(),
                waiters: Vec::new(),
            }),
            settled: Condvar::new(),
            in_writer: AtomicUsize::new(0),
        }
    }

    pub fn is_up(&self) -> bool {
        matches!(*lock(&self.state), ConnState::Up { .. })
    }

    /// Waits up to `limit` for the connection to stop being Pending;
    /// whether it is Pending still.
    fn still_pending_after(&self, limit: Duration) -> bool {
        let guard = lock(&self.state);
        let (guard, _) = self
            .settled
            .wait_timeout_while(guard, limit, |state| {
                matches!(state, ConnState::Pending { .. })
            })
            .unwrap_or_else(|e| e.into_inner());
        matches!(*guard, ConnState::Pending { .. })
    }

    /// Sends a frame to the peer: at once if the socket takes it without
    /// waiting, else through the writer thread; queued while the handshake
    /// runs; dropped once the connection is down.
    pub fn queue(&self, mut frame: Vec<u8>) {
        match &mut *lock(&self.state) {
            ConnState::Pending { frames, .. } => frames.push(frame),
            ConnState::Up { writer, stream, .. } => {
                if self.in_writer.load(Ordering::Acquire) == 0 {
                    match write_now(stream, &frame) {
                        Some(n) if n == frame.len() => return,
                        Some(n) => {
                            frame.drain(..n);
                        }
                        None => {}
                    }
                }
                self.in_writer.fetch_add(1, Ordering::AcqRel);
                let _ = writer.send(frame);
            }
            ConnState::Down => {}
        }
    }

    /// Waits for the handshake; `Err` gives the waiter back if the
    /// connection is up already.
    pub fn add_waiter(&self, waiter: Waiter) -> Result<(), Waiter> {
        match &mut *lock(&self.state) {
            ConnState::Pending { waiters, .. } => {
                waiters.push(waiter);
                Ok(())
            }
            ConnState::Up { .. } => Err(waiter),
            // Being torn down: its teardown answers nobody new; say no.
            ConnState::Down => Ok(()),
        }
    }

    /// Ends the connection. Returns whether it was up, and the waiters a
    /// pending one had.
    pub fn close(&self) -> (bool, Vec<Waiter>) {
        let old = std::mem::replace(&mut *lock(&self.state), ConnState::Down);
        self.settled.notify_all();
        match old {
            ConnState::Pending { waiters, .. } => (false, waiters),
            ConnState::Up { stream, .. } => {
                let _ = stream.shutdown(Shutdown::Both);
                (true, Vec::new())
            }
            ConnState::Down => (false, Vec::new()),
        }
    }

    /// Ends the connection after sending what is queued (the node stops):
    /// the writer drains its queue and exits, then the socket closes. A
    /// peer that reads nothing holds this up for at most the write timeout.
    pub fn finish(&self) {
        let state = std::mem::replace(&mut *lock(&self.state), ConnState::Down);
        if let ConnState::Up {
            writer,
            stream,
            written,
        } = state
        {
            drop(writer);
            let _ = stream.set_write_timeout(Some(CONNECT_TIMEOUT));
            if let Some(written) = written {
                let _ = written.join();
            }
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

// ------------------------------------------------------------ listening

pub(crate) fn listen(state: Arc<NodeState>, listener: TcpListener, handle: NodeHandle) {
    for stream in listener.incoming() {
        if state.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let state = state.clone();
        let handle = handle.clone();
        let _ = std::thread::Builder::new()
            .name("weft-dist-conn".into())
            .spawn(move || accept(state, stream, handle));
    }
}

/// The server side of a handshake, then the connection's reader.
///
/// The peer's name is only text until it passes the challenge: before
/// that, the one decision made is Erlang's rule for two nodes connecting
/// to each other at once (the greater name keeps its own attempt). After
/// it, an attempt of ours to that node is completed by this connection,
/// one already up is replaced (the peer proved it is that node, and a node
/// connects again only when its side of the old connection is gone), and
/// otherwise this is a new connection. A stranger who knows a connected
/// node's name, but not the cookie, disturbs nothing.
fn accept(state: Arc<NodeState>, stream: TcpStream, handle: NodeHandle) {
    let peer_address = stream.peer_addr().ok();
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(CONNECT_TIMEOUT));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut handshake =
        ServerSideHandshake::new(Blocking(clone), state.local.clone(), &state.cookie);
    let peer_name = match blocking::run(handshake.execute_recv_name()) {
        Ok(Some(name)) => name.to_string(),
        Ok(None) => {
            state.log("refused a connection that asked for a dynamic name");
            return;
        }
        Err(e) => {
            state.log(&format!("refused a connection from {peer_address:?}: {e}"));
            return;
        }
    };
    let status = {
        let connections = lock(&state.connections);
        match connections.get(peer_name.as_str()) {
            Some(conn) if !conn.is_up() => {
                if state.name_text.as_str() > peer_name.as_str() {
                    HandshakeStatus::Nok
                } else {
                    HandshakeStatus::OkSimultaneous
                }
            }
            _ => HandshakeStatus::Ok,
        }
    };
    if status == HandshakeStatus::Nok {
        // Our own attempt goes on; tell the peer so.
        let _ = blocking::run(handshake.execute_rest(status));
        return;
    }
    let peer = match blocking::run(handshake.execute_rest(status)) {
        Ok((Blocking(_), peer)) => peer,
        Err(e) => {
            state.log(&format!(
                "refused a connection from {peer_address:?} calling itself {peer_name}: {}",
                handshake_failure(&e)
            ));
            return;
        }
    };
    // Authenticated: only now does the name count.
    let (conn, replaced) = {
        let mut connections = lock(&state.connections);
        match connections.get(peer_name.as_str()).cloned() {
            Some(conn) if conn.is_up() => {
                let fresh = Arc::new(Conn::new(conn.node.clone()));
                connections.insert(fresh.node.clone(), fresh.clone());
                (fresh, Some(conn))
            }
            Some(conn) => (conn, None),
            None => {
                let conn = Arc::new(Conn::new(Arc::from(peer_name.as_str())));
                connections.insert(conn.node.clone(), conn.clone());
                (conn, None)
            }
        }
    };
    if let Some(old) = replaced {
        state.connection_lost(&old, Some("the peer connected again"));
    }
    let _ = stream.set_read_timeout(None);
    up(state, conn, stream, peer, handle);
}

fn handshake_failure(e: &HandshakeError) -> String {
    match e {
        HandshakeError::CookieMismatch => "the handshake failed: wrong cookie".to_string(),
        HandshakeError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the peer closed the connection during the handshake (are the cookies the same?)"
                .to_string()
        }
        other => format!("the handshake failed: {other}"),
    }
}

// ----------------------------------------------------------- connecting

/// The client side: find the node through its host's EPMD, connect,
/// handshake, then read.
pub(crate) fn connect(state: Arc<NodeState>, conn: Arc<Conn>) {
    let handle = match lock(&state.handle).as_ref() {
        Some(handle) => handle.clone(),
        None => return,
    };
    let text: &str = &conn.node;
    let stream = match open(text, state.epmd_port) {
        Ok(stream) => stream,
        Err(why) => return state.connection_lost(&conn, Some(&why)),
    };
    let Ok(clone) = stream.try_clone() else {
        return state.connection_lost(&conn, Some("cannot clone the socket"));
    };
    let mut handshake =
        ClientSideHandshake::new(Blocking(clone), state.local.clone(), &state.cookie);
    let status = match blocking::run(
        handshake.execute_send_name(erl_dist::HIGHEST_DISTRIBUTION_PROTOCOL_VERSION),
    ) {
        Ok(status) => status,
        Err(e) => return state.connection_lost(&conn, Some(&handshake_failure(&e))),
    };
    if status == HandshakeStatus::Nok {
        // The peer is connecting to us at the same time and its attempt
        // wins: that one completes this `Conn` once it passes the
        // challenge. If it does not within the handshake's time, this
        // attempt has failed.
        if conn.still_pending_after(CONNECT_TIMEOUT * 2) {
            state.connection_lost(&conn, Some("the peer's own connection did not complete"));
        }
        return;
    }
    match blocking::run(handshake.execute_rest(true)) {
        Ok((Blocking(_), peer)) => {
            let _ = stream.set_read_timeout(None);
            up(state, conn, stream, peer, handle);
        }
        Err(HandshakeError::OngoingHandshake) => {}
        Err(e) => state.connection_lost(&conn, Some(&handshake_failure(&e))),
    }
}

/// A socket to node `name@host`, through the EPMD on `host`.
fn open(node: &str, epmd_port: u16) -> Result<TcpStream, String> {
    let Some((alive, host)) = node.split_once('@') else {
        return Err(format!("{node:?} is not a node name (name@host)"));
    };
    let ip = resolve(host)?;
    let epmd = TcpStream::connect_timeout(&SocketAddr::new(ip, epmd_port), CONNECT_TIMEOUT)
        .map_err(|e| format!("EPMD on {host}: {e}"))?;
    let _ = epmd.set_read_timeout(Some(CONNECT_TIMEOUT));
    let entry = blocking::run(EpmdClient::new(Blocking(epmd)).get_node(alive))
        .map_err(|e| format!("EPMD on {host}: {e}"))?
        .ok_or_else(|| format!("no node {alive} is registered on {host}"))?;
    let stream = TcpStream::connect_timeout(&SocketAddr::new(ip, entry.port), CONNECT_TIMEOUT)
        .map_err(|e| format!("{ip}:{}: {e}", entry.port))?;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(CONNECT_TIMEOUT));
    Ok(stream)
}

/// A host's address, IPv4 first (EPMD and `erl` listen on IPv4).
fn resolve(host: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    let addresses: Vec<SocketAddr> = (host, 0)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    addresses
        .iter()
        .find(|a| a.is_ipv4())
        .or(addresses.first())
        .map(|a| a.ip())
        .ok_or_else(|| format!("{host} has no address"))
}

// ----------------------------------------------------------------- up

/// The handshake is done: start the writer, send what waited, tell the
/// callers of `node.connect`, and read on this thread until the end.
fn up(
    state: Arc<NodeState>,
    conn: Arc<Conn>,
    stream: TcpStream,
    peer: PeerNode,
    mut handle: NodeHandle,
) {
    let peer_name = peer.name.to_string();
    if *peer_name != *conn.node {
        let _ = stream.shutdown(Shutdown::Both);
        return state.connection_lost(&conn, Some(&format!("the peer says it is {peer_name}")));
    }
    // The peer has passed the challenge: its name becomes an atom (pids
    // from it name their node by one).
    if Atom::try_new(&peer_name).is_none() {
        let _ = stream.shutdown(Shutdown::Both);
        return state.connection_lost(&conn, Some("the atom table is full"));
    }
    let (Ok(write_half), Ok(keep)) = (stream.try_clone(), stream.try_clone()) else {
        return state.connection_lost(&conn, Some("cannot clone the socket"));
    };
    let (writer, frames) = mpsc::channel::<Vec<u8>>();
    let waiters = {
        let mut guard = lock(&conn.state);
        let ConnState::Pending {
            frames: queued,
            waiters,
        } = std::mem::replace(&mut *guard, ConnState::Down)
        else {
            // Closed meanwhile, or up through another socket.
            let up_already = matches!(*guard, ConnState::Up { .. });
            drop(guard);
            let _ = stream.shutdown(Shutdown::Both);
            if !up_already {
                state.connection_lost(&conn, Some("closed during the handshake"));
            }
            return;
        };
        conn.in_writer.store(queued.len(), Ordering::Release);
        for frame in queued {
            let _ = writer.send(frame);
        }
        let tick = state.tick;
        let writing = conn.clone();
        let started = std::thread::Builder::new()
            .name("weft-dist-write".into())
            .spawn(move || write_loop(&writing, write_half, frames, tick));
        let Ok(written) = started else {
            drop(guard);
            return state.connection_lost(&conn, Some("cannot start a thread"));
        };
        *guard = ConnState::Up {
            writer,
            stream: keep,
            written: Some(written),
        };
        conn.settled.notify_all();
        waiters
    };
    for waiter in waiters {
        handle.complete(waiter, Value::Bool(true));
    }
    crate::pg::connected(&state, &peer_name);
    let why = read_loop(&state, &stream, &mut handle).err();
    let _ = stream.shutdown(Shutdown::Both);
    state.connection_lost(&conn, why.as_deref());
}

/// Writes, without waiting, what the socket takes now: the bytes taken, or
/// `None` if none were (it is full, or failed: the writer thread, or the
/// reader, will see why).
fn write_now(stream: &TcpStream, bytes: &[u8]) -> Option<usize> {
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    match socket2::SockRef::from(stream).send_with_flags(bytes, flags) {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

fn write_loop(conn: &Conn, stream: TcpStream, frames: mpsc::Receiver<Vec<u8>>, tick: Duration) {
    let mut out = BufWriter::with_capacity(1 << 16, &stream);
    let result: std::io::Result<()> = (|| loop {
        match frames.recv_timeout(tick) {
            Ok(frame) => {
                out.write_all(&frame)?;
                let mut written = 1;
                // Everything queued meanwhile goes in the same write.
                while let Ok(frame) = frames.try_recv() {
                    out.write_all(&frame)?;
                    written += 1;
                }
                out.flush()?;
                conn.in_writer.fetch_sub(written, Ordering::AcqRel);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Under the lock, so no scheduler writes meanwhile.
                let _guard = lock(&conn.state);
                if conn.in_writer.load(Ordering::Acquire) == 0 {
                    (&stream).write_all(&[0, 0, 0, 0])?;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    })();
    if result.is_err() {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Reads `buf.len()` bytes, counting read timeouts as silent intervals.
fn read_full(
    reader: &mut impl Read,
    buf: &mut [u8],
    silent: &mut u32,
    tick: Duration,
) -> Result<bool, String> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err("the peer closed it mid-frame".to_string()),
            Ok(n) => {
                filled += n;
                *silent = 0;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                *silent += 1;
                if *silent >= SILENT_TICKS {
                    return Err(format!("no tick for {:?}", tick * SILENT_TICKS));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(true)
}

/// What decoding a connection's frames knows: the node, and how many atoms
/// this connection has brought into the table so far.
struct Reading<'s> {
    state: &'s NodeState,
    new_atoms: std::cell::Cell<usize>,
}

impl etf::NodeContext for Reading<'_> {
    fn local_node(&self) -> Atom {
        self.state.local_node()
    }
    fn creation(&self) -> u32 {
        etf::NodeContext::creation(self.state)
    }
    fn index_of(&self, node: Atom) -> u32 {
        self.state.index_of(node)
    }
    fn atom(&self, name: &str) -> Option<Atom> {
        if let Some(atom) = Atom::lookup(name) {
            return Some(atom);
        }
        if self.new_atoms.get() >= MAX_NEW_ATOMS {
            return None;
        }
        self.new_atoms.set(self.new_atoms.get() + 1);
        Atom::try_new(name)
    }
}

/// Reads frames until the connection ends; `Ok` for a clean close.
fn read_loop(state: &NodeState, stream: &TcpStream, handle: &mut NodeHandle) -> Result<(), String> {
    let tick = state.tick;
    let _ = stream.set_read_timeout(Some(tick));
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let mut silent = 0;
    let mut body = Vec::new();
    let context = Reading {
        state,
        new_atoms: std::cell::Cell::new(0),
    };
    loop {
        let mut length = [0u8; 4];
        if !read_full(&mut reader, &mut length, &mut silent, tick)? {
            return Ok(());
        }
        let length = u32::from_be_bytes(length) as usize;
        if length == 0 {
            continue; // a tick
        }
        if length > MAX_FRAME {
            return Err(format!(
                "a frame of {length} bytes is over the limit of {MAX_FRAME}"
            ));
        }
        // Grow the buffer as bytes arrive, not to what the prefix claims;
        // a big frame's buffer is given back once it is behind us.
        body.clear();
        if body.capacity() > 4 * READ_CHUNK {
            body.shrink_to(READ_CHUNK);
        }
        while body.len() < length {
            let filled = body.len();
            let piece = (length - filled).min(READ_CHUNK);
            body.resize(filled + piece, 0);
            if !read_full(&mut reader, &mut body[filled..], &mut silent, tick)? {
                return Err("the peer closed it mid-frame".to_string());
            }
        }

        if body[0] != PASS_THROUGH {
            return Err(format!(
                "a frame starts with {} (expected {PASS_THROUGH})",
                body[0]
            ));
        }
        let (control, used) = etf::decode(&body[1..], &context)
            .map_err(|e| format!("a control message does not decode: {e}"))?;
        let rest = &body[1 + used..];
        let message = if rest.is_empty() {
            None
        } else {
            Some(
                etf::decode(rest, &context)
                    .map_err(|e| format!("a message does not decode: {e}"))?
                    .0,
            )
        };
        dispatch(state, handle, control, message, rest)?;
    }
}

// ------------------------------------------------------------ dispatch

fn remote(value: &Value) -> Option<Arc<RemotePid>> {
    match value {
        Value::RemotePid(pid) => Some(pid.clone()),
        _ => None,
    }
}

fn local(value: &Value) -> Option<Pid> {
    value.as_pid()
}

/// Acts on one control message (and its message, for the kinds that
/// carry one). Unknown kinds are ignored, as Erlang ignores them.
fn dispatch(
    state: &NodeState,
    handle: &mut NodeHandle,
    control: Value,
    message: Option<Value>,
    raw_message: &[u8],
) -> Result<(), String> {
    let Some(fields) = control.as_tuple() else {
        return Err(format!("a control message is not a tuple: {control}"));
    };
    let Some(op) = fields.first().and_then(Value::as_int) else {
        return Err(format!("a control message has no operation: {control}"));
    };
    let field = |i: usize| fields.get(i).cloned().unwrap_or_default();
    let payload =
        |message: Option<Value>| message.ok_or_else(|| format!("operation {op} lacks its payload"));
    match op {
        SEND | SEND_TT | SEND_SENDER | SEND_SENDER_TT => {
            let message = payload(message)?;
            match field(2) {
                Value::RemotePid(to) if crate::pg::is_scope(state, &to) => {
                    crate::pg::message(state, handle, &message);
                }
                to => {
                    if let Some(to) = local(&to) {
                        handle.send(to, message);
                    }
                }
            }
        }
        REG_SEND | REG_SEND_TT => {
            let message = payload(message)?;
            if let Value::Atom(name) = field(3) {
                if let Some(to) = handle.whereis(name) {
                    handle.send(to, message);
                } else if name.name() == "net_kernel" {
                    net_kernel(state, raw_message);
                } else if crate::pg::is_scope_name(name) {
                    crate::pg::message(state, handle, &message);
                } else if name.name() == crate::images::NAME {
                    crate::images::message(state, handle, &message);
                }
            }
        }
        LINK => {
            if let (Some(from), Some(to)) = (remote(&field(1)), local(&field(2))) {
                {
                    let mut tables = lock(&state.tables);
                    let remotes = tables.links.entry(to).or_default();
                    if !remotes.contains(&from) {
                        remotes.push(from);
                    }
                }
                handle.link(to);
            }
        }
        UNLINK | UNLINK_ID => {
            let (from, to) = if op == UNLINK {
                (field(1), field(2))
            } else {
                (field(2), field(3))
            };
            if let (Some(from), Some(to)) = (remote(&from), local(&to)) {
                remove_link(state, to, &from);
                if op == UNLINK_ID {
                    let id = field(1);
                    let frame = state.frame(
                        |out| {
                            // {UNLINK_ID_ACK, Id, FromPid, ToPid}
                            etf::put_tuple_header(out, 4);
                            etf::put_int(out, UNLINK_ID_ACK);
                            etf::encode_bare(out, &id, state);
                            etf::put_local_pid(out, to, state);
                            etf::put_remote_pid(out, &from);
                        },
                        None,
                    );
                    if let Some(conn) = state.existing(from.node.name()) {
                        conn.queue(frame);
                    }
                }
            }
        }
        UNLINK_ID_ACK | GROUP_LEADER => {}
        crate::erpc::SPAWN_REQUEST | crate::erpc::SPAWN_REQUEST_TT => {
            crate::erpc::spawn_request(state, handle, fields, message);
        }
        EXIT | EXIT_TT | PAYLOAD_EXIT | PAYLOAD_EXIT_TT => {
            let reason = match op {
                EXIT => field(3),
                EXIT_TT => field(4),
                _ => payload(message)?,
            };
            if let (Some(from), Some(to)) = (remote(&field(1)), local(&field(2))) {
                // Void if the link is gone (unlinked meanwhile).
                if remove_link(state, to, &from) {
                    handle.exit(to, from, reason, true);
                }
            }
        }
        EXIT2 | EXIT2_TT | PAYLOAD_EXIT2 | PAYLOAD_EXIT2_TT => {
            let reason = match op {
                EXIT2 => field(3),
                EXIT2_TT => field(4),
                _ => payload(message)?,
            };
            if let (Some(from), Some(to)) = (remote(&field(1)), local(&field(2))) {
                handle.exit(to, from, reason, false);
            }
        }
        MONITOR_P => {
            let (Some(watcher), target, reference) = (remote(&field(1)), field(2), field(3)) else {
                return Ok(());
            };
            let (pid, name) = match &target {
                // `net_adm:ping` monitors the peer's net_kernel while it
                // calls it: the stand-in below never goes away.
                Value::Atom(name)
                    if name.name() == "net_kernel" && handle.whereis(*name).is_none() =>
                {
                    return Ok(());
                }
                // Erlang's `pg` monitors this node's scope, which lasts
                // as long as the connection.
                Value::RemotePid(pid) if crate::pg::is_scope(state, pid) => return Ok(()),
                Value::Atom(name)
                    if crate::pg::is_scope_name(*name) && handle.whereis(*name).is_none() =>
                {
                    return Ok(());
                }
                Value::Atom(name) => (handle.whereis(*name), Some(*name)),
                other => (local(other), None),
            };
            let key = handle.make_ref();
            let Some(pid) = pid else {
                // No process has that name: the monitor fires at once.
                let frame = monitor_exit_frame(
                    state,
                    &target,
                    &watcher,
                    &reference,
                    &Value::atom("noproc"),
                );
                if let Some(conn) = state.existing(watcher.node.name()) {
                    conn.queue(frame);
                }
                return Ok(());
            };
            {
                let mut tables = lock(&state.tables);
                tables
                    .monitor_keys
                    .insert((watcher.clone(), reference.clone()), key);
                tables.monitors_in.insert(
                    key,
                    MonitorIn {
                        watcher,
                        reference,
                        target: pid,
                        name,
                    },
                );
            }
            handle.monitor(pid, key);
        }
        DEMONITOR_P => {
            if let Some(watcher) = remote(&field(1)) {
                let found = {
                    let mut tables = lock(&state.tables);
                    let key = tables.monitor_keys.remove(&(watcher, field(3)));
                    if let Some(key) = key {
                        // An `erpc` call the caller gave up on (timeout).
                        tables.calls.remove(&key);
                    }
                    key.and_then(|key| tables.monitors_in.remove(&key).map(|m| (m.target, key)))
                };
                if let Some((target, key)) = found {
                    handle.demonitor(target, key);
                }
            }
        }
        MONITOR_P_EXIT | PAYLOAD_MONITOR_P_EXIT => {
            let reason = if op == MONITOR_P_EXIT {
                field(4)
            } else {
                payload(message)?
            };
            if let Value::RemotePid(to) = field(2) {
                if crate::pg::is_scope(state, &to) {
                    crate::pg::scope_down(state, &field(3));
                }
                return Ok(());
            }
            let (Some(to), Value::Ref(reference)) = (local(&field(2)), field(3)) else {
                return Ok(());
            };
            let found = lock(&state.tables).monitors_out.remove(&reference);
            if let Some(monitor) = found {
                if monitor.watcher == to {
                    handle.down(to, reference, monitor.target, reason);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

pub(crate) const ALIAS_SEND: i64 = 33;

/// A stand-in for Erlang's `net_kernel`, for the one call peers make of it:
/// `net_adm:ping/1`'s `gen:call(..., {is_auth, Node})`, answered `yes`. The
/// call's tag is an improper list (`[alias | Ref]`) that Weft values cannot
/// hold, so this reads the raw message: `{'$gen_call', {From, Tag},
/// {is_auth, _}}`, and replies `{Tag, yes}` to the alias (or to `From`
/// for a plain tag). Anything else sent to `net_kernel` is dropped.
fn net_kernel(state: &NodeState, raw: &[u8]) -> Option<()> {
    let element = |at: usize| etf::decode_element(raw.get(at..)?, state).ok();
    // 131, {3-tuple: '$gen_call', {2-tuple: From, Tag}, Request}
    if raw.get(..3)? != [etf::VERSION, 104, 3] {
        return None;
    }
    let (label, used) = element(3)?;
    if label != Value::atom("$gen_call") {
        return None;
    }
    let mut at = 3 + used;
    if raw.get(at..at + 2)? != [104, 2] {
        return None;
    }
    at += 2;
    let (from, used) = element(at)?;
    let from = remote(&from)?;
    at += used;
    let tag_start = at;
    let (_, used) = element(at)?;
    let tag = raw.get(tag_start..tag_start + used)?;
    let (request, _) = element(tag_start + used)?;
    match request.as_tuple() {
        Some([kind, _]) if *kind == Value::atom("is_auth") => {}
        _ => return None,
    }
    let alias = alias_of(state, tag).unwrap_or(&[]);
    let mut body = vec![PASS_THROUGH, etf::VERSION];
    etf::put_tuple_header(&mut body, 3);
    if alias.is_empty() {
        // {SEND, Unused, ToPid}
        etf::put_int(&mut body, SEND);
        etf::put_atom_name(&mut body, "");
        etf::put_remote_pid(&mut body, &from);
    } else {
        // {ALIAS_SEND, FromPid, Alias}; the sender is this node's pid 0.
        etf::put_int(&mut body, ALIAS_SEND);
        etf::put_pid_parts(&mut body, state.name, 0, 0, state.creation);
        body.extend_from_slice(alias);
    }
    body.extend_from_slice(&[etf::VERSION, 104, 2]);
    body.extend_from_slice(tag);
    etf::put_atom_name(&mut body, "yes");
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    state.existing(from.node.name())?.queue(frame);
    Some(())
}

/// The alias of a `gen_server:call` tag (`[alias | Ref]`, as `gen:reply`
/// reads it): the reference's bytes. The tag is LIST_EXT of length 1, the
/// atom `alias`, then the reference as the tail.
pub(crate) fn alias_of<'t>(state: &NodeState, tag: &'t [u8]) -> Option<&'t [u8]> {
    if tag.get(..5)? != [108, 0, 0, 0, 1] {
        return None;
    }
    let (head, used) = etf::decode_element(tag.get(5..)?, state).ok()?;
    let alias = tag.get(5 + used..)?;
    // NEWER_REFERENCE_EXT (90), or the older REFERENCE_EXT forms.
    (head == Value::atom("alias") && matches!(alias.first(), Some(90 | 114 | 101))).then_some(alias)
}

/// Removes the link between local `local` and remote `remote`; whether
/// there was one.
fn remove_link(state: &NodeState, local: Pid, remote: &RemotePid) -> bool {
    let mut tables = lock(&state.tables);
    let Some(remotes) = tables.links.get_mut(&local) else {
        return false;
    };
    let before = remotes.len();
    remotes.retain(|r| **r != *remote);
    let removed = remotes.len() < before;
    if remotes.is_empty() {
        tables.links.remove(&local);
    }
    removed
}

pub(crate) fn monitor_exit_frame(
    state: &NodeState,
    target: &Value,
    watcher: &RemotePid,
    reference: &Value,
    reason: &Value,
) -> Vec<u8> {
    state.frame(
        |out| {
            // {MONITOR_P_EXIT, FromProc, ToPid, Ref, Reason}
            etf::put_tuple_header(out, 5);
            etf::put_int(out, MONITOR_P_EXIT);
            etf::encode_bare(out, target, state);
            etf::put_remote_pid(out, watcher);
            etf::encode_bare(out, reference, state);
            etf::encode_bare(out, reason, state);
        },
        None,
    )
}
