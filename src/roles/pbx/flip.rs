//! Call flip by feature code (a *pull*): another registered device of the same user dials
//! the code while the call is live; the PBX answers it, bridges it to the customer's leg
//! through the relay, and releases the old device with a BYE. The customer's dialog is not
//! touched — unless a quirk says to misbehave the way some real systems do.

use std::time::Duration;

use super::session::{LegState, Segment};
use super::{CTX_REPLACE, Flow, Pbx, PbxEvent, push_session_id};
use crate::core::Time;
use crate::core::rtp::{MediaSender, Source};
use crate::core::sip::{
    Dialog, Message, NameAddr, ServerKey, SessionDescription, response_to, via_value,
};

/// How long the `hold_music_during_flip` quirk plays music to the customer.
const FLIP_HOLD_MUSIC: Duration = Duration::from_millis(1000);

impl Pbx {
    pub(super) fn pull(
        &mut self,
        now: Time,
        msg: Message,
        source: Flow,
        key: ServerKey,
        account: String,
    ) {
        let contact = msg.contact().map(|c| c.uri).unwrap_or_default();
        // The user's live session whose device is not the one asking.
        let found = self.sessions.iter().rposition(|s| {
            !s.is_ended()
                && s.callee_user == account
                && s.device.is_some_and(|d| self.legs[d].contact != contact)
        });
        let Some(session) = found else {
            // Only the account's own calls are looked at: a device of another user (or one
            // whose From claims another user) finds none of theirs.
            self.note_flip_refused(&msg, &account, 481, "no call to pull");
            let mut rsp = response_to(&msg, 481, Some("flip"));
            rsp.push_header("Reason", "SIP;cause=481;text=\"no call to pull\"");
            rsp.push_header("Content-Length", "0");
            return self.stack.send_response(now, &key, rsp);
        };
        if self.misanswer_flip(now, session, &msg, source, &key, &account) {
            return;
        }
        let Some(new_leg) = self.new_leg(session, true, &account, &msg, source, Some(key.clone()))
        else {
            self.note_flip_refused(&msg, &account, 503, "no relay port free");
            return self.respond_in_session(now, &key, &msg, 503, None);
        };
        let offer = SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok();
        let Some((sdp, codec)) = offer.as_ref().and_then(|o| self.answer_for(new_leg, o)) else {
            self.legs[new_leg].state = LegState::Ended;
            self.relay.release(self.legs[new_leg].relay, new_leg);
            self.note_flip_refused(&msg, &account, 488, "no G.711 in the offer");
            return self.respond_in_session(now, &key, &msg, 488, Some(new_leg));
        };
        let caller = self.sessions[session].caller;
        // The new device sees the customer as the other party.
        let caller_id = self.legs[caller].invite.from_addr().map(|f| NameAddr {
            params: Vec::new(),
            ..f
        });
        let tag = self.legs[new_leg].local_tag.clone();
        let contact_uri = self.leg_contact(new_leg);
        let mut ok = response_to(&msg, 200, Some(&tag));
        ok.push_header("Contact", &format!("<{contact_uri}>"));
        if let Some(id) = caller_id {
            ok.push_header("P-Asserted-Identity", &id.to_string());
        }
        push_session_id(&mut ok, self.session_id(session));
        ok.set_body("application/sdp", sdp.to_string().as_bytes());
        self.stack.send_response(now, &key, ok);
        {
            let l = &mut self.legs[new_leg];
            l.codec = Some(codec);
            l.remote_media = offer.as_ref().and_then(super::calls::media_addr);
            l.dialog = Dialog::as_uas(&msg, &tag, &contact_uri);
            l.state = LegState::Confirmed;
        }
        let s = &mut self.sessions[session];
        let old = s.device.replace(new_leg);
        s.flips += 1;
        if let Some(seg) = s.segments.last_mut() {
            seg.end.get_or_insert(now);
        }
        s.segments
            .push(Segment::new(contact.clone(), now, s.uuid.clone()));
        self.events.push(PbxEvent::Flipped {
            session_id: s.uuid.clone(),
            user: account,
            from_device: old
                .map(|o| self.legs[o].contact.clone())
                .unwrap_or_default(),
            to_device: contact,
        });
        if let Some(old) = old {
            self.release_old_device(now, old);
        }
        self.watch_flip_stream(now, new_leg);
        self.apply_flip_quirks(now, session, new_leg);
    }

    fn apply_flip_quirks(&mut self, now: Time, session: usize, new_leg: usize) {
        let quirks = self.cfg.quirks.clone();
        let caller = self.sessions[session].caller;
        if quirks.drop_customer_on_flip {
            self.end_session(now, session);
            return;
        }
        if quirks.hold_music_during_flip {
            let ssrc = self.stack.next_u64() as u32;
            let codec = self.legs[caller]
                .codec
                .unwrap_or(crate::core::rtp::Codec::Pcmu);
            let sender = MediaSender::new(ssrc, 0, 0, codec, Source::HoldMusic, now);
            self.sessions[session].moh = Some((sender, now + FLIP_HOLD_MUSIC));
        }
        if quirks.new_session_id_on_flip {
            let uuid = self.new_uuid();
            let s = &mut self.sessions[session];
            if let Some(seg) = s.segments.last_mut() {
                // The new device's segment is the first under the new id.
                seg.session_id = uuid.clone();
            }
            s.uuid = uuid;
        }
        // What the customer is shown from now on: the user, or with the quirk the new
        // device's own contact (as platforms that leak device identities do).
        let identity = if quirks.change_caller_id_on_flip {
            format!("<{}>", self.legs[new_leg].contact)
        } else {
            format!(
                "<{}>",
                self.aor(&self.sessions[session].callee_user.clone())
            )
        };
        if quirks.new_dialog_on_flip {
            self.replace_customer_dialog(now, caller, &identity);
        } else if quirks.reinvite_customer_on_flip {
            // Media re-anchoring (as some B2BUAs do on every leg change): a re-INVITE with a
            // fresh offer, even though nothing the customer sees has to change.
            self.send_in_dialog(now, caller, "INVITE", &identity);
        } else if quirks.change_caller_id_on_flip || quirks.new_session_id_on_flip {
            // Connected-line update (as Asterisk sends it): an UPDATE without SDP.
            self.send_in_dialog(now, caller, "UPDATE", &identity);
        }
    }

    /// An UPDATE (no SDP) or a re-INVITE (with our offer) on a confirmed leg, showing
    /// `identity` as the connected party.
    fn send_in_dialog(&mut self, now: Time, leg: usize, method: &str, identity: &str) {
        let branch = self.stack.new_branch();
        let sid = self.session_id(self.legs[leg].session);
        let offer = (method == "INVITE").then(|| {
            let codec = self.legs[leg]
                .codec
                .unwrap_or(crate::core::rtp::Codec::Pcmu);
            self.offer_for(leg, codec)
        });
        let local = self.local_for(leg);
        let l = &mut self.legs[leg];
        let Some(dialog) = l.dialog.as_mut() else {
            return;
        };
        let mut req = dialog.request(method, local, &branch);
        req.push_header("P-Asserted-Identity", identity);
        push_session_id(&mut req, sid);
        let ctx = match offer {
            Some(sdp) => {
                req.set_body("application/sdp", sdp.to_string().as_bytes());
                super::CTX_REINVITE | leg as u64
            }
            None => {
                req.push_header("Content-Length", "0");
                super::CTX_IN_DIALOG
            }
        };
        let (dest, transport) = (l.peer, l.transport);
        self.stack.send_request(now, req, dest, transport, ctx);
    }

    /// The customer answered our re-INVITE: ACK it and follow its media address.
    pub(super) fn reinvite_answered(
        &mut self,
        now: Time,
        leg: usize,
        msg: &Message,
        request: &Message,
    ) {
        if !(200..300).contains(&msg.status().unwrap_or(0)) || leg >= self.legs.len() {
            return;
        }
        // The dialog exists already; this only builds the ACK from it.
        if self.ack_2xx(now, leg, msg, request).is_none() {
            return;
        }
        let answer = SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok();
        if let Some(remote) = answer.as_ref().and_then(super::calls::media_addr) {
            self.legs[leg].remote_media = Some(remote);
        }
    }

    /// Quirk `new_dialog_on_flip`: move the customer to a new dialog with an INVITE carrying
    /// `Replaces` (RFC 3891), the way a proxy-based platform flips.
    fn replace_customer_dialog(&mut self, now: Time, caller: usize, identity: &str) {
        let Some(old) = self.legs[caller].dialog.clone() else {
            return;
        };
        let session = self.legs[caller].session;
        let callee = self.sessions[session].callee_user.clone();
        let branch = self.stack.new_branch();
        let call_id = self.stack.new_call_id();
        let tag = self.stack.new_tag();
        let (dest, transport) = (self.legs[caller].peer, self.legs[caller].transport);
        let mut msg = Message::request("INVITE", &old.remote_target);
        msg.push_header(
            "Via",
            &via_value(transport, self.local_for(caller), &branch),
        );
        msg.push_header("Max-Forwards", "70");
        let mut from = NameAddr::new(&self.aor(&callee));
        from.set_param("tag", Some(&tag));
        msg.push_header("From", &from.to_string());
        msg.push_header("To", &format!("<{}>", old.remote_uri));
        msg.push_header("Call-ID", &call_id);
        msg.push_header("CSeq", "1 INVITE");
        msg.push_header("Contact", &format!("<{}>", self.leg_contact(caller)));
        // RFC 3891 §3: to-tag is the recipient's tag, from-tag ours, as the recipient sees it.
        msg.push_header(
            "Replaces",
            &format!(
                "{};to-tag={};from-tag={}",
                old.call_id, old.remote_tag, old.local_tag
            ),
        );
        msg.push_header("Require", "replaces");
        msg.push_header("P-Asserted-Identity", identity);
        push_session_id(&mut msg, self.session_id(session));
        let codec = self.legs[caller]
            .codec
            .unwrap_or(crate::core::rtp::Codec::Pcmu);
        let sdp = self.offer_for(caller, codec);
        msg.set_body("application/sdp", sdp.to_string().as_bytes());
        self.call_ids.insert(call_id, caller);
        self.stack
            .send_request(now, msg, dest, transport, CTX_REPLACE | caller as u64);
    }

    /// The customer answered the replacing INVITE: the new dialog is now the customer leg.
    pub(super) fn replacement_answered(
        &mut self,
        now: Time,
        caller: usize,
        msg: &Message,
        request: &Message,
    ) {
        if !(200..300).contains(&msg.status().unwrap_or(0)) || caller >= self.legs.len() {
            return;
        }
        let Some(dialog) = self.ack_2xx(now, caller, msg, request) else {
            return;
        };
        let answer = SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok();
        let l = &mut self.legs[caller];
        if let Some(old) = l.dialog.replace(dialog) {
            l.replaced_call_ids.push(old.call_id);
        }
        if let Some(remote) = answer.as_ref().and_then(super::calls::media_addr) {
            l.remote_media = Some(remote);
        }
        l.rtcp_mux = answer
            .as_ref()
            .is_some_and(crate::roles::ua::wants_rtcp_mux);
    }
}
