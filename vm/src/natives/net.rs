//! The `net` module: TCP sockets, present only when the host allows it
//! (`VmBuilder::allow_net`; the `weft` command does). A listener or socket
//! is a `Value::Resource` owned by the process that opened (or accepted, or
//! connected) it and closed when that process ends. Each operation parks
//! only its caller while it waits (`crate::natives::poller` has the poller and its
//! invariants). Failures that a server expects (a refused connection, a
//! closed peer) are values — `(:error, reason)`, or nil for a read at the
//! end — as in Erlang's gen_tcp; a wrong argument is `:badarg`.

use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{badarg, expected, native, str_arg, Ctx, Native, NativeResult, Trap};
use crate::data::atom::Atom;
use crate::data::lock;
use crate::data::resource::Resource;
use crate::data::value::Value;
use crate::natives::poller::{self as net, Net, ReadMode, SocketKind};
use crate::process::ctx::Waiter;
use crate::process::{Handoff, Wait};

pub(crate) const NATIVES: &[Native] = &[
    native("net.listen", 2, 3, listen),
    native("net.accept", 1, 1, accept),
    native("net.connect", 2, 3, connect),
    native("net.send", 2, 2, send),
    native("net.recv", 1, 2, recv),
    native("net.recv_line", 1, 2, recv_line),
    native("net.close", 1, 1, close),
    native("net.controlling", 2, 2, controlling),
    native("net.port", 1, 1, port),
];

/// The VM's poller, started on first use (and known to the VM as something
/// that may wake a process).
fn poller(ctx: &mut Ctx<'_>) -> Result<Arc<Net>, Trap> {
    let vm = &*ctx.vm;
    vm.extensions()
        .get_or_start(|| {
            let net = Net::start(vm.port())
                .map_err(|e| format!("cannot start the network poller: {e}"))?;
            vm.add_source(net.clone());
            Ok(net)
        })
        .map_err(|message| Trap::Error(Atom::IO, message))
}

/// The answer a parked call was woken with, if it was.
fn woken(ctx: &mut Ctx<'_>) -> Option<Value> {
    match ctx.process.handoff.take() {
        Some(Handoff::Received { value, .. }) => Some(value),
        other => {
            ctx.process.handoff = other;
            None
        }
    }
}

/// Parks the caller until the poller answers.
fn park(ctx: &mut Ctx<'_>, operation: &'static str) -> Waiter {
    ctx.park(Wait::Net(operation))
}

/// A socket the caller received (accepted or connected) becomes its own.
fn adopt(ctx: &mut Ctx<'_>, value: Value) -> Value {
    if let Value::Resource(resource) = &value {
        if let Some(socket) = net::socket_of(resource) {
            claim(ctx, resource, socket);
        }
    }
    value
}

/// Makes the caller the socket's owner: its end closes the socket. The
/// caller's list drops what it no longer owns (closed, or handed on) when
/// it fills up, so an acceptor's list stays short.
fn claim(ctx: &mut Ctx<'_>, resource: &Arc<Resource>, socket: &net::Socket) {
    let me = ctx.process.pid.0;
    socket.owner.store(me, std::sync::atomic::Ordering::Release);
    let files = &mut ctx.process.extra().files;
    if files.iter().any(|f| Arc::ptr_eq(f, resource)) {
        return;
    }
    if files.len() == files.capacity() && !files.is_empty() {
        files.retain(|f| match net::socket_of(f) {
            Some(s) => !s.is_closed() && s.owner.load(std::sync::atomic::Ordering::Acquire) == me,
            None => true,
        });
        if files.len() * 2 > files.capacity() {
            files.reserve(files.capacity());
        }
    }
    files.push(resource.clone());
}

fn socket_arg(args: &[Value], function: &str) -> Result<Arc<Resource>, Trap> {
    match &args[0] {
        Value::Resource(r)
            if net::socket_of(r).is_some_and(|s| matches!(s.kind, SocketKind::Stream(_))) =>
        {
            Ok(r.clone())
        }
        other => Err(expected("a socket", function, 0, other)),
    }
}

fn listener_arg(args: &[Value], function: &str) -> Result<Arc<Resource>, Trap> {
    match &args[0] {
        Value::Resource(r)
            if net::socket_of(r).is_some_and(|s| matches!(s.kind, SocketKind::Listener(_))) =>
        {
            Ok(r.clone())
        }
        other => Err(expected("a listener", function, 0, other)),
    }
}

fn port_arg(value: &Value, function: &str, index: usize) -> Result<u16, Trap> {
    match value {
        Value::Int(n) if (0..=65535).contains(n) => Ok(*n as u16),
        other => Err(expected(
            "a port number (0 to 65535)",
            function,
            index,
            other,
        )),
    }
}

fn error(reason: &str) -> Value {
    Value::tuple(vec![Value::Atom(Atom::ERROR), Value::atom(reason)])
}

fn io_reason(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => "eaddrinuse",
        std::io::ErrorKind::AddrNotAvailable => "eaddrnotavail",
        std::io::ErrorKind::PermissionDenied => "eacces",
        std::io::ErrorKind::ConnectionRefused => "econnrefused",
        _ => "einval",
    }
}

/// `net.listen(addr, port)`: a listener on `addr` ("127.0.0.1", "0.0.0.0",
/// "::1"...) and `port` (0: any free port, see `net.port`), or
/// `(:error, reason)`.
fn listen(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let address = str_arg(args, 0, "net.listen")?.to_string();
    let port = port_arg(&args[1], "net.listen", 1)?;
    let options = options_arg(args, "net.listen")?;
    let net = poller(ctx)?;
    let bound = bind(&address, port);
    let listener = match bound {
        Ok(listener) => mio::net::TcpListener::from_std(listener),
        Err(e) => return Ok(error(io_reason(&e))),
    };
    let resource = net::listener_resource(&net, listener);
    if let Some(socket) = net::socket_of(&resource) {
        options.apply(socket);
    }
    net.register(resource.clone());
    Ok(adopt(ctx, Value::Resource(resource)))
}

/// A socket's options (`listen` and `connect`'s third argument).
struct Options {
    bytes: bool,
    max_line: usize,
}

impl Options {
    fn apply(&self, socket: &net::Socket) {
        use std::sync::atomic::Ordering;
        socket.bytes_mode.store(self.bytes, Ordering::Release);
        socket.max_line.store(self.max_line, Ordering::Release);
    }
}

/// The optional options map, argument 2: `:mode` (`:text`, the default,
/// or `:bytes`) and `:max_line` (the longest line `recv_line` returns, in
/// bytes, at least 1; default 1 MiB). Another key is `:badarg`.
fn options_arg(args: &[Value], function: &str) -> Result<Options, Trap> {
    let mut options = Options {
        bytes: false,
        max_line: net::MAX_LINE,
    };
    let Some(given) = args.get(2) else {
        return Ok(options);
    };
    let Value::Map(map) = given else {
        return Err(expected("an options map", function, 2, given));
    };
    for (key, value) in map.iter() {
        match (key.as_atom(), value) {
            (Some("mode"), Value::Atom(mode)) if mode.name() == "text" => options.bytes = false,
            (Some("mode"), Value::Atom(mode)) if mode.name() == "bytes" => options.bytes = true,
            (Some("mode"), other) => {
                return Err(badarg(format!(
                    "{function}: :mode is :text or :bytes, got {}",
                    crate::data::ops::describe_value(other)
                )))
            }
            (Some("max_line"), &Value::Int(n)) if n >= 1 => options.max_line = n as usize,
            (Some("max_line"), other) => {
                return Err(badarg(format!(
                    "{function}: :max_line is a number of bytes (1 or more), got {}",
                    crate::data::ops::describe_value(other)
                )))
            }
            _ => {
                return Err(badarg(format!(
                    "{function}: unknown option {} (the options are :mode and :max_line)",
                    crate::data::ops::describe_value(key)
                )))
            }
        }
    }
    Ok(options)
}

/// How many connections may wait to be accepted: as Go's and Erlang's
/// servers are usually set up (std's default of 128 drops connections
/// from a burst of clients, who then retry seconds later).
const BACKLOG: i32 = 4096;

/// A non-blocking listener with address reuse and a deep backlog.
fn bind(address: &str, port: u16) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let address = (address, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::AddrNotAvailable))?;
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// `net.accept(listener)`: the next connection, as a socket the caller
/// owns; `(:error, :closed)` if the listener is closed.
fn accept(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Some(value) = woken(ctx) {
        // The new socket has its listener's options; nothing has been
        // read from it yet.
        if let (Value::Resource(accepted), Value::Resource(listener)) = (&value, &args[0]) {
            if let (Some(socket), Some(listener)) =
                (net::socket_of(accepted), net::socket_of(listener))
            {
                socket.copy_options(listener);
            }
        }
        return Ok(adopt(ctx, value));
    }
    let listener = listener_arg(args, "net.accept")?;
    if net::socket_of(&listener).is_some_and(|s| s.is_closed()) {
        return Ok(error("closed"));
    }
    let net = poller(ctx)?;
    let waiter = park(ctx, "net.accept");
    net.accept(listener, waiter);
    Err(Trap::Block)
}

/// `net.connect(host, port)`: a socket connected to `host:port`, or
/// `(:error, reason)` (`:econnrefused`...). The name is resolved with the
/// system's resolver.
fn connect(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Some(value) = woken(ctx) {
        // Nothing has been read from the new socket yet: its options
        // hold from its first byte.
        if let Value::Resource(resource) = &value {
            if let Some(socket) = net::socket_of(resource) {
                options_arg(args, "net.connect")?.apply(socket);
            }
        }
        return Ok(adopt(ctx, value));
    }
    let host = str_arg(args, 0, "net.connect")?.to_string();
    let port = port_arg(&args[1], "net.connect", 1)?;
    options_arg(args, "net.connect")?;
    let net = poller(ctx)?;
    let waiter = park(ctx, "net.connect");
    // An address connects at once; a name is resolved on a resolver
    // thread (a silent DNS server must stall only this process).
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => net.connect(std::net::SocketAddr::new(ip, port), waiter),
        Err(_) => net.connect_host(host, port, waiter),
    }
    Err(Trap::Block)
}

/// `net.send(socket, string)`: `:ok` once the socket has taken all of it
/// (the caller waits while the peer reads slowly), or `(:error, :closed)`.
fn send(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    if let Some(value) = woken(ctx) {
        return Ok(value);
    }
    let socket = socket_arg(args, "net.send")?;
    let data = match &args[1] {
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Bytes(b) => b.to_vec(),
        other => return Err(expected("a string or bytes", "net.send", 1, other)),
    };
    let Some(state) = net::socket_of(&socket) else {
        return Err(badarg("net.send: not a socket"));
    };
    if state.is_closed() {
        return Ok(error("closed"));
    }
    match net::write_some(state, &data) {
        Some(n) if n == data.len() => Ok(Value::Atom(Atom::OK)),
        Some(n) => {
            let net = poller(ctx)?;
            let waiter = park(ctx, "net.send");
            net.write(socket, waiter, data[n..].to_vec());
            Err(Trap::Block)
        }
        None => Ok(error("closed")),
    }
}

fn read(
    ctx: &mut Ctx<'_>,
    args: &mut [Value],
    mode: ReadMode,
    function: &'static str,
) -> NativeResult {
    if let Some(value) = woken(ctx) {
        return Ok(value);
    }
    let socket = socket_arg(args, function)?;
    // A timeout of a century or more is no timeout (a deadline that far
    // would overflow the clock's arithmetic).
    const FOREVER_MS: f64 = 100.0 * 365.0 * 24.0 * 3600.0 * 1000.0;
    let timeout = match args.get(1) {
        None => None,
        Some(Value::Int(ms)) if (*ms as f64) < FOREVER_MS => {
            Some(Duration::from_millis((*ms).max(0) as u64))
        }
        Some(Value::Float(ms)) if *ms < FOREVER_MS => {
            Some(Duration::from_secs_f64(ms.max(0.0) / 1000.0))
        }
        Some(Value::Int(_)) => None,
        Some(Value::Float(ms)) if !ms.is_nan() => None,
        Some(other) => return Err(expected("a timeout in milliseconds", function, 1, other)),
    };
    let Some(state) = net::socket_of(&socket) else {
        return Err(badarg(format!("{function}: not a socket")));
    };
    if state.is_closed() {
        return Ok(Value::Nil);
    }
    let ended = net::fill(state) || state.ended.load(std::sync::atomic::Ordering::Acquire);
    {
        let mut buffer = lock(&state.buffer);
        if let Some(value) = net::take_ready(state, &mut buffer, mode, ended) {
            return Ok(value);
        }
    }
    if ended {
        return Ok(Value::Nil);
    }
    if timeout == Some(Duration::ZERO) {
        return Ok(Value::atom("timeout"));
    }
    let net = poller(ctx)?;
    let waiter = park(ctx, function);
    net.read(socket, waiter, mode, timeout.map(|t| Instant::now() + t));
    Err(Trap::Block)
}

/// `net.recv(socket)`, `net.recv(socket, ms)`: the next data (a string of
/// at most 64 KiB that never ends inside a character, or bytes in bytes
/// mode), nil at the end, `:timeout` after `ms`.
fn recv(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    read(ctx, args, ReadMode::Chunk, "net.recv")
}

/// `net.recv_line(socket)`, `net.recv_line(socket, ms)`: the next line
/// without its line ending (`\n` or `\r\n`), nil at the end (a last line
/// without a newline comes first), `:timeout` after `ms`; a line over the
/// socket's `:max_line` is `(:error, :line_too_long)`.
fn recv_line(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    read(ctx, args, ReadMode::Line, "net.recv_line")
}

/// `net.close(socket or listener)`: `:ok`; closing twice does nothing.
fn close(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    match &args[0] {
        Value::Resource(r) if net::socket_of(r).is_some() => {
            r.close();
            Ok(Value::Atom(Atom::OK))
        }
        other => Err(expected("a socket or listener", "net.close", 0, other)),
    }
}

/// `net.controlling(socket, pid)`: `pid` owns the socket from now on (its
/// end closes it), and the next data arrives as the message
/// `(:tcp, socket, data)` to `pid` — once, as Erlang's `{active, once}`:
/// call it again for more — or `(:tcp_closed, socket)` at the end.
fn controlling(ctx: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let socket = socket_arg(args, "net.controlling")?;
    let Value::Pid(pid) = &args[1] else {
        return Err(expected("a pid", "net.controlling", 1, &args[1]));
    };
    let pid = *pid;
    if let Some(state) = net::socket_of(&socket) {
        if pid == ctx.process.pid {
            claim(ctx, &socket, state);
        } else {
            state
                .owner
                .store(pid.0, std::sync::atomic::Ordering::Release);
        }
    }
    let net = poller(ctx)?;
    net.active(socket, pid);
    Ok(Value::Atom(Atom::OK))
}

/// `net.port(socket or listener)`: the local port (for `net.listen(a, 0)`).
fn port(_: &mut Ctx<'_>, args: &mut [Value]) -> NativeResult {
    let Value::Resource(r) = &args[0] else {
        return Err(expected("a socket or listener", "net.port", 0, &args[0]));
    };
    let Some(state) = net::socket_of(r) else {
        return Err(expected("a socket or listener", "net.port", 0, &args[0]));
    };
    let address = match &state.kind {
        SocketKind::Stream(s) => lock(s).as_ref().map(|s| s.local_addr()),
        SocketKind::Listener(l) => lock(l).as_ref().map(|l| l.local_addr()),
    };
    match address {
        Some(Ok(address)) => Ok(Value::Int(address.port() as i64)),
        _ => Ok(Value::Nil),
    }
}
