//! The quirks that need more than a condition at one place: answers to the flip request
//! other than a 200, an old device left on the line, and the relay spoiling the new
//! device's stream. Each changes one thing a real system gets wrong; everything else
//! stays as the clean PBX does it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Pbx;
use crate::core::Time;
use crate::core::rtp::is_rtcp;
use crate::core::sip::{Message, ServerKey, response_to};

/// What the quirks remember between one message or packet and the next.
#[derive(Default)]
pub(super) struct QuirkState {
    /// Device legs a flip left on the line (`keep_old_device_on_flip`): they still hear the
    /// customer until they hang up.
    pub(super) kept: Vec<usize>,
    /// The new device's stream after a flip, per device leg, while a relay quirk spoils
    /// it (`media_gap_ms`, `lose_packets_after_flip`). Ordered, so timers fire in the same
    /// order on every run.
    pub(super) streams: BTreeMap<usize, FlipStream>,
}

/// What the relay quirks track of a new device's stream toward the customer.
pub(super) struct FlipStream {
    /// RTP packets heard from the new device so far.
    packets: u32,
    gap: Gap,
}

/// `lose_packets_after_flip`: the first packet of the new device's stream to drop. From
/// there every other one goes, so each loss is a hole of exactly one packet (what a
/// receiver counts as loss, not as a jump in sequence numbers).
const FIRST_LOST: u32 = 10;

/// `media_gap_ms`: the new device's audio is discarded until N ms after the old device's
/// audio ended at the customer — the end of the last packet relayed from it — so the
/// customer hears exactly N ms of nothing at the switch (a clean switch has none).
enum Gap {
    /// Waiting for the new device's first RTP packet; it may go out from `release_at`.
    Waiting {
        release_at: Time,
    },
    /// Discarding until `until`; the newest packet discarded goes out then, so the customer
    /// hears the new device exactly that much later (whole 20 ms packets dropped could only
    /// shift it in steps of 20 ms).
    Holding {
        until: Time,
        newest: Vec<u8>,
    },
    Over,
}

impl Pbx {
    /// The flip request quirks: true when one of them took the request (a flip request with
    /// a call to pull, so the call is left as it was).
    pub(super) fn misanswer_flip(
        &mut self,
        now: Time,
        session: usize,
        msg: &Message,
        source: super::Flow,
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
            self.note_flip_refused(
                msg,
                account,
                403,
                "call flip not permitted (quirk refuse_flip)",
            );
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

    /// After a flip to `leg` at `now`: start tracking its stream when a relay quirk will
    /// spoil it.
    pub(super) fn watch_flip_stream(&mut self, now: Time, leg: usize) {
        let quirks = &self.cfg.quirks;
        if quirks.media_gap_ms > 0 || quirks.lose_packets_after_flip > 0 {
            let gap = if quirks.media_gap_ms > 0 {
                // The old device's last packet toward the customer plays 20 ms.
                let session = &self.sessions[self.legs[leg].session];
                let audio_end = session
                    .last_to_customer
                    .map_or(now, |t| t + crate::core::rtp::PACKET_INTERVAL);
                let gap = Duration::from_millis(quirks.media_gap_ms.into());
                Gap::Waiting {
                    release_at: audio_end + gap,
                }
            } else {
                Gap::Over
            };
            let stream = FlipStream { packets: 0, gap };
            self.quirk_state.streams.insert(leg, stream);
        }
    }

    /// Whether a packet from device leg `leg` goes on to the customer now (false: the
    /// quirks hold or drop it). RTCP always passes: the quirks spoil audio, not reports.
    pub(super) fn flip_media_passes(&mut self, now: Time, leg: usize, data: &[u8]) -> bool {
        if is_rtcp(data) {
            return true;
        }
        let lose = self.cfg.quirks.lose_packets_after_flip;
        let Some(stream) = self.quirk_state.streams.get_mut(&leg) else {
            return true;
        };
        stream.packets = stream.packets.saturating_add(1);
        let nth = stream.packets;
        match &mut stream.gap {
            Gap::Waiting { release_at } if now < *release_at => {
                stream.gap = Gap::Holding {
                    until: *release_at,
                    newest: data.to_vec(),
                };
                return false;
            }
            // The new device came later than the gap asks for: nothing to hold.
            Gap::Waiting { .. } => stream.gap = Gap::Over,
            Gap::Holding { until, newest } if now < *until => {
                *newest = data.to_vec();
                return false;
            }
            // Due, but this packet came first at the same instant: the held one goes
            // ahead of it, as its timer would have sent it.
            Gap::Holding { .. } => self.end_gap(now, leg),
            Gap::Over => {}
        }
        // The 10th, 12th, 14th, ... packet, `lose` of them.
        let lost = nth
            .checked_sub(FIRST_LOST)
            .is_some_and(|k| k % 2 == 0 && k / 2 < lose);
        !lost
    }

    /// Sends the packet a gap held back, and lets the stream through from now on.
    fn end_gap(&mut self, now: Time, leg: usize) {
        let Some(stream) = self.quirk_state.streams.get_mut(&leg) else {
            return;
        };
        let Gap::Holding { newest, .. } = std::mem::replace(&mut stream.gap, Gap::Over) else {
            return;
        };
        let session = self.legs[leg].session;
        let s = &self.sessions[session];
        if !s.is_ended() && s.device == Some(leg) && self.device_heard(now, session) {
            self.forward(leg, s.caller, &newest);
        }
    }

    /// The next instant a held packet is due.
    pub(super) fn quirk_deadline(&self) -> Time {
        let holds = self
            .quirk_state
            .streams
            .values()
            .filter_map(|s| match s.gap {
                Gap::Holding { until, .. } => Some(until),
                _ => None,
            });
        holds.min().unwrap_or(Time::NEVER)
    }

    /// Sends every held packet that is due.
    pub(super) fn release_due_gaps(&mut self, now: Time) {
        let due: Vec<usize> = self
            .quirk_state
            .streams
            .iter()
            .filter(|(_, s)| matches!(s.gap, Gap::Holding { until, .. } if until <= now))
            .map(|(&leg, _)| leg)
            .collect();
        for leg in due {
            self.end_gap(now, leg);
        }
    }

    /// A session ended: nothing of its legs is kept or held any more.
    pub(super) fn forget_session_quirks(&mut self, session: usize) {
        let legs = &self.legs;
        let state = &mut self.quirk_state;
        state.kept.retain(|&l| legs[l].session != session);
        state.streams.retain(|&l, _| legs[l].session != session);
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
