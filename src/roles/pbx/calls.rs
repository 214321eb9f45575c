//! The B2BUA's call handling: a customer's INVITE forks to every registered device of the
//! user; the first to answer is bridged through the relay; BYE on either side ends both.

use std::net::SocketAddr;

use super::registrar::Binding;
use super::session::{Flow, Leg, LegState, Segment, Session};
use super::{CTX_IN_DIALOG, CTX_REINVITE, CTX_REPLACE, Pbx, PbxEvent, push_session_id};
use crate::core::Time;
use crate::core::rtp::Codec;
use crate::core::sip::{
    Dialog, Direction, Message, NameAddr, ServerKey, SessionDescription, cancel_for, is_sips,
    make_answer, make_offer, pcma, pcmu, response_to, telephone_event, uri_user, via_value,
};
use crate::roles::ua::{add_rtcp_mux, codec_of, wants_rtcp_mux};

impl Pbx {
    pub(super) fn handle_invite(
        &mut self,
        now: Time,
        msg: Message,
        source: Flow,
        key: ServerKey,
        account: String,
    ) {
        if self.is_flip_request(&msg) {
            return self.pull(now, msg, source, key, account);
        }
        let dialled = msg.request_uri().and_then(uri_user).unwrap_or_default();
        let Some(target) = self.registrar.reaches(&dialled).map(str::to_string) else {
            return self.stack.respond(now, &key, &msg, 404, Some("b2b"));
        };
        let contacts = self.registrar.contacts(&target, now);
        if contacts.is_empty() {
            return self.stack.respond(now, &key, &msg, 480, Some("b2b"));
        }
        let Some((offer, codec)) = parse_offer(&msg) else {
            return self.stack.respond(now, &key, &msg, 488, Some("b2b"));
        };
        let uuid = self.new_uuid();
        let session_idx = self.sessions.len();
        let Some(caller) =
            self.new_leg(session_idx, true, &account, &msg, source, Some(key.clone()))
        else {
            return self.stack.respond(now, &key, &msg, 503, Some("b2b"));
        };
        self.legs[caller].remote_media = media_addr(&offer);
        self.legs[caller].codec = Some(codec);
        self.sessions.push(Session {
            uuid,
            caller,
            callee_user: target.clone(),
            caller_user: account,
            device: None,
            forks: Vec::new(),
            started_at: now,
            answered_at: None,
            ended_at: None,
            segments: Vec::new(),
            moh: None,
            flips: 0,
            told_ringing: false,
            rtp_to_customer: 0,
            rtp_to_device: 0,
            last_to_customer: None,
        });
        self.respond_in_session(now, &key, &msg, 100, None);
        let caller_from = msg.from_addr().map(|f| NameAddr {
            params: Vec::new(),
            ..f
        });
        for binding in contacts {
            let Some(leg) = self.invite_device(
                now,
                session_idx,
                &target,
                &binding,
                caller_from.clone(),
                codec,
            ) else {
                continue;
            };
            self.sessions[session_idx].forks.push(leg);
        }
        if self.sessions[session_idx].forks.is_empty() {
            let caller_leg = self.sessions[session_idx].caller;
            self.respond_in_session(now, &key, &msg, 503, Some(caller_leg));
            self.end_session(now, session_idx);
        }
    }

    /// Creates a leg with a relay port; None when the relay has no free port. `peer` is
    /// where its signalling goes and on what transport.
    pub(super) fn new_leg(
        &mut self,
        session: usize,
        inbound: bool,
        user: &str,
        invite: &Message,
        (peer, transport): Flow,
        key: Option<ServerKey>,
    ) -> Option<usize> {
        let idx = self.legs.len();
        let relay = self.relay.allocate(idx)?;
        let contact = if inbound {
            invite.contact().map(|c| c.uri).unwrap_or_default()
        } else {
            invite.request_uri().unwrap_or_default().to_string()
        };
        let local_tag = self.stack.new_tag();
        if let Some(call_id) = invite.call_id() {
            self.call_ids.insert(call_id.to_string(), idx);
        }
        self.legs.push(Leg {
            session,
            inbound,
            user: user.to_string(),
            contact,
            peer,
            transport,
            invite: invite.clone(),
            server_key: key,
            local_tag,
            dialog: None,
            replaced_call_ids: Vec::new(),
            relay,
            remote_media: None,
            codec: None,
            rtcp_mux: false,
            awaiting_ack_answer: false,
            state: LegState::Early,
            rang: false,
        });
        Some(idx)
    }

    /// Forks the call to one registered device, over the transport it registered on.
    fn invite_device(
        &mut self,
        now: Time,
        session: usize,
        user: &str,
        binding: &Binding,
        caller: Option<NameAddr>,
        codec: Codec,
    ) -> Option<usize> {
        let branch = self.stack.new_branch();
        let call_id = self.stack.new_call_id();
        let tag = self.stack.new_tag();
        let transport = binding.transport;
        let mut msg = Message::request("INVITE", &binding.contact);
        let local = self.stack.local_for(transport);
        msg.push_header("Via", &via_value(transport, local, &branch));
        msg.push_header("Max-Forwards", "70");
        let mut from = caller.unwrap_or_else(|| NameAddr::new(&self.aor("unknown")));
        from.set_param("tag", Some(&tag));
        msg.push_header("From", &from.to_string());
        msg.push_header("To", &format!("<{}>", self.aor(user)));
        msg.push_header("Call-ID", &call_id);
        msg.push_header("CSeq", "1 INVITE");
        let contact = self.contact_for(transport, is_sips(&binding.contact));
        msg.push_header("Contact", &format!("<{contact}>"));
        push_session_id(&mut msg, self.session_id(session));
        let flow = (binding.addr, transport);
        let leg = self.new_leg(session, false, user, &msg, flow, None)?;
        self.legs[leg].local_tag = tag;
        let sdp = self.offer_for(leg, codec);
        msg.set_body("application/sdp", sdp.to_string().as_bytes());
        self.legs[leg].invite = msg.clone();
        self.stack
            .send_request(now, msg, binding.addr, transport, leg as u64);
        Some(leg)
    }

    /// Our SDP for a leg: its relay port, the preferred codec first, the other G.711 next.
    pub(super) fn offer_for(&mut self, leg: usize, preferred: Codec) -> SessionDescription {
        let relay = self.legs[leg].relay;
        let mut codecs = vec![sdp_codec(preferred)];
        let other = if preferred == Codec::Pcmu {
            Codec::Pcma
        } else {
            Codec::Pcmu
        };
        codecs.push(sdp_codec(other));
        codecs.push(telephone_event(101));
        let sid = self.stack.next_u64() >> 1;
        let ip = relay.ip().to_string();
        let mut sdp = make_offer(&ip, relay.port(), &codecs, Direction::SendRecv, sid, sid);
        add_rtcp_mux(&mut sdp);
        sdp
    }

    /// Our SDP answer on a leg, choosing the codec from the offer.
    pub(super) fn answer_for(
        &mut self,
        leg: usize,
        offer: &SessionDescription,
    ) -> Option<(SessionDescription, Codec)> {
        let relay = self.legs[leg].relay;
        let supported = [pcmu(), pcma(), telephone_event(101)];
        let sid = self.stack.next_u64() >> 1;
        let answer = make_answer(
            offer,
            &relay.ip().to_string(),
            relay.port(),
            &supported,
            Direction::SendRecv,
            sid,
            sid,
        )
        .ok()?;
        let codec = codec_of(&answer.codec)?;
        let mut sdp = answer.sdp;
        // RTCP shares the RTP port only when the endpoint asked for it (RFC 5761 §5.1.1).
        let mux = wants_rtcp_mux(offer);
        self.legs[leg].rtcp_mux = mux;
        if mux {
            add_rtcp_mux(&mut sdp);
        }
        Some((sdp, codec))
    }

    pub(super) fn handle_response(&mut self, now: Time, msg: Message, ctx: u64, request: Message) {
        let status = msg.status().unwrap_or(500);
        if ctx & CTX_IN_DIALOG != 0 {
            return;
        }
        if ctx & CTX_REPLACE != 0 {
            return self.replacement_answered(now, (ctx & !CTX_REPLACE) as usize, &msg, &request);
        }
        if ctx & CTX_REINVITE != 0 {
            return self.reinvite_answered(now, (ctx & !CTX_REINVITE) as usize, &msg, &request);
        }
        let leg = ctx as usize;
        if leg >= self.legs.len() || request.method() != Some("INVITE") {
            return;
        }
        let session = self.legs[leg].session;
        match status {
            180 | 183 => {
                self.legs[leg].rang = true;
                if !self.sessions[session].told_ringing && self.sessions[session].device.is_none() {
                    self.sessions[session].told_ringing = true;
                    let caller = self.sessions[session].caller;
                    if let Some((req, key)) = self.caller_request(caller) {
                        self.respond_in_session(now, &key, &req, 180, Some(caller));
                    }
                }
            }
            200..=299 => self.device_answered(now, leg, &msg, &request),
            300.. => self.handle_leg_failure(now, ctx, status),
            _ => {}
        }
    }

    fn caller_request(&self, caller: usize) -> Option<(Message, ServerKey)> {
        let leg = &self.legs[caller];
        Some((leg.invite.clone(), leg.server_key.clone()?))
    }

    /// ACKs a 2xx to an INVITE we sent on `leg` (RFC 3261 §13.2.2.4) and returns the
    /// dialog it established.
    pub(super) fn ack_2xx(
        &mut self,
        now: Time,
        leg: usize,
        msg: &Message,
        request: &Message,
    ) -> Option<Dialog> {
        let contact = self.leg_contact(leg);
        let dialog = Dialog::as_uac(request, msg, &contact)?;
        let branch = self.stack.new_branch();
        let cseq = request.cseq().map_or(1, |c| c.seq);
        let mut ack = dialog.ack(cseq, self.local_for(leg), &branch);
        ack.push_header("Content-Length", "0");
        let (peer, transport) = (self.legs[leg].peer, self.legs[leg].transport);
        self.stack
            .send_request(now, ack, peer, transport, CTX_IN_DIALOG);
        Some(dialog)
    }

    fn device_answered(&mut self, now: Time, leg: usize, msg: &Message, request: &Message) {
        let Some(dialog) = self.ack_2xx(now, leg, msg, request) else {
            return;
        };
        let answer = SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok();
        {
            let l = &mut self.legs[leg];
            l.dialog = Some(dialog);
            l.state = LegState::Confirmed;
            l.remote_media = answer.as_ref().and_then(media_addr);
            l.rtcp_mux = answer.as_ref().is_some_and(wants_rtcp_mux);
            l.codec = answer
                .as_ref()
                .and_then(|a| a.audio()?.codecs.iter().find_map(codec_of));
        }
        let session = self.legs[leg].session;
        if self.sessions[session].device.is_some() || self.sessions[session].is_ended() {
            // Another fork won first (RFC 3261 §13.2.2.4): ACK and BYE this one.
            return self.send_bye(now, leg);
        }
        let s = &mut self.sessions[session];
        s.device = Some(leg);
        s.answered_at = Some(now);
        let device = self.legs[leg].contact.clone();
        s.segments
            .push(Segment::new(device.clone(), now, s.uuid.clone()));
        self.events.push(PbxEvent::Answered {
            session_id: s.uuid.clone(),
            caller: s.caller_user.clone(),
            callee: s.callee_user.clone(),
            device,
        });
        let forks: Vec<usize> = s.forks.drain(..).filter(|&f| f != leg).collect();
        for fork in forks {
            self.cancel_leg(now, fork);
        }
        // Answer the customer: our relay port, the codec it offered first.
        let caller = self.sessions[session].caller;
        let Some((req, key)) = self.caller_request(caller) else {
            return;
        };
        let Some(offer) = SessionDescription::parse(&String::from_utf8_lossy(req.body())).ok()
        else {
            return;
        };
        let Some((sdp, codec)) = self.answer_for(caller, &offer) else {
            return;
        };
        let callee = self.sessions[session].callee_user.clone();
        let tag = self.legs[caller].local_tag.clone();
        let contact = self.leg_contact(caller);
        let mut ok = response_to(&req, 200, Some(&tag));
        ok.push_header("Contact", &format!("<{contact}>"));
        ok.push_header("P-Asserted-Identity", &format!("<{}>", self.aor(&callee)));
        push_session_id(&mut ok, self.session_id(session));
        ok.push_header("Supported", "replaces");
        ok.set_body("application/sdp", sdp.to_string().as_bytes());
        self.stack.send_response(now, &key, ok);
        let l = &mut self.legs[caller];
        l.codec = Some(codec);
        l.dialog = Dialog::as_uas(&req, &tag, &contact);
        l.state = LegState::Confirmed;
    }

    pub(super) fn handle_leg_failure(&mut self, now: Time, ctx: u64, status: u16) {
        let leg = (ctx & !(CTX_REPLACE | CTX_IN_DIALOG | CTX_REINVITE)) as usize;
        if ctx & (CTX_IN_DIALOG | CTX_REINVITE) != 0 || leg >= self.legs.len() {
            // A failed re-INVITE leaves the session as it was (RFC 3261 §14.1).
            return;
        }
        if ctx & CTX_REPLACE != 0 {
            // The customer refused the new dialog: the old one is all it has.
            return;
        }
        self.legs[leg].state = LegState::Ended;
        self.relay.release(self.legs[leg].relay, leg);
        let session = self.legs[leg].session;
        self.sessions[session].forks.retain(|&f| f != leg);
        let s = &self.sessions[session];
        if s.device.is_none() && s.forks.is_empty() && !s.is_ended() {
            let caller = s.caller;
            if let Some((req, key)) = self.caller_request(caller) {
                let code = if status == 486 || status == 603 {
                    status
                } else {
                    480
                };
                self.respond_in_session(now, &key, &req, code, Some(caller));
            }
            self.end_session(now, session);
        }
    }

    fn cancel_leg(&mut self, now: Time, leg: usize) {
        if self.legs[leg].state == LegState::Early {
            let cancel = cancel_for(&self.legs[leg].invite);
            let (peer, transport) = (self.legs[leg].peer, self.legs[leg].transport);
            self.stack
                .send_request(now, cancel, peer, transport, CTX_IN_DIALOG);
            self.legs[leg].state = LegState::Ended;
            self.relay.release(self.legs[leg].relay, leg);
        }
    }

    /// BYE on a confirmed leg, which then ends and frees its relay port.
    pub(super) fn send_bye(&mut self, now: Time, leg: usize) {
        let branch = self.stack.new_branch();
        let sid = self.session_id(self.legs[leg].session);
        let local = self.local_for(leg);
        let l = &mut self.legs[leg];
        if l.state != LegState::Confirmed {
            return;
        }
        let Some(dialog) = l.dialog.as_mut() else {
            return;
        };
        let mut bye = dialog.request("BYE", local, &branch);
        push_session_id(&mut bye, sid);
        bye.push_header("Content-Length", "0");
        let (dest, transport) = (l.peer, l.transport);
        l.state = LegState::Ended;
        self.relay.release(l.relay, leg);
        self.stack
            .send_request(now, bye, dest, transport, CTX_IN_DIALOG);
    }

    pub(super) fn handle_cancel(&mut self, now: Time, msg: Message, key: ServerKey) {
        self.stack.respond(now, &key, &msg, 200, None);
        let invite_key = ServerKey {
            branch: key.branch.clone(),
            method: "INVITE".into(),
        };
        let Some(leg) = self
            .legs
            .iter()
            .position(|l| l.server_key.as_ref() == Some(&invite_key))
        else {
            return;
        };
        if self.legs[leg].state != LegState::Early {
            return;
        }
        let invite = self.legs[leg].invite.clone();
        self.respond_in_session(now, &invite_key, &invite, 487, Some(leg));
        self.legs[leg].state = LegState::Ended;
        self.relay.release(self.legs[leg].relay, leg);
        let session = self.legs[leg].session;
        // The customer giving up ends the session; a device giving up a flip request that
        // was never answered (quirk `flip_never_answered`) leaves the call as it is.
        if leg == self.sessions[session].caller {
            self.end_session(now, session);
        }
    }

    pub(super) fn handle_in_dialog(&mut self, now: Time, msg: Message, key: ServerKey) {
        let method = msg.method().unwrap_or("").to_string();
        let call_id = msg.call_id().unwrap_or("").to_string();
        let Some(&leg) = self.call_ids.get(&call_id) else {
            return self.stack.respond(now, &key, &msg, 481, None);
        };
        if self.legs[leg].replaced_call_ids.contains(&call_id) {
            // The far end ending a dialog we replaced (RFC 3891 §3): nothing else to do.
            return self.respond_in_session(now, &key, &msg, 200, None);
        }
        let session = self.legs[leg].session;
        if self.legs[leg].state == LegState::Ended {
            // A BYE crossing ours is fine; anything else is for a dialog that is over.
            let code = if method == "BYE" { 200 } else { 481 };
            return self.respond_in_session(now, &key, &msg, code, None);
        }
        if matches!(method.as_str(), "INVITE" | "UPDATE")
            && let (Some(contact), Some(dialog)) = (msg.contact(), self.legs[leg].dialog.as_mut())
        {
            // Target refresh (RFC 3261 §12.2.2).
            dialog.remote_target = contact.uri;
        }
        match method.as_str() {
            "BYE" => {
                self.respond_in_session(now, &key, &msg, 200, Some(leg));
                self.legs[leg].state = LegState::Ended;
                self.relay.release(self.legs[leg].relay, leg);
                let s = &self.sessions[session];
                if leg == s.caller || Some(leg) == s.device {
                    self.end_session(now, session);
                }
            }
            "INVITE" | "UPDATE" if !msg.body().is_empty() => {
                let offer = SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok();
                match offer.and_then(|o| Some((media_addr(&o), self.answer_for(leg, &o)?))) {
                    Some((remote, (sdp, codec))) => {
                        self.legs[leg].remote_media = remote;
                        self.legs[leg].codec = Some(codec);
                        let mut ok = response_to(&msg, 200, None);
                        ok.push_header("Contact", &format!("<{}>", self.leg_contact(leg)));
                        ok.set_body("application/sdp", sdp.to_string().as_bytes());
                        self.stack.send_response(now, &key, ok);
                    }
                    None => self.respond_in_session(now, &key, &msg, 488, None),
                }
            }
            "INVITE" => {
                // An offerless re-INVITE (RFC 3264 §4): our offer in the 200, the answer in
                // the ACK, which `take_ack_answer` applies.
                let codec = self.legs[leg].codec.unwrap_or(Codec::Pcmu);
                let sdp = self.offer_for(leg, codec);
                self.legs[leg].awaiting_ack_answer = true;
                let mut ok = response_to(&msg, 200, None);
                ok.push_header("Contact", &format!("<{}>", self.leg_contact(leg)));
                ok.set_body("application/sdp", sdp.to_string().as_bytes());
                self.stack.send_response(now, &key, ok);
            }
            _ => self.respond_in_session(now, &key, &msg, 200, None),
        }
    }

    /// The ACK to our 2xx that carried an offer holds the endpoint's answer.
    pub(super) fn take_ack_answer(&mut self, msg: &Message) {
        let Some(&leg) = msg.call_id().and_then(|c| self.call_ids.get(c)) else {
            return;
        };
        let l = &mut self.legs[leg];
        if !l.awaiting_ack_answer {
            return;
        }
        l.awaiting_ack_answer = false;
        let Ok(answer) = SessionDescription::parse(&String::from_utf8_lossy(msg.body())) else {
            return;
        };
        if let Some(remote) = media_addr(&answer) {
            l.remote_media = Some(remote);
        }
        if let Some(codec) = answer
            .audio()
            .and_then(|a| a.codecs.iter().find_map(codec_of))
        {
            l.codec = Some(codec);
        }
        l.rtcp_mux = wants_rtcp_mux(&answer);
    }

    /// Ends a session: BYE every confirmed leg, free the relay, write its CDR lines.
    pub(super) fn end_session(&mut self, now: Time, session: usize) {
        if self.sessions[session].is_ended() {
            return;
        }
        self.sessions[session].ended_at = Some(now);
        for seg in self.sessions[session].segments.iter_mut() {
            seg.end.get_or_insert(now);
        }
        let legs: Vec<usize> = (0..self.legs.len())
            .filter(|&l| self.legs[l].session == session)
            .collect();
        for leg in legs {
            match self.legs[leg].state {
                LegState::Confirmed => self.send_bye(now, leg),
                LegState::Early if !self.legs[leg].inbound => self.cancel_leg(now, leg),
                LegState::Early => {
                    // A caller still ringing (e.g. on shutdown) needs a final response, or
                    // its INVITE waits forever. Where one was sent already, the server
                    // transaction discards this one (RFC 3261 §17.2.1).
                    if let Some((req, key)) = self.caller_request(leg) {
                        self.respond_in_session(now, &key, &req, 503, Some(leg));
                    }
                    self.legs[leg].state = LegState::Ended;
                    self.relay.release(self.legs[leg].relay, leg);
                }
                _ => self.relay.release(self.legs[leg].relay, leg),
            }
        }
        self.forget_session_quirks(session);
        let lines = self.cdr_lines(session);
        self.cdrs.extend(lines);
    }
}

fn sdp_codec(c: Codec) -> crate::core::sip::SdpCodec {
    match c {
        Codec::Pcmu => pcmu(),
        Codec::Pcma => pcma(),
    }
}

/// The offer in an INVITE and the first G.711 codec in it.
pub(super) fn parse_offer(msg: &Message) -> Option<(SessionDescription, Codec)> {
    let offer = SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok()?;
    let codec = offer.audio()?.codecs.iter().find_map(codec_of)?;
    Some((offer, codec))
}

pub(super) fn media_addr(sdp: &SessionDescription) -> Option<SocketAddr> {
    let (ip, port) = sdp.rtp_address()?;
    let ip = ip.parse().ok()?;
    // 0.0.0.0 means "hold" (RFC 3264 §8.4): no destination.
    (port != 0 && !std::net::IpAddr::is_unspecified(&ip)).then(|| SocketAddr::new(ip, port))
}
