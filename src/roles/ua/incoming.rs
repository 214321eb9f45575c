//! Requests a user agent receives: new calls (with or without `Replaces`), requests inside
//! a dialog (BYE, re-INVITE, UPDATE, INFO, OPTIONS) and CANCEL.

use std::net::SocketAddr;

use super::{Call, CallIdx, CallState, EndCause, ReplacesMode, UaEvent, UserAgent};
use crate::core::Time;
use crate::core::sip::{Dialog, Message, ServerKey, SessionDescription, response_to};
use crate::timeline::CallChange;

pub(super) fn handle_request(
    ua: &mut UserAgent,
    now: Time,
    msg: Message,
    source: SocketAddr,
    key: ServerKey,
) {
    let method = msg.method().unwrap_or("").to_string();
    let to_tag = msg.to_addr().and_then(|t| t.tag().map(str::to_string));
    if !matches!(method.as_str(), "ACK" | "CANCEL")
        && refuse_unsupported(ua, now, &msg, &key, to_tag.is_none())
    {
        return;
    }
    match (method.as_str(), to_tag) {
        ("ACK", _) => {
            // ACK for our 2xx: the call is confirmed on both sides.
            if let Some(idx) = find_dialog(ua, &msg)
                && ua.calls[idx].state == CallState::Confirmed
                && ua.calls[idx].answered_at.is_some()
            {
                take_answer_from_ack(ua, now, idx, &msg);
                ua.events.push_back(UaEvent::Confirmed { call: idx });
            }
        }
        ("CANCEL", _) => handle_cancel(ua, now, &msg, &key),
        ("INVITE", None) => handle_new_invite(ua, now, msg, key),
        ("OPTIONS", None) => ua.stack.respond(now, &key, &msg, 200, None),
        (_, None) => ua.stack.respond(now, &key, &msg, 405, None),
        (_, Some(_)) => handle_in_dialog(ua, now, msg, key, source),
    }
}

/// The extensions a phone of ours understands when a request requires them; `replaces` is
/// judged by the INVITE handling itself, per [`ReplacesMode`].
const SUPPORTED: &[&str] = &["replaces"];

/// RFC 3261 §8.2.2.3: a request that requires an extension we do not carry out (`100rel`,
/// `timer`, …) is answered `420 Bad Extension` naming them in `Unsupported`, as a phone
/// without them does, rather than answered as if they had been honoured. True when refused.
fn refuse_unsupported(
    ua: &mut UserAgent,
    now: Time,
    msg: &Message,
    key: &ServerKey,
    new_dialog: bool,
) -> bool {
    let unsupported: Vec<String> = msg
        .values("Require")
        .map(str::trim)
        .filter(|r| !r.is_empty() && !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(r)))
        .map(str::to_string)
        .collect();
    if unsupported.is_empty() {
        return false;
    }
    let tag = new_dialog.then(|| ua.stack.new_tag());
    let mut rsp = response_to(msg, 420, tag.as_deref());
    rsp.push_header("Unsupported", &unsupported.join(", "));
    rsp.push_header("Content-Length", "0");
    ua.stack.send_response(now, key, rsp);
    true
}

fn find_dialog(ua: &UserAgent, msg: &Message) -> Option<CallIdx> {
    ua.calls
        .iter()
        .rposition(|c| c.dialog.as_ref().is_some_and(|d| d.matches_request(msg)))
}

/// After our 2xx carried the offer (the INVITE had none, RFC 3264 §4), the ACK carries the
/// answer: media starts from it.
fn take_answer_from_ack(ua: &mut UserAgent, now: Time, idx: CallIdx, ack: &Message) {
    if !ua.calls[idx].awaiting_ack_answer {
        return;
    }
    ua.calls[idx].awaiting_ack_answer = false;
    let answer = SessionDescription::parse(&String::from_utf8_lossy(ack.body())).ok();
    if let Some(answer) = answer
        && let Some(codec) = ua.codec_in_answer(&answer)
    {
        ua.start_media(now, idx, &answer, codec);
    }
}

fn handle_cancel(ua: &mut UserAgent, now: Time, msg: &Message, key: &ServerKey) {
    // RFC 3261 §9.2: 200 to the CANCEL when it names an INVITE we have (487 to that INVITE
    // if still ringing; no effect once answered), 481 when it names nothing we know.
    let invite_key = ServerKey {
        branch: key.branch.clone(),
        method: "INVITE".into(),
    };
    let known = ua
        .calls
        .iter()
        .any(|c| c.incoming.as_ref().is_some_and(|(_, k)| *k == invite_key));
    ua.stack
        .respond(now, key, msg, if known { 200 } else { 481 }, None);
    let found = ua.calls.iter().rposition(|c| {
        c.state == CallState::Ringing && c.incoming.as_ref().is_some_and(|(_, k)| *k == invite_key)
    });
    if let Some(idx) = found {
        if let Some((req, k)) = ua.calls[idx].incoming.clone() {
            let tag = ua.calls[idx].local_tag.clone();
            ua.stack.respond(now, &k, &req, 487, Some(&tag));
        }
        ua.end_call(now, idx, EndCause::Cancelled);
        ua.events.push_back(UaEvent::Ended { call: idx });
    }
}

fn handle_new_invite(ua: &mut UserAgent, now: Time, msg: Message, key: ServerKey) {
    let tag = ua.stack.new_tag();
    let mut replaced = None;
    if let Some(rep) = msg.replaces() {
        let requires = msg
            .header_values("Require")
            .iter()
            .any(|r| r.eq_ignore_ascii_case("replaces"));
        match ua.cfg.replaces {
            ReplacesMode::Reject if requires => {
                let mut rsp = response_to(&msg, 420, Some(&tag));
                rsp.push_header("Unsupported", "replaces");
                rsp.push_header("Content-Length", "0");
                ua.stack.send_response(now, &key, rsp);
                return;
            }
            ReplacesMode::Accept => {
                // RFC 3891 §3: to-tag names our tag, from-tag the peer's.
                let target = ua.calls.iter().rposition(|c| {
                    c.state == CallState::Confirmed
                        && c.dialog.as_ref().is_some_and(|d| {
                            d.call_id == rep.call_id
                                && d.local_tag == rep.to_tag
                                && d.remote_tag == rep.from_tag
                        })
                });
                match target {
                    Some(idx) => replaced = Some(idx),
                    None => {
                        ua.stack.respond(now, &key, &msg, 481, Some(&tag));
                        return;
                    }
                }
            }
            _ => {}
        }
    }
    let idx = ua.calls.len();
    let mut call = Call::new(now, false, tag.clone());
    call.observe(now, &msg, "From");
    call.replaces = replaced;
    call.incoming = Some((msg.clone(), key.clone()));
    ua.calls.push(call);
    let created = CallChange::Created {
        outgoing: false,
        replaces: replaced,
    };
    ua.note_call(now, idx, created);
    let mut ringing = response_to(&msg, 180, Some(&tag));
    ringing.push_header("Content-Length", "0");
    ua.stack.send_response(now, &key, ringing);
    ua.events.push_back(UaEvent::Incoming { call: idx });
    if replaced.is_some() || ua.cfg.auto_answer {
        answer(ua, now, idx);
    }
    if let Some(old) = replaced {
        // RFC 3891 §3: the replaced dialog is ended with a BYE once the new one is answered.
        ua.hangup_with(now, old, EndCause::Replaced);
    }
}

/// Answers a ringing call: 200 OK with our SDP answer; media starts at once.
pub(super) fn answer(ua: &mut UserAgent, now: Time, idx: CallIdx) -> bool {
    let Some(call) = ua.calls.get(idx) else {
        return false;
    };
    if call.state != CallState::Ringing {
        return false;
    }
    let Some((req, key)) = call.incoming.clone() else {
        return false;
    };
    let tag = call.local_tag.clone();
    let contact = ua.contact_uri();
    let offer = SessionDescription::parse(&String::from_utf8_lossy(req.body())).ok();
    let answer = match offer.as_ref() {
        Some(offer) => match ua.answer_sdp(offer) {
            Ok(a) => Some(a),
            Err(_) => {
                ua.stack.respond(now, &key, &req, 488, Some(&tag));
                ua.end_call(now, idx, EndCause::Rejected(488, "no common codec".into()));
                ua.events.push_back(UaEvent::Ended { call: idx });
                return false;
            }
        },
        None => None,
    };
    let mut ok = response_to(&req, 200, Some(&tag));
    ok.push_header("Contact", &format!("<{contact}>"));
    ok.push_header("Supported", "replaces");
    let late_offer = answer.is_none();
    match &answer {
        Some((sdp, _)) => ok.set_body("application/sdp", sdp.to_string().as_bytes()),
        // An INVITE without an offer (RFC 3264 §4): the offer goes in our 2xx.
        None => ok.set_body("application/sdp", ua.offer().to_string().as_bytes()),
    }
    ua.stack.send_response(now, &key, ok);
    let dialog = Dialog::as_uas(&req, &tag, &contact).map(|d| ua.our_dialog(d));
    let call = &mut ua.calls[idx];
    call.dialog = dialog;
    call.state = CallState::Confirmed;
    call.answered_at = Some(now);
    call.awaiting_ack_answer = late_offer;
    ua.note_confirmed(now, idx);
    if let (Some(offer), Some((_, codec))) = (offer, answer) {
        // Media goes to where the offer said, with the codec we chose.
        ua.start_media(now, idx, &offer, codec);
    }
    ua.events.push_back(UaEvent::Answered { call: idx });
    true
}

fn handle_in_dialog(
    ua: &mut UserAgent,
    now: Time,
    msg: Message,
    key: ServerKey,
    _source: SocketAddr,
) {
    let method = msg.method().unwrap_or("").to_string();
    let Some(idx) = find_dialog(ua, &msg).filter(|&i| ua.calls[i].state != CallState::Terminated)
    else {
        // RFC 3261 §12.2.2: a request for a dialog we do not know (or no longer have).
        ua.stack.respond(now, &key, &msg, 481, None);
        return;
    };
    let Some(dialog) = ua.calls[idx].dialog.as_mut() else {
        return;
    };
    let cseq = msg.cseq().map(|c| c.seq);
    if let (Some(seq), Some(last)) = (cseq, dialog.remote_cseq)
        && seq < last
    {
        // RFC 3261 §12.2.2: out of order.
        ua.stack.respond(now, &key, &msg, 500, None);
        return;
    }
    dialog.remote_cseq = cseq.or(dialog.remote_cseq);
    if matches!(method.as_str(), "INVITE" | "UPDATE")
        && let Some(contact) = msg.contact()
    {
        // A target refresh request (RFC 3261 §12.2.2): later requests go to the new Contact.
        dialog.remote_target = contact.uri;
    }
    ua.calls[idx].observe(now, &msg, "From");
    match method.as_str() {
        "BYE" => {
            ua.stack.respond(now, &key, &msg, 200, None);
            ua.end_call(now, idx, EndCause::RemoteBye);
            ua.events.push_back(UaEvent::Ended { call: idx });
        }
        "INVITE" | "UPDATE" => {
            let offer = if msg.body().is_empty() {
                None
            } else {
                SessionDescription::parse(&String::from_utf8_lossy(msg.body())).ok()
            };
            let mut ok = response_to(&msg, 200, None);
            ok.push_header("Contact", &format!("<{}>", ua.contact_uri()));
            match offer {
                Some(offer) => {
                    ua.calls[idx].offers_received.push(now);
                    match ua.answer_sdp(&offer) {
                        Ok((sdp, codec)) => {
                            ok.set_body("application/sdp", sdp.to_string().as_bytes());
                            ua.stack.send_response(now, &key, ok);
                            ua.start_media(now, idx, &offer, codec);
                        }
                        Err(_) => ua.stack.respond(now, &key, &msg, 488, None),
                    }
                }
                None if method == "INVITE" => {
                    // An offerless re-INVITE: we offer in the 200, the answer comes in the ACK.
                    let sdp = ua.offer();
                    ok.set_body("application/sdp", sdp.to_string().as_bytes());
                    ua.calls[idx].offers_received.push(now);
                    ua.calls[idx].awaiting_ack_answer = true;
                    ua.stack.send_response(now, &key, ok);
                }
                None => {
                    ok.push_header("Content-Length", "0");
                    ua.stack.send_response(now, &key, ok);
                }
            }
        }
        _ => ua.stack.respond(now, &key, &msg, 200, None),
    }
}
