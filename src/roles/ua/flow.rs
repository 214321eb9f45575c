//! The user agent's side of a TCP or TLS flow to its proxy: a CRLF ping when the flow has
//! been idle (RFC 5626 §4.4.1), so NATs and the server keep it open; and a connection that
//! fails, which ends what waited on it with the reason instead of waiting for Timer B.

use std::net::SocketAddr;
use std::time::Duration;

use super::{CTX_REGISTER, CTX_UNREGISTER, CallState, EndCause, UaEvent, UserAgent};
use crate::core::Time;
use crate::core::sip::Transport;
use crate::roles::Transmit;

/// How long a flow may stay silent before we ping it. RFC 5626 §4.4.1 suggests 95 to 120
/// s for TCP; many NATs and PBXs forget idle connections sooner, so we ping more often.
pub(super) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// RFC 5626 §3.5.1: the client's ping is a double CRLF.
const PING: &[u8] = b"\r\n\r\n";

impl UserAgent {
    /// The connection to `remote` is gone or could not be opened: what waited on it ends
    /// now, with `reason`, instead of at Timer B. The next request opens a new one.
    pub fn handle_flow_closed(
        &mut self,
        now: Time,
        transport: Transport,
        remote: SocketAddr,
        reason: &str,
    ) {
        self.now = now;
        self.stack.flow_failed(remote, transport, reason);
        self.process_sip(now);
    }

    /// A SIP message went out on `transport`: a stream flow is not idle now.
    pub(super) fn flow_used(&mut self, transport: Transport) {
        if transport.is_reliable() {
            self.keepalive_at = self.now + KEEPALIVE_INTERVAL;
        }
    }

    /// The flow to the proxy was idle for [`KEEPALIVE_INTERVAL`]: ping it while a binding
    /// depends on it.
    pub(super) fn keepalive(&mut self, now: Time) {
        if !self.registered {
            self.keepalive_at = Time::NEVER;
            return;
        }
        let ping = Transmit {
            from: self.cfg.sip_addr,
            to: self.cfg.proxy,
            transport: self.cfg.transport,
            data: PING.to_vec(),
        };
        self.out.push_back(ping);
        self.keepalive_at = now + KEEPALIVE_INTERVAL;
    }

    /// A request's connection failed before its final response: a registration fails
    /// with the reason, a call being placed ends with it (RFC 3261 §8.1.3.1 counts it as
    /// a 503, but nothing the target said).
    pub(super) fn handle_transport_failure(&mut self, now: Time, ctx: u64, reason: String) {
        if ctx == CTX_REGISTER || ctx == CTX_UNREGISTER {
            self.register_failed(super::RegisterFailure::Transport { reason });
            return;
        }
        let idx = ctx as usize;
        if self
            .calls
            .get(idx)
            .is_some_and(|c| c.state == CallState::Calling)
        {
            self.end_call(now, idx, EndCause::TransportFailed(reason));
            self.events.push_back(UaEvent::Ended { call: idx });
        }
    }
}
