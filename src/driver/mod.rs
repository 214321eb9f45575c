//! The live driver: the thin tokio shell around the sans-IO actors. It owns the sockets and
//! the clock, and nothing else. One loop per core runs every actor of its share: it sleeps
//! until the earliest deadline of all of them (the batched media pacer: every stream that
//! is due is served in the same wake-up) or until a datagram arrives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::core::Time;
use crate::roles::Actor;
use crate::runner::AddrAlloc;

mod stamp;

/// Binds a real UDP socket per address the scene asks for, on an ephemeral port, so two
/// runs can go side by side.
pub struct LiveAddrs {
    ip: std::net::IpAddr,
    pub sockets: Vec<std::net::UdpSocket>,
}

impl LiveAddrs {
    pub fn new(ip: std::net::IpAddr) -> Self {
        LiveAddrs {
            ip,
            sockets: Vec::new(),
        }
    }

    /// Adds a socket bound to a fixed address (the standalone PBX's `--listen`).
    pub fn bind(&mut self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let socket = std::net::UdpSocket::bind(addr)?;
        let local = socket.local_addr()?;
        self.sockets.push(socket);
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
    /// Datagrams stamped by the kernel (SO_TIMESTAMPNS), and those stamped at the read.
    pub kernel_stamped: u64,
    pub read_stamped: u64,
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

/// How long after Ctrl-C the actor gets to hang up and unregister.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The run's clock: `Instant`s and the kernel's wall-clock receive timestamps, both onto
/// run time.
#[derive(Clone, Copy)]
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
/// actor is asked to shut down and given a short grace period).
pub async fn run(
    actor: &mut dyn Actor,
    sockets: Vec<std::net::UdpSocket>,
    limit: Duration,
) -> std::io::Result<DriverStats> {
    run_with(actor, sockets, limit, &RunOptions::default()).await
}

/// [`run`] with [`RunOptions`].
pub async fn run_with(
    actor: &mut dyn Actor,
    sockets: Vec<std::net::UdpSocket>,
    limit: Duration,
    options: &RunOptions,
) -> std::io::Result<DriverStats> {
    let clock = Clock {
        start: Instant::now(),
        start_wall: SystemTime::now(),
    };
    let now = || clock.now();
    let (tx, mut rx) = mpsc::channel::<(Datagram, bool)>(8192);
    let mut by_addr: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut readers = Vec::new();
    for socket in sockets {
        socket.set_nonblocking(true)?;
        // Where the platform offers it, the kernel stamps each datagram on arrival, so a
        // harness that reads late still measures when the packet came (issue: a stall
        // must not squeeze a real gap away).
        let stamped = stamp::enable(&socket);
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        let local = socket.local_addr()?;
        by_addr.insert(local, socket.clone());
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            let mut cmsg = stamp::buffer();
            loop {
                let got = socket
                    .async_io(Interest::READABLE, || {
                        stamp::recv(&socket, &mut buf, &mut cmsg, stamped)
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
                        if tx.send((dg, kernel)).await.is_err() {
                            return;
                        }
                    }
                    // ICMP port unreachable surfaces as an error on some systems: the peer
                    // is gone, which the SIP layer notices by itself.
                    Err(_) => continue,
                }
            }
        }));
    }
    drop(tx);
    let mut stats = DriverStats::default();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut grace_until: Option<Instant> = None;
    let mut stall = options.stall;
    loop {
        while let Some(t) = actor.poll_transmit() {
            trace_sip("send", t.from, t.to, &t.data);
            if t.transport != crate::roles::Transport::Udp {
                stats.send_errors += 1;
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
                while let Some((dg, kernel)) = next {
                    if kernel {
                        stats.kernel_stamped += 1;
                    } else {
                        stats.read_stamped += 1;
                    }
                    trace_sip("recv", dg.from, dg.local, &dg.data);
                    let udp = crate::roles::Transport::Udp;
                    actor.handle_received(now(), dg.received_at, udp, dg.local, dg.from, &dg.data);
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
    for r in readers {
        r.abort();
    }
    Ok(stats)
}

/// SIP on the wire, for `FLIPCHECK_LOG=flipcheck=debug` (first lines) or `=trace` (whole
/// messages). RTP (version 2 in the first two bits) is never logged: too much, no value.
fn trace_sip(dir: &str, from: SocketAddr, to: SocketAddr, data: &[u8]) {
    if data.first().is_some_and(|b| b & 0xc0 == 0x80) || !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let first = text.lines().next().unwrap_or("");
    tracing::debug!("{dir} {from} -> {to}: {first}");
    tracing::trace!("{dir} {from} -> {to}:\n{text}");
}
