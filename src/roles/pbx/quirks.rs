//! The quirks that need more than a condition at one place: answers to the flip request
//! other than a 200, and (further down) the relay's misbehaviour after a flip. Each one
//! changes one thing a real system gets wrong; everything else stays as the clean PBX does.

use std::net::SocketAddr;

use super::Pbx;
use crate::core::Time;
use crate::core::sip::{Message, ServerKey, response_to};

/// What the quirks remember between one message or packet and the next.
#[derive(Default)]
pub(super) struct QuirkState {
    /// Device legs a flip left on the line (`keep_old_device_on_flip`): they still hear the
    /// customer until they hang up.
    pub(super) kept: Vec<usize>,
}

impl Pbx {
    /// The flip request quirks: true when one of them took the request (a flip request with
    /// a call to pull, so the call is left as it was).
    pub(super) fn misanswer_flip(
        &mut self,
        now: Time,
        session: usize,
        msg: &Message,
        source: SocketAddr,
        key: &ServerKey,
        account: &str,
    ) -> bool {
        let quirks = &self.cfg.quirks;
        if quirks.ignore_flip_request {
            // Silence: the stack sends no 100 Trying of its own, and the server transaction
            // re-sends only responses it was given, so retransmissions stay unanswered too.
            // A CANCEL still gets its 200 (`handle_cancel` finds no leg to end).
            return true;
        }
        if quirks.refuse_flip {
            // RFC 3326: the Reason header tells the phone (and its user) why.
            let mut rsp = response_to(msg, 403, Some("flip"));
            rsp.push_header("Reason", "SIP;cause=403;text=\"call flip not permitted\"");
            rsp.push_header("Content-Length", "0");
            self.stack.send_response(now, key, rsp);
            return true;
        }
        if quirks.flip_never_answered {
            // A leg that stays early holds the request: a CANCEL finds it there and gets
            // its 487 (`handle_cancel`), and the end of the session answers it at last.
            match self.new_leg(session, true, account, msg, source, Some(key.clone())) {
                Some(leg) => self.respond_in_session(now, key, msg, 180, Some(leg)),
                None => self.respond_in_session(now, key, msg, 503, None),
            }
            return true;
        }
        false
    }

    /// The old device after a flip: released with a BYE, or under
    /// `keep_old_device_on_flip` left on the line, still hearing the customer (the relay
    /// sends it the customer's audio, never its own to the customer) until it hangs up.
    pub(super) fn release_old_device(&mut self, now: Time, old: usize) {
        if self.cfg.quirks.keep_old_device_on_flip {
            self.quirk_state.kept.push(old);
        } else {
            self.send_bye(now, old);
        }
    }

    /// Sends the customer's packet to the old devices kept on the line in `session`.
    pub(super) fn copy_to_kept(&mut self, session: usize, caller: usize, data: &[u8]) {
        for i in 0..self.quirk_state.kept.len() {
            let leg = self.quirk_state.kept[i];
            // `forward` skips a leg that has hung up.
            if self.legs[leg].session == session {
                self.forward(caller, leg, data);
            }
        }
    }
}
