//! One CDR line (JSON) per call session, with its device segments: the evidence an
//! analytics system would keep, and what `analytics: same|split` is judged from.

use serde_json::json;

use super::Pbx;

impl Pbx {
    pub(super) fn cdr_line(&self, session: usize) -> String {
        let s = &self.sessions[session];
        let caller = &self.legs[s.caller];
        let ms = |t: crate::core::Time| t.as_millis_f64();
        let segments: Vec<_> = s
            .segments
            .iter()
            .map(|seg| json!({"device": seg.device, "start_ms": ms(seg.start), "end_ms": seg.end.map(ms)}))
            .collect();
        json!({
            "session_id": s.uuid,
            "call_id": caller.invite.call_id(),
            "from": s.caller_user,
            "to": s.callee_user,
            "start_ms": ms(s.started_at),
            "answer_ms": s.answered_at.map(ms),
            "end_ms": s.ended_at.map(ms),
            "flips": s.flips,
            "segments": segments,
            "rtp_to_customer": s.rtp_to_customer,
            "rtp_to_device": s.rtp_to_device,
        })
        .to_string()
    }
}
