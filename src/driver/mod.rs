//! The live driver: the thin tokio shell around the sans-IO actors. It owns the sockets and
//! the clock, and nothing else. One loop per core runs every actor of its share: it sleeps
//! until the earliest deadline of all of them (the batched media pacer: every stream that
//! is due is served in the same wake-up) or until a datagram or a message arrives.
//!
//! UDP sockets come bound; TCP and TLS connections are opened on an actor's first message
//! to a peer and accepted on the listeners the actor asks for (see `stream`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::core::Time;
use crate::roles::{Actor, Transport};
use crate::runner::AddrAlloc;

mod stamp;
mod stream;
mod tls;

pub use tls::{TlsError, TlsServer};

/// A bound TCP listener, for SIP over TCP or over TLS.
#[derive(Debug)]
pub struct Listener {
    pub transport: Transport,
    pub socket: std::net::TcpListener,
}

/// Everything a run serves on: UDP sockets, stream listeners, and the certificate TLS
/// listeners present. A listener an actor asks for (`Actor::listeners`) that is not here
/// is bound when the run starts.
#[derive(Debug, Default)]
pub struct Sockets {
    pub udp: Vec<std::net::UdpSocket>,
    pub listeners: Vec<Listener>,
    pub tls_server: Option<TlsServer>,
}

impl From<Vec<std::net::UdpSocket>> for Sockets {
    fn from(udp: Vec<std::net::UdpSocket>) -> Sockets {
        Sockets {
            udp,
            ..Sockets::default()
        }
    }
}

impl From<LiveAddrs> for Sockets {
    fn from(addrs: LiveAddrs) -> Sockets {
        Sockets {
            udp: addrs.sockets,
            listeners: addrs.listeners,
            tls_server: None,
        }
    }
}

/// Binds a real UDP socket per address the scene asks for, on an ephemeral port, so two
/// runs can go side by side; and the TCP listeners of a SIP server.
pub struct LiveAddrs {
    ip: std::net::IpAddr,
    pub sockets: Vec<std::net::UdpSocket>,
    pub listeners: Vec<Listener>,
}

/// How often a free port is drawn for UDP and TCP together before giving up.
const SAME_PORT_ATTEMPTS: usize = 20;

impl LiveAddrs {
    pub fn new(ip: std::net::IpAddr) -> Self {
        LiveAddrs {
            ip,
            sockets: Vec::new(),
            listeners: Vec::new(),
        }
    }

    /// Adds a UDP socket bound to a fixed address.
    pub fn bind(&mut self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let socket = std::net::UdpSocket::bind(addr)?;
        let local = socket.local_addr()?;
        self.sockets.push(socket);
        Ok(local)
    }

    /// UDP and TCP on one address, as a SIP server must (RFC 3261 §18.2.1: every port it
    /// listens on for UDP it listens on for TCP too): the standalone PBX's `--listen`. Port
    /// 0 draws a port free for both. An error says which of the two could not be had.
    pub fn bind_sip(
        &mut self,
        addr: SocketAddr,
    ) -> Result<SocketAddr, (Transport, std::io::Error)> {
        let udp_error = |e| (Transport::Udp, e);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let udp = std::net::UdpSocket::bind(addr).map_err(udp_error)?;
            let local = udp.local_addr().map_err(udp_error)?;
            match std::net::TcpListener::bind(local) {
                Ok(tcp) => {
                    self.sockets.push(udp);
                    self.listeners.push(Listener {
                        transport: Transport::Tcp,
                        socket: tcp,
                    });
                    return Ok(local);
                }
                // Someone holds that port for TCP only: draw another.
                Err(e)
                    if addr.port() == 0
                        && e.kind() == std::io::ErrorKind::AddrInUse
                        && attempt < SAME_PORT_ATTEMPTS => {}
                Err(e) => return Err((Transport::Tcp, e)),
            }
        }
    }

    /// A TCP listener for `transport` (TCP, or TLS over TCP) on `addr`.
    pub fn listen(
        &mut self,
        transport: Transport,
        addr: SocketAddr,
    ) -> std::io::Result<SocketAddr> {
        let socket = std::net::TcpListener::bind(addr)?;
        let local = socket.local_addr()?;
        self.listeners.push(Listener { transport, socket });
        Ok(local)
    }
}

impl AddrAlloc for LiveAddrs {
    fn alloc(&mut self) -> std::io::Result<SocketAddr> {
        self.bind(SocketAddr::new(self.ip, 0))
    }
}

/// What the driver saw: sends the kernel refused, and how the run ended. The harness's
/// punctuality (timer lateness, receive delays) is in the actor's timeline.
#[derive(Debug, Default)]
pub struct DriverStats {
    pub send_errors: u64,
    pub interrupted: bool,
    pub hit_limit: bool,
    /// Datagrams stamped by the kernel (SO_TIMESTAMPNS), and those stamped at the read
    /// (every message from a TCP or TLS stream is).
    pub kernel_stamped: u64,
    pub read_stamped: u64,
    /// TCP and TLS connections opened by actors and accepted on listeners.
    pub connections: u64,
    /// Connections that ended while the run went on (closed, reset, refused, failed).
    pub flows_closed: u64,
}

/// Misbehaviour on purpose, for tests of the harness's self-checks.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Block the driver's thread for `.1` once `.0` of the run has passed: a harness the
    /// OS does not schedule.
    pub stall: Option<(Duration, Duration)>,
}

struct Datagram {
    local: SocketAddr,
    from: SocketAddr,
    received_at: Time,
    data: Vec<u8>,
}

/// What reaches the loop from the socket tasks.
enum Input {
    /// A UDP datagram, and whether the kernel stamped it.
    Datagram(Datagram, bool),
    /// One SIP message from a TCP or TLS connection.
    Message {
        key: stream::FlowKey,
        received_at: Time,
        data: Vec<u8>,
    },
    /// A listener accepted a connection (and its TLS handshake, if any, succeeded).
    Accepted {
        key: stream::FlowKey,
        id: u64,
        tx: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// A connection ended, or never opened.
    Closed {
        key: stream::FlowKey,
        id: u64,
        reason: String,
    },
}

/// How long after Ctrl-C the actor gets to hang up and unregister.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The run's clock: `Instant`s and the kernel's wall-clock receive timestamps, both onto
/// run time.
#[derive(Clone, Copy, Debug)]
struct Clock {
    start: Instant,
    start_wall: SystemTime,
}

impl Clock {
    fn now(&self) -> Time {
        Time::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// A kernel timestamp on run time, never later than now (wall clock steps must not put
    /// an arrival in the future).
    fn of_wall(&self, at: SystemTime) -> Time {
        let since = at.duration_since(self.start_wall).unwrap_or(Duration::ZERO);
        Time::from_micros(since.as_micros() as u64).min(self.now())
    }
}

/// Runs `actor` on real sockets until it is done, `limit` passes, or Ctrl-C (then the
/// actor is asked to shut down and given a short grace period). `sockets` are its UDP
/// sockets (a `Vec`), or [`Sockets`] with listeners and a TLS certificate too.
pub async fn run(
    actor: &mut dyn Actor,
    sockets: impl Into<Sockets>,
    limit: Duration,
) -> std::io::Result<DriverStats> {
    run_with(actor, sockets, limit, &RunOptions::default()).await
}

/// [`run`] with [`RunOptions`].
pub async fn run_with(
    actor: &mut dyn Actor,
    sockets: impl Into<Sockets>,
    limit: Duration,
    options: &RunOptions,
) -> std::io::Result<DriverStats> {
    let sockets = sockets.into();
    let clock = Clock {
        start: Instant::now(),
        start_wall: SystemTime::now(),
    };
    let now = || clock.now();
    let (tx, mut rx) = mpsc::channel::<Input>(8192);
    let mut by_addr: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut readers = tokio::task::JoinSet::new();
    for socket in sockets.udp {
        socket.set_nonblocking(true)?;
        // Where the platform offers it, the kernel stamps each datagram on arrival, so a
        // harness that reads late still measures when the packet came (issue: a stall
        // must not squeeze a real gap away).
        let stamped = stamp::enable(&socket);
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        by_addr.insert(socket.local_addr()?, socket.clone());
        readers.spawn(read_datagrams(socket, stamped, tx.clone(), clock));
    }
    for (transport, listener) in listeners(actor, sockets.listeners)? {
        let acceptor = match (transport, &sockets.tls_server) {
            (Transport::Tls, Some(server)) => Some(stream::acceptor(server)),
            (Transport::Tls, None) => {
                let at = listener.local_addr()?;
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("a TLS listener on {at} needs a certificate and its key"),
                ));
            }
            _ => None,
        };
        let events = tx.clone();
        readers.spawn(stream::accept_loop(
            listener, transport, acceptor, events, clock,
        ));
    }
    let mut flows = stream::Flows::new(tx.clone(), clock, actor.tls_client());
    drop(tx);
    let mut stats = DriverStats::default();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut grace_until: Option<Instant> = None;
    let mut stall = options.stall;
    loop {
        loop {
            while let Some(t) = actor.poll_transmit() {
                trace_sip("send", t.transport, t.from, t.to, &t.data);
                if t.transport.is_reliable() {
                    if flows.send((t.transport, t.from, t.to), t.data) {
                        stats.connections += 1;
                    }
                    continue;
                }
                match by_addr.get(&t.from) {
                    Some(socket) => {
                        if socket.try_send_to(&t.data, t.to).is_err() {
                            stats.send_errors += 1;
                        }
                    }
                    None => stats.send_errors += 1,
                }
            }
            // A connection that could not even be tried is the actor's to hear of at once;
            // what it sends in answer goes out before the loop sleeps.
            let failed = flows.take_failed();
            if failed.is_empty() {
                break;
            }
            for ((transport, local, remote), reason) in failed {
                stats.flows_closed += 1;
                actor.handle_flow_closed(now(), transport, local, remote, &reason);
            }
        }
        if actor.is_done() {
            break;
        }
        if grace_until.is_some_and(|g| Instant::now() >= g) {
            break;
        }
        if let Some((at, len)) = stall
            && clock.start.elapsed() >= at
        {
            stall = None;
            // Deliberately blocking: the whole harness stops, as under a starved CPU.
            std::thread::sleep(len);
        }
        if clock.start.elapsed() >= limit && grace_until.is_none() {
            stats.hit_limit = true;
            actor.shutdown(now());
            grace_until = Some(Instant::now() + SHUTDOWN_GRACE);
        }
        let deadline = actor.poll_timeout();
        let wake = if deadline == Time::NEVER {
            Instant::now() + Duration::from_secs(3600)
        } else {
            clock.start + Duration::from_micros(deadline.as_micros())
        };
        let wake = grace_until.map_or(wake, |g| wake.min(g));
        let wake = match stall {
            Some((at, _)) => wake.min(clock.start + at),
            None => wake,
        };
        tokio::select! {
            biased;
            _ = &mut ctrl_c, if !stats.interrupted => {
                stats.interrupted = true;
                actor.shutdown(now());
                grace_until = Some(Instant::now() + SHUTDOWN_GRACE);
            }
            got = rx.recv() => {
                let Some(first) = got else { break };
                // Batch: take whatever else already arrived before going back to timers.
                let mut next = Some(first);
                while let Some(input) = next {
                    handle_input(actor, &mut flows, &mut stats, now(), input);
                    next = rx.try_recv().ok();
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                if deadline != Time::NEVER && now() >= deadline {
                    actor.handle_timeout(now());
                }
            }
        }
    }
    readers.abort_all();
    Ok(stats)
}

/// Hands one input to the actor, keeping the connection table up to date.
fn handle_input(
    actor: &mut dyn Actor,
    flows: &mut stream::Flows,
    stats: &mut DriverStats,
    now: Time,
    input: Input,
) {
    match input {
        Input::Datagram(dg, kernel) => {
            if kernel {
                stats.kernel_stamped += 1;
            } else {
                stats.read_stamped += 1;
            }
            trace_sip("recv", Transport::Udp, dg.from, dg.local, &dg.data);
            let udp = Transport::Udp;
            actor.handle_received(now, dg.received_at, udp, dg.local, dg.from, &dg.data);
        }
        Input::Message {
            key: (transport, local, from),
            received_at,
            data,
        } => {
            stats.read_stamped += 1;
            trace_sip("recv", transport, from, local, &data);
            actor.handle_received(now, received_at, transport, local, from, &data);
        }
        Input::Accepted { key, id, tx } => {
            stats.connections += 1;
            flows.accepted(key, id, tx);
        }
        Input::Closed { key, id, reason } => {
            if flows.closed(key, id) {
                stats.flows_closed += 1;
                let (transport, local, remote) = key;
                actor.handle_flow_closed(now, transport, local, remote, &reason);
            }
        }
    }
}

/// The stream listeners of a run: those given, and those the actor asks for that are not
/// among them, bound now.
fn listeners(
    actor: &dyn Actor,
    given: Vec<Listener>,
) -> std::io::Result<Vec<(Transport, tokio::net::TcpListener)>> {
    let mut all = Vec::new();
    let mut bound = Vec::new();
    for l in given {
        bound.push((l.transport, l.socket.local_addr()?));
        all.push((l.transport, l.socket));
    }
    for (transport, addr) in actor.listeners() {
        if !bound.contains(&(transport, addr)) {
            let socket = std::net::TcpListener::bind(addr).map_err(|e| {
                let why = crate::scenario::io_reason(&e);
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {transport} {addr}: {why}"),
                )
            })?;
            bound.push((transport, addr));
            all.push((transport, socket));
        }
    }
    all.into_iter()
        .map(|(t, s)| {
            s.set_nonblocking(true)?;
            Ok((t, tokio::net::TcpListener::from_std(s)?))
        })
        .collect()
}

/// Reads one UDP socket for as long as the run lasts; `stamped`: the kernel stamps it.
async fn read_datagrams(
    socket: Arc<UdpSocket>,
    stamped: bool,
    tx: mpsc::Sender<Input>,
    clock: Clock,
) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; 65536];
    let mut cmsg = stamp::buffer();
    loop {
        let got = socket
            .async_io(Interest::READABLE, || {
                stamp::recv(&*socket, &mut buf, &mut cmsg, stamped)
            })
            .await;
        match got {
            Ok((n, from, wall)) => {
                let kernel = wall.is_some();
                let received_at = wall.map_or_else(|| clock.now(), |w| clock.of_wall(w));
                let dg = Datagram {
                    local,
                    from,
                    received_at,
                    data: buf[..n].to_vec(),
                };
                if tx.send(Input::Datagram(dg, kernel)).await.is_err() {
                    return;
                }
            }
            // ICMP port unreachable surfaces as an error on some systems: the peer
            // is gone, which the SIP layer notices by itself.
            Err(_) => continue,
        }
    }
}

/// SIP on the wire, for `FLIPCHECK_LOG=flipcheck=debug` (first lines) or `=trace` (whole
/// messages). RTP (version 2 in the first two bits) is never logged: too much, no value.
fn trace_sip(dir: &str, transport: Transport, from: SocketAddr, to: SocketAddr, data: &[u8]) {
    if data.first().is_some_and(|b| b & 0xc0 == 0x80) || !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let first = text.lines().next().unwrap_or("");
    tracing::debug!("{dir} {transport} {from} -> {to}: {first}");
    tracing::trace!("{dir} {transport} {from} -> {to}:\n{text}");
}
