//! What the user agent hands the scenario's timeline: each SIP message that crossed the
//! wire, each change of a call, each media slot its sender had to skip. Recording is all
//! it does; what the records mean is for `measure` to say.

use std::net::SocketAddr;

use super::{CallIdx, EndCause, UserAgent};
use crate::core::Time;
use crate::core::sip::Message;
use crate::timeline::{CallChange, CallRecord, Observation, SipDir, SipRecord};

impl UserAgent {
    /// The next thing this party observed or did, with its instant, for the timeline.
    pub fn poll_observation(&mut self) -> Option<(Time, Observation)> {
        self.observations.pop_front()
    }

    /// Records a change of call `idx`.
    pub(super) fn note_call(&mut self, now: Time, idx: CallIdx, change: CallChange) {
        let Some(call) = self.calls.get(idx) else {
            return;
        };
        let call_id = call
            .dialog
            .as_ref()
            .map(|d| d.call_id.clone())
            .or_else(|| {
                call.invite
                    .as_ref()
                    .and_then(|m| m.call_id().map(str::to_string))
            })
            .or_else(|| {
                call.incoming
                    .as_ref()
                    .and_then(|(m, _)| m.call_id().map(str::to_string))
            })
            .unwrap_or_default();
        let record = CallRecord {
            call: idx,
            call_id,
            change,
        };
        self.observations
            .push_back((now, Observation::Call(record)));
    }

    /// Records a SIP message that crossed the wire.
    pub(super) fn note_sip(&mut self, at: Time, data: &[u8], dir: SipDir, peer: SocketAddr) {
        // What cannot be parsed is a finding of the stack, not part of any call.
        if let Ok(msg) = Message::parse(data)
            && let Some(record) = SipRecord::of(&msg, dir, peer)
        {
            self.observations
                .push_back((at, Observation::Sip(Box::new(record))));
        }
    }

    /// Records that call `idx` is confirmed, with its dialog's tags.
    pub(super) fn note_confirmed(&mut self, now: Time, idx: CallIdx) {
        let call = &self.calls[idx];
        let confirmed = CallChange::Confirmed {
            local_tag: call.local_tag.clone(),
            remote_tag: call
                .dialog
                .as_ref()
                .map(|d| d.remote_tag.clone())
                .unwrap_or_default(),
        };
        self.note_call(now, idx, confirmed);
    }

    /// Ends call `idx` with `cause` and records it, if it was live.
    pub(crate) fn end_call(&mut self, now: Time, idx: CallIdx, cause: EndCause) {
        let reason = cause.reason();
        if self.calls[idx].end(now, cause) {
            self.note_call(now, idx, CallChange::Ended(reason));
        }
    }
}
