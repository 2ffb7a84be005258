//! TCP for the `net` module: sockets whose waits park only the calling
//! process, driven by one poller thread (mio) per VM.
//!
//! A native first tries its operation at once, without blocking (a read
//! from the socket's buffer or the socket, a write); only if the socket is
//! not ready does it park the process and hand a request to the poller,
//! which finishes it when mio reports readiness, or when its deadline
//! passes, and wakes the process with the result (`Port::complete`,
//! the path the distribution's threads use). Active sockets
//! (`net.controlling`) get their data delivered as messages the same way.
//!
//! Invariants:
//! - Every mio source is registered, polled and deregistered by the poller
//!   thread only; other threads reach a socket's stream through its mutex,
//!   never blocking on it (the stream is non-blocking).
//! - A request is tried once when the poller receives it, before waiting
//!   for an event: with edge-triggered readiness, an event that fired before
//!   the request arrived would otherwise be lost.
//! - At most one read request waits per socket (the owner's); writes wait
//!   in order.
//! - A closed socket (`net.close`, or its owner's end) answers every
//!   waiting request (a read gets nil, a write `(:error, :closed)`) and is
//!   deregistered; later operations on it see it closed.
//! - A waiter's token makes a late answer harmless: a process that was
//!   killed or woken otherwise drops it (`Handoff` token check).

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::data::atom::Atom;
use crate::data::lock;
use crate::data::resource::{Handle, Resource};
use crate::data::value::{Pid, Value};
use crate::process::ctx::{Port, Source, Waiter};

/// The most bytes one `net.recv` returns, and a line may hold.
pub(crate) const CHUNK: usize = 64 * 1024;

const WAKER: Token = Token(0);

/// A socket or listener as its resource holds it.
pub(crate) struct Socket {
    pub token: Token,
    pub kind: SocketKind,
    /// Bytes read but not yet returned (a partial line).
    pub buffer: Mutex<Vec<u8>>,
    pub closed: AtomicBool,
    /// The peer closed its side (reads return nil once the buffer is empty).
    pub ended: AtomicBool,
    /// The poller that watches it (gone when the VM is).
    pub net: std::sync::Weak<Net>,
    /// The owner's pid bits: the process whose end closes it (the opener,
    /// until `net.controlling` hands it to another).
    pub owner: std::sync::atomic::AtomicU64,
    /// Reads deliver bytes values (`%{:mode => :bytes}`), not text.
    pub bytes_mode: AtomicBool,
    /// The longest line `recv_line` returns, in bytes (`:max_line`).
    pub max_line: std::sync::atomic::AtomicUsize,
    /// A line over `max_line` was refused: what is left of it, up to its
    /// newline, is dropped as it arrives.
    pub discarding: AtomicBool,
}

/// The longest line `net.recv_line` returns unless a socket says otherwise
/// (1 MiB, LANGUAGE.md §9).
pub(crate) const MAX_LINE: usize = 1 << 20;

impl Socket {
    fn new(token: Token, kind: SocketKind, net: &Arc<Net>) -> Socket {
        Socket {
            token,
            kind,
            buffer: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            net: Arc::downgrade(net),
            owner: std::sync::atomic::AtomicU64::new(0),
            bytes_mode: AtomicBool::new(false),
            max_line: std::sync::atomic::AtomicUsize::new(MAX_LINE),
            discarding: AtomicBool::new(false),
        }
    }

    /// Takes `other`'s options (an accepted socket, its listener's).
    pub fn copy_options(&self, other: &Socket) {
        self.bytes_mode
            .store(other.bytes_mode.load(Ordering::Acquire), Ordering::Release);
        self.max_line
            .store(other.max_line.load(Ordering::Acquire), Ordering::Release);
    }
}

impl Socket {
    /// Closes it (once): the descriptor goes now; the poller answers its
    /// waiters and forgets it.
    pub fn close(&self) {
        match &self.kind {
            SocketKind::Stream(stream) => {
                if let Some(stream) = lock(stream).take() {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                }
            }
            SocketKind::Listener(listener) => drop(lock(listener).take()),
        }
        if let Some(net) = self.net.upgrade() {
            net.close(self);
        } else {
            self.closed.store(true, Ordering::Release);
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Handle for Socket {
    fn close(&self) {
        Socket::close(self)
    }

    fn is_closed(&self) -> bool {
        Socket::is_closed(self)
    }

    /// The process whose end closes it: the opener, until `net.controlling`
    /// hands it on.
    fn owned_by(&self, pid: Pid) -> bool {
        self.owner.load(Ordering::Acquire) == pid.0
    }

    fn kind(&self) -> &'static str {
        "socket"
    }

    /// `socket A -> B`, `listener A`.
    fn label(&self, name: &str) -> String {
        name.to_string()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub(crate) enum SocketKind {
    /// `None` once closed: closing drops the descriptor at once, so the
    /// port is free and the peer sees the end.
    Stream(Mutex<Option<TcpStream>>),
    Listener(Mutex<Option<TcpListener>>),
}

/// How a read wants its data.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum ReadMode {
    Chunk,
    Line,
}

enum Request {
    Register(Arc<Resource>),
    Accept(Arc<Resource>, Waiter),
    Read(Arc<Resource>, Waiter, ReadMode, Option<Instant>),
    Write(Arc<Resource>, Waiter, Vec<u8>),
    Connect(SocketAddr, Waiter),
    /// A resolver thread's answer for a `connect` by host name.
    Resolved(Option<SocketAddr>, Waiter),
    Active(Arc<Resource>, Pid),
    Close(Token),
}

/// The VM's side of the poller: where natives send requests.
pub(crate) struct Net {
    requests: Mutex<Sender<Request>>,
    waker: Waker,
    next_token: AtomicUsize,
    /// Open sockets and listeners: while any is open, an idle VM may still
    /// be woken from the network.
    pub open: AtomicUsize,
    /// Requests the poller has not answered yet (a connect waits even when
    /// nothing is open): counted up before a request is sent, down after
    /// its answer has woken the caller.
    pub waiting: AtomicUsize,
    /// Host names waiting to be resolved, and the resolver threads.
    lookups: Arc<Lookups>,
}

/// Resolving a host name can take seconds (a silent DNS server: ten), so
/// it happens on resolver threads — never a scheduler, never the poller —
/// and only the caller waits. Up to `RESOLVERS` threads run, started when a
/// name comes and none is idle, and each ends after `RESOLVER_IDLE` with
/// nothing to do.
struct Lookups {
    queue: Mutex<LookupQueue>,
    ready: std::sync::Condvar,
}

#[derive(Default)]
struct LookupQueue {
    names: VecDeque<(String, u16, Waiter)>,
    threads: usize,
    idle: usize,
}

const RESOLVERS: usize = 4;
const RESOLVER_IDLE: Duration = Duration::from_secs(10);

impl Net {
    /// Starts the poller thread.
    pub fn start(handle: Box<dyn Port>) -> std::io::Result<Arc<Net>> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let (sender, receiver) = channel();
        let net = Arc::new(Net {
            requests: Mutex::new(sender),
            waker,
            next_token: AtomicUsize::new(1),
            open: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            lookups: Arc::new(Lookups {
                queue: Mutex::new(LookupQueue::default()),
                ready: std::sync::Condvar::new(),
            }),
        });
        let poller = Poller {
            poll,
            receiver,
            handle,
            entries: HashMap::new(),
            net: Arc::downgrade(&net),
        };
        std::thread::Builder::new()
            .name("weft-net".into())
            .spawn(move || poller.run())?;
        Ok(net)
    }

    fn send(&self, request: Request) {
        let _ = lock(&self.requests).send(request);
        let _ = self.waker.wake();
    }

    pub fn token(&self) -> Token {
        Token(self.next_token.fetch_add(1, Ordering::Relaxed))
    }

    pub fn register(&self, resource: Arc<Resource>) {
        self.open.fetch_add(1, Ordering::AcqRel);
        self.send(Request::Register(resource));
    }

    pub fn accept(&self, listener: Arc<Resource>, waiter: Waiter) {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        self.send(Request::Accept(listener, waiter));
    }

    pub fn read(
        &self,
        socket: Arc<Resource>,
        waiter: Waiter,
        mode: ReadMode,
        deadline: Option<Instant>,
    ) {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        self.send(Request::Read(socket, waiter, mode, deadline));
    }

    pub fn write(&self, socket: Arc<Resource>, waiter: Waiter, data: Vec<u8>) {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        self.send(Request::Write(socket, waiter, data));
    }

    pub fn connect(&self, address: SocketAddr, waiter: Waiter) {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        self.send(Request::Connect(address, waiter));
    }

    /// Connects to `host` (a name to resolve first) on a resolver thread;
    /// the caller waits, the scheduler does not.
    pub fn connect_host(self: &Arc<Net>, host: String, port: u16, waiter: Waiter) {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let mut queue = lock(&self.lookups.queue);
        queue.names.push_back((host, port, waiter));
        if queue.idle == 0 && queue.threads < RESOLVERS {
            queue.threads += 1;
            let net = Arc::downgrade(self);
            let lookups = self.lookups.clone();
            let started = std::thread::Builder::new()
                .name("weft-resolve".into())
                .spawn(move || resolve_loop(&lookups, &net));
            if started.is_err() {
                queue.threads -= 1;
            }
        }
        drop(queue);
        self.lookups.ready.notify_one();
    }

    pub fn active(&self, socket: Arc<Resource>, pid: Pid) {
        self.send(Request::Active(socket, pid));
    }

    /// Closes a socket or listener (once).
    pub fn close(&self, socket: &Socket) {
        if !socket.closed.swap(true, Ordering::AcqRel) {
            self.open.fetch_sub(1, Ordering::AcqRel);
            self.send(Request::Close(socket.token));
        }
    }
}

/// A stand-in for the system resolver, for tests that need a slow one
/// (`weft_vm::testing::set_resolver`).
pub(crate) static RESOLVER: std::sync::OnceLock<fn(&str, u16) -> Option<SocketAddr>> =
    std::sync::OnceLock::new();

/// A resolver thread: resolves names until none comes for a while, and
/// hands each answer to the poller.
fn resolve_loop(lookups: &Lookups, net: &std::sync::Weak<Net>) {
    use std::net::ToSocketAddrs;
    loop {
        let next = {
            let mut queue = lock(&lookups.queue);
            queue.idle += 1;
            let (mut queue, _) = lookups
                .ready
                .wait_timeout_while(queue, RESOLVER_IDLE, |q| q.names.is_empty())
                .unwrap_or_else(|e| e.into_inner());
            queue.idle -= 1;
            match queue.names.pop_front() {
                Some(next) => next,
                None => {
                    queue.threads -= 1;
                    return;
                }
            }
        };
        let (host, port, waiter) = next;
        let address = match RESOLVER.get() {
            Some(resolve) => resolve(&host, port),
            // IPv4 first: most servers a script names listen there.
            None => (host.as_str(), port).to_socket_addrs().ok().and_then(|a| {
                let all: Vec<SocketAddr> = a.collect();
                all.iter().find(|a| a.is_ipv4()).or(all.first()).copied()
            }),
        };
        let Some(net) = net.upgrade() else {
            lock(&lookups.queue).threads -= 1;
            return;
        };
        net.send(Request::Resolved(address, waiter));
    }
}

/// While a socket is open or a request unanswered, the network may wake a
/// process: an idle VM is waiting, not deadlocked.
impl Source for Net {
    fn may_wake(&self) -> bool {
        self.open.load(Ordering::Acquire) > 0 || self.waiting.load(Ordering::Acquire) > 0
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // The poller ends when its request channel is gone; wake it to see.
        let _ = self.waker.wake();
    }
}

/// Takes what a read can return from `buffer` (the socket's, locked) now:
/// a chunk (everything, up to CHUNK bytes) or a whole line (without its
/// line ending), as text or bytes as the socket says.
///
/// Text is decoded over the stream, not per read: a chunk never ends
/// inside a character (its last bytes wait for the rest, unless the
/// stream has ended), and a line is decoded whole, so only bytes that are
/// truly invalid UTF-8 become U+FFFD. A line longer than the socket's
/// `max_line` is `(:error, :line_too_long)`; the rest of it is dropped up
/// to its newline, and the next line arrives as usual.
pub(crate) fn take_ready(
    socket: &Socket,
    buffer: &mut Vec<u8>,
    mode: ReadMode,
    ended: bool,
) -> Option<Value> {
    let bytes_mode = socket.bytes_mode.load(Ordering::Acquire);
    let wrap = |data: Vec<u8>| -> Value {
        if bytes_mode {
            Value::bytes(data)
        } else {
            text(data)
        }
    };
    match mode {
        ReadMode::Chunk if !buffer.is_empty() => {
            if socket.discarding.load(Ordering::Acquire) {
                // The rest of a line `recv_line` refused: dropped up to
                // its newline, whichever read comes next.
                match buffer.iter().position(|b| *b == b'\n') {
                    Some(at) => {
                        buffer.drain(..=at);
                        socket.discarding.store(false, Ordering::Release);
                        if buffer.is_empty() {
                            return None;
                        }
                    }
                    None => {
                        buffer.clear();
                        return None;
                    }
                }
            }
            let mut n = buffer.len().min(CHUNK);
            // A cut inside a character waits for the rest of it, unless
            // this takes all there will ever be.
            if !bytes_mode && !(ended && n == buffer.len()) {
                n = char_boundary(buffer, n);
                if n == 0 {
                    return None;
                }
            }
            let bytes: Vec<u8> = buffer.drain(..n).collect();
            Some(wrap(bytes))
        }
        ReadMode::Line => loop {
            let max_line = socket.max_line.load(Ordering::Acquire);
            let newline = buffer.iter().position(|b| *b == b'\n');
            if socket.discarding.load(Ordering::Acquire) {
                match newline {
                    Some(at) => {
                        buffer.drain(..=at);
                        socket.discarding.store(false, Ordering::Release);
                        continue;
                    }
                    None => {
                        buffer.clear();
                        return None;
                    }
                }
            }
            return match newline {
                Some(at) => {
                    let mut line: Vec<u8> = buffer.drain(..=at).collect();
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if line.len() > max_line {
                        Some(line_too_long())
                    } else {
                        Some(wrap(line))
                    }
                }
                None if buffer.len() > max_line.saturating_add(1) => {
                    // Too long already (one byte more may be a `\r`): refused
                    // now, the rest dropped as it comes.
                    buffer.clear();
                    socket.discarding.store(true, Ordering::Release);
                    Some(line_too_long())
                }
                None if ended && !buffer.is_empty() => {
                    // A last line without a newline comes at the end.
                    let line = std::mem::take(buffer);
                    if line.len() > max_line {
                        Some(line_too_long())
                    } else {
                        Some(wrap(line))
                    }
                }
                None => None,
            };
        },
        ReadMode::Chunk => None,
    }
}

fn line_too_long() -> Value {
    Value::tuple(vec![Value::Atom(Atom::ERROR), Value::atom("line_too_long")])
}

/// The longest prefix of `buffer[..n]` that does not end inside a UTF-8
/// character whose remaining bytes may still come (an invalid sequence is
/// not held back: it will never become valid).
fn char_boundary(buffer: &[u8], n: usize) -> usize {
    // A character is at most 4 bytes: look at the last 3 for a lead byte.
    for back in 1..=3.min(n) {
        let byte = buffer[n - back];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue; // a continuation byte: look further back
        }
        let length = match byte {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 1,
        };
        let start = n - back;
        let rest = &buffer[start + 1..buffer.len().min(start + length)];
        if back < length && rest.iter().all(|b| b & 0b1100_0000 == 0b1000_0000) {
            // Cut before it, so it arrives whole in the next piece.
            return start;
        }
        return n;
    }
    n
}

fn text(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(text) => Value::str(text),
        Err(error) => Value::str(String::from_utf8_lossy(error.as_bytes()).into_owned()),
    }
}

/// Reads what the socket has into its buffer without blocking; whether the
/// peer has closed (or the socket failed).
pub(crate) fn fill(socket: &Socket) -> bool {
    let SocketKind::Stream(stream) = &socket.kind else {
        return true;
    };
    let mut stream = lock(stream);
    let Some(stream) = stream.as_mut() else {
        return true;
    };
    let mut buffer = lock(&socket.buffer);
    let mut chunk = [0u8; 16 * 1024];
    // Enough for the longest line a reader takes, and a few chunks.
    let high_water = (CHUNK * 4).max(socket.max_line.load(Ordering::Acquire).saturating_add(2));
    loop {
        if buffer.len() >= high_water {
            return false;
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                socket.ended.store(true, Ordering::Release);
                return true;
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                socket.ended.store(true, Ordering::Release);
                return true;
            }
        }
    }
}

/// Writes as much of `data` as the socket takes now; how much it took, or
/// None if the socket failed.
pub(crate) fn write_some(socket: &Socket, data: &[u8]) -> Option<usize> {
    let SocketKind::Stream(stream) = &socket.kind else {
        return None;
    };
    let mut stream = lock(stream);
    let stream = stream.as_mut()?;
    let mut written = 0;
    while written < data.len() {
        match stream.write(&data[written..]) {
            Ok(0) => return None,
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(written)
}

pub(crate) fn socket_of(resource: &Resource) -> Option<&Socket> {
    resource.get::<Socket>()
}

/// A new socket resource for a connected stream.
pub(crate) fn stream_resource(net: &Arc<Net>, stream: TcpStream) -> Arc<Resource> {
    let label = match (stream.local_addr(), stream.peer_addr()) {
        (Ok(local), Ok(peer)) => format!("socket {local} -> {peer}"),
        _ => "socket".to_string(),
    };
    Arc::new(Resource::new(
        label,
        Socket::new(
            net.token(),
            SocketKind::Stream(Mutex::new(Some(stream))),
            net,
        ),
    ))
}

/// A new listener resource.
pub(crate) fn listener_resource(net: &Arc<Net>, listener: TcpListener) -> Arc<Resource> {
    let label = match listener.local_addr() {
        Ok(address) => format!("listener {address}"),
        Err(_) => "listener".to_string(),
    };
    Arc::new(Resource::new(
        label,
        Socket::new(
            net.token(),
            SocketKind::Listener(Mutex::new(Some(listener))),
            net,
        ),
    ))
}

struct Entry {
    resource: Arc<Resource>,
    read: Option<(Waiter, ReadMode, Option<Instant>)>,
    writes: VecDeque<(Waiter, Vec<u8>)>,
    accepts: VecDeque<Waiter>,
    active: Option<Pid>,
}

impl Entry {
    fn new(resource: Arc<Resource>) -> Entry {
        Entry {
            resource,
            read: None,
            writes: VecDeque::new(),
            accepts: VecDeque::new(),
            active: None,
        }
    }
}

struct Poller {
    poll: Poll,
    receiver: Receiver<Request>,
    handle: Box<dyn Port>,
    entries: HashMap<Token, Entry>,
    net: std::sync::Weak<Net>,
}

impl Poller {
    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut connecting: HashMap<Token, (Arc<Resource>, Waiter)> = HashMap::new();
        loop {
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if self.poll.poll(&mut events, timeout).is_err() {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Requests first: each is tried at once (see the invariants).
            loop {
                match self.receiver.try_recv() {
                    Ok(request) => self.request(request, &mut connecting),
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                }
            }
            for event in events.iter() {
                let token = event.token();
                if token == WAKER {
                    continue;
                }
                if let Some((resource, waiter)) = connecting.remove(&token) {
                    self.connected(
                        resource,
                        waiter,
                        event.is_error() || event.is_write_closed(),
                    );
                    continue;
                }
                self.progress(token);
            }
            self.expire();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter_map(|e| e.read.as_ref().and_then(|r| r.2))
            .min()
    }

    fn request(
        &mut self,
        request: Request,
        connecting: &mut HashMap<Token, (Arc<Resource>, Waiter)>,
    ) {
        match request {
            Request::Register(resource) => {
                let Some(socket) = socket_of(&resource) else {
                    return;
                };
                let token = socket.token;
                let registered = match &socket.kind {
                    SocketKind::Stream(stream) => match lock(stream).as_mut() {
                        Some(stream) => self.poll.registry().register(
                            stream,
                            token,
                            Interest::READABLE | Interest::WRITABLE,
                        ),
                        None => Err(ErrorKind::NotConnected.into()),
                    },
                    SocketKind::Listener(listener) => match lock(listener).as_mut() {
                        Some(listener) => {
                            self.poll
                                .registry()
                                .register(listener, token, Interest::READABLE)
                        }
                        None => Err(ErrorKind::NotConnected.into()),
                    },
                };
                if registered.is_ok() {
                    self.entries.insert(token, Entry::new(resource));
                }
            }
            Request::Accept(resource, waiter) => {
                let token = socket_of(&resource).map(|s| s.token);
                match token.and_then(|t| self.entries.get_mut(&t)) {
                    Some(entry) => {
                        entry.accepts.push_back(waiter);
                        let token = token.unwrap_or(WAKER);
                        self.progress(token);
                    }
                    None => answer(&mut self.handle, &self.net, waiter, closed_error()),
                }
            }
            Request::Read(resource, waiter, mode, deadline) => {
                let token = socket_of(&resource).map(|s| s.token);
                match token.and_then(|t| self.entries.get_mut(&t)) {
                    Some(entry) => {
                        entry.read = Some((waiter, mode, deadline));
                        let token = token.unwrap_or(WAKER);
                        self.progress(token);
                    }
                    None => answer(&mut self.handle, &self.net, waiter, Value::Nil),
                }
            }
            Request::Write(resource, waiter, data) => {
                let token = socket_of(&resource).map(|s| s.token);
                match token.and_then(|t| self.entries.get_mut(&t)) {
                    Some(entry) => {
                        entry.writes.push_back((waiter, data));
                        let token = token.unwrap_or(WAKER);
                        self.progress(token);
                    }
                    None => answer(&mut self.handle, &self.net, waiter, closed_error()),
                }
            }
            Request::Resolved(None, waiter) => {
                answer(&mut self.handle, &self.net, waiter, error_value("nxdomain"))
            }
            Request::Resolved(Some(address), waiter) | Request::Connect(address, waiter) => {
                let Some(net) = self.net.upgrade() else {
                    return;
                };
                match TcpStream::connect(address) {
                    Ok(stream) => {
                        let resource = stream_resource(&net, stream);
                        let Some(socket) = socket_of(&resource) else {
                            return;
                        };
                        let token = socket.token;
                        let SocketKind::Stream(stream) = &socket.kind else {
                            return;
                        };
                        let registered = match lock(stream).as_mut() {
                            Some(stream) => self.poll.registry().register(
                                stream,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            ),
                            None => Err(ErrorKind::NotConnected.into()),
                        };
                        if registered.is_ok() {
                            connecting.insert(token, (resource, waiter));
                        } else {
                            answer(&mut self.handle, &self.net, waiter, error_value("connect"));
                        }
                    }
                    Err(e) => answer(&mut self.handle, &self.net, waiter, os_error(&e)),
                }
            }
            Request::Active(resource, pid) => {
                let token = socket_of(&resource).map(|s| s.token);
                if let Some(entry) = token.and_then(|t| self.entries.get_mut(&t)) {
                    entry.active = Some(pid);
                    let token = token.unwrap_or(WAKER);
                    self.progress(token);
                }
            }
            Request::Close(token) => {
                if let Some(mut entry) = self.entries.remove(&token) {
                    // The descriptor went when the socket was closed
                    // (`Socket::close`); dropping it left epoll too.
                    if let Some((waiter, _, _)) = entry.read.take() {
                        answer(&mut self.handle, &self.net, waiter, Value::Nil);
                    }
                    for (waiter, _) in entry.writes.drain(..) {
                        answer(&mut self.handle, &self.net, waiter, closed_error());
                    }
                    for waiter in entry.accepts.drain(..) {
                        answer(&mut self.handle, &self.net, waiter, closed_error());
                    }
                }
            }
        }
    }

    /// A connect finished (or failed): the caller gets the socket, which is
    /// now an ordinary registered entry.
    fn connected(&mut self, resource: Arc<Resource>, waiter: Waiter, failed: bool) {
        let Some(socket) = socket_of(&resource) else {
            return;
        };
        let SocketKind::Stream(stream) = &socket.kind else {
            return;
        };
        let error = failed || lock(stream).as_ref().is_none_or(|s| s.peer_addr().is_err());
        if error {
            if let Some(stream) = lock(stream).as_mut() {
                let _ = self.poll.registry().deregister(stream);
            }
            answer(
                &mut self.handle,
                &self.net,
                waiter,
                error_value("econnrefused"),
            );
            return;
        }
        if let Some(net) = self.net.upgrade() {
            net.open.fetch_add(1, Ordering::AcqRel);
        }
        self.entries
            .insert(socket.token, Entry::new(resource.clone()));
        answer(
            &mut self.handle,
            &self.net,
            waiter,
            Value::Resource(resource),
        );
    }

    /// Does what the entry's waiters wait for, as far as the socket allows.
    fn progress(&mut self, token: Token) {
        let Some(net) = self.net.upgrade() else {
            return;
        };
        let Some(resource) = self.entries.get(&token).map(|entry| entry.resource.clone()) else {
            return;
        };
        let Some(socket) = socket_of(&resource) else {
            return;
        };
        match &socket.kind {
            SocketKind::Listener(listener) => loop {
                let Some(entry) = self.entries.get_mut(&token) else {
                    return;
                };
                if entry.accepts.is_empty() {
                    return;
                }
                let Some(accepted) = lock(listener).as_ref().map(|l| l.accept()) else {
                    return;
                };
                match accepted {
                    Ok((stream, _)) => {
                        let Some(waiter) = entry.accepts.pop_front() else {
                            return;
                        };
                        let resource = stream_resource(&net, stream);
                        self.register_stream(&net, &resource);
                        answer(
                            &mut self.handle,
                            &self.net,
                            waiter,
                            Value::Resource(resource),
                        );
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => return,
                }
            },
            SocketKind::Stream(_) => {
                let Some(entry) = self.entries.get_mut(&token) else {
                    return;
                };
                // Writes, in order.
                while let Some((waiter, data)) = entry.writes.front_mut() {
                    match write_some(socket, data) {
                        Some(n) if n == data.len() => {
                            let waiter = *waiter;
                            entry.writes.pop_front();
                            answer(&mut self.handle, &self.net, waiter, Value::Atom(Atom::OK));
                        }
                        Some(n) => {
                            data.drain(..n);
                            break;
                        }
                        None => {
                            let waiter = *waiter;
                            entry.writes.pop_front();
                            answer(&mut self.handle, &self.net, waiter, closed_error());
                        }
                    }
                }
                // A waiting read, or an active socket's next message.
                if entry.read.is_some() || entry.active.is_some() {
                    let ended = fill(socket);
                    let ended = ended || socket.ended.load(Ordering::Acquire);
                    if let Some((waiter, mode, _)) = entry.read {
                        let mut buffer = lock(&socket.buffer);
                        if let Some(value) = take_ready(socket, &mut buffer, mode, ended) {
                            entry.read = None;
                            drop(buffer);
                            answer(&mut self.handle, &self.net, waiter, value);
                        } else if ended {
                            entry.read = None;
                            drop(buffer);
                            answer(&mut self.handle, &self.net, waiter, Value::Nil);
                        }
                    } else if let Some(pid) = entry.active {
                        let mut buffer = lock(&socket.buffer);
                        let sock = Value::Resource(entry.resource.clone());
                        if let Some(value) = take_ready(socket, &mut buffer, ReadMode::Chunk, ended)
                        {
                            entry.active = None;
                            drop(buffer);
                            self.handle
                                .send(pid, Value::tuple(vec![Value::atom("tcp"), sock, value]));
                        } else if ended {
                            entry.active = None;
                            drop(buffer);
                            self.handle
                                .send(pid, Value::tuple(vec![Value::atom("tcp_closed"), sock]));
                        }
                    }
                }
            }
        }
    }

    /// Registers an accepted stream and gives it an entry (it is open).
    fn register_stream(&mut self, net: &Arc<Net>, resource: &Arc<Resource>) {
        let Some(socket) = socket_of(resource) else {
            return;
        };
        let SocketKind::Stream(stream) = &socket.kind else {
            return;
        };
        net.open.fetch_add(1, Ordering::AcqRel);
        let registered = match lock(stream).as_mut() {
            Some(stream) => self.poll.registry().register(
                stream,
                socket.token,
                Interest::READABLE | Interest::WRITABLE,
            ),
            None => Err(ErrorKind::NotConnected.into()),
        };
        if registered.is_ok() {
            self.entries
                .insert(socket.token, Entry::new(resource.clone()));
        }
    }

    /// Reads whose deadline has passed answer :timeout.
    fn expire(&mut self) {
        let now = Instant::now();
        for entry in self.entries.values_mut() {
            if let Some((waiter, _, Some(deadline))) = entry.read {
                if deadline <= now {
                    entry.read = None;
                    answer(&mut self.handle, &self.net, waiter, Value::atom("timeout"));
                }
            }
        }
    }
}

/// Wakes a waiting caller with its answer; then it no longer waits.
fn answer(handle: &mut Box<dyn Port>, net: &std::sync::Weak<Net>, waiter: Waiter, value: Value) {
    handle.complete(waiter, value);
    if let Some(net) = net.upgrade() {
        net.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

fn closed_error() -> Value {
    error_value("closed")
}

fn error_value(reason: &str) -> Value {
    Value::tuple(vec![Value::Atom(Atom::ERROR), Value::atom(reason)])
}

fn os_error(error: &std::io::Error) -> Value {
    let reason = match error.kind() {
        ErrorKind::ConnectionRefused => "econnrefused",
        ErrorKind::AddrInUse => "eaddrinuse",
        ErrorKind::AddrNotAvailable => "eaddrnotavail",
        ErrorKind::TimedOut => "etimedout",
        ErrorKind::PermissionDenied => "eacces",
        _ => "einval",
    };
    error_value(reason)
}
