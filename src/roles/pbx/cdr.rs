//! CDR records (one JSON line each) of a call session, written when it ends: the evidence
//! an analytics system would keep, and what `analytics: same|split` is judged from.
//!
//! By default a session is one record holding all its device segments. Two quirks split it
//! the way some analytics systems do: one record per device segment
//! (`split_cdr_on_flip`), or one per Session-ID the session had (`new_session_id_on_flip`,
//! since such systems key calls by that id). Every record has the same fields, so a
//! reader of the file never has to know which: `record` numbers a session's records from
//! 0; `start_ms`/`answer_ms` of a later record are its first segment's start and its
//! `end_ms` its last segment's end; `flips` and the RTP counts are the record's own.

use serde_json::json;

use super::Pbx;
use super::session::{Segment, Session};
use crate::core::Time;

impl Pbx {
    /// The CDR lines of an ended session, in order.
    pub(super) fn cdr_lines(&self, session: usize) -> Vec<String> {
        let s = &self.sessions[session];
        let quirks = &self.cfg.quirks;
        let records: Vec<&[Segment]> = if s.segments.is_empty() {
            vec![&s.segments]
        } else if quirks.split_cdr_on_flip {
            s.segments.chunks(1).collect()
        } else if quirks.new_session_id_on_flip {
            // A new id at every flip: consecutive segments under one id are one record.
            let same_id = |a: &Segment, b: &Segment| a.session_id == b.session_id;
            s.segments.chunk_by(same_id).collect()
        } else {
            vec![&s.segments]
        };
        let last = records.len() - 1;
        records
            .iter()
            .enumerate()
            .map(|(i, segments)| self.cdr_record(s, segments, i, i == last))
            .collect()
    }

    fn cdr_record(&self, s: &Session, segments: &[Segment], record: usize, last: bool) -> String {
        let caller = &self.legs[s.caller];
        let ms = |t: Time| t.as_millis_f64();
        let first = record == 0;
        let whole = first && last;
        let (start, answer) = match segments.first() {
            Some(seg) if !first => (seg.start, Some(seg.start)),
            _ => (s.started_at, s.answered_at),
        };
        let end = match segments.last() {
            Some(seg) if !last => seg.end,
            _ => s.ended_at,
        };
        let (session_id, flips, to_customer, to_device) = if whole {
            (&s.uuid, s.flips, s.rtp_to_customer, s.rtp_to_device)
        } else {
            (
                &segments[0].session_id,
                segments.len().saturating_sub(1) as u32,
                segments.iter().map(|g| g.rtp_to_customer).sum(),
                segments.iter().map(|g| g.rtp_to_device).sum(),
            )
        };
        let segments: Vec<_> = segments
            .iter()
            .map(|seg| json!({"device": seg.device, "start_ms": ms(seg.start), "end_ms": seg.end.map(ms)}))
            .collect();
        json!({
            "session_id": session_id,
            "call_id": caller.invite.call_id(),
            "from": s.caller_user,
            "to": s.callee_user,
            "start_ms": ms(start),
            "answer_ms": answer.map(ms),
            "end_ms": end.map(ms),
            "flips": flips,
            "segments": segments,
            "rtp_to_customer": to_customer,
            "rtp_to_device": to_device,
            "record": record,
        })
        .to_string()
    }
}
