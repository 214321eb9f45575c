//! The quirks that need more than a condition at one place: answers to the flip request
//! other than a 200, and (further down) the relay's misbehaviour after a flip. Each one
//! changes one thing a real system gets wrong; everything else stays as the clean PBX does.

use std::net::SocketAddr;

use super::Pbx;
use crate::core::Time;
use crate::core::sip::{Message, ServerKey, response_to};

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
}
