//! RFC 3261 §17 transaction state machines, sans-IO.
//!
//! They know nothing of SIP message syntax: the caller matches messages to transactions
//! (top Via branch + CSeq method, RFC 3261 §17.1.3/§17.2.3), hands in serialized bytes and
//! the few facts the state machine needs (status code, "this is an ACK"), and sends what
//! `poll_transmit` yields to the transaction's destination.
//!
//! Polling order, as in quinn-proto: after any `handle_*` call, drain `poll_transmit`, then
//! `poll_event`, then sleep until `poll_timeout` and call `handle_timeout(now)`.
//! `handle_timeout` is idempotent: calling it again with the same `now` does nothing.

use std::collections::VecDeque;
use std::time::Duration;

use super::timers::TimerTable;
pub use super::timers::{Timer, TimerConfig};
use crate::core::Time;

/// Timer D's value on unreliable transports: "at least 32 seconds", fixed rather than
/// derived from T1 (RFC 3261 §17.1.1.2, Table 4).
const TIMER_D_UNRELIABLE: Duration = Duration::from_secs(32);
/// Retransmission intervals never go below this, so a zero T1 cannot spin `handle_timeout`.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Client transaction states (RFC 3261 Figures 5 and 6). An INVITE starts in `Calling`,
/// a non-INVITE in `Trying`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    Calling,
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// Server transaction states (RFC 3261 Figures 7 and 8). An INVITE starts in `Proceeding`,
/// a non-INVITE in `Trying`; only INVITE has `Confirmed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    Terminated,
}

/// What a transaction tells its transaction user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxEvent {
    /// Timer B or F fired (client: treat as a 408, RFC 3261 §8.1.3.1), Timer H fired
    /// (server: no ACK for a final response), or no ACK for a 2xx (`TwoXxRetransmitter`).
    Timeout,
    /// The transaction is over and can be dropped; always the last event.
    Terminated,
}

fn sanitize(mut cfg: TimerConfig) -> TimerConfig {
    cfg.t1 = cfg.t1.max(MIN_INTERVAL);
    cfg.t2 = cfg.t2.max(MIN_INTERVAL);
    cfg
}

/// The wait in a Completed/Confirmed state: `unreliable` on UDP, zero on TCP/TLS (Table 4).
fn linger(reliable: bool, unreliable: Duration) -> Duration {
    if reliable { Duration::ZERO } else { unreliable }
}

/// A client transaction (RFC 3261 §17.1).
#[derive(Debug, Clone)]
pub struct ClientTransaction {
    is_invite: bool,
    reliable: bool,
    cfg: TimerConfig,
    state: ClientState,
    request: Vec<u8>,
    /// The ACK for a 300–699 response, re-sent on each retransmission of it.
    ack: Option<Vec<u8>>,
    /// The current Timer A/E interval.
    interval: Duration,
    timers: TimerTable,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<TxEvent>,
}

impl ClientTransaction {
    /// Starts a transaction for `request` and queues its first transmission.
    /// `reliable` is true for TCP/TLS: then nothing is retransmitted (RFC 3261 §17.1.1.2).
    pub fn new(
        now: Time,
        is_invite: bool,
        request: Vec<u8>,
        reliable: bool,
        cfg: TimerConfig,
    ) -> Self {
        let cfg = sanitize(cfg);
        let mut tx = ClientTransaction {
            is_invite,
            reliable,
            cfg,
            state: if is_invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            request,
            ack: None,
            interval: cfg.t1,
            timers: TimerTable::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        tx.transmits.push_back(tx.request.clone());
        let (retransmit, timeout) = if is_invite {
            (Timer::A, Timer::B)
        } else {
            (Timer::E, Timer::F)
        };
        if !reliable {
            tx.timers.set(retransmit, now + cfg.t1);
        }
        tx.timers.set(timeout, now + cfg.t1x64());
        tx
    }

    // ---- getters ----

    /// The RFC state.
    pub fn state(&self) -> ClientState {
        self.state
    }
    /// Whether the transaction is over (its `Terminated` event may still be unpolled).
    pub fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }
    /// When timer `t` fires, if it runs.
    pub fn deadline(&self, t: Timer) -> Option<Time> {
        self.timers.get(t)
    }

    // ---- inputs ----

    /// A response matched to this transaction. Returns whether the TU should see it
    /// (false: a retransmission absorbed in Completed, or a response after the end).
    ///
    /// For an INVITE and a 300–699 response, `ack` is the ACK the caller built from the
    /// request (same branch, RFC 3261 §17.1.1.3); the transaction sends it now and again
    /// for each retransmission of the final response. With `ack: None` nothing is sent
    /// (the caller's mistake; the state machine still moves). For other responses `ack` is
    /// ignored.
    pub fn handle_response(&mut self, now: Time, status: u16, ack: Option<Vec<u8>>) -> bool {
        use ClientState::*;
        let pass = match (self.is_invite, self.state, status) {
            (_, _, s) if !(100..=699).contains(&s) => false,
            // RFC 3261 §17.1.1.2: a provisional response stops retransmissions; Timer B
            // only applies in Calling, so it stops too (Timer C is the TU's business).
            (true, Calling | Proceeding, 100..=199) => {
                self.state = Proceeding;
                self.timers.stop(Timer::A);
                self.timers.stop(Timer::B);
                true
            }
            // A 2xx ends the INVITE client transaction: the TU acknowledges it end to end
            // (RFC 3261 §17.1.1.2; RFC 6026's Accepted state is left to the dialog layer).
            (true, Calling | Proceeding, 200..=299) => {
                self.terminate();
                true
            }
            (true, Calling | Proceeding, _) => {
                self.state = Completed;
                self.timers.stop(Timer::A);
                self.timers.stop(Timer::B);
                self.ack = ack;
                self.transmits.extend(self.ack.clone());
                let d = linger(self.reliable, TIMER_D_UNRELIABLE);
                self.timers.set(Timer::D, now + d);
                true
            }
            (true, Completed, 300..=699) => {
                self.transmits.extend(self.ack.clone());
                false
            }
            // RFC 3261 §17.1.2.2: Trying → Proceeding on 1xx; E keeps running and is reset
            // to T2 when it next fires.
            (false, Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
                true
            }
            (false, Trying | Proceeding, _) => {
                self.state = Completed;
                self.timers.stop(Timer::E);
                self.timers.stop(Timer::F);
                let k = linger(self.reliable, self.cfg.t4);
                self.timers.set(Timer::K, now + k);
                true
            }
            _ => false,
        };
        // Zero-length D/K (reliable transports) take effect at once.
        self.handle_timeout(now);
        pass
    }

    /// The transport could not carry the request (a connection refused, reset or closed):
    /// RFC 3261 §17.1.1.2 and §17.1.2.2 end the transaction at once and tell the TU, which
    /// treats it as a 503 (§8.1.3.1). Returns whether the TU should hear of it: false once a
    /// final response came (Completed only absorbs retransmissions) or after the end.
    pub fn handle_transport_error(&mut self) -> bool {
        use ClientState::*;
        let waiting = matches!(self.state, Calling | Trying | Proceeding);
        self.terminate();
        waiting
    }

    /// Fires every timer whose deadline is `<= now`.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(t) = self.timers.pop_expired(now) {
            self.on_timer(now, t);
        }
    }

    fn on_timer(&mut self, now: Time, t: Timer) {
        use ClientState::*;
        match (t, self.state) {
            // RFC 3261 §17.1.1.2: A doubles without a cap (B ends it at 64·T1).
            (Timer::A, Calling) => {
                self.transmits.push_back(self.request.clone());
                self.interval = self.interval.saturating_mul(2);
                self.timers.set(Timer::A, now + self.interval);
            }
            // RFC 3261 §17.1.2.2: E doubles up to T2 in Trying, and is T2 in Proceeding.
            (Timer::E, Trying | Proceeding) => {
                self.transmits.push_back(self.request.clone());
                self.interval = if self.state == Trying {
                    self.interval.saturating_mul(2).min(self.cfg.t2)
                } else {
                    self.cfg.t2
                };
                self.timers.set(Timer::E, now + self.interval);
            }
            (Timer::B, Calling) | (Timer::F, Trying | Proceeding) => {
                self.events.push_back(TxEvent::Timeout);
                self.terminate();
            }
            (Timer::D | Timer::K, Completed) => self.terminate(),
            // A timer that no longer applies to the state (stopped on transition anyway).
            _ => {}
        }
    }

    fn terminate(&mut self) {
        if self.state != ClientState::Terminated {
            self.state = ClientState::Terminated;
            self.timers.stop_all();
            self.events.push_back(TxEvent::Terminated);
        }
    }

    // ---- outputs ----

    /// Bytes to send to the transaction's destination, oldest first.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }
    /// When to call `handle_timeout` next; `None` once terminated.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.timers.next_timeout()
    }
    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }
}

/// A server transaction (RFC 3261 §17.2). The caller sends the `100 Trying` for an INVITE
/// through `send_response` (RFC 3261 §17.2.1 asks for it within 200 ms).
#[derive(Debug, Clone)]
pub struct ServerTransaction {
    is_invite: bool,
    reliable: bool,
    cfg: TimerConfig,
    state: ServerState,
    /// The most recent response, re-sent on request retransmissions and by Timer G.
    last_response: Option<Vec<u8>>,
    /// The current Timer G interval.
    interval: Duration,
    timers: TimerTable,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<TxEvent>,
}

impl ServerTransaction {
    /// Starts a transaction for a request just received.
    pub fn new(_now: Time, is_invite: bool, reliable: bool, cfg: TimerConfig) -> Self {
        let cfg = sanitize(cfg);
        ServerTransaction {
            is_invite,
            reliable,
            cfg,
            state: if is_invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            last_response: None,
            interval: cfg.t1,
            timers: TimerTable::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // ---- getters ----

    /// The RFC state.
    pub fn state(&self) -> ServerState {
        self.state
    }
    /// Whether the transaction is over (its `Terminated` event may still be unpolled).
    pub fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }
    /// When timer `t` fires, if it runs.
    pub fn deadline(&self, t: Timer) -> Option<Time> {
        self.timers.get(t)
    }

    // ---- inputs ----

    /// The request arrived again: re-send the last response, if the state calls for it
    /// (RFC 3261 §17.2.1 Proceeding/Completed, §17.2.2 Proceeding/Completed).
    pub fn handle_request_retransmit(&mut self, _now: Time) {
        if matches!(self.state, ServerState::Proceeding | ServerState::Completed) {
            self.transmits.extend(self.last_response.clone());
        }
    }

    /// The TU responds. Queues `bytes` and moves the state: an INVITE 2xx terminates the
    /// transaction (its retransmission is the TU's, see [`TwoXxRetransmitter`]); an INVITE
    /// 300–699 enters Completed with G (unreliable) and H; a non-INVITE final response
    /// enters Completed with J. Responses the state does not allow are dropped
    /// (RFC 3261 §17.2.2: "MUST be discarded").
    pub fn send_response(&mut self, now: Time, status: u16, bytes: Vec<u8>) {
        use ServerState::*;
        match (self.is_invite, self.state, status) {
            (_, _, s) if !(100..=699).contains(&s) => return,
            (true, Proceeding, 100..=199) | (false, Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
            }
            (true, Proceeding, 200..=299) => {
                self.transmits.push_back(bytes);
                self.terminate();
                return;
            }
            (true, Proceeding, _) => {
                self.state = Completed;
                if !self.reliable {
                    self.interval = self.cfg.t1;
                    self.timers.set(Timer::G, now + self.interval);
                }
                self.timers.set(Timer::H, now + self.cfg.t1x64());
            }
            (false, Trying | Proceeding, _) => {
                self.state = Completed;
                let j = linger(self.reliable, self.cfg.t1x64());
                self.timers.set(Timer::J, now + j);
            }
            _ => return,
        }
        self.transmits.push_back(bytes.clone());
        self.last_response = Some(bytes);
        self.handle_timeout(now);
    }

    /// An ACK for a 300–699 response (RFC 3261 §17.2.1): Completed → Confirmed, Timer I.
    /// ACK retransmissions in Confirmed are absorbed.
    pub fn handle_ack(&mut self, now: Time) {
        if self.is_invite && self.state == ServerState::Completed {
            self.state = ServerState::Confirmed;
            self.timers.stop(Timer::G);
            self.timers.stop(Timer::H);
            let i = linger(self.reliable, self.cfg.t4);
            self.timers.set(Timer::I, now + i);
            self.handle_timeout(now);
        }
    }

    /// Fires every timer whose deadline is `<= now`.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(t) = self.timers.pop_expired(now) {
            self.on_timer(now, t);
        }
    }

    fn on_timer(&mut self, now: Time, t: Timer) {
        use ServerState::*;
        match (t, self.state) {
            // RFC 3261 §17.2.1: G doubles up to T2.
            (Timer::G, Completed) => {
                self.transmits.extend(self.last_response.clone());
                self.interval = self.interval.saturating_mul(2).min(self.cfg.t2);
                self.timers.set(Timer::G, now + self.interval);
            }
            (Timer::H, Completed) => {
                self.events.push_back(TxEvent::Timeout);
                self.terminate();
            }
            (Timer::I, Confirmed) | (Timer::J, Completed) => self.terminate(),
            _ => {}
        }
    }

    fn terminate(&mut self) {
        if self.state != ServerState::Terminated {
            self.state = ServerState::Terminated;
            self.timers.stop_all();
            self.events.push_back(TxEvent::Terminated);
        }
    }

    // ---- outputs ----

    /// Bytes to send to the request's source (RFC 3261 §18.2.2), oldest first.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }
    /// When to call `handle_timeout` next; `None` once terminated.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.timers.next_timeout()
    }
    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }
}

/// RFC 3261 §13.3.1.4: the UAS core retransmits a 2xx to INVITE every T1, doubling up to
/// T2, until the ACK arrives or 64·T1 passes — on every transport, since the 2xx travels
/// end to end. Uses Timer G's and H's slots for the two deadlines.
#[derive(Debug, Clone)]
pub struct TwoXxRetransmitter {
    bytes: Vec<u8>,
    cfg: TimerConfig,
    interval: Duration,
    timers: TimerTable,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<TxEvent>,
    done: bool,
}

impl TwoXxRetransmitter {
    /// Queues the first transmission of the 2xx `bytes`.
    pub fn new(now: Time, bytes: Vec<u8>, cfg: TimerConfig) -> Self {
        let cfg = sanitize(cfg);
        let mut timers = TimerTable::default();
        timers.set(Timer::G, now + cfg.t1);
        timers.set(Timer::H, now + cfg.t1x64());
        TwoXxRetransmitter {
            transmits: VecDeque::from([bytes.clone()]),
            bytes,
            cfg,
            interval: cfg.t1,
            timers,
            events: VecDeque::new(),
            done: false,
        }
    }

    /// The ACK arrived: stop (emits `Terminated`).
    pub fn handle_ack(&mut self) {
        self.finish();
    }

    /// Fires every timer whose deadline is `<= now`.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(t) = self.timers.pop_expired(now) {
            match t {
                Timer::G => {
                    self.transmits.push_back(self.bytes.clone());
                    self.interval = self.interval.saturating_mul(2).min(self.cfg.t2);
                    self.timers.set(Timer::G, now + self.interval);
                }
                // RFC 3261 §13.3.1.4: no ACK in 64·T1; the TU should end the dialog (BYE).
                _ => {
                    self.events.push_back(TxEvent::Timeout);
                    self.finish();
                }
            }
        }
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.timers.stop_all();
            self.events.push_back(TxEvent::Terminated);
        }
    }

    /// Whether it has stopped (ACK or timeout).
    pub fn is_terminated(&self) -> bool {
        self.done
    }
    /// The next retransmission's or timeout's time, if any.
    pub fn deadline(&self, t: Timer) -> Option<Time> {
        self.timers.get(t)
    }
    /// Bytes to send, oldest first.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }
    /// When to call `handle_timeout` next; `None` once stopped.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.timers.next_timeout()
    }
    /// `Timeout` (then `Terminated`) when no ACK came; `Terminated` alone after an ACK.
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
#[path = "transaction_tests.rs"]
mod tests;
