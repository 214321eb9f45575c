//! A simulated SIP user agent: one of the user's devices (desk, softphone, mobile) or the
//! customer at the far end. It registers with digest auth, places and answers calls, sends
//! its audio signature as G.711 RTP every 20 ms and classifies everything it hears.

mod account;
mod call;
mod flow;
mod incoming;
mod media;
mod observe;
mod refusal;
mod register;

pub use media::{RTCP_MUX, add_rtcp_mux, wants_rtcp_mux};

pub use account::{DEFAULT_EXPIRES, UaOptions};
pub use call::{Call, CallIdx, CallState, EndCause, SeenIdentity};
pub use refusal::RefusalDetail;
pub use register::RegisterFailure;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::core::Time;
use crate::core::rtp::{Classifier, Codec, MediaReceiver};
use crate::core::sip::{
    Message, SdpCodec, SessionDescription, SipEvent, SipStack, Transport, cancel_for, via_value,
};
use crate::roles::Transmit;
use crate::timeline::{CallChange, Observation, SipDir};

/// How this UA treats an INVITE with `Replaces` (RFC 3891), as real phones differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacesMode {
    /// Accept it, answer, and end the replaced dialog with a BYE.
    Accept,
    /// Answer `420 Bad Extension` when it carries `Require: replaces`.
    Reject,
    /// Treat it as a new, unrelated call.
    Ignore,
}

#[derive(Debug, Clone)]
pub struct UaConfig {
    /// The role's name in reports and logs ("desk", "customer").
    pub name: String,
    /// The SIP account: the digest username, and the AOR's user part unless
    /// [`UaOptions::aor`] names another.
    pub username: String,
    pub password: String,
    /// The AOR's domain (the registrar's host when none is configured).
    pub domain: String,
    /// Where every request goes (registrar and outbound proxy).
    pub proxy: SocketAddr,
    /// What every SIP request goes on: the transport of the target (media stays on UDP).
    /// On TCP and TLS the UA opens the connection and everything to it goes back over it:
    /// it listens on no stream port of its own, as a phone behind NAT.
    pub transport: Transport,
    /// SIPS URIs everywhere (the AOR, the registrar, every Request-URI and our Contact):
    /// the target requires TLS on every hop (RFC 3261 §26.2.2). Only with TLS.
    pub sips: bool,
    pub sip_addr: SocketAddr,
    pub rtp_addr: SocketAddr,
    pub codecs: Vec<Codec>,
    /// The audio signature this party sends.
    pub signature: u8,
    pub replaces: ReplacesMode,
    /// Answer incoming calls at once (the customer does; devices answer on command).
    pub auto_answer: bool,
    pub seed: u64,
    /// The account plan beyond username and password, and how the target reaches us.
    pub options: UaOptions,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UaEvent {
    Registered,
    RegisterFailed { status: u16 },
    Unregistered,
    Incoming { call: CallIdx },
    Ringing { call: CallIdx },
    Answered { call: CallIdx },
    Confirmed { call: CallIdx },
    Ended { call: CallIdx },
}

/// Context values we tag client transactions with, to route responses back.
const CTX_REGISTER: u64 = u64::MAX;
const CTX_UNREGISTER: u64 = u64::MAX - 1;
const CTX_IN_DIALOG: u64 = u64::MAX - 2;
const CTX_OPTIONS: u64 = u64::MAX - 3;

pub struct UserAgent {
    cfg: UaConfig,
    stack: SipStack,
    pub calls: Vec<Call>,
    receiver: MediaReceiver,
    registered: bool,
    /// Why the last REGISTER failed, until one succeeds.
    register_error: Option<RegisterFailure>,
    /// When to ping the flow to the proxy (RFC 5626 §4.4.1), on TCP and TLS only.
    keepalive_at: Time,
    /// When to refresh the registration.
    refresh_at: Time,
    register_cseq: u32,
    register_call_id: String,
    register_tag: String,
    register_auth: u32,
    /// How long a REGISTER may wait, and whether a 503 has had its retry.
    register_retry: register::RegisterRetry,
    out: VecDeque<Transmit>,
    events: VecDeque<UaEvent>,
    /// What this party saw and did, for the scenario's timeline (drained by the scene).
    observations: VecDeque<(Time, Observation)>,
    /// The instant of the latest input, for stamping the messages `poll_transmit` hands out.
    now: Time,
    /// The final answer to our OPTIONS (status, reason), or `Err` when none came.
    options_answer: Option<Result<(u16, String), ()>>,
}

impl UserAgent {
    pub fn new(cfg: UaConfig, classifier: Arc<Classifier>) -> UserAgent {
        let mut stack = SipStack::new(cfg.sip_addr, cfg.seed);
        stack.check_findings(true);
        let register_call_id = stack.new_call_id();
        let register_tag = stack.new_tag();
        UserAgent {
            cfg,
            stack,
            calls: Vec::new(),
            receiver: MediaReceiver::new(classifier),
            registered: false,
            register_error: None,
            keepalive_at: Time::NEVER,
            refresh_at: Time::NEVER,
            register_cseq: 0,
            register_call_id,
            register_tag,
            register_auth: 0,
            register_retry: Default::default(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            observations: VecDeque::new(),
            now: Time::ZERO,
            options_answer: None,
        }
    }

    // ---- getters ----

    pub fn name(&self) -> &str {
        &self.cfg.name
    }
    pub fn config(&self) -> &UaConfig {
        &self.cfg
    }
    pub fn is_registered(&self) -> bool {
        self.registered
    }
    /// Why registration failed, if it did (until a REGISTER succeeds).
    pub fn register_error(&self) -> Option<&RegisterFailure> {
        self.register_error.as_ref()
    }

    fn register_failed(&mut self, failure: RegisterFailure) {
        // The event's status as RFC 3261 §8.1.3.1 counts it: no answer is a 408, a failed
        // transport a 503.
        let status = match &failure {
            RegisterFailure::Transport { .. } => 503,
            f => f.status().unwrap_or(408),
        };
        self.register_error = Some(failure);
        self.events.push_back(UaEvent::RegisterFailed { status });
    }
    /// RFC violations in what the system under test sent this party.
    pub fn findings(&self) -> &[crate::core::sip::PeerFinding] {
        self.stack.findings()
    }
    /// No transaction of ours is still running (used to let a run drain before it ends).
    pub fn is_idle(&self) -> bool {
        self.stack.is_idle()
    }
    /// The receiver, to move what it heard into the scenario's timeline.
    pub fn receiver_mut(&mut self) -> &mut MediaReceiver {
        &mut self.receiver
    }
    pub fn receiver(&self) -> &MediaReceiver {
        &self.receiver
    }
    /// The confirmed call, if any (the latest when several are).
    pub fn active_call(&self) -> Option<CallIdx> {
        self.calls
            .iter()
            .rposition(|c| c.state == CallState::Confirmed)
    }
    pub fn ringing_call(&self) -> Option<CallIdx> {
        self.calls
            .iter()
            .rposition(|c| c.state == CallState::Ringing)
    }
    pub fn addresses(&self) -> [SocketAddr; 2] {
        [self.cfg.sip_addr, self.cfg.rtp_addr]
    }
    // ---- commands ----

    /// Calls `target` (a user name or a feature code like `*11`) through the proxy.
    pub fn call(&mut self, now: Time, target: &str) -> CallIdx {
        self.now = now;
        let tag = self.stack.new_tag();
        let call_id = self.stack.new_call_id();
        let idx = self.calls.len();
        let mut call = Call::new(now, true, tag.clone());
        let uri = self.uri_at(target);
        let mut msg = Message::request("INVITE", &uri);
        let branch = self.stack.new_branch();
        msg.push_header("Via", &self.via(&branch));
        msg.push_header("Max-Forwards", "70");
        self.push_route(&mut msg);
        let mut from = crate::core::sip::NameAddr::new(&self.caller());
        from.set_param("tag", Some(&tag));
        msg.push_header("From", &from.to_string());
        msg.push_header("To", &format!("<{uri}>"));
        msg.push_header("Call-ID", &call_id);
        msg.push_header("CSeq", "1 INVITE");
        msg.push_header("Contact", &format!("<{}>", self.contact_uri()));
        msg.push_header("Supported", "replaces");
        msg.push_header("User-Agent", &format!("flipcheck-{}", self.cfg.name));
        let sdp = self.offer();
        msg.set_body("application/sdp", sdp.to_string().as_bytes());
        call.invite = Some(msg.clone());
        call.invite_dest = Some(self.cfg.proxy);
        self.calls.push(call);
        let created = CallChange::Created {
            outgoing: true,
            replaces: None,
        };
        self.note_call(now, idx, created);
        self.send(now, msg, self.cfg.proxy, idx as u64);
        idx
    }

    /// Our Via for a request with `branch`.
    fn via(&self, branch: &str) -> String {
        via_value(self.cfg.transport, self.cfg.sip_addr, branch)
    }

    /// Sends a request to `dest` in a new transaction, over our transport.
    fn send(&mut self, now: Time, msg: Message, dest: SocketAddr, ctx: u64) {
        self.stack
            .send_request(now, msg, dest, self.cfg.transport, ctx);
    }

    /// A dialog built from one of our transactions, speaking our transport whatever the
    /// peer's Via said (a PBX may reach us over another one; we stay on ours).
    fn our_dialog(&self, mut dialog: crate::core::sip::Dialog) -> crate::core::sip::Dialog {
        dialog.transport = self.cfg.transport;
        dialog
    }

    /// Answers a ringing incoming call with 200 OK and our SDP answer; media starts now.
    pub fn answer(&mut self, now: Time, idx: CallIdx) -> bool {
        self.now = now;
        incoming::answer(self, now, idx)
    }

    /// Ends a call: BYE when confirmed, CANCEL when still calling, 486 when ringing here.
    pub fn hangup(&mut self, now: Time, idx: CallIdx) {
        self.hangup_with(now, idx, EndCause::Local);
    }

    /// [`hangup`](Self::hangup), recording `cause` as why the call ended.
    pub(crate) fn hangup_with(&mut self, now: Time, idx: CallIdx, cause: EndCause) {
        self.now = now;
        let Some(call) = self.calls.get_mut(idx) else {
            return;
        };
        match call.state {
            CallState::Confirmed => {
                let branch = self.stack.new_branch();
                let Some(dialog) = call.dialog.as_mut() else {
                    return;
                };
                let mut bye = dialog.request("BYE", self.cfg.sip_addr, &branch);
                let dest = dialog.next_hop().unwrap_or(self.cfg.proxy);
                bye.push_header("Content-Length", "0");
                self.end_call(now, idx, cause);
                self.send(now, bye, dest, CTX_IN_DIALOG);
                self.events.push_back(UaEvent::Ended { call: idx });
            }
            CallState::Calling => {
                if let (Some(invite), Some(dest)) = (call.invite.clone(), call.invite_dest) {
                    let cancel = cancel_for(&invite);
                    self.send(now, cancel, dest, CTX_IN_DIALOG);
                }
                self.end_call(now, idx, cause);
                self.events.push_back(UaEvent::Ended { call: idx });
            }
            CallState::Ringing => {
                if let Some((req, key)) = call.incoming.clone() {
                    let tag = call.local_tag.clone();
                    self.stack.respond(now, &key, &req, 486, Some(&tag));
                }
                self.end_call(now, idx, cause);
                self.events.push_back(UaEvent::Ended { call: idx });
            }
            CallState::Terminated => {}
        }
    }

    /// Ctrl-C or the end of a run: hang up every live call and unregister.
    pub fn shutdown(&mut self, now: Time) {
        for idx in 0..self.calls.len() {
            self.hangup(now, idx);
        }
        self.unregister(now);
    }

    // ---- I/O ----

    /// A UDP datagram handled the instant it arrived.
    pub fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        self.handle_received(now, now, Transport::Udp, local, from, data);
    }

    /// A message that arrived on `transport` at `received_at` (the socket's receive
    /// timestamp), handled at `now`. Frames are stamped with the arrival, so a late harness
    /// cannot hide a gap.
    pub fn handle_received(
        &mut self,
        now: Time,
        received_at: Time,
        transport: Transport,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        self.now = now;
        if local == self.cfg.rtp_addr && transport == Transport::Udp {
            // Undecodable media is counted by the receiver; it never stops the call.
            let _ = self.receiver.handle_packet(received_at, data);
            return;
        }
        self.note_sip(received_at, data, SipDir::Received, from);
        self.stack.handle_message(now, from, transport, data);
        self.process_sip(now);
    }

    pub fn handle_timeout(&mut self, now: Time) {
        self.now = now;
        if self.stack.poll_timeout() <= now {
            self.stack.handle_timeout(now);
            self.process_sip(now);
        }
        if self.refresh_at <= now {
            self.refresh_at = Time::NEVER;
            self.register(now);
        }
        if self.keepalive_at <= now {
            self.keepalive(now);
        }
        self.send_media(now);
    }

    pub fn poll_timeout(&self) -> Time {
        self.media_deadline()
            .min(self.stack.poll_timeout())
            .min(self.refresh_at)
            .min(self.keepalive_at)
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(out) = self.stack.poll_transmit() {
            self.note_sip(self.now, &out.data, SipDir::Sent, out.to);
            self.flow_used(out.transport);
            return Some(Transmit {
                from: self.cfg.sip_addr,
                to: out.to,
                transport: out.transport,
                data: out.data,
            });
        }
        self.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    fn process_sip(&mut self, now: Time) {
        while let Some(ev) = self.stack.poll_event() {
            match ev {
                SipEvent::Request {
                    msg, source, key, ..
                } => incoming::handle_request(self, now, msg, source, key),
                SipEvent::Response { msg, ctx, request } => {
                    self.handle_response(now, msg, ctx, request)
                }
                SipEvent::Timeout { ctx, .. } => {
                    self.handle_failure(now, ctx, 408, "Request Timeout")
                }
                SipEvent::TransportError { ctx, reason, .. } => {
                    self.handle_transport_failure(now, ctx, reason)
                }
                SipEvent::NoAck { call_id, .. } => {
                    if let Some(idx) = self.call_by_call_id(&call_id) {
                        self.hangup(now, idx);
                    }
                }
                // Counted as a finding by the stack; nothing else to do.
                SipEvent::Malformed { .. } => {}
            }
        }
    }

    fn call_by_call_id(&self, call_id: &str) -> Option<CallIdx> {
        self.calls.iter().rposition(|c| {
            c.dialog.as_ref().map(|d| d.call_id.as_str()) == Some(call_id)
                || c.invite.as_ref().and_then(|m| m.call_id()) == Some(call_id)
        })
    }

    fn handle_response(&mut self, now: Time, msg: Message, ctx: u64, request: Message) {
        let status = msg.status().unwrap_or(500);
        if ctx == CTX_REGISTER || ctx == CTX_UNREGISTER {
            return self.handle_register_response(now, msg, ctx, request);
        }
        if ctx == CTX_OPTIONS {
            if status >= 200 {
                self.options_answer = Some(Ok((status, msg.reason().unwrap_or("").to_string())));
            }
            return;
        }
        if ctx == CTX_IN_DIALOG || status < 100 {
            return;
        }
        let idx = ctx as usize;
        if request.method() != Some("INVITE") || idx >= self.calls.len() {
            return;
        }
        if self.calls[idx].state != CallState::Calling {
            if (200..300).contains(&status) && self.calls[idx].dialog.is_none() {
                // We cancelled (or gave up) and the 2xx crossed it: the call exists at the
                // far end, so ACK it and end it with a BYE (RFC 3261 §9.1, §15).
                self.ack_and_bye(now, idx, &msg, &request);
            }
            return;
        }
        match status {
            100..=199 => {
                if status == 180 || status == 183 {
                    self.calls[idx].rings += 1;
                    self.events.push_back(UaEvent::Ringing { call: idx });
                }
            }
            200..=299 => self.handle_invite_ok(now, idx, &msg, &request),
            401 | 407 if self.calls[idx].auth_attempts == 0 => {
                self.calls[idx].auth_attempts += 1;
                self.retry_invite_with_auth(now, idx, &msg, &request);
            }
            401 | 407 => {
                self.end_call(now, idx, EndCause::AuthLoop(status));
                self.events.push_back(UaEvent::Ended { call: idx });
            }
            _ => {
                let reason = msg.reason().unwrap_or("").to_string();
                self.calls[idx].refusal = RefusalDetail::of(&msg);
                self.end_call(now, idx, EndCause::Rejected(status, reason));
                self.events.push_back(UaEvent::Ended { call: idx });
            }
        }
    }

    fn handle_invite_ok(&mut self, now: Time, idx: CallIdx, msg: &Message, request: &Message) {
        let contact = self.contact_uri();
        let Some(dialog) = crate::core::sip::Dialog::as_uac(request, msg, &contact) else {
            return;
        };
        let dialog = self.our_dialog(dialog);
        let branch = self.stack.new_branch();
        let cseq = request.cseq().map(|c| c.seq).unwrap_or(1);
        let mut ack = dialog.ack(cseq, self.cfg.sip_addr, &branch);
        ack.push_header("Content-Length", "0");
        let dest = dialog.next_hop().unwrap_or(self.cfg.proxy);
        self.send(now, ack, dest, CTX_IN_DIALOG);
        let answer = SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok();
        let call = &mut self.calls[idx];
        call.dialog = Some(dialog);
        call.state = CallState::Confirmed;
        call.answered_at = Some(now);
        call.observe(now, msg, "To");
        self.note_confirmed(now, idx);
        if let Some(answer) = answer
            && let Some(codec) = self.codec_in_answer(&answer)
        {
            self.start_media(now, idx, &answer, codec);
        }
        self.events.push_back(UaEvent::Answered { call: idx });
    }

    fn ack_and_bye(&mut self, now: Time, idx: CallIdx, msg: &Message, request: &Message) {
        let contact = self.contact_uri();
        let Some(dialog) = crate::core::sip::Dialog::as_uac(request, msg, &contact) else {
            return;
        };
        let mut dialog = self.our_dialog(dialog);
        let cseq = request.cseq().map(|c| c.seq).unwrap_or(1);
        let dest = dialog.next_hop().unwrap_or(self.cfg.proxy);
        let branch = self.stack.new_branch();
        let mut ack = dialog.ack(cseq, self.cfg.sip_addr, &branch);
        ack.push_header("Content-Length", "0");
        self.send(now, ack, dest, CTX_IN_DIALOG);
        let branch = self.stack.new_branch();
        let mut bye = dialog.request("BYE", self.cfg.sip_addr, &branch);
        bye.push_header("Content-Length", "0");
        self.send(now, bye, dest, CTX_IN_DIALOG);
        self.calls[idx].dialog = Some(dialog);
    }

    fn retry_invite_with_auth(
        &mut self,
        now: Time,
        idx: CallIdx,
        msg: &Message,
        request: &Message,
    ) {
        let (auth_header, credentials) = match self.credentials(msg, request) {
            Ok(answer) => answer,
            Err(why) => {
                let status = msg.status().unwrap_or(0);
                let reason = format!("with a challenge flipcheck cannot answer ({why})");
                self.end_call(now, idx, EndCause::Rejected(status, reason));
                self.events.push_back(UaEvent::Ended { call: idx });
                return;
            }
        };
        let mut retry = request.clone();
        retry.remove_first_value("Via");
        let branch = self.stack.new_branch();
        retry.insert_header_first("Via", &self.via(&branch));
        let cseq = request.cseq().map(|c| c.seq).unwrap_or(1) + 1;
        retry.set_header("CSeq", &format!("{cseq} INVITE"));
        retry.set_header(auth_header, &credentials);
        self.calls[idx].invite = Some(retry.clone());
        self.send(now, retry, self.cfg.proxy, idx as u64);
    }

    fn handle_failure(&mut self, now: Time, ctx: u64, status: u16, reason: &str) {
        if ctx == CTX_OPTIONS {
            self.options_answer = Some(Err(()));
            return;
        }
        if ctx == CTX_REGISTER || ctx == CTX_UNREGISTER {
            self.register_failed(RegisterFailure::NoResponse);
            return;
        }
        let idx = ctx as usize;
        if self
            .calls
            .get(idx)
            .is_some_and(|c| c.state == CallState::Calling)
        {
            // Only a transaction timeout reaches here: nothing the peer said.
            let cause = if status == 408 {
                EndCause::TimedOut
            } else {
                EndCause::Rejected(status, reason.to_string())
            };
            self.end_call(now, idx, cause);
            self.events.push_back(UaEvent::Ended { call: idx });
        }
    }
}

/// The media codec an SDP codec names, if we can send it.
pub fn codec_of(c: &SdpCodec) -> Option<Codec> {
    match c.name.to_ascii_uppercase().as_str() {
        "PCMU" => Some(Codec::Pcmu),
        "PCMA" => Some(Codec::Pcma),
        _ => None,
    }
}
