//! The simulated world: a virtual clock and a network of in-memory links, driving the same
//! sans-IO actors as the live driver. Minutes of calls run in milliseconds, and a run is
//! repeatable byte for byte for a seed, because nothing here reads a clock or the OS RNG.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::core::Time;
use crate::roles::{Actor, Transmit};
use crate::runner::AddrAlloc;

/// One-way delay of every simulated link. Per-device network profiles come with the
/// impairment model; a LAN on loopback is well under a millisecond.
pub const LINK_DELAY: Duration = Duration::from_micros(500);

/// Virtual addresses on 127.0.0.1, handed out in order so runs are repeatable.
pub struct VirtualAddrs {
    next_port: u16,
}

impl VirtualAddrs {
    pub fn new() -> Self {
        VirtualAddrs { next_port: 20000 }
    }
}

impl Default for VirtualAddrs {
    fn default() -> Self {
        Self::new()
    }
}

impl AddrAlloc for VirtualAddrs {
    fn alloc(&mut self) -> std::io::Result<SocketAddr> {
        let port = self.next_port;
        self.next_port = self
            .next_port
            .checked_add(2)
            .ok_or_else(|| std::io::Error::other("out of virtual ports"))?;
        Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
    }
}

/// What a simulated run did, for the report and for tests.
#[derive(Debug, Clone, Default)]
pub struct SimStats {
    pub end: Time,
    pub datagrams: u64,
    pub timer_wakeups: u64,
    /// The run hit `limit` before the actor was done.
    pub hit_limit: bool,
}

struct InFlight {
    at: Time,
    seq: u64,
    t: Transmit,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A stretch of virtual time in which the actor is not run, as a harness that the OS does
/// not schedule: datagrams keep arriving (and keep their arrival instants), timers fire
/// late, and everything is handled at the stall's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub at: Time,
    pub len: Duration,
}

/// How the simulated world misbehaves, for tests of the harness itself.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    pub stalls: Vec<Stall>,
}

impl SimOptions {
    /// The instant an input due at `t` is handled: `t`, or the end of a stall covering it.
    fn handled_at(&self, t: Time) -> Time {
        self.stalls
            .iter()
            .find(|s| t >= s.at && t < s.at + s.len)
            .map_or(t, |s| s.at + s.len)
    }
}

/// Runs `actor` in virtual time until it is done, or `limit` of virtual time passes.
/// Datagrams to addresses the actor does not own are dropped, as a closed port would; a
/// TCP or TLS message to one is refused, as a connection to a port nobody listens on is.
///
/// TCP and TLS need no connection set-up here: every message takes the same link delay
/// and leaves in the order it was sent, so between two addresses they arrive once and in
/// order, which is all a reliable transport promises SIP (RFC 3261 §18).
pub fn run(actor: &mut dyn Actor, limit: Time) -> SimStats {
    run_with(actor, limit, &SimOptions::default())
}

/// [`run`] with [`SimOptions`].
pub fn run_with(actor: &mut dyn Actor, limit: Time, options: &SimOptions) -> SimStats {
    let owned: std::collections::HashSet<SocketAddr> = actor.addresses().into_iter().collect();
    let mut queue: BinaryHeap<Reverse<InFlight>> = BinaryHeap::new();
    let mut stats = SimStats::default();
    let mut now = Time::ZERO;
    let mut seq = 0u64;
    // Guards against an actor whose deadline never moves past `now` (a bug, not input).
    let mut wakeups_at_now = 0u32;
    loop {
        while let Some(t) = actor.poll_transmit() {
            seq += 1;
            queue.push(Reverse(InFlight {
                at: now + LINK_DELAY,
                seq,
                t,
            }));
        }
        if actor.is_done() {
            break;
        }
        let timer = actor.poll_timeout();
        let packet = queue.peek().map(|Reverse(p)| p.at).unwrap_or(Time::NEVER);
        let next = timer.min(packet);
        if next == Time::NEVER {
            break;
        }
        if next > limit {
            stats.hit_limit = true;
            break;
        }
        if next <= now {
            wakeups_at_now += 1;
            if wakeups_at_now > 100_000 {
                stats.hit_limit = true;
                break;
            }
        } else {
            wakeups_at_now = 0;
        }
        now = now.max(options.handled_at(next));
        if packet <= timer {
            // The queue is non-empty: `packet` came from its head.
            let Some(Reverse(p)) = queue.pop() else { break };
            let t = p.t;
            if owned.contains(&t.to) {
                stats.datagrams += 1;
                actor.handle_received(now, p.at, t.transport, t.to, t.from, &t.data);
            } else if t.transport.is_reliable() {
                let refused = "connection refused";
                actor.handle_flow_closed(now, t.transport, t.from, t.to, refused);
            }
        } else {
            stats.timer_wakeups += 1;
            actor.handle_timeout(now);
        }
    }
    stats.end = now;
    stats
}
