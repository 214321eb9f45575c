//! The live driver: the thin tokio shell around the sans-IO actors. It owns the sockets and
//! the clock, and nothing else. One loop per core runs every actor of its share: it sleeps
//! until the earliest deadline of all of them (the batched media pacer: every stream that
//! is due is served in the same wake-up) or until a datagram arrives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::core::Time;
use crate::report::PacerReport;
use crate::roles::Actor;
use crate::runner::AddrAlloc;

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

/// What the driver saw: the pacer's own lateness (deadline → actual wake-up), and sends
/// the kernel refused.
#[derive(Debug)]
pub struct DriverStats {
    pub lateness_us: Histogram<u64>,
    pub send_errors: u64,
    pub interrupted: bool,
    pub hit_limit: bool,
}

impl DriverStats {
    /// The pacer's punctuality in report form.
    pub fn pacer_report(&self) -> PacerReport {
        let ms = |us: u64| us as f64 / 1000.0;
        PacerReport {
            wakeups: self.lateness_us.len(),
            lateness_p50_ms: ms(self.lateness_us.value_at_quantile(0.5)),
            lateness_p99_ms: ms(self.lateness_us.value_at_quantile(0.99)),
            lateness_max_ms: ms(self.lateness_us.max()),
            send_errors: self.send_errors,
        }
    }
}

struct Datagram {
    local: SocketAddr,
    from: SocketAddr,
    data: Vec<u8>,
}

/// How long after Ctrl-C the actor gets to hang up and unregister.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Runs `actor` on real sockets until it is done, `limit` passes, or Ctrl-C (then the
/// actor is asked to shut down and given a short grace period).
pub async fn run(
    actor: &mut dyn Actor,
    sockets: Vec<std::net::UdpSocket>,
    limit: Duration,
) -> std::io::Result<DriverStats> {
    let start = Instant::now();
    let now = || Time::from_micros(start.elapsed().as_micros() as u64);
    let (tx, mut rx) = mpsc::channel::<Datagram>(8192);
    let mut by_addr: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut readers = Vec::new();
    for socket in sockets {
        socket.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        let local = socket.local_addr()?;
        by_addr.insert(local, socket.clone());
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            loop {
                match socket.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        let dg = Datagram {
                            local,
                            from,
                            data: buf[..n].to_vec(),
                        };
                        if tx.send(dg).await.is_err() {
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
    let mut stats = DriverStats {
        lateness_us: Histogram::new(3).map_err(std::io::Error::other)?,
        send_errors: 0,
        interrupted: false,
        hit_limit: false,
    };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut grace_until: Option<Instant> = None;
    loop {
        while let Some(t) = actor.poll_transmit() {
            trace_sip("send", t.from, t.to, &t.data);
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
        if start.elapsed() >= limit && grace_until.is_none() {
            stats.hit_limit = true;
            actor.shutdown(now());
            grace_until = Some(Instant::now() + SHUTDOWN_GRACE);
        }
        let deadline = actor.poll_timeout();
        let wake = if deadline == Time::NEVER {
            Instant::now() + Duration::from_secs(3600)
        } else {
            start + Duration::from_micros(deadline.as_micros())
        };
        let wake = grace_until.map_or(wake, |g| wake.min(g));
        tokio::select! {
            biased;
            _ = &mut ctrl_c, if !stats.interrupted => {
                stats.interrupted = true;
                actor.shutdown(now());
                grace_until = Some(Instant::now() + SHUTDOWN_GRACE);
            }
            dg = rx.recv() => {
                let Some(dg) = dg else { break };
                trace_sip("recv", dg.from, dg.local, &dg.data);
                actor.handle_datagram(now(), dg.local, dg.from, &dg.data);
                // Batch: take whatever else already arrived before going back to timers.
                while let Ok(dg) = rx.try_recv() {
                    trace_sip("recv", dg.from, dg.local, &dg.data);
                    actor.handle_datagram(now(), dg.local, dg.from, &dg.data);
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                let t = now();
                if deadline != Time::NEVER {
                    let late = t.saturating_since(deadline).as_micros() as u64;
                    let _ = stats.lateness_us.record(late);
                }
                actor.handle_timeout(t);
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
