//! One flip, from request to the next step that changes the call: the record kept while it
//! happens and the measurement computed when it is closed.

use crate::core::Time;
use crate::core::rtp::HeardFrame;
use crate::core::sip::DialogId;
use crate::measure::AudioWindow;
use crate::report::Keyword;
use crate::report::{
    CodecReport, Continuity, DialogContinuity, Evidence, FlipReport, Outcome, Refusal,
    SessionContinuity,
};
use crate::roles::ua::{CallIdx, CallState, EndCause, UserAgent};
use crate::runner::Scene;
use crate::scenario::{Expectations, FlipMethod};

/// What is known when a flip is requested; the rest is read from the parties at close.
#[derive(Debug, Clone)]
pub struct FlipRecord {
    pub from: usize,
    pub to: usize,
    pub method: FlipMethod,
    pub requested_at: Time,
    pub old_call: CallIdx,
    pub new_call: CallIdx,
    pub customer_call: CallIdx,
    pub customer_dialog: Option<DialogId>,
    pub caller_id: Option<String>,
    pub session_id: Option<String>,
    pub expect: Expectations,
}

impl FlipRecord {
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        now: Time,
        scene: &Scene,
        from: usize,
        to: usize,
        method: FlipMethod,
        old_call: CallIdx,
        new_call: CallIdx,
        customer_call: CallIdx,
        expect: Expectations,
    ) -> FlipRecord {
        let call = &scene.customer.calls[customer_call];
        FlipRecord {
            from,
            to,
            method,
            requested_at: now,
            old_call,
            new_call,
            customer_call,
            customer_dialog: call.dialog_id(),
            caller_id: call.identities.last().map(|s| s.identity.clone()),
            session_id: call.session_ids.last().cloned(),
            expect,
        }
    }
}

/// The customer's call at `now`: the live one, or the one that replaced ours (RFC 3891).
/// A call that started after the request without replacing ours is a new leg too (a
/// phone that ignores `Replaces` takes it as a second call); `customer_live_calls` then
/// shows the old one was left up.
fn customer_call_after(customer: &UserAgent, before: CallIdx, since: Time) -> Option<CallIdx> {
    let live = customer.active_call()?;
    let mut idx = live;
    // Follow the chain of replacements back to ours.
    for _ in 0..customer.calls.len() {
        if idx == before {
            return Some(live);
        }
        match customer.calls[idx].replaces {
            Some(prev) => idx = prev,
            None => break,
        }
    }
    (customer.calls[live].created_at >= since).then_some(live)
}

/// Measures a flip as of `now` (the close of its window).
pub fn measure_flip(rec: &FlipRecord, scene: &Scene, now: Time) -> FlipReport {
    let customer = &scene.customer;
    let old_dev = &scene.devices[rec.from];
    let new_dev = &scene.devices[rec.to];
    let old_sig = old_dev.config().signature;
    let new_sig = new_dev.config().signature;
    let customer_sig = customer.config().signature;
    let new_call = &new_dev.calls[rec.new_call];
    let heard = AudioWindow::new(customer.receiver().frames(), rec.requested_at, now);

    let after = customer_call_after(customer, rec.customer_call, rec.requested_at);
    let customer_dialog = match after {
        Some(idx) if customer.calls[idx].dialog_id() == rec.customer_dialog => {
            DialogContinuity::SameDialog
        }
        Some(_) => DialogContinuity::NewDialog,
        None => DialogContinuity::Lost,
    };
    let after_call = after.map(|i| &customer.calls[i]);
    let customer_dropped = after.is_none()
        && customer.calls[rec.customer_call]
            .end_cause
            .as_ref()
            .is_some_and(|c| *c != EndCause::Local);

    let flip_latency_ms = heard
        .first_of(&[new_sig])
        .map(|t| (t - rec.requested_at).as_secs_f64() * 1000.0);
    let device_gap_ms = new_call.answered_at.and_then(|answered| {
        let w = AudioWindow::new(new_dev.receiver().frames(), answered, now);
        w.first_of(&[customer_sig])
            .map(|t| (t - answered).as_secs_f64() * 1000.0)
    });
    let refusal = match &new_call.end_cause {
        Some(EndCause::Rejected(status, reason)) if new_call.answered_at.is_none() => {
            Some(Refusal {
                status: *status,
                reason: reason.clone(),
            })
        }
        _ => None,
    };
    let new_hears_customer = new_call
        .answered_at
        .is_some_and(|a| AudioWindow::new(new_dev.receiver().frames(), a, now).heard(customer_sig));
    let customer_hears_new = flip_latency_ms.is_some();
    // The call is on the new device when it was answered there and audio flows at least one
    // way; audio in one direction only is then `one_way_audio`, not a different outcome.
    let outcome = if customer_dropped {
        Outcome::Dropped
    } else if new_call.answered_at.is_some() && (customer_hears_new || new_hears_customer) {
        Outcome::Moved
    } else if refusal.is_some() {
        Outcome::Blocked
    } else if new_call.state == CallState::Calling {
        Outcome::TimedOut
    } else {
        Outcome::Failed
    };

    let caller_after = after_call.and_then(|c| c.identities.last().map(|s| s.identity.clone()));
    let caller_id = if caller_after.is_none() || caller_after == rec.caller_id {
        Continuity::Same
    } else {
        Continuity::Changed
    };
    let session_after = after_call.and_then(|c| c.session_ids.last().cloned());
    let session_id = match (&rec.session_id, &session_after) {
        (None, None) => SessionContinuity::Absent,
        (Some(a), Some(b)) if a == b => SessionContinuity::Same,
        (Some(_), None) => SessionContinuity::Same,
        _ => SessionContinuity::Changed,
    };
    let old_call = &old_dev.calls[rec.old_call];
    let old_device_released = old_call.state == CallState::Terminated
        && old_call.ended_at.is_some_and(|t| t >= rec.requested_at);
    let one_way_audio = outcome == Outcome::Moved && customer_hears_new != new_hears_customer;

    let before_call = &customer.calls[rec.customer_call];
    let offers_after = |c: &crate::roles::ua::Call| {
        c.offers_received
            .iter()
            .filter(|t| **t >= rec.requested_at)
            .count() as u32
    };
    let mut customer_offers = offers_after(before_call);
    if let Some(idx) = after.filter(|&i| i != rec.customer_call) {
        // The INVITE that created the new dialog carried an offer too.
        customer_offers += 1 + offers_after(&customer.calls[idx]);
    }
    let frames = customer.receiver().frames();
    let (ssrc_changed, payload_type_changed) = stream_changes(frames, rec.requested_at, now);
    let stats = customer.receiver().stats();
    let (m2e_before, m2e_after) = mouth_to_ear(customer, new_sig, rec.requested_at, now);
    let codec_name =
        |c: Option<crate::core::rtp::Codec>| c.map(|c| c.name().to_string()).unwrap_or_default();

    FlipReport {
        from: old_dev.name().to_string(),
        to: new_dev.name().to_string(),
        method: rec.method.as_str().to_string(),
        state: "active".into(),
        outcome,
        rings: new_call.rings,
        flip_latency_ms: flip_latency_ms.map(round3),
        customer_gap_ms: Some(heard.longest_gap_ms(&[old_sig, new_sig])),
        device_gap_ms: device_gap_ms.map(round3),
        other_audio_ms: heard.other_ms(),
        packets_lost: stats.lost(),
        packets_late: stats.late(),
        customer_dialog,
        caller_id,
        session_id,
        analytics: analytics(scene, rec),
        recording: Evidence::NotChecked,
        old_device_released,
        refusal,
        one_way_audio,
        customer_live_calls: customer
            .calls
            .iter()
            .filter(|c| c.state == CallState::Confirmed)
            .count() as u32,
        codec: CodecReport {
            customer_before: codec_name(before_call.codec),
            customer_after: codec_name(after_call.and_then(|c| c.codec)),
            device_after: codec_name(new_call.codec),
            customer_offers,
            ssrc_changed,
            payload_type_changed,
        },
        m2e_before_ms: m2e_before,
        m2e_after_ms: m2e_after,
    }
}

/// How long before the flip request the "before" figure looks: steady talk, not setup.
const M2E_BEFORE_WINDOW: std::time::Duration = std::time::Duration::from_secs(2);

/// Mouth-to-ear delay at the customer before and after the flip (DESIGN.md `m2e_*`): the
/// median one-way delay of the packets heard (capture instant from the sender's RTCP clock,
/// arrival at the customer) plus one 20 ms frame of packetisation. We play no jitter buffer,
/// so none is added. None when the sender's clock is unknown (no rtcp-mux, or a target that
/// rewrites timestamps without passing the reports through).
fn mouth_to_ear(
    customer: &UserAgent,
    new_sig: u8,
    from: Time,
    to: Time,
) -> (Option<f64>, Option<f64>) {
    let delays = customer.receiver().delays();
    let before: Vec<f64> = delays
        .iter()
        .filter(|d| d.at < from && d.at + M2E_BEFORE_WINDOW >= from)
        .map(|d| d.ms)
        .collect();
    let new_ssrc = customer
        .receiver()
        .frames()
        .iter()
        .rev()
        .find(|f| {
            f.at >= from && f.at <= to && f.class == crate::core::rtp::FrameClass::Party(new_sig)
        })
        .map(|f| f.ssrc);
    let after: Vec<f64> = delays
        .iter()
        .filter(|d| d.at >= from && d.at <= to && Some(d.ssrc) == new_ssrc)
        .map(|d| d.ms)
        .collect();
    let m2e = |mut v: Vec<f64>| -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(round3(v[v.len() / 2] + crate::measure::FRAME_MS))
    };
    (m2e(before), m2e(after))
}

/// SSRC and payload type heard just before the request versus at the end of the window.
fn stream_changes(frames: &[HeardFrame], from: Time, to: Time) -> (bool, bool) {
    let before = frames.iter().rev().find(|f| f.at < from);
    let after = frames.iter().rev().find(|f| f.at <= to && f.at >= from);
    match (before, after) {
        (Some(b), Some(a)) => (b.ssrc != a.ssrc, b.payload_type != a.payload_type),
        _ => (false, false),
    }
}

/// Analytics continuity from the embedded PBX's call sessions: the customer's session
/// carried both devices (same), or the new device ended up in another session (split).
fn analytics(scene: &Scene, rec: &FlipRecord) -> Evidence {
    let Some(pbx) = scene.pbx.as_ref() else {
        return Evidence::NotChecked;
    };
    let Some(call_id) = rec.customer_dialog.as_ref().map(|d| d.call_id.clone()) else {
        return Evidence::Absent;
    };
    let session = pbx
        .sessions
        .iter()
        .find(|s| pbx.legs[s.caller].invite.call_id() == Some(call_id.as_str()));
    let Some(session) = session else {
        return Evidence::Absent;
    };
    let new_contact = format!("sip:{}@", scene.devices[rec.to].config().username);
    let new_addr = crate::core::sip::host_port(scene.devices[rec.to].config().sip_addr);
    let carried = session
        .segments
        .iter()
        .any(|seg| seg.device.starts_with(&new_contact) && seg.device.ends_with(&new_addr));
    if carried {
        Evidence::Same
    } else {
        Evidence::Split
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
