//! One flip's report, computed from the timeline over the flip's window — its request to
//! the instant it settled — and from the target's evidence files. A value that could not
//! be observed is `null`/`not_checked` with the reason under `not_checked`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use super::audio::{FRAME_MS, loss_in, max_hole_ms, other_ms, round3, switch_gap_ms};
use super::calls::{CallView, CustomerSide, codec_of, received};
use super::evidence::{Evidence as Sources, analytics};
use super::harness::harness_around;
use super::settle::{Progress, Settlement, progress};
use crate::core::Time;
use crate::core::rtp::FrameClass;
use crate::report::{
    CodecReport, Continuity, DialogContinuity, Evidence, FlipReport, Outcome, Refusal,
    SessionContinuity,
};
use crate::timeline::{CUSTOMER, EndReason, FlipSpec, SipDir, Timeline};

/// How long before the request the "before" mouth-to-ear figure looks: steady talk.
const M2E_BEFORE_WINDOW: Duration = Duration::from_secs(2);

/// Every flip the script requested, measured.
pub fn measure_flips(tl: &Timeline, evidence: &Sources) -> Vec<FlipReport> {
    tl.flips()
        .map(|spec| measure_flip(tl, spec, evidence))
        .collect()
}

/// How flip `spec` settled: as the script saw it, or — when the run ended first — failed.
pub fn settlement(tl: &Timeline, spec: &FlipSpec) -> Settlement {
    settled_view(tl, spec).1
}

/// The timeline as the script saw it when flip `spec` settled — what it did next at the
/// same instant (a hang-up) is not part of the flip — and the settlement.
fn settled_view<'a>(tl: &'a Timeline, spec: &FlipSpec) -> (Cow<'a, Timeline>, Settlement) {
    if let Some((at, events)) = tl.settled_at(spec.index) {
        let mut then = tl.clone();
        then.events.truncate(events);
        if let Progress::Settled(s) = progress(&then, spec, at) {
            return (Cow::Owned(then), s);
        }
    }
    let (at, why) = tl
        .aborted()
        .map(|(at, why)| (at, why.to_string()))
        .unwrap_or_else(|| (last_instant(tl), "the scenario ended".to_string()));
    let s = Settlement {
        at: at.max(spec.requested_at),
        outcome: Outcome::Failed,
        reason: format!("the run ended before the flip settled ({why})"),
        answered_at: None,
        audio_at: None,
        released: None,
        one_way: None,
    };
    (Cow::Borrowed(tl), s)
}

fn last_instant(tl: &Timeline) -> Time {
    tl.events.iter().map(|e| e.at).max().unwrap_or(Time::ZERO)
}

/// Measures one flip.
pub fn measure_flip(tl: &Timeline, spec: &FlipSpec, evidence: &Sources) -> FlipReport {
    let (view, s) = settled_view(tl, spec);
    let tl: &Timeline = &view;
    let (from, to) = (spec.requested_at, s.at);
    let mut nc = BTreeMap::new();
    let mut unobserved = |field: &str, why: String| {
        nc.insert(field.to_string(), why);
    };
    let party = |p: usize| &tl.parties[p];
    let (old_sig, new_sig) = (party(spec.from).signature, party(spec.to).signature);
    let new_name = party(spec.to).name.clone();
    let heard = &tl.frames[CUSTOMER];
    let customer = CustomerSide::of(tl, CUSTOMER, spec.customer_call, from, to);
    let after = customer.after();
    let request = CallView::of(tl, spec.to, spec.request_call, to);
    let moved = s.outcome == Outcome::Moved;

    // The switch, seen by the customer.
    let first_new = heard
        .iter()
        .find(|f| f.at >= from && f.at <= to && f.class == FrameClass::Party(new_sig))
        .map(|f| f.at);
    let flip_latency_ms = first_new.map(|t| round3((t - from).as_secs_f64() * 1000.0));
    if flip_latency_ms.is_none() {
        unobserved(
            "flip_latency_ms",
            format!("the customer never heard {new_name}"),
        );
    }
    let customer_gap_ms = if moved {
        switch_gap_ms(heard, old_sig, new_sig, from, to)
    } else {
        unobserved(
            "customer_gap_ms",
            format!("the call did not move ({}): no switch", s.outcome),
        );
        None
    };
    let device_gap_ms = s.answered_at.and_then(|answered| {
        tl.frames[spec.to]
            .iter()
            .find(|f| {
                f.at >= answered
                    && f.at <= to
                    && f.class == FrameClass::Party(party(CUSTOMER).signature)
            })
            .map(|f| round3((f.at - answered).as_secs_f64() * 1000.0))
    });
    if device_gap_ms.is_none() {
        let why = match s.answered_at {
            None => format!("{new_name} was never answered"),
            Some(_) => format!("{new_name} never heard the customer"),
        };
        unobserved("device_gap_ms", why);
    }
    let loss = loss_in(heard, from, to);
    if loss.is_none() {
        unobserved(
            "packets_lost",
            "no RTP reached the customer during the flip".into(),
        );
    }

    // The customer's dialog, caller ID and Session-ID, before and after.
    let before = &customer.before;
    let customer_dialog = match after {
        Some(c) if c.no == before.no => DialogContinuity::SameDialog,
        Some(_) => DialogContinuity::NewDialog,
        None => DialogContinuity::Lost,
    };
    let last_value =
        |call: &CallView, until: Time, pick: fn(&crate::timeline::SipRecord) -> Option<String>| {
            received(tl, CUSTOMER, &call.call_id, until)
                .filter_map(|(_, r)| pick(r))
                .last()
        };
    let identity = |r: &crate::timeline::SipRecord| r.identity.clone();
    let session = |r: &crate::timeline::SipRecord| r.session_id.clone();
    let caller_before = last_value(before, from, identity);
    let caller_after = after.and_then(|c| last_value(c, to, identity));
    let caller_id = match (&caller_before, &caller_after, after) {
        (_, _, None) => {
            unobserved(
                "caller_id",
                "the customer has no call after the flip".into(),
            );
            Continuity::NotChecked
        }
        (Some(a), Some(b), _) if a == b => Continuity::Same,
        (Some(_), Some(_), _) => Continuity::Changed,
        _ => {
            unobserved("caller_id", "no caller ID reached the customer".into());
            Continuity::NotChecked
        }
    };
    let sid_before = last_value(before, from, session);
    let sid_after = after.and_then(|c| last_value(c, to, session));
    let session_id = match (&sid_before, &sid_after, after) {
        (_, _, None) => {
            unobserved(
                "session_id",
                "the customer has no call after the flip".into(),
            );
            SessionContinuity::NotChecked
        }
        (None, None, _) => SessionContinuity::Absent,
        (Some(a), Some(b), _) if a == b => SessionContinuity::Same,
        _ => SessionContinuity::Changed,
    };

    // Offers and streams the customer saw change.
    let mut offers: Vec<(String, u32, String)> = std::iter::once(before)
        .chain(customer.since.iter())
        .flat_map(|c| received(tl, CUSTOMER, &c.call_id, to))
        .filter(|(at, r)| *at >= from && r.is_offer())
        .map(|(_, r)| (r.call_id.clone(), r.cseq, r.method.clone()))
        .collect();
    offers.dedup();
    offers.sort();
    offers.dedup();
    let last_before = heard.iter().rev().find(|f| f.at < from);
    let last_after = heard.iter().rev().find(|f| f.at >= from && f.at <= to);
    let (ssrc_changed, payload_type_changed) = match (last_before, last_after) {
        (Some(b), Some(a)) => (b.ssrc != a.ssrc, b.payload_type != a.payload_type),
        _ => (false, false),
    };
    let customer_before = codec_of(tl, CUSTOMER, before.no, from);
    let customer_after = after.and_then(|c| codec_of(tl, CUSTOMER, c.no, to));
    let device_after = codec_of(tl, spec.to, spec.request_call, to);
    if customer_after.is_none() {
        unobserved(
            "codec.customer_after",
            "the customer has no media after the flip".into(),
        );
    }
    if device_after.is_none() {
        unobserved(
            "codec.device_after",
            format!("{new_name} never started media"),
        );
    }

    // How the target answered the request.
    let responses: Vec<_> = received(tl, spec.to, &request.call_id, to).collect();
    let rings = responses
        .iter()
        .filter(|(_, r)| matches!(r.status, Some(180 | 183)))
        .count() as u32;
    let refusal = match &request.ended {
        Some((_, EndReason::Rejected { status, reason })) if request.confirmed_at.is_none() => {
            Some(Refusal {
                status: *status,
                reason: reason.clone(),
            })
        }
        _ => None,
    };
    if s.released.is_none() {
        unobserved(
            "old_device_released",
            format!(
                "the flip did not get as far as releasing the old device ({})",
                s.outcome
            ),
        );
    }
    if s.one_way.is_none() {
        unobserved("one_way_audio", format!("{new_name} was never answered"));
    }
    let (m2e_before_ms, m2e_after_ms) = mouth_to_ear(tl, old_sig, new_sig, from, to);
    if m2e_after_ms.is_none() {
        unobserved(
            "m2e_after_ms",
            "no sender report gave the new stream's clock (no rtcp-mux, or a target that rewrites timestamps)".into(),
        );
    }
    let moved_to = moved.then(|| party(spec.to).contact.as_str());
    let (analytics, why) = analytics(evidence, before, &sid_before, moved_to);
    if let Some(why) = why {
        unobserved("analytics", why);
    }
    unobserved(
        "recording",
        "recordings are not read in this version".into(),
    );
    let state = call_state(tl, before, from);
    if state == "not_checked" {
        unobserved(
            "state",
            "no SDP on the customer's call before the flip".into(),
        );
    }
    FlipReport {
        index: spec.index,
        line: spec.line,
        from: party(spec.from).name.clone(),
        to: new_name,
        method: spec.method.clone(),
        state,
        outcome: s.outcome,
        reason: s.reason.clone(),
        settle_ms: Some(round3((s.at - from).as_secs_f64() * 1000.0)),
        rings,
        flip_latency_ms,
        customer_gap_ms,
        max_hole_ms: Some(max_hole_ms(heard, &[old_sig, new_sig], from, to)),
        device_gap_ms,
        other_audio_ms: other_ms(heard, from, to),
        packets_lost: loss.map(|l| l.0),
        packets_late: loss.map(|l| l.1),
        customer_dialog,
        caller_id,
        session_id,
        analytics,
        recording: Evidence::NotChecked,
        old_device_released: s.released,
        refusal,
        one_way_audio: s.one_way,
        customer_live_calls: customer.live_calls(),
        codec: CodecReport {
            customer_before,
            customer_after,
            device_after,
            customer_offers: offers.len() as u32,
            ssrc_changed,
            payload_type_changed,
        },
        m2e_before_ms,
        m2e_after_ms,
        harness: harness_around(tl, from, to),
        not_checked: nc,
    }
}

/// `active` or `hold` from the direction of the last SDP exchanged on the customer's call
/// before the request (RFC 3264 §8.4: sendonly/inactive put the receiver on hold).
fn call_state(tl: &Timeline, call: &CallView, at: Time) -> String {
    let last = tl
        .sip_of(CUSTOMER, &call.call_id)
        .filter(|(t, r)| *t <= at && r.sdp.is_some() && r.dir == SipDir::Received)
        .filter_map(|(_, r)| r.sdp.as_ref().map(|s| s.direction.clone()))
        .last();
    match last.as_deref() {
        Some("sendrecv") => "active".into(),
        Some(_) => "hold".into(),
        None => "not_checked".into(),
    }
}

/// Mouth-to-ear delay at the customer before and after the flip (`m2e_*` in reports/schema.json): the
/// median one-way delay of the old device's packets in the two seconds before the request
/// and of the new device's in the flip's window (capture instant from the sender's RTCP
/// clock, arrival at the customer), plus one 20 ms frame of packetisation. No jitter buffer
/// is played, so none is added.
fn mouth_to_ear(
    tl: &Timeline,
    old_sig: u8,
    new_sig: u8,
    from: Time,
    to: Time,
) -> (Option<f64>, Option<f64>) {
    let frames = &tl.frames[CUSTOMER];
    let ssrcs_of = |sig: u8, lo: Time, hi: Time| -> Vec<u32> {
        let mut v: Vec<u32> = frames
            .iter()
            .filter(|f| f.at >= lo && f.at <= hi && f.class == FrameClass::Party(sig))
            .map(|f| f.ssrc)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let before_lo = Time::from_micros(
        from.as_micros()
            .saturating_sub(M2E_BEFORE_WINDOW.as_micros() as u64),
    );
    let old_ssrcs = ssrcs_of(old_sig, before_lo, from);
    let new_ssrcs = ssrcs_of(new_sig, from, to);
    let delays = &tl.delays[CUSTOMER];
    let median = |lo: Time, hi: Time, ssrcs: &[u32]| -> Option<f64> {
        let mut v: Vec<f64> = delays
            .iter()
            .filter(|d| d.at >= lo && d.at < hi && ssrcs.contains(&d.ssrc))
            .map(|d| d.ms)
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(round3(v[v.len() / 2] + FRAME_MS))
    };
    (
        median(before_lo, from, &old_ssrcs),
        median(from, to + Duration::from_micros(1), &new_ssrcs),
    )
}
