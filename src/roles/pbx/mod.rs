//! The embedded reference PBX: a registrar with digest auth and several contacts per user,
//! and a B2BUA that anchors media in its own RTP relay, so the customer's leg can stay the
//! same dialog while a flip moves the call between the user's devices. Quirk switches make
//! it misbehave like real systems do, one behaviour at a time, to prove each detector.

mod calls;
mod cdr;
mod events;
mod flip;
mod quirks;
mod registrar;
mod relay;
mod session;

pub use events::PbxEvent;
pub use registrar::Binding;
pub use session::{Flow, Leg, LegState, Segment, Session};

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::core::Time;
use crate::core::sip::{
    Algorithm, Message, ServerKey, SipEvent, SipStack, Transport, is_sips, response_to, sip_uri,
    uri_user,
};
use crate::roles::Transmit;
use quirks::QuirkState;
use registrar::{AuthOutcome, Registrar};
use relay::Relay;

/// Misbehaviours the PBX can be switched into (README "Targets", quirks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PbxQuirks {
    /// Hang up on the customer when a flip happens.
    pub drop_customer_on_flip: bool,
    /// Move the customer to a new dialog (INVITE with Replaces) on a flip, as proxies do.
    pub new_dialog_on_flip: bool,
    /// Re-INVITE the customer (same dialog, fresh offer) on every flip.
    pub reinvite_customer_on_flip: bool,
    /// Play about one second of hold music to the customer during a flip.
    pub hold_music_during_flip: bool,
    /// Show the customer the new device's own identity after a flip.
    pub change_caller_id_on_flip: bool,
    /// After a flip, relay the customer's audio to the new device but not the new device's
    /// to the customer (the classic re-INVITE bug: one-way audio).
    pub one_way_audio_on_flip: bool,
    /// Start a new RFC 7989 Session-ID after a flip (the CDR then holds one record per id).
    pub new_session_id_on_flip: bool,
    /// Write one CDR record per device segment, as analytics systems that split on a
    /// device change do (the Session-ID on the wire stays the same).
    pub split_cdr_on_flip: bool,
    /// Answer the flip request with 403 Forbidden.
    pub refuse_flip: bool,
    /// Answer the flip request with 180 Ringing and never complete it (until CANCEL).
    pub flip_never_answered: bool,
    /// Send no response at all to the flip request (nor to its retransmissions).
    pub ignore_flip_request: bool,
    /// Challenge the flip request again even when its credentials are right (an
    /// authentication loop).
    pub challenge_flip_twice: bool,
    /// After a flip, send no BYE to the old device and keep relaying the customer's audio
    /// to it (a platform that needs the old device hung up by hand).
    pub keep_old_device_on_flip: bool,
    /// Send no `Session-ID` header on any message.
    pub omit_session_id: bool,
    /// At a flip, leave the customer this many milliseconds without audio: the new
    /// device's audio is held back until that long after the old device's last packet
    /// finished playing, then its newest packet goes out (0: off).
    pub media_gap_ms: u32,
    /// After a flip, drop this many of the new device's packets toward the customer, every
    /// other packet from its tenth on (0: off).
    pub lose_packets_after_flip: u32,
}

#[derive(Debug, Clone)]
pub struct PbxConfig {
    /// SIP over UDP and TCP.
    pub sip_addr: SocketAddr,
    /// SIP over TLS, on an address of its own (none: no TLS).
    pub tls_addr: Option<SocketAddr>,
    /// The relay's ports: one per call leg in use.
    pub rtp_addrs: Vec<SocketAddr>,
    /// Domain of every AOR.
    pub domain: String,
    /// The protection space of every challenge (RFC 3261 §22.1); the domain by default.
    pub realm: String,
    /// The directory: AOR user and password.
    pub users: Vec<(String, String)>,
    /// Users whose digest username or dialled number differ from their AOR user: an
    /// account plan as most PBXs have one (alice authenticates as 1001, is dialled as 2001).
    pub numbering: Vec<Numbering>,
    /// Dialled from another device of the same user, pulls that user's call.
    pub feature_code: String,
    pub quirks: PbxQuirks,
    /// Digest algorithms challenged with, most preferred first. MD5 alone by default: many
    /// phones in the field know nothing else (RFC 8760 adds SHA-256).
    pub digest: Vec<Algorithm>,
    pub seed: u64,
}

impl PbxConfig {
    /// The reference PBX as the README describes it: the default directory with one
    /// password, the domain being the listening address, and `*11` as the flip code.
    pub fn reference(
        sip_addr: SocketAddr,
        rtp_addrs: Vec<SocketAddr>,
        password: &str,
        quirks: PbxQuirks,
        seed: u64,
    ) -> PbxConfig {
        PbxConfig {
            sip_addr,
            tls_addr: None,
            rtp_addrs,
            // A URI host: an IPv6 literal goes in brackets (RFC 3261 §19.1.1).
            domain: match sip_addr.ip() {
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            },
            realm: match sip_addr.ip() {
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            },
            users: default_users(password),
            numbering: Vec::new(),
            feature_code: "*11".into(),
            quirks,
            digest: vec![Algorithm::Md5],
            seed,
        }
    }
}

/// One user's entry in an account plan: the names it is known by besides its AOR user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbering {
    /// The AOR user (a directory user).
    pub user: String,
    /// The digest username it authenticates with.
    pub auth_username: String,
    /// A number that reaches it, besides its AOR user.
    pub extension: Option<String>,
}

/// The default directory: three users of one site, an admin and the far end.
pub fn default_users(password: &str) -> Vec<(String, String)> {
    ["alice", "bob", "carol", "supervisor", "customer"]
        .iter()
        .map(|u| (u.to_string(), password.to_string()))
        .collect()
}

/// Context tags on client transactions: which leg, and what the request was for.
const CTX_REPLACE: u64 = 1 << 40;
const CTX_REINVITE: u64 = 1 << 42;
const CTX_IN_DIALOG: u64 = 1 << 41;

pub struct Pbx {
    cfg: PbxConfig,
    stack: SipStack,
    rng: StdRng,
    registrar: Registrar,
    relay: Relay,
    pub sessions: Vec<Session>,
    pub legs: Vec<Leg>,
    /// Call-ID → leg, for every dialog the PBX is in (including replaced ones).
    call_ids: HashMap<String, usize>,
    out: VecDeque<Transmit>,
    /// The CDR (README "The embedded PBX as a server"): JSON lines of the ended call sessions, oldest first; one per
    /// session unless a quirk splits it (see `cdr.rs`).
    pub cdrs: Vec<String>,
    /// What happened since the operator last looked (`drain_events`): calls answered,
    /// flips done and refused.
    events: Vec<PbxEvent>,
    /// Set by `shutdown`: every session was ended and the PBX stops once BYEs are out.
    stopping: bool,
    quirk_state: QuirkState,
}

impl Pbx {
    pub fn new(cfg: PbxConfig) -> Pbx {
        let mut stack = SipStack::new(cfg.sip_addr, cfg.seed);
        if let Some(tls) = cfg.tls_addr {
            stack.set_local(Transport::Tls, tls);
        }
        let rng = StdRng::seed_from_u64(cfg.seed ^ 0x5eed_0f9b);
        let registrar = Registrar::new(&cfg.realm, &cfg.users, &cfg.numbering, &cfg.digest);
        let relay = Relay::new(&cfg.rtp_addrs);
        Pbx {
            cfg,
            stack,
            rng,
            registrar,
            relay,
            sessions: Vec::new(),
            legs: Vec::new(),
            call_ids: HashMap::new(),
            out: VecDeque::new(),
            cdrs: Vec::new(),
            events: Vec::new(),
            stopping: false,
            quirk_state: QuirkState::default(),
        }
    }

    /// Ends every live session (BYE to both sides) before the server stops.
    pub fn shutdown(&mut self, now: Time) {
        self.stopping = true;
        for s in 0..self.sessions.len() {
            self.end_session(now, s);
        }
    }

    /// After `shutdown`, once the BYEs have been answered (or timed out).
    pub fn is_stopped(&self) -> bool {
        self.stopping && self.stack.is_idle()
    }

    pub fn config(&self) -> &PbxConfig {
        &self.cfg
    }

    pub fn contacts(&self, user: &str, now: Time) -> Vec<Binding> {
        self.registrar.contacts(user, now)
    }

    /// Our Contact on `transport`: a SIPS URI when the dialog's request was one (RFC 3261
    /// §12.1.1 and §8.1.1.8 ask for it), else one that names the transport (§19.1.4).
    fn contact_for(&self, transport: Transport, sips: bool) -> String {
        let local = self.stack.local_for(transport);
        sip_uri(Some("pbx"), local, transport, sips)
    }

    /// Our Contact on `leg`: on its transport, SIPS when its INVITE's Request-URI was.
    fn leg_contact(&self, leg: usize) -> String {
        let l = &self.legs[leg];
        let sips = l.invite.request_uri().is_some_and(is_sips);
        self.contact_for(l.transport, sips)
    }

    /// Our address on `leg`'s transport: what the Via of a request on it names.
    fn local_for(&self, leg: usize) -> SocketAddr {
        self.stack.local_for(self.legs[leg].transport)
    }

    fn aor(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.cfg.domain)
    }

    // ---- I/O ----

    /// A UDP datagram: SIP on the SIP address, media on a relay port.
    pub fn handle_datagram(&mut self, now: Time, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        self.handle_message(now, Transport::Udp, local, from, data);
    }

    /// A message received on `transport`: a datagram, or one SIP message from a TCP or TLS
    /// connection.
    pub fn handle_message(
        &mut self,
        now: Time,
        transport: Transport,
        local: SocketAddr,
        from: SocketAddr,
        data: &[u8],
    ) {
        if local == self.stack.local_for(transport) {
            self.stack.handle_message(now, from, transport, data);
            self.process_sip(now);
        } else if transport == Transport::Udp && self.relay.owns(local) {
            self.relay_packet(now, local, from, data);
        }
    }

    /// A connection to `remote` is gone: what we sent on it and still wait for fails now.
    pub fn handle_flow_closed(
        &mut self,
        now: Time,
        transport: Transport,
        _local: SocketAddr,
        remote: SocketAddr,
        reason: &str,
    ) {
        self.stack.flow_failed(remote, transport, reason);
        self.process_sip(now);
    }

    pub fn handle_timeout(&mut self, now: Time) {
        if self.stack.poll_timeout() <= now {
            self.stack.handle_timeout(now);
            self.process_sip(now);
        }
        self.release_due_gaps(now);
        for idx in 0..self.sessions.len() {
            let session = &mut self.sessions[idx];
            let Some((sender, until)) = session.moh.as_mut() else {
                continue;
            };
            if now >= *until || session.ended_at.is_some() {
                session.moh = None;
                continue;
            }
            if sender.poll_timeout() <= now {
                let caller = &self.legs[session.caller];
                if let (Some(data), Some(to)) = (sender.handle_timeout(now), caller.remote_media) {
                    self.out.push_back(Transmit::udp(caller.relay, to, data));
                }
            }
        }
    }

    pub fn poll_timeout(&self) -> Time {
        let moh = self
            .sessions
            .iter()
            .filter_map(|s| {
                s.moh
                    .as_ref()
                    .map(|(sender, until)| sender.poll_timeout().min(*until))
            })
            .min()
            .unwrap_or(Time::NEVER);
        moh.min(self.stack.poll_timeout())
            .min(self.quirk_deadline())
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(out) = self.stack.poll_transmit() {
            return Some(Transmit {
                from: self.stack.local_for(out.transport),
                to: out.to,
                transport: out.transport,
                data: out.data,
            });
        }
        self.out.pop_front()
    }

    /// The stream listeners: TCP on the SIP address, TLS on its own when configured.
    pub fn listeners(&self) -> Vec<(Transport, SocketAddr)> {
        let tls = self.cfg.tls_addr.map(|a| (Transport::Tls, a));
        std::iter::once((Transport::Tcp, self.cfg.sip_addr))
            .chain(tls)
            .collect()
    }

    /// Every address the PBX receives on (SIP, TLS, then the relay ports).
    pub fn addresses(&self) -> Vec<SocketAddr> {
        let mut all = vec![self.cfg.sip_addr];
        all.extend(self.cfg.tls_addr);
        all.extend(self.cfg.rtp_addrs.iter().copied());
        all
    }

    fn process_sip(&mut self, now: Time) {
        while let Some(ev) = self.stack.poll_event() {
            match ev {
                SipEvent::Request {
                    msg,
                    source,
                    transport,
                    key,
                } => self.handle_request(now, msg, (source, transport), key),
                SipEvent::Response { msg, ctx, request } => {
                    self.handle_response(now, msg, ctx, request)
                }
                SipEvent::Timeout { ctx, .. } => self.handle_leg_failure(now, ctx, 408),
                // RFC 3261 §8.1.3.1: a transport failure counts as a 503.
                SipEvent::TransportError { ctx, .. } => self.handle_leg_failure(now, ctx, 503),
                SipEvent::NoAck { call_id, .. } => {
                    if let Some(&leg) = self.call_ids.get(&call_id) {
                        self.end_session(now, self.legs[leg].session);
                    }
                }
                // Counted as a finding by the stack; nothing else to do.
                SipEvent::Malformed { .. } => {}
            }
        }
    }

    fn handle_request(&mut self, now: Time, msg: Message, source: Flow, key: ServerKey) {
        let method = msg.method().unwrap_or("").to_string();
        let has_to_tag = msg.to_addr().is_some_and(|t| t.tag().is_some());
        match method.as_str() {
            "REGISTER" => self.handle_register(now, msg, source, key),
            "ACK" => self.take_ack_answer(&msg),
            "CANCEL" => self.handle_cancel(now, msg, key),
            "OPTIONS" if !has_to_tag => self.stack.respond(now, &key, &msg, 200, None),
            "INVITE" if !has_to_tag => {
                let account = match self.registrar.authenticate(now, &msg, &mut self.rng) {
                    AuthOutcome::Ok(account) => account,
                    AuthOutcome::Challenge(rsp) | AuthOutcome::Forbidden(rsp) => {
                        return self.stack.send_response(now, &key, rsp);
                    }
                };
                if self.cfg.quirks.challenge_flip_twice && self.is_flip_request(&msg) {
                    // Right credentials, challenged again with a fresh nonce: a phone that
                    // answers every challenge loops until it gives up. Authentication comes
                    // before the call lookup, so any request to the flip code is hit.
                    let rsp = self.registrar.challenge(now, &msg, &mut self.rng, false);
                    return self.stack.send_response(now, &key, rsp);
                }
                self.handle_invite(now, msg, source, key, account);
            }
            _ if has_to_tag => self.handle_in_dialog(now, msg, key),
            _ => self.stack.respond(now, &key, &msg, 405, None),
        }
    }

    fn handle_register(&mut self, now: Time, msg: Message, source: Flow, key: ServerKey) {
        let rsp = match self.registrar.authenticate(now, &msg, &mut self.rng) {
            AuthOutcome::Ok(account) => self.registrar.register(now, &msg, source, &account),
            AuthOutcome::Challenge(rsp) | AuthOutcome::Forbidden(rsp) => rsp,
        };
        self.stack.send_response(now, &key, rsp);
    }

    /// An INVITE to the feature code: a device asking to pull its user's call.
    fn is_flip_request(&self, msg: &Message) -> bool {
        msg.request_uri().and_then(uri_user).as_deref() == Some(self.cfg.feature_code.as_str())
    }

    /// A response carrying this session's Session-ID and no body.
    fn respond_in_session(
        &mut self,
        now: Time,
        key: &ServerKey,
        req: &Message,
        code: u16,
        leg: Option<usize>,
    ) {
        let tag = leg.map(|l| self.legs[l].local_tag.clone());
        let mut rsp = response_to(req, code, tag.as_deref());
        if let Some(l) = leg {
            push_session_id(&mut rsp, self.session_id(self.legs[l].session));
        }
        rsp.push_header("Content-Length", "0");
        self.stack.send_response(now, key, rsp);
    }

    /// The Session-ID header value for what we send in `session` (RFC 7989 §6: every
    /// message of the session carries it), or None under the `omit_session_id` quirk.
    fn session_id(&self, session: usize) -> Option<String> {
        (!self.cfg.quirks.omit_session_id).then(|| self.sessions[session].uuid.clone())
    }

    fn new_uuid(&mut self) -> String {
        self.stack.random_hex(2)
    }
}

fn push_session_id(msg: &mut Message, sid: Option<String>) {
    if let Some(sid) = sid {
        msg.push_header("Session-ID", &sid);
    }
}
