//! The transaction layer of one SIP endpoint (RFC 3261 §17), sans-IO: messages and `now`
//! in, messages, transaction-user events and the next deadline out. Both the simulated
//! devices and the embedded PBX are transaction users on top of this.
//!
//! Every message says which transport it goes or came on (RFC 3261 §18). Over TCP and TLS
//! transactions do not retransmit; a response goes back on the transport its request came
//! on, to the address it came from (§18.2.2), which on a stream names the connection.

use ::core::net::SocketAddr;
use std::collections::{HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::build::{BRANCH_COOKIE, non_2xx_ack, response_to, stamp_received, via_value};
pub use super::findings::PeerFinding;
use super::findings::record_finding;
use super::framing::frame_for;
use super::transaction::{
    ClientState, ClientTransaction, ServerTransaction, TimerConfig, TwoXxRetransmitter, TxEvent,
};
use super::{Message, ParseError, Transport, validate};
use crate::core::Time;

/// A message to send from this endpoint's address for `transport`.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: SocketAddr,
    pub transport: Transport,
    pub data: Vec<u8>,
}

/// Identifies a server transaction: the request's branch and method (ACK maps to INVITE,
/// RFC 3261 §17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    pub branch: String,
    pub method: String,
}

/// What the transaction user hears from the stack.
#[derive(Debug)]
pub enum SipEvent {
    /// A new request (retransmissions are absorbed). ACKs for 2xx arrive here too.
    Request {
        msg: Message,
        source: SocketAddr,
        /// What it came on: responses and requests back to `source` go on it too.
        transport: Transport,
        key: ServerKey,
    },
    /// A response to a request sent with `send_request`; `ctx` is what the TU passed then.
    Response {
        msg: Message,
        ctx: u64,
        request: Message,
    },
    /// Timer B or F fired: no final response (treat as 408, RFC 3261 §8.1.3.1).
    Timeout { ctx: u64, request: Message },
    /// The transport failed under a request still waiting for its final response: the
    /// connection was refused, reset or closed (treat as 503, RFC 3261 §8.1.3.1).
    TransportError {
        ctx: u64,
        request: Message,
        reason: String,
    },
    /// A 2xx to INVITE we sent was never ACKed within 64*T1 (RFC 3261 §13.3.1.4).
    NoAck { call_id: String, cseq: u32 },
    /// A datagram that is not SIP we can read; reported, never fatal.
    Malformed {
        source: SocketAddr,
        error: ParseError,
    },
}

/// Where a transaction's messages go: the peer's address and the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hop {
    addr: SocketAddr,
    transport: Transport,
}

impl Hop {
    fn send(self, data: Vec<u8>) -> Outgoing {
        Outgoing {
            to: self.addr,
            transport: self.transport,
            data,
        }
    }
}

struct ClientEntry {
    tx: ClientTransaction,
    dest: Hop,
    request: Message,
    ctx: u64,
}

struct ServerEntry {
    tx: ServerTransaction,
    source: Hop,
}

struct TwoXxEntry {
    rt: TwoXxRetransmitter,
    dest: Hop,
}

/// An ACK we sent for a 2xx: re-sent when the 2xx is retransmitted (RFC 3261 §13.2.2.4).
struct SentAck {
    data: Vec<u8>,
    dest: Hop,
    until: Time,
}

/// The transaction layer of one endpoint.
pub struct SipStack {
    /// Our address per transport (indexed by `slot`): what Via's sent-by names.
    locals: [SocketAddr; 3],
    cfg: TimerConfig,
    rng: StdRng,
    /// Keyed by branch and method: a CANCEL shares its INVITE's branch (RFC 3261 §9.1) but
    /// is a transaction of its own.
    clients: HashMap<(String, String), ClientEntry>,
    servers: HashMap<ServerKey, ServerEntry>,
    two_xx: HashMap<(String, u32), TwoXxEntry>,
    acks: HashMap<(String, u32), SentAck>,
    out: VecDeque<Outgoing>,
    events: VecDeque<SipEvent>,
    /// Check every received message with `validate` (the simulated parties do: they are
    /// the observers of the system under test; the PBX does not need to).
    check_findings: bool,
    findings: Vec<PeerFinding>,
}

impl SipStack {
    /// `seed` makes every branch, tag and Call-ID of this endpoint repeatable. `local` is
    /// our address on every transport until [`SipStack::set_local`] says otherwise.
    pub fn new(local: SocketAddr, seed: u64) -> Self {
        SipStack {
            locals: [local; 3],
            cfg: TimerConfig::default(),
            rng: StdRng::seed_from_u64(seed),
            clients: HashMap::new(),
            servers: HashMap::new(),
            two_xx: HashMap::new(),
            acks: HashMap::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            check_findings: false,
            findings: Vec::new(),
        }
    }

    /// Turns on RFC checks of every received message (see [`SipStack::findings`]).
    pub fn check_findings(&mut self, on: bool) {
        self.check_findings = on;
    }

    /// RFC violations seen in received messages, per peer and rule.
    pub fn findings(&self) -> &[PeerFinding] {
        &self.findings
    }

    /// Our UDP address.
    pub fn local(&self) -> SocketAddr {
        self.local_for(Transport::Udp)
    }

    /// Our address on `transport`.
    pub fn local_for(&self, transport: Transport) -> SocketAddr {
        self.locals[slot(transport)]
    }

    /// Serves `transport` on another address (TLS commonly has a port of its own).
    pub fn set_local(&mut self, transport: Transport, addr: SocketAddr) {
        self.locals[slot(transport)] = addr;
    }

    /// Random hex of `n` 64-bit words, from this endpoint's own seeded generator.
    pub fn random_hex(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| format!("{:016x}", self.rng.next_u64()))
            .collect()
    }
    pub fn new_branch(&mut self) -> String {
        format!("{BRANCH_COOKIE}{}", self.random_hex(1))
    }
    pub fn new_tag(&mut self) -> String {
        self.random_hex(1)[..10].to_string()
    }
    pub fn new_call_id(&mut self) -> String {
        self.random_hex(2)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Sends a request to `dest` over `transport` in a new client transaction; over TCP
    /// and TLS it is sent once (RFC 3261 §17.1.1.2, §17.1.2.2). A top Via is added unless
    /// present. ACK is sent without a transaction (RFC 3261 §17.1.1.3 / §13.2.2.4) and
    /// remembered so a retransmitted 2xx is ACKed again.
    pub fn send_request(
        &mut self,
        now: Time,
        mut msg: Message,
        dest: SocketAddr,
        transport: Transport,
        ctx: u64,
    ) {
        let dest = Hop {
            addr: dest,
            transport,
        };
        if msg.top_via().is_none() {
            let branch = self.new_branch();
            let via = via_value(transport, self.local_for(transport), &branch);
            msg.insert_header_first("Via", &via);
        }
        frame_for(&mut msg, transport);
        let method = msg.method().unwrap_or("").to_string();
        let data = msg.to_bytes();
        if method == "ACK" {
            if let (Some(call_id), Some(cseq)) = (msg.call_id(), msg.cseq()) {
                let until = now + self.cfg.t1 * 64;
                let ack = SentAck {
                    data: data.clone(),
                    dest,
                    until,
                };
                self.acks.insert((call_id.to_string(), cseq.seq), ack);
            }
            self.out.push_back(dest.send(data));
            return;
        }
        let branch = msg
            .top_via()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        let reliable = transport.is_reliable();
        let tx = ClientTransaction::new(now, method == "INVITE", data, reliable, self.cfg);
        let mut entry = ClientEntry {
            tx,
            dest,
            request: msg,
            ctx,
        };
        drain_client(&mut entry, &mut self.out);
        self.clients.insert((branch, method), entry);
    }

    /// Sends a response in the server transaction `key`, back where its request came from
    /// and on the same transport (RFC 3261 §18.2.2). A 2xx to INVITE is then retransmitted
    /// by the TU core until ACKed (RFC 3261 §13.3.1.4), which we do here: on every
    /// transport, since the 2xx travels end to end and a hop beyond ours may lose it.
    pub fn send_response(&mut self, now: Time, key: &ServerKey, mut msg: Message) {
        let status = msg.status().unwrap_or(500);
        let Some(entry) = self.servers.get_mut(key) else {
            return;
        };
        let source = entry.source;
        frame_for(&mut msg, source.transport);
        let data = msg.to_bytes();
        if key.method == "INVITE"
            && (200..300).contains(&status)
            && let (Some(call_id), Some(cseq)) = (msg.call_id(), msg.cseq())
        {
            let rt = TwoXxRetransmitter::new(now, data.clone(), self.cfg);
            let mut e = TwoXxEntry { rt, dest: source };
            drain_two_xx(&mut e, &mut self.out);
            self.two_xx.insert((call_id.to_string(), cseq.seq), e);
        }
        entry.tx.send_response(now, status, data);
        while let Some(data) = entry.tx.poll_transmit() {
            // The 2xx itself is already queued by the retransmitter above.
            if !(key.method == "INVITE" && (200..300).contains(&status)) {
                self.out.push_back(source.send(data));
            }
        }
    }

    /// A response built from `req` and sent in its transaction; the common case.
    pub fn respond(
        &mut self,
        now: Time,
        key: &ServerKey,
        req: &Message,
        code: u16,
        tag: Option<&str>,
    ) {
        let rsp = response_to(req, code, tag);
        self.send_response(now, key, rsp);
    }

    /// Feeds one received UDP datagram.
    pub fn handle_datagram(&mut self, now: Time, source: SocketAddr, data: &[u8]) {
        self.handle_message(now, source, Transport::Udp, data);
    }

    /// Feeds one message received from `source` on `transport`: a datagram, or one message
    /// framed out of a TCP or TLS stream.
    pub fn handle_message(
        &mut self,
        now: Time,
        source: SocketAddr,
        transport: Transport,
        data: &[u8],
    ) {
        // Keep-alives (RFC 5626 §3.5.1 CRLF) are not messages.
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            return;
        }
        let msg = match Message::parse(data) {
            Ok(msg) => msg,
            Err(error) => {
                // Always kept (bounded): the peer and what was wrong are worth reporting.
                record_finding(&mut self.findings, source, "unparseable", error.to_string());
                self.events.push_back(SipEvent::Malformed { source, error });
                return;
            }
        };
        if self.check_findings {
            for finding in validate(&msg) {
                record_finding(&mut self.findings, source, finding.rule, finding.message);
            }
        }
        if msg.is_request() {
            let hop = Hop {
                addr: source,
                transport,
            };
            self.handle_request(now, hop, msg);
        } else {
            self.handle_response(now, msg);
        }
    }

    fn handle_request(&mut self, now: Time, hop: Hop, mut msg: Message) {
        stamp_received(&mut msg, hop.addr);
        let Hop {
            addr: source,
            transport,
        } = hop;
        let method = msg.method().unwrap_or("").to_string();
        let branch = msg
            .top_via()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        if method == "ACK" {
            // ACK for a non-2xx final: absorbed by the INVITE server transaction.
            let key = ServerKey {
                branch: branch.clone(),
                method: "INVITE".into(),
            };
            if let Some(entry) = self.servers.get_mut(&key) {
                entry.tx.handle_ack(now);
                return;
            }
            // ACK for a 2xx: a new transaction, matched to the retransmitter by CSeq.
            if let (Some(call_id), Some(cseq)) = (msg.call_id(), msg.cseq()) {
                self.two_xx.remove(&(call_id.to_string(), cseq.seq));
            }
            let key = ServerKey { branch, method };
            self.events.push_back(SipEvent::Request {
                msg,
                source,
                transport,
                key,
            });
            return;
        }
        let key = ServerKey {
            branch,
            method: method.clone(),
        };
        // A terminated transaction absorbs nothing: on TCP and TLS it ends with its final
        // response (Timer J and I are zero, RFC 3261 §17.2.2), so a request with the same
        // branch after that is a new one, not a retransmission.
        if self.servers.get(&key).is_some_and(|e| e.tx.is_terminated()) {
            self.servers.remove(&key);
        }
        if let Some(entry) = self.servers.get_mut(&key) {
            entry.tx.handle_request_retransmit(now);
            while let Some(data) = entry.tx.poll_transmit() {
                self.out.push_back(entry.source.send(data));
            }
            return;
        }
        // An INVITE whose 2xx is still being retransmitted: its server transaction ended
        // with the 2xx, but this is the same request again, not a new call (RFC 6026 §7.1,
        // the Accepted state absorbs it; the 2xx keeps its own schedule).
        if method == "INVITE"
            && let (Some(call_id), Some(cseq)) = (msg.call_id(), msg.cseq())
            && self.two_xx.contains_key(&(call_id.to_string(), cseq.seq))
        {
            return;
        }
        let reliable = transport.is_reliable();
        let tx = ServerTransaction::new(now, method == "INVITE", reliable, self.cfg);
        self.servers
            .insert(key.clone(), ServerEntry { tx, source: hop });
        self.events.push_back(SipEvent::Request {
            msg,
            source,
            transport,
            key,
        });
    }

    fn handle_response(&mut self, now: Time, msg: Message) {
        let Some(status) = msg.status() else { return };
        let branch = msg
            .top_via()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        let cseq_method = msg.cseq().map(|c| c.method).unwrap_or_default();
        // A terminated transaction (an INVITE after its 2xx) matches nothing any more: a
        // retransmitted 2xx must reach the ACK resend below (RFC 3261 §13.2.2.4).
        let key = (branch, cseq_method.clone());
        if self.clients.get(&key).is_some_and(|e| e.tx.is_terminated()) {
            self.clients.remove(&key);
        }
        if let Some(entry) = self.clients.get_mut(&key) {
            {
                let ack = (cseq_method == "INVITE" && status >= 300)
                    .then(|| non_2xx_ack(&entry.request, &msg).to_bytes());
                if entry.tx.handle_response(now, status, ack) {
                    let request = entry.request.clone();
                    let ctx = entry.ctx;
                    self.events
                        .push_back(SipEvent::Response { msg, ctx, request });
                }
                drain_client(entry, &mut self.out);
                return;
            }
        }
        // A retransmitted 2xx after the INVITE transaction ended: ACK it again.
        if (200..300).contains(&status)
            && cseq_method == "INVITE"
            && let (Some(call_id), Some(cseq)) = (msg.call_id(), msg.cseq())
            && let Some(ack) = self.acks.get(&(call_id.to_string(), cseq.seq))
        {
            self.out.push_back(ack.dest.send(ack.data.clone()));
        }
    }

    /// The flow to `remote` over `transport` failed: a connection was refused, reset or
    /// closed, or could not be set up (TLS). Every client transaction still waiting on it
    /// ends now with [`SipEvent::TransportError`] (RFC 3261 §17.1.1.2, §17.1.2.2) instead
    /// of waiting for Timer B or F. UDP has no flows to fail; ICMP errors are not reported.
    pub fn flow_failed(&mut self, remote: SocketAddr, transport: Transport, reason: &str) {
        let hop = Hop {
            addr: remote,
            transport,
        };
        let mut failed = Vec::new();
        for entry in self.clients.values_mut().filter(|e| e.dest == hop) {
            if entry.tx.handle_transport_error() {
                failed.push((entry.ctx, entry.request.clone()));
            }
            while entry.tx.poll_event().is_some() {}
        }
        self.clients.retain(|_, e| !e.tx.is_terminated());
        // In the order the TU tagged them, not the map's: a simulated run must repeat.
        failed.sort_by_key(|(ctx, _)| *ctx);
        for (ctx, request) in failed {
            let reason = reason.to_string();
            self.events.push_back(SipEvent::TransportError {
                ctx,
                request,
                reason,
            });
        }
    }

    /// Fires every timer that is due; idempotent for the same `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        for entry in self.clients.values_mut() {
            if entry.tx.poll_timeout().is_some_and(|t| t <= now) {
                entry.tx.handle_timeout(now);
                drain_client(entry, &mut self.out);
            }
            while let Some(ev) = entry.tx.poll_event() {
                if let TxEvent::Timeout = ev {
                    let request = entry.request.clone();
                    self.events.push_back(SipEvent::Timeout {
                        ctx: entry.ctx,
                        request,
                    });
                }
            }
        }
        self.clients.retain(|_, e| !e.tx.is_terminated());
        for entry in self.servers.values_mut() {
            if entry.tx.poll_timeout().is_some_and(|t| t <= now) {
                entry.tx.handle_timeout(now);
                while let Some(data) = entry.tx.poll_transmit() {
                    self.out.push_back(entry.source.send(data));
                }
            }
        }
        self.servers.retain(|_, e| !e.tx.is_terminated());
        let mut gave_up = Vec::new();
        for (key, e) in self.two_xx.iter_mut() {
            if e.rt.poll_timeout().is_some_and(|t| t <= now) {
                e.rt.handle_timeout(now);
                drain_two_xx(e, &mut self.out);
            }
            while let Some(ev) = e.rt.poll_event() {
                if let TxEvent::Timeout = ev {
                    gave_up.push(key.clone());
                }
            }
        }
        for key in gave_up {
            self.two_xx.remove(&key);
            self.events.push_back(SipEvent::NoAck {
                call_id: key.0,
                cseq: key.1,
            });
        }
        self.acks.retain(|_, a| a.until > now);
    }

    pub fn poll_event(&mut self) -> Option<SipEvent> {
        self.events.pop_front()
    }

    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        self.out.pop_front()
    }

    /// The earliest timer of any transaction.
    pub fn poll_timeout(&self) -> Time {
        let clients = self.clients.values().filter_map(|e| e.tx.poll_timeout());
        let servers = self.servers.values().filter_map(|e| e.tx.poll_timeout());
        let two_xx = self.two_xx.values().filter_map(|e| e.rt.poll_timeout());
        let acks = self.acks.values().map(|a| a.until);
        clients
            .chain(servers)
            .chain(two_xx)
            .chain(acks)
            .min()
            .unwrap_or(Time::NEVER)
    }

    /// Cancels the retransmission of a 2xx (e.g. the dialog ended before the ACK came).
    pub fn forget_two_xx(&mut self, call_id: &str, cseq: u32) {
        self.two_xx.remove(&(call_id.to_string(), cseq));
    }

    /// Whether any transaction is still running (used to let a run drain before it ends).
    /// A transaction in Completed only absorbs retransmissions (Timer D/K); it does not
    /// keep the endpoint busy.
    pub fn is_idle(&self) -> bool {
        let waiting = self.clients.values().any(|e| {
            matches!(
                e.tx.state(),
                ClientState::Calling | ClientState::Trying | ClientState::Proceeding
            )
        });
        !waiting && self.two_xx.is_empty()
    }
}

fn drain_client(entry: &mut ClientEntry, out: &mut VecDeque<Outgoing>) {
    while let Some(data) = entry.tx.poll_transmit() {
        out.push_back(entry.dest.send(data));
    }
}

fn drain_two_xx(entry: &mut TwoXxEntry, out: &mut VecDeque<Outgoing>) {
    while let Some(data) = entry.rt.poll_transmit() {
        out.push_back(entry.dest.send(data));
    }
}

/// The index of a transport in per-transport tables.
fn slot(transport: Transport) -> usize {
    match transport {
        Transport::Udp => 0,
        Transport::Tcp => 1,
        Transport::Tls => 2,
    }
}

#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;
